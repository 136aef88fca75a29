"""Sweeps on a real Dask cluster: a scheduler and two single-thread workers started on loopback by the
test, as separate processes. Results must equal the local process pool's bit for bit."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import distributed  # declared in the test extras: a missing install fails, it does not skip
import numpy as np
import pandas as pd
import psutil
import pytest

import swarmreg as sr
from swarmreg import cli
from swarmreg.runner import KILL_AFTER_ENV
from swarmreg.store import RUN_COLUMNS

CONFIG = """\
name = "dask"
datasets = ["iris"]
hidden = [[4]]
methods = ["pso", "nelder-mead", "backprop", "pso-huge"]
lams = [0.0, 0.1]
seeds = [0, 1]
budget = 500

[options.pso]
n_particles = 10

[variants.pso-huge]  # budget 500 < one evaluation of 1000 particles: these runs fail, on any executor
method = "pso"
n_particles = 1000
"""
OK_CONFIG = CONFIG.replace(', "pso-huge"]', "]").split("[variants")[0]
N_RUNS = 4 * 2 * 2
N_FAILED = 2 * 2
VALUE_COLUMNS = [c for c in RUN_COLUMNS if c not in ("wall_time", "started_at", "finished_at", "blas")]


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
WORKER_ENV = dict(os.environ)  # the plugin is not on the workers' import path: the config's folder is passed
"""The workers can import the README's plugin module, as a cluster with a plugin package installed would."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask_command(kind: str) -> list[str]:
    """``python -m distributed.cli.dask_<kind>`` if that module exists, else the ``dask`` script beside python."""
    import importlib.util
    if importlib.util.find_spec(f"distributed.cli.dask_{kind}") is not None:
        return [sys.executable, "-m", f"distributed.cli.dask_{kind}"]
    script = Path(sys.executable).with_name("dask")
    assert script.exists(), "neither distributed.cli nor the dask script is available"
    return [str(script), kind]


def _stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM each process group, then SIGKILL what is left; every descendant must be gone."""
    descendants = []
    for p in procs:
        try:
            descendants += psutil.Process(p.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in procs:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 15
        while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
            time.sleep(0.1)
    for p in procs:
        p.wait(timeout=10)
    _, alive = psutil.wait_procs(descendants, timeout=15)
    alive = [a for a in alive if a.is_running() and a.status() != psutil.STATUS_ZOMBIE]
    for a in alive:
        a.kill()
    assert not alive, f"stray Dask processes: {alive}"


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory) -> str:
    """Address of a live scheduler with two workers (nanny + one single-thread worker process each)."""
    logs = tmp_path_factory.mktemp("dask-logs")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs: list[subprocess.Popen] = []

    def start(name: str, args: list[str]) -> None:
        log = open(logs / f"{name}.log", "w")  # noqa: SIM115 - closed below, once the process is gone
        procs.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                      cwd=logs, env=WORKER_ENV))
        log.close()  # the child holds its own copy

    try:
        start("scheduler", [*_dask_command("scheduler"), "--host", "127.0.0.1", "--port", str(port),
                            "--no-dashboard"])
        for i in range(2):
            start(f"worker{i}", [*_dask_command("worker"), address, "--nthreads", "1", "--nworkers", "1",
                                 "--no-dashboard", "--host", "127.0.0.1", "--death-timeout", "60",
                                 "--name", f"w{i}"])
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
            assert len(client.scheduler_info()["workers"]) == 2
        yield address
    except BaseException:
        for f in sorted(logs.iterdir()):
            sys.stderr.write(f"--- {f.name}\n{f.read_text()[-3000:]}\n")
        raise
    finally:
        _stop(procs)


@pytest.fixture(scope="module")
def client(scheduler):
    with distributed.Client(scheduler, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def sweep() -> sr.Sweep:
    """CONFIG, whose pso-huge runs the config check refuses: its options are put back after the check."""
    cfg = tomllib.loads(CONFIG)
    checked = sr.Sweep.from_dict({**cfg, "variants": {"pso-huge": {"method": "pso"}}})
    return dataclasses.replace(checked, variants=cfg["variants"])


@pytest.fixture(scope="module")
def pool_out(tmp_path_factory, sweep) -> Path:
    out = tmp_path_factory.mktemp("pool") / "out"
    summary = sr.run_sweep(sweep, out, executor="process", workers=2)
    assert (summary.finished, summary.failed) == (N_RUNS - N_FAILED, N_FAILED)
    return out


def assert_same_results(a: Path, b: Path, n_runs: int = N_RUNS, n_failed: int = N_FAILED) -> None:
    """The same runs, results, traces and weights in both stores (``b``'s runs that ``a`` has)."""
    ra = sr.load_results(a).sort_values("key", ignore_index=True)
    rb = sr.load_results(b).sort_values("key", ignore_index=True)
    rb = rb[rb["key"].isin(ra["key"])].reset_index(drop=True)
    assert len(ra) == len(rb) == n_runs and list(ra["key"]) == list(rb["key"])
    for col in ("fun", "weight_norm", "test_accuracy", "cost"):
        assert ra[col].equals(rb[col]), col  # NaN of the failed runs in the same places, the rest ==
    pd.testing.assert_frame_equal(ra[VALUE_COLUMNS], rb[VALUE_COLUMNS], check_exact=True,
                                  check_dtype=n_failed > 0)  # b's integer columns may be float for its NaNs
    ta, tb = sr.load_traces(a), sr.load_traces(b, ra["key"])
    assert ta.keys() == tb.keys()
    for key in ta:
        assert ta[key].keys() == tb[key].keys()
        for name in ta[key]:
            assert np.array_equal(ta[key][name], tb[key][name]), (key, name)
    wa, wb = sr.load_weights(a), sr.load_weights(b, ra["key"])
    assert wa.keys() == wb.keys() and len(wa) == n_runs - n_failed
    for key in wa:
        assert np.array_equal(wa[key], wb[key]), key


def test_run_sweep_on_dask_matches_process_pool(tmp_path, client, sweep, pool_out):
    out = tmp_path / "out"
    summary = sr.run_sweep(sweep, out, executor=client)
    assert (summary.total, summary.finished, summary.failed) == (N_RUNS, N_RUNS - N_FAILED, N_FAILED)
    assert_same_results(out, pool_out)
    failed = sr.load_results(out).query("status == 'failed'")
    assert set(failed["method"]) == {"pso-huge"}
    assert failed["message"].str.startswith("ValueError: budget 500").all()  # the run's error, not a lost worker
    again = sr.run_sweep(sweep, out, executor=client)
    assert (again.skipped, again.finished, again.failed) == (N_RUNS, 0, 0)
    retry = sr.run_sweep(sweep, out, executor=client, retry_failed=True)
    assert (retry.skipped, retry.finished, retry.failed) == (N_RUNS - N_FAILED, 0, N_FAILED)
    assert_same_results(out, pool_out)


def test_cli_dask_executor_matches_process_pool(tmp_path, scheduler, pool_out):
    cfg = tmp_path / "dask.toml"
    cfg.write_text(OK_CONFIG)  # the command's config check refuses pso-huge's runs
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "swarmreg", "run", str(cfg), "--out", str(out),
                           "--executor", "dask", "--scheduler", scheduler], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
    n_runs = N_RUNS - N_FAILED
    summary = f"{n_runs} runs: {n_runs} finished, 0 failed, 0 already stored"
    assert any(line.startswith(summary) for line in proc.stderr.splitlines()), proc.stderr
    assert_same_results(out, pool_out, n_runs, 0)


def test_a_dask_sweep_killed_right_after_its_kth_stored_run_has_exactly_k_runs_stored(tmp_path, scheduler,
                                                                                       pool_out):
    """The runner kills itself (SIGKILL) right after committing its 3rd run (a test-only hook): the
    store holds those 3, equal to the pool's, and the rerun completes the sweep."""
    cfg = tmp_path / "dask.toml"
    cfg.write_text(OK_CONFIG)  # the command's config check refuses pso-huge's runs
    out = tmp_path / "out"
    args = [sys.executable, "-m", "swarmreg", "run", str(cfg), "--out", str(out), "--executor", "dask",
            "--scheduler", scheduler]
    crashed = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                             env={**os.environ, KILL_AFTER_ENV: "3"})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    stored = sr.load_results(out).set_index("key")
    pool = sr.load_results(pool_out).set_index("key")
    assert len(stored) == 3
    pd.testing.assert_frame_equal(stored[VALUE_COLUMNS[1:]], pool.loc[stored.index, VALUE_COLUMNS[1:]],
                                  check_dtype=False,
                                  check_exact=True)
    done = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert f"taking over the lock of {out}, left by process" in done.stderr.splitlines()[0]
    n_runs = N_RUNS - N_FAILED
    assert f"{n_runs} runs: " in done.stderr and ", 3 already stored" in done.stderr, done.stderr
    assert len(sr.load_results(out)) == n_runs


def test_cli_dask_executor_without_failures_exits_0(tmp_path, scheduler, capsys):
    cfg = tmp_path / "ok.toml"
    cfg.write_text(OK_CONFIG)
    capsys.readouterr()
    code = cli.main(["run", str(cfg), "--out", str(tmp_path / "out"), "--executor", "dask",
                     "--scheduler", scheduler])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "12 runs: 12 finished, 0 failed, 0 already stored" in err


def test_cli_dask_without_scheduler_is_a_usage_error(tmp_path, capsys):
    cfg = tmp_path / "dask.toml"
    cfg.write_text(OK_CONFIG)
    capsys.readouterr()
    code = cli.main(["run", str(cfg), "--out", str(tmp_path / "out"), "--executor", "dask"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and "--scheduler" in lines[0] and "dask" in lines[0]
    assert not (tmp_path / "out").exists()


def test_plugin_sweep_runs_on_dask_and_matches_the_process_pool(tmp_path, scheduler):
    """The plugin lies next to the config, in no folder of the import path, and the command runs
    elsewhere (``-P``: not even the working directory is on the path)."""
    from test_registry import PLUGIN_CONFIG
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(EXAMPLES / "hill_climb.py", project)
    cfg = project / "plugin.toml"
    cfg.write_text(PLUGIN_CONFIG)
    results = {}
    for executor in (["--workers", "2"], ["--executor", "dask", "--scheduler", scheduler]):
        out = tmp_path / executor[1]
        proc = subprocess.run([sys.executable, "-P", "-m", "swarmreg", "run", str(cfg), "--out", str(out), *executor],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300, env=WORKER_ENV)
        assert proc.returncode == 0, proc.stderr
        results[executor[1]] = sr.load_results(out).sort_values("key", ignore_index=True)
    pool, dask = results.values()
    assert len(pool) == 8 and set(pool["method"]) == {"hill-climb", "pso"} and set(pool["status"]) == {"budget"}
    pd.testing.assert_frame_equal(pool[VALUE_COLUMNS], dask[VALUE_COLUMNS], check_exact=True)

"""Real interruptions of ``swarmreg run``: kill -9 of the whole sweep, Ctrl-C, a worker killed mid-sweep,
and two sweeps into one folder. After each, the store holds every finished run exactly once, with the
values an uninterrupted sweep gives, and rerunning the same command completes it.

Interruptions are triggered from the store's content (polled read-only), not from timings.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

import swarmreg as sr
from swarmreg.runner import KILL_AFTER_ENV
from swarmreg.store import RUN_COLUMNS

CONFIG = """\
name = "faults"
datasets = ["iris"]
hidden = [[4]]
methods = ["pso", "nelder-mead", "backprop", "backprop-decoupled"]
lams = [0.0, 0.1]
seeds = [0, 1, 2, 3, 4]
budget = 1000

[options.pso]
n_particles = 10

[variants.backprop-decoupled]
method = "backprop"
decay = "decoupled"
"""
N_RUNS = 4 * 2 * 5
VALUE_COLUMNS = [c for c in RUN_COLUMNS if c not in ("wall_time", "started_at", "finished_at", "blas")]
TIMEOUT = 120  # generous ceilings for a loaded machine; no assertion depends on speed


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The uninterrupted serial sweep."""
    out = tmp_path_factory.mktemp("reference") / "out"
    summary = sr.run_sweep(sr.Sweep.from_dict(tomllib.loads(CONFIG)), out, executor="serial")
    assert summary.finished == N_RUNS
    return out


@pytest.fixture
def cfg(tmp_path) -> Path:
    path = tmp_path / "faults.toml"
    path.write_text(CONFIG)
    return path


def command(cfg: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "swarmreg", "run", str(cfg), "--out", str(out), "--workers", "2", *extra]


class Running:
    """``swarmreg run`` started in its own process group; the group is killed on leaving, whatever happened."""

    def __init__(self, args: list[str], cwd: Path):
        self.proc = subprocess.Popen(args, cwd=cwd, start_new_session=True, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.pid = self.proc.pid

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc: object) -> None:
        kill_group(self.pid)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=30)

    def children(self) -> list[psutil.Process]:
        """The pool's worker processes (a multiprocessing resource tracker, if any, left out)."""
        try:
            procs = psutil.Process(self.pid).children(recursive=True)
            return [p for p in procs if "resource_tracker" not in " ".join(p.cmdline())]
        except psutil.NoSuchProcess:
            return []

    def finish(self, timeout: float = TIMEOUT) -> tuple[int, str]:
        _, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, err


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def stored_count(out: Path) -> int:
    """Rows in OUT/runs.sqlite, read-only, while a sweep may be writing; 0 before the table exists."""
    path = out / "runs.sqlite"
    if not path.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0


def wait_until(condition: Callable[[], bool], sweep: Running, what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if sweep.proc.poll() is not None:
            _, err = sweep.proc.communicate()
            pytest.fail(f"sweep exited ({sweep.proc.returncode}) before {what}: {err}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def no_duplicates(out: Path) -> int:
    with sqlite3.connect(f"file:{out / 'runs.sqlite'}?mode=ro", uri=True) as db:
        total, distinct = db.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM runs").fetchone()
        traces = db.execute("SELECT COUNT(*) FROM traces").fetchone()[0]
    assert total == distinct == traces
    return total


def assert_rows_match_reference(out: Path, reference: Path, complete: bool) -> None:
    """Each stored run equals the uninterrupted sweep's, bit for bit (values, trace, weights)."""
    got = sr.load_results(out).set_index("key").sort_index()
    ref = sr.load_results(reference).set_index("key").sort_index()
    assert got.index.is_unique
    assert set(got.index) <= set(ref.index)
    if complete:
        assert len(got) == N_RUNS
    assert (got["status"] != "failed").all(), got.loc[got["status"] == "failed", "message"].tolist()
    cols = [c for c in VALUE_COLUMNS if c != "key"]
    pd.testing.assert_frame_equal(got[cols], ref.loc[got.index, cols], check_exact=True)
    got_traces, ref_traces = sr.load_traces(out), sr.load_traces(reference)
    got_weights, ref_weights = sr.load_weights(out), sr.load_weights(reference)
    assert set(got_traces) == set(got_weights) == set(got.index)
    for key in got.index:
        assert got_traces[key].keys() == ref_traces[key].keys()
        for name, values in got_traces[key].items():
            assert np.array_equal(values, ref_traces[key][name]), (key, name)
        assert np.array_equal(got_weights[key], ref_weights[key]), key


def rerun(cfg: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(command(cfg, out, *extra), cwd=cfg.parent, capture_output=True, text=True,
                          timeout=TIMEOUT)


def gone(processes: list[psutil.Process], timeout: float = 30) -> bool:
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    return not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]


def test_kill_9_of_the_whole_sweep_then_rerun(tmp_path, cfg, reference):
    out = tmp_path / "out"
    with Running(command(cfg, out), tmp_path) as sweep:
        wait_until(lambda: stored_count(out) >= 3, sweep, "3 stored runs")
        workers = sweep.children()
        os.killpg(sweep.pid, signal.SIGKILL)
        code, _ = sweep.finish()
    assert code == -signal.SIGKILL
    assert gone(workers)
    kept = no_duplicates(out)
    assert 3 <= kept < N_RUNS  # really interrupted
    assert_rows_match_reference(out, reference, complete=False)

    done = rerun(cfg, out)  # the lock of the killed sweep died with it
    assert done.returncode == 0, done.stderr
    assert f"{N_RUNS} runs: {N_RUNS - kept} finished, 0 failed, {kept} already stored" in done.stderr
    assert no_duplicates(out) == N_RUNS
    assert_rows_match_reference(out, reference, complete=True)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_stops_cleanly_keeps_finished_runs_and_resumes(tmp_path, cfg, reference, signum):
    """Ctrl-C, ``kill -TERM`` and a closed terminal (SIGHUP) to the parent alone: one line, exit
    128 + signal number, no worker left, the lock released, and the rerun completes the sweep."""
    out = tmp_path / "out"
    with Running(command(cfg, out), tmp_path) as sweep:
        wait_until(lambda: stored_count(out) >= 3, sweep, "3 stored runs")
        workers = sweep.children()
        assert workers
        os.kill(sweep.pid, signum)
        code, err = sweep.finish()
    assert code == 128 + signum, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert f"interrupted ({signal.Signals(signum).name})" in lines[0]
    assert "rerun the same command to resume" in lines[0]
    assert gone(workers), "worker processes outlived the interrupted sweep"
    assert (out / ".lock").read_text() == ""  # released by its owner: no takeover needed
    kept = no_duplicates(out)
    assert 3 <= kept < N_RUNS
    assert_rows_match_reference(out, reference, complete=False)

    done = rerun(cfg, out)
    assert done.returncode == 0, done.stderr
    assert "taking over" not in done.stderr
    assert f"{N_RUNS - kept} finished, 0 failed, {kept} already stored" in done.stderr
    assert no_duplicates(out) == N_RUNS
    assert_rows_match_reference(out, reference, complete=True)


def test_kill_9_of_the_parent_alone_ends_its_workers_and_the_rerun_takes_over_the_lock(tmp_path, cfg, reference):
    out = tmp_path / "out"
    with Running(command(cfg, out), tmp_path) as sweep:
        wait_until(lambda: stored_count(out) >= 2 and len(sweep.children()) >= 2, sweep, "2 runs and 2 workers")
        workers = sweep.children()
        os.kill(sweep.pid, signal.SIGKILL)  # the parent only: its workers must not live on
        sweep.finish()
    assert gone(workers), "worker processes outlived their killed parent"
    kept = no_duplicates(out)
    done = rerun(cfg, out)
    assert done.returncode == 0, done.stderr
    assert f"taking over the lock of {out}, left by process {sweep.pid}" in done.stderr.splitlines()[0]
    assert f"{N_RUNS - kept} finished, 0 failed, {kept} already stored" in done.stderr
    assert_rows_match_reference(out, reference, complete=True)


@pytest.mark.parametrize("k", [3])
def test_a_sweep_killed_right_after_its_kth_stored_run_has_exactly_k_runs_stored(tmp_path, cfg, reference, k):
    """The runner kills itself (SIGKILL) right after committing its k-th run (a test-only hook), so no
    timing decides what was stored: every finished run is there, and nothing else."""
    out = tmp_path / "out"
    crashed = subprocess.run(command(cfg, out), cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT,
                             env={**os.environ, KILL_AFTER_ENV: str(k)})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert no_duplicates(out) == k
    assert_rows_match_reference(out, reference, complete=False)


def test_a_worker_killed_mid_sweep(tmp_path, cfg, reference):
    out = tmp_path / "out"
    with Running(command(cfg, out), tmp_path) as sweep:
        wait_until(lambda: stored_count(out) >= 2 and len(sweep.children()) >= 2, sweep, "2 runs and 2 workers")
        victim = sweep.children()[0]
        victim.send_signal(signal.SIGKILL)
        code, err = sweep.finish()
    assert "Traceback" not in err
    assert code in (0, 1), err
    lines = err.splitlines()
    assert lines[0].startswith(f"{N_RUNS} runs: "), err
    assert no_duplicates(out) == N_RUNS  # every run stored once, failed or not
    if code == 1:  # runs that fell with the worker and failed again alone are stored as failed
        failed = sr.load_results(out).query("status == 'failed'")
        assert len(failed) and failed["message"].str.startswith("worker died").all()
        done = rerun(cfg, out, "--retry-failed")
        assert done.returncode == 0, done.stderr
    assert no_duplicates(out) == N_RUNS
    assert_rows_match_reference(out, reference, complete=True)


def test_two_sweeps_into_one_folder(tmp_path, cfg, reference):
    out = tmp_path / "out"
    with Running(command(cfg, out), tmp_path) as first:
        wait_until(lambda: stored_count(out) >= 1, first, "a stored run")
        os.killpg(first.pid, signal.SIGSTOP)  # hold it, lock and all, while the second one tries
        try:
            second = rerun(cfg, out)
        finally:
            os.killpg(first.pid, signal.SIGKILL)
        first.finish()
    assert second.returncode == 2, second.stderr
    lines = second.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in second.stderr, second.stderr
    assert "in use by another running sweep" in lines[0] and str(out) in lines[0]
    no_duplicates(out)
    assert_rows_match_reference(out, reference, complete=False)

"""Running sweeps into a store: one row per run, identical results wherever and in whatever order runs
execute, resume by rerunning, refusal of foreign stores and held folders, failed runs, tables, plots."""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import swarmreg as sr
from swarmreg import cli
from swarmreg.execute import execute
from swarmreg.report import GROUP, summarize
from swarmreg.store import RUN_COLUMNS, Store, StoreError
from swarmreg.sweep import RunSpec

CONFIG = """\
name = "small"
datasets = ["iris"]
hidden = [[4]]
methods = ["pso", "nelder-mead", "backprop", "backprop-decoupled"]
lams = [0.0, 0.1]
seeds = [0, 1]
budget = 400

[options.pso]
n_particles = 10

[variants.backprop-decoupled]
method = "backprop"
decay = "decoupled"
"""
N_RUNS = 1 * 1 * 4 * 2 * 2

# The same grid listed in another order: the same runs, so the same store and the same results.
REORDERED = (CONFIG.replace('["pso", "nelder-mead", "backprop", "backprop-decoupled"]',
                            '["backprop-decoupled", "nelder-mead", "backprop", "pso"]')
             .replace("lams = [0.0, 0.1]", "lams = [0.1, 0.0]").replace("seeds = [0, 1]", "seeds = [1, 0]"))

# Everything a run produces except its wall time (and the sweep's name, which is the same here).
VALUE_COLUMNS = [c for c in RUN_COLUMNS if c != "wall_time"]


def sweep_of(text: str) -> sr.Sweep:
    return sr.Sweep.from_dict(tomllib.loads(text))


def swarmreg_cli(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "swarmreg", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def run_main(argv: list[object], capsys) -> tuple[int, str, str]:
    """``swarmreg ARGV`` in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def by_key(out: Path) -> pd.DataFrame:
    return sr.load_results(out).sort_values("key", ignore_index=True)


def assert_same_results(a: Path, b: Path) -> None:
    """Bit-for-bit: every stored value, every trace array, every weight vector (==, not approx)."""
    ra, rb = by_key(a), by_key(b)
    assert list(ra["key"]) == list(rb["key"])
    pd.testing.assert_frame_equal(ra[VALUE_COLUMNS], rb[VALUE_COLUMNS], check_exact=True)
    for col in ("fun", "weight_norm", "bias_norm", "test_accuracy", "cost"):  # spelled out: == on floats
        assert (ra[col].to_numpy() == rb[col].to_numpy()).all(), col
    ta, tb = sr.load_traces(a), sr.load_traces(b)
    assert ta.keys() == tb.keys() == set(ra["key"])
    for key in ta:
        assert ta[key].keys() == tb[key].keys()
        for name in ta[key]:
            assert np.array_equal(ta[key][name], tb[key][name]), (key, name)
    wa, wb = sr.load_weights(a), sr.load_weights(b)
    assert wa.keys() == wb.keys() == set(ra["key"])
    for key in wa:
        assert np.array_equal(wa[key], wb[key]), key


@pytest.fixture(scope="module")
def serial_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("serial") / "out"
    summary = sr.run_sweep(sweep_of(CONFIG), out, executor="serial")
    assert (summary.total, summary.skipped, summary.finished, summary.failed) == (N_RUNS, 0, N_RUNS, 0)
    return out


@pytest.fixture(scope="module")
def pool_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pool") / "out"
    summary = sr.run_sweep(sweep_of(CONFIG), out, executor="process", workers=2)
    assert (summary.total, summary.finished, summary.failed) == (N_RUNS, N_RUNS, 0)
    return out


# ---------------------------------------------------------------------------------------------------
# One row per run, identical results everywhere.

def test_one_row_per_run_with_every_column(serial_out):
    df = sr.load_results(serial_out)
    assert list(df.columns) == list(RUN_COLUMNS)
    assert len(df) == N_RUNS and df["key"].is_unique
    assert set(df["key"]) == {s.key for s in sweep_of(CONFIG).runs()}
    assert set(df["status"]) <= {"budget", "converged", "epochs", "diverged"}
    assert (df["sweep"] == "small").all() and set(df["dataset"]) == {"iris"} and set(df["hidden"]) == {"[4]"}
    assert sorted(df["method"].unique()) == ["backprop", "backprop-decoupled", "nelder-mead", "pso"]
    assert set(df.loc[df["method"] == "backprop-decoupled", "base_method"]) == {"backprop"}
    for col in ("fun", "error", "penalty", "weight_norm", "bias_norm", "train_accuracy", "test_accuracy",
                "cost", "n_evals", "wall_time"):
        assert df[col].notna().all(), col
    assert (df["cost"] <= df["budget"]).all()
    assert np.allclose(df["fun"], df["error"] + df["penalty"], rtol=1e-12, atol=0)
    assert (df.loc[df["lam"] == 0, "penalty"] == 0).all()
    for _, row in df.iterrows():  # the stored spec is the run's: it hashes back to the key
        spec = RunSpec.from_json(row["spec"])
        assert spec.key == row["key"] and spec.method == row["method"] and spec.seed == row["seed"]


def test_traces_and_weights_stored_for_every_run(serial_out):
    df = by_key(serial_out)
    traces, weights = sr.load_traces(serial_out), sr.load_weights(serial_out)
    assert set(traces) == set(weights) == set(df["key"])
    for _, row in df.iterrows():
        trace = traces[row["key"]]
        assert trace["fun"][-1] == row["fun"]  # a run's trace ends at the point it returns
        assert trace["cost"][-1] <= row["budget"]
        mask = sr.Network((4, 4, 3)).weight_mask
        assert np.linalg.norm(weights[row["key"]][mask]) == row["weight_norm"]


def test_process_pool_matches_serial_bit_for_bit(serial_out, pool_out):
    assert_same_results(serial_out, pool_out)


def test_order_of_the_grid_does_not_change_results(tmp_path, serial_out):
    reordered = sweep_of(REORDERED)
    assert {s.key for s in reordered.runs()} == {s.key for s in sweep_of(CONFIG).runs()}
    assert [s.key for s in reordered.runs()] != [s.key for s in sweep_of(CONFIG).runs()]
    sr.run_sweep(reordered, tmp_path / "out", executor="process", workers=2)
    assert_same_results(serial_out, tmp_path / "out")


def test_reordered_config_resumes_in_the_same_store(pool_out):
    summary = sr.run_sweep(sweep_of(REORDERED), pool_out, workers=2)
    assert (summary.skipped, summary.finished, summary.failed) == (N_RUNS, 0, 0)


# ---------------------------------------------------------------------------------------------------
# Resume and lock (growing a store: test_grow.py).

def rowids(out: Path) -> dict[str, tuple[int, float]]:
    """{key: (rowid, wall_time)}: a rewritten row gets a new rowid (INSERT OR REPLACE) and wall time."""
    with sqlite3.connect(f"file:{out / 'runs.sqlite'}?mode=ro", uri=True) as db:
        return {k: (r, w) for k, r, w in db.execute("SELECT key, rowid, wall_time FROM runs")}


def test_rerun_skips_everything_and_writes_nothing(tmp_path, capsys):
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(CONFIG)
    out = tmp_path / "out"
    first = swarmreg_cli("run", cfg, "--out", out, "--workers", "2", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stderr.splitlines() == [first.stderr.strip()]  # one summary line
    assert f"{N_RUNS} runs: {N_RUNS} finished, 0 failed, 0 already stored" in first.stderr
    before = rowids(out)
    code, _, err = run_main(["run", cfg, "--out", out, "--workers", "2"], capsys)  # the same command again
    assert code == 0, err
    assert f"{N_RUNS} runs: 0 finished, 0 failed, {N_RUNS} already stored" in err
    assert rowids(out) == before
    summary = sr.run_sweep(sweep_of(CONFIG), out, executor="serial")
    assert (summary.total, summary.skipped, summary.finished, summary.failed) == (N_RUNS, N_RUNS, 0, 0)
    assert rowids(out) == before
    with sqlite3.connect(f"file:{out / 'runs.sqlite'}?mode=ro", uri=True) as db:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM runs").fetchone() == (N_RUNS, N_RUNS)
        assert db.execute("SELECT COUNT(*) FROM traces").fetchone() == (N_RUNS,)


def test_partial_store_is_completed_not_duplicated(tmp_path, serial_out):
    """Half the runs stored by hand (as an interrupted sweep leaves them); a rerun adds only the rest."""
    out = tmp_path / "out"
    full = sweep_of(CONFIG)
    with Store(out) as store:
        for spec in full.runs()[: N_RUNS // 2]:
            store.write(execute(spec, full.name))
    summary = sr.run_sweep(full, out, workers=2)
    assert (summary.skipped, summary.finished) == (N_RUNS // 2, N_RUNS - N_RUNS // 2)
    assert_same_results(serial_out, out)


def test_a_folder_held_by_a_live_store_is_refused(tmp_path, capsys):
    sweep = sweep_of(CONFIG)
    out = tmp_path / "out"
    with Store(out):
        with pytest.raises(StoreError, match="in use"):
            Store(out)
        with pytest.raises(StoreError, match="in use"):
            sr.run_sweep(sweep, out, executor="serial")
        cfg = tmp_path / "sweep.toml"
        cfg.write_text(CONFIG)
        code, _, err = run_main(["run", cfg, "--out", out, "--executor", "serial"], capsys)
        assert code == 2 and len(err.splitlines()) == 1 and "in use" in err
    with Store(out) as store:  # released on close
        assert store.keys() == set()


def test_workers_argument_is_checked(tmp_path):
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="workers"):
            sr.run_sweep(sweep_of(CONFIG), tmp_path / "out", workers=bad)
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------------
# Failed runs.

FAILING = """\
name = "failing"
datasets = ["iris"]
hidden = [[4]]
methods = ["pso", "pso-huge", "backprop", "backprop-big-batch"]
lams = [0.0]
seeds = [0, 1]
budget = 300

[options.pso]
n_particles = 10

[variants.pso-huge]        # budget 300 < one swarm evaluation of 1000 particles: ValueError in minimize
method = "pso"
n_particles = 1000

[variants.backprop-big-batch]  # batch larger than iris's 105 training items: ValueError in minimize
method = "backprop"
batch_size = 1000
"""


def test_failed_runs_are_stored_with_their_message(tmp_path):
    summary = sr.run_sweep(sweep_of(FAILING), tmp_path / "out", workers=2)
    assert (summary.total, summary.finished, summary.failed) == (8, 4, 4)
    df = sr.load_results(tmp_path / "out").set_index(["method", "seed"])
    for seed in (0, 1):
        for method in ("pso", "backprop"):
            assert df.loc[(method, seed), "status"] != "failed"
        huge = df.loc[("pso-huge", seed)]
        assert huge["status"] == "failed" and np.isnan(huge["fun"])
        assert huge["message"].startswith("ValueError: ") and "n_particles=1000" in huge["message"]
        batch = df.loc[("backprop-big-batch", seed)]
        assert batch["status"] == "failed" and "batch_size" in batch["message"] and "1000" in batch["message"]
    assert "failed" in summarize(sr.load_results(tmp_path / "out")).columns
    table = summarize(sr.load_results(tmp_path / "out")).set_index("method")
    assert table.loc["pso-huge", "runs"] == 2 and table.loc["pso-huge", "failed"] == 2
    assert table.loc["pso", "failed"] == 0
    retry = sr.run_sweep(sweep_of(FAILING), tmp_path / "out", workers=2, retry_failed=True)
    assert (retry.skipped, retry.finished, retry.failed) == (4, 0, 4)
    again = sr.run_sweep(sweep_of(FAILING), tmp_path / "out", workers=2)
    assert (again.skipped, again.finished, again.failed) == (8, 0, 0)


def test_cli_failed_runs_exit_1_and_retry_failed_reruns_only_those(tmp_path, capsys, monkeypatch):
    """Runs on wine fail at the first attempt (a fault injected into the run's data loading, as a disk
    error would) and succeed on retry; the runs that had finished are not rewritten."""
    from swarmreg import execute as execute_module
    real_load = execute_module.load

    def failing_load(name, *args, **kwargs):
        if name == "wine":
            raise OSError("disk on fire")
        return real_load(name, *args, **kwargs)

    cfg = tmp_path / "sweep.toml"
    cfg.write_text(CONFIG.replace('datasets = ["iris"]', 'datasets = ["iris", "wine"]')
                   .replace('["pso", "nelder-mead", "backprop", "backprop-decoupled"]', '["pso", "backprop"]'))
    out = tmp_path / "out"
    total, broken = 2 * 2 * 2 * 2, 2 * 2 * 2
    execute_module._dataset.cache_clear()
    monkeypatch.setattr(execute_module, "load", failing_load)
    code, _, err = run_main(["run", cfg, "--out", out, "--executor", "serial"], capsys)
    assert code == 1, err
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith(f"{total} runs: {total - broken} finished, {broken} failed, 0 already stored")
    assert f"{broken} run(s) failed" in lines[1] and "--retry-failed" in lines[1] and "disk on fire" in lines[1]
    df = sr.load_results(out)
    failed = df[df["status"] == "failed"]
    assert len(df) == total and set(failed["dataset"]) == {"wine"}
    assert failed["message"].str.startswith("OSError: disk on fire").all()
    before = rowids(out)

    code, _, err = run_main(["run", cfg, "--out", out, "--executor", "serial"], capsys)  # no retry: nothing reruns
    assert code == 1 and f"0 finished, 0 failed, {total} already stored" in err
    assert rowids(out) == before

    monkeypatch.setattr(execute_module, "load", real_load)
    retry = swarmreg_cli("run", cfg, "--out", out, "--workers", "2", "--retry-failed", cwd=tmp_path)
    assert retry.returncode == 0, retry.stderr
    assert retry.stderr.splitlines() == [retry.stderr.strip()]
    assert f"{total} runs: {broken} finished, 0 failed, {total - broken} already stored" in retry.stderr
    after = rowids(out)
    assert after.keys() == before.keys()
    for key in failed["key"]:
        assert after[key] != before[key]  # rerun
    for key in set(before) - set(failed["key"]):
        assert after[key] == before[key]  # untouched
    df = sr.load_results(out)
    assert len(df) == total and (df["status"] != "failed").all() and df["message"].notna().all()


# ---------------------------------------------------------------------------------------------------
# Tables and plots.

def test_table_csv_has_mean_std_and_run_counts(pool_out, capsys):
    code, out, err = run_main(["table", pool_out, "--format", "csv"], capsys)
    assert code == 0 and err == ""
    table = pd.read_csv(io.StringIO(out))
    assert list(table.columns[:6]) == [*GROUP, "runs", "failed"]
    assert len(table) == 4 * 2 and not table.duplicated(GROUP).any()
    assert (table["runs"] == 2).all() and (table["failed"] == 0).all()
    for metric in ("fun", "error", "test_accuracy", "train_accuracy", "weight_norm", "bias_norm"):
        assert f"{metric}_mean" in table.columns and f"{metric}_std" in table.columns
    runs = sr.load_results(pool_out)
    expected = runs.groupby(["method", "lam"])["fun"].agg(["mean", "std"])
    for _, row in table.iterrows():
        mean, std = expected.loc[(row["method"], row["lam"])]
        assert row["fun_mean"] == pytest.approx(mean, rel=1e-12)
        assert row["fun_std"] == pytest.approx(std, rel=1e-12)


def test_table_metrics_option(pool_out, capsys):
    code, out, _ = run_main(["table", pool_out, "--format", "csv", "--metrics", "fun", "weight_norm"], capsys)
    assert code == 0
    table = pd.read_csv(io.StringIO(out))
    assert list(table.columns) == [*GROUP, "runs", "failed", "fun_mean", "fun_std", "weight_norm_mean",
                                   "weight_norm_std"]


def test_table_markdown_and_latex(pool_out, tmp_path, capsys):
    md = swarmreg_cli("table", pool_out, cwd=tmp_path)  # markdown is the default
    assert md.returncode == 0 and md.stderr == ""
    lines = md.stdout.strip().splitlines()
    assert len(lines) == 2 + 8  # header, rule, one line per (dataset, hidden, method, lam)
    assert lines[0].startswith("|") and "fun" in lines[0] and "weight_norm" in lines[0] and "runs" in lines[0]
    assert all("±" in line for line in lines[2:])
    assert any("backprop-decoupled" in line for line in lines)
    code, latex, _ = run_main(["table", pool_out, "--format", "latex", "--metrics", "fun"], capsys)
    assert code == 0
    assert r"\begin{tabular}" in latex and r"\end{tabular}" in latex
    assert r"$\pm$" in latex and "±" not in latex


def test_plot_writes_matplotlib_pngs(pool_out, tmp_path):
    to = tmp_path / "figs"
    proc = swarmreg_cli("plot", pool_out, "--to", to, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    printed = [Path(p) for p in proc.stdout.split()]
    written, captions = printed[::2], printed[1::2]
    # one lam path per (dataset, hidden), one convergence figure per (dataset, hidden, lam), each with its caption
    assert sorted(p.name for p in written) == ["convergence_iris_h4_lam0.1.png", "convergence_iris_h4_lam0.png",
                                               "lam_path_iris_h4.png"]
    assert captions == [p.with_suffix(".txt") for p in written]
    assert sorted(to.iterdir()) == sorted(printed)
    assert "bars: 95% bootstrap interval of the median" in (to / "lam_path_iris_h4.txt").read_text()
    assert "interquartile range" in (to / "convergence_iris_h4_lam0.txt").read_text()
    for path in written:
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", path
        assert b"Software\x00Matplotlib" in data[:4096], path  # the tEXt chunk matplotlib writes
        assert len(data) > 5000


def test_plot_default_folder_in_process(serial_out, capsys):
    code, out, _ = run_main(["plot", serial_out], capsys)
    assert code == 0
    paths = [Path(p) for p in out.split()]
    assert len(paths) == 6 and all(p.parent == serial_out / "figures" for p in paths)
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths[::2])
    assert all(p.suffix == ".txt" and p.read_text().strip() for p in paths[1::2])


# ---------------------------------------------------------------------------------------------------
# compare(): the in-memory entry point.

COMPARE = dict(datasets=["iris"], hidden=[[4]], methods=["pso", "backprop", "backprop-decoupled"],
               lams=[0.0, 0.1], seeds=[0, 1], budget=400, options={"pso": {"n_particles": 10}},
               variants={"backprop-decoupled": {"method": "backprop", "decay": "decoupled"}})


def test_compare_returns_one_row_per_group(serial_out):
    table = sr.compare(**COMPARE, executor="serial")
    assert isinstance(table, pd.DataFrame)
    assert len(table) == 3 * 2 and not table.duplicated(GROUP).any()
    assert list(table.columns[:6]) == [*GROUP, "runs", "failed"]
    assert (table["runs"] == 2).all() and (table["failed"] == 0).all()
    assert {"fun_mean", "fun_std", "test_accuracy_mean", "weight_norm_mean"} <= set(table.columns)
    # the same runs as the stored sweep (the keys do not depend on the sweep's name), so the same means
    stored = summarize(sr.load_results(serial_out)).set_index(["method", "lam"])
    for _, row in table.iterrows():
        assert row["fun_mean"] == stored.loc[(row["method"], row["lam"]), "fun_mean"]


def test_compare_runs_true_matches_the_store_bit_for_bit(serial_out):
    runs = sr.compare(**COMPARE, workers=2, runs=True)
    assert len(runs) == 3 * 2 * 2 and runs["key"].is_unique
    stored = sr.load_results(serial_out).set_index("key")
    for _, row in runs.iterrows():
        for col in ("fun", "weight_norm", "test_accuracy", "cost", "n_evals"):
            assert row[col] == stored.loc[row["key"], col], col


def test_compare_metrics_and_failed_runs():
    table = sr.compare(datasets=["iris"], hidden=[[4]], methods=["pso"], lams=[0.0], seeds=[0, 1], budget=5,
                       options={"pso": {"n_particles": 10}}, metrics=["fun"], executor="serial")
    assert len(table) == 1 and table.loc[0, "runs"] == 2 and table.loc[0, "failed"] == 2
    ok = sr.compare(datasets=["iris"], hidden=[[4]], methods=["pso"], lams=[0.0], seeds=[0], budget=50,
                    options={"pso": {"n_particles": 10}}, metrics=["fun", "weight_norm"], executor="serial")
    assert list(ok.columns) == [*GROUP, "runs", "failed", "fun_mean", "fun_std", "weight_norm_mean",
                                "weight_norm_std"]


def test_summary_line(tmp_path):
    summary = sr.run_sweep(sweep_of(FAILING.replace("seeds = [0, 1]", "seeds = [0]")), tmp_path / "o",
                           executor="serial")
    line = summary.line()
    assert line.startswith("4 runs: 2 finished, 2 failed, 0 already stored (")
    assert line.endswith(str(tmp_path / "o" / "runs.sqlite"))


def test_a_corrupt_store_is_refused_in_one_line(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "runs.sqlite").write_text("not a database")
    cfg = tmp_path / "small.toml"
    cfg.write_text(CONFIG)
    proc = subprocess.run([sys.executable, "-m", "swarmreg", "run", str(cfg), "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "not a swarmreg store" in proc.stderr


def test_compare_command_exits_1_naming_a_failure(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "swarmreg", "compare", "--budget", "10", "--seeds", "0",
                           "--lams", "0", "--workers", "1"], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "failed" in proc.stderr and "nelder_mead.py" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_metric_is_refused(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "swarmreg", "table", str(tmp_path), "--metrics", "bogus"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "bogus" in proc.stderr

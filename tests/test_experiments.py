"""Smoke profile of each experiment and of ``swarmreg reproduce``: the outputs exist and have their shape."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

import swarmreg as sr
from swarmreg.experiments import EXPERIMENTS, reproduce
from swarmreg.experiments.common import cost_to_target

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return out, reproduce(out, profile="smoke", workers=2, command="swarmreg reproduce (smoke)")


def test_report_holds_every_experiment(report):
    out, path = report
    text = path.read_text()
    assert path == out / "REPORT.md"
    for i, name in enumerate(EXPERIMENTS, start=1):
        assert f"## {i}. {name}:" in text
    assert "numpy " in text and "pyswarms " in text and "swarmreg reproduce (smoke)" in text
    links = [line for line in text.splitlines() if line.startswith("![")]
    assert links
    for link in links:
        target = out / link[link.index("(") + 1:-1]
        assert target.read_bytes()[:8] == PNG


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_experiment_folder(report, name):
    out, _ = report
    folder = out / name
    runs = sr.load_results(folder)
    assert len(runs) > 0
    assert (runs["status"] != "failed").all(), runs.loc[runs["status"] == "failed", "message"].tolist()
    tables = sorted(folder.glob("*.csv"))
    assert tables and all((folder / f"{t.stem}.md").is_file() for t in tables)
    for t in tables:
        assert len(pd.read_csv(t)) > 0
    assert any((folder / "figures").glob("*.png"))


def test_l2_path_table_has_a_row_per_group(report):
    out, _ = report
    table = pd.read_csv(out / "l2-path" / "l2_path.csv")
    runs = sr.load_results(out / "l2-path")
    assert len(table) == runs.groupby(["dataset", "hidden", "method", "lam"]).ngroups
    assert {"weight_norm_median", "weight_norm_low", "weight_norm_high", "bias_norm_median",
            "test_accuracy_median"} <= set(table.columns)


def test_decay_meaning_plain_sgd_equivalence(report):
    out, _ = report
    text = (out / "REPORT.md").read_text()
    line = next(x for x in text.splitlines() if x.startswith("Largest absolute weight difference"))
    assert float(line.split("**")[1]) < 1e-10


def test_rerun_resumes_without_new_runs(report):
    out, _ = report
    before = {name: len(sr.load_results(out / name)) for name in EXPERIMENTS}
    reproduce(out, profile="smoke", workers=1)
    assert before == {name: len(sr.load_results(out / name)) for name in EXPERIMENTS}


def test_only_writes_sections_and_leaves_the_report(report, tmp_path):
    out, path = report
    before = path.read_text()
    written = reproduce(out, profile="smoke", workers=1, only=["pso-vs-backprop"])
    assert written == out / "pso-vs-backprop" / "SECTION.md"
    assert written.read_text().startswith("## 5. pso-vs-backprop")
    assert path.read_text() == before


def test_cost_to_target_reads_the_running_best():
    trace = {"cost": [1.0, 2.0, 3.0, 4.0], "fun": [5.0, 3.0, 4.0, 1.0]}
    assert cost_to_target(trace, 3.0) == 2.0
    assert cost_to_target(trace, 0.5) == float("inf")


def test_reproduce_command_refuses_bad_input(tmp_path):
    for argv in (["reproduce", "--only", "nope", "--out", str(tmp_path / "x")],
                 ["reproduce", "--workers", "0", "--out", str(tmp_path / "y")]):
        proc = subprocess.run([sys.executable, "-m", "swarmreg", *argv], capture_output=True, text=True)
        assert proc.returncode == 2
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def _grid_runs(best_wd: dict[tuple[str, float], float]) -> pd.DataFrame:
    """Runs of two optimizers over lr x wd x 2 seeds whose validation error is 0 at the given best wd."""
    rows = []
    for (opt, lr), best in best_wd.items():
        for wd in (1e-3, 1e-2, 1e-1):
            for seed in (0, 1):
                err = 0.0 if wd == best else 0.1 + seed * 0.01
                rows.append({"optimizer": opt, "lr": lr, "wd": wd, "seed": seed, "val_error": err,
                             "test_error": err + 0.05})
    return pd.DataFrame(rows)


def test_adam_vs_adamw_spread_counts_decades_of_the_best_decay():
    from swarmreg.experiments.adam_vs_adamw import best_cells, best_decays, decay_spread
    runs = _grid_runs({("adamw", 1e-3): 1e-2, ("adamw", 1e-2): 1e-2,
                       ("adam-l2", 1e-3): 1e-1, ("adam-l2", 1e-2): 1e-3})
    best = best_decays(runs).set_index(["optimizer", "lr"])["best_wd"]
    assert best[("adam-l2", 1e-3)] == 1e-1 and best[("adam-l2", 1e-2)] == 1e-3
    spread = decay_spread(runs)
    assert spread["adamw"] == 0.0 and spread["adam-l2"] == pytest.approx(2.0)
    cells = best_cells(runs).set_index("optimizer")
    assert cells.loc["adamw", "wd"] == 1e-2 and cells.loc["adamw", "mean_test_error"] == pytest.approx(0.05)


def test_l2_meanings_compares_what_the_networks_compute_relative_to_the_second():
    import numpy as np

    from swarmreg.experiments.l2_meanings import compare
    za = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 0.0], [0.0, 3.0]])
    zb = np.array([[1.0, 0.0], [1.0, 0.0], [2.0, 0.0], [0.0, 3.0]])  # one of four items classified otherwise
    out = compare(za, zb, np.array([3.0, 4.0]), np.array([0.0, 5.0]))
    assert out["agreement"] == 0.75
    assert out["logit_distance"] == pytest.approx(np.sqrt(2) / np.linalg.norm(zb))
    assert out["weight_distance"] == pytest.approx(np.hypot(3, 1) / 5)


def test_reference_ert_uses_each_problems_reference():
    from swarmreg.experiments.common import reference_ert
    runs = pd.DataFrame({"key": ["r0", "r1", "s0"], "dataset": "d", "hidden": "[2]", "lam": 0.1,
                         "method": ["m", "m", "n"], "seed": [0, 1, 0], "split_seed": 0, "status": "budget",
                         "cost": [100.0, 100.0, 80.0]})
    traces = {"r0": {"cost": [10.0, 50.0, 100.0], "fun": [3.0, 1.05, 1.0]},
              "r1": {"cost": [10.0, 100.0], "fun": [3.0, 2.0]},
              "s0": {"cost": [20.0, 80.0], "fun": [1.2, 1.2]}}
    refs = pd.DataFrame({"dataset": ["d"], "hidden": ["[2]"], "lam": [0.1], "n_params": [7], "reference_J": [1.0]})
    table = reference_ert(runs, traces, refs, [0.1, 0.01]).set_index(["method", "target"])
    # within 10%: r0 at cost 50, r1 never (its 100 count): (50 + 100) / 1; within 1%: r0 at 100, r1 never
    assert table.loc[("m", 0.1), "ert"] == 150 and table.loc[("m", 0.1), "successes"] == 1
    assert table.loc[("m", 0.01), "ert"] == 200 and table.loc[("m", 0.1), "n_params"] == 7
    assert table.loc[("n", 0.1), "ert"] == float("inf") and table.loc[("n", 0.1), "successes"] == 0

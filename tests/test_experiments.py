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
    tables = sorted(t for t in folder.glob("*.csv") if t.name != "runs.csv")  # runs.csv: the published runs
    assert tables and all((folder / f"{t.stem}.md").is_file() for t in tables)
    for t in tables:
        assert len(pd.read_csv(t)) > 0
    assert any((folder / "figures").glob("*.png"))


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_each_experiment_publishes_its_runs_and_traces(report, name):
    """runs.csv holds every stored run with its seed, status and provenance; traces.csv.gz every
    finished run's best-so-far records, ending on the run's J."""
    out, _ = report
    runs, published = sr.load_results(out / name), pd.read_csv(out / name / "runs.csv")
    assert sorted(published["key"]) == sorted(runs["key"])
    assert {"seed", "status", "method_fingerprint", "numpy_version", "started_at"} <= set(published.columns)
    traces = pd.read_csv(out / name / "traces.csv.gz")
    last = traces.groupby("key")["best_fun"].last()
    finished = runs[runs["status"] != "failed"].set_index("key")
    assert set(last.index) == set(finished.index)
    assert (last <= finished.loc[last.index, "fun"] * (1 + 1e-9) + 1e-300).all()


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


def test_reproduce_on_a_device_puts_every_run_there(tmp_path):
    reproduce(tmp_path, profile="smoke", only=["pso-vs-backprop"], device="cpu")
    published = pd.read_csv(tmp_path / "pso-vs-backprop" / "runs.csv")
    assert len(published) and (published["device"] == "cpu").all()
    assert (published["status"] != "failed").all()


def test_cost_to_target_reads_the_running_best():
    trace = {"cost": [1.0, 2.0, 3.0, 4.0], "fun": [5.0, 3.0, 4.0, 1.0]}
    assert cost_to_target(trace, 3.0) == 2.0
    assert cost_to_target(trace, 0.5) == float("inf")


def test_reproduce_command_refuses_bad_input(tmp_path):
    for argv in (["reproduce", "--only", "nope", "--out", str(tmp_path / "x")],
                 ["reproduce", "--workers", "0", "--out", str(tmp_path / "y")],
                 ["reproduce", "--device", "cuda", "--out", str(tmp_path / "x")],
                 ["reproduce", "--device", "cpu", "--workers", "2", "--out", str(tmp_path / "y")]):
        proc = subprocess.run([sys.executable, "-m", "swarmreg", *argv], capture_output=True, text=True)
        assert proc.returncode == 2
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def _grid_runs(slopes: dict[str, float], seeds=(0, 1, 2)) -> pd.DataFrame:
    """Grid runs whose validation error is a parabola in log10(decay) around ``b * (log10(lr) + 2.5) - 2.2`` (plus a
    per-seed offset that moves no minimum), the row at lr 1e-4 0.05 above the others (outside the basin)."""
    import numpy as np
    rows = []
    for opt, b in slopes.items():
        for lr in (1e-4, 1e-3, 10 ** -2.5, 1e-2, 10.0):
            for decay in 10.0 ** np.arange(-5.0, 0.1, 0.5):
                for seed in seeds:
                    err = 0.05 + 0.01 * (np.log10(decay) - (b * (np.log10(lr) + 2.5) - 2.2)) ** 2 + 0.001 * seed
                    err += 0.05 if lr == 1e-4 else 0.0
                    rows.append({"optimizer": opt, "lr": lr, "decay": decay, "seed": seed, "stage": "grid",
                                 "status": "epochs", "val_error": err, "test_error": err + 0.01})
    return pd.DataFrame(rows)


def test_adam_vs_adamw_basin_slope_recovers_the_slope_of_the_best_decay():
    """A parabola in log decay has its vertex where the refinement puts it: the slopes come out exact
    (0 and -1 here, off-grid best decays included), the lr = 1e-4 row is outside the basin, adam-l2's
    row at lr 10 (best decay 10^-5.7, below the grid) is on the edge and left out, and every bootstrap
    resample agrees, so the difference's p is the smallest the resamples give."""
    from swarmreg.experiments.adam_vs_adamw import basin_slopes, best_cells, bootstrap_p
    runs = _grid_runs({"adamw-lh": 0.0, "adam-l2": -1.0})
    slopes = basin_slopes(runs, ["adamw-lh", "adam-l2"], margin=0.02, n_boot=50)
    assert list(slopes["adamw-lh"]["rows"]) == [False, True, True, True, True]
    assert list(slopes["adam-l2"]["rows"]) == [False, True, True, True, False]
    assert slopes["adam-l2"]["edge"][-1] and slopes["adam-l2"]["best"][-1] == -5.0
    for opt, b in (("adamw-lh", 0.0), ("adam-l2", -1.0)):
        assert slopes[opt]["slope"] == pytest.approx(b, abs=1e-9)
        assert slopes[opt]["boot"] == pytest.approx(b, abs=1e-9)
    assert slopes["adam-l2"]["best"][2] == pytest.approx(-2.2, abs=1e-9)  # between grid points: refined
    assert bootstrap_p(slopes["adamw-lh"]["boot"] - slopes["adam-l2"]["boot"]) == 0.0
    cells = best_cells(runs)
    assert cells.loc["adamw-lh", "decay"] == pytest.approx(10 ** -2.0)  # the grid point nearest -2.2
    assert cells.loc["adamw-lh", "mean_test_error"] == pytest.approx(0.05 + 0.01 * 0.2 ** 2 + 0.001 + 0.01)


def test_adam_vs_adamw_refined_best_stays_on_an_edge_and_skips_what_was_not_run():
    import numpy as np

    from swarmreg.experiments.adam_vs_adamw import refined_best
    log_decays = np.array([-3.0, -2.0, -1.0])
    means = np.array([[0.1, 0.2, 0.3], [0.3, 0.1, 0.2], [np.nan, 0.3, 0.1], [np.nan] * 3])
    best, edge = refined_best(means, log_decays)
    assert best[0] == -3.0 and best[2] == -1.0 and np.isnan(best[3])
    assert list(edge) == [True, False, True, True]
    assert best[1] == pytest.approx(-2.0 + 0.5 * (0.3 - 0.2) / (0.3 - 2 * 0.1 + 0.2))  # toward the lower neighbour
    best, edge = refined_best(np.array([[0.3, 0.1, np.nan]]), log_decays)  # the last decay run is an edge too
    assert best[0] == -2.0 and edge[0]


def test_adam_vs_adamw_grid_leaves_out_torch_cells_that_zero_the_weights():
    from swarmreg.experiments.adam_vs_adamw import grid_parts, load_config
    grid, params = grid_parts(load_config("adam-vs-adamw"), "full")
    assert len(grid) == 5 * 7
    for name, part in grid.items():
        (options,) = part["variants"].values()
        assert options["schedule"] == "cosine"
        limit = 7 if not name.startswith("adamw-torch") else sum(options["lr"] * d < 1 for d in
                                                                 params["decays"]["adamw-torch"])
        assert len(part["lams"]) == limit
    assert len(grid["adamw-torch lr=1"]["lams"]) == 4  # wd 0.01 to 0.316: lr*wd < 1
    config = load_config("adam-vs-adamw")
    config["parameters"]["decays"]["adam-l2"] = [1e-3, 1e-2, 3e-2]
    with pytest.raises(ValueError, match="equal log steps"):
        grid_parts(config, "full")


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


def test_adam_vs_adamw_bootstrap_p_is_twice_the_smaller_tail():
    import numpy as np

    from swarmreg.experiments.adam_vs_adamw import bootstrap_p
    diffs = np.array([-1.0] * 10 + [1.0] * 90)
    assert bootstrap_p(diffs) == pytest.approx(0.2)
    assert bootstrap_p(-diffs) == pytest.approx(0.2)
    assert np.isnan(bootstrap_p(np.full(5, np.nan)))


def test_adam_vs_adamw_claim2_reads_lower_and_same_from_the_paired_differences():
    """AdamW 1 point better on every seed (a little spread): lower shown, not the same at 0.5 points;
    within 0.1 point of each other: the same, not lower."""
    import numpy as np

    from swarmreg.claims import parse_claims
    from swarmreg.experiments.adam_vs_adamw import CLAIM2, claim2, load_config
    claims = parse_claims(load_config("adam-vs-adamw"))
    lower, same = claims["adamw-lower"], claims["adamw-same"]
    rng = np.random.default_rng(0)
    base = 0.08 + 0.005 * rng.standard_normal(20)
    for shift, is_lower, is_same in ((-0.01, True, False), (0.0, False, True)):
        pairs = pd.DataFrame({CLAIM2[0]: base + shift + 0.001 * rng.standard_normal(20), CLAIM2[1]: base})
        result = claim2(pairs, lower, same)
        assert result["n"] == 20 and result["low"] < result["mean"] < result["high"]
        assert result["mean"] == pytest.approx(shift, abs=0.001)
        assert (result["p_lower"] < lower.alpha) == is_lower and (result["p_same"] < same.alpha) == is_same

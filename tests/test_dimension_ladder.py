"""The dimension ladder's design and verdict code on small made-up tables (the smoke run is in
test_experiments.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from swarmreg.claims import parse_claims
from swarmreg.experiments import ladder_results as lr
from swarmreg.experiments.common import load_config
from swarmreg.experiments.ladder_design import (
    DeviceUnavailable,
    check_profile,
    design,
    ladder_specs,
    n_params,
    reference_specs,
    sensitivity_specs,
    variant_options,
)


def _hits(successes: dict[int, list[bool]], method: str = "pso", lam: float = 0.01) -> pd.DataFrame:
    rows = [{"method": method, "depth": "40-h-10", "lam": lam, "k": 3.0, "target": "t", "n_params": n, "seed": s,
             "reached": r} for n, seeds in successes.items() for s, r in enumerate(seeds)]
    return pd.DataFrame(rows)


def test_breakdown_is_the_largest_size_reached_in_more_than_half_the_seeds():
    hits = _hits({100: [True] * 5, 300: [True, True, True, False, False], 1000: [True, True, False, False, False]})
    row = lr.breakdown(hits).iloc[0]
    assert (row["largest"], row["next"]) == (300, 1000)
    assert (row["largest_hits"], row["largest_runs"], row["next_hits"]) == (3, 5, 2)
    low, high = lr.clopper_pearson(3, 5)
    assert (row["largest_low"], row["largest_high"]) == (low, high)
    assert 0.14 < low < 0.15 and 0.94 < high < 0.95  # the exact interval of 3/5
    assert lr.breakdown_text(row).startswith("300 (3/5 [15%, 95%]) → 1000 (2/5")


def test_half_the_seeds_is_not_most_and_a_size_past_a_failure_still_counts():
    even = lr.breakdown(_hits({100: [True, False], 300: [False, False]})).iloc[0]
    assert np.isnan(even["largest"]) and even["next"] == 100
    assert lr.breakdown_text(even).startswith("< 100 (1/2")
    gap = lr.breakdown(_hits({100: [True] * 3, 300: [False] * 3, 1000: [True, True, False]})).iloc[0]
    assert gap["largest"] == 1000 and np.isnan(gap["next"])
    assert lr.breakdown_text(gap).startswith("≥ 1000 (2/3")


def _runs() -> pd.DataFrame:
    base = {"dataset": "mnist1d", "split_seed": 0, "status": "budget"}
    rows = [
        {**base, "key": "a", "method": "pso", "hidden": "[2]", "lam": 0.01, "seed": 0, "fun": 1.9,
         "train_accuracy": 0.3, "budget": 3 * 113.0},
        {**base, "key": "b", "method": "pso", "hidden": "[2]", "lam": 0.01, "seed": 1, "fun": 2.1,
         "train_accuracy": 0.9, "budget": 3 * 113.0},
        {**base, "key": "c", "method": "pso", "hidden": "[2]", "lam": 0.0, "seed": 0, "fun": 0.1,
         "train_accuracy": 0.45, "budget": 113.0},
        {**base, "key": "d", "method": "pso", "hidden": "[2]", "lam": 0.0, "seed": 1, "fun": 0.1,
         "train_accuracy": 0.9, "budget": 113.0, "status": "failed"},
        {**base, "key": "r0", "method": "reference", "hidden": "[2]", "lam": 0.01, "seed": 100, "fun": 1.0,
         "train_accuracy": 0.5, "budget": 50 * 113.0, "status": "converged", "cost": 900.0},
        {**base, "key": "r1", "method": "reference", "hidden": "[2]", "lam": 0.01, "seed": 101, "fun": 1.1,
         "train_accuracy": 0.5, "budget": 50 * 113.0, "status": "budget", "cost": 5650.0},
    ]
    return lr.with_size(pd.DataFrame(rows))


def test_sizes_multipliers_and_references_come_from_the_runs():
    runs = _runs()
    assert set(runs["n_params"]) == {112} and set(runs["depth"]) == {"40-h-10"}
    assert sorted(runs.loc[runs["method"] == "pso", "k"].unique()) == [1.0, 3.0]
    (ref,) = lr.references(runs).itertuples()
    assert (ref.reference_J, ref.best_seed, ref.starts, ref.converged) == (1.0, 100, 2, 1)
    assert ref.spread == pytest.approx(0.1)


def test_targets_are_j_ratios_at_positive_lam_and_training_accuracy_at_zero():
    runs = _runs()
    hits = lr.successes(runs, lr.references(runs), j_targets=[1.0], accuracy_targets=[0.4])
    assert "reference" not in set(hits["method"])
    reached = hits.set_index("key")["reached"]
    assert reached["a"] and not reached["b"]  # J 1.9 <= 2 x 1.0, J 2.1 is not
    assert reached["c"] and not reached["d"]  # accuracy 0.45 >= 0.4; a failed run reaches nothing
    assert set(hits.loc[hits["lam"] == 0, "target"]) == {"train acc >= 0.4"}


def test_settings_test_pairs_variant_and_default_on_size_and_seed():
    claim = parse_claims(load_config("dimension-ladder"))["settings"]
    rows = []
    for n_hidden in (2, 6):
        for seed in range(5):
            for method, fun in (("pso", 2.0 + 0.01 * seed), ("pso-ring", 1.5 + 0.01 * seed)):
                rows.append({"key": f"{method}{n_hidden}{seed}", "method": method, "hidden": f"[{n_hidden}]",
                             "lam": 0.01, "seed": seed, "fun": fun, "budget": 10.0 * (n_params([n_hidden]) + 1),
                             "status": "budget"})
    runs = lr.with_size(pd.DataFrame(rows))
    refs = pd.DataFrame({"hidden": ["[2]", "[6]"], "lam": [0.01, 0.01], "reference_J": [1.0, 1.0]})
    table = lr.settings_test(runs, refs, {"pso-ring": {"method": "pso"}}, lam=0.01, k=10.0, claim=claim)
    (row,) = table.itertuples()
    assert row.n == 10 and row.median_diff == pytest.approx(-0.5)
    assert row.p == pytest.approx(2 / 2**10)
    assert "changes the gap" in lr.settings_verdict(table.iloc[0], claim)
    assert lr.settings_test(runs, refs, {"pso-ring": {"method": "pso"}}, lam=0.01, k=3.0, claim=claim).empty


def test_design_budgets_references_and_variants():
    d = design(load_config("dimension-ladder"), "full")
    assert [n_params(h) for h in d.hidden] == [112, 316, 979, 118, 295, 1015]
    specs = ladder_specs(d)
    assert {s.budget / (n_params(s.hidden) + 1) for s in specs} == set(d.multipliers)
    assert not any(s.method == "nelder-mead" and n_params(s.hidden) > 400 for s in specs)
    refs = reference_specs(d)
    assert {s.seed for s in refs}.isdisjoint({s.seed for s in specs}) and all(s.lam > 0 for s in refs)
    opts = variant_options(d, (19,))
    assert opts["de-5n"]["population"] == 400 and opts["cma-es-4x"]["popsize"] == 4 * (4 + int(3 * np.log(979)))
    assert variant_options(d, (1,))["de-5n"]["population"] == 10 * 62 // 4  # a quarter of the budget binds
    assert {s.method for s in sensitivity_specs(d)} == set(d.sensitivity["variants"])


def test_sensitivity_sizes_must_be_on_the_ladder():
    config = load_config("dimension-ladder")
    config["sensitivity"]["hidden"] = [[7]]
    with pytest.raises(ValueError, match="on the ladder"):
        design(config, "full")
    with pytest.raises(ValueError, match="profile"):
        design(load_config("dimension-ladder"), "huge")


def test_gpu_profile_is_refused_in_one_line_without_a_device(tmp_path):
    with pytest.raises(DeviceUnavailable):
        check_profile("gpu")
    check_profile("quick")
    out = tmp_path / "report"
    script = Path(__file__).parent.parent / "experiments" / "dimension_ladder.py"
    proc = subprocess.run([sys.executable, str(script), "--gpu", "--out", str(out)], capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "gpu" in proc.stderr
    assert not out.exists()

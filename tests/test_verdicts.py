"""The report's verdicts on hand-made run tables: claims read from each experiment's config, l2-path's
intersection-union shrink test and Page trend, l2-meanings' identical-to-rounding pairs, equal-budget's
leader chosen on other seeds than it is tested on, and the wording rules (no "no difference")."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from swarmreg.claims import parse_claims
from swarmreg.experiments import equal_budget, l2_meanings, l2_path
from swarmreg.experiments.common import load_config


@pytest.mark.parametrize("name, ids", [("l2-path", {"shrink", "trend", "bias-norm", "bias-accuracy"}),
                                       ("l2-meanings", {"same-function", "j-differs"}),
                                       ("equal-budget", {"leader"})])
def test_each_redesigned_experiment_states_its_claims(name, ids):
    claims = parse_claims(load_config(name), name)
    assert set(claims) == ids
    assert all("no difference" not in c.describe() for c in claims.values())


def path_runs(shrink: float, seeds: int = 8) -> pd.DataFrame:
    """Two methods on one data set, weight norm 10 at lam = 0 times shrink^k at the k-th lam."""
    rng = np.random.default_rng(0)
    rows = [{"dataset": "d", "method": m, "lam": lam, "seed": s, "split_seed": s, "status": "budget",
             "weight_norm": 10 * shrink ** k * (1 + 0.01 * rng.normal()), "spec": json.dumps({})}
            for m in ("a", "b") for k, lam in enumerate([0.0, 0.01, 0.1, 1.0]) for s in range(seeds)]
    return pd.DataFrame(rows)


def test_shrink_is_intersection_union_of_two_sided_tests_and_the_trend_is_pages():
    claims = parse_claims(load_config("l2-path"))
    tests = l2_path.shrink_tests(path_runs(0.5), claims["shrink"])
    assert len(tests) == 2 * 3 and tests["shrinks"].all()
    assert np.allclose(tests["p"], 2 / 2**8)  # two-sided exact signed-rank, uncorrected: each at alpha
    grow = l2_path.shrink_tests(path_runs(2.0), claims["shrink"])
    assert not grow["shrinks"].any()  # significant, but the wrong way: not a shrink
    trend = l2_path.trend_tests(path_runs(0.5), claims["trend"])
    assert (trend["p_holm"] < 0.05).all() and (trend["lams"] == 4).all()
    flat = l2_path.trend_tests(path_runs(2.0), claims["trend"])
    assert (flat["p"] > 0.5).all()  # a rising norm is no falling trend


def test_the_floor_note_uses_the_familys_real_floor():
    claims = parse_claims(load_config("l2-path"))
    assert "no test of this family can pass" in l2_path.floor_note(claims["shrink"], 4, 36)  # 2/2^4 = 0.125
    assert "below alpha" in l2_path.floor_note(claims["shrink"], 6, 36)  # 0.031 each at alpha: passable
    assert "no test of this family can pass" in l2_path.floor_note(claims["bias-norm"], 6, 12)  # Holm: 12 x 0.031


def test_l2_meanings_reports_rounding_level_pairs_as_identical_and_does_not_test_them():
    claims = parse_claims(load_config("l2-meanings"))
    runs = pd.DataFrame([{"key": f"{m}{s}", "method": m, "seed": s, "fun": 0.5 + 0.1 * s + (m == "c") * 0.01
                          + (m == "b") * 1e-16} for m in ("a", "b", "c") for s in range(6)])
    rng = np.random.default_rng(1)
    logits = {k: rng.normal(size=(20, 3)) for k in runs["key"]}
    weights = {k: rng.normal(size=5) for k in runs["key"]}
    for s in range(6):  # b computes what a computes
        logits[f"b{s}"], weights[f"b{s}"] = logits[f"a{s}"], weights[f"a{s}"]
    pairs = l2_meanings.pair_rows(runs, logits, weights, [["b", "a"], ["c", "a"]], 1e-12,
                                  claims["same-function"], claims["j-differs"])
    ba, ca = pairs.iloc[0], pairs.iloc[1]
    assert ba["J_identical"] and np.isnan(ba["p_J"]) and ba["agreement"] == 1
    assert ba["p_same_function_holm"] < 0.05
    assert not ca["J_identical"] and ca["p_J"] == pytest.approx(2 / 2**6)
    sentence = l2_meanings._pair_sentence(next(pairs.itertuples()), claims["same-function"], claims["j-differs"])
    assert "identical to rounding on every seed (not tested)" in sentence and "no difference" not in sentence


def test_equal_budget_tests_the_leader_only_on_seeds_that_did_not_choose_it():
    claims = parse_claims(load_config("equal-budget"))
    # on seeds 0-3 'lucky' looks best; on seeds 4-13 'steady' is best and 'lucky' worst
    rows = [{"dataset": "d", "lam": 0.01, "method": m, "seed": s, "status": "budget",
             "fun": {"steady": 1.0 + 0.001 * s, "lucky": 0.5 if s < 4 else 3.0 + 0.001 * s,
                     "other": 2.0 + 0.001 * s}[m]} for m in ("steady", "lucky", "other") for s in range(14)]
    tests = equal_budget.leaders_and_tests(pd.DataFrame(rows), 4, claims["leader"])
    assert set(tests["leader"]) == {"lucky"} and (tests["n"] == 10).all()
    assert not tests["lower"].any()  # tested on fresh seeds, the lucky pick is worse

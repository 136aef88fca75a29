"""swarmreg.stats against independent references: scipy.stats' own tests, Holm and aRT worked by hand,
profiles of a tiny hand-made table, Demšar's tabulated critical values, and the coverage of the
bootstrap interval on seeded simulated data with a known median."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from swarmreg import stats


def runs(rows: list[dict]) -> pd.DataFrame:
    """A results table like load_results' from (method, seed, value) rows; one problem unless said."""
    base = {"dataset": "toy", "hidden": "[2]", "lam": 0.0, "split_seed": 0, "status": "budget"}
    df = pd.DataFrame([{**base, **r} for r in rows])
    df["key"] = [f"k{i}" for i in range(len(df))]
    return df


def test_paired_p_value_is_scipys_wilcoxon():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 12), rng.normal(0.8, 1, 12)
    df = runs([{"method": "a", "seed": s, "fun": v} for s, v in enumerate(a)]
              + [{"method": "b", "seed": s, "fun": v} for s, v in enumerate(b)])
    row = stats.pairwise(df, "fun").iloc[0]
    assert row["test"] == "wilcoxon" and row["n"] == 12
    assert row["p"] == st.wilcoxon(a, b).pvalue
    assert row["median_diff"] == np.median(a - b)


def test_unpaired_p_value_is_scipys_mann_whitney_when_seeds_differ():
    rng = np.random.default_rng(2)
    a, b = rng.normal(0, 1, 7), rng.normal(1, 1, 9)
    df = runs([{"method": "a", "seed": s, "fun": v} for s, v in enumerate(a)]
              + [{"method": "b", "seed": 100 + s, "fun": v} for s, v in enumerate(b)])
    row = stats.pairwise(df, "fun").iloc[0]
    assert row["test"] == "mann-whitney" and row["n"] == 16
    assert row["p"] == st.mannwhitneyu(a, b, alternative="two-sided").pvalue
    assert row["a12"] == pytest.approx(st.mannwhitneyu(a, b).statistic / (7 * 9))


def test_a12_by_hand():
    # a=1: > none, = one (1);  a=3: > two (1, 2), = one (3)  ->  (2 + 0.5 * 2) / 6
    assert stats.vargha_delaney_a12([1, 3], [1, 2, 3]) == pytest.approx(3 / 6)
    assert stats.vargha_delaney_a12([5, 6], [1, 2]) == 1.0


def test_holm_by_hand():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: 0.005 * 4 = 0.02; 0.01 * 3 = 0.03; 0.03 * 2 = 0.06; 0.04 * 1 = 0.04 -> raised to 0.06
    np.testing.assert_allclose(stats.holm(p), [0.03, 0.06, 0.06, 0.02])
    # NaN is left out of the family: m = 2; 0.2 * 2 = 0.4, 0.3 * 1 raised to 0.4; 0.7 * 2 capped at 1
    np.testing.assert_allclose(stats.holm([0.2, np.nan, 0.3]), [0.4, np.nan, 0.4])
    np.testing.assert_allclose(stats.holm([0.7, 0.9]), [1.0, 1.0])


def test_pairwise_corrects_over_the_whole_table_and_verdicts_follow_the_direction():
    rows = []
    for lam in (0.0, 0.1):
        rows += [{"method": "fast", "lam": lam, "seed": s, "fun": 1.0 + 0.01 * s, "test_accuracy": 0.9}
                 for s in range(10)]
        rows += [{"method": "slow", "lam": lam, "seed": s, "fun": 2.0 + 0.01 * s, "test_accuracy": 0.8}
                 for s in range(10)]
    table = stats.pairwise(runs(rows), "fun")
    assert len(table) == 2
    np.testing.assert_allclose(table["p_holm"], stats.holm(table["p"]))
    assert (table["p"] < table["p_holm"]).all()
    per_problem = stats.pairwise(runs(rows), "fun", family="problem")
    np.testing.assert_array_equal(per_problem["p_holm"], per_problem["p"])  # one comparison per problem
    assert (table["verdict"] == "fast < slow").all() and (table["better"] == "fast").all()
    acc = stats.pairwise(runs(rows), "test_accuracy")  # higher is better: same winner, other sign
    assert (acc["verdict"] == "fast > slow").all() and (acc["better"] == "fast").all()
    norms = stats.pairwise(runs(rows).assign(weight_norm=lambda d: d["fun"]), "weight_norm")
    assert (norms["better"] == "").all()  # a norm has no better side
    same = stats.pairwise(runs(rows).assign(fun=1.0), "fun")
    assert not same["verdict"].str.contains("no difference").any() and (same["p"] == 1).all()
    assert same["verdict"].str.startswith("not significant (n = 10;").all()


@pytest.mark.parametrize("test, n_a, n_b, expected", [
    ("wilcoxon", 2, None, 0.5), ("wilcoxon", 5, None, 1 / 16), ("wilcoxon", 0, None, 1.0),
    ("mann-whitney", 2, 2, 2 / 6), ("mann-whitney", 3, 4, 2 / 35)])
def test_smallest_p_is_what_scipy_gives_on_fully_separated_samples(test, n_a, n_b, expected):
    assert stats.smallest_p(test, n_a, n_b) == pytest.approx(expected)
    if n_a and test == "wilcoxon":
        assert st.wilcoxon(np.arange(1.0, n_a + 1)).pvalue == pytest.approx(expected)
    elif n_a:
        assert st.mannwhitneyu(np.arange(n_a), np.arange(n_a, n_a + n_b)).pvalue == pytest.approx(expected)


def test_two_seeds_read_not_significant_with_the_smallest_p_and_warn():
    df = runs([{"method": m, "seed": s, "fun": float(s) + (m == "b")} for m in ("a", "b") for s in range(2)])
    with pytest.warns(stats.UnattainableAlpha, match="smallest p these tests can give is 0.5 .n = 2."):
        table = stats.pairwise(df, "fun")
    assert table["verdict"].tolist() == ["not significant (n = 2; the smallest p this test can give is 0.5)"]
    assert table["min_p"].tolist() == [0.5]


def test_no_warning_when_a_p_could_pass(recwarn):
    df = runs([{"method": m, "seed": s, "fun": float(s) + (m == "b")} for m in ("a", "b") for s in range(6)])
    stats.pairwise(df, "fun")  # 2 / 2^6 = 0.031 < 0.05: the test can reject
    assert not [w for w in recwarn if w.category is stats.UnattainableAlpha]


def test_pairwise_refuses_bad_arguments():
    df = runs([{"method": m, "seed": s, "fun": float(s)} for m in ("a", "b") for s in range(3)])
    with pytest.raises(ValueError, match="'nope'"):
        stats.pairwise(df, "nope")
    with pytest.raises(ValueError, match="by='solver'"):
        stats.pairwise(df, "fun", by="solver")
    with pytest.raises(ValueError, match="one method"):
        stats.pairwise(df[df["method"] == "a"], "fun")


def trace(points: list[tuple[float, float]]) -> dict[str, np.ndarray]:
    cost, fun = zip(*points)
    return {"cost": np.array(cost, dtype=float), "fun": np.array(fun, dtype=float)}


@pytest.mark.parametrize("confidence", [0.8, 0.95])
def test_ert_interval_is_a_percentile_bootstrap_of_the_runs_at_its_confidence(confidence):
    """The aRT interval against a percentile bootstrap written out: resample whole runs (the same
    Generator draws), aRT of each resample, its (1 -+ confidence) / 2 quantiles."""
    rng = np.random.default_rng(5)
    n = 30
    spent = rng.uniform(100, 1000, n).round()
    success = rng.random(n) < 0.7
    df = pd.DataFrame({"key": [f"r{i}" for i in range(n)], "method": "m", "dataset": "d", "hidden": "[4]",
                       "lam": 0.0, "seed": range(n), "split_seed": 0, "status": "budget", "fun": 1.0,
                       "cost": np.where(success, 1000.0, spent)})
    traces = {f"r{i}": {"cost": np.array([spent[i], 1000.0]), "fun": np.array([0.5, 0.5] if success[i] else [2, 2])}
              for i in range(n)}
    other = df.assign(method="n", key=[f"s{i}" for i in range(n)])  # a second method: ert compares
    traces |= {f"s{i}": traces[f"r{i}"] for i in range(n)}
    table = stats.ert(pd.concat([df, other]), traces, target=1.0, confidence=confidence, n_resamples=5000, seed=7)
    row = table.set_index("method").loc["m"]
    runs_spent = spent  # successes: the cost of the first hit; failures: their whole cost
    idx = np.random.default_rng(7).integers(0, n, (5000, n))
    resampled = runs_spent[idx].sum(axis=1) / success[idx].sum(axis=1)
    low, high = np.percentile(resampled, [50 * (1 - confidence), 50 * (1 + confidence)])
    assert row["ert"] == runs_spent.sum() / success.sum()
    assert row["ert_low"] == pytest.approx(low, rel=1e-12) and row["ert_high"] == pytest.approx(high, rel=1e-12)


def test_ert_by_hand_with_failures():
    df = runs([{"method": "m", "seed": s, "cost": c, "fun": f}
               for s, (c, f) in enumerate([(100.0, 0.5), (100.0, 1.0), (100.0, 2.0), (80.0, 3.0)])])
    traces = {"k0": trace([(10, 5.0), (30, 0.9), (100, 0.5)]),     # reaches 1.0 at cost 30
              "k1": trace([(10, 5.0), (50, 1.0), (100, 1.0)]),     # at 50 (at most the target counts)
              "k2": trace([(10, 5.0), (100, 2.0)]),                # never: its whole budget, 100
              "k3": trace([(10, 5.0), (80, 3.0)])}                 # never, stopped at 80: counts 80
    df = pd.concat([df, df.assign(method="n", key=lambda d: "n" + d["key"], fun=0.1)], ignore_index=True)
    traces.update({"n" + k: trace([(20, 0.1)]) for k in list(traces)})   # n: every run at cost 20
    table = stats.ert(df, traces, target=1.0, n_resamples=500).set_index("method")
    assert table.loc["m", "successes"] == 2 and table.loc["m", "runs"] == 4
    assert table.loc["m", "ert"] == (30 + 50 + 100 + 80) / 2
    assert table.loc["m", "ert_low"] <= table.loc["m", "ert"] <= table.loc["m", "ert_high"]
    assert table.loc["m", "ert_high"] == math.inf  # some resamples hold no success
    assert (table.loc["n", "ert"], table.loc["n", "ert_low"], table.loc["n", "ert_high"]) == (20, 20, 20)
    # relative: (1 + 1) * the lowest returned J on the problem (0.1) = 0.2: m never gets there
    rel = stats.ert(df, traces, target=1.0, relative=True).set_index("method")
    assert rel.loc["m", "ert"] == math.inf and rel.loc["n", "ert"] == 20


def profile_case() -> tuple[pd.DataFrame, dict]:
    """Two instances (seeds 0 and 1), two solvers; f(x0) = 10 (first records), f_L = 0.
    tau = 0.1: solved when the best J <= 0 + 0.1 * 10 = 1. A solves seed 0 at 20 and never seed 1;
    B solves seed 0 at 40 and seed 1 at 10."""
    df = runs([{"method": "A", "seed": 0}, {"method": "A", "seed": 1},
               {"method": "B", "seed": 0}, {"method": "B", "seed": 1}])
    traces = {"k0": trace([(1, 10.0), (20, 0.5), (30, 0.0)]),
              "k1": trace([(1, 10.0), (50, 2.0)]),
              "k2": trace([(5, 8.0), (40, 1.0)]),
              "k3": trace([(5, 9.0), (10, 0.0)])}
    return df, traces


def test_performance_profile_of_a_hand_made_table():
    df, traces = profile_case()
    # ratios: A [20/20 = 1, inf]; B [40/20 = 2, 10/10 = 1]
    prof = stats.performance_profile(df, traces, tau=0.1)
    got = {m: list(zip(g["ratio"], g["fraction"])) for m, g in prof.groupby("method")}
    assert got == {"A": [(1.0, 0.5)], "B": [(1.0, 0.5), (2.0, 1.0)]}


def test_data_profile_of_a_hand_made_table():
    df, traces = profile_case()
    # n_params = 9: costs in units of 10 evaluations: A [2, inf]; B [4, 1]
    prof = stats.data_profile(df, traces, n_params=9, tau=0.1)
    got = {m: list(zip(g["budget_units"], g["fraction"])) for m, g in prof.groupby("method")}
    assert got == {"A": [(2.0, 0.5)], "B": [(1.0, 0.5), (4.0, 1.0)]}
    costs = stats.convergence_costs(df, traces, tau=0.1, f0={"k0": 20, "k1": 20, "k2": 20, "k3": 20})
    # with f(x0) = 20 the threshold is 2: A's seed 1 reaches it at 50
    assert costs.set_index(["method", "seed"])["cost"].to_dict() == {("A", 0): 20, ("A", 1): 50, ("B", 0): 40,
                                                                     ("B", 1): 10}


def test_runtime_ecdf_pools_instances_and_targets():
    df, traces = profile_case()
    # tau 0.1 (threshold 1): A 20, inf; B 40, 10.  tau 0.01 (threshold 0.1): A 30, inf; B inf, 10.
    ecdf = stats.runtime_ecdf(df, traces, taus=(0.1, 0.01))
    got = {m: list(zip(g["cost"], g["fraction"])) for m, g in ecdf.groupby("method")}
    assert got == {"A": [(20.0, 0.25), (30.0, 0.5)], "B": [(10.0, 0.5), (40.0, 0.75)]}


def test_bootstrap_interval_covers_the_mean_95_percent_of_the_time():
    """4,000 samples of 200 normal numbers (drawn at once): the share of 95% intervals holding the
    true mean is 0.943 here; an interval at 0.93 covers 0.922 and fails. The binomial sd of the share
    is 0.0037, so the band [0.935, 0.965] tells 0.95 from 0.93 (and from 0.97)."""
    samples = np.random.default_rng(2024).normal(size=(4000, 200))
    covered = [low <= 0.0 <= high for low, high in
               (stats.bootstrap_ci(x, "mean", n_resamples=400, seed=i) for i, x in enumerate(samples))]
    assert 0.935 <= np.mean(covered) <= 0.965


def test_bootstrap_interval_names_its_method_and_refuses_bad_input():
    ci = stats.bootstrap_ci(np.arange(20.0), n_resamples=1000)
    assert ci.method.startswith("BCa") and ci.low < 9.5 < ci.high
    assert stats.bootstrap_ci([3.0, 3.0, 3.0]) == (3.0, 3.0)
    fallback = stats.bootstrap_ci([1.0, 1.0, 1.0, 2.0], n_resamples=500)  # jackknife medians all equal
    assert fallback.method.startswith("percentile")
    for bad, match in (([1.0], "at least 2"), ([1.0, np.nan], "finite"), ([[1.0, 2.0]], "one-dimensional")):
        with pytest.raises(ValueError, match=match):
            stats.bootstrap_ci(bad)
    with pytest.raises(ValueError, match="statistic"):
        stats.bootstrap_ci([1.0, 2.0], statistic="mode")


def test_rank_summary_against_scipy_and_demsars_critical_value():
    scores = {"A": [1.0, 2.0, 1.5, 1.2], "B": [2.0, 2.5, 2.2, 3.0], "C": [3.0, 2.4, 4.0, 3.5]}
    rows = [{"method": m, "lam": lam, "seed": s, "fun": v + 0.01 * s}
            for m, vals in scores.items() for lam, v in zip((0.1, 0.2, 0.3, 0.4), vals) for s in range(3)]
    summary = stats.rank_summary(runs(rows), "fun")
    medians = [np.array(v) + 0.01 for v in scores.values()]
    assert summary.statistic == pytest.approx(st.friedmanchisquare(*medians).statistic)
    assert summary.p == pytest.approx(st.friedmanchisquare(*medians).pvalue)
    assert summary.mean_ranks.to_dict() == {"A": 1.0, "B": 2.25, "C": 2.75}
    # Demšar (2006), Table 5(a): q_0.05 = 2.343 for k = 3; CD = q sqrt(k(k+1) / (6N)), N = 4
    assert summary.cd == pytest.approx(2.343 * math.sqrt(3 * 4 / (6 * 4)), abs=1e-3)
    assert summary.nemenyi.loc["A", "C"] < summary.nemenyi.loc["A", "B"]
    acc = stats.rank_summary(runs(rows).assign(test_accuracy=lambda d: d["fun"]), "test_accuracy")
    assert acc.mean_ranks.index[0] == "C"  # higher is better for accuracies
    with pytest.raises(ValueError, match="3 method"):
        stats.rank_summary(runs([r for r in rows if r["method"] != "C"]), "fun")


def test_ci_summary_cells_are_bootstrap_intervals_of_the_median():
    df = runs([{"method": "a", "seed": s, "fun": float(v)} for s, v in enumerate([3, 1, 4, 1, 5, 9, 2, 6])])
    row = stats.ci_summary(df, ["fun"], n_resamples=500).iloc[0]
    assert row["fun_median"] == 3.5 and row["runs"] == 8
    assert (row["fun_low"], row["fun_high"]) == stats.bootstrap_ci(df["fun"], n_resamples=500)
    assert row["fun_interval"] == "BCa" and row["fun_n"] == 8


def test_ci_summary_gives_no_interval_below_min_n_but_the_range_and_n():
    df = runs([{"method": "a", "seed": s, "fun": float(v)} for s, v in enumerate([3, 1, 4, 1, 5, 9, 2])])
    row = stats.ci_summary(df, ["fun"], n_resamples=500).iloc[0]  # 7 values: below the default 8
    assert np.isnan(row["fun_low"]) and np.isnan(row["fun_high"]) and row["fun_interval"] == "range"
    assert (row["fun_min"], row["fun_max"], row["fun_n"]) == (1.0, 9.0, 7)
    row = stats.ci_summary(df, ["fun"], n_resamples=500, min_n=7).iloc[0]
    assert row["fun_interval"] in ("BCa", "percentile") and row["fun_low"] <= 3 <= row["fun_high"]
    with pytest.raises(ValueError, match="min_n must be an integer of at least 2, got 1"):
        stats.ci_summary(df, ["fun"], min_n=1)

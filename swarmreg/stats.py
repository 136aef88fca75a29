"""Is the difference real? Intervals, paired tests, expected running time, profiles and ranks.

Pure functions over the DataFrame of :func:`swarmreg.load_results` (and the traces of
:func:`swarmreg.load_traces`), with scipy.stats underneath and every resampling seeded. Runs stored as
``failed`` and missing metric values are left out. A *problem* is one value of the ``within`` columns
(by default every design column of dataset, hidden, method and lam except ``by``); the runs of one
problem differ by ``seed`` and ``split_seed``, and two compared sides are *paired* when they hold the
same (seed, split_seed) pairs, one run each: then both start from the same weights on the same split.

References: Efron, "Better bootstrap confidence intervals", JASA 1987 (BCa); Wilcoxon 1945; Mann &
Whitney 1947; Holm, Scand. J. Statistics 1979; Vargha & Delaney, J. Educ. Behav. Stat. 2000 (A12);
Hansen et al., "COCO: performance assessment", arXiv:1605.03560 (aRT, runtime ECDFs); Dolan & Moré,
Math. Programming 2002 (performance profiles); Moré & Wild, SIAM J. Optim. 2009 (data profiles);
Friedman 1937 and Demšar, JMLR 2006 (ranks, Nemenyi's critical difference).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats as st

DESIGN = ("dataset", "hidden", "method", "lam")
"""Columns that define a problem and a solver; the defaults of ``within`` are these minus ``by``."""
PAIR_ON = ("seed", "split_seed")
"""Columns on which two sides of a comparison are paired."""
HIGHER_IS_BETTER = ("train_accuracy", "test_accuracy", "val_accuracy")
LOWER_IS_BETTER = ("fun", "error", "penalty", "cost", "n_evals", "n_grads", "wall_time", "train_mse", "test_mse",
                   "val_mse")


def better_direction(metric: str) -> int:
    """-1 when lower is better (J, errors, costs), +1 for accuracies, 0 for metrics with no better side
    (weight and bias norms)."""
    return 1 if metric in HIGHER_IS_BETTER else -1 if metric in LOWER_IS_BETTER else 0


class Interval(tuple):
    """``(low, high)`` of a confidence interval, with ``.method`` saying how it was computed."""

    method: str

    def __new__(cls, low: float, high: float, method: str) -> Interval:
        self = super().__new__(cls, (float(low), float(high)))
        self.method = method
        return self

    @property
    def low(self) -> float:
        return self[0]

    @property
    def high(self) -> float:
        return self[1]

    @property
    def kind(self) -> str:
        """"BCa", "percentile" or "equal" (all values alike): the first word of ``method``."""
        word = self.method.split(" ", 1)[0].rstrip(",:")
        return "equal" if word == "degenerate" else word


_STATISTICS: dict[str, Callable[..., np.ndarray]] = {"median": np.median, "mean": np.mean}


def bootstrap_ci(values: Sequence[float] | np.ndarray, statistic: str | Callable[..., np.ndarray] = "median",
                 confidence: float = 0.95, n_resamples: int = 10_000, seed: int = 0) -> Interval:
    """Bootstrap confidence interval of ``statistic`` over ``values`` (``scipy.stats.bootstrap``).

    BCa (Efron 1987): the percentile interval's ends moved by the bias correction
    ``z0 = Phi^-1(share of resampled statistics below the observed one)`` and the acceleration ``a``
    (from the jackknife): ``alpha' = Phi(z0 + (z0 + z_alpha) / (1 - a (z0 + z_alpha)))``. Where BCa is
    undefined (a jackknife with no spread, as for the median of few or tied values) it falls back to
    the percentile interval, and ``.method`` says so. All values equal: the interval is that value.
    ``statistic`` is "median", "mean" or a function ``f(x, axis)``.
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"values must be one-dimensional, got shape {x.shape}")
    if len(x) < 2:
        raise ValueError(f"values must hold at least 2 numbers for a bootstrap interval, got {len(x)}")
    if not np.isfinite(x).all():
        raise ValueError("values must be finite numbers (drop NaN and inf first)")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if not isinstance(n_resamples, int | np.integer) or n_resamples < 2:
        raise ValueError(f"n_resamples must be an integer of at least 2, got {n_resamples!r}")
    if isinstance(statistic, str):
        if statistic not in _STATISTICS:
            raise ValueError(f"statistic must be one of {sorted(_STATISTICS)} or a function, got {statistic!r}")
        statistic = _STATISTICS[statistic]
    if np.all(x == x[0]):
        value = float(statistic(x, axis=-1))
        return Interval(value, value, "degenerate: all values equal")
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ci = st.bootstrap((x,), statistic, n_resamples=int(n_resamples), confidence_level=confidence,
                              method=method, rng=np.random.default_rng(seed)).confidence_interval
        if np.isfinite(ci.low) and np.isfinite(ci.high):
            name = "BCa" if method == "BCa" else "percentile (BCa undefined for these values)"
            return Interval(ci.low, ci.high, f"{name}, {n_resamples} resamples")
    raise ValueError("no bootstrap interval could be computed for these values")


def vargha_delaney_a12(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """A12 = P(A > B) + 0.5 P(A = B) over all pairs of one value of each side (Vargha & Delaney 2000):
    0.5 is no effect, 1 is A always larger. It equals Mann-Whitney's ``U_A / (n_A n_B)``."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if not len(a) or not len(b):
        raise ValueError("A12 needs at least one value on each side")
    greater = (a[:, None] > b[None, :]).sum()
    ties = (a[:, None] == b[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(a) * len(b)))


def two_sample_test(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
                    paired: bool) -> dict[str, float | str]:
    """Two-sided test of ``a`` against ``b``.

    Paired: Wilcoxon signed-rank on ``d_i = a_i - b_i`` (zero differences dropped, scipy's default),
    ``median_diff = median(d)``, ``sign`` that of ``W+ - W-`` (sum of the ranks of |d| over the positive
    against the negative differences). Unpaired: Mann-Whitney U, ``median_diff = median(a) - median(b)``,
    ``sign`` that of ``A12 - 0.5``. The p-value is scipy's own (exact for small samples without ties);
    ``min_p`` is the smallest p the test could give on these sample sizes (:func:`smallest_p`).
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if paired and len(a) != len(b):
        raise ValueError(f"paired samples must have equal lengths, got {len(a)} and {len(b)}")
    a12 = vargha_delaney_a12(a, b)
    # all-zero differences or all-tied samples: scipy warns and gives p = 1; inf - inf (two runs that never
    # reached a target) is a NaN difference
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        if paired:
            d = a - b
            p = st.wilcoxon(a, b).pvalue if np.any(d != 0) else 1.0
            nz = d[d != 0]
            ranks = st.rankdata(np.abs(nz))
            sign = np.sign(ranks[nz > 0].sum() - ranks[nz < 0].sum())
            return {"test": "wilcoxon", "n": len(a), "median_diff": float(np.median(d)), "p": float(p),
                    "min_p": smallest_p("wilcoxon", len(a)), "a12": a12, "sign": float(sign)}
        p = st.mannwhitneyu(a, b, alternative="two-sided").pvalue
        median_diff = float(np.median(a) - np.median(b))
    return {"test": "mann-whitney", "n": len(a) + len(b), "median_diff": median_diff,
            "p": float(p), "min_p": smallest_p("mann-whitney", len(a), len(b)), "a12": a12,
            "sign": float(np.sign(a12 - 0.5))}


def smallest_p(test: str, n_a: int, n_b: int | None = None) -> float:
    """The smallest two-sided p a rank test can give, whatever the data: Wilcoxon signed-rank on n_a
    nonzero differences ``2 / 2^n_a`` (all signs alike); Mann-Whitney U on samples of n_a and n_b
    ``2 / C(n_a + n_b, n_a)`` (the two samples fully separated). 1 when there is nothing to test."""
    if test == "wilcoxon":
        return min(1.0, 2.0 * 0.5 ** n_a) if n_a else 1.0
    if test == "mann-whitney":
        return min(1.0, 2.0 / math.comb(n_a + n_b, n_a)) if n_a and n_b else 1.0
    raise ValueError(f"test must be 'wilcoxon' or 'mann-whitney', got {test!r}")


class UnattainableAlpha(UserWarning):
    """No p of a family can fall below alpha: too few seeds for the test and its correction."""


def not_significant(n: int, min_p: float) -> str:
    """How a test that does not reject reads: never "no difference"."""
    return f"not significant (n = {n}; the smallest p this test can give is {min_p:.2g})"


def tost_paired(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, margin: float) -> float:
    """Two one-sided tests of equivalence (Schuirmann 1987) on paired ``a - b``, by statsmodels'
    ``ttost_paired``: p = max(p of mean(d) > -margin, p of mean(d) < margin); below alpha the two are
    "the same" within ``margin``. Differences with no spread: 0 when inside the margin, 1 otherwise."""
    from statsmodels.stats.weightstats import ttost_paired
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) != len(b) or len(a) < 2:
        raise ValueError(f"tost_paired needs two paired samples of at least 2 values, got {len(a)} and {len(b)}")
    if not margin > 0:
        raise ValueError(f"margin must be positive, got {margin!r}")
    d = a - b
    if np.all(d == d[0]):
        return 0.0 if abs(d[0]) < margin else 1.0
    return float(ttost_paired(a, b, -margin, margin)[0])


def holm(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down correction (Holm 1979), via statsmodels: sort the m p-values ascending,
    ``p_holm(i) = max_{j <= i} min(1, (m - j + 1) p(j))``; NaN stays NaN and is not in the family."""
    from statsmodels.stats.multitest import multipletests
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return out


def _ok(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["status"] != "failed"] if "status" in df.columns else df


def _within(df: pd.DataFrame, by: str, within: Sequence[str] | None) -> list[str]:
    if by not in df.columns:
        raise ValueError(f"unknown column by={by!r}; columns: {', '.join(df.columns)}")
    if within is None:
        return [c for c in DESIGN if c != by and c in df.columns]
    if isinstance(within, str):
        within = (within,)
    for c in within:
        if c not in df.columns:
            raise ValueError(f"unknown column in within: {c!r}; columns: {', '.join(df.columns)}")
        if c == by:
            raise ValueError(f"within must not hold the by column {by!r}")
    return list(within)


def _check_metric(df: pd.DataFrame, metric: str) -> None:
    if metric not in df.columns:
        raise ValueError(f"unknown metric {metric!r}; columns: {', '.join(df.columns)}")
    if not pd.api.types.is_numeric_dtype(df[metric]) or not df[metric].notna().any():
        raise ValueError(f"metric {metric!r} has no numeric values in these runs")


def _check_sides(df: pd.DataFrame, by: str) -> None:
    if df[by].nunique() < 2:
        values = ", ".join(map(str, df[by].unique())) or "none"
        raise ValueError(f"nothing to compare: the runs hold one {by} ({values}); a comparison needs two")


def _pair_keys(by: str, within: Sequence[str]) -> list[str]:
    return list(PAIR_ON) + [c for c in DESIGN if c != by and c not in within]


def pairwise(df: pd.DataFrame, metric: str, by: str = "method", within: Sequence[str] | None = None,
             alpha: float = 0.05, family: str = "all") -> pd.DataFrame:
    """One row per pair (a, b) of ``by`` values in each problem (a ``within`` group).

    Columns: the ``within`` values, ``a``, ``b``, ``test`` ("wilcoxon" when the two sides are paired on
    seed and split, "mann-whitney" otherwise; see :func:`two_sample_test`), ``n`` (pairs, or runs of
    both sides), ``median_diff`` (of ``a - b``), ``p``, ``min_p`` (the smallest p the test can give at
    this n, :func:`smallest_p`), ``p_holm`` (Holm over the family: with ``family="all"`` every row of
    the table, with ``family="problem"`` the rows of one problem), ``a12`` (Vargha-Delaney, of a over
    b), ``verdict`` ("a < b", "a > b" with the names, or "not significant (n = ..; the smallest p this
    test can give is ..)", never "no difference") and ``better`` (the better side
    when the difference is significant and the metric has a better direction: lower for J, errors and
    costs, higher for accuracies; see :func:`better_direction`).

    Warns :class:`UnattainableAlpha` when no row could pass: Holm rejects nothing unless the smallest p
    of a family, times the family's size m, is below alpha, so when ``m * min_p >= alpha`` for every
    row of every family, no data could give a significant row.
    """
    _check_metric(df, metric)
    within = _within(df, by, within)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if family not in ("all", "problem"):
        raise ValueError(f"family must be 'all' or 'problem', got {family!r}")
    ok = _ok(df).dropna(subset=[metric])
    _check_sides(ok, by)
    keys = _pair_keys(by, within)
    direction = better_direction(metric)
    rows = []
    for group, part in ok.groupby(within, sort=True) if within else [((), ok)]:
        group = group if isinstance(group, tuple) else (group,)
        sides = {v: g.set_index(keys)[metric].sort_index() for v, g in part.groupby(by, sort=True)}
        for a, b in combinations(sorted(sides), 2):
            sa, sb = sides[a], sides[b]
            paired = sa.index.is_unique and sb.index.is_unique and sa.index.equals(sb.index)
            res = two_sample_test(sa.to_numpy(), sb.to_numpy(), paired)
            rows.append({**dict(zip(within, group)), "a": a, "b": b, **res})
    table = pd.DataFrame(rows)
    if table.empty:
        raise ValueError(f"no two {by} values share a problem ({', '.join(within)}): nothing to compare")
    if family == "all" or not within:
        table["p_holm"] = holm(table["p"])
        size = np.full(len(table), len(table))
    else:
        table["p_holm"] = table.groupby(within, sort=False)["p"].transform(holm)
        size = table.groupby(within, sort=False)["p"].transform("size").to_numpy()
    if np.all(size * table["min_p"].to_numpy() >= alpha):
        worst = table.loc[table["min_p"].idxmin()]
        warnings.warn(f"no comparison can be significant at {alpha:g}: the smallest p these tests can give is "
                      f"{worst['min_p']:.2g} (n = {worst['n']}), times {int(size.max())} comparison(s) under "
                      f"Holm's correction; more seeds are needed", UnattainableAlpha, stacklevel=2)
    significant = table["p_holm"] < alpha
    lower = table["sign"] < 0
    quiet = [not_significant(n, q) for n, q in zip(table["n"], table["min_p"])]
    table["verdict"] = np.where(~significant, quiet,
                                np.where(lower, table["a"].astype(str) + " < " + table["b"].astype(str),
                                         table["a"].astype(str) + " > " + table["b"].astype(str)))
    wins_a = lower if direction < 0 else ~lower
    table["better"] = np.where(significant & (direction != 0), np.where(wins_a, table["a"], table["b"]), "")
    order = [*within, "a", "b", "test", "n", "median_diff", "p", "min_p", "p_holm", "a12", "verdict", "better"]
    return table[order].reset_index(drop=True)


def first_hit(trace: Mapping[str, np.ndarray], threshold: float) -> float:
    """First cost at which the best J so far is at most ``threshold``; inf if never."""
    best = np.minimum.accumulate(np.asarray(trace["fun"], dtype=float))
    hit = np.nonzero(best <= threshold)[0]
    return float(np.asarray(trace["cost"])[hit[0]]) if len(hit) else math.inf


def ert(df: pd.DataFrame, traces: Mapping[str, Mapping[str, np.ndarray]], target: float, by: str = "method",
        within: Sequence[str] | None = None, relative: bool = False, confidence: float = 0.95,
        n_resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """COCO's average running time to reach ``target`` (Hansen et al. 2016, "aRT"):

    ``aRT = (sum over all runs of the evaluations spent until the target or the end) / successes``.
    A run succeeds at the first trace cost where its best J so far is at most the threshold;
    an unsuccessful run counts everything it spent (its ``cost``: the whole budget, or less if it
    stopped early). No success: aRT = inf. The threshold is ``target`` itself, or with
    ``relative=True`` ``(1 + target) * f_best`` with ``f_best`` the lowest returned J (``fun``) of any
    run on the same problem and train split. One row per problem and ``by`` value: ``runs``, ``successes``,
    ``ert`` and a percentile bootstrap interval over runs (resampling whole runs, paired cost and
    success; an upper end of inf means some resamples held no success).
    """
    within = _within(df, by, within)
    ok = _ok(df)
    _check_sides(ok, by)
    if not np.isfinite(target):
        raise ValueError(f"target must be a finite number, got {target!r}")
    missing = [k for k in ok["key"] if k not in traces]
    if missing:
        raise ValueError(f"no trace for {len(missing)} run(s), e.g. {missing[0]}")
    ok = ok.copy()
    if relative:
        ok["_threshold"] = (1 + target) * ok.groupby([*within, "split_seed"])["fun"].transform("min")
    else:
        ok["_threshold"] = float(target)
    ok["_hit"] = [first_hit(traces[k], t) for k, t in zip(ok["key"], ok["_threshold"])]
    ok["_spent"] = np.where(np.isfinite(ok["_hit"]), ok["_hit"], ok["cost"])
    rows = []
    for group, part in ok.groupby([*within, by], sort=True):
        spent, success = part["_spent"].to_numpy(float), np.isfinite(part["_hit"].to_numpy()).astype(float)
        value = spent.sum() / success.sum() if success.any() else math.inf
        low, high = _ert_interval(spent, success, value, confidence, n_resamples, seed)
        rows.append({**dict(zip([*within, by], group)), "target": target, "runs": len(part),
                     "successes": int(success.sum()), "ert": value, "ert_low": low, "ert_high": high})
    return pd.DataFrame(rows)


def _ert_interval(spent: np.ndarray, success: np.ndarray, value: float, confidence: float, n_resamples: int,
                  seed: int) -> tuple[float, float]:
    if len(spent) < 2:
        return math.nan, math.nan
    if not success.any() or (success.all() and np.all(spent == spent[0])):
        return value, value
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")
        ci = st.bootstrap((spent, success), lambda s, k, axis: s.sum(axis) / k.sum(axis), paired=True,
                          vectorized=True, method="percentile", confidence_level=confidence,
                          n_resamples=n_resamples, rng=np.random.default_rng(seed)).confidence_interval
    return float(ci.low), float(ci.high)


def convergence_costs(df: pd.DataFrame, traces: Mapping[str, Mapping[str, np.ndarray]], tau: float,
                      by: str = "method", within: Sequence[str] | None = None,
                      f0: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Moré & Wild's convergence test on each problem instance p and solver s: the first cost at which

    ``f(x0) - f(x) >= (1 - tau) * (f(x0) - f_L)``, i.e. best J so far ``<= f_L + tau * (f(x0) - f_L)``,

    with ``f_L`` the lowest J any solver reached on p. An instance is a problem (``within``) with one
    (seed, split_seed): the same data, split and start weights for every solver. ``f(x0)`` is
    ``f0[key]`` when given, else the instance's largest first trace record (swarmreg's traces start
    after the first evaluations; the methods that record ``x0`` first make this ``f(x0)`` itself).
    Columns: the instance columns, ``by``, ``key``, ``cost`` (inf: not solved).
    """
    within = _within(df, by, within)
    if not 0 < tau < 1:
        raise ValueError(f"tau must be in (0, 1), got {tau!r}")
    ok = _ok(df)
    _check_sides(ok, by)
    instance = [*within, *PAIR_ON]
    rows = []
    for group, part in ok.groupby(instance, sort=True):
        runs = {k: traces[k] for k in part["key"] if k in traces}
        if not runs:
            continue
        f_low = min(float(np.min(t["fun"])) for t in runs.values())
        start = max(float(f0[k]) if f0 is not None else float(t["fun"][0]) for k, t in runs.items())
        threshold = f_low + tau * (start - f_low)
        for key, solver in zip(part["key"], part[by]):
            cost = first_hit(runs[key], threshold) if key in runs else math.inf
            rows.append({**dict(zip(instance, group)), by: solver, "key": key, "cost": cost})
    return pd.DataFrame(rows)


def _complete(costs: pd.DataFrame, by: str) -> pd.DataFrame:
    """Costs as instances x solvers; an instance a solver did not run counts as unsolved (inf)."""
    instance = [c for c in costs.columns if c not in (by, "key", "cost")]
    return costs.pivot_table(index=instance, columns=by, values="cost", aggfunc="min").fillna(math.inf)


def _step(values: pd.DataFrame, xname: str) -> pd.DataFrame:
    """Per column: the fraction of rows with value <= x at each distinct finite x (a right-continuous step)."""
    rows = []
    for solver, v in values.items():
        v = np.sort(v.to_numpy(float))
        for x in np.unique(v[np.isfinite(v)]):
            rows.append({values.columns.name: solver, xname: float(x),
                         "fraction": float(np.searchsorted(v, x, side="right") / len(v))})
        if not np.isfinite(v).any():
            rows.append({values.columns.name: solver, xname: math.inf, "fraction": 0.0})
    return pd.DataFrame(rows)


def performance_profile(df: pd.DataFrame, traces: Mapping[str, Mapping[str, np.ndarray]], tau: float = 1e-3,
                        by: str = "method", within: Sequence[str] | None = None,
                        f0: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Dolan & Moré's performance profile (Math. Programming 2002) with Moré & Wild's convergence test.

    ``r_ps = t_ps / min_s t_ps`` with ``t_ps`` the cost of :func:`convergence_costs` (inf if solver s
    never passes the test on instance p), and ``rho_s(alpha) = |{p : r_ps <= alpha}| / |P|``.
    Columns ``by``, ``ratio`` (each alpha where rho_s steps up) and ``fraction`` (rho_s there).
    """
    t = _complete(convergence_costs(df, traces, tau, by, within, f0), by)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = t.div(t.min(axis=1), axis=0).where(np.isfinite(t), math.inf)
    return _step(ratios, "ratio")


def data_profile(df: pd.DataFrame, traces: Mapping[str, Mapping[str, np.ndarray]],
                 n_params: int | Mapping[str, int], tau: float = 1e-3, by: str = "method",
                 within: Sequence[str] | None = None, f0: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Moré & Wild's data profile (SIAM J. Optim. 2009): ``d_s(kappa) = |{p : t_ps / (n_p + 1) <= kappa}| / |P|``,
    the share of instances solver s passes the convergence test on within kappa simplex gradients
    (``n_p + 1`` evaluations of J, ``n_p`` = the network's parameters: an int, or a mapping run key ->
    int). Columns ``by``, ``budget_units`` (each kappa where d_s steps up) and ``fraction``.
    """
    costs = convergence_costs(df, traces, tau, by, within, f0)
    size = costs["key"].map(n_params) if isinstance(n_params, Mapping) else pd.Series(n_params, costs.index)
    if size.isna().any():
        raise ValueError(f"n_params gives no size for run {costs.loc[size.isna(), 'key'].iloc[0]}")
    costs = costs.assign(cost=costs["cost"] / (size.astype(float) + 1))
    return _step(_complete(costs, by), "budget_units")


def runtime_ecdf(df: pd.DataFrame, traces: Mapping[str, Mapping[str, np.ndarray]],
                 taus: Sequence[float] = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7), by: str = "method",
                 within: Sequence[str] | None = None, f0: Mapping[str, float] | None = None) -> pd.DataFrame:
    """COCO's runtime ECDF over targets (Hansen et al. 2016): for each solver, the share of
    (instance, target) pairs reached by each cost, the targets being Moré & Wild's tolerances ``taus``
    of :func:`convergence_costs`. Columns ``by``, ``cost`` and ``fraction``."""
    if not taus:
        raise ValueError("taus must hold at least one tolerance")
    tables = []
    for tau in taus:
        costs = convergence_costs(df, traces, tau, by, within, f0)
        tables.append(_complete(costs, by).assign(tau=tau).set_index("tau", append=True))
    return _step(pd.concat(tables), "cost")


@dataclass(frozen=True)
class RankSummary:
    """Friedman's test over problems and Nemenyi's critical difference (Demšar, JMLR 2006)."""

    metric: str
    scores: pd.DataFrame  # problems x solvers: the median of the metric over seeds
    mean_ranks: pd.Series  # rank 1 = best (lowest, or highest for accuracies), ties share the mean rank
    statistic: float  # Friedman's chi-square
    p: float
    nemenyi: pd.DataFrame  # solvers x solvers: Nemenyi's p-values (scikit-posthocs)
    cd: float  # Nemenyi's critical difference of mean ranks at alpha
    alpha: float


def rank_summary(df: pd.DataFrame, metric: str, by: str = "method", within: Sequence[str] | None = None,
                 alpha: float = 0.05) -> RankSummary:
    """Rank solvers within each problem by the median of ``metric`` over seeds (Demšar 2006: one score
    per problem and solver), then Friedman's test of equal mean ranks,
    ``chi2_F = 12N / (k(k+1)) * (sum_j R_j^2 - k(k+1)^2 / 4)`` over N problems and k solvers (scipy), and
    Nemenyi's critical difference ``CD = q_alpha sqrt(k(k+1) / (6N))``, ``q_alpha`` the studentized range
    quantile over sqrt 2: two solvers whose mean ranks differ by more differ at ``alpha``. The pairwise
    Nemenyi p-values come from scikit-posthocs, which also draws the critical-difference diagram from
    them (a maintained library; autorank wraps the same tests but picks the tests itself from normality
    checks and brings more dependencies, so swarmreg keeps the choice of test here).
    Only problems where every solver has a value count; it needs 3 solvers and 2 such problems.
    """
    import scikit_posthocs as sp
    _check_metric(df, metric)
    within = _within(df, by, within)
    ok = _ok(df).dropna(subset=[metric])
    _check_sides(ok, by)
    scores = ok.groupby([*within, by])[metric].median().unstack(by).dropna()
    k, n = scores.shape[1], scores.shape[0]
    if k < 3 or n < 2:
        raise ValueError(f"a rank summary needs at least 3 {by} values and 2 problems where all have runs; "
                         f"got {k} and {n}")
    oriented = -scores if better_direction(metric) > 0 else scores
    ranks = oriented.rank(axis=1)
    friedman = st.friedmanchisquare(*(oriented[c].to_numpy() for c in oriented.columns))
    q = st.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    nemenyi = sp.posthoc_nemenyi_friedman(oriented.to_numpy())
    nemenyi.index = nemenyi.columns = list(scores.columns)
    return RankSummary(metric, scores, ranks.mean().sort_values(), float(friedman.statistic), float(friedman.pvalue),
                       nemenyi, float(q * math.sqrt(k * (k + 1) / (6 * n))), alpha)


MIN_N_INTERVAL = 8
"""Fewer values than this get no interval: a bootstrap over a handful of values is close to their range."""


def ci_summary(df: pd.DataFrame, metrics: Sequence[str], group: Sequence[str] = DESIGN, confidence: float = 0.95,
               n_resamples: int = 10_000, seed: int = 0, min_n: int = MIN_N_INTERVAL) -> pd.DataFrame:
    """Per group: ``runs``, and for each metric its median over seeds (``<m>_median``), the number of
    values ``<m>_n``, their range ``<m>_min``, ``<m>_max``, and from ``min_n`` values on a bootstrap
    interval of the median (``<m>_low``, ``<m>_high``; NaN below ``min_n``) with ``<m>_interval`` naming
    it: "BCa", "percentile" (where BCa is undefined), "equal" (all values alike), or "range" (below
    ``min_n``: no interval, the range and n instead). See :func:`bootstrap_ci`."""
    for m in metrics:
        _check_metric(df, m)
    if not isinstance(min_n, int | np.integer) or min_n < 2:
        raise ValueError(f"min_n must be an integer of at least 2, got {min_n!r}")
    ok = _ok(df)
    rows = []
    for values, part in ok.groupby(list(group), sort=True):
        row = {**dict(zip(group, values)), "runs": len(part)}
        for m in metrics:
            x = part[m].dropna().to_numpy(float)
            x = x[np.isfinite(x)]
            low = high = np.nan
            kind = "range"
            if len(x) >= min_n:
                ci = bootstrap_ci(x, "median", confidence, n_resamples, seed)
                low, high, kind = ci.low, ci.high, ci.kind
            row.update({f"{m}_median": np.median(x) if len(x) else np.nan, f"{m}_low": low, f"{m}_high": high,
                        f"{m}_n": len(x), f"{m}_min": x.min() if len(x) else np.nan,
                        f"{m}_max": x.max() if len(x) else np.nan, f"{m}_interval": kind})
        rows.append(row)
    return pd.DataFrame(rows)

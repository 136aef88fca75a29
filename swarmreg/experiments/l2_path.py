"""Experiment 1, ``l2-path``: weight and bias norms, accuracy, J and E against lam for every method, and
the standard penalty against one over all parameters (biases included).

The claims and their tests are stated in ``configs/l2-path.toml`` before the run (:mod:`swarmreg.claims`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.stats as st

from ..claims import Claim, parse_claims, require
from ..report import plot_lam_path
from ..stats import smallest_p, tost_paired, two_sample_test
from ..stats_report import number
from .common import (
    CI_NOTE,
    Section,
    build_specs,
    execute,
    figure_links,
    load_config,
    median_ci,
    parts,
    summary_table,
    write_table,
)

NAME = "l2-path"
METRICS = ["test_accuracy", "train_accuracy", "weight_norm", "bias_norm", "fun", "error"]
PAIR = ["seed", "split_seed"]


def split_parts(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The finished runs of the standard objective and of the bias-penalized one (read from each spec)."""
    ok = runs[runs["status"] != "failed"]
    biased = ok["spec"].map(lambda s: bool(json.loads(s).get("penalize_biases", False)))
    return ok[~biased], ok[biased]


def _at(part: pd.DataFrame, lam: float, metric: str) -> pd.Series:
    return part[part["lam"] == lam].set_index(PAIR)[metric]


def shrink_tests(std: pd.DataFrame, claim: Claim) -> pd.DataFrame:
    """Per (dataset, method) and per lam > 0: the weight norm at lam against lam = 0, Wilcoxon signed-rank
    paired on (seed, split), two-sided; the claim's p (intersection-union: each at alpha, uncorrected),
    ``shrinks`` when the test rejects and the paired differences point down, and the norm ratio of medians."""
    rows = []
    for (dataset, method), part in std.groupby(["dataset", "method"]):
        lo = part["lam"].min()
        zero = _at(part, lo, "weight_norm")
        for lam in sorted(part["lam"].unique())[1:]:
            at = _at(part, lam, "weight_norm")
            pairs = zero.index.intersection(at.index)
            res = two_sample_test(at[pairs].to_numpy(), zero[pairs].to_numpy(), paired=True)
            p = float(claim.adjust([res["p"]])[0])
            rows.append({"dataset": dataset, "method": method, "lam": lam, "n": res["n"],
                         "median_ratio": float(at[pairs].median() / zero[pairs].median()),
                         "p": p, "min_p": res["min_p"], "shrinks": bool(p < claim.alpha and res["sign"] < 0)})
    return pd.DataFrame(rows)


def trend_tests(std: pd.DataFrame, claim: Claim) -> pd.DataFrame:
    """Per (dataset, method): Page's trend test (scipy) that the weight norm falls with lam, seeds as
    blocks and the lams in increasing order as treatments (predicted ranks k, ..., 1); Holm over pairs.
    Needs 3 lams and 2 seeds."""
    rows = []
    for (dataset, method), part in std.groupby(["dataset", "method"]):
        table = part.pivot_table(index=PAIR, columns="lam", values="weight_norm").dropna()
        k, n = table.shape[1], table.shape[0]
        if k < 3 or n < 2:
            continue
        res = st.page_trend_test(table.to_numpy(), predicted_ranks=list(range(k, 0, -1)))
        rows.append({"dataset": dataset, "method": method, "n": n, "lams": k, "L": float(res.statistic),
                     "p": float(res.pvalue)})
    out = pd.DataFrame(rows, columns=["dataset", "method", "n", "lams", "L", "p"])
    out["p_holm"] = claim.adjust(out["p"]) if len(out) else []
    return out


def bias_penalty(std: pd.DataFrame, biased: pd.DataFrame, norm_claim: Claim, acc_claim: Claim) -> pd.DataFrame:
    """Per (dataset, method, lam) of the biases part, paired on seed with the standard run (same x0):
    median bias norm, weight norm and test accuracy of each, Wilcoxon of the bias norms (two-sided, Holm)
    and TOST of the test accuracies at the claim's margin (each at alpha)."""
    rows = []
    for (dataset, method, lam), part in biased.groupby(["dataset", "method", "lam"]):
        mine = std[(std["dataset"] == dataset) & (std["method"] == method) & (std["lam"] == lam)].set_index(PAIR)
        part = part.set_index(PAIR)
        pairs = part.index.intersection(mine.index)
        if not len(pairs):
            continue
        a, b = part.loc[pairs], mine.loc[pairs]
        norm = two_sample_test(a["bias_norm"].to_numpy(), b["bias_norm"].to_numpy(), paired=True)
        acc_a, acc_b = a["test_accuracy"].to_numpy(), b["test_accuracy"].to_numpy()
        rows.append({"dataset": dataset, "method": method, "lam": lam, "n": len(pairs),
                     "bias_norm_standard": b["bias_norm"].median(), "bias_norm_penalized": a["bias_norm"].median(),
                     "weight_norm_standard": b["weight_norm"].median(),
                     "weight_norm_penalized": a["weight_norm"].median(),
                     "test_acc_standard": acc_b.mean(), "test_acc_penalized": acc_a.mean(),
                     "p_bias_norm": norm["p"], "sign": norm["sign"],
                     "p_tost": (tost_paired(acc_a, acc_b, acc_claim.margin)
                                if len(pairs) >= 2 and np.isfinite(acc_a).all() and np.isfinite(acc_b).all()
                                else np.nan)})
    out = pd.DataFrame(rows)
    if len(out):
        out["p_bias_norm_holm"] = norm_claim.adjust(out["p_bias_norm"])
    return out


def floor_note(claim: Claim, n: int, family: int) -> str:
    """Whether the design can show the claim at all: the smallest p a two-sided signed-rank test gives
    on n pairs, times the family size under Holm (as it is under intersection-union: each at alpha)."""
    floor = min(1.0, smallest_p("wilcoxon", n) * (family if claim.correction == "holm" else 1))
    if floor < claim.alpha:
        return f"(with n = {n} the smallest p this design can give is {floor:.2g}, below alpha)"
    return (f"(**with n = {n} no test of this family can pass**: the smallest p it can give is {floor:.2g}"
            f"{f' after Holm over {family}' if claim.correction == 'holm' else ''}, not below alpha = {claim.alpha:g})")


def run(out: Path, profile: str = "full", workers: int | None = None, progress: bool | None = None,
        device: str | None = None) -> Section:
    config = load_config(NAME)
    claims = parse_claims(config, f"{NAME}.toml")
    specs = build_specs(parts(config, profile), NAME)
    res = execute(NAME, specs, out, workers, progress, device)
    std, biased = split_parts(res.runs)
    section = Section("1. l2-path: what the penalty does to weights and biases")
    table = summary_table(std, METRICS, res.folder, "l2_path")
    figures = plot_lam_path(std, res.folder / "figures")
    shrink = shrink_tests(std, require(claims, "shrink", "wilcoxon"))
    shrink_md = write_table(shrink, res.folder, "shrink_tests", digits=3)
    largest = shrink[shrink["lam"] == shrink["lam"].max()]
    n_min = int(largest["n"].min())
    c = claims["shrink"]
    holds = bool(len(largest)) and bool(largest["shrinks"].all())
    per_lam = ", ".join(f"lam = {lam:g}: {int(g['shrinks'].sum())} of {len(g)}" for lam, g in shrink.groupby("lam"))
    section.add(
        f"{len(std)} runs of the standard J and {len(biased)} with the biases penalized too: datasets "
        f"{sorted(std['dataset'].unique())}, methods {sorted(std['method'].unique())}, lam in "
        f"{[float(x) for x in sorted(std['lam'].unique())]}, {std['seed'].nunique()} seeds, budget "
        f"{std['budget'].iloc[0]:g} per run.",
        c.describe(),
        f"Verdict: the weight norm at lam = {largest['lam'].max():g} is significantly below its lam = 0 value in "
        f"{int(largest['shrinks'].sum())} of {len(largest)} pairs (largest p {number(largest['p'].max(), 2)}) "
        f"{floor_note(c, n_min, len(largest))}: the claim "
        + ("**holds** (every test rejects at alpha, every shift is down)" if holds else "**is not shown**")
        + f". Pairs shrinking significantly at each lam against lam = 0 (same test, each at alpha): {per_lam}. "
        "Median-norm ratios below 1e-12 print as < 1e-12 (rounding, not a value).", shrink_md)
    trend = trend_tests(std, require(claims, "trend", "page"))
    c = claims["trend"]
    if len(trend):
        section.add(
            c.describe(),
            f"Verdict: a falling trend at Holm-corrected p < {c.alpha:g} in {int((trend['p_holm'] < c.alpha).sum())} "
            f"of {len(trend)} pairs (Page's L over {int(trend['lams'].max())} lams, n = {int(trend['n'].min())} "
            f"seeds per pair; largest corrected p {number(trend['p_holm'].max(), 2)}).",
            write_table(trend, res.folder, "trend_tests", digits=3))
    else:
        section.add(c.describe(), "Verdict: not tested: Page's test needs 3 lams and 2 seeds, this profile has fewer.")
    section.add(*_bias_paragraphs(std, biased, claims, res.folder))
    section.add(
        "How far the weights shrink depends on how close each optimizer gets to the minimizer of J within the "
        "budget. Median-norm ratio (largest lam over lam = 0) per method, median over data sets (range and n: "
        "fewer than 8 data sets give no interval): "
        + ", ".join(f"{m} {median_ci(r)}" for m, r in largest.groupby("method")["median_ratio"]) + ".",
        CI_NOTE, table, figure_links(figures, out))
    return section


def _bias_paragraphs(std: pd.DataFrame, biased: pd.DataFrame, claims: dict[str, Claim], folder: Path) -> list[str]:
    norm_claim, acc_claim = require(claims, "bias-norm", "wilcoxon"), require(claims, "bias-accuracy", "tost")
    table = bias_penalty(std, biased, norm_claim, acc_claim)
    if not len(table):
        return [norm_claim.describe(), acc_claim.describe(), "Verdict: not tested: no bias-penalized runs."]
    n = int(table["n"].min())
    shown = table["p_bias_norm_holm"] < norm_claim.alpha
    down = shown & (table["sign"] < 0)
    same = table["p_tost"] < acc_claim.alpha
    tested = int(table["p_tost"].notna().sum())  # regression data sets have no accuracy
    return [
        "The standard J penalizes the non-bias weights only; the `biases` part reruns the gradient methods with "
        "the penalty over all parameters, each run from the same start as its standard twin.",
        norm_claim.describe(),
        f"Verdict: the bias norm changes significantly in {int(shown.sum())} of {len(table)} cells ({int(down.sum())} "
        f"of them shrink) {floor_note(norm_claim, n, len(table))}.",
        acc_claim.describe(),
        f"Verdict: test accuracy within ±{acc_claim.margin:g} of the standard objective's in {int(same.sum())} of "
        f"{tested} cells with an accuracy (TOST, each at alpha): the claim "
        + ("**holds**" if tested and same.sum() == tested else "**is not shown**")
        + (f" (with n = {n} seeds a paired t-based TOST has little power)" if n < 8 else "") + ".",
        write_table(table, folder, "bias_penalty", digits=3),
    ]

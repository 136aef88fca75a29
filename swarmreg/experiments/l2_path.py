"""Experiment 1, ``l2-path``: weight and bias norms, accuracy, J and E against lam for every method."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import scipy.stats as st

from ..report import plot_lam_path
from ..stats import holm, two_sample_test
from .common import (
    CI_NOTE,
    LAM_PATH_CAPTION,
    Section,
    build_specs,
    execute,
    figure_links,
    load_config,
    median_ci,
    parts,
    smallest_wilcoxon_p,
    summary_table,
    write_table,
)

NAME = "l2-path"
METRICS = ["test_accuracy", "train_accuracy", "weight_norm", "bias_norm", "fun", "error"]


def shrink_ratios(df: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and method: mean norms at the largest lam over those at lam = 0, and the test of the
    weight norms at the two ends (:func:`shrink_test`, Holm over all pairs)."""
    ok = df[df["status"] != "failed"]
    rows = []
    for (dataset, method), part in ok.groupby(["dataset", "method"]):
        means = part.groupby("lam")[["weight_norm", "bias_norm"]].mean()
        lo, hi = means.index.min(), means.index.max()
        rows.append({"dataset": dataset, "method": method, "lam_max": hi,
                     "weight_norm_ratio": means.loc[hi, "weight_norm"] / means.loc[lo, "weight_norm"],
                     "bias_norm_ratio": means.loc[hi, "bias_norm"] / means.loc[lo, "bias_norm"],
                     "weight_norm_monotone": bool(means["weight_norm"].is_monotonic_decreasing)})
        rows[-1].update(shrink_test(part))
    ratios = pd.DataFrame(rows)
    ratios["p_holm"] = holm(ratios["p"].to_numpy())
    return ratios


def shrink_test(part: pd.DataFrame) -> dict[str, float]:
    """One-sided Wilcoxon signed-rank test that the weight norm at the largest lam is below the one at
    lam = 0, paired on (seed, split): the claim has a direction, so the test does too (its smallest
    p on n pairs is 1 / 2^n, against 2 / 2^n two-sided)."""
    lo, hi = part["lam"].min(), part["lam"].max()
    at = {lam: part[part["lam"] == lam].set_index(["seed", "split_seed"])["weight_norm"] for lam in (lo, hi)}
    pairs = at[lo].index.intersection(at[hi].index)
    d = at[lo][pairs].to_numpy() - at[hi][pairs].to_numpy()
    p = float(st.wilcoxon(d, alternative="greater").pvalue) if np.any(d != 0) else 1.0
    return {"n": len(pairs), "p": p}


def run(out: Path, profile: str = "full", workers: int | None = None, progress: bool | None = None) -> Section:
    specs = build_specs(parts(load_config(NAME), profile), NAME)
    res = execute(NAME, specs, out, workers, progress)
    section = Section("1. l2-path: what the penalty does to weights and biases")
    table = summary_table(res.runs, METRICS, res.folder, "l2_path")
    ratios = shrink_ratios(res.runs)
    ratio_md = write_table(ratios, res.folder, "shrink_ratios", digits=3)
    figures = plot_lam_path(res.runs, res.folder / "figures")
    shrunk = int((ratios["weight_norm_ratio"] < 1).sum())
    significant = ratios[ratios["p_holm"] < 0.05]
    monotone = int(ratios["weight_norm_monotone"].sum())
    n_pairs = int(ratios["n"].min())
    bias_ratio, weight_ratio = ratios["bias_norm_ratio"], ratios["weight_norm_ratio"]
    bias_vs_weight = two_sample_test(bias_ratio, weight_ratio, paired=True)
    at_max = res.runs[(res.runs["lam"] == res.runs["lam"].max()) & (res.runs["status"] != "failed")]
    section.add(
        f"{len(res.runs)} runs: datasets {sorted(res.runs['dataset'].unique())}, methods "
        f"{sorted(res.runs['method'].unique())}, lam in {[float(x) for x in sorted(res.runs['lam'].unique())]}, "
        f"{res.runs['seed'].nunique()} seeds, budget {res.runs['budget'].iloc[0]:g} per run.",
        f"**Claim tested: L2 shrinks the weights under every optimizer.** The non-bias weight norm at the largest "
        f"lam is smaller than at lam = 0 in {len(significant)} of {len(ratios)} (dataset, method) pairs at "
        f"Holm-corrected p < 0.05 (one-sided Wilcoxon signed-rank on the two norms paired on seed, n = {n_pairs} "
        f"per pair, Holm over the {len(ratios)} pairs; largest corrected p {ratios['p_holm'].max():.2g}"
        + (f"; with {n_pairs} pairs no p can fall below {smallest_wilcoxon_p(n_pairs) / 2:.2g}"
           if smallest_wilcoxon_p(n_pairs) / 2 >= 0.05 else "")
        + f"). The mean norm is smaller in {shrunk} of {len(ratios)} pairs and falls monotonically along the "
        f"whole lam path in {monotone} of {len(ratios)}: the claim "
        + ("holds" if len(significant) == len(ratios) else
           "is not shown at 0.05 for any pair" if not len(significant) else "is shown only for some pairs") + ".",
        f"**Claim tested: biases are left alone by the penalty.** The penalty has no bias term, and the bias "
        f"norm at the largest lam is {bias_ratio.min():.2f}-{bias_ratio.max():.2f} times its value at lam = 0 "
        f"(median and 95% bootstrap interval over the pairs {median_ci(bias_ratio, 2)}), against "
        f"{weight_ratio.min():.3f}-{weight_ratio.max():.3f} for the weights "
        f"(Wilcoxon signed-rank of bias against weight ratio over the {len(ratios)} pairs: "
        f"p = {bias_vs_weight['p']:.2g}): "
        + ("the biases keep their size" if bias_ratio.between(0.9, 1.1).all() else
           "the difference between bias and weight ratios is not significant at 0.05"
           if bias_vs_weight["p"] >= 0.05 else
           "the penalty leaves the biases out, but they are not left alone: they change with the weights "
           "they work with, less than the weights do" if bias_vs_weight["sign"] > 0
           else "the biases shrink more than the weights do") + ".",
        "How far the weights shrink depends on how close each optimizer gets to the minimizer of J within the "
        "budget. Weight-norm ratio (largest lam over lam = 0) per method, median over datasets with its 95% "
        "bootstrap interval: "
        + ", ".join(f"{m} {median_ci(r)}" for m, r in ratios.groupby("method")["weight_norm_ratio"])
        + ". J at the largest lam per method, median over datasets and seeds with its 95% bootstrap interval "
        "(lower is closer to the minimum): "
        + ", ".join(f"{m} {median_ci(g['fun'])}" for m, g in at_max.groupby("method")) + ".",
        ratio_md, CI_NOTE, table, figure_links(figures, out, LAM_PATH_CAPTION),
    )
    return section

"""Experiment 1, ``l2-path``: weight and bias norms, accuracy, J and E against lam for every method."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..report import plot_lam_path
from .common import Section, build_specs, execute, figure_links, load_config, parts, summary_table, write_table

NAME = "l2-path"
METRICS = ["test_accuracy", "train_accuracy", "weight_norm", "bias_norm", "fun", "error"]


def shrink_ratios(df: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and method: mean norms at the largest lam over those at lam = 0."""
    ok = df[df["status"] != "failed"]
    rows = []
    for (dataset, method), part in ok.groupby(["dataset", "method"]):
        means = part.groupby("lam")[["weight_norm", "bias_norm"]].mean()
        lo, hi = means.index.min(), means.index.max()
        rows.append({"dataset": dataset, "method": method, "lam_max": hi,
                     "weight_norm_ratio": means.loc[hi, "weight_norm"] / means.loc[lo, "weight_norm"],
                     "bias_norm_ratio": means.loc[hi, "bias_norm"] / means.loc[lo, "bias_norm"],
                     "weight_norm_monotone": bool(means["weight_norm"].is_monotonic_decreasing)})
    return pd.DataFrame(rows)


def run(out: Path, profile: str = "full", workers: int | None = None, progress: bool | None = None) -> Section:
    specs = build_specs(parts(load_config(NAME), profile), NAME)
    res = execute(NAME, specs, out, workers, progress)
    section = Section("1. l2-path: what the penalty does to weights and biases")
    table = summary_table(res.runs, METRICS, res.folder, "l2_path")
    ratios = shrink_ratios(res.runs)
    ratio_md = write_table(ratios, res.folder, "shrink_ratios", digits=3)
    figures = plot_lam_path(res.runs, res.folder / "figures")
    shrunk = int((ratios["weight_norm_ratio"] < 1).sum())
    monotone = int(ratios["weight_norm_monotone"].sum())
    bias_ratio = ratios["bias_norm_ratio"]
    section.add(
        f"{len(res.runs)} runs: datasets {sorted(res.runs['dataset'].unique())}, methods "
        f"{sorted(res.runs['method'].unique())}, lam in {[float(x) for x in sorted(res.runs['lam'].unique())]}, "
        f"{res.runs['seed'].nunique()} seeds, budget {res.runs['budget'].iloc[0]:g} per run.",
        f"**Claim tested: L2 shrinks the weights under every optimizer.** The mean non-bias weight norm at the "
        f"largest lam is below the one at lam = 0 for {shrunk} of {len(ratios)} (dataset, method) pairs, "
        f"and falls monotonically along the whole lam path for {monotone} of {len(ratios)}: the claim "
        + ("holds" if shrunk == len(ratios) else "fails for some pairs") + ".",
        f"**Claim tested: biases are left alone by the penalty.** The penalty has no bias term, and the bias "
        f"norm at the largest lam is {bias_ratio.min():.2f}-{bias_ratio.max():.2f} times its value at lam = 0 "
        f"(median {bias_ratio.median():.2f}), against {ratios['weight_norm_ratio'].min():.3f}-"
        f"{ratios['weight_norm_ratio'].max():.3f} for the weights: "
        + ("the biases keep their size" if bias_ratio.between(0.9, 1.1).all() else
           "the penalty leaves the biases out, but they are not left alone: they change with the weights "
           "they work with, less than the weights do" if bias_ratio.median() > ratios["weight_norm_ratio"].median()
           else "the biases shrink as much as the weights do") + ".",
        "How far the weights shrink depends on how close each optimizer gets to the minimizer of J within the "
        "budget. Median weight-norm ratio (largest lam over lam = 0) per method: "
        + ", ".join(f"{m} {r:.3g}" for m, r in ratios.groupby("method")["weight_norm_ratio"].median().items())
        + ". Mean J at the largest lam per method, over datasets and seeds (lower is closer to the minimum): "
        + ", ".join(f"{m} {j:.3g}" for m, j in res.runs[res.runs["lam"] == res.runs["lam"].max()]
                    .groupby("method")["fun"].mean().items()) + ".",
        ratio_md, "Mean ± std over seeds:", table, figure_links(figures, out),
    )
    return section

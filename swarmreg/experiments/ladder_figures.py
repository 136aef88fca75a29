"""The dimension ladder's figures, each saved with its caption beside it (``<name>.txt``), one look per method."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ..figstyle import method_style, save_figure
from .ladder_design import REFERENCE


def plot_ecdf(hits: pd.DataFrame, folder: Path) -> Path:
    """Per (lam, size): the share of (target, seed) pairs reached at each budget multiplier k, per method."""
    lams = sorted(hits["lam"].unique())
    sizes = sorted(hits["n_params"].unique())
    fig, axes = plt.subplots(len(lams), len(sizes), figsize=(2.9 * len(sizes), 2.8 * len(lams)),
                             squeeze=False, sharex=True, sharey=True)
    for i, lam in enumerate(lams):
        for j, n in enumerate(sizes):
            ax = axes[i][j]
            part = hits[(hits["lam"] == lam) & (hits["n_params"] == n)]
            for method, g in part.groupby("method", sort=False):
                share = g.groupby("k")["reached"].mean()
                ax.plot(share.index, share.to_numpy(), label=method, **method_style(method))
            depth = part["depth"].iloc[0] if len(part) else ""
            kind = "J targets" if lam > 0 else "train-accuracy targets"
            ax.set_title(f"{depth}, n = {n}\nlam = {lam:g} ({kind})", fontsize=8)
            ax.set_xscale("log")
            ks = sorted(hits["k"].unique())
            ax.set_xticks(ks, [f"{k:g}" for k in ks])
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_ylim(-0.03, 1.03)
            ax.grid(True, alpha=0.3)
            if i == len(lams) - 1:
                ax.set_xlabel("budget multiplier k\n(budget = k (n + 1))")
            if j == 0:
                ax.set_ylabel("share of (target, seed)\npairs reached")
    handles, labels = axes[0][0].get_legend_handles_labels()
    ncol = min(len(labels), 2 * len(sizes))
    rows = -(-len(labels) // ncol)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8)
    fig.tight_layout(rect=(0, 0.035 * rows + 0.02, 1, 1))
    n_targets = hits.groupby("lam")["target"].nunique().to_dict()
    seeds = hits["seed"].nunique()
    caption = ("Runtime ECDF over targets and budget multipliers: for each size (column) and lam (row), the share "
               "of (target, seed) pairs a method reaches with budget k x (n + 1) evaluations of J, one run per k "
               f"(x axis log). Targets per lam: {n_targets}; {seeds} seeds. At lam > 0 the targets are "
               "J <= (1 + t) x reference J, at lam = 0 training accuracy >= a. No bands: each point is a share of "
               "at most targets x seeds runs.")
    return save_figure(fig, folder / "figures" / "ecdf.png", caption)


def plot_accuracy(runs: pd.DataFrame, folder: Path, baseline: float | None, source: str) -> Path:
    """Median test accuracy over seeds against the run's budget, one point per (size, k), per method;
    the line joins each method's best median so far (its upper envelope)."""
    compared = runs[(runs["method"] != REFERENCE) & (runs["status"] != "failed")]
    lams = sorted(compared["lam"].unique())
    fig, axes = plt.subplots(1, len(lams), figsize=(6.2 * len(lams), 4.4), squeeze=False, sharey=True)
    for ax, lam in zip(axes[0], lams):
        part = compared[compared["lam"] == lam]
        for method, g in part.groupby("method", sort=False):
            med = g.groupby(["n_params", "budget"])["test_accuracy"].median().reset_index().sort_values("budget")
            s = method_style(method)
            ax.scatter(med["budget"], med["test_accuracy"], color=s["color"], marker=s["marker"], s=22, alpha=0.6)
            envelope = med.groupby("budget")["test_accuracy"].max().cummax()
            ax.step(envelope.index, envelope.to_numpy(), where="post", color=s["color"], linestyle=s["linestyle"],
                    label=method)
        if baseline is not None:
            ax.axhline(baseline, color="0.3", linewidth=3, alpha=0.4,
                       label=f"MNIST-1D paper's MLP, {baseline:.0%}")
        ax.axhline(0.1, color="0.6", linestyle=":", linewidth=1, label="chance, 10%")
        ax.set(xscale="log", xlabel="budget: evaluations of J on the 4,000 training items", ylabel="test accuracy",
               title=f"lam = {lam:g}")
        ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.grid(True, alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=(len(labels) + 1) // 2, fontsize=8)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    caption = ("Test accuracy on MNIST-1D's 1,000 test items against compute: each point is the median over "
               f"{compared['seed'].nunique()} seeds of one (network size, budget multiplier) cell, the line "
               "each method's best median at that budget or less (x axis log; no bands). "
               + (f"Grey band: {source}." if baseline is not None else "No published baseline is drawn."))
    return save_figure(fig, folder / "figures" / "accuracy_vs_compute.png", caption)


def plot_references(refs: pd.DataFrame, folder: Path) -> Path:
    """The reference J per size (log x), with its starts' spread as the bar's height."""
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    for depth, g in refs.groupby("depth"):
        g = g.sort_values("n_params")
        ax.errorbar(g["n_params"], g["reference_J"], yerr=[np.zeros(len(g)), g["reference_J"] * g["spread"]],
                    marker="o", capsize=3, label=depth)
    ax.set(xscale="log", xlabel="weights and biases n", ylabel="reference J (lam > 0)")
    ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    caption = ("Reference J per size at lam > 0: the lowest J of the L-BFGS starts (ftol = gtol = 0) from seeds no "
               "compared run uses; the bar reaches the highest start's J (the starts' spread). x axis log.")
    return save_figure(fig, folder / "figures" / "references.png", caption)

"""Experiment 7, ``dimension-ladder``: every built-in method at equal budget on networks from a few
dozen weights to over a thousand; where each gradient-free family stops reaching the target.

Per problem (network size, lam) the reference J is L-BFGS's best from several starts
(:func:`swarmreg.reference_minimum`). Outputs: COCO's aRT to within 1% and 10% of it per method and
size, Moré & Wild's data profiles, the Friedman rank summary with its critical-difference diagram,
and the median gap to the reference against the number of weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import stats
from ..report import save_figure
from ..stats_report import plot_critical_difference, plot_profiles
from .common import (
    PROBLEM,
    Section,
    build_specs,
    execute,
    figure_links,
    load_config,
    parameters,
    parts,
    reference_ert,
    references,
    write_table,
)

NAME = "dimension-ladder"
CAPTION = ("*Figures: performance and data profiles (Moré & Wild's convergence test at tau, cost in units of "
           "n_params + 1 evaluations for the data profile), the runtime ECDF over tau = 1e-1 ... 1e-7, the "
           "critical-difference diagram (methods joined by a bar do not differ at 0.05), and the gap to the "
           "reference against size (median, band = interquartile range over seeds).*")
GRADIENT_FREE = ("pso", "nelder-mead", "cma-es", "de", "openai-es", "random-search")


def breakdown(erts: pd.DataFrame, target: float) -> pd.DataFrame:
    """Per method and lam: the largest network (weights) where some run reached the target, and the
    smallest where none did (NaN: never)."""
    part = erts[erts["target"] == target]
    rows = []
    for (method, lam), g in part.groupby(["method", "lam"]):
        reached = g[g["successes"] > 0]["n_params"]
        failed = g[g["successes"] == 0]["n_params"]
        rows.append({"method": method, "lam": lam, "largest_reached": reached.max() if len(reached) else np.nan,
                     "smallest_failed": failed.min() if len(failed) else np.nan})
    return pd.DataFrame(rows)


def plot_gap(runs: pd.DataFrame, refs: pd.DataFrame, folder: Path) -> Path:
    """Median relative gap ``J / reference_J - 1`` against the number of weights, one line per method."""
    merged = runs.merge(refs, on=PROBLEM)
    merged["gap"] = merged["fun"] / merged["reference_J"] - 1
    lams = sorted(merged["lam"].unique())
    fig, axes = plt.subplots(1, len(lams), figsize=(6 * len(lams), 4.2), squeeze=False)
    for ax, lam in zip(axes[0], lams):
        part = merged[merged["lam"] == lam]
        for method, g in part.groupby("method"):
            med = g.groupby("n_params")["gap"].agg(["median", lambda x: x.quantile(0.25),
                                                    lambda x: x.quantile(0.75)])
            med.columns = ["median", "q25", "q75"]
            (line,) = ax.plot(med.index, med["median"].clip(lower=1e-12), marker="o", label=method)
            ax.fill_between(med.index, med["q25"].clip(lower=1e-12), med["q75"].clip(lower=1e-12),
                            color=line.get_color(), alpha=0.15)
        ax.set(xscale="log", yscale="log", xlabel="weights and biases (n_params)",
               ylabel="J / reference J - 1", title=f"lam = {lam:g}")
        ax.grid(True, alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle("Gap to L-BFGS's reference J at equal budget: median over seeds, band = interquartile range")
    fig.tight_layout()
    return save_figure(fig, folder / "figures" / "gap_vs_size.png")


def run(out: Path, profile: str = "full", workers: int | None = None, progress: bool | None = None) -> Section:
    config = load_config(NAME)
    params = parameters(config, profile)
    specs = build_specs(parts(config, profile), NAME)
    res = execute(NAME, specs, out, workers, progress)
    runs = res.runs[res.runs["status"] != "failed"]
    refs = references(specs, params["reference_budget"], params["reference_seeds"])
    targets = params["targets"]
    erts = reference_ert(runs, res.traces, refs, targets)
    erts_md = write_table(erts.pivot_table(index=["dataset", "hidden", "n_params", "lam", "target"],
                                           columns="method", values="ert").reset_index(), res.folder, "ert", digits=3)
    loose = max(targets)
    broken = breakdown(erts[erts["lam"] > 0], loose)  # lam = 0: the reference J is ~0, no relative target
    n_params = runs.merge(refs, on=PROBLEM).set_index("key")["n_params"].to_dict()
    figures = plot_profiles(runs, res.traces, n_params, res.folder / "figures")
    ranks = stats.rank_summary(runs, "fun", within=PROBLEM)
    figures.append(plot_critical_difference(ranks, res.folder / "figures" / "critical_difference.png"))
    figures.append(plot_gap(runs, refs, res.folder))
    section = Section("7. dimension-ladder: where gradient-free training breaks down")
    sizes = ", ".join(f"{r.dataset} {json.loads(r.hidden)} ({r.n_params} weights)"
                      for r in refs.drop_duplicates(["dataset", "hidden"]).itertuples())
    stops = []
    for method in [m for m in GRADIENT_FREE if m in set(broken["method"])]:
        b = broken[broken["method"] == method]
        parts_ = []
        for r in b.itertuples():
            where = ("reached it at every size" if np.isnan(r.smallest_failed) else
                     f"no run reached it from {r.smallest_failed:.0f} weights on" if np.isnan(r.largest_reached)
                     or r.largest_reached < r.smallest_failed else
                     f"reached it up to {r.largest_reached:.0f} weights, missed it at {r.smallest_failed:.0f}")
            parts_.append(f"lam {r.lam:g}: {where}")
        stops.append(f"`{method}` " + "; ".join(parts_))
    section.add(
        f"{len(res.runs)} runs: sizes {sizes}; lam in {sorted(runs['lam'].unique().tolist())}, "
        f"{runs['seed'].nunique()} seeds, budget {runs['budget'].iloc[0]:g} per run, one train split per problem. "
        f"Reference J: the best of {len(params['reference_seeds'])} L-BFGS starts of up to "
        f"{params['reference_budget']:g} evaluations each.",
        write_table(refs, res.folder, "references", digits=6),
        "" if refs["converged"].all() else
        "Where `converged` is False (lam = 0 on separable data, where J has no minimizer and falls towards 0 as "
        "the weights grow), the reference is the lowest J L-BFGS reached within its budget, not a minimum.",
        f"aRT (COCO's average running time: evaluations of all runs, failures at their whole cost, over the "
        f"successes; inf = no success) to within {' and '.join(f'{t:.0%}' for t in targets)} of the reference J:",
        erts_md,
        "Without L2 (lam = 0) the training sets are separable and the reference J is 0 to rounding, so a "
        "target relative to it is out of every method's reach; the breakdown is read where lam > 0. "
        f"**Where each gradient-free family stops reaching the {loose:.0%} target within the budget:** "
        + "; ".join(stops) + ".",
        f"**Rank summary** (median J over seeds per problem, rank 1 = lowest): Friedman chi-square "
        f"{ranks.statistic:.1f} over {len(ranks.scores)} problems, p = {ranks.p:.2g}; Nemenyi's critical "
        f"difference {ranks.cd:.2f} at alpha {ranks.alpha:g}. Mean ranks: "
        + ", ".join(f"{m} {r:.2f}" for m, r in ranks.mean_ranks.items()) + ".",
        figure_links(figures, out, CAPTION))
    return section

"""Experiment 3, ``equal-budget``: best J against cost, and fixed-target costs as empirical CDFs."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..budget import GRAD_COST
from ..report import plot_convergence, save_figure
from ..stats import holm, rank_summary, two_sample_test
from ..stats_report import CAPTIONS, plot_critical_difference, plot_profiles
from .common import (
    PROBLEM,
    Section,
    build_specs,
    cite,
    cost_to_target,
    execute,
    figure_links,
    hit_stats,
    load_config,
    parameters,
    parts,
    reference_ert,
    references,
    write_table,
)

NAME = "equal-budget"


def target_costs(runs: pd.DataFrame, traces: dict, targets: list[float], refs: pd.DataFrame) -> pd.DataFrame:
    """Per run and target: the cost to reach ``(1 + target) * reference_J`` of its problem (dataset,
    hidden, lam on the one train split), the reference being L-BFGS's best (:func:`references`)."""
    ok = runs[runs["status"] != "failed"].merge(refs, on=PROBLEM)
    rows = []
    for r in ok.itertuples():
        for t in targets:
            rows.append({"dataset": r.dataset, "hidden": r.hidden, "lam": r.lam, "method": r.method,
                         "seed": r.seed, "target": t, "reference_J": r.reference_J,
                         "cost": cost_to_target(traces[r.key], r.reference_J * (1 + t))})
    return pd.DataFrame(rows)


def success_table(costs: pd.DataFrame) -> pd.DataFrame:
    keys = ["dataset", "hidden", "lam", "target", "method"]
    return costs.groupby(keys)[["cost"]].apply(lambda g: pd.Series(hit_stats(g["cost"]))).reset_index()


def leader_tests(costs: pd.DataFrame, leaders: pd.DataFrame) -> pd.DataFrame:
    """The leader of each (dataset, lam) against every other method on the cost to the target: Mann-Whitney U
    with unsuccessful runs ranked last (cost inf; a paired difference would be undefined), Holm over all rows."""
    rows = []
    for r in leaders.itertuples():
        cell = costs[(costs["dataset"] == r.dataset) & (costs["lam"] == r.lam) & (costs["target"] == r.target)]
        lead = cell.loc[cell["method"] == r.method, "cost"].to_numpy()
        for other, g in cell[cell["method"] != r.method].groupby("method"):
            res = two_sample_test(lead, g["cost"].to_numpy(), paired=False)
            rows.append({"dataset": r.dataset, "lam": r.lam, "leader": r.method, "other": other, "n": res["n"],
                         "p": res["p"], "a12": res["a12"], "sign": res["sign"]})
    table = pd.DataFrame(rows)
    table["p_holm"] = holm(table["p"])
    return table


def plot_ecdf(costs: pd.DataFrame, budget: float, folder: Path) -> list[Path]:
    paths = []
    for (dataset, hidden), part in costs.groupby(["dataset", "hidden"]):
        lams, targets = sorted(part["lam"].unique()), sorted(part["target"].unique())
        fig, axes = plt.subplots(len(targets), len(lams), figsize=(4 * len(lams), 3.2 * len(targets)),
                                 squeeze=False)
        for i, t in enumerate(targets):
            for j, lam in enumerate(lams):
                ax = axes[i][j]
                cell = part[(part["lam"] == lam) & (part["target"] == t)]
                for method, g in cell.groupby("method"):
                    c = np.sort(g["cost"].to_numpy())
                    frac = np.arange(1, len(c) + 1) / len(c)
                    finite = np.isfinite(c)
                    last = frac[finite][-1] if finite.any() else 0
                    ax.step(np.r_[0, c[finite], budget], np.r_[0, frac[finite], last], where="post", label=method)
                ax.set(xlabel="cost", ylabel="fraction of runs", ylim=(0, 1.05),
                       title=f"lam={lam:g}, within {t:.0%} of reference J")
                ax.grid(True, alpha=0.3)
        axes[0][0].legend()
        fig.suptitle(f"Fixed-target cost ECDF: {dataset}, hidden {hidden}")
        fig.tight_layout()
        paths.append(save_figure(fig, folder / "figures" / f"ecdf_{dataset}.png"))
    return paths


def run(out: Path, profile: str = "full", workers: int | None = None, progress: bool | None = None) -> Section:
    config = load_config(NAME)
    params = parameters(config, profile)
    specs = build_specs(parts(config, profile), NAME)
    res = execute(NAME, specs, out, workers, progress)
    targets = params["targets"]
    refs = references(specs, params["reference_budget"], params["reference_seeds"])
    costs = target_costs(res.runs, res.traces, targets, refs)
    table = success_table(costs)
    md = write_table(table, res.folder, "fixed_target", digits=4)
    budget = float(res.runs["budget"].max())
    figures = plot_convergence(res.runs, res.traces, res.folder / "figures") + plot_ecdf(costs, budget, res.folder)
    section = Section("3. equal-budget: direct error against gradients at equal cost")
    split_seeds = ", ".join(str(int(s)) for s in sorted(res.runs["split_seed"].unique()))
    best = table[table["target"] == min(targets)]
    leaders = best.sort_values(["success_rate", "median_cost"], ascending=[False, True]) \
        .groupby(["dataset", "lam"]).head(1)
    tests = leader_tests(costs, leaders.assign(target=min(targets)))
    art = reference_ert(res.runs[res.runs["status"] != "failed"], res.traces, refs, [min(targets)])
    art_md = write_table(art, res.folder, "ert", digits=4)
    n_params = {k: len(x) for k, x in res.weights.items()}
    profiles = plot_profiles(res.runs, res.traces, n_params, res.folder / "figures")
    section.add(
        f"{len(res.runs)} runs, budget {budget:g} each (a gradient costs {GRAD_COST:g} evaluations of J). Target: "
        f"within {' or '.join(f'{t:.0%}' for t in targets)} of the reference J of the same problem, the best of "
        f"{len(params['reference_seeds'])} L-BFGS starts at the tightest tolerances (one train split, "
        f"split seed {split_seeds}; the seeds vary the optimizers' randomness). "
        "Success rate and cost of the runs "
        "that reached it (median and quartiles):",
        md,
        f"Fastest to within {min(targets):.0%} (highest success rate, then lowest median cost), against each other "
        f"method on the cost to the target ({cite('mann-whitney', int(tests['n'].min()), len(tests))}; "
        "unsuccessful runs ranked last): "
        + "; ".join(f"{r.dataset} lam={r.lam:g}: {r.method} ({r.success_rate:.0%}, median {r.median_cost:.0f}; "
                    + ", ".join(f"{'faster than' if t.p_holm < 0.05 and t.sign < 0 else 'not shown faster than'} "
                                f"{t.other} p = {t.p_holm:.2g}"
                                for t in tests[(tests["dataset"] == r.dataset) & (tests["lam"] == r.lam)]
                                .itertuples()) + ")"
                    for r in leaders.itertuples()) + ".",
        f"Average running time to within {min(targets):.0%} (COCO's aRT: evaluations of all runs, unsuccessful "
        "ones counted until they stopped, over the number of successes; inf: no success) with a 95% percentile "
        "bootstrap interval over runs:", art_md,
        figure_links(figures, out),
        figure_links(profiles, out, "*" + " ".join(CAPTIONS[p.stem] for p in profiles) + "*"))
    try:
        ranks = rank_summary(res.runs, "fun", within=("dataset", "hidden", "lam"))
    except ValueError as exc:
        section.add(f"No rank summary across problems: {exc}.")
        return section
    cd_path = plot_critical_difference(ranks, res.folder / "figures" / "critical_difference.png")
    section.add(
        f"Ranks of the final J over the {len(ranks.scores)} problems (median over seeds per problem; Friedman test "
        f"chi2 = {ranks.statistic:.3g}, p = {ranks.p:.2g}): mean ranks "
        + ", ".join(f"{m} {r:.2f}" for m, r in ranks.mean_ranks.items())
        + f"; Nemenyi's critical difference at {ranks.alpha:g} is {ranks.cd:.2f}.",
        figure_links([cd_path], out, "*" + CAPTIONS["critical_difference"] + "*"))
    return section

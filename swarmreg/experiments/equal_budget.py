"""Experiment 3, ``equal-budget``: best J against cost, and fixed-target costs as empirical CDFs."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..budget import GRAD_COST
from ..claims import Claim, parse_claims, require
from ..figstyle import method_style, save_figure
from ..report import plot_convergence
from ..stats import MIN_N_INTERVAL, smallest_p, two_sample_test
from ..stats_report import number, plot_profiles
from .common import (
    PROBLEM,
    Section,
    build_specs,
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


def leaders_and_tests(runs: pd.DataFrame, selection: int, claim: Claim) -> pd.DataFrame:
    """Per (dataset, lam): the leader, the method of lowest median final J on the first ``selection``
    seeds, against every other method on the remaining seeds: Wilcoxon signed-rank on final J paired on
    seed (every method of a seed starts from the same weights), two-sided; the claim's p (intersection-
    union: each at alpha). ``lower`` when the test rejects and the leader's J is the lower."""
    ok = runs[runs["status"] != "failed"]
    seeds = sorted(ok["seed"].unique())
    chosen, held = seeds[:selection], seeds[selection:]
    rows = []
    for (dataset, lam), cell in ok.groupby(["dataset", "lam"]):
        pick = cell[cell["seed"].isin(chosen)].groupby("method")["fun"].median()
        leader = pick.idxmin()
        test = cell[cell["seed"].isin(held)]
        lead = test[test["method"] == leader].set_index("seed")["fun"]
        for other, g in test[test["method"] != leader].groupby("method"):
            theirs = g.set_index("seed")["fun"]
            common = lead.index.intersection(theirs.index)
            if len(common):
                res = two_sample_test(lead[common].to_numpy(), theirs[common].to_numpy(), paired=True)
            else:
                res = {"n": 0, "p": np.nan, "min_p": 1.0, "sign": 0.0, "median_diff": np.nan}
            p = float(claim.adjust([res["p"]])[0])
            rows.append({"dataset": dataset, "lam": lam, "leader": leader, "other": other, "n": res["n"],
                         "median_J_diff": res["median_diff"], "p": p, "min_p": res["min_p"],
                         "lower": bool(p < claim.alpha and res["sign"] < 0)})
    return pd.DataFrame(rows)


def plot_ecdf(costs: pd.DataFrame, budget: float, folder: Path, relative: bool = True) -> list[Path]:
    """Per dataset: the share of runs that reached each target by each cost, one panel per (target, lam).
    ``relative``: targets are fractions above the reference J; otherwise absolute bounds on E."""
    paths = []
    for (dataset, hidden), part in costs.groupby(["dataset", "hidden"]):
        lams, targets = sorted(part["lam"].unique()), sorted(part["target"].unique())
        fig, axes = plt.subplots(len(targets), len(lams), figsize=(4.4 * len(lams), 3.4 * len(targets)),
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
                    ax.step(np.r_[0, c[finite], budget], np.r_[0, frac[finite], last], where="post", label=method,
                            markevery=slice(1, None), **method_style(str(method)))
                goal = f"J within {t:.0%} above the reference J" if relative else f"training E <= {t:g}"
                ax.set(xlabel="cost (evaluations of J)", ylabel="fraction of runs", ylim=(0, 1.05),
                       title=f"lam={lam:g}, target: {goal}")
                ax.title.set_fontsize(9)
                ax.grid(True, alpha=0.3)
        axes[0][0].legend(fontsize=7)
        fig.suptitle(f"Fixed-target cost ECDF: {dataset}, hidden {hidden}")
        fig.tight_layout()
        n = part.groupby(["lam", "target", "method"]).size()
        target = ("J <= (1 + t) * J_ref, t the target, J_ref the reference J" if relative else
                  "the training error E = 0.5 * MSE at most the target")
        caption = (f"Fixed-target ECDF on {dataset}, hidden layers {hidden}: per panel (target, lam) and method, "
                   f"the share of its runs ({_n(n)} per method) whose best point so far reached {target} by each "
                   "cost (evaluations of J on the training set; a gradient counts more); a line ending below 1 "
                   "marks runs that never reached it within the budget. Exact shares, no bands; markers on each "
                   "step.")
        paths.append(save_figure(fig, folder / "figures" / f"ecdf_{dataset}.png", caption))
    return paths


def _n(counts: pd.Series) -> str:
    lo, hi = int(counts.min()), int(counts.max())
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def dataset_ranks(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean rank of each method per data set (rank 1 = lowest median final J over seeds, averaged over
    the data set's lams): the data sets are the independent problems, its lams are not."""
    ok = runs[runs["status"] != "failed"]
    med = ok.groupby(["dataset", "lam", "method"])["fun"].median().unstack("method")
    return med.rank(axis=1).groupby(level="dataset").mean()


def run(out: Path, profile: str = "full", workers: int | None = None, progress: bool | None = None,
        device: str | None = None) -> Section:
    config = load_config(NAME)
    claim = require(parse_claims(config, f"{NAME}.toml"), "leader", "wilcoxon")
    params = parameters(config, profile)
    specs = build_specs(parts(config, profile), NAME)
    res = execute(NAME, specs, out, workers, progress, device)
    used = set(res.runs["seed"]) & set(params["reference_seeds"])
    if used:
        raise ValueError(f"{NAME}: reference seeds {sorted(used)} are also run seeds; they must be disjoint")
    targets = params["targets"]
    refs = references(specs, params["reference_budget"], params["reference_seeds"])
    costs = target_costs(res.runs, res.traces, targets, refs)
    table = success_table(costs)
    md = write_table(table, res.folder, "fixed_target", digits=4)
    budget = float(res.runs["budget"].max())
    figures = (plot_convergence(res.runs, res.traces, res.folder / "figures", reference=refs)
               + plot_ecdf(costs, budget, res.folder))
    section = Section("3. equal-budget: direct error against gradients at equal cost")
    split_seeds = ", ".join(str(int(s)) for s in sorted(res.runs["split_seed"].unique()))
    tests = leaders_and_tests(res.runs, params["selection_seeds"], claim)
    tests_md = write_table(tests, res.folder, "leader_tests", digits=3) if len(tests) else ""
    art = reference_ert(res.runs[res.runs["status"] != "failed"], res.traces, refs, [min(targets)])
    art_md = write_table(art, res.folder, "ert", digits=4)
    n_params = {k: len(x) for k, x in res.weights.items()}
    profiles = plot_profiles(res.runs, res.traces, n_params, res.folder / "figures")
    seeds = sorted(int(s) for s in res.runs["seed"].unique())
    n_test = len(seeds) - params["selection_seeds"]
    floor = smallest_p("wilcoxon", n_test) if n_test > 0 else 1.0
    cells = []
    for (dataset, lam), g in tests.groupby(["dataset", "lam"]) if len(tests) else []:
        verdict = "**holds**" if g["lower"].all() else "is **not shown**"
        cells.append(f"{dataset} lam={lam:g}: leader {g['leader'].iloc[0]}, lower J than {int(g['lower'].sum())} "
                     f"of {len(g)} others (largest p {number(g['p'].max(), 2)}): the claim {verdict}")
    section.add(
        f"{len(res.runs)} runs, budget {budget:g} each (a gradient costs {GRAD_COST:g} evaluations of J). Target: "
        f"within {' or '.join(f'{t:.0%}' for t in targets)} of the reference J of the same problem, the best of "
        f"{len(params['reference_seeds'])} L-BFGS starts at the tightest tolerances from seeds "
        f"{', '.join(str(s) for s in params['reference_seeds'])}, which no compared run uses (one train split, "
        f"split seed {split_seeds}; every method of a seed starts from the same weights). Success rate and cost of "
        "the runs that reached it (median and quartiles):",
        md, claim.describe(),
        f"Verdict (leader chosen on seeds {seeds[:params['selection_seeds']]}, tested on the other {n_test}; the "
        f"smallest p a two-sided signed-rank test gives on {n_test} pairs is {floor:.2g}"
        + (", not below alpha: **no comparison can pass**" if floor >= claim.alpha else "") + "): "
        + ("; ".join(cells) if cells else "not tested: no seeds left after the selection") + ".",
        tests_md,
        f"Average running time to within {min(targets):.0%} (COCO's aRT: evaluations of all runs, unsuccessful "
        "ones counted until they stopped, over the number of successes; inf: no success) with a 95% percentile "
        "bootstrap interval over runs:", art_md,
        figure_links(figures, out), figure_links(profiles, out))
    ranks = dataset_ranks(res.runs)
    mean = ranks.mean().sort_values()
    section.add(
        f"Mean rank of the final J (1 = lowest; per data set, the rank of the median over seeds averaged over its "
        f"lams, which share the data and so are not independent problems), over the {len(ranks)} data set(s): "
        + ", ".join(f"{m} {r:.2f}" + (f" (range {ranks[m].min():.2f} to {ranks[m].max():.2f})" if len(ranks) > 1
                                      else "") for m, r in mean.items())
        + f". No Friedman or Nemenyi test: {len(ranks)} independent data set(s) are too few for a rank test and "
        f"for an interval (none below {MIN_N_INTERVAL}).")
    return section

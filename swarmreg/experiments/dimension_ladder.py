"""Experiment 7, ``dimension-ladder``: at what size does training by direct search stop reaching what
gradient training reaches, and does that move with the budget or the optimizer's settings?

MNIST-1D alone (:func:`swarmreg.datasets.load` ``"mnist1d"``), networks 40-h-10 and 40-h-h-10 whose
weight count n grows geometrically, every method with budget k x (n + 1) for each multiplier k (COCO's
convention). Targets a run can meet at every size: at lam > 0, J within (1 + t) of a reference J from
L-BFGS starts that no compared run uses (:mod:`.ladder_design`); at lam = 0, training-accuracy targets.
Outputs: the largest size each method reaches each target at in most seeds, with its interval; the
runtime ECDF over targets and multipliers; aRT with its interval; Friedman ranks over the sizes (the
independent problems) at the largest multiplier; the settings variants; test accuracy against compute.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import stats
from ..claims import parse_claims, require
from . import ladder_results as lr
from .common import Section, execute, figure_links, load_config, write_table
from .ladder_design import (
    PROFILES,
    REFERENCE,
    Design,
    check_profile,
    design,
    ladder_specs,
    n_params,
    reference_specs,
    sensitivity_specs,
)
from .ladder_figures import plot_accuracy, plot_ecdf, plot_references

NAME = "dimension-ladder"
__all__ = ["NAME", "PROFILES", "check_profile", "run"]


def _design_text(d: Design, runs: pd.DataFrame, refs: pd.DataFrame) -> str:
    sizes = ", ".join(f"{'-'.join(['40', *map(str, h), '10'])} ({n_params(h)})" for h in d.hidden)
    capped = {m: c for m, c in d.ladder.get("max_weights", {}).items() if m in d.ladder["methods"]}
    ladder = runs[~runs["method"].isin([REFERENCE, *d.sensitivity["variants"]])]
    reference = runs[runs["method"] == REFERENCE]
    variant = runs[runs["method"].isin(list(d.sensitivity["variants"]))]
    return (
        f"**Design.** MNIST-1D (the `mnist1d` package's generator, default arguments; 4,000 training and 1,000 test "
        f"items, 40 features, 10 classes). Networks (weights n): {sizes}; tanh hidden layers, softmax output. "
        f"Methods: {', '.join(d.ladder['methods'])}"
        + (", except " + ", ".join(f"`{m}` above {c} weights (not run there: its cost per step grows as n^2)"
                                   for m, c in capped.items()) if capped else "")
        + f". lam in {d.ladder['lams']}; seeds {d.ladder['seeds']}; budget k x (n + 1) evaluations of J for k in "
        f"{d.multipliers}, one run per (size, method, lam, seed, k), the same budget for every method (a gradient "
        f"counts 3 evaluations). Targets: at lam > 0, J <= (1 + t) x reference J for t in {d.params['j_targets']}; "
        f"at lam = 0, training accuracy >= a for a in {d.params['accuracy_targets']} (without L2, J may have no "
        f"minimizer to refer to). A size is *reached* when more than half the seeds meet the target. "
        f"{len(ladder)} ladder runs, {ladder['wall_time'].sum():.0f} s of compute summed over runs; "
        f"{len(reference)} reference runs, {reference['wall_time'].sum():.0f} s; "
        f"{len(variant)} settings-variant runs, {variant['wall_time'].sum():.0f} s."
        + (f" Reference J: the lowest of {len(d.params['reference_seeds'])} L-BFGS starts (seeds "
           f"{d.params['reference_seeds']}, ftol = gtol = 0, up to {d.params['reference_multiplier']} x (n + 1) "
           f"evaluations each; `swarmreg.reference_minimum`'s runs, stored). {int((refs['converged'] > 0).sum())} "
           f"of {len(refs)} references have a start that converged; the starts' spread (highest J / lowest - 1) is "
           f"at most {refs['spread'].max():.2g}." if len(refs) else ""))


def _ranks(runs: pd.DataFrame, methods: list[str]) -> str:
    """Friedman over the sizes (independent problems) at the largest multiplier: J at lam > 0, training
    accuracy at lam = 0; only the methods run at every size."""
    top = runs[(runs["k"] == runs["k"].max()) & runs["method"].isin(methods)]
    everywhere = [m for m in methods if top.loc[top["method"] == m, "n_params"].nunique() == top["n_params"].nunique()]
    lines = []
    for lam, part in top[top["method"].isin(everywhere)].groupby("lam"):
        metric = "fun" if lam > 0 else "train_accuracy"
        try:
            r = stats.rank_summary(part, metric, within=["hidden"])
        except ValueError as exc:
            lines.append(f"lam = {lam:g}: no rank summary ({exc}).")
            continue
        lines.append(f"lam = {lam:g}, by {'J' if lam > 0 else 'training accuracy'} over {len(r.scores)} sizes: "
                     f"Friedman chi-square {r.statistic:.1f}, p = {r.p:.2g}; Nemenyi's critical difference "
                     f"{r.cd:.2f}; mean ranks " + ", ".join(f"{m} {v:.2f}" for m, v in r.mean_ranks.items()) + ".")
    return (f"**Ranks** (1 = best; median over seeds per size, k = {runs['k'].max():g}; methods run at every size): "
            + " ".join(lines))


def run(out: Path, profile: str = "full", workers: int | None = None, progress: bool | None = None,
        device: str | None = None) -> Section:
    check_profile(profile)
    config = load_config(NAME)
    d = design(config, profile)
    claims = parse_claims(config, where=f"{NAME} config")
    specs = ladder_specs(d) + reference_specs(d) + sensitivity_specs(d)
    device = device or d.params.get("device")  # the gpu profile's, unless reproduce names one
    res = execute(NAME, specs, out, None if device else workers, progress, device)
    runs = lr.with_size(res.runs)
    refs = lr.references(runs)
    hits = lr.successes(runs, refs, d.params["j_targets"], d.params["accuracy_targets"])
    ladder_hits = hits[hits["method"].isin(d.ladder["methods"])]
    broken = lr.breakdown(ladder_hits)
    ladder_runs = runs[runs["method"].isin(d.ladder["methods"])]
    arts = lr.art_table(ladder_runs, res.traces, refs, d.params["j_targets"])
    variants = {name: dict(opts) for name, opts in d.sensitivity["variants"].items()}
    sens = lr.sensitivity(hits[(hits["lam"] == d.sensitivity["lam"]) & (hits["k"] == max(d.multipliers))], variants)
    moves = lr.breakdown_moves(sens)
    claim = require(claims, "settings", "wilcoxon")
    tests = lr.settings_test(runs, refs, variants, d.sensitivity["lam"], max(d.multipliers), claim)
    figures = [plot_ecdf(ladder_hits, res.folder),
               plot_accuracy(ladder_runs, res.folder, d.params.get("baseline_accuracy"),
                             d.params.get("baseline_source", "")),
               plot_references(refs, res.folder)] if len(refs) else []
    failed = int((runs["status"] == "failed").sum())
    below = ladder_runs.merge(refs[["hidden", "lam", "reference_J"]], on=["hidden", "lam"])
    below = int((below["fun"] < below["reference_J"]).sum())
    art_md = arts.assign(aRT=[f"{e:.3g} [{lo:.3g}, {hi:.3g}]" for e, lo, hi in
                              zip(arts["ert"], arts["ert_low"], arts["ert_high"])]).pivot_table(
        index=["depth", "n_params", "method"], columns="t", values="aRT", aggfunc="first").rename(
        columns=lambda t: f"t = {t:g}").reset_index().rename_axis(columns=None) \
        if len(arts) else pd.DataFrame()
    section = Section("7. dimension-ladder: where training by direct search stops, from a hundred to a thousand "
                      "weights")
    section.add(
        _design_text(d, runs, refs),
        write_table(refs, res.folder, "references", digits=5),
        f"Runs that failed: {failed}. Compared runs with J below their reference J: {below}"
        + (" (the reference is then not the minimum: read those targets as lower bounds)." if below else "."),
        "**Largest size reached in most seeds**, per method, network family, lam and multiplier k. A cell "
        "`a (s/r [low, high]) → b (...)` says the method met the target in s of r seeds at size a (the largest "
        "size reached in most seeds; [low, high] the 95% Clopper-Pearson interval of its success rate) and not "
        "in most seeds at b, the next size on the ladder: the breakdown lies between a and b. `≥ a`: reached "
        "at the largest size; `< b`: reached at no size, b the smallest. At lam > 0 (J targets):",
        write_table(lr.breakdown_table(broken, True), res.folder, "breakdown_lam_positive"),
        "At lam = 0 (training-accuracy targets):",
        write_table(lr.breakdown_table(broken, False), res.folder, "breakdown_lam_zero"),
        f"**aRT** (COCO's average running time, in units of n + 1 evaluations; runs at k = {max(d.multipliers):g}, "
        "lam > 0; 95% percentile bootstrap interval over runs; inf = no run reached it) per target t "
        "(J <= (1 + t) x reference J):",
        write_table(art_md, res.folder, "art", digits=3) if len(art_md) else "(no lam > 0 problem)",
        _ranks(ladder_runs, d.ladder["methods"]),
        f"**Settings sensitivity** at lam = {d.sensitivity['lam']:g}, k = {max(d.multipliers):g}, sizes "
        f"{sorted(sens['n_params'].unique().tolist()) if len(sens) else []}: successes over seeds per J target, "
        "the default against each variant (`pso-ring`: pyswarms' ring topology; `de-5n`: 5 n members, capped at "
        f"{d.sensitivity['de_population_cap']}; `cma-es-4x`: 4 x pycma's default population; `openai-es-100`: "
        "100 antithetic pairs a generation against 30); cells `default → variant`:",
        write_table(lr.sensitivity_table(sens), res.folder, "settings") if len(sens) else "(no variant runs)",
        "Whether the breakdown moves: the largest of these sizes reached in most seeds, `default → variant` "
        "(`-`: neither size):",
        write_table(lr.moves_table(moves), res.folder, "settings_breakdown") if len(moves) else "(no variant runs)",
        "**Breakdown moves with the settings** for " + (", ".join(
            f"`{v}` ({', '.join(g['target'])})" for v, g in moves[moves["moves"]].groupby("variant"))
            or "no variant at these sizes and targets") + ".",
        claims["settings"].describe(),
        " ".join(lr.settings_verdict(row, claim) + "." for _, row in tests.iterrows()) if len(tests) else
        "No variant has paired runs.",
        figure_links(figures, out, "*Figures: runtime ECDF over targets and multipliers; test accuracy against "
                     "compute; the reference J per size. Each figure's caption is in the `.txt` file beside it.*"))
    return section

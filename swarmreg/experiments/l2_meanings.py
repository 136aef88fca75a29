"""Experiment 8, ``l2-meanings``: what "L2" means under each optimizer family.

Every setting aims, by the conversions in :mod:`swarmreg.l2`, at the one J = E + lam * ||W||^2: the
penalized objective (every method), OpenAI-ES's gradient-side ``l2coeff = 2*lam``, Adam's coupled L2,
AdamW's decoupled decay and SGD's coupled and decoupled decay. Per setting: the weight norm, J and
test accuracy it reaches, and how far its weights land from L-BFGS's from the same start (the
minimizer of J the others aim at); per pair the conversions call equivalent, whether they land on the
same weights (median relative distance over seeds below a threshold) and a paired test of their J.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import stats
from ..report import save_figure
from .common import (
    CI_NOTE,
    Section,
    build_specs,
    execute,
    figure_links,
    load_config,
    parts,
    summary_table,
    write_table,
)

NAME = "l2-meanings"
REFERENCE = "l-bfgs"


def distances(runs: pd.DataFrame, weights: dict[str, np.ndarray], reference: str = REFERENCE) -> pd.DataFrame:
    """Per run: ``||x - x_ref|| / ||x_ref||`` against the ``reference`` run with the same seed and lam."""
    ok = runs[runs["status"] != "failed"]
    ref = ok[ok["method"] == reference].set_index(["lam", "seed"])["key"]
    rows = []
    for r in ok.itertuples():
        if (r.lam, r.seed) in ref.index:
            x_ref = weights[ref[(r.lam, r.seed)]]
            rows.append({"key": r.key, "rel_distance_to_reference":
                         float(np.linalg.norm(weights[r.key] - x_ref) / np.linalg.norm(x_ref))})
    return ok.merge(pd.DataFrame(rows), on="key", how="left")


def pair_distance(runs: pd.DataFrame, weights: dict[str, np.ndarray], a: str, b: str) -> np.ndarray:
    """Relative distances ``||x_a - x_b|| / ||x_b||`` of the runs of ``a`` and ``b`` with the same seed."""
    ka = runs[runs["method"] == a].set_index("seed")["key"]
    kb = runs[runs["method"] == b].set_index("seed")["key"]
    seeds = ka.index.intersection(kb.index)
    return np.array([np.linalg.norm(weights[ka[s]] - weights[kb[s]]) / np.linalg.norm(weights[kb[s]])
                     for s in seeds])


def pair_rows(runs: pd.DataFrame, weights: dict[str, np.ndarray], pairs: list[list[str]],
              threshold: float) -> pd.DataFrame:
    """Per pair called equivalent: median relative weight distance, and a Wilcoxon test of their J."""
    rows = []
    present = set(runs["method"])
    for a, b in pairs:
        if not {a, b} <= present:
            continue
        d = pair_distance(runs, weights, a, b)
        ja = runs[runs["method"] == a].set_index("seed")["fun"]
        jb = runs[runs["method"] == b].set_index("seed")["fun"]
        seeds = ja.index.intersection(jb.index)
        test = stats.two_sample_test(ja[seeds].to_numpy(), jb[seeds].to_numpy(), paired=True)
        rows.append({"setting": a, "equivalent_to": b, "seeds": len(d),
                     "median_rel_distance": float(np.median(d)), "max_rel_distance": float(np.max(d)),
                     "same_weights": bool(np.median(d) < threshold),
                     "median_J_diff": test["median_diff"], "wilcoxon_p": test["p"]})
    out = pd.DataFrame(rows)
    if len(out):
        out["holm_p"] = stats.holm(out["wilcoxon_p"].to_numpy())
    return out


def plot_settings(runs: pd.DataFrame, folder: Path) -> Path:
    """Per setting, every seed's weight norm and relative distance to L-BFGS's weights (one dot a run)."""
    order = runs.groupby("method")["rel_distance_to_reference"].median().sort_values().index
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.35 * len(order) + 1.5), sharey=True)
    for i, method in enumerate(order):
        part = runs[runs["method"] == method]
        axes[0].plot(part["weight_norm"], [i] * len(part), "o", alpha=0.6, color="C0")
        if method != REFERENCE:  # the reference is at distance 0
            axes[1].plot(part["rel_distance_to_reference"], [i] * len(part), "o", alpha=0.6, color="C1")
    axes[0].set_yticks(range(len(order)), list(order))
    axes[0].set(xlabel="non-bias weight norm", title="weight norm reached")
    axes[1].set(xscale="log", xlabel="||x - x_L-BFGS|| / ||x_L-BFGS|| (same start)",
                title="distance to the minimizer of J")
    for ax in axes:
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"What each meaning of L2 reaches at lam = {runs['lam'].iloc[0]:g} (one dot per seed)")
    fig.tight_layout()
    return save_figure(fig, folder / "figures" / "settings.png")


def _pair_sentence(r) -> str:
    verdict = "land on the same weights" if r.same_weights else "do not land on the same weights"
    j = ("J differs" if r.holm_p < 0.05 else "no difference in J at 0.05")
    return (f"`{r.setting}` against `{r.equivalent_to}`: median relative distance {r.median_rel_distance:.2g} "
            f"(largest {r.max_rel_distance:.2g}), they {verdict}; median paired J difference "
            f"{r.median_J_diff:+.3g}, Wilcoxon over {r.seeds} seeds Holm-corrected p = {r.holm_p:.3g}: {j}")


def run(out: Path, profile: str = "full", workers: int | None = None, progress: bool | None = None) -> Section:
    config = load_config(NAME)
    params = config["parameters"]
    specs = build_specs(parts(config, profile), NAME)
    res = execute(NAME, specs, out, workers, progress)
    runs = distances(res.runs, res.weights)
    table = summary_table(runs, ["fun", "weight_norm", "test_accuracy", "train_accuracy"], res.folder, "l2_meanings")
    per_setting = runs.groupby("method")["rel_distance_to_reference"].median().rename("median_rel_distance") \
        .reset_index().sort_values("median_rel_distance")
    pairs = pair_rows(runs, res.weights, params["pairs"], params["same_weights"])
    spec = specs[0]
    section = Section("8. l2-meanings: one lam, many meanings of L2")
    section.add(
        f"{len(res.runs)} runs on {spec.dataset} (hidden {list(spec.hidden)}, one split, about "
        f"{1 - spec.test_size - spec.val_size:.0%} of the items for training), lam = {spec.lam:g}, budget "
        f"{spec.budget:g}, {runs['seed'].nunique()} seeds. Every setting is what the conversions in "
        "`swarmreg.l2` call equivalent to minimizing J at this lam: the penalized J (direct-search methods, "
        "L-BFGS, `openai-es`), OpenAI-ES with `l2coeff = 2*lam` on its estimated gradient "
        "(`openai-es-l2coeff`), `Adam(weight_decay=2*lam)` (`adam-l2`), `AdamW(lr, weight_decay=2*lam)` "
        "(`adamw`), and SGD coupled (`sgd-l2`, `sgdm-l2`) and decoupled with d = 2*lr*lam (`sgd-decoupled`, "
        "`sgdm-decoupled`), without and with momentum 0.9. Each run starts where L-BFGS from the same seed "
        "starts; L-BFGS's weights are the reference minimizer.",
        CI_NOTE, table,
        "Median relative distance of each setting's weights to L-BFGS's from the same start:",
        write_table(per_setting, res.folder, "distance_to_reference", digits=3),
        f"**Which \"equivalent\" settings land on the same weights** (median relative distance below "
        f"{params['same_weights']:g}):",
        write_table(pairs, res.folder, "equivalent_pairs", digits=3),
        " ".join(_pair_sentence(r) + "." for r in pairs.itertuples()) if len(pairs) else "",
        figure_links([plot_settings(runs, res.folder)], out, "*One dot per seed: no bands.*"))
    return section

"""Experiment 8, ``l2-meanings``: what "L2" means under each optimizer family.

Every setting aims, by the conversions in :mod:`swarmreg.l2`, at the one J = E + lam * ||W||^2: the
penalized objective (every method), OpenAI-ES's gradient-side ``l2coeff = 2*lam``, Adam's coupled L2,
AdamW's decoupled decay and SGD's coupled and decoupled decay. Settings are compared by what their
networks compute on the test set (the share of items they classify alike, the distance between their
logits); the weight distance is secondary, since the runs of a non-convex J land in different minima.
The reference of a seed is the lowest J any setting reached from that seed's start. The claims are
stated in ``configs/l2-meanings.toml``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd

from .. import stats
from ..claims import parse_claims, require
from ..execute import problem
from ..figstyle import method_style, save_figure
from ..stats_report import number
from .common import CI_NOTE, Section, build_specs, execute, figure_links, load_config, parts, summary_table, write_table

NAME = "l2-meanings"


def test_outputs(runs: pd.DataFrame, weights: dict[str, np.ndarray], spec) -> dict[str, np.ndarray]:
    """Each finished run's logits on the test split ``(N_test, K)`` (one split: every run shares it)."""
    ds, obj = problem(spec)
    return {k: obj.net.activations(ds.X_test, weights[k])[-1] for k in runs["key"]}


def compare(za: np.ndarray, zb: np.ndarray, xa: np.ndarray, xb: np.ndarray) -> dict[str, float]:
    """What two networks compute alike: the share of test items with the same predicted class, the
    relative logit distance ``||z_a - z_b|| / ||z_b||``, and (secondary) ``||x_a - x_b|| / ||x_b||``."""
    return {"agreement": float(np.mean(za.argmax(axis=1) == zb.argmax(axis=1))),
            "logit_distance": float(np.linalg.norm(za - zb) / np.linalg.norm(zb)),
            "weight_distance": float(np.linalg.norm(xa - xb) / np.linalg.norm(xb))}


def against_reference(runs: pd.DataFrame, logits: dict, weights: dict) -> pd.DataFrame:
    """Per run: J above the seed's reference (the lowest J any setting reached from that start) and
    :func:`compare` against the reference run."""
    rows = []
    for _, part in runs.groupby("seed"):
        ref = part.loc[part["fun"].idxmin()]
        for r in part.itertuples():
            rows.append({"key": r.key, "reference": ref["method"], "J_above_reference": r.fun - ref["fun"],
                         **compare(logits[r.key], logits[ref["key"]], weights[r.key], weights[ref["key"]])})
    return runs.merge(pd.DataFrame(rows), on="key")


def pair_rows(runs: pd.DataFrame, logits: dict, weights: dict, pairs: list[list[str]], rounding: float,
              same, differs) -> pd.DataFrame:
    """Per pair called equivalent, over the seeds both ran: median agreement, logit and weight distance,
    TOST of the agreement against 1 at the claim's margin, and J: identical when every seed's J agree to
    ``rounding`` (relative; not tested), a two-sided signed-rank test otherwise (Holm over tested pairs)."""
    rows = []
    present = set(runs["method"])
    for a, b in pairs:
        if not {a, b} <= present:
            continue
        ka, kb = (runs[runs["method"] == m].set_index("seed")["key"] for m in (a, b))
        seeds = ka.index.intersection(kb.index)
        per_seed = pd.DataFrame([compare(logits[ka[s]], logits[kb[s]], weights[ka[s]], weights[kb[s]])
                                 for s in seeds])
        ja, jb = (runs.set_index("key").loc[k[seeds], "fun"].to_numpy() for k in (ka, kb))
        identical = bool(np.all(np.abs(ja - jb) <= rounding * np.maximum(np.abs(ja), np.abs(jb))))
        agree = per_seed["agreement"].to_numpy()
        rows.append({"setting": a, "equivalent_to": b, "seeds": len(seeds), "agreement": float(np.median(agree)),
                     "logit_distance": per_seed["logit_distance"].median(),
                     "weight_distance": per_seed["weight_distance"].median(),
                     "p_same_function": stats.tost_paired(agree, np.ones_like(agree), same.margin)
                     if len(seeds) >= 2 else np.nan,
                     "J_identical": identical, "median_J_diff": float(np.median(ja - jb)),
                     "p_J": np.nan if identical else stats.two_sample_test(ja, jb, paired=True)["p"]})
    out = pd.DataFrame(rows)
    if len(out):
        out["p_same_function_holm"] = same.adjust(out["p_same_function"])
        out["p_J_holm"] = differs.adjust(out["p_J"])
    return out


def plot_settings(runs: pd.DataFrame, folder: Path) -> Path:
    """Per setting, one dot per seed: test-prediction agreement and logit distance with the seed's
    reference, and (secondary) the weight distance."""
    order = runs.groupby("method")["agreement"].median().sort_values().index
    cols = [("agreement", "share of test items classified as the reference does", "linear"),
            ("logit_distance", "||z - z_ref|| / ||z_ref|| on the test set", "log"),
            ("weight_distance", "||x - x_ref|| / ||x_ref|| (secondary)", "log")]
    fig, axes = plt.subplots(1, 3, figsize=(15, 0.35 * len(order) + 1.8), sharey=True)
    for i, method in enumerate(order):
        part = runs[runs["method"] == method]
        style = method_style(str(method))
        for ax, (col, _, scale) in zip(axes, cols):
            values = part[col].to_numpy()
            if scale == "log":
                values = values[values > 0]  # the reference itself sits at distance 0
            ax.plot(values, [i] * len(values), style["marker"], color=style["color"], alpha=0.6, linestyle="none")
    axes[0].set_yticks(range(len(order)), list(order))
    for ax, (_, label, scale) in zip(axes, cols):
        ax.set(xlabel=label, xscale=scale)
        if scale == "log":
            ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"What each meaning of L2 computes at lam = {runs['lam'].iloc[0]:g}, against the lowest-J run of "
                 "the same start (one dot per seed)", fontsize=10)
    fig.tight_layout()
    caption = (f"Per setting (rows), one dot per seed ({runs['seed'].nunique()} seeds): left, the share of test items "
               "it classifies as the seed's reference does (the reference: the run of lowest J from that seed's "
               "start, over all settings); middle, the relative distance of its test-set logits to the reference's "
               "(log axis; the reference itself, at 0, is left out); right, the relative distance of its weights "
               "(secondary: runs of a non-convex J land in different minima). No bars or bands.")
    return save_figure(fig, folder / "figures" / "settings.png", caption)


def run(out: Path, profile: str = "full", workers: int | None = None, progress: bool | None = None,
        device: str | None = None) -> Section:
    config = load_config(NAME)
    claims = parse_claims(config, f"{NAME}.toml")
    same, differs = require(claims, "same-function", "tost"), require(claims, "j-differs", "wilcoxon")
    params = config["parameters"]
    specs = build_specs(parts(config, profile), NAME)
    res = execute(NAME, specs, out, workers, progress, device)
    ok = res.runs[res.runs["status"] != "failed"]
    logits = test_outputs(ok, res.weights, specs[0])
    runs = against_reference(ok, logits, res.weights)
    table = summary_table(runs, ["fun", "weight_norm", "test_accuracy", "train_accuracy"], res.folder, "l2_meanings")
    per_setting = runs.groupby("method")[["J_above_reference", "agreement", "logit_distance", "weight_distance"]] \
        .median().reset_index().sort_values("J_above_reference")
    refs = runs.drop_duplicates("seed")["reference"].value_counts()
    pairs = pair_rows(ok, logits, res.weights, params["pairs"], params["rounding"], same, differs)
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
        "`sgdm-decoupled`), without and with momentum 0.9. Every setting of a seed starts from the same weights. "
        "No setting is assumed to be the minimizer: a seed's reference is the run of lowest J from its start ("
        + ", ".join(f"{m} on {n} seed(s)" for m, n in refs.items()) + ").",
        CI_NOTE, table,
        "Per setting, medians over seeds against the seed's reference: J above it, the share of test items "
        "classified alike, the relative test-logit distance, and (secondary) the relative weight distance:",
        write_table(per_setting, res.folder, "against_reference", digits=3),
        same.describe(), differs.describe(),
        write_table(pairs, res.folder, "equivalent_pairs", digits=3),
        " ".join(_pair_sentence(r, same, differs) + "." for r in pairs.itertuples()) if len(pairs) else "",
        figure_links([plot_settings(runs, res.folder)], out))
    return section


def _pair_sentence(r, same, differs) -> str:
    function = (f"compute the same function within the margin (TOST p = {number(r.p_same_function_holm, 2)}, Holm)"
                if r.p_same_function_holm < same.alpha else
                f"are not shown to compute the same function (TOST p = {number(r.p_same_function_holm, 2)}, Holm, "
                f"n = {r.seeds})")
    j = ("J identical to rounding on every seed (not tested)" if r.J_identical else
         f"median paired J difference {number(r.median_J_diff, 3)}, "
         + ("J differs" if r.p_J_holm < differs.alpha else "J difference not shown")
         + f" (signed-rank p = {number(r.p_J_holm, 2)}, Holm, n = {r.seeds})")
    return (f"`{r.setting}` against `{r.equivalent_to}`: median test-prediction agreement {r.agreement:.3f}, "
            f"logit distance {number(r.logit_distance, 2)}, weight distance {number(r.weight_distance, 2)}; they "
            f"{function}; {j}")

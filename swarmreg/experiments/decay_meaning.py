"""Experiment 2, ``decay-meaning``: coupled L2 against the seed text's "simplified" decoupled decay.

(a) plain SGD: decoupled ``d = 2*lr*lam`` against coupled ``lam``, largest weight difference;
(b) the seed text's lambda, shrink ``1 - eta*lambda/n``: online (n = 1) against full batch (n = N);
(c) momentum 0.9: coupled against decoupled at the same lam; (d) a fixed fraction d as lam across learning rates.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import l2
from ..datasets import load
from ..report import save_figure
from ..stats import MIN_N_INTERVAL, UnattainableAlpha, ci_summary, holm, pairwise, two_sample_test
from .common import (
    CI_NOTE,
    Section,
    build_specs,
    cite,
    execute,
    figure_links,
    load_config,
    parts,
    summary_table,
    write_table,
)

NAME = "decay-meaning"
BATCH = 16
SEED_RULE_LR = 0.05  # one learning rate for online and full batch in part b, so only n differs


def _data_parts(base: dict, params: dict, n_train: int) -> dict[str, dict]:
    """Parts b and d, whose lams depend on N and on the learning rate."""
    common = {k: base[k] for k in ("datasets", "hidden", "seeds", "budget")}
    out = {}
    for mode, n in (("online", 1), ("full-batch", n_train)):
        variant = {"method": "backprop", "momentum": 0.0, "lr": SEED_RULE_LR,
                   "batch_size": 1 if n == 1 else None}
        out[f"b-{mode}"] = {**common, "name": f"b-{mode}", "methods": [f"seed-{mode}"],
                            "lams": [l2.from_seed_lambda(s, n) for s in params["seed_lambdas"]],
                            "variants": {f"seed-{mode}": variant}}
    d = params["fixed_fraction"]
    for lr in params["learning_rates"]:
        sgd = {"method": "backprop", "momentum": 0.0, "lr": lr, "batch_size": BATCH}
        out[f"d-lr{lr:g}"] = {**common, "name": f"d-lr{lr:g}", "lams": [l2.from_decoupled(d, lr)],
                              "methods": [f"d-decoupled-lr{lr:g}", f"d-coupled-lr{lr:g}"],
                              "variants": {f"d-decoupled-lr{lr:g}": {**sgd, "decay": "decoupled",
                                                                     "decay_rate": d},
                                           f"d-coupled-lr{lr:g}": sgd}}
    return out


def _pair_diffs(runs: pd.DataFrame, weights: dict, a: str, b: str) -> pd.DataFrame:
    """Largest |x_a - x_b| over the runs of methods a and b with the same (lam, seed)."""
    left = runs[runs["method"] == a].set_index(["lam", "seed"])["key"]
    right = runs[runs["method"] == b].set_index(["lam", "seed"])["key"]
    rows = [{"lam": lam, "seed": seed,
             "max_abs_weight_diff": float(np.max(np.abs(weights[k] - weights[right[(lam, seed)]])))}
            for (lam, seed), k in left.items() if (lam, seed) in right.index]
    return pd.DataFrame(rows)


def _paired(runs: pd.DataFrame, a: str, b: str, metric: str = "weight_norm") -> dict:
    """Two-sided Wilcoxon signed-rank test of ``metric`` between methods a and b, paired on seed."""
    left = runs[runs["method"] == a].set_index("seed")[metric]
    right = runs[runs["method"] == b].set_index("seed")[metric]
    seeds = left.index.intersection(right.index)
    return two_sample_test(left[seeds].to_numpy(), right[seeds].to_numpy(), paired=True)


def _median_bars(ax: plt.Axes, x: pd.Series, cells: pd.DataFrame, **style: object) -> None:
    """The median with its bootstrap interval, or the range where too few seeds give no interval."""
    med = cells["weight_norm_median"].to_numpy()
    interval = (cells["weight_norm_interval"] != "range").to_numpy()
    low = np.where(interval, cells["weight_norm_low"], cells["weight_norm_min"])
    high = np.where(interval, cells["weight_norm_high"], cells["weight_norm_max"])
    bars = np.array([med - low, high - med])
    ax.errorbar(x.to_numpy(), med, yerr=np.nan_to_num(bars), capsize=3, **style)


def run(out: Path, profile: str = "full", workers: int | None = None, progress: bool | None = None,
        device: str | None = None) -> Section:
    config = load_config(NAME)
    fixed = parts(config, profile)
    base = fixed["a-plain-sgd"]
    n_train = len(load(base["datasets"][0], seed=0).X_train)
    specs = build_specs({**fixed, **_data_parts(base, config["parameters"], n_train)}, NAME)
    res = execute(NAME, specs, out, workers, progress, device)
    runs, folder = res.runs, res.folder
    section = Section("2. decay-meaning: what lambda means to backprop")
    section.add(f"Backprop on {base['datasets'][0]} (N = {n_train} training items), network hidden "
                f"{base['hidden'][0]}, {len(base['seeds'])} seeds, budget {base['budget']:g} per run; "
                f"mini-batches of {BATCH} unless said.")

    diffs = _pair_diffs(runs, res.weights, "sgd-coupled", "sgd-decoupled")
    worst = diffs["max_abs_weight_diff"].max()
    verdict = ("the two agree to within 1e-10 on every weight of every run: a measured bound, not a test"
               if worst < 1e-10 else "the trajectories differ")
    section.add("### (a) Plain SGD: decoupled d = 2*lr*lam against coupled lam",
                f"Largest absolute weight difference over {len(diffs)} paired runs: "
                f"**{worst:.3g}** ({verdict}).", CI_NOTE,
                summary_table(runs[runs["method"].str.startswith("sgd-")], ["weight_norm", "fun", "test_accuracy"],
                              folder, "a_plain_sgd"))

    b = runs[runs["method"].str.startswith("seed-")].copy()
    b["n"] = np.where(b["method"] == "seed-online", 1, n_train)
    b["seed_lambda"] = (2 * b["n"] * b["lam"]).round(12)
    b_table = b.groupby(["seed_lambda", "method", "n", "lam"])[["fun", "error", "weight_norm", "test_accuracy"]] \
        .mean().reset_index()
    online = b_table[b_table["method"] == "seed-online"].set_index("seed_lambda")
    full = b_table[b_table["method"] == "seed-full-batch"].set_index("seed_lambda")
    shared = [s for s in online.index if s in full.index]
    b_tests = [_paired(b[b["seed_lambda"] == s], "seed-online", "seed-full-batch") for s in shared]
    b_holm = holm([t["p"] for t in b_tests])
    section.add("### (b) The seed text's lambda: one number, online against full batch",
                f"The same lambda shrinks by 1 - eta*lambda/n; with n = 1 (online) the penalty is lam = lambda/2, "
                f"with n = N = {n_train} (full batch) lambda/(2N): {n_train} times smaller. Same learning rate "
                f"{SEED_RULE_LR} for both. Mean weight norm online / full batch: "
                + ", ".join(f"lambda={s:g}: {online.loc[s, 'weight_norm']:.3g} / {full.loc[s, 'weight_norm']:.3g} "
                            f"(p = {p:.2g})" for s, p in zip(shared, b_holm))
                + f"; {cite('wilcoxon', min(t['n'] for t in b_tests), len(shared))}.",
                write_table(b_table, folder, "b_seed_lambda"))

    c = runs[runs["method"].str.startswith("momentum-")]
    c_means = c.groupby(["method", "lam"])["weight_norm"].mean().unstack(0)
    gap = (c_means["momentum-decoupled"] / c_means["momentum-coupled"] - 1).abs().max()
    with warnings.catch_warnings():  # the sentence below states the smallest p the design can give
        warnings.simplefilter("ignore", UnattainableAlpha)
        c_tests = pairwise(c, "weight_norm", by="method", within=("dataset", "hidden", "lam")).set_index("lam")
    parted = c_tests[c_tests["p_holm"] < 0.05]
    section.add("### (c) Momentum 0.9: coupled against decoupled at the same lam",
                "Mean weight norm coupled / decoupled at the same lam (decoupled d = 2*lr*lam): "
                + ", ".join(f"lam={lam:g}: {r['momentum-coupled']:.3g} / {r['momentum-decoupled']:.3g} "
                            f"(p = {c_tests.loc[lam, 'p_holm']:.2g})" for lam, r in c_means.iterrows())
                + f" ({cite(c_tests['test'].iloc[0], int(c_tests['n'].min()), len(c_tests))}); "
                f"the two differ by up to {gap:.0%}: "
                + (f"with momentum they part ways (significant at 0.05 at {len(parted)} of {len(c_tests)} lams)."
                   if len(parted) else f"a difference is not shown at 0.05 at any lam (n = {int(c_tests['n'].min())} "
                   f"pairs; the smallest p the test can give is {c_tests['min_p'].min():.2g} before Holm)."),
                CI_NOTE, summary_table(c, ["weight_norm", "fun", "error", "test_accuracy"], folder, "c_momentum"))

    d_rows = []
    for lr in config["parameters"]["learning_rates"]:
        dec, cou = f"d-decoupled-lr{lr:g}", f"d-coupled-lr{lr:g}"
        part = runs[runs["method"].isin([dec, cou])]
        diff = _pair_diffs(part, res.weights, dec, cou)
        d_rows.append({"lr": lr, "d": config["parameters"]["fixed_fraction"], "lam = d/(2 lr)": part["lam"].iloc[0],
                       "weight_norm decoupled": part[part["method"] == dec]["weight_norm"].mean(),
                       "weight_norm coupled": part[part["method"] == cou]["weight_norm"].mean(),
                       "max_abs_weight_diff": diff["max_abs_weight_diff"].max()})
    d_table = pd.DataFrame(d_rows)
    worst_d = d_table["max_abs_weight_diff"].max()
    norms = d_table["weight_norm decoupled"]
    lr_lo, lr_hi = d_table["lr"].iloc[0], d_table["lr"].iloc[-1]
    d_test = _paired(runs, f"d-decoupled-lr{lr_lo:g}", f"d-decoupled-lr{lr_hi:g}")
    section.add("### (d) A fixed fraction d across learning rates",
                f"Subtracting the same fraction d of each weight per plain-SGD step against coupled L2 with "
                f"lam = d/(2*lr): largest weight difference {worst_d:.3g} over all learning rates ("
                + ("agreeing to within 1e-10 on every weight" if worst_d < 1e-10 else "the trajectories differ")
                + f"); the weight norm the same d reaches goes from {norms.iloc[0]:.3g} at "
                f"lr={lr_lo:g} to {norms.iloc[-1]:.3g} at lr={lr_hi:g} (means; "
                f"p = {d_test['p']:.2g}, {cite(d_test['test'], d_test['n'], 1)}): "
                + ("one d, a different penalty at every learning rate." if d_test["p"] < 0.05 else
                   f"a difference is not shown at 0.05 (n = {d_test['n']} pairs; the smallest p the test can give "
                   f"is {d_test['min_p']:.2g})."),
                write_table(d_table, folder, "d_fixed_fraction"))

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for method, cells in ci_summary(c, ["weight_norm"], group=["method", "lam"]).groupby("method"):
        _median_bars(axes[0], cells["lam"], cells, marker="o", label=method)
    axes[0].set(xscale="log", xlabel="lam", ylabel="non-bias weight norm", title="(c) momentum 0.9")
    axes[0].legend()
    d_runs = runs[runs["method"].str.startswith("d-")].assign(lr=lambda r: r["method"].str.split("-lr").str[1])
    for kind, marker, style, label in (("decoupled", "o", "-", f"decoupled d={d_rows[0]['d']:g}"),
                                       ("coupled", "x", "--", "coupled lam = d/(2 lr)")):
        cells = ci_summary(d_runs[d_runs["method"].str.startswith(f"d-{kind}-")], ["weight_norm"], group=["lr"])
        _median_bars(axes[1], cells["lr"].astype(float), cells, marker=marker, linestyle=style, label=label)
    axes[1].set(xscale="log", xlabel="learning rate", ylabel="non-bias weight norm", title="(d) fixed fraction d")
    axes[1].legend()
    for ax in axes:
        ax.grid(True, alpha=0.3)
    n = len(base["seeds"])
    bars = ("95% bootstrap intervals of the median" if n >= MIN_N_INTERVAL else
            f"the range over the {n} seeds (fewer than {MIN_N_INTERVAL}: no interval)")
    fig.suptitle(f"median over seeds; error bars: {bars}", fontsize=9)
    fig.tight_layout()
    caption = (f"Backprop's non-bias weight norm, the median over {n} seeds per point. Left, (c): momentum 0.9, "
               "coupled L2 lam against decoupled decay d = 2*lr*lam, against lam (log axis). Right, (d): plain SGD "
               "subtracting the same fraction d per step (decoupled) against coupled lam = d/(2 lr), against the "
               f"learning rate (log axis). Error bars: {bars} (BCa, percentile where BCa is undefined).")
    path = save_figure(fig, folder / "figures" / "decay_meaning.png", caption)
    section.add(figure_links([path], out))
    return section

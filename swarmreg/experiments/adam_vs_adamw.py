"""Experiment 6, ``adam-vs-adamw``: Adam with L2 against AdamW over a grid of learning rate x weight
decay (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019, Fig. 2), with SGD
with momentum, coupled and decoupled, as the control.

Two claims, each with a computed verdict: (1) decoupling makes the best weight decay independent of
the learning rate: per optimizer, the spread in decades of the best decay (by validation error)
across learning rates, with a bootstrap interval over seeds of AdamW's spread minus Adam's; (2)
AdamW's best test error is lower than Adam+L2's: a paired Wilcoxon test over seeds at each one's best
cell (by mean validation error).
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import stats
from ..report import save_figure
from .common import Section, build_specs, execute, figure_links, load_config, parameters, parts, write_table

NAME = "adam-vs-adamw"
OPTIMIZERS = {  # name -> (family for the learning-rate grid, variant options)
    "adam-l2": ("adam", {"method": "adam", "decay": "coupled"}),
    "adamw": ("adam", {"method": "adam", "decay": "decoupled"}),
    "sgdm-l2": ("sgd", {"method": "backprop", "momentum": 0.9, "decay": "coupled"}),
    "sgdmw": ("sgd", {"method": "backprop", "momentum": 0.9, "decay": "decoupled"}),
}
PAIRS = (("adamw", "adam-l2"), ("sgdmw", "sgdm-l2"))  # (decoupled, coupled)
BOOTSTRAP = 2000


def grid_parts(config: dict, profile: str) -> tuple[dict[str, dict], dict]:
    """The sweep part with one variant per (optimizer, learning rate) and lams = wd / 2."""
    params = parameters(config, profile)
    (part,) = parts(config, profile).values()
    variants = {}
    for name, (family, options) in OPTIMIZERS.items():
        for lr in params["learning_rates"][family]:
            variants[f"{name} lr={lr:g}"] = {**options, "lr": lr, "batch_size": params["batch_size"]}
    part.update(methods=list(variants), variants=variants, lams=[wd / 2 for wd in params["weight_decays"]])
    return {"main": part}, params


def with_grid_columns(runs: pd.DataFrame) -> pd.DataFrame:
    """Adds optimizer, lr, wd (= 2 lam, PyTorch's weight_decay) and the validation and test errors."""
    ok = runs[runs["status"] != "failed"].copy()
    ok["optimizer"] = ok["method"].str.split(" ").str[0]
    ok["lr"] = [json.loads(s)["options"]["lr"] for s in ok["spec"]]
    ok["wd"] = 2 * ok["lam"]
    ok["val_error"] = 1 - ok["val_accuracy"]
    ok["test_error"] = 1 - ok["test_accuracy"]
    return ok


def best_decays(runs: pd.DataFrame) -> pd.DataFrame:
    """Per optimizer and learning rate: the weight decay with the lowest mean validation error."""
    means = runs.groupby(["optimizer", "lr", "wd"])["val_error"].mean().reset_index()
    best = means.loc[means.groupby(["optimizer", "lr"])["val_error"].idxmin()]
    return best.rename(columns={"wd": "best_wd", "val_error": "mean_val_error"}).reset_index(drop=True)


def decay_spread(runs: pd.DataFrame) -> pd.Series:
    """Per optimizer: decades between the largest and smallest best weight decay across learning rates."""
    best = best_decays(runs)
    return best.groupby("optimizer")["best_wd"].agg(lambda w: float(np.log10(w.max() / w.min())))


def spread_interval(runs: pd.DataFrame, decoupled: str, coupled: str, seed: int = 0) -> tuple[float, stats.Interval]:
    """Spread of ``decoupled`` minus spread of ``coupled``, and its 95% percentile bootstrap interval over
    seeds (the seeds resampled with replacement, the same resample for every cell)."""
    def spreads(opt: str, idx: np.ndarray) -> np.ndarray:
        """The spread of ``opt`` under each resample of the seeds (rows of ``idx``)."""
        cube = runs[runs["optimizer"] == opt].set_index(["lr", "wd", "seed"])["val_error"].unstack("seed")
        wds = cube.index.get_level_values("wd").unique().to_numpy()
        errors = cube.to_numpy().reshape(-1, len(wds), cube.shape[1])  # (lr, wd, seed)
        best = wds[np.argmin(errors[:, :, idx].mean(axis=-1), axis=1)]  # (lr, resample)
        return np.log10(best.max(axis=0) / best.min(axis=0))

    n = runs["seed"].nunique()
    idx = np.random.default_rng(seed).integers(0, n, size=(BOOTSTRAP, n))
    diffs = spreads(decoupled, idx) - spreads(coupled, idx)
    observed = decay_spread(runs[runs["optimizer"].isin([decoupled, coupled])])
    low, high = np.percentile(diffs, [2.5, 97.5])
    return float(observed[decoupled] - observed[coupled]), stats.Interval(low, high, f"percentile, {BOOTSTRAP} "
                                                                                     "resamples of the seeds")


def best_cells(runs: pd.DataFrame) -> pd.DataFrame:
    """Per optimizer: the (lr, wd) with the lowest mean validation error, and the test error there."""
    means = runs.groupby(["optimizer", "lr", "wd"])[["val_error", "test_error"]].mean().reset_index()
    best = means.loc[means.groupby("optimizer")["val_error"].idxmin()].reset_index(drop=True)
    return best.rename(columns={"val_error": "mean_val_error", "test_error": "mean_test_error"})


def paired_test(runs: pd.DataFrame, cells: pd.DataFrame, a: str, b: str) -> dict:
    """Wilcoxon signed-rank over seeds of the test errors of ``a`` and ``b`` at their best cells."""
    def errors(opt: str) -> pd.Series:
        cell = cells[cells["optimizer"] == opt].iloc[0]
        rows = runs[(runs["optimizer"] == opt) & (runs["lr"] == cell["lr"]) & (runs["wd"] == cell["wd"])]
        return rows.set_index("seed")["test_error"]
    ea, eb = errors(a), errors(b)
    seeds = ea.index.intersection(eb.index)
    result = stats.two_sample_test(ea[seeds].to_numpy(), eb[seeds].to_numpy(), paired=True)
    diff = ea[seeds].to_numpy() - eb[seeds].to_numpy()
    result["interval"] = stats.bootstrap_ci(diff, "median", seed=0) if len(diff) > 1 else None
    return result


def plot_heatmaps(runs: pd.DataFrame, cells: pd.DataFrame, folder: Path) -> Path:
    """Mean test error per (lr, wd), one panel per optimizer, the best cell (by validation error) boxed."""
    opts = [o for o in OPTIMIZERS if o in set(runs["optimizer"])]
    fig, axes = plt.subplots(1, len(opts), figsize=(3.6 * len(opts), 3.4), squeeze=False)
    means = runs.groupby(["optimizer", "lr", "wd"])["test_error"].mean()
    vmin, vmax = means.min(), means.max()
    for ax, opt in zip(axes[0], opts):
        table = means[opt].unstack("wd")
        image = ax.imshow(table.to_numpy(), origin="lower", cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto")
        ax.set_xticks(range(table.shape[1]), [f"{w:g}" for w in table.columns], rotation=45)
        ax.set_yticks(range(table.shape[0]), [f"{lr:g}" for lr in table.index])
        for i in range(table.shape[0]):
            for j in range(table.shape[1]):
                ax.text(j, i, f"{table.iat[i, j]:.3f}", ha="center", va="center", fontsize=7, color="w")
        best = cells[cells["optimizer"] == opt].iloc[0]
        i, j = list(table.index).index(best["lr"]), list(table.columns).index(best["wd"])
        ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2.5))
        ax.set(title=opt, xlabel="weight decay wd", ylabel="learning rate")
    fig.colorbar(image, ax=axes[0].tolist(), label="mean test error over seeds")
    fig.suptitle("Test error per (learning rate, weight decay); red box: best mean validation error")
    return save_figure(fig, folder / "figures" / "heatmaps.png")


def _verdict_spread(name_a: str, name_b: str, diff: float, interval: stats.Interval, spread: pd.Series) -> str:
    holds = interval.high < 0
    return (f"{name_a}'s best weight decay moves over {spread[name_a]:.1f} decades across learning rates, "
            f"{name_b}'s over {spread[name_b]:.1f}; difference {diff:+.1f} decades, 95% interval "
            f"[{interval.low:+.1f}, {interval.high:+.1f}] ({interval.method}): "
            + ("decoupling makes the best decay less dependent on the learning rate here" if holds else
               "not shown at this scale (the interval reaches 0 or above)"))


def _verdict_test(a: str, b: str, result: dict, cells: pd.DataFrame) -> str:
    ca, cb = (cells[cells["optimizer"] == o].iloc[0] for o in (a, b))
    iv = result["interval"]
    better = result["p"] < 0.05 and result["median_diff"] < 0
    worse = result["p"] < 0.05 and result["median_diff"] > 0
    return (f"{a} at its best cell (lr {ca['lr']:g}, wd {ca['wd']:g}) has mean test error {ca['mean_test_error']:.4f}, "
            f"{b} at its own (lr {cb['lr']:g}, wd {cb['wd']:g}) {cb['mean_test_error']:.4f}; median paired "
            f"difference {result['median_diff']:+.4f}"
            + (f", 95% bootstrap interval [{iv.low:+.4f}, {iv.high:+.4f}]" if iv is not None else "")
            + f", Wilcoxon signed-rank over {result['n']} seeds p = {result['p']:.3g}: "
            + (f"{a} is better" if better else f"{a} is worse" if worse else "no difference at 0.05"))


def run(out: Path, profile: str = "full", workers: int | None = None, progress: bool | None = None) -> Section:
    config = load_config(NAME)
    grid, params = grid_parts(config, profile)
    specs = build_specs(grid, NAME)
    res = execute(NAME, specs, out, workers, progress)
    runs = with_grid_columns(res.runs)
    cells = best_cells(runs)
    best = best_decays(runs)
    spread = decay_spread(runs)
    figure = plot_heatmaps(runs, cells, res.folder)
    section = Section("6. adam-vs-adamw: L2 in Adam against decoupled weight decay (AdamW)")
    claims_1, claims_2 = [], []
    for decoupled, coupled in PAIRS:
        if not {decoupled, coupled} <= set(runs["optimizer"]):
            continue
        if runs["lr"][runs["optimizer"] == decoupled].nunique() > 1:
            diff, interval = spread_interval(runs, decoupled, coupled)
            claims_1.append(_verdict_spread(decoupled, coupled, diff, interval, spread))
        claims_2.append(_verdict_test(decoupled, coupled, paired_test(runs, cells, decoupled, coupled), cells))
    spec = specs[0]
    section.add(
        f"{len(res.runs)} runs on {spec.dataset} (hidden {list(spec.hidden)}, one split: "
        f"{1 - spec.test_size - spec.val_size:.0%} train, {spec.val_size:.0%} validation, "
        f"{spec.test_size:.0%} test), mini-batches of {params['batch_size']}, "
        f"budget {spec.budget:g} ({spec.budget / 3:g} epochs), {runs['seed'].nunique()} seeds. Weight decay wd is "
        "PyTorch's `weight_decay`: `adam-l2` is `Adam(weight_decay=wd)` on the weights (J's lam = wd/2 in the "
        "gradient, rescaled by Adam's per-weight step), `adamw` is `AdamW(lr, weight_decay=wd)` (each step "
        "first shrinks the weights by lr*wd), `sgdm-l2` and `sgdmw` the same two with SGD and momentum 0.9. "
        "Cells are chosen by mean validation error; test errors are reported.",
        "**Claim tested: decoupling makes the best weight decay independent of the learning rate.** "
        + " ".join(c + "." for c in claims_1),
        write_table(best, res.folder, "best_decay_per_lr", digits=3),
        "**Claim tested: AdamW's best test error is lower than Adam+L2's** (and, as the control, SGD with "
        "momentum decoupled against coupled). " + " ".join(c + "." for c in claims_2),
        write_table(cells, res.folder, "best_cells", digits=4),
        figure_links([figure], out, "*Heatmaps: the mean test error over seeds in each cell (no bands); the red "
                     "box marks the cell with the lowest mean validation error.*"))
    return section

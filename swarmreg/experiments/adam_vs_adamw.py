"""Experiment 6, ``adam-vs-adamw``: Loshchilov & Hutter's two claims ("Decoupled Weight Decay
Regularization", ICLR 2019) on a grid of base learning rate x decay, every run under cosine annealing
stepped per batch, as they ran theirs.

Five optimizers, each on its own half-decade grid: Adam with coupled L2 (``adam-l2``), AdamW in L&H's
form (``adamw-lh``: shrink ``eta_t*lambda`` per step, independent of the base rate) and in PyTorch's
(``adamw-torch``: ``lr_t*wd``), and SGD with momentum, coupled (``sgdm-l2``) and decoupled in L&H's
form (``sgdmw-lh``). Every run's J carries ``lam = decay/2``, the decay being the optimizer's own
coefficient (Adam's or SGD's ``weight_decay``, L&H's ``lambda``, AdamW's ``weight_decay``).

Claim 1 (the best decay does not depend on the learning rate once decoupled) is measured as the slope of
log10(best decay) against log10(learning rate) over the rows of the low-error basin, the best decay of a
row refined to the vertex of the parabola through its grid minimum; a bootstrap over seeds gives each
slope's interval and tests the decoupled-minus-coupled difference. Claim 2 (AdamW's best test error is
below Adam+L2's) is tested on fresh seeds at the two best cells chosen on the grid's validation error:
a paired estimate with its interval, a one-sided signed-rank test and an equivalence test at the
margin stated in the config, the seeds sized by a pilot's paired standard deviation.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from scipy import stats as st
from statsmodels.stats.power import TTestPower
from statsmodels.stats.weightstats import ttost_paired

from ..claims import Claim, not_shown, parse_claims, require
from ..figstyle import method_style, save_figure
from .common import Section, build_specs, execute, figure_links, load_config, parameters, parts, write_table

NAME = "adam-vs-adamw"
OPTIMIZERS = {  # name -> (family of its learning-rate grid, options, its decay coefficient)
    "adam-l2": ("adam", {"method": "adam", "decay": "coupled"}, "Adam weight_decay"),
    "adamw-lh": ("adam", {"method": "adam", "decay": "decoupled", "decay_scale": "schedule"}, "L&H lambda"),
    "adamw-torch": ("adam", {"method": "adam", "decay": "decoupled"}, "AdamW weight_decay"),
    "sgdm-l2": ("sgd", {"method": "backprop", "momentum": 0.9, "decay": "coupled"}, "SGD weight_decay"),
    "sgdmw-lh": ("sgd", {"method": "backprop", "momentum": 0.9, "decay": "decoupled", "decay_scale": "schedule"},
                 "L&H lambda"),
}
PAIRS = (("adamw-lh", "adam-l2"), ("sgdmw-lh", "sgdm-l2"))  # (decoupled in L&H's form, coupled)
CLAIM2 = ("adamw-lh", "adam-l2")
Z80 = st.norm.ppf(0.8)  # power 0.8


def _log_uniform(values: list[float], what: str) -> None:
    """Refuse a grid whose steps are not equal in log10 (the parabola refinement assumes them)."""
    steps = np.diff(np.log10(values))
    if len(values) < 3 or not np.allclose(steps, steps[0], rtol=1e-6) or steps[0] <= 0:
        raise ValueError(f"{what} must be 3 or more increasing values in equal log steps, got {values}")


def grid_parts(config: dict, profile: str) -> tuple[dict[str, dict], dict]:
    """One sweep part per (optimizer, learning rate) with lams = decay/2, leaving out the decays whose
    default shrink ``2*lr*lam`` would be 1 or more (PyTorch's form at large lr*wd: not a usable run)."""
    params = parameters(config, profile)
    (base,) = parts(config, profile).values()
    grid = {}
    for name, (family, options, _) in OPTIMIZERS.items():
        lrs, decays = params["learning_rates"][family], params["decays"][name]
        _log_uniform(lrs, f"learning_rates.{family}")
        _log_uniform(decays, f"decays.{name}")
        for lr in lrs:
            usable = [d for d in decays if not (name == "adamw-torch" and lr * d >= 1.0)]
            variant = f"{name} lr={lr:g}"
            options_lr = {**options, "lr": lr, "batch_size": params["batch_size"], "schedule": params["schedule"]}
            grid[variant] = {**base, "name": variant, "methods": [variant], "variants": {variant: options_lr},
                             "lams": [d / 2 for d in usable]}
    return grid, params


def confirm_parts(grid: dict[str, dict], cells: pd.DataFrame, seeds: list[int]) -> dict[str, dict]:
    """Claim 2's runs: the best cells of ``CLAIM2``'s optimizers again, on seeds the grid does not use."""
    out = {}
    for opt in CLAIM2:
        cell = cells.loc[opt]
        part = grid[f"{opt} lr={cell['lr']:g}"]
        out[f"confirm {opt}"] = {**part, "name": f"confirm {opt}", "lams": [cell["decay"] / 2], "seeds": seeds}
    return out


def with_grid_columns(runs: pd.DataFrame, confirm_seeds: list[int]) -> pd.DataFrame:
    """Adds optimizer, lr, decay (= 2 lam), stage (grid or confirm) and the validation and test errors."""
    ok = runs[runs["status"] != "failed"].copy()
    ok["optimizer"] = ok["method"].str.split(" ").str[0]
    ok["lr"] = [json.loads(s)["options"]["lr"] for s in ok["spec"]]
    ok["decay"] = 2 * ok["lam"]
    ok["stage"] = np.where(ok["seed"].isin(confirm_seeds), "confirm", "grid")
    ok["val_error"] = 1 - ok["val_accuracy"]
    ok["test_error"] = 1 - ok["test_accuracy"]
    return ok


def nanmean(values: np.ndarray, axis: int) -> np.ndarray:
    """``np.nanmean``, NaN (without a warning) where a cell was not run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(values, axis=axis)


def cube(runs: pd.DataFrame, opt: str, metric: str = "val_error") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(lrs, decays, values)``: the grid runs of ``opt`` as an (lr, decay, seed) array, NaN where not run."""
    part = runs[(runs["optimizer"] == opt) & (runs["stage"] == "grid")]
    table = part.set_index(["lr", "decay", "seed"])[metric]
    lrs, decays, seeds = (np.sort(part[c].unique()) for c in ("lr", "decay", "seed"))
    full = pd.MultiIndex.from_product([lrs, decays, seeds], names=["lr", "decay", "seed"])
    return lrs, decays, table.reindex(full).to_numpy().reshape(len(lrs), len(decays), len(seeds))


def refined_best(means: np.ndarray, log_decays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log10 of the best decay per row of ``means`` (``(..., decay)``, NaN = not run): the grid minimum
    moved to the vertex of the parabola through it and its two neighbours (at most half a step); and
    whether that minimum is on the row's edge (the first or last decay run), where it only bounds the best
    decay and stays unrefined. NaN (and an edge) where a row has no value."""
    filled = np.where(np.isnan(means), np.inf, means)
    i = np.argmin(filled, axis=-1)
    j = np.clip(i, 1, len(log_decays) - 2)
    left, mid, right = (np.take_along_axis(filled, (j + k)[..., None], -1)[..., 0] for k in (-1, 0, 1))
    edge = (i != j) | np.isinf(left) | np.isinf(right)
    with np.errstate(invalid="ignore", divide="ignore"):
        curvature = left - 2 * mid + right
        offset = np.where(~edge & (curvature > 0), 0.5 * (left - right) / curvature, 0.0)
    step = log_decays[1] - log_decays[0]
    best = np.where(np.all(np.isinf(filled), axis=-1), np.nan, log_decays[i] + np.clip(offset, -0.5, 0.5) * step)
    return best, edge


def basin_rows(means: np.ndarray, margin: float) -> np.ndarray:
    """The learning rates (rows) whose best mean validation error is within ``margin`` of the grid's best."""
    row_best = np.nanmin(np.where(np.isnan(means), np.inf, means), axis=1)
    return row_best <= row_best.min() + margin


def slope(log_lrs: np.ndarray, best: np.ndarray) -> np.ndarray:
    """Least-squares slope of ``best`` (``(rows, ...)``) on ``log_lrs`` (``(rows,)``), over the first axis."""
    x = log_lrs - log_lrs.mean()
    return np.tensordot(x, best - best.mean(axis=0), axes=(0, 0)) / np.sum(x * x)


def basin_slopes(runs: pd.DataFrame, opts: list[str], margin: float, n_boot: int, seed: int = 0) -> dict:
    """Per optimizer: the slope of log10(best decay) on log10(lr) over its basin rows whose best decay is
    inside the grid, and the same slope
    under ``n_boot`` resamples of the grid seeds (one resample for every optimizer: the seeds pair them)."""
    seeds = np.sort(runs.loc[runs["stage"] == "grid", "seed"].unique())
    idx = np.random.default_rng(seed).integers(0, len(seeds), size=(n_boot, len(seeds)))
    out = {}
    for opt in opts:
        lrs, decays, values = cube(runs, opt)
        means = nanmean(values, axis=2)
        rows = basin_rows(means, margin)
        log_lrs, log_decays = np.log10(lrs), np.log10(decays)
        best, edge = refined_best(means, log_decays)
        rows = rows & ~edge  # an edge minimum only bounds the best decay: left out of the fit
        boot_means = nanmean(values[:, :, idx], axis=3)  # (lr, decay, resample)
        boot_best = refined_best(np.moveaxis(boot_means, 1, 2), log_decays)[0]  # (lr, resample)
        fit = rows.sum() >= 2
        out[opt] = {"lrs": lrs, "best": best, "rows": rows, "edge": edge,
                    "slope": float(slope(log_lrs[rows], best[rows])) if fit else math.nan,
                    "boot": slope(log_lrs[rows], boot_best[rows]) if fit else np.full(n_boot, np.nan)}
    return out


def interval(boot: np.ndarray) -> tuple[float, float]:
    """The 95% percentile interval of bootstrap values; NaNs when there are none (no slope to fit)."""
    boot = boot[np.isfinite(boot)]
    return tuple(np.percentile(boot, [2.5, 97.5])) if len(boot) else (math.nan, math.nan)


def bootstrap_p(diffs: np.ndarray) -> float:
    """Two-sided percentile-bootstrap p of 0: twice the smaller tail of the resampled differences (NaN
    when there is no slope to compare)."""
    diffs = diffs[np.isfinite(diffs)]
    if not len(diffs):
        return math.nan
    return float(min(1.0, 2 * min(np.mean(diffs <= 0), np.mean(diffs >= 0))))


def best_cells(runs: pd.DataFrame) -> pd.DataFrame:
    """Per optimizer: the (lr, decay) with the lowest mean grid validation error, and its mean test error."""
    grid = runs[runs["stage"] == "grid"]
    means = grid.groupby(["optimizer", "lr", "decay"])[["val_error", "test_error"]].mean().reset_index()
    best = means.loc[means.groupby("optimizer")["val_error"].idxmin()]
    best = best.rename(columns={"val_error": "mean_val_error", "test_error": "mean_test_error"})
    return best.set_index("optimizer").loc[[o for o in OPTIMIZERS if o in set(best["optimizer"])]]


def at_best_cells(runs: pd.DataFrame, cells: pd.DataFrame, stage: str) -> pd.DataFrame:
    """Test errors of ``CLAIM2``'s optimizers at their best cells in ``stage`` ("grid" or "confirm"), one row
    per seed that has both."""
    cols = {}
    for opt in CLAIM2:
        cell = cells.loc[opt]
        rows = runs[(runs["stage"] == stage) & (runs["optimizer"] == opt) & (runs["lr"] == cell["lr"])
                    & np.isclose(runs["decay"], cell["decay"])]
        cols[opt] = rows.set_index("seed")["test_error"]
    return pd.DataFrame(cols).dropna()


def seeds_needed(sd: float, effect: float, alpha: float) -> int:
    """Seeds for a one-sided paired t-test at ``alpha`` to detect ``effect`` with power 0.8 (statsmodels)."""
    if not sd > 0:
        return 2
    return math.ceil(TTestPower().solve_power(effect_size=effect / sd, alpha=alpha, power=0.8, alternative="larger"))


def tost_seeds(sd: float, margin: float, alpha: float) -> int:
    """Seeds for TOST at ``margin`` to show equivalence with power 0.8 when the true difference is 0:
    ``((z_{1-alpha} + z_{0.9}) * sd / margin)^2`` (normal approximation)."""
    return max(2, math.ceil(((st.norm.ppf(1 - alpha) + st.norm.ppf(0.9)) * sd / margin) ** 2))


def claim2(pairs: pd.DataFrame, lower: Claim, same: Claim) -> dict:
    """The paired difference AdamW - Adam+L2: mean, 95% t interval, one-sided signed-rank p, TOST p."""
    a, b = pairs[CLAIM2[0]].to_numpy(), pairs[CLAIM2[1]].to_numpy()
    d = a - b
    n, sd = len(d), float(np.std(d, ddof=1)) if len(d) > 1 else math.nan
    half = st.t.ppf(0.975, n - 1) * sd / math.sqrt(n) if n > 1 else math.nan
    p_lower = float(st.wilcoxon(a, b, alternative="less").pvalue) if n > 1 and np.any(d != 0) else 1.0
    p_same = float(ttost_paired(a, b, -same.margin, same.margin)[0]) if n > 1 and sd > 0 else 1.0
    detectable = (st.norm.ppf(1 - lower.alpha) + Z80) * sd / math.sqrt(n) if n > 1 else math.nan
    half90 = st.t.ppf(1 - same.alpha, n - 1) * sd / math.sqrt(n) if n > 1 else math.nan
    return {"n": n, "mean": float(d.mean()), "low": d.mean() - half, "high": d.mean() + half, "sd": sd,
            "p_lower": p_lower, "p_same": p_same, "detectable": detectable, "fits": abs(d.mean()) + half90}


def plot_heatmaps(runs: pd.DataFrame, cells: pd.DataFrame, slopes: dict, folder: Path) -> Path:
    """Mean test error per (lr, decay), one panel per optimizer, on a log colour scale from the best cell's
    error to twice it; diverged cells hatched, cells not run blank, the best (validation) cell boxed, and
    each fitted row's refined best decay as a dot."""
    opts = [o for o in OPTIMIZERS if o in set(runs["optimizer"])]
    grid = runs[runs["stage"] == "grid"]
    means = grid.groupby(["optimizer", "lr", "decay"])["test_error"].mean()
    diverged = grid.assign(d=grid["status"] == "diverged").groupby(["optimizer", "lr", "decay"])["d"].sum()
    cmap = plt.get_cmap("viridis_r").with_extremes(bad="0.92")
    low = max(float(means.min()), 1e-3)
    norm = LogNorm(vmin=low, vmax=2 * low)
    ncol = 3
    fig, axes = plt.subplots(2, ncol, figsize=(5.0 * ncol, 9.0), squeeze=False, layout="constrained")
    for ax in axes.flat[len(opts):]:
        ax.set_visible(False)
    for ax, opt in zip(axes.flat, opts):
        lrs, decays, _ = cube(runs, opt)
        table = means[opt].unstack("decay").reindex(index=lrs, columns=decays)
        failed = diverged[opt].unstack("decay").reindex(index=lrs, columns=decays).fillna(0).to_numpy()
        image = ax.imshow(np.where(failed > 0, np.nan, table.to_numpy()), origin="lower", cmap=cmap, norm=norm,
                          aspect="auto")
        n_seeds = grid[grid["optimizer"] == opt]["seed"].nunique()
        for i, j in zip(*np.nonzero(failed)):
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="xx", edgecolor="0.6",
                                       linewidth=0))
            ax.text(j, i, f"diverged\n{failed[i, j]:.0f}/{n_seeds}", ha="center", va="center", fontsize=6)
        for i, j in zip(*np.nonzero((failed == 0) & np.isnan(table.to_numpy()))):
            ax.text(j, i, "not\nrun", ha="center", va="center", fontsize=6, color="0.4")
        for i, j in zip(*np.nonzero((failed == 0) & np.isfinite(table.to_numpy()))):
            value = table.iat[i, j]
            ax.text(j, i + 0.2, f"{100 * value:.1f}", ha="center", va="center", fontsize=7,
                    color="black" if value < 1.5 * low else "white")
        best = cells.loc[opt]
        bi, bj = list(lrs).index(best["lr"]), int(np.argmin(np.abs(np.log10(decays / best["decay"]))))
        ax.add_patch(plt.Rectangle((bj - 0.5, bi - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2.5))
        fit = slopes[opt]
        rows = np.flatnonzero(fit["rows"])
        step = np.log10(decays[1] / decays[0])
        ax.plot((fit["best"][rows] - np.log10(decays[0])) / step, rows - 0.2, "o-", color="white", markersize=4,
                markeredgecolor="black")
        ax.set_xticks(range(len(decays)), [f"{d:.0e}" for d in decays], rotation=45, fontsize=8)
        ax.set_yticks(range(len(lrs)), [f"{lr:.0e}" for lr in lrs], fontsize=8)
        ax.set(title=f"{opt} (slope {fit['slope']:+.2f})", xlabel=OPTIMIZERS[opt][2], ylabel="base learning rate")
    ticks = low * np.array([1.0, 1.1, 1.25, 1.5, 1.75, 2.0])
    bar = fig.colorbar(image, ax=axes.ravel().tolist(), extend="max", shrink=0.6, ticks=ticks,
                       label="mean test error over seeds (%, log scale)")
    bar.ax.set_yticklabels([f"{100 * t:.1f}" for t in ticks])
    bar.ax.minorticks_off()
    fig.suptitle("Test error (%) per (base learning rate, decay), cosine annealing; red box: best validation error")
    caption = (f"Mean test error (in %, written in each cell) over the grid's {grid['seed'].nunique()} seeds for "
               "each base learning rate (rows) and decay (columns, each optimizer's own coefficient, half-decade "
               "steps), one panel per optimizer, all under cosine annealing stepped per batch. Colour: log scale "
               f"from the lowest cell ({100 * low:.2f}%) to twice it, darker is lower; worse cells saturate. Red "
               "box: the cell with the lowest mean validation error (the one claim 2 retests). Grey cross-hatching, "
               "not coloured: a cell where some seeds diverged (how many written in it). 'not run': "
               "PyTorch's form with lr*wd >= 1, which zeroes the weights. White dots: the best decay of each basin row "
               "whose minimum is inside the grid"
               " (by validation error, refined between grid points, drawn low in the row); the slope in the title is "
               "fitted to them.")
    return save_figure(fig, folder / "figures" / "heatmaps.png", caption)


def plot_slopes(slopes: dict, folder: Path, n_seeds: int, n_boot: int) -> Path:
    """Each optimizer's basin slope with its 95% bootstrap interval; 0 and -1 drawn for reference."""
    opts = list(slopes)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for k, opt in enumerate(opts):
        s = slopes[opt]
        low, high = interval(s["boot"])
        style = method_style(opt)
        ax.errorbar([k], [s["slope"]], yerr=[[s["slope"] - low], [high - s["slope"]]], capsize=4,
                    color=style["color"], marker=style["marker"], linestyle="none")
    ax.axhline(0, color="0.5", linewidth=1, linestyle="--", label="0: best decay independent of the lr")
    ax.axhline(-1, color="0.5", linewidth=1, linestyle=":", label="-1: best decay times lr constant")
    ax.set_xticks(range(len(opts)), opts)
    ax.set_ylabel("slope of log10(best decay)\non log10(learning rate)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    caption = (f"The basin's orientation per optimizer: the least-squares slope of log10(best decay) on log10(base "
               "learning rate) over the basin rows (best mean validation error within the stated margin of the "
               f"grid's best), the point from all {n_seeds} grid seeds, the bars a 95% percentile interval over "
               f"{n_boot} bootstrap resamples of the seeds. 0: the best decay does not move with the learning rate; "
               "-1: it moves as 1/lr. No point: fewer than two basin rows.")
    return save_figure(fig, folder / "figures" / "slopes.png", caption)


def plot_claim2(pairs: pd.DataFrame, result: dict, margin: float, folder: Path) -> Path:
    """The confirm seeds' paired differences, their mean with its 95% interval, and the equivalence margin."""
    d = 100 * (pairs[CLAIM2[0]] - pairs[CLAIM2[1]]).to_numpy()
    fig, ax = plt.subplots(figsize=(6.4, 2.8))
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(d))
    ax.axvspan(-100 * margin, 100 * margin, color="0.9", label=f"equivalence margin ±{100 * margin:g} points")
    ax.plot(d, jitter, "o", color=method_style(CLAIM2[0])["color"], alpha=0.6, label="one seed")
    ax.errorbar([100 * result["mean"]], [0.4], xerr=[[100 * (result["mean"] - result["low"])],
                                                   [100 * (result["high"] - result["mean"])]],
                fmt="s", color="black", capsize=4, label="mean, 95% t interval")
    ax.axvline(0, color="0.4", linewidth=1)
    ax.set_yticks([])
    ax.set_ylim(-0.5, 0.7)
    ax.set_xlabel(f"test error of {CLAIM2[0]} minus {CLAIM2[1]} (points), each at its best cell")
    ax.legend(fontsize=7, loc="lower left", framealpha=0.9)
    fig.tight_layout()
    caption = (f"Claim 2 on {len(d)} fresh seeds (not among the grid's): each dot the paired difference in test "
               f"error (percentage points) of {CLAIM2[0]} and {CLAIM2[1]}, each at the cell with its lowest mean grid "
               "validation error, the same seed giving both the same start and batches; square: the mean with its "
               "95% t interval; grey band: the equivalence margin stated in the config before the run.")
    return save_figure(fig, folder / "figures" / "claim2.png", caption)


def _slope_verdict(claim: Claim, pair: tuple[str, str], slopes: dict, p: float, n_boot: int, n_seeds: int) -> str:
    dec, cou = pair
    diff = slopes[dec]["slope"] - slopes[cou]["slope"]
    boot = slopes[dec]["boot"] - slopes[cou]["boot"]
    low, high = interval(boot)
    if not np.isfinite(p):
        return f"{dec} against {cou}: no test (a slope needs two or more basin rows)"
    text = (f"{dec} minus {cou}: slope difference {diff:+.2f}, 95% bootstrap interval [{low:+.2f}, {high:+.2f}], "
            f"Holm-adjusted p {f'= {p:.2g}' if p > 0 else f'< {2 / n_boot:.1g} (no resample reaches 0)'}: ")
    if p < claim.alpha:
        return text + "shown" + (" (decoupling flattens the basin)" if abs(slopes[dec]["slope"]) <
                                 abs(slopes[cou]["slope"]) else " (but the decoupled basin is not the flatter one)")
    se = float(np.nanstd(boot))
    return text + not_shown(p, n_seeds, f"a slope difference of about {(st.norm.ppf(0.975) + Z80) * se:.2f}")


def _claim1_text(claim: Claim, slopes: dict, adjusted: np.ndarray, params: dict, n_seeds: int) -> str:
    verdicts = " ".join(_slope_verdict(claim, pair, slopes, p, params["bootstrap"], n_seeds) + "."
                        for pair, p in zip(PAIRS, adjusted))
    return ("**Claim 1, the basin's orientation.** Slope of log10(best decay) on log10(learning rate) over the "
            f"basin rows (best mean validation error within {params['basin_margin']:g} of the grid's best), each "
            "row's best refined to the vertex of the parabola through its minimum, rows whose minimum is on the "
            "grid's edge left out (there it only bounds the best decay); intervals from "
            f"{params['bootstrap']} resamples of the seeds. {verdicts}")


def _decay_effect(runs: pd.DataFrame, cells: pd.DataFrame) -> str:
    """How far the decay moves adam-l2's mean test error along its best learning rate's row, against the
    seed-to-seed standard deviation at its best cell."""
    opt = CLAIM2[1]
    grid = runs[(runs["stage"] == "grid") & (runs["optimizer"] == opt) & (runs["lr"] == cells.loc[opt, "lr"])]
    row = grid.groupby("decay")["test_error"]
    sd = row.std().loc[cells.loc[opt, "decay"]]
    return (f"along {opt}'s best learning rate ({cells.loc[opt, 'lr']:g}) the decay moves the mean test error from "
            f"{100 * row.mean().min():.1f}% to {100 * row.mean().max():.1f}%, while the seed-to-seed standard "
            f"deviation at its best cell is {100 * sd:.2f} points.")


def _claim2_verdict(cells: pd.DataFrame, result: dict, lower: Claim, same: Claim, decays: dict) -> str:
    (a, b), pt = CLAIM2, 100  # percentage points
    edges = [o for o in CLAIM2 if np.isclose(cells.loc[o, "decay"], [min(decays[o]), max(decays[o])]).any()]
    edge_text = (f" The best decay of {' and '.join(edges)} is on its grid's edge: a better one may lie beyond it."
                 if edges else "")
    lower_text = (f"shown (Wilcoxon signed-rank, one-sided, p = {result['p_lower']:.2g})"
                  if result["p_lower"] < lower.alpha else
                  not_shown(result["p_lower"], result["n"], f"{pt * result['detectable']:.2f} points"))
    same_text = (f"shown (TOST p = {result['p_same']:.2g})" if result["p_same"] < same.alpha else
                 not_shown(result["p_same"], result["n"], f"equivalence at ±{pt * result['fits']:.2f} points, "
                           "where this run's 90% interval fits"))
    return (f"**Claim 2, the best test error.** {a} at its best cell (lr {cells.loc[a, 'lr']:g}, lambda "
            f"{cells.loc[a, 'decay']:g}) against {b} at its own (lr {cells.loc[b, 'lr']:g}, wd "
            f"{cells.loc[b, 'decay']:g}), on {result['n']} fresh seeds: mean paired difference "
            f"{pt * result['mean']:+.2f} points, 95% t interval [{pt * result['low']:+.2f}, "
            f"{pt * result['high']:+.2f}]. Lower: {lower_text}. The same within ±{pt * same.margin:g} points: "
            f"{same_text}.{edge_text}")


def run(out: Path, profile: str = "full", workers: int | None = None, progress: bool | None = None,
        device: str | None = None) -> Section:
    config = load_config(NAME)
    claims = parse_claims(config, f"configs/{NAME}.toml")
    grid, params = grid_parts(config, profile)
    confirm_seeds = list(range(params["confirm_seed_start"], params["confirm_seed_start"] + params["confirm_seeds"]))
    grid_specs = build_specs(grid, NAME)
    res = execute(NAME, grid_specs, out, workers, progress, device)
    cells = best_cells(with_grid_columns(res.runs, confirm_seeds))
    res = execute(NAME, grid_specs + build_specs(confirm_parts(grid, cells, confirm_seeds), NAME), out, workers,
                  progress, device)
    runs = with_grid_columns(res.runs, confirm_seeds)
    slopes = basin_slopes(runs, [o for o in OPTIMIZERS if o in set(runs["optimizer"])], params["basin_margin"],
                          params["bootstrap"])
    n_grid = runs.loc[runs["stage"] == "grid", "seed"].nunique()
    slope_claim = require(claims, "basin-slope", "bootstrap")
    raw_p = [bootstrap_p(slopes[d]["boot"] - slopes[c]["boot"]) for d, c in PAIRS]
    adjusted = slope_claim.adjust(raw_p)
    lower, same = require(claims, "adamw-lower", "wilcoxon"), require(claims, "adamw-same", "tost")
    pairs = at_best_cells(runs, cells, "confirm")
    result = claim2(pairs, lower, same)
    figures = [plot_heatmaps(runs, cells, slopes, res.folder), plot_slopes(slopes, res.folder, n_grid,
                                                                           params["bootstrap"]),
               plot_claim2(pairs, result, same.margin, res.folder)]
    slope_table = pd.DataFrame([
        {"optimizer": o, "decay": OPTIMIZERS[o][2], "fitted_lrs": ", ".join(f"{x:g}" for x in s["lrs"][s["rows"]]),
         "slope": s["slope"], **dict(zip(("low", "high"), interval(s["boot"])))}
        for o, s in slopes.items()])
    best_rows = pd.DataFrame([{"optimizer": o, "lr": lr, "best_decay": 10 ** b, "on_edge": bool(e), "fitted": bool(r)}
                              for o, s in slopes.items()
                              for lr, b, e, r in zip(s["lrs"], s["best"], s["edge"], s["rows"])])
    cells_table = cells.reset_index()[["optimizer", "lr", "decay", "mean_val_error", "mean_test_error"]]
    spec = grid_specs[0]
    wall = runs["wall_time"].sum()
    adam_best = cells.loc[CLAIM2[1], "mean_test_error"]
    target = params["target_relative_effect"] * adam_best
    grid_d = at_best_cells(runs, cells, "grid").diff(axis=1).iloc[:, -1]  # adam-l2 minus adamw-lh: same spread
    grid_sd = float(grid_d.std(ddof=1)) if len(grid_d) > 1 else math.nan
    pilot_sd = params["pilot_paired_sd"]
    section = Section("6. adam-vs-adamw: Adam with L2 against decoupled weight decay (Loshchilov & Hutter)")
    section.add(
        f"**Design.** {spec.dataset} with a small training set (one split, seed {spec.split_seed}: "
        f"{1 - spec.test_size - spec.val_size:.0%} train, {spec.val_size:.0%} validation, {spec.test_size:.0%} "
        f"test), hidden {list(spec.hidden)}, mini-batches of {params['batch_size']}, budget {spec.budget:g} "
        f"({spec.budget / 3:g} epochs), every run under cosine annealing stepped per batch "
        "(`schedule=\"cosine\"`). The small training set is there so that weight decay matters: "
        f"{_decay_effect(runs, cells)} MNIST-1D (a built-in data set) cost 15 to 20 times as much per run in "
        "timed pilots, more than the time budget allows for this grid. Five optimizers, each on a "
        f"{len(params['learning_rates']['adam'])} x {len(params['decays']['adam-l2'])} half-decade grid of base "
        "learning rate x its own decay coefficient: `adam-l2` (`Adam(weight_decay=wd)`, coupled), `adamw-lh` "
        "(L&H's Algorithm 2: each step shrinks by `eta_t*lambda`, independent of the base rate), `adamw-torch` "
        "(`AdamW(lr, weight_decay=wd)`: shrinks by `lr_t*wd`, the same runs as `adamw-lh` at lambda = lr*wd, on "
        "another diagonal), `sgdm-l2` and `sgdmw-lh` (SGD, momentum 0.9, coupled and L&H's decoupled form). "
        f"{n_grid} seeds per cell on the grid; claim 2 on {len(confirm_seeds)} further seeds. "
        f"{len(res.runs)} runs, {wall:.0f} s summed over runs (about {wall / 120:.1f} min of wall time on 2 "
        "workers). Cells are chosen by mean validation error; test errors are reported.",
        "**What is an identity, not a finding.** SGD with momentum mu and a decoupled shrink d per step is "
        "exactly SGD with coupled L2 at c = d(1 - mu)/lr with a slightly lower momentum mu(1 - d) and a start "
        "velocity (`swarmreg.l2`, checked in `tests/test_schedules.py`); from rest at the same momentum it is "
        "coupled at about wd(1 - mu) to within about d*mu/(1 - mu) of the start weights. So in L&H's form the "
        "best lambda of `sgdmw-lh` must have the slope of the best coupled c of `sgdm-l2` plus one: the SGD "
        "pair checks that the slope measurement recovers a known +1, it is not evidence for the claim. "
        "Likewise `adamw-torch` runs `adamw-lh`'s runs at lambda = lr*wd, so its slope is `adamw-lh`'s minus "
        "one by construction (up to where the two grids end). Only the Adam pair "
        "(`adamw-lh` against `adam-l2`) can show anything.",
        slope_claim.describe(),
        _claim1_text(slope_claim, slopes, adjusted, params, n_grid),
        write_table(slope_table, res.folder, "basin_slopes", digits=3),
        write_table(best_rows, res.folder, "best_decay_per_lr", digits=3),
        lower.describe(), same.describe(),
        f"**Power analysis (before the run).** A pilot (16 seeds at one Adam+L2 and one AdamW cell, not in this "
        f"run) gave a paired standard deviation of the test error of {100 * pilot_sd:.2f} points. L&H's effect, "
        f"taken as a {params['target_relative_effect']:.0%} lower best test error than Adam+L2's (here "
        f"{100 * target:.2f} points of {100 * adam_best:.2f}%), needs {seeds_needed(pilot_sd, target, lower.alpha)} "
        f"seeds for power 0.8 at one-sided alpha {lower.alpha:g}; the equivalence test at ±{100 * same.margin:g} "
        f"points, {tost_seeds(pilot_sd, same.margin, same.alpha)} (if the true difference is 0); this run uses "
        f"{len(confirm_seeds)}. On the grid's own seeds at the chosen cells the "
        f"paired standard deviation is {100 * grid_sd:.2f} points; on the confirm seeds {100 * result['sd']:.2f}, "
        f"with which this run detects (power 0.8) a difference of {100 * result['detectable']:.2f} points.",
        _claim2_verdict(cells, result, lower, same, params["decays"]),
        write_table(cells_table, res.folder, "best_cells", digits=4),
        figure_links(figures, out, "*Figures: heatmaps of the grids, the basin slopes with their intervals, and "
                     "claim 2's paired differences; each figure's caption is in the .txt file beside it.*"))
    return section


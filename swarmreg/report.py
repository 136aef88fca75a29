"""Tables and figures from stored runs: mean and spread over seeds (pandas), PNGs (matplotlib Agg)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ._validate import suggest  # noqa: E402
from .figstyle import method_style, save_figure  # noqa: E402

GROUP = ["dataset", "hidden", "method", "lam"]
DEFAULT_METRICS = ("fun", "error", "test_accuracy", "train_accuracy", "test_mse", "weight_norm", "bias_norm")
METRICS = ("fun", "error", "penalty", "weight_norm", "bias_norm", "train_accuracy", "test_accuracy", "val_accuracy",
           "train_mse", "test_mse", "val_mse", "cost", "n_evals", "n_grads", "wall_time")


def check_metrics(metrics: Sequence[str] | None) -> None:
    """Refuse a metric name that is not a stored result column, naming it."""
    if metrics is not None and (isinstance(metrics, str) or not isinstance(metrics, Sequence)):
        raise TypeError(f"metrics must be a list of names, got {metrics!r}")
    for m in metrics or ():
        if m not in METRICS:
            raise ValueError(f"unknown metric {m!r}{suggest(m, METRICS)}; known: {', '.join(METRICS)}")
FORMATS = ("markdown", "csv", "latex")


def summarize(df: pd.DataFrame, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per (dataset, hidden, method, lam): ``<metric>_mean``, ``<metric>_std`` over seeds,
    ``runs`` (all stored) and ``failed``. Failed runs count but do not enter the statistics."""
    check_metrics(metrics)
    metrics = [m for m in (metrics or DEFAULT_METRICS) if m in df.columns and df[m].notna().any()]
    ok = df[df["status"] != "failed"]
    counts = df.groupby(GROUP).agg(runs=("key", "size"), failed=("status", lambda s: int((s == "failed").sum())))
    if not metrics:
        return counts.reset_index()
    grouped = ok.groupby(GROUP, sort=True)[metrics].agg(["mean", "std"])
    grouped.columns = [f"{m}_{stat}" for m, stat in grouped.columns]
    return counts.join(grouped).reset_index()


def format_table(summary: pd.DataFrame, fmt: str = "markdown", digits: int = 4) -> str:
    """Render a summary: csv keeps every column; markdown and latex show ``mean ± std``."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    if fmt == "csv":
        return summary.to_csv(index=False)
    shown = summary[[c for c in summary.columns if not c.endswith(("_mean", "_std"))]].copy()
    for col in summary.columns:
        if col.endswith("_mean"):
            name = col[: -len("_mean")]
            mean, std = summary[col], summary[f"{name}_std"]
            shown[name] = [_pm(m, s, digits) for m, s in zip(mean, std)]
    shown["lam"] = shown["lam"].map(lambda x: f"{x:g}")
    if fmt == "markdown":
        return shown.to_markdown(index=False)
    return shown.to_latex(index=False).replace("±", r"$\pm$")


def _pm(mean: float, std: float, digits: int) -> str:
    if not np.isfinite(mean):
        return ""
    return f"{mean:.{digits}g}" if not np.isfinite(std) else f"{mean:.{digits}g} ± {std:.2g}"


def best_so_far(trace: dict[str, np.ndarray], grid: np.ndarray) -> np.ndarray:
    """Best J found by each cost in ``grid`` (NaN before the first record)."""
    cost, fun = np.asarray(trace["cost"]), np.minimum.accumulate(np.asarray(trace["fun"]))
    pos = np.searchsorted(cost, grid, side="right") - 1
    return np.where(pos >= 0, fun[np.clip(pos, 0, None)], np.nan)


def plot_lam_path(df: pd.DataFrame, path: str | Path, metric: str | None = None) -> list[Path]:
    """Per dataset and hidden: ``metric`` (test accuracy, or test MSE) and non-bias weight norm against
    lam, one line per method: the median over seeds with a 95% bootstrap interval of the median as error
    bar (:func:`swarmreg.stats.ci_summary`); lam on the axis of :func:`lam_axis` (0 on its own tick)."""
    from .stats import ci_summary
    ok = df[df["status"] != "failed"]
    written = []
    for (dataset, hidden), part in ok.groupby(["dataset", "hidden"]):
        score = metric or ("test_accuracy" if part["test_accuracy"].notna().any() else "test_mse")
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for method, rows in part.groupby("method"):
            cells = ci_summary(rows, [score, "weight_norm"], group=["lam"])
            lam = cells["lam"].to_numpy()
            for ax, col in zip(axes, (score, "weight_norm")):
                med = cells[f"{col}_median"]
                bars = np.array([med - cells[f"{col}_low"], cells[f"{col}_high"] - med])
                ax.errorbar(lam, med, yerr=np.nan_to_num(bars), capsize=3, label=method, **method_style(method))
        for ax, col in zip(axes, (score, "non-bias weight norm")):
            lam_axis(ax, part["lam"])
            ax.set_ylabel(col.replace("_", " "))
            ax.grid(True, alpha=0.3)
        axes[0].legend()
        fig.suptitle(f"L2 path: {dataset}, hidden {hidden} (median over seeds; bars: 95% bootstrap interval)")
        fig.tight_layout()
        seeds = part.groupby(["method", "lam"]).size()
        caption = (f"L2 path on {dataset}, hidden layers {hidden}: {score.replace('_', ' ')} (left) and the norm "
                   f"of the non-bias weights (right) against lam, one line per method, the point the median over "
                   f"seeds ({_n_range(seeds)} finished runs per point; failed runs left out); bars: 95% "
                   f"bootstrap interval of the median (BCa, percentile where BCa is undefined; none below 2 "
                   f"runs). lam: the coefficient of the penalty lam * sum of squared non-bias weights.")
        written.append(save_figure(fig, Path(path) / f"lam_path_{dataset}_{_slug(hidden)}.png", caption))
    return written


def lam_axis(ax: plt.Axes, lams: Sequence[float]) -> None:
    """Put the lams on ``ax``'s x axis: logarithmic, and with lam = 0 among them symmetric-logarithmic,
    linear from 0 to the smallest positive lam L (``linthresh``), so that 0 gets a tick of its own,
    labelled 0, one decade's width left of L, with a break mark between; ticks at 0, L and the decades
    above."""
    lams = np.unique(np.asarray(lams, dtype=float))
    positive = lams[lams > 0]
    if not len(positive):
        ax.set_xlabel("lam")
        return
    if lams[0] > 0:
        ax.set_xscale("log")
        ax.set_xlabel("lam")
        return
    smallest = positive[0]
    ax.set_xscale("symlog", linthresh=smallest, linscale=1.0)
    decades = 10.0 ** np.arange(np.ceil(np.log10(smallest)), np.floor(np.log10(positive[-1])) + 1)
    ticks = np.unique(np.concatenate([[0.0, smallest], decades[decades > smallest * 1.5]]))
    ax.set_xticks(ticks, ["0" if t == 0 else f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_xlim(-0.3 * smallest, positive[-1] * 1.5)
    ax.text(smallest / 2, 0, "//", transform=ax.get_xaxis_transform(), ha="center", va="center",
            backgroundcolor="white", fontsize=9)  # the scale changes here: a broken-axis mark
    ax.set_xlabel(f"lam (linear from 0 to {smallest:g}, logarithmic above)")


def plot_convergence(df: pd.DataFrame, traces: dict[str, dict[str, np.ndarray]], path: str | Path,
                     points: int = 200) -> list[Path]:
    """Per dataset, hidden and lam: best J against cost, median and interquartile band over seeds."""
    ok = df[df["status"] != "failed"]
    written = []
    for (dataset, hidden, lam), part in ok.groupby(["dataset", "hidden", "lam"]):
        fig, ax = plt.subplots(figsize=(6, 4))
        grid = np.linspace(0, part["budget"].max(), points)
        for method, rows in part.groupby("method"):
            curves = np.array([best_so_far(traces[k], grid) for k in rows["key"] if k in traces])
            if not len(curves):
                continue
            with warnings.catch_warnings():  # grid points before a run's first record are all-NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                lo, med, hi = np.nanpercentile(curves, [25, 50, 75], axis=0)
            style = method_style(method)
            ax.plot(grid, med, label=f"{method} (n={len(curves)})", markevery=max(1, points // 8), **style)
            ax.fill_between(grid, lo, hi, color=style["color"], alpha=0.2)
        ax.set_yscale("log")
        ax.set_xlabel("cost (evaluations of J on the training set)")
        ax.set_ylabel("best J so far")
        ax.set_title(f"{dataset}, hidden {hidden}, lam={lam:g}\nmedian over seeds; band: interquartile range",
                     fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        caption = (f"Convergence on {dataset}, hidden layers {hidden}, lam = {lam:g}: the best J = E + lam * sum of "
                   f"squared non-bias weights found by each cost (evaluations of J on the training set), per "
                   f"method the median over its n seeds (n in the legend), band: interquartile range over "
                   f"seeds; log y axis.")
        written.append(save_figure(fig, Path(path) / f"convergence_{dataset}_{_slug(hidden)}_lam{lam:g}.png",
                                   caption))
    return written


def _n_range(counts: pd.Series) -> str:
    """``"5"`` when every count is 5, ``"3-5"`` otherwise."""
    lo, hi = int(counts.min()), int(counts.max())
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def _slug(hidden: str) -> str:
    return "h" + "-".join(str(h) for h in json.loads(hidden))


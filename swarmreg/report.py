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
import matplotlib.transforms  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ._validate import suggest  # noqa: E402
from .figstyle import method_style, save_figure  # noqa: E402

GROUP = ["dataset", "hidden", "method", "lam"]
DEFAULT_METRICS = ("fun", "error", "test_accuracy", "train_accuracy", "test_mse", "weight_norm", "bias_norm")
METRICS = ("fun", "error", "penalty", "weight_norm", "bias_norm", "train_accuracy", "test_accuracy", "val_accuracy",
           "train_mse", "test_mse", "val_mse", "cost", "n_evals", "n_grads", "wall_time")


def check_metrics(metrics: Sequence[str] | None, runs: pd.DataFrame | None = None) -> None:
    """Refuse a metric name that is not a stored result column, naming it; the near miss suggested is
    one that ``runs`` holds values of, when there is one (``test_accuracy`` rather than an empty
    ``val_accuracy``)."""
    if metrics is not None and (isinstance(metrics, str) or not isinstance(metrics, Sequence)):
        raise TypeError(f"metrics must be a list of names, got {metrics!r}")
    held = METRICS if runs is None else [m for m in METRICS if m in runs.columns and runs[m].notna().any()]
    for m in metrics or ():
        if m not in METRICS:
            raise ValueError(f"unknown metric {m!r}{suggest(m, held) or suggest(m, METRICS)}; "
                             f"known: {', '.join(METRICS)}")


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
    """Per dataset and hidden: ``metric`` (test accuracy, or test MSE), the non-bias weight norm and the
    bias norm against lam, one line per method (its colour, marker and line style from
    :func:`~swarmreg.figstyle.method_style`): the median over seeds, with a 95% bootstrap interval of the
    median as error bar from :data:`~swarmreg.stats.MIN_N_INTERVAL` seeds on, their range below
    (:func:`swarmreg.stats.ci_summary`); the norm axes logarithmic when their values span more than a
    decade; lam on the axis of :func:`lam_axis` (0 on its own tick). The caption says which bars it drew."""
    from .stats import MIN_N_INTERVAL, ci_summary
    ok = df[df["status"] != "failed"]
    written = []
    for (dataset, hidden), part in ok.groupby(["dataset", "hidden"]):
        score = metric or ("test_accuracy" if part["test_accuracy"].notna().any() else "test_mse")
        cols = [c for c in (score, "weight_norm", "bias_norm") if c in part and part[c].notna().any()]
        fig, axes = plt.subplots(1, len(cols), figsize=(4.6 * len(cols), 4.2), squeeze=False)
        axes, kinds = axes[0], set()
        methods = part.groupby("method")
        for i, (method, rows) in enumerate(methods):
            cells = ci_summary(rows, cols, group=["lam"])
            lam = cells["lam"].to_numpy()
            for ax, col in zip(axes, cols):
                med = cells[f"{col}_median"]
                interval = cells[f"{col}_interval"] != "range"
                low = np.where(interval, cells[f"{col}_low"], cells[f"{col}_min"])
                high = np.where(interval, cells[f"{col}_high"], cells[f"{col}_max"])
                kinds |= set(cells[f"{col}_interval"])
                dodge = matplotlib.transforms.offset_copy(  # side by side, so no line hides another
                    ax.transData, fig=fig, x=3 * (i - (methods.ngroups - 1) / 2), units="points")
                ax.errorbar(lam, med, yerr=np.nan_to_num(np.array([med - low, high - med])), capsize=3,
                            label=method, alpha=0.85, transform=dodge, **method_style(method))
                for y in (low, med, high):  # a shifted line does not move the axis limits by itself
                    ax.update_datalim(np.column_stack([lam, y])[np.isfinite(y)])
        for ax, col in zip(axes, cols):
            ax.autoscale_view()
            lam_axis(ax, part["lam"])
            values = part[col].to_numpy(float)
            values = values[np.isfinite(values) & (values > 0)]
            if col != score and len(values) and values.max() > 10 * values.min():
                ax.set_yscale("log")
                ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
                ax.yaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(_two_and_five))
            names = {"weight_norm": "non-bias weight norm", "bias_norm": "bias norm"}
            ax.set_ylabel(names.get(col, col.replace("_", " ")))
            ax.grid(True, alpha=0.3)
        axes[0].legend(fontsize=8)
        bars = ("95% bootstrap interval" if "range" not in kinds else
                f"range over seeds (n < {MIN_N_INTERVAL}: no interval)" if kinds == {"range"} else
                f"95% bootstrap interval, or the range where n < {MIN_N_INTERVAL}")
        fig.suptitle(f"L2 path: {dataset}, hidden {hidden} (median over seeds; bars: {bars})", fontsize=10)
        fig.tight_layout()
        seeds = part.groupby(["method", "lam"]).size()
        caption = (f"L2 path on {dataset}, hidden layers {hidden}: " + ", ".join(
                   {"weight_norm": "the norm of the non-bias weights", "bias_norm": "the norm of the biases "
                    "(which the standard penalty leaves out)"}.get(c, c.replace("_", " ")) for c in cols)
                   + " against lam, one line per method (colour and marker fixed per method), the point the "
                   f"median over seeds ({_n_range(seeds)} finished runs per point; failed runs left out); bars: "
                   f"95% bootstrap interval of the median (BCa, percentile where BCa is undefined) where a point "
                   f"has at least {MIN_N_INTERVAL} runs, otherwise the min-max range of its runs (no interval "
                   f"from fewer). Lines are shifted a few points sideways so none hides another; the ticks give "
                   f"their lam. Norm axes are logarithmic where their values span more than a decade. lam: the "
                   f"coefficient of the penalty lam * sum of squared non-bias weights.")
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
                     points: int = 200, reference: pd.DataFrame | None = None) -> list[Path]:
    """Per dataset, hidden and lam: best J against cost, median and interquartile band over seeds. With
    ``reference`` (columns dataset, hidden, lam, reference_J) the gap ``(J - J_ref) / |J_ref|`` on a log
    axis instead, gaps below 1e-12 (rounding, or a run below the reference) drawn at 1e-12."""
    ok = df[df["status"] != "failed"]
    refs = None if reference is None else reference.set_index(["dataset", "hidden", "lam"])["reference_J"]
    written = []
    for (dataset, hidden, lam), part in ok.groupby(["dataset", "hidden", "lam"]):
        ref = None if refs is None else float(refs[(dataset, hidden, lam)])
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        grid = np.linspace(0, part["budget"].max(), points)
        for method, rows in part.groupby("method"):
            curves = np.array([best_so_far(traces[k], grid) for k in rows["key"] if k in traces])
            if not len(curves):
                continue
            if ref is not None:
                curves = np.maximum((curves - ref) / abs(ref), 1e-12)
            with warnings.catch_warnings():  # grid points before a run's first record are all-NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                lo, med, hi = np.nanpercentile(curves, [25, 50, 75], axis=0)
            style = method_style(method)
            ax.plot(grid, med, label=f"{method} (n={len(curves)})", markevery=max(1, points // 8), **style)
            ax.fill_between(grid, lo, hi, color=style["color"], alpha=0.15)
        ax.set_yscale("log")
        ax.set_xlabel("cost (evaluations of J on the training set)")
        ax.set_ylabel("best J so far" if ref is None else "(best J so far - J_ref) / J_ref")
        ax.set_title(f"{dataset}, hidden {hidden}, lam={lam:g}\nmedian over seeds; band: interquartile range",
                     fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        what = ("the best J = E + lam * sum of squared non-bias weights found by each cost" if ref is None else
                f"the relative gap (J - J_ref) / J_ref of the best J found by each cost to the reference J_ref = "
                f"{ref:.6g} (gaps below 1e-12, rounding or a run below the reference, drawn at 1e-12)")
        caption = (f"Convergence on {dataset}, hidden layers {hidden}, lam = {lam:g}: {what}, cost counted in "
                   f"evaluations of J on the training set (a gradient counts more, see the section); per method "
                   f"the median over its n seeds (n in the legend), band: interquartile range over seeds; log y axis.")
        written.append(save_figure(fig, Path(path) / f"convergence_{dataset}_{_slug(hidden)}_lam{lam:g}.png",
                                   caption))
    return written


def _two_and_five(y: float, _pos: int) -> str:
    """Minor log-axis labels at 2 and 5 times a power of ten only (all nine overlap)."""
    mantissa = y / 10 ** np.floor(np.log10(y))
    return f"{y:g}" if np.isclose(mantissa, 2) or np.isclose(mantissa, 5) else ""


def _n_range(counts: pd.Series) -> str:
    """``"5"`` when every count is 5, ``"3-5"`` otherwise."""
    lo, hi = int(counts.min()), int(counts.max())
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def _slug(hidden: str) -> str:
    return "h" + "-".join(str(h) for h in json.loads(hidden))


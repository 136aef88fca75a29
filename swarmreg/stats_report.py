"""The statistics of :mod:`swarmreg.stats` as text tables and figures (matplotlib Agg), each figure
with a title, labelled axes, a legend and a caption saying what its lines, bars or bands are."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from . import stats  # noqa: E402
from .figstyle import caption_path, method_style, save_figure  # noqa: E402

FORMATS = ("markdown", "csv", "latex")
PROFILE_TAUS = (1e-1, 1e-3)
CAPTIONS = {
    "performance_profile": "Performance profiles (Dolan & Moré 2002): the share of problem instances (problem and "
                           "seed, the same start weights for every method) that a method solves within a factor "
                           "alpha of the cheapest method's cost, a run solving when f(x0) - f >= (1 - tau)(f(x0) - "
                           "f_L) (Moré & Wild 2009). Lines are these exact shares; no bands.",
    "data_profile": "Data profiles (Moré & Wild 2009): the share of instances solved within kappa simplex "
                    "gradients (n_params + 1 evaluations of J). Lines are exact shares; no bands.",
    "runtime_ecdf": "Runtime ECDF over targets (the COCO way): the share of (instance, tau) pairs reached by each "
                    "cost, tau in {1e-1, ..., 1e-7} of f(x0) - f_L. Lines are exact shares; no bands.",
    "critical_difference": "Critical-difference diagram (Demšar 2006): mean rank of each method over problems (rank "
                           "1 best; scores are medians over seeds); a bar joins methods that Nemenyi's test does "
                           "not separate at 0.05, the CD segment is Nemenyi's critical difference.",
}


ROUNDING = 1e-12
"""Magnitudes below this (for quantities of order one, so relative to them) are rounding, not findings."""

CI_LEGEND = {
    "BCa": "BCa: bias-corrected and accelerated bootstrap interval of the median",
    "percentile": "pct: percentile bootstrap interval, where BCa is undefined for the values",
    "equal": "all equal: every value alike",
    "range": "range: too few values for an interval, their min-max and n instead",
}


def number(x: float, digits: int = 4, floor: float = ROUNDING) -> str:
    """``x`` to ``digits`` significant figures; a nonzero magnitude below ``floor`` prints as ``< 1e-12``
    (``> -1e-12`` when negative): rounding noise changes between machines and is not a value."""
    if not np.isfinite(x):
        return "" if np.isnan(x) else f"{x}"
    if x != 0 and abs(x) < floor:
        return f"< {floor:g}" if x > 0 else f"> -{floor:g}"
    return f"{x:.{digits}g}"


def interval_cell(median: float, low: float, high: float, kind: str, n: int, lo: float, hi: float,
                  digits: int = 4) -> str:
    """One table cell saying which interval it holds: ``median [low, high] BCa`` (or ``pct``),
    ``median (all n equal)``, or below the interval's n ``median (range lo-hi, n = 3)``."""
    if not np.isfinite(median):
        return ""
    m = number(median, digits)
    if kind in ("BCa", "percentile"):
        return f"{m} [{number(low, digits)}, {number(high, digits)}] {'BCa' if kind == 'BCa' else 'pct'}"
    if kind == "equal":
        return f"{m} (all {n} equal)"
    if n < 2:
        return f"{m} (n = {n})"
    return f"{m} (range {number(lo, digits)} to {number(hi, digits)}, n = {n})"


def format_ci_table(summary: pd.DataFrame, fmt: str = "markdown", digits: int = 4) -> str:
    """Render :func:`stats.ci_summary`: csv keeps every column; markdown and latex show one
    :func:`interval_cell` per metric, markdown followed by a legend of the interval kinds used."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    if fmt == "csv":
        return summary.to_csv(index=False)
    parts = ("_median", "_low", "_high", "_n", "_min", "_max", "_interval")
    names = [c[: -len("_median")] for c in summary.columns if c.endswith("_median")]
    shown = summary[[c for c in summary.columns if not any(c == f"{m}{p}" for m in names for p in parts)]].copy()
    kinds = set()
    for name in names:
        cols = [summary[f"{name}{p}"] for p in ("_median", "_low", "_high", "_interval", "_n", "_min", "_max")]
        shown[name] = [interval_cell(*cell, digits) for cell in zip(*cols)]
        kinds |= set(summary[f"{name}_interval"])
    if "lam" in shown.columns:
        shown["lam"] = shown["lam"].map(lambda x: f"{x:g}")
    if fmt == "latex":
        return shown.to_latex(index=False)
    legend = "; ".join(CI_LEGEND[k] for k in CI_LEGEND if k in kinds)
    return (shown.to_markdown(index=False) + f"\n\nCells: median over seeds; {legend}; values below "
            f"{ROUNDING:g} in magnitude print as < {ROUNDING:g} (rounding).")


def format_pairwise(table: pd.DataFrame, fmt: str = "markdown", digits: int = 3) -> str:
    """Render :func:`stats.pairwise` (or any statistics table): numbers to ``digits`` significant figures."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    if fmt == "csv":
        return table.to_csv(index=False)
    shown = table.copy()
    for col in shown.columns:
        if pd.api.types.is_float_dtype(shown[col]):
            floor = 0.0 if col.startswith(("p", "min_p")) else ROUNDING  # a tiny p is a finding, a tiny difference not
            shown[col] = shown[col].map(lambda x, f=floor: number(x, digits, f))
    return shown.to_markdown(index=False) if fmt == "markdown" else shown.to_latex(index=False)


def _profile_axes(curves: Sequence[tuple[float, pd.DataFrame]], by: str, x: str, xlabel: str, title: str,
                  path: Path, caption: str, ylabel: str = "fraction of problem instances") -> Path:
    fig, axes = plt.subplots(1, len(curves), figsize=(5.5 * len(curves), 4), squeeze=False)
    for ax, (tau, table) in zip(axes[0], curves):
        right = table.loc[np.isfinite(table[x]), x].max()  # every line runs flat to the panel's last step
        for solver, part in table.groupby(by, sort=True):
            finite = part[np.isfinite(part[x])]
            xs, ys = finite[x].to_numpy(), finite["fraction"].to_numpy()
            style = method_style(str(solver))
            if not len(xs):  # never solved: a legend entry, no line
                ax.plot([], [], label=f"{solver} (none)", **style)
                continue
            ax.step(np.r_[xs[:1], xs, right], np.r_[0.0, ys, ys[-1]], where="post", label=str(solver),
                    markevery=slice(1, None, max(1, len(xs) // 5)), **style)
        ax.set(xlabel=xlabel, ylabel=ylabel, ylim=(0, 1.05), xscale="log",
               title=title if tau is None else f"{title}, tau = {tau:g}")
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return save_figure(fig, path, caption)


def plot_profiles(df: pd.DataFrame, traces: Mapping[str, Mapping[str, np.ndarray]],
                  n_params: int | Mapping[str, int], folder: str | Path, by: str = "method",
                  taus: Sequence[float] = PROFILE_TAUS) -> list[Path]:
    """Write ``performance_profile.png``, ``data_profile.png`` and ``runtime_ecdf.png`` into ``folder``."""
    folder = Path(folder)
    ok = df[df["status"] != "failed"]
    n = (f" n = {len(ok)} finished runs of {ok[by].nunique()} {by} values. tau is the share of the initial gap "
         f"f(x0) - f_L left unsolved (f_L the best J any {by} reached on that instance); a legend entry "
         f"'<{by}> (none)' marks one that solved no instance at that tau, so it has no line. Markers sit "
         f"on every few steps of a line, to tell overlapping lines apart.")
    perf = [(t, stats.performance_profile(df, traces, t, by)) for t in taus]
    data = [(t, stats.data_profile(df, traces, n_params, t, by)) for t in taus]
    ecdf = stats.runtime_ecdf(df, traces, by=by)
    return [
        _profile_axes(perf, by, "ratio", "performance ratio alpha (cost over the best method's)",
                      "Performance profile", folder / "performance_profile.png", CAPTIONS["performance_profile"] + n),
        _profile_axes(data, by, "budget_units", "kappa: cost / (n_params + 1)", "Data profile",
                      folder / "data_profile.png", CAPTIONS["data_profile"] + n),
        _ecdf_axes(ecdf, by, folder / "runtime_ecdf.png", CAPTIONS["runtime_ecdf"] + n),
    ]


def _ecdf_axes(ecdf: pd.DataFrame, by: str, path: Path, caption: str) -> Path:
    return _profile_axes([(None, ecdf)], by, "cost", "cost (evaluations of J on the training set)",
                         "Runtime ECDF over targets tau = 1e-1 ... 1e-7", path, caption,
                         ylabel="fraction of (instance, target) pairs")


def plot_runtime_ecdf(df: pd.DataFrame, traces: Mapping[str, Mapping[str, np.ndarray]], path: str | Path,
                      by: str = "method") -> list[Path]:
    """Write the runtime ECDF of :func:`stats.runtime_ecdf` to ``path`` and its caption beside it
    (``path`` with the suffix ``.txt``); return both paths."""
    ok = df[df["status"] != "failed"]
    n = f" n = {len(ok)} finished runs of {ok[by].nunique()} {by} values."
    figure = _ecdf_axes(stats.runtime_ecdf(df, traces, by=by), by, Path(path), CAPTIONS["runtime_ecdf"] + n)
    return [figure, caption_path(figure)]


def plot_critical_difference(summary: stats.RankSummary, path: str | Path) -> Path:
    """Demšar's critical-difference diagram of a :class:`stats.RankSummary`, drawn by scikit-posthocs."""
    import scikit_posthocs as sp
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(summary.mean_ranks) + 1.2))
    palette = {m: method_style(str(m))["color"] for m in summary.mean_ranks.index}
    sp.critical_difference_diagram(summary.mean_ranks, summary.nemenyi, ax=ax, alpha=summary.alpha, cd=summary.cd,
                                   color_palette=palette)
    ax.set_title(f"Mean rank (1 = best) by {summary.metric} over {len(summary.scores)} problems; Friedman "
                 f"p = {summary.p:.3g}", fontsize=9, pad=28)
    fig.tight_layout()
    caption = (CAPTIONS["critical_difference"] + f" {len(summary.scores)} problems, {len(summary.mean_ranks)} "
               f"methods; Friedman chi2 = {summary.statistic:.3g}, p = {summary.p:.3g}; CD = {summary.cd:.3g}.")
    return save_figure(fig, Path(path), caption)

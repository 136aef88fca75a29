"""lam-path figures: lam = 0 on its own tick labelled 0 (a symmetric-log axis), never on a tick of the
smallest lam's decade; the figure says what its bars are."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from swarmreg import report
from swarmreg.figstyle import method_style
from swarmreg.report import lam_axis, plt


def tick_labels(ax) -> dict[str, float]:
    """Visible tick labels and their x position on the canvas, in pixels."""
    ax.figure.canvas.draw()
    lo, hi = ax.get_xlim()
    return {t.get_text(): ax.transData.transform((x, 0))[0] for x, t in zip(ax.get_xticks(), ax.get_xticklabels())
            if lo <= x <= hi and t.get_text()}


@pytest.mark.parametrize("lams", [[0.0, 0.01], [0.0, 1e-4, 1e-2, 1.0], [0.0, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]])
def test_zero_gets_its_own_tick_labelled_0(lams):
    fig, ax = plt.subplots()
    ax.plot(lams, np.arange(len(lams)), marker="o")
    lam_axis(ax, lams)
    labels = tick_labels(ax)
    plt.close(fig)
    assert ax.get_xscale() == "symlog"
    assert "0" in labels and f"{min(x for x in lams if x > 0):g}" in labels
    smallest = min(x for x in lams if x > 0)
    assert f"{smallest / 10:g}" not in labels  # the newcomer's reading: 0 drawn as a decade below
    positions = sorted(labels.values())
    assert labels["0"] == positions[0] and all(b - a > 20 for a, b in zip(positions, positions[1:]))


def test_data_points_sit_on_their_ticks():
    fig, ax = plt.subplots()
    (line,) = ax.plot([0.0, 0.01, 0.1], [1, 2, 3], marker="o")
    lam_axis(ax, [0.0, 0.01, 0.1])
    labels = tick_labels(ax)
    xs = ax.transData.transform(np.column_stack([line.get_xdata(), line.get_ydata()]))[:, 0]
    plt.close(fig)
    np.testing.assert_allclose(xs, [labels["0"], labels["0.01"], labels["0.1"]])


def test_without_zero_the_axis_stays_logarithmic():
    fig, ax = plt.subplots()
    ax.plot([1e-3, 1e-1], [1, 2])
    lam_axis(ax, [1e-3, 1e-1])
    plt.close(fig)
    assert ax.get_xscale() == "log"


def test_plot_lam_path_uses_it_and_names_its_bars(tmp_path, monkeypatch):
    figures, captions = [], []

    def keep(fig, path, caption):
        figures.append(fig)
        captions.append(caption)
        return path

    monkeypatch.setattr(report, "save_figure", keep)
    rng = np.random.default_rng(0)
    rows = [{"dataset": "iris", "hidden": "[4]", "method": m, "lam": lam, "seed": s, "status": "budget",
             "test_accuracy": rng.uniform(0.8, 1), "test_mse": np.nan,
             "weight_norm": rng.uniform(1, 5) / (1 + 1e3 * lam),
             "bias_norm": rng.uniform(1, 2)}
            for m in ("pso", "backprop") for lam in (0.0, 0.01) for s in range(3)]
    report.plot_lam_path(pd.DataFrame(rows), tmp_path)
    [fig] = figures
    for ax in fig.axes:
        assert ax.get_xscale() == "symlog" and "0" in tick_labels(ax) and "0.001" not in tick_labels(ax)
    assert [ax.get_ylabel() for ax in fig.axes] == ["test accuracy", "non-bias weight norm", "bias norm"]
    assert [ax.get_yscale() for ax in fig.axes] == ["linear", "log", "linear"]  # norms over decades: log
    assert "bars: range over seeds (n < 8: no interval)" in fig._suptitle.get_text()  # 3 seeds: no interval
    assert "otherwise the min-max range of its runs" in captions[0] and "3 finished runs per point" in captions[0]
    assert sorted(t.get_text() for t in fig.axes[0].get_legend().get_texts()) == ["backprop", "pso"]
    lines = {c.get_label(): c.lines[0] for c in fig.axes[1].containers}  # errorbar containers, one per method
    assert lines["pso"].get_color() == method_style("pso")["color"]
    assert lines["pso"].get_marker() == method_style("pso")["marker"]
    plt.close(fig)

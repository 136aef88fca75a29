"""One look per method in every figure, and figures saved with their captions.

A method keeps its colour, marker and line style wherever it is drawn (lam path, convergence, profiles,
rank diagram, experiment figures): the registered methods have fixed entries (Okabe-Ito colours, which
colour-blind readers can tell apart), and any other name (a plugin, ``nevergrad:NGOpt``) gets one from a
fallback list picked by a CRC-32 of the name, so it too is the same in every figure and on every machine.
Every figure is saved with a caption beside it, ``<name>.txt``: what is plotted, n, what bars and bands are.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLES: dict[str, tuple[str, str, str]] = {
    "pso": ("#0072B2", "o", "-"),
    "nelder-mead": ("#E69F00", "s", "--"),
    "backprop": ("#009E73", "^", "-."),
    "adam": ("#D55E00", "v", ":"),
    "l-bfgs": ("#CC79A7", "D", "-"),
    "cma-es": ("#56B4E9", "P", "--"),
    "de": ("#8C564B", "X", "-."),
    "openai-es": ("#7F7F7F", "*", ":"),
    "random-search": ("#000000", "h", "--"),
}
"""Registered method -> (colour, marker, line style)."""

FALLBACK_COLOURS = ("#1B9E77", "#7570B3", "#E7298A", "#66A61E", "#A6761D", "#666666", "#17BECF", "#BCBD22")
FALLBACK_MARKERS = ("<", ">", "p", "d", "8", "H")
FALLBACK_LINES = ("-", "--", "-.", ":")


def method_style(method: str) -> dict[str, str]:
    """Matplotlib keywords (``color``, ``marker``, ``linestyle``) for ``method``: its fixed entry, or for
    a name outside :data:`STYLES` one chosen by ``crc32(name)`` (deterministic, unlike ``hash``)."""
    if not isinstance(method, str):
        raise TypeError(f"method must be a name, got {method!r}")
    if method in STYLES:
        colour, marker, line = STYLES[method]
    else:
        h = zlib.crc32(method.encode())
        colour = FALLBACK_COLOURS[h % len(FALLBACK_COLOURS)]
        marker = FALLBACK_MARKERS[(h // len(FALLBACK_COLOURS)) % len(FALLBACK_MARKERS)]
        line = FALLBACK_LINES[(h // 97) % len(FALLBACK_LINES)]
    return {"color": colour, "marker": marker, "linestyle": line}


def caption_path(path: str | Path) -> Path:
    """Where a figure's caption lives: beside it, same name, ``.txt``."""
    return Path(path).with_suffix(".txt")


def save_figure(fig: plt.Figure, path: str | Path, caption: str | None = None) -> Path:
    """Write ``fig`` to ``path`` (PNG, 110 dpi) and close it; with ``caption``, write it to
    :func:`caption_path`. Returns the figure's path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    if caption is not None:
        caption_path(path).write_text(caption.strip() + "\n")
    return path

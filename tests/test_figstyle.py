"""One look per method in every figure (registered names fixed, other names by a stable hash), and
figures saved with their captions beside them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from swarmreg.figstyle import STYLES, caption_path, method_style, save_figure
from swarmreg.registry import METHODS
from swarmreg.report import plt


def test_every_registered_method_has_its_own_colour_and_marker():
    assert set(METHODS) <= set(STYLES)
    looks = [(method_style(m)["color"], method_style(m)["marker"]) for m in METHODS]
    assert len({c for c, _ in looks}) == len(looks) and len({m for _, m in looks}) == len(looks)


def test_a_plugin_name_gets_the_same_look_in_another_process():
    """crc32, not Python's salted str hash: the look must not change between runs."""
    here = method_style("nevergrad:NGOpt")
    code = "from swarmreg.figstyle import method_style; print(method_style('nevergrad:NGOpt'))"
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": "123"}).stdout.strip()
    assert there == str(here)
    assert here["color"] not in {c for c, _, _ in STYLES.values()}


def test_a_name_that_is_not_a_string_is_refused():
    with pytest.raises(TypeError, match="method must be a name, got 3"):
        method_style(3)


def test_save_figure_writes_the_caption_beside_the_figure(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], **method_style("pso"))
    path = save_figure(fig, tmp_path / "sub" / "fig.png", "What is plotted; n = 3.\n")
    assert path == tmp_path / "sub" / "fig.png" and path.read_bytes()[:4] == b"\x89PNG"
    assert caption_path(path) == tmp_path / "sub" / "fig.txt"
    assert caption_path(path).read_text() == "What is plotted; n = 3.\n"

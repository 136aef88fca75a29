"""``swarmreg stats``, ``table --ci`` and ``plot --profiles`` on a small sweep made here, and their refusals."""

from __future__ import annotations

import io
import re
import tomllib

import numpy as np
import pandas as pd
import pytest

import swarmreg as sr
from swarmreg import cli

CONFIG = """\
name = "tiny"
datasets = ["iris"]
hidden = [[3]]
methods = ["pso", "nelder-mead", "backprop"]
lams = [0.0, 0.1]
seeds = [0, 1, 2]
budget = 300

[options.pso]
n_particles = 10
"""
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    sr.run_sweep(sr.Sweep.from_dict(tomllib.loads(CONFIG)), out, executor="serial", progress=False)
    return out


@pytest.fixture(scope="module")
def one_method(tmp_path_factory):
    out = tmp_path_factory.mktemp("one")
    cfg = tomllib.loads(CONFIG.replace('["pso", "nelder-mead", "backprop"]', '["backprop"]'))
    del cfg["options"]  # options of a method outside the sweep are refused
    sr.run_sweep(sr.Sweep.from_dict(cfg), out, executor="serial", progress=False)
    return out


def run(argv: list[object], capsys) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_stats_prints_the_pairwise_table(store, capsys):
    code, out, err = run(["stats", store, "--metric", "fun", "--format", "csv"], capsys)
    assert code == 0, err
    printed = pd.read_csv(io.StringIO(out))
    expected = sr.stats.pairwise(sr.load_results(store), "fun")
    assert len(printed) == len(expected) == 2 * 3  # two lams, three pairs of methods each
    assert (printed["test"] == "wilcoxon").all()  # every method ran seeds 0-2 on their splits
    pd.testing.assert_series_equal(printed["p_holm"], expected["p_holm"], check_dtype=False)
    code, out, _ = run(["stats", store, "--metric", "test_accuracy", "--by", "lam"], capsys)
    assert code == 0 and out.startswith("| dataset") and "wilcoxon" in out
    assert len(out.strip().splitlines()) == 2 + 3  # header, rule, one row per method


def test_table_ci_cells_hold_the_median_and_its_interval(store, capsys):
    code, out, err = run(["table", store, "--ci", "--metrics", "fun", "weight_norm"], capsys)
    assert code == 0, err
    rows = out.split("\n\n")[0].strip().splitlines()[2:]
    assert len(rows) == 6


def test_plot_profiles_writes_the_figures(store, tmp_path, capsys):
    code, out, err = run(["plot", store, "--profiles", "--to", tmp_path], capsys)
    assert code == 0, err
    printed = out.split()
    written = sorted(p.rsplit("/", 1)[-1] for p in printed[::2])
    assert written == ["critical_difference_fun.png", "data_profile.png", "performance_profile.png",
                       "runtime_ecdf.png"]
    assert printed[1::2] == [p.removesuffix(".png") + ".txt" for p in printed[::2]]  # each figure, then its caption
    for name in written:
        assert (tmp_path / name).read_bytes()[:8] == PNG
    assert "tau is the share of the initial gap" in (tmp_path / "performance_profile.txt").read_text()
    assert "(none)' marks one that solved no instance" in (tmp_path / "data_profile.txt").read_text()
    assert "Nemenyi" in (tmp_path / "critical_difference_fun.txt").read_text()


@pytest.mark.parametrize("argv, says", [
    (["stats", "{store}", "--metric", "nope"], "unknown metric 'nope'"),
    (["stats", "{store}", "--by", "solver"], "by='solver'"),
    (["stats", "{store}", "--metric", "test_mse"], "no numeric values"),
    (["stats", "{one}", "--metric", "fun"], "one method"),
    (["plot", "{one}", "--profiles"], "one method"),
    (["table", "{store}", "--ci", "--metrics", "nope"], "unknown metric 'nope'"),
    (["stats", "{missing}"], "no results store"),
])
def test_bad_arguments_exit_2_with_one_line(store, one_method, tmp_path, capsys, argv, says):
    argv = [a.format(store=store, one=one_method, missing=tmp_path / "none") for a in argv]
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and says in err and "Traceback" not in err


def test_stats_ert_prints_art_and_its_interval_at_each_target(store, capsys):
    code, out, err = run(["stats", store, "--ert", "--targets", "0.1", "0.01", "--format", "csv"], capsys)
    assert code == 0, err
    printed = pd.read_csv(io.StringIO(out))
    df, traces = sr.load_results(store), sr.load_traces(store)
    expected = pd.concat([sr.stats.ert(df, traces, t, relative=True) for t in (0.1, 0.01)], ignore_index=True)
    assert len(printed) == 2 * 2 * 3  # targets x lams x methods
    assert list(printed["target"]) == [0.1] * 6 + [0.01] * 6
    for col in ("ert", "ert_low", "ert_high", "successes"):
        np.testing.assert_allclose(printed[col], expected[col])
    code, out, _ = run(["stats", store, "--ert", "--absolute", "--targets", "0.5", "--format", "csv"], capsys)
    absolute = pd.read_csv(io.StringIO(out))
    np.testing.assert_allclose(absolute["ert"], sr.stats.ert(df, traces, 0.5)["ert"])
    assert run(["stats", store, "--targets", "0.1"], capsys)[0] == 2  # targets without --ert


def test_stats_ecdf_saves_the_figure_and_its_caption(store, tmp_path, capsys):
    code, out, err = run(["stats", store, "--ecdf", tmp_path / "fig" / "ecdf.png"], capsys)
    assert code == 0 and "wilcoxon" in out  # the paired tests still print
    assert (tmp_path / "fig" / "ecdf.png").read_bytes().startswith(PNG)
    caption = (tmp_path / "fig" / "ecdf.txt").read_text()
    assert caption.startswith("Runtime ECDF") and "1e-7" in caption
    lines = err.splitlines()  # the figure's and the caption's paths, and the small-n warning
    assert lines[:2] == [str(tmp_path / "fig" / "ecdf.png"), str(tmp_path / "fig" / "ecdf.txt")]


def test_stats_on_two_seeds_says_not_significant_and_warns(tmp_path, capsys):
    out = tmp_path / "two"
    cfg = tomllib.loads(CONFIG.replace("seeds = [0, 1, 2]", "seeds = [0, 1]").replace("[0.0, 0.1]", "[0.1]"))
    sr.run_sweep(sr.Sweep.from_dict(cfg), out, executor="serial", progress=False)
    code, printed, err = run(["stats", out], capsys)
    assert code == 0 and "no difference" not in printed
    assert printed.count("not significant (n = 2; the smallest p this test can give is 0.5)") == 3
    assert err.splitlines() == ["swarmreg: warning: no comparison can be significant at 0.05: the smallest p these "
                                "tests can give is 0.5 (n = 2), times 3 comparison(s) under Holm's correction; "
                                "more seeds are needed"]


def test_table_ci_shows_the_range_below_eight_seeds_and_names_each_interval(store, capsys):
    code, out, err = run(["table", store, "--ci", "--metrics", "fun"], capsys)
    assert code == 0, err
    df = sr.load_results(store)
    first = df[(df["method"] == "backprop") & (df["lam"] == 0.0)]["fun"]
    assert f"{first.median():.4g} (range {first.min():.4g} to {first.max():.4g}, n = 3)" in out
    assert not re.search(r"\] (BCa|pct)", out)  # no interval from 3 values
    assert "range: too few values for an interval" in out


def test_interval_cells_say_which_interval_and_hide_rounding():
    from swarmreg.stats_report import interval_cell, number
    assert interval_cell(1.0, 0.5, 2.0, "BCa", 10, 0.1, 3.0) == "1 [0.5, 2] BCa"
    assert interval_cell(1.0, 0.5, 2.0, "percentile", 10, 0.1, 3.0) == "1 [0.5, 2] pct"
    assert interval_cell(4.32e-18, 1e-19, 5e-18, "BCa", 10, 0.0, 1e-17) == "< 1e-12 [< 1e-12, < 1e-12] BCa"
    assert number(-3e-16) == "> -1e-12" and number(0.0) == "0" and number(2.5e-12) == "2.5e-12"

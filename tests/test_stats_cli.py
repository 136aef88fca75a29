"""``swarmreg stats``, ``table --ci`` and ``plot --profiles`` on a small sweep made here, and their refusals."""

from __future__ import annotations

import io
import tomllib

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
    rows = out.strip().splitlines()[2:]
    assert len(rows) == 6
    df = sr.load_results(store)
    first = df[(df["method"] == "backprop") & (df["lam"] == 0.0)]["fun"]
    low, high = sr.stats.bootstrap_ci(first)
    assert f"{first.median():.4g} [{low:.4g}, {high:.4g}]" in rows[0]


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

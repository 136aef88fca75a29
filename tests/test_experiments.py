"""Smoke profile of each experiment and of ``swarmreg reproduce``: the outputs exist and have their shape."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

import swarmreg as sr
from swarmreg.experiments import EXPERIMENTS, reproduce
from swarmreg.experiments.common import cost_to_target

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return out, reproduce(out, profile="smoke", workers=2, command="swarmreg reproduce (smoke)")


def test_report_holds_every_experiment(report):
    out, path = report
    text = path.read_text()
    assert path == out / "REPORT.md"
    for i, name in enumerate(EXPERIMENTS, start=1):
        assert f"## {i}. {name}:" in text
    assert "numpy " in text and "pyswarms " in text and "swarmreg reproduce (smoke)" in text
    links = [line for line in text.splitlines() if line.startswith("![")]
    assert links
    for link in links:
        target = out / link[link.index("(") + 1:-1]
        assert target.read_bytes()[:8] == PNG


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_experiment_folder(report, name):
    out, _ = report
    folder = out / name
    runs = sr.load_results(folder)
    assert len(runs) > 0
    assert (runs["status"] != "failed").all(), runs.loc[runs["status"] == "failed", "message"].tolist()
    tables = sorted(folder.glob("*.csv"))
    assert tables and all((folder / f"{t.stem}.md").is_file() for t in tables)
    for t in tables:
        assert len(pd.read_csv(t)) > 0
    assert any((folder / "figures").glob("*.png"))


def test_l2_path_table_has_a_row_per_group(report):
    out, _ = report
    table = pd.read_csv(out / "l2-path" / "l2_path.csv")
    runs = sr.load_results(out / "l2-path")
    assert len(table) == runs.groupby(["dataset", "hidden", "method", "lam"]).ngroups
    assert {"weight_norm_median", "weight_norm_low", "weight_norm_high", "bias_norm_median",
            "test_accuracy_median"} <= set(table.columns)


def test_decay_meaning_plain_sgd_equivalence(report):
    out, _ = report
    text = (out / "REPORT.md").read_text()
    line = next(x for x in text.splitlines() if x.startswith("Largest absolute weight difference"))
    assert float(line.split("**")[1]) < 1e-10


def test_rerun_resumes_without_new_runs(report):
    out, _ = report
    before = {name: len(sr.load_results(out / name)) for name in EXPERIMENTS}
    reproduce(out, profile="smoke", workers=1)
    assert before == {name: len(sr.load_results(out / name)) for name in EXPERIMENTS}


def test_only_writes_sections_and_leaves_the_report(report, tmp_path):
    out, path = report
    before = path.read_text()
    written = reproduce(out, profile="smoke", workers=1, only=["pso-vs-backprop"])
    assert written == out / "pso-vs-backprop" / "SECTION.md"
    assert written.read_text().startswith("## 5. pso-vs-backprop")
    assert path.read_text() == before


def test_cost_to_target_reads_the_running_best():
    trace = {"cost": [1.0, 2.0, 3.0, 4.0], "fun": [5.0, 3.0, 4.0, 1.0]}
    assert cost_to_target(trace, 3.0) == 2.0
    assert cost_to_target(trace, 0.5) == float("inf")


def test_reproduce_command_refuses_bad_input(tmp_path):
    for argv in (["reproduce", "--only", "nope", "--out", str(tmp_path / "x")],
                 ["reproduce", "--workers", "0", "--out", str(tmp_path / "y")]):
        proc = subprocess.run([sys.executable, "-m", "swarmreg", *argv], capture_output=True, text=True)
        assert proc.returncode == 2
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()

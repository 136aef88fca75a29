"""Command-line details: compare's CSV flags, family listings, metric suggestions from the store, help
text on every argument, the worker cap and the experiments counted in reproduce's help."""

from __future__ import annotations

import argparse
import io
import tomllib

import pandas as pd
import pytest

import swarmreg as sr
from swarmreg import cli, runner
from swarmreg.csvdata import read_csv
from swarmreg.experiments import EXPERIMENTS

CSV = "vote,ClinLR,age\n" + "".join(f"{'yes' if i % 2 else 'no'},{i % 7},{20 + i}\n" for i in range(40))


def run(argv: list[object], capsys) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


CHEAP = ["--methods", "backprop", "--lams", "0", "--seeds", "0", "--budget", "30", "--workers", "1",
         "--hidden", "2", "--format", "csv"]


def test_compare_target_and_task_name_a_csv_column(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "anes.csv").write_text(CSV)
    code, _, err = run(["compare", "--datasets", "anes.csv", *CHEAP], capsys)
    assert code == 2 and err.rstrip().endswith("name the target with --target vote")  # advice it can follow
    code, out, err = run(["compare", "--datasets", "anes.csv", "--target", "vote", *CHEAP], capsys)
    assert code == 0, err
    assert pd.read_csv(io.StringIO(out))["runs"].tolist() == [1]
    code, out, err = run(["compare", "--datasets", "anes.csv", "--target", "0", "--task", "regression",
                          *CHEAP[:-2], "--metrics", "test_mse", "--format", "csv"], capsys)
    assert code == 2 and "target 'no' of a regression is not a finite number" in err  # the task was passed on
    code, _, err = run(["compare", "--target", "vote", *CHEAP], capsys)
    assert code == 2 and "--datasets names none" in err


def test_a_blank_feature_cell_does_not_name_a_target(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("ClinLR,age,vote\n" + "".join(f"{'' if i == 5 else i % 7},{20 + i},{i % 2}\n" for i in range(20)))
    with pytest.raises(ValueError, match=r"holds '', not a number \(an empty cell\)$"):
        read_csv(path)
    path.write_text("vote,age\n" + "".join(f"{'yes' if i % 2 else 'no'},{20 + i}\n" for i in range(20)))
    with pytest.raises(ValueError, match="name the target with target = 'vote'$"):  # a column that could be
        read_csv(path, target="age")


def test_methods_lists_a_familys_names(capsys):
    pytest.importorskip("nevergrad")
    code, out, _ = run(["methods", "nevergrad"], capsys)
    names = out.split()
    assert code == 0 and "nevergrad:NGOpt" in names and "nevergrad:TwoPointsDE" in names and names == sorted(names)
    assert run(["methods", "--family", "nevergrad"], capsys)[1].split() == names
    code, out, _ = run(["methods", "pso", "nevergrad"], capsys)
    assert out.startswith("nevergrad:") and "pso (gradient-free; native on a device)" in out
    code, _, err = run(["methods", "--family", "nevergrd"], capsys)
    assert code == 2 and "did you mean 'nevergrad'" in err
    with pytest.raises(ValueError, match="swarmreg methods nevergrad lists its names"):
        sr.METHODS.resolve("nevergrad:Nope")


def test_metric_suggestion_prefers_a_metric_the_store_holds(tmp_path, capsys):
    cfg = tomllib.loads('datasets = ["iris"]\nhidden = [[2]]\nmethods = ["backprop"]\nlams = [0.0]\n'
                        'seeds = [0, 1]\nbudget = 30\n')
    sr.run_sweep(sr.Sweep.from_dict(cfg), tmp_path, executor="serial", progress=False)
    for argv in (["table", tmp_path, "--metrics", "accuracy"], ["stats", tmp_path, "--metric", "accuracy"]):
        code, _, err = run(argv, capsys)
        assert code == 2 and "(did you mean 'test_accuracy'?)" in err  # not the empty val_accuracy
    with pytest.raises(ValueError, match="did you mean 'val_accuracy'"):  # without a store: the nearest name
        sr.report.check_metrics(["accuracy"])


def _arguments(parser: argparse.ArgumentParser, path: str):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _arguments(sub, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction):
            yield path, action


def test_every_argument_of_every_subcommand_has_help():
    arguments = list(_arguments(cli._parser(), "swarmreg"))
    assert {p for p, _ in arguments} >= {"swarmreg compare", "swarmreg run", "swarmreg export", "swarmreg stats"}
    missing = [f"{path} {action.dest}" for path, action in arguments if not action.help]
    assert missing == []


def test_reproduce_help_counts_the_registered_experiments(capsys, monkeypatch):
    with pytest.raises(SystemExit):
        cli._parser().parse_args(["--help"])
    assert f"run the {len(EXPERIMENTS)} experiments" in " ".join(capsys.readouterr().out.split())
    monkeypatch.setitem(EXPERIMENTS, "extra", object())
    with pytest.raises(SystemExit):
        cli._parser().parse_args(["--help"])
    assert f"run the {len(EXPERIMENTS)} experiments" in " ".join(capsys.readouterr().out.split())


def test_workers_are_capped_at_the_number_of_runs(monkeypatch):
    started = []

    def fake_pool(specs, sweep_name, workers, *rest):
        started.append(workers)
    monkeypatch.setattr(runner, "_run_pool", fake_pool)
    specs = sr.Sweep.from_dict(tomllib.loads('datasets = ["iris"]\nhidden = [[2]]\nmethods = ["backprop"]\n'
                                             'lams = [0.0]\nseeds = [0, 1]\nbudget = 30\n')).runs()
    runner.execute_all(specs, lambda r: None, workers=100)
    assert started == [2]

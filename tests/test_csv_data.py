"""CSV data sets as a user writes them, through the command as a newcomer runs it: a header, the label
in any column (by name or index), string labels, relative paths read from the config's folder, the task
given or inferred (and said), and every problem refused before any run in one line naming file, line
and column."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris

import swarmreg as sr
from swarmreg import cli
from swarmreg.csvdata import CSVError, read_csv
from swarmreg.execute import execute
from swarmreg.sweep import RunSpec

SPECIES = ("setosa", "versicolor", "virginica")


def flowers(path: Path, label_first: bool = True, rows: slice = slice(None)) -> Path:
    """Iris with string labels, the label column first (as the newcomer's file had it)."""
    X, y = load_iris(return_X_y=True)
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    header = ["species", *names] if label_first else [*names, "species"]
    lines = [",".join(header)]
    for x, t in list(zip(X, y))[rows]:
        cells = [f"{v:g}" for v in x]
        lines.append(",".join([SPECIES[t], *cells] if label_first else [*cells, SPECIES[t]]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def config(datasets: str, budget: int = 200) -> str:
    return f"""\
name = "csv"
datasets = {datasets}
hidden = [[3]]
methods = ["pso", "backprop"]
lams = [0.0]
seeds = [0]
budget = {budget}

[options.pso]
n_particles = 10
"""


def swarmreg_cli(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "swarmreg", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_named_target_string_labels_and_a_path_relative_to_the_config(tmp_path):
    project = tmp_path / "project"
    flowers(project / "data" / "flowers.csv")
    cfg = project / "sweep.toml"
    cfg.write_text(config('[{path = "data/flowers.csv", target = "species"}]'))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = swarmreg_cli("run", cfg, "--out", tmp_path / "out", "--workers", "1", cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    note, summary = proc.stderr.splitlines()
    assert "flowers.csv: task inferred as classification" in note and "'species'" in note
    assert "setosa=0, versicolor=1, virginica=2" in note and 'task = "regression"' in note
    assert summary.startswith("2 runs: 2 finished, 0 failed")
    df = sr.load_results(tmp_path / "out")
    assert set(df["dataset"]) == {"flowers"} and df["test_accuracy"].notna().all() and df["test_mse"].isna().all()
    for text in df["spec"]:  # the label mapping is stored with every run
        source = RunSpec.from_json(text).source
        assert source.classes == SPECIES and source.task == "classification" and source.target == 0
        assert source.path == str((project / "data" / "flowers.csv").resolve())
    assert not any(elsewhere.iterdir())  # nothing written to the working directory


def test_the_csv_gives_the_same_runs_as_the_built_in_iris_would_on_those_numbers(tmp_path):
    """Labels mapped to 0..2 in sorted order and the same numbers: the network sees iris itself."""
    table = read_csv(flowers(tmp_path / "f.csv"), target="species")
    X, y = load_iris(return_X_y=True)
    np.testing.assert_allclose(table.X, X)
    np.testing.assert_array_equal(table.y, y)
    ds = sr.datasets.load(table.source, seed=3)
    ref = sr.datasets.load("iris", seed=3)
    np.testing.assert_allclose(ds.X_train, ref.X_train)
    np.testing.assert_array_equal(ds.y_test, ref.y_test)


@pytest.mark.parametrize("target", ["species", 0, -5])
def test_target_by_name_or_index(tmp_path, target):
    table = read_csv(flowers(tmp_path / "f.csv"), target=target)
    assert table.source.target == 0 and table.X.shape == (150, 4) and table.columns[0] == "species"


def test_default_target_is_the_last_column_and_a_plain_string_entry_still_works(tmp_path):
    flowers(tmp_path / "last.csv", label_first=False)
    sweep = sr.Sweep.from_dict({"datasets": ["iris", "last.csv"], "hidden": [[3]], "methods": ["pso"],
                                "lams": [0.0], "seeds": [0], "budget": 100}, base=tmp_path)
    assert sweep.datasets == ("iris", "last") and sweep.sources["last"].classes == SPECIES
    assert [s.source is None for s in sweep.runs()] == [True, False]


def test_explicit_task_overrides_the_inference(tmp_path):
    rows = "\n".join(f"{i % 7},{(i * 3) % 5},{i % 3}" for i in range(40)) + "\n"
    (tmp_path / "ints.csv").write_text("a,b,y\n" + rows)
    inferred = read_csv(tmp_path / "ints.csv")
    assert inferred.source.task == "classification" and "3 non-negative integers" in inferred.inferred
    regression = read_csv(tmp_path / "ints.csv", task="regression")
    assert regression.source.task == "regression" and regression.inferred is None
    assert regression.y.dtype.kind == "f" and regression.source.classes is None
    sweep = sr.Sweep.from_dict({"datasets": [{"path": "ints.csv", "task": "regression"}], "hidden": [[3]],
                                "methods": ["backprop"], "lams": [0.0], "seeds": [0], "budget": 100}, base=tmp_path)
    assert sweep.notes == ()  # nothing inferred, nothing to say
    [record] = [execute(s) for s in sweep.runs()]
    assert record["status"] != "failed" and record["test_mse"] is not None and "test_accuracy" not in record


def test_inferred_regression_is_said(tmp_path):
    rows = "\n".join(f"{i},{0.37 * i + 0.1}" for i in range(30)) + "\n"
    (tmp_path / "r.csv").write_text(rows)
    table = read_csv(tmp_path / "r.csv")
    assert table.source.task == "regression"
    assert "task inferred as regression" in table.inferred and "30 distinct numeric values" in table.inferred


def test_numeric_labels_sort_by_value(tmp_path):
    rows = "\n".join(f"{i},{i % 4},{[10, 9, 100][i % 3]}" for i in range(30)) + "\n"
    (tmp_path / "n.csv").write_text(rows)
    table = read_csv(tmp_path / "n.csv")
    assert table.source.classes == ("9", "10", "100")
    np.testing.assert_array_equal(table.y[:3], [1, 0, 2])


def test_moved_file_keeps_its_runs_and_an_edited_file_is_another_data_set(tmp_path):
    def keys(path: Path) -> set[str]:
        sweep = sr.Sweep.from_dict({"datasets": [{"path": str(path), "target": "species"}], "hidden": [[3]],
                                    "methods": ["pso"], "lams": [0.0], "seeds": [0, 1], "budget": 100})
        return {s.key for s in sweep.runs()}

    original = flowers(tmp_path / "a" / "flowers.csv")
    moved = tmp_path / "b" / "flowers.csv"
    moved.parent.mkdir()
    shutil.copy(original, moved)
    assert keys(original) == keys(moved)
    flowers(moved, rows=slice(0, 149))
    assert keys(original).isdisjoint(keys(moved))


def test_a_file_edited_after_the_check_fails_its_runs_saying_why(tmp_path):
    path = flowers(tmp_path / "flowers.csv")
    sweep = sr.Sweep.from_dict({"datasets": [{"path": str(path), "target": "species"}], "hidden": [[3]],
                                "methods": ["pso"], "lams": [0.0], "seeds": [0], "budget": 100})
    flowers(path, rows=slice(0, 149))
    summary = sr.run_sweep(sweep, tmp_path / "out", executor="serial")
    assert summary.failed == 1
    assert "changed since the sweep was checked" in sr.load_results(tmp_path / "out")["message"].iloc[0]


# ---------------------------------------------------------------------------------------------------
# Every problem refused before any run: exit 2, one line naming the file, line and column.

LABEL_FIRST = "species,a,b\nsetosa,1,2\nvirginica,3,4\nsetosa,5,6\nvirginica,7,8\n"
CASES = [
    # (id, csv text, datasets entry, strings the one line must hold)
    ("label-first-without-target", LABEL_FIRST, '"data.csv"',
     ["data.csv, line 2, column 1", "'setosa', not a number", "target = 'species'"]),
    ("unknown-target-name", LABEL_FIRST, '{path = "data.csv", target = "specis"}',
     ["data.csv, line 1", "no column named 'specis'", "did you mean 'species'"]),
    ("target-index-out-of-range", LABEL_FIRST, '{path = "data.csv", target = 3}', ["data.csv", "out of range"]),
    ("non-numeric-feature", "a,b,y\n1,2,0\n3,x,1\n5,6,0\n7,8,1\n", '"data.csv"',
     ["data.csv, line 3, column 2", "'x', not a number"]),
    ("empty-feature-cell", "a,b,y\n1,2,0\n3,,1\n5,6,0\n7,8,1\n", '"data.csv"',
     ["data.csv, line 3, column 2", "empty cell"]),
    ("ragged-row", "a,b,y\n1,2,0\n3,4\n5,6,0\n7,8,1\n", '"data.csv"', ["data.csv, line 3, column 3", "2 columns"]),
    ("inf-feature", "a,b,y\n1,2,0\n3,inf,1\n5,6,0\n7,8,1\n", '"data.csv"',
     ["data.csv, line 3, column 2", "not a finite number"]),
    ("string-label-in-regression", LABEL_FIRST, '{path = "data.csv", target = "species", task = "regression"}',
     ["data.csv, line 2, column 1", "'setosa'", "regression"]),
    ("empty-label", "a,b,y\n1,2,0\n3,4,\n5,6,0\n7,8,1\n", '"data.csv"', ["data.csv, line 3, column 3", "empty"]),
    ("single-class", "a,b,y\n1,2,cat\n3,4,cat\n5,6,cat\n", '"data.csv"',
     ["data.csv, line 2, column 3", "single class"]),
    ("class-of-one-item", "a,b,y\n1,2,cat\n3,4,cat\n5,6,cat\n7,8,dog\n", '"data.csv"',
     ["data.csv", "class 'dog' has 1 item", "at least 2 of each class"]),
    ("unknown-task", LABEL_FIRST, '{path = "data.csv", target = 0, task = "classify"}',
     ["data.csv", "task", "'classify'", "'classification'"]),
    ("unknown-entry-key", LABEL_FIRST, '{path = "data.csv", targte = 0}', ["'targte'", "did you mean 'target'"]),
    ("entry-without-path", LABEL_FIRST, '{target = 0}', ["needs a 'path'"]),
    ("missing-file", None, '"nope.csv"', ["nope.csv", "does not exist"]),
    ("named-like-a-built-in", LABEL_FIRST, '{path = "data.csv", target = 0, name = "iris"}',
     ["'iris'", "built-in"]),
    ("not-utf8", b"a,b,y\n1,2,0\n3,\xff,1\n", '"data.csv"', ["data.csv, line 3", "UTF-8"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_csv_problems_are_refused_before_any_run(tmp_path, case, capsys):
    _, text, entry, expected = case
    if text is not None:
        (tmp_path / "data.csv").write_bytes(text if isinstance(text, bytes) else text.encode())
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(config(f"[{entry}]"))
    out = tmp_path / "out"
    capsys.readouterr()
    code = cli.main(["run", str(cfg), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"swarmreg: error: {cfg}: datasets: ")
    for part in expected:
        assert part in lines[0], (part, lines[0])
    assert not out.exists()


def test_a_refusal_from_the_command_is_one_line_without_traceback(tmp_path):
    (tmp_path / "data.csv").write_text(LABEL_FIRST)
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(config('["data.csv"]'))
    proc = swarmreg_cli("run", cfg, "--out", tmp_path / "out", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "data.csv, line 2, column 1" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_two_csv_entries_with_one_name_are_refused(tmp_path):
    flowers(tmp_path / "a" / "flowers.csv", label_first=False)
    flowers(tmp_path / "b" / "flowers.csv", label_first=False)
    with pytest.raises(sr.ConfigError, match="two data sets are called 'flowers'"):
        sr.Sweep.from_dict({"datasets": ["a/flowers.csv", "b/flowers.csv"], "hidden": [[3]], "methods": ["pso"],
                            "lams": [0.0], "seeds": [0], "budget": 100}, base=tmp_path)


def test_the_api_raises_csv_error_a_value_error(tmp_path):
    (tmp_path / "d.csv").write_text(LABEL_FIRST)
    with pytest.raises(CSVError, match=r"d.csv, line 2, column 1") as info:
        sr.datasets.load(str(tmp_path / "d.csv"))
    assert isinstance(info.value, ValueError)


def test_compare_takes_a_csv_entry(tmp_path):
    path = flowers(tmp_path / "flowers.csv")
    table = sr.compare(datasets=[{"path": str(path), "target": "species"}], hidden=[[3]], methods=["pso"],
                       lams=[0.0], seeds=[0], budget=100, executor="serial")
    assert list(table["dataset"]) == ["flowers"] and table.loc[0, "failed"] == 0

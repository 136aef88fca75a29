"""Bad sweep configs and bad command lines: refused up front, one line on stderr, exit 2, nothing written.

The cases the brief of the CLI names run as real ``python -m swarmreg`` subprocesses, started four at a
time by a module fixture; the rest call ``swarmreg.cli.main`` in-process.
"""

from __future__ import annotations

import math
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

import swarmreg as sr
from swarmreg import cli

GOOD = """\
name = "bad"
datasets = ["iris"]
hidden = [[4]]
methods = ["pso", "nelder-mead"]
lams = [0.0, 0.1]
seeds = [0, 1]
budget = 300

[options.pso]
n_particles = 10
"""


def edit(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new)


def top(line: str) -> str:
    """GOOD with a top-level key added (appending it would put it in the [options.pso] table)."""
    return line + "\n" + GOOD


# (id, config text or None for "no file", strings the one-line message must contain)
BAD_CONFIGS = [
    ("unknown-top-level-key", top('nmae = "x"'), ["nmae", "unknown key"]),
    ("method-near-miss", edit('"nelder-mead"]', '"nelder_mead"]'), ["nelder_mead", "'nelder-mead'"]),
    ("unknown-dataset", edit('["iris"]', '["irsi"]'), ["irsi", "iris"]),
    ("unknown-pso-option", edit("n_particles = 10", "n_particle = 10"), ["n_particle", "'n_particles'"]),
    ("empty-methods", edit('methods = ["pso", "nelder-mead"]', "methods = []"), ["methods", "non-empty"]),
    ("duplicated-seed", edit("seeds = [0, 1]", "seeds = [0, 1, 0]"), ["seeds", "twice"]),
    ("duplicated-lam", edit("lams = [0.0, 0.1]", "lams = [0.1, 0.0, 0.1]"), ["lams", "0.1", "twice"]),
    ("negative-lam", edit("lams = [0.0, 0.1]", "lams = [0.0, -0.1]"), ["lams", "-0.1"]),
    ("nan-lam", edit("lams = [0.0, 0.1]", "lams = [0.0, nan]"), ["lams", "nan"]),
    ("inf-lam", edit("lams = [0.0, 0.1]", "lams = [inf]"), ["lams", "inf"]),
    ("budget-zero", edit("budget = 300", "budget = 0"), ["budget", "0"]),
    ("budget-missing", edit("budget = 300\n", ""), ["budget", "None"]),
    ("hidden-zero", edit("hidden = [[4]]", "hidden = [[0]]"), ["hidden", "[0]"]),
    ("hidden-not-nested", edit("hidden = [[4]]", "hidden = [4]"), ["hidden", "4"]),
    ("seed-negative", edit("seeds = [0, 1]", "seeds = [0, -1]"), ["seeds", "-1"]),
    ("seed-bool", edit("seeds = [0, 1]", "seeds = [true]"), ["seeds", "True"]),
    ("seed-float", edit("seeds = [0, 1]", "seeds = [1.5]"), ["seeds", "1.5"]),
    # A seed the store's INTEGER column cannot hold: TOML (tomllib) reads it as a Python int.
    ("seed-too-big-for-store", edit("seeds = [0, 1]", "seeds = [18446744073709551616]"),
     ["seeds", "18446744073709551616"]),
    ("toml-syntax-error", edit("budget = 300", "budget = = 300"), ["line", "TOML"]),
    ("missing-config-file", None, ["cannot read", "missing.toml"]),
    ("variant-without-method", GOOD + '\n[variants.fast]\nlr = 0.5\n', ["fast", "'method'"]),
    ("variant-unknown-method", GOOD + '\n[variants.fast]\nmethod = "backprob"\n', ["backprob", "'backprop'"]),
    ("variant-named-like-method", GOOD + '\n[variants.pso]\nmethod = "pso"\n', ["pso", "rename"]),
    ("options-unknown-method", GOOD + '\n[options.psoo]\nw = 0.5\n', ["psoo", "'pso'"]),
    ("pso-option-bad-value", edit("n_particles = 10", "n_particles = 0"), ["n_particles", "0"]),
    ("pso-option-bad-choice", edit("n_particles = 10", 'topology = "rign"'), ["topology", "rign", "'ring'"]),
    ("test-size-one", top("test_size = 1.0"), ["test_size", "1.0"]),
    ("bad-activation", top('activation = "sigmoidd"'), ["activation", "sigmoidd"]),
    ("csv-dataset-missing", edit('["iris"]', '["no_such_file.csv"]'), ["no_such_file.csv", "does not exist"]),
    # TOML allows an array as an array item; the method check must not crash on an unhashable value.
    ("method-is-a-list", edit('methods = ["pso", "nelder-mead"]', 'methods = [["pso"]]'), ["methods", "['pso']"]),
]

USAGE_ERRORS = [
    # (id, argv after "python -m swarmreg" with {cfg} / {out} / {tmp} placeholders, strings in the message)
    ("unknown-subcommand", ["frobnicate"], ["frobnicate", "invalid choice"]),
    ("no-subcommand", [], ["command"]),
    ("workers-zero", ["run", "{cfg}", "--out", "{out}", "--workers", "0"], ["--workers", "0"]),
    ("workers-not-int", ["run", "{cfg}", "--out", "{out}", "--workers", "two"], ["--workers", "two"]),
    ("run-without-out", ["run", "{cfg}"], ["--out"]),
    ("unknown-executor", ["run", "{cfg}", "--out", "{out}", "--executor", "threads"], ["threads"]),
    ("scheduler-without-dask", ["run", "{cfg}", "--out", "{out}", "--scheduler", "tcp://127.0.0.1:1"],
     ["--scheduler"]),
    ("out-is-a-file", ["run", "{cfg}", "--out", "{cfg}"], ["--out", "not a folder"]),
    ("table-missing-folder", ["table", "{tmp}/nothing_here"], ["nothing_here", "runs.sqlite"]),
    ("plot-missing-folder", ["plot", "{tmp}/nothing_here"], ["nothing_here", "runs.sqlite"]),
    ("table-bad-format", ["table", "{tmp}/nothing_here", "--format", "html"], ["html"]),
]


# These run as real ``python -m swarmreg`` subprocesses; the other cases call ``swarmreg.cli.main`` in this
# process (the same code path minus interpreter start-up, which costs ~2 s of imports per case).
SUBPROCESS_CASES = {
    "config:unknown-top-level-key", "config:method-near-miss", "config:unknown-dataset",
    "config:unknown-pso-option", "config:empty-methods", "config:duplicated-seed", "config:negative-lam",
    "config:nan-lam", "config:budget-zero", "config:hidden-zero", "config:seed-negative", "config:seed-bool",
    "config:seed-too-big-for-store", "config:toml-syntax-error", "config:missing-config-file",
    "config:variant-without-method",
    "usage:unknown-subcommand", "usage:workers-zero", "usage:table-missing-folder",
}


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def _jobs(tmp_path_factory) -> dict[str, tuple[list[str], Path, Path]]:
    """{case id: (argv after ``swarmreg``, working folder, the --out folder that must not appear)}."""
    jobs = {}
    for case_id, text, _ in BAD_CONFIGS:
        tmp = tmp_path_factory.mktemp(case_id)
        cfg = tmp / ("missing.toml" if text is None else "sweep.toml")
        if text is not None:
            cfg.write_text(text)
        out = tmp / "out"
        jobs["config:" + case_id] = ([str(a) for a in ("run", cfg, "--out", out)], tmp, out)
    for case_id, argv, _ in USAGE_ERRORS:
        tmp = tmp_path_factory.mktemp(case_id)
        cfg, out = tmp / "sweep.toml", tmp / "out"
        cfg.write_text(GOOD)
        jobs["usage:" + case_id] = ([a.format(cfg=cfg, out=out, tmp=tmp) for a in argv], tmp, out)
    return jobs


def _subprocess(argv: list[str], cwd: Path) -> Outcome:
    proc = subprocess.run([sys.executable, "-m", "swarmreg", *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=120)
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> dict[str, tuple[list[str], Path, Path]]:
    return _jobs(tmp_path_factory)


@pytest.fixture(scope="module")
def subprocess_results(cases) -> dict[str, Outcome]:
    """The subprocess cases, started four at a time."""
    assert SUBPROCESS_CASES <= set(cases)
    with ThreadPoolExecutor(4) as pool:
        futures = {k: pool.submit(_subprocess, *cases[k][:2]) for k in sorted(SUBPROCESS_CASES)}
        return {k: f.result() for k, f in futures.items()}


def outcome(key: str, cases, subprocess_results, capsys, monkeypatch) -> tuple[Outcome, Path]:
    argv, tmp, out = cases[key]
    if key in SUBPROCESS_CASES:
        return subprocess_results[key], out
    monkeypatch.chdir(tmp)
    capsys.readouterr()
    code = cli.main(argv)
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err), out


def check_one_line_error(result: Outcome, expected: list[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), f"want exactly one non-empty stderr line, got {result.stderr!r}"
    assert result.stdout == ""
    message = lines[0]
    assert "swarmreg" in message and "error" in message, message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"
    return message


@pytest.mark.parametrize("case_id, expected", [(c, e) for c, _, e in BAD_CONFIGS], ids=[c for c, _, _ in BAD_CONFIGS])
def test_bad_config_is_refused_with_one_line_and_nothing_written(case_id, expected, cases, subprocess_results,
                                                                  capsys, monkeypatch):
    result, out = outcome("config:" + case_id, cases, subprocess_results, capsys, monkeypatch)
    check_one_line_error(result, expected)
    assert not out.exists(), f"{out} was created for a config that cannot run"


@pytest.mark.parametrize("case_id, expected", [(c, e) for c, _, e in USAGE_ERRORS], ids=[c for c, _, _ in USAGE_ERRORS])
def test_usage_error_is_one_line_exit_2(case_id, expected, cases, subprocess_results, capsys, monkeypatch):
    result, out = outcome("usage:" + case_id, cases, subprocess_results, capsys, monkeypatch)
    check_one_line_error(result, expected)
    assert not out.exists()


def test_toml_syntax_error_names_the_line(subprocess_results):
    # "budget = = 300" is on line 7 of the config
    assert "line 7" in subprocess_results["config:toml-syntax-error"].stderr


def test_good_config_of_the_table_is_accepted():
    """The table's base config is valid, so each case fails for its own edit only."""
    import tomllib
    sweep = sr.Sweep.from_dict(tomllib.loads(GOOD))
    assert len(sweep.runs()) == 1 * 1 * 2 * 2 * 2


# ---------------------------------------------------------------------------------------------------
# The Python API: Sweep.from_dict raises ConfigError (a ValueError) naming the bad value.

BASE = {"name": "api", "datasets": ["iris"], "hidden": [[4]], "methods": ["pso", "backprop"],
        "lams": [0.0, 0.1], "seeds": [0, 1], "budget": 300, "options": {"pso": {"n_particles": 10}}}

API_CASES = [
    # (id, changes to BASE (None value: delete the key), strings the message must contain)
    ("unknown-key", {"sedes": [0]}, ["sedes", "'seeds'"]),
    ("method-near-miss", {"methods": ["nelder_mead"]}, ["nelder_mead", "'nelder-mead'"]),
    ("unknown-dataset", {"datasets": ["mnist"]}, ["mnist"]),
    ("dataset-not-str", {"datasets": [3]}, ["3"]),
    ("unknown-option", {"options": {"pso": {"n_particle": 10}}}, ["n_particle", "'n_particles'"]),
    ("option-of-unlisted-method-name", {"options": {"backpro": {"lr": 0.1}}}, ["backpro", "'backprop'"]),
    ("empty-lams", {"lams": []}, ["lams"]),
    ("lams-not-a-list", {"lams": 0.1}, ["lams", "0.1"]),
    ("missing-methods", {"methods": None}, ["methods"]),
    ("duplicate-dataset", {"datasets": ["iris", "iris"]}, ["datasets", "'iris'", "twice"]),
    ("duplicate-hidden", {"hidden": [[4], [4]]}, ["hidden", "[4]", "twice"]),
    ("negative-lam", {"lams": [-1e-3]}, ["-0.001"]),
    ("nan-lam", {"lams": [math.nan]}, ["nan"]),
    ("lam-bool", {"lams": [True]}, ["True"]),
    ("lam-str", {"lams": ["0.1"]}, ["'0.1'"]),
    ("budget-zero", {"budget": 0}, ["budget", "0"]),
    ("budget-nan", {"budget": math.nan}, ["budget", "nan"]),
    ("budget-bool", {"budget": True}, ["budget", "True"]),
    ("hidden-zero", {"hidden": [[0]]}, ["[0]"]),
    ("hidden-bool", {"hidden": [[True]]}, ["[True]"]),
    ("seed-negative", {"seeds": [-1]}, ["-1"]),
    ("seed-bool", {"seeds": [True]}, ["True"]),
    # Seeds the config accepts but no run can use: >= 2**32 every run fails in train_test_split's
    # random_state check; >= 2**63 the store cannot hold and the sweep crashes after computing.
    ("seed-too-big-for-split", {"seeds": [2**32]}, [str(2**32)]),
    ("seed-too-big-for-store", {"seeds": [2**64]}, [str(2**64)]),
    ("split-seed-negative", {"split_seed": -3}, ["split_seed", "-3"]),
    ("test-size-negative", {"test_size": -0.1}, ["test_size", "-0.1"]),
    ("name-empty", {"name": ""}, ["name"]),
    ("variant-without-method", {"variants": {"fast": {"lr": 0.5}}, "methods": ["fast"]}, ["fast", "'method'"]),
    ("variant-bad-option", {"variants": {"fast": {"method": "backprop", "decay": "decopled"}}, "methods": ["fast"]},
     ["fast", "decopled", "'decoupled'"]),
    ("variant-unknown-option", {"variants": {"fast": {"method": "backprop", "lrr": 0.5}}, "methods": ["fast"]},
     ["fast", "lrr", "'lr'"]),
    # Unhashable values (TOML arrays or tables as items) must be refused as ConfigError, not TypeError.
    ("method-is-a-list", {"methods": [["pso"]]}, ["['pso']"]),
    ("method-is-a-table", {"methods": [{"pso": 1}]}, ["{'pso': 1}"]),
    ("variant-method-is-a-list", {"variants": {"fast": {"method": ["pso"]}}, "methods": ["fast"]},
     ["fast", "['pso']"]),
]


@pytest.mark.parametrize("changes, expected", [(c, e) for _, c, e in API_CASES], ids=[i for i, _, _ in API_CASES])
def test_from_dict_raises_config_error_naming_the_value(changes, expected):
    cfg = {**BASE, **changes}
    cfg = {k: v for k, v in cfg.items() if v is not None}
    with pytest.raises(sr.ConfigError) as info:
        sr.Sweep.from_dict(cfg)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("config: ")  # the default ``where``
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_from_dict_where_prefixes_the_message():
    with pytest.raises(sr.ConfigError, match=r"^my\.toml: .*-1"):
        sr.Sweep.from_dict({**BASE, "seeds": [-1]}, where="my.toml")


def test_config_error_is_a_value_error():
    assert issubclass(sr.ConfigError, ValueError)


def test_from_toml_missing_file_and_syntax_error(tmp_path):
    with pytest.raises(sr.ConfigError, match="cannot read"):
        sr.Sweep.from_toml(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nlams = [0.0,, 1]\nbudget = 3\n')
    with pytest.raises(sr.ConfigError, match="line"):
        sr.Sweep.from_toml(bad)


def test_from_toml_name_defaults_to_file_stem(tmp_path):
    cfg = tmp_path / "my_sweep.toml"
    cfg.write_text(GOOD.replace('name = "bad"\n', ""))
    assert sr.Sweep.from_toml(cfg).name == "my_sweep"


def test_compare_checks_its_arguments_before_running():
    with pytest.raises(sr.ConfigError, match="nelder-mead"):
        sr.compare(methods=["nelder_mead"], budget=100)


def test_a_typo_in_the_options_of_an_unused_method_is_refused():
    with pytest.raises(sr.ConfigError, match="unknown option 'lrr'.*did you mean 'lr'"):
        sr.Sweep.from_dict({"name": "x", "datasets": ["iris"], "hidden": [[4]], "methods": ["pso"], "lams": [0.0],
                            "seeds": [0], "budget": 100, "options": {"backprop": {"lrr": 1}}})


def test_penalize_biases_reaches_the_objective_and_leaves_standard_keys_alone():
    from swarmreg.execute import problem
    base = {"name": "b", "datasets": ["iris"], "hidden": [[3]], "methods": ["backprop"], "lams": [0.1],
            "seeds": [0], "budget": 100}
    [standard] = sr.Sweep.from_dict(base).runs()
    [biased] = sr.Sweep.from_dict({**base, "penalize_biases": True}).runs()
    assert "penalize_biases" not in standard.canonical() and standard.key != biased.key
    assert type(biased).from_json(biased.canonical()) == biased
    assert problem(biased)[1].penalize_biases and not problem(standard)[1].penalize_biases
    with pytest.raises(sr.ConfigError, match="penalize_biases must be true or false, got 1"):
        sr.Sweep.from_dict({**base, "penalize_biases": 1})

"""Provenance of stored runs: the columns every new run fills, old stores opened with them missing,
and stale runs (made by other code of their method) recomputed, kept on request, and reported."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import tomllib
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

import swarmreg as sr
from swarmreg.provenance import _code_hash, method_fingerprint
from swarmreg.store import PROVENANCE_COLUMNS, RUN_COLUMNS

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

SMALL = """\
name = "small"
datasets = ["iris"]
hidden = [[3]]
methods = ["pso", "backprop"]
lams = [0.0]
seeds = [0]
budget = 60

[options.pso]
n_particles = 5
"""


def test_the_code_hash_ignores_comments_and_docstrings_but_not_code():
    code = 'def f(x):\n    """Twice x."""\n    return 2 * x  # double\n'
    assert _code_hash(code) == _code_hash(code.replace("# double", "# twice").replace("Twice x.", "2x."))
    assert _code_hash(code) == _code_hash('def f(x):\n    return 2 * x\n')
    assert _code_hash(code) != _code_hash(code.replace("2 * x", "3 * x"))


def test_every_new_run_records_its_provenance(tmp_path):
    sr.run_sweep(sr.Sweep.from_dict(tomllib.loads(SMALL)), tmp_path, executor="serial")
    df = sr.load_results(tmp_path)
    assert list(df.columns) == list(RUN_COLUMNS) and len(df) == 2
    assert df[list(PROVENANCE_COLUMNS)].notna().all().all()
    assert set(df["swarmreg_version"]) == {sr.__version__}
    for _, run in df.iterrows():
        assert run["method_fingerprint"] == method_fingerprint(run["method"])
        assert datetime.fromisoformat(run["started_at"]) <= datetime.fromisoformat(run["finished_at"])
    assert df.set_index("method").loc["pso", "library_version"].startswith("pyswarms ")


@pytest.mark.parametrize("dropped", [len(PROVENANCE_COLUMNS), 4])
def test_a_store_without_provenance_opens_with_it_missing_and_is_upgraded(tmp_path, dropped):
    """As a schema-2 swarmreg left it (every provenance column dropped), or as an upgrade cut off
    after its first ALTER TABLEs left it (the last few dropped, the schema still 2)."""
    sweep = sr.Sweep.from_dict(tomllib.loads(SMALL))
    sr.run_sweep(sweep, tmp_path, executor="serial")
    with sqlite3.connect(tmp_path / "runs.sqlite") as db:
        for column in PROVENANCE_COLUMNS[-dropped:]:
            db.execute(f"ALTER TABLE runs DROP COLUMN {column}")
        if dropped < len(PROVENANCE_COLUMNS):
            db.execute(f"UPDATE runs SET {', '.join(f'{c} = NULL' for c in PROVENANCE_COLUMNS[:-dropped])}")
        db.execute("UPDATE meta SET value = '2' WHERE name = 'schema'")
    old = sr.load_results(tmp_path)
    assert list(old.columns) == list(RUN_COLUMNS) and old[list(PROVENANCE_COLUMNS)].isna().all().all()
    again = sr.run_sweep(sweep, tmp_path, executor="serial")  # upgraded in place; old runs are not stale
    assert (again.skipped, again.finished, again.stale) == (2, 0, {})
    pd.testing.assert_frame_equal(sr.load_results(tmp_path), old)


def swarmreg_run(cfg: Path, out: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-P", "-m", "swarmreg", "run", str(cfg), "--out", str(out),
                           "--executor", "serial", *flags], capture_output=True, text=True, timeout=300,
                          cwd=out.parent)


def test_an_edited_plugin_recomputes_its_runs_and_says_so(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    plugin = project / "hill_climb.py"
    shutil.copy(EXAMPLES / "hill_climb.py", plugin)
    cfg = project / "sweep.toml"
    config = SMALL.replace('name = "small"', 'name = "small"\nplugins = ["hill_climb"]').replace(
        '"backprop"]', '"hill-climb"]')
    cfg.write_text(config.replace("seeds = [0]", "seeds = [0, 1]"))
    out = tmp_path / "out"
    first = swarmreg_run(cfg, out)
    assert first.returncode == 0, first.stderr
    before = sr.load_results(out)

    plugin.write_text(plugin.read_text().replace("# Gaussian step", "# a Gaussian step").replace(
        '"""Keep the best', '"""Keep only the best'))  # comments and docstrings: not stale
    comment = swarmreg_run(cfg, out)
    assert comment.stderr.splitlines()[-1].startswith("4 runs: 0 finished, 0 failed, 4 already stored")
    assert "stale" not in comment.stderr

    plugin.write_text(plugin.read_text().replace("scale = opts.step", "scale = 3 * opts.step"))
    cfg.write_text(config.replace("seeds = [0]", "seeds = [0, 1, 2]"))
    kept = swarmreg_run(cfg, out, "--keep-stale")
    assert kept.returncode == 0, kept.stderr
    assert "kept 2 stale run(s), made by other code than their method's now: hill-climb 2" in kept.stderr
    assert "6 runs: 2 finished, 0 failed, 4 already stored" in kept.stderr
    table = subprocess.run([sys.executable, "-m", "swarmreg", "table", str(out)], capture_output=True, text=True,
                           timeout=120, cwd=tmp_path)
    assert table.returncode == 0 and table.stderr.count("\n") == 1
    assert "runs of hill-climb were made by more than one code fingerprint" in table.stderr

    rerun = swarmreg_run(cfg, out)
    assert "recomputed 2 stale run(s), whose method's code changed: hill-climb 2" in rerun.stderr
    assert "6 runs: 2 finished, 0 failed, 4 already stored" in rerun.stderr
    after = sr.load_results(out).set_index("key")
    old = before.set_index("key")
    climbs = old.index[old["method"] == "hill-climb"]
    assert (after.loc[climbs, "fun"] != old.loc[climbs, "fun"]).all()
    assert after["method_fingerprint"].groupby(after["method"]).nunique().eq(1).all()

    everything = swarmreg_run(cfg, out, "--rerun", "all")
    assert "6 runs: 6 finished, 0 failed, 0 already stored" in everything.stderr


def test_keep_stale_contradicts_rerun_stale(tmp_path):
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(SMALL)
    proc = swarmreg_run(cfg, tmp_path / "out", "--keep-stale", "--rerun", "all")
    assert proc.returncode == 2 and proc.stderr.strip() == "swarmreg: error: --keep-stale contradicts --rerun all"


def test_a_methods_fingerprint_covers_the_helper_modules_it_runs_on(monkeypatch):
    """backprop's loop lives in methods/_epochs.py and its device path in backends/jax_methods.py: an
    edit there is an edit of backprop."""
    from swarmreg import provenance
    before, simplex = method_fingerprint("backprop"), method_fingerprint("nelder-mead")
    real = provenance._module_hash.__wrapped__

    def edited(path, mtime):
        return real(path, mtime) + ("edited" if path.endswith("_epochs.py") else "")
    monkeypatch.setattr(provenance, "_module_hash", edited)
    assert method_fingerprint("backprop") != before
    assert method_fingerprint("nelder-mead") == simplex  # scipy's simplex runs on no epoch loop


def test_runs_of_another_python_minor_version_are_not_called_stale():
    """The syntax tree, so the fingerprint, differs between Python minor versions: only runs stored
    under the running one are compared."""
    import platform
    from types import SimpleNamespace

    from swarmreg.provenance import stale_runs
    here = platform.python_version()
    other = "3.99.0"
    stored = {"a": ("pso", "0" * 16, here), "b": ("pso", "0" * 16, other), "c": ("pso", None, here),
              "d": ("pso", method_fingerprint("pso"), here)}
    specs = [SimpleNamespace(key=k) for k in stored]
    assert stale_runs(stored, specs) == {"a": "pso"}

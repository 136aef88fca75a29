"""Sweeps that grow: a store is identified by the runs it holds, not by the config that wrote it.

A config that adds or removes lams, seeds, methods, options, networks or datasets runs only the specs
not yet stored; ``table``/``plot`` show the runs of the config last run (``--all``: every stored run);
an interrupted sweep resumes into a grown one; newer stores and key collisions are refused in one line.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pandas as pd
import pytest

import swarmreg as sr
from swarmreg import cli
from swarmreg.store import RUN_COLUMNS, SCHEMA_VERSION, Store, StoreError
from swarmreg.sweep import RunSpec

BASE = """\
name = "base"
datasets = ["iris"]
hidden = [[4]]
methods = ["pso", "backprop"]
lams = [0.0]
seeds = [0]
budget = 300

[options.pso]
n_particles = 10
"""


def grow(text: str, **changes: str) -> str:
    """``BASE`` with whole lines replaced: ``grow(BASE, lams="[0.0, 0.1]")``."""
    lines = text.splitlines()
    for key, value in changes.items():
        lines = [f"{key} = {value}" if line.startswith(f"{key} = ") else line for line in lines]
    return "\n".join(lines) + "\n"


def sweep_of(text: str) -> sr.Sweep:
    return sr.Sweep.from_dict(tomllib.loads(text))


def keys_of(text: str) -> set[str]:
    return {s.key for s in sweep_of(text).runs()}


def rowids(out: Path) -> dict[str, tuple[int, float]]:
    """{key: (rowid, wall_time)}: a rewritten row gets a new rowid and wall time."""
    with sqlite3.connect(f"file:{out / 'runs.sqlite'}?mode=ro", uri=True) as db:
        return {k: (r, w) for k, r, w in db.execute("SELECT key, rowid, wall_time FROM runs")}


def run_main(argv: list[object], capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def summary(out: Path, text: str, **kwargs) -> tuple[int, int, int, int]:
    s = sr.run_sweep(sweep_of(text), out, executor="serial", **kwargs)
    return s.total, s.skipped, s.finished, s.failed


@pytest.fixture
def base_out(tmp_path) -> Path:
    out = tmp_path / "out"
    assert summary(out, BASE) == (2, 0, 2, 0)
    return out


def test_adding_lams_seeds_and_a_method_runs_only_the_new_specs(base_out):
    before = rowids(base_out)
    grown = grow(BASE, lams="[0.0, 0.1]", seeds="[0, 1]", methods='["pso", "backprop", "nelder-mead"]')
    assert summary(base_out, grown) == (12, 2, 10, 0)
    after = rowids(base_out)
    assert {k: after[k] for k in before} == before  # the stored runs were reused, not rewritten
    assert set(sr.load_results(base_out)["key"]) == keys_of(grown) == set(after)


def test_adding_a_network_and_a_dataset(base_out):
    grown = grow(BASE, hidden="[[4], [3]]", datasets='["iris", "wine"]')
    assert summary(base_out, grown) == (8, 2, 6, 0)
    df = sr.load_results(base_out)
    assert sorted(df["hidden"].unique()) == ["[3]", "[4]"] and sorted(df["dataset"].unique()) == ["iris", "wine"]


def test_changed_options_rerun_only_that_method(base_out):
    changed = BASE.replace("n_particles = 10", "n_particles = 12")
    assert summary(base_out, changed) == (2, 1, 1, 0)  # backprop's run is the same spec
    current = sr.load_results(base_out)
    assert len(current) == 2
    pso = current[current["method"] == "pso"]
    assert json.loads(pso["spec"].iloc[0])["options"]["n_particles"] == 12
    assert len(sr.load_results(base_out, current_only=False)) == 3


def test_runs_are_reused_whatever_config_made_them(base_out):
    other = grow(BASE, name='"another-name"', lams="[0.0, 0.5]")
    assert summary(base_out, other) == (4, 2, 2, 0)
    df = sr.load_results(base_out).set_index("key")
    # the stored row says which sweep first ran it
    assert set(df.loc[list(keys_of(BASE)), "sweep"]) == {"base"}
    assert set(df.drop(index=list(keys_of(BASE)))["sweep"]) == {"another-name"}


def test_removing_lams_selects_fewer_runs_and_all_shows_every_one(base_out, capsys, tmp_path):
    grown = grow(BASE, lams="[0.0, 0.1]")
    summary(base_out, grown)
    cfg = tmp_path / "base.toml"
    cfg.write_text(BASE)  # back to one lam: nothing to run
    code, _, err = run_main(["run", cfg, "--out", base_out, "--executor", "serial"], capsys)
    assert code == 0 and "2 runs: 0 finished, 0 failed, 2 already stored" in err
    assert set(sr.load_results(base_out)["key"]) == keys_of(BASE)
    assert set(sr.load_results(base_out, current_only=False)["key"]) == keys_of(grown)
    for extra, lams in (([], {0.0}), (["--all"], {0.0, 0.1})):
        code, out, _ = run_main(["table", base_out, "--format", "csv", *extra], capsys)
        assert code == 0
        table = pd.read_csv(io.StringIO(out))
        assert set(table["lam"]) == lams
    for extra, n_convergence in (([], 1), (["--all"], 2)):
        code, out, _ = run_main(["plot", base_out, "--to", tmp_path / f"fig{len(extra)}", *extra], capsys)
        assert code == 0
        assert sum("convergence_" in p and p.endswith(".png") for p in out.split()) == n_convergence


def test_a_store_of_the_previous_layout_is_upgraded(base_out):
    """A store written before layouts were versioned: a fingerprint in meta, no table of current runs."""
    with sqlite3.connect(base_out / "runs.sqlite") as db:
        db.execute("DROP TABLE current")
        db.execute("DELETE FROM meta WHERE name = 'schema'")
        db.execute("INSERT INTO meta VALUES ('fingerprint', 'abc')")
    db.close()
    assert set(sr.load_results(base_out)["key"]) == keys_of(BASE)  # read as it is: every run is current
    before = rowids(base_out)
    assert summary(base_out, grow(BASE, seeds="[0, 1]")) == (4, 2, 2, 0)
    assert {k: rowids(base_out)[k] for k in before} == before
    with sqlite3.connect(f"file:{base_out / 'runs.sqlite'}?mode=ro", uri=True) as db:
        meta = dict(db.execute("SELECT name, value FROM meta"))
    assert meta["schema"] == str(SCHEMA_VERSION) and "fingerprint" not in meta


def test_a_store_of_a_newer_swarmreg_is_refused_in_one_line(base_out, tmp_path, capsys):
    with sqlite3.connect(base_out / "runs.sqlite") as db:
        db.execute("UPDATE meta SET value = ? WHERE name = 'schema'", (str(SCHEMA_VERSION + 1),))
    before = rowids(base_out)
    with pytest.raises(StoreError, match="newer swarmreg"):
        sr.run_sweep(sweep_of(BASE), base_out, executor="serial")
    with pytest.raises(StoreError, match="newer swarmreg"):
        sr.load_results(base_out)
    cfg = tmp_path / "base.toml"
    cfg.write_text(BASE)
    for argv in (["run", cfg, "--out", base_out], ["table", base_out], ["plot", base_out]):
        code, out, err = run_main(argv, capsys)
        assert code == 2 and out == "" and len(err.splitlines()) == 1, (argv, err)
        assert "newer swarmreg" in err and f"schema {SCHEMA_VERSION + 1}" in err
    assert rowids(base_out) == before


def test_a_key_collision_with_another_spec_is_refused(base_out, tmp_path, capsys):
    """A stored run whose spec is not the one its key stands for (forged here: the budget edited)."""
    key = next(iter(keys_of(BASE)))
    with sqlite3.connect(base_out / "runs.sqlite") as db:
        spec = json.loads(db.execute("SELECT spec FROM runs WHERE key = ?", (key,)).fetchone()[0])
        spec["budget"] = 301.0
        db.execute("UPDATE runs SET spec = ? WHERE key = ?", (json.dumps(spec), key))
    before = rowids(base_out)
    with pytest.raises(StoreError, match=f"run {key} with another spec"):
        sr.run_sweep(sweep_of(grow(BASE, seeds="[0, 1]")), base_out, executor="serial")
    cfg = tmp_path / "base.toml"
    cfg.write_text(BASE)
    code, out, err = run_main(["run", cfg, "--out", base_out], capsys)
    assert code == 2 and len(err.splitlines()) == 1 and "another spec" in err
    assert rowids(base_out) == before


def test_built_in_data_sets_keep_the_keys_stores_already_hold():
    """A spec as earlier versions stored it: its key was the hash of that very text, and still is."""
    text = ('{"activation":"tanh","base_method":"pso","budget":300.0,"dataset":"iris","hidden":[4],"lam":0.0,'
            '"method":"pso","options":{"c1":1.49618,"c2":1.49618,"init_spread":1.0,"k":3,"n_particles":10,'
            '"topology":"global","velocity_clamp":null,"w":0.7298},"seed":0,"split_seed":0,"test_size":0.3,'
            '"val_size":0.0}')
    spec = RunSpec.from_json(text)
    assert spec.canonical() == spec.identity() == text
    assert spec.key == hashlib.sha256(text.encode()).hexdigest()[:20]


def test_a_store_with_other_run_columns_is_refused(base_out):
    with sqlite3.connect(base_out / "runs.sqlite") as db:
        db.execute("ALTER TABLE runs ADD COLUMN from_the_future TEXT")
    for call in (lambda: sr.run_sweep(sweep_of(BASE), base_out, executor="serial"),
                 lambda: sr.load_results(base_out)):
        with pytest.raises(StoreError, match="incompatible swarmreg.*from_the_future"):
            call()


# ---------------------------------------------------------------------------------------------------
# An interrupted sweep, then a grown config into the same folder.

INTERRUPTED = """\
name = "interrupted"
datasets = ["iris"]
hidden = [[4]]
methods = ["pso", "nelder-mead", "backprop"]
lams = [0.0, 0.1]
seeds = [0, 1, 2]
budget = 1000

[options.pso]
n_particles = 10
"""
GROWN = grow(INTERRUPTED, lams="[0.0, 0.1, 1.0]", seeds="[0, 1, 2, 3]")


def stored(out: Path) -> int:
    path = out / "runs.sqlite"
    if not path.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def test_interrupted_sweep_then_grown_config(tmp_path):
    cfg, grown_cfg, out = tmp_path / "sweep.toml", tmp_path / "grown.toml", tmp_path / "out"
    cfg.write_text(INTERRUPTED)
    grown_cfg.write_text(GROWN)
    proc = subprocess.Popen([sys.executable, "-m", "swarmreg", "run", str(cfg), "--out", str(out), "--workers", "2"],
                            cwd=tmp_path, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while stored(out) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.communicate(timeout=60)
    kept = stored(out)
    n_first, n_grown = 3 * 2 * 3, 3 * 3 * 4
    assert 3 <= kept < n_first, f"{kept} runs stored: the sweep was not interrupted"

    done = subprocess.run([sys.executable, "-m", "swarmreg", "run", str(grown_cfg), "--out", str(out),
                           "--workers", "2"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{n_grown} runs: {n_grown - kept} finished, 0 failed, {kept} already stored" in done.stderr

    reference = tmp_path / "reference"
    sr.run_sweep(sweep_of(GROWN), reference, workers=2)
    got = sr.load_results(out).set_index("key").sort_index()
    ref = sr.load_results(reference).set_index("key").sort_index()
    assert len(got) == n_grown and list(got.index) == list(ref.index)
    cols = [c for c in RUN_COLUMNS if c not in ("key", "wall_time", "sweep")]
    pd.testing.assert_frame_equal(got[cols], ref[cols], check_exact=True)
    with sqlite3.connect(f"file:{out / 'runs.sqlite'}?mode=ro", uri=True) as db:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM runs").fetchone() == (n_grown, n_grown)


def test_store_of_nothing_but_a_lock(tmp_path):
    """Opening a store and leaving it empty selects nothing: every (no) run is current."""
    with Store(tmp_path / "out"):
        pass
    assert sr.load_results(tmp_path / "out").empty

"""``swarmreg export`` and ``export_runs``: per-run rows, traces, Parquet, and IOHprofiler's format read
back by a reader written here from IOHprofiler's documented layout (not by swarmreg's writer)."""

from __future__ import annotations

import gzip
import json
import math
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
methods = ["pso", "backprop"]
lams = [0.0, 0.1]
seeds = [0, 1]
budget = 250

[options.pso]
n_particles = 12
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    sr.run_sweep(sr.Sweep.from_dict(tomllib.loads(CONFIG)), out, executor="serial", progress=False)
    return out


def run(argv: list[object], capsys) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_csv_has_every_run_column_and_spec_field(store, tmp_path, capsys):
    code, out, _ = run(["export", store, "--to", tmp_path / "e"], capsys)
    assert code == 0 and out.split() == [str(tmp_path / "e" / "runs.csv")]
    runs = sr.load_results(store)
    table = pd.read_csv(tmp_path / "e" / "runs.csv")
    assert list(table.columns[:len(runs.columns)]) == list(runs.columns)  # whatever load_results returns
    assert sorted(table["key"]) == sorted(runs["key"]) and len(table) == 8
    assert {"activation", "options", "test_size", "val_size"} <= set(table.columns)  # the spec's other fields
    pso = table[table["method"] == "pso"].iloc[0]
    assert json.loads(pso["options"])["n_particles"] == 12
    merged = table.merge(runs, on="key", suffixes=("", "_stored"))
    np.testing.assert_array_equal(merged["fun"], merged["fun_stored"])  # full precision


def test_extra_store_columns_flow_through(store, tmp_path, monkeypatch):
    def with_provenance(out, current_only=True):
        return real(out, current_only).assign(numpy_version="2.x", host="h")
    real = sr.store.load_results
    monkeypatch.setattr("swarmreg.export.load_results", with_provenance)
    sr.export_runs(store, tmp_path, "csv")
    table = pd.read_csv(tmp_path / "runs.csv")
    assert set(table["numpy_version"]) == {"2.x"} and set(table["host"]) == {"h"}


def test_traces_are_cost_and_best_so_far(store, tmp_path):
    files = sr.export_runs(store, tmp_path, "csv", traces=True)
    assert [f.name for f in files] == ["runs.csv", "traces.csv.gz"]
    traces = pd.read_csv(tmp_path / "traces.csv.gz")
    stored = sr.load_traces(store)
    assert set(traces["key"]) == set(stored)
    for key, part in traces.groupby("key"):
        np.testing.assert_array_equal(part["cost"], stored[key]["cost"])
        best = [min(stored[key]["fun"][: i + 1]) for i in range(len(stored[key]["fun"]))]
        np.testing.assert_array_equal(part["best_fun"], best)


def test_thinned_traces_keep_exact_records_at_log_spaced_costs(store, tmp_path):
    sr.export_runs(store, tmp_path, "csv", traces=True, trace_points=5)
    thin = pd.read_csv(tmp_path / "traces.csv.gz")
    stored = sr.load_traces(store)
    for key, part in thin.groupby("key"):
        cost, fun = stored[key]["cost"], np.minimum.accumulate(stored[key]["fun"])
        assert len(part) <= min(len(cost), 5 + 2)
        assert (part["cost"].iloc[0], part["cost"].iloc[-1]) == (cost[0], cost[-1])  # the start and the end
        at = np.searchsorted(cost, part["cost"].to_numpy())
        np.testing.assert_array_equal(part["best_fun"], fun[at])  # exact values, no interpolation
        if len(cost) > 7:  # log-spaced: more records early than late
            gaps = np.diff(np.log(part["cost"].to_numpy()))
            assert gaps.max() - gaps.min() < np.log(cost[-1] / cost[0]) / 2


def test_export_is_byte_stable(store, tmp_path):
    sr.export_runs(store, tmp_path / "a", "csv", traces=True)
    sr.export_runs(store, tmp_path / "b", "csv", traces=True)
    for name in ("runs.csv", "traces.csv.gz"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert gzip.decompress((tmp_path / "a" / "traces.csv.gz").read_bytes()).startswith(b"key,cost,best_fun")


def test_parquet_matches_csv(store, tmp_path, capsys):
    code, _, _ = run(["export", store, "--format", "parquet", "--traces", "--to", tmp_path], capsys)
    assert code == 0
    sr.export_runs(store, tmp_path, "csv", traces=True)
    pq, csv = pd.read_parquet(tmp_path / "runs.parquet"), pd.read_csv(tmp_path / "runs.csv")
    assert list(pq.columns) == list(csv.columns) and list(pq["key"]) == list(csv["key"])
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "traces.parquet"), pd.read_csv(tmp_path / "traces.csv.gz"))


def test_existing_files_are_refused_unless_forced(store, tmp_path, capsys):
    mine = tmp_path / "runs.csv"
    mine.write_text("mine")
    code, _, err = run(["export", store, "--to", tmp_path, "--traces"], capsys)
    assert code == 2 and "runs.csv" in err and "--force" in err and len(err.splitlines()) == 1
    assert mine.read_text() == "mine" and not (tmp_path / "traces.csv.gz").exists()  # nothing written
    assert run(["export", store, "--to", tmp_path, "--force"], capsys)[0] == 0
    assert mine.read_text().startswith("key,")


def test_default_folder_and_bad_input(store, tmp_path, capsys):
    assert run(["export", store], capsys)[0] == 0
    assert (store / "export" / "runs.csv").is_file()
    code, _, err = run(["export", tmp_path / "nothing"], capsys)
    assert code == 2 and "no results store" in err
    with pytest.raises(ValueError, match="'xml'"):
        sr.export_runs(store, tmp_path, "xml")


def read_ioh(folder):
    """IOHprofiler's documented layout (meta-data .info, raw .dat blocks split at the separation line):
    ``{(algId, funcId, funcName, DIM): {"info": [(instance, evals, best)], "runs": [[(evals, best)]]}}``."""
    data = {}
    for info in sorted(folder.rglob("IOHprofiler_f*.info")):
        lines = info.read_text().splitlines()
        assert len(lines) % 3 == 0
        for head, comment, runs_line in zip(lines[0::3], lines[1::3], lines[2::3]):
            assert comment.startswith("%")
            meta = dict(re.findall(r"(\w+) = '?([^',]*)'?", head))
            dat, *entries = [p.strip() for p in runs_line.split(",")]
            info_runs = [(int(i), int(e), float(b)) for i, e, b in (re.fullmatch(r"(-?\d+):(\d+)\|(.+)", x).groups()
                                                                  for x in entries)]
            blocks = []
            for line in (info.parent / dat).read_text().splitlines():
                if line.startswith('"function evaluation"'):
                    blocks.append([])
                else:
                    evals, best = line.split()
                    blocks[-1].append((int(evals), float(best)))
            assert re.search(rf"IOHprofiler_f{meta['funcId']}_DIM{meta['DIM']}\.dat$", dat)
            data[(meta["algId"], int(meta["funcId"]), meta["funcName"], int(meta["DIM"]))] = \
                {"info": info_runs, "runs": blocks, "maximization": meta["maximization"]}
    return data


def test_ioh_reads_back_with_the_same_runs_evaluations_and_best_so_far(store, tmp_path, capsys):
    code, _, _ = run(["export", store, "--format", "ioh", "--to", tmp_path], capsys)
    assert code == 0
    data = read_ioh(tmp_path)
    runs, traces = sr.load_results(store), sr.load_traces(store)
    problems = sorted({(d, h, lam) for d, h, lam in zip(runs["dataset"], runs["hidden"], runs["lam"])})
    assert {(alg, fid) for alg, fid, _, _ in data} == {(m, i) for m in ("pso", "backprop")
                                                     for i in range(1, len(problems) + 1)}
    for (alg, fid, name, dim), got in data.items():
        dataset, hidden, lam = problems[fid - 1]  # one numbering of the problems for every method
        assert name == f"iris_h3_lam{lam:g}" and dim == 4 * 3 + 3 + 3 * 3 + 3 and got["maximization"] == "F"
        part = runs[(runs["method"] == alg) & (runs["lam"] == lam)].sort_values("seed")
        assert [i for i, _, _ in got["info"]] == list(part["seed"])  # runs = seeds
        for (_, evals, best), block, key, cost in zip(got["info"], got["runs"], part["key"], part["cost"]):
            trace = traces[key]
            assert block[-1] == (evals, best) and evals == math.ceil(cost)  # ends at the run's last evaluation
            assert best == trace["fun"].min()
            for e, b in block:  # the best J of every trace record within e evaluations
                assert b == trace["fun"][np.ceil(trace["cost"]) <= e].min()
            values = [b for _, b in block]
            assert all(x > y for x, y in zip(values[:-2], values[1:-1]))  # improvements only, then the last


def test_ioh_leaves_out_failed_runs(store, tmp_path):
    import shutil
    import sqlite3
    copy = tmp_path / "store"
    shutil.copytree(store, copy, ignore=shutil.ignore_patterns("export"))
    with sqlite3.connect(copy / "runs.sqlite") as db:
        db.execute("UPDATE runs SET status = 'failed' WHERE seed = 1")
    sr.export_runs(copy, tmp_path / "ioh", "ioh")
    data = read_ioh(tmp_path / "ioh")
    assert data and all([i for i, _, _ in got["info"]] == [0] and len(got["runs"]) == 1 for got in data.values())

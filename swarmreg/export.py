"""Per-run data of a store in files other tools read: CSV, Parquet, or IOHprofiler's format.

:func:`export_runs` writes into a folder: ``runs.csv`` / ``runs.parquet`` (one row per run: every
column :func:`swarmreg.load_results` returns, the spec's other fields flattened beside them) and with
``traces=True`` ``traces.csv.gz`` / ``traces.parquet`` (one row per trace record: ``key``, ``cost``,
``best_fun`` = the best J so far). Rows are sorted and the gzip stream carries no timestamp, so the
same store gives the same bytes: a folder under version control shows only what changed.

``ioh`` writes IOHprofiler's documented layout (IOHanalyzer's "IOHprofiler" format): a folder per
method, in it ``IOHprofiler_f<id>_<name>.info`` per problem (dataset, hidden, lam) and
``data_f<id>_<name>/IOHprofiler_f<id>_DIM<n_params>.dat``, one block per finished run (the run's
seed is its instance number). Evaluations are the trace's costs rounded up to whole evaluations of
J; a record is written where the best J so far improves, and each block ends at the run's last
evaluation, as IOHanalyzer's expected running time needs. Failed runs have no trace and are left out.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from .store import load_results, load_traces, load_weights

FORMATS = ("csv", "parquet", "ioh")
INSTALL_HINT = "pip install 'swarmreg[export]'"
PROBLEM = ("dataset", "hidden", "lam")


def _with_spec_fields(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs with each spec field that is not already a column added (nested values as JSON)."""
    specs = [json.loads(s) if isinstance(s, str) else {} for s in runs["spec"]]
    names = dict.fromkeys(k for spec in specs for k in spec if k not in runs.columns)
    out = runs.copy()
    for name in names:
        values = [spec.get(name) for spec in specs]
        out[name] = [json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v for v in values]
    return out


def _thinned(cost: np.ndarray, points: int | None) -> np.ndarray:
    """Indices of the records kept: all, or the first and last and the first record at or past each
    of ``points`` log-spaced costs from the first record's to the last's."""
    if points is None or len(cost) <= points + 2:
        return np.arange(len(cost))
    grid = np.geomspace(max(cost[0], 1e-12), max(cost[-1], 1e-12), points)
    return np.unique(np.r_[0, np.minimum(np.searchsorted(cost, grid), len(cost) - 1), len(cost) - 1])


def best_so_far_records(runs: pd.DataFrame, traces: dict[str, dict[str, np.ndarray]],
                        points: int | None = None) -> pd.DataFrame:
    """One row per trace record of each run: ``key``, ``cost``, ``best_fun`` (running minimum of J);
    with ``points``, only the records :func:`_thinned` keeps (exact values at those costs)."""
    parts = []
    for key in runs["key"]:
        if key not in traces or not len(traces[key].get("cost", ())):
            continue
        cost = np.asarray(traces[key]["cost"], float)
        best = np.fmin.accumulate(np.asarray(traces[key]["fun"], float))
        keep = _thinned(cost, points)
        parts.append(pd.DataFrame({"key": key, "cost": cost[keep], "best_fun": best[keep]}))
    if not parts:
        return pd.DataFrame({"key": pd.Series(dtype=str), "cost": pd.Series(dtype=float),
                             "best_fun": pd.Series(dtype=float)})
    return pd.concat(parts, ignore_index=True)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", text).strip("_") or "x"


def _problem_name(dataset: str, hidden: str, lam: float) -> str:
    sizes = "-".join(str(s) for s in json.loads(hidden))
    return _slug(f"{dataset}_h{sizes}_lam{lam:g}")


def _ioh_block(trace: dict[str, np.ndarray], final_cost: float) -> list[tuple[int, float]]:
    """``(evaluations, best J so far)`` where the best improves, ending at the run's last evaluation."""
    evals = np.maximum(1, np.ceil(np.asarray(trace["cost"], float) - 1e-9)).astype(int)
    best = np.fmin.accumulate(np.asarray(trace["fun"], float))
    rows: list[tuple[int, float]] = []
    for e, b in zip(evals, best):
        if rows and rows[-1][0] == e:
            rows[-1] = (e, b)
        elif not rows or b < rows[-1][1]:
            rows.append((int(e), float(b)))
    last = max(int(evals[-1]), math.ceil(final_cost - 1e-9), 1)
    if rows[-1][0] != last:
        rows.append((last, float(best[-1])))
    return rows


def _ioh_files(runs: pd.DataFrame, traces: dict, n_params: dict[str, int], to: Path) -> list[tuple[Path, str]]:
    """The files of the ioh layout as ``(path, text)``, not yet written."""
    runs = runs[runs["key"].isin(traces.keys()) & runs["key"].isin(n_params.keys())]
    problems = runs[list(PROBLEM)].drop_duplicates().sort_values(list(PROBLEM)).itertuples(index=False)
    ids = {tuple(p): i for i, p in enumerate(problems, 1)}
    files: list[tuple[Path, str]] = []
    for (method, *problem), part in runs.groupby(["method", *PROBLEM], sort=True):
        fid = ids[tuple(problem)]
        name = _problem_name(*problem)
        folder = to / _slug(method)
        lines, meta = [], []
        for dim, runs_dim in part.groupby(part["key"].map(n_params), sort=True):
            dat = f"data_f{fid}_{name}/IOHprofiler_f{fid}_DIM{dim}.dat"
            blocks = []
            for row in runs_dim.sort_values("seed").itertuples(index=False):
                block = _ioh_block(traces[row.key], float(row.cost))
                blocks.append('"function evaluation" "best-so-far f(x)"\n' +
                              "".join(f"{e} {b:.17g}\n" for e, b in block))
                meta.append(f"{int(row.seed)}:{block[-1][0]}|{block[-1][1]:.17g}")
            files.append((folder / dat, "".join(blocks)))
            lines.append(f"suite = 'swarmreg', funcId = {fid}, funcName = '{name}', DIM = {dim}, "
                         f"maximization = 'F', algId = '{method}'\n"
                         f"% {problem[0]} hidden {problem[1]} lam {problem[2]:g}: J = E + lam*||W||^2, "
                         f"evaluations of J on the training set; instances are seeds\n"
                         f"{dat}, {', '.join(meta)}\n")
            meta = []
        files.append((folder / f"IOHprofiler_f{fid}_{name}.info", "".join(lines)))
    return files


def export_runs(out: str | Path, to: str | Path, fmt: str = "csv", traces: bool = False,
                current_only: bool = True, force: bool = False, trace_points: int | None = None) -> list[Path]:
    """Write the runs of the store in ``out`` into the folder ``to`` as ``fmt`` (see the module
    docstring) and return the files written. A file that is already there is refused
    (``FileExistsError``) unless ``force``; nothing is written then. ``current_only`` as in
    :func:`swarmreg.load_results`. The ``ioh`` format always carries the traces, every record;
    ``trace_points`` thins the csv/parquet traces to about that many log-spaced costs per run."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    to = Path(to)
    if to.exists() and not to.is_dir():
        raise ValueError(f"--to {to} exists and is not a folder")
    if fmt == "parquet":
        _need_pyarrow()
    runs = load_results(out, current_only=current_only).sort_values(["dataset", "hidden", "method", "lam", "seed",
                                                                     "key"], ignore_index=True)
    records = load_traces(out, runs["key"]) if traces or fmt == "ioh" else {}
    if fmt == "ioh":
        finished = runs[runs["status"] != "failed"]
        n_params = {k: len(x) for k, x in load_weights(out, finished["key"]).items()}
        files = [(p, text.encode()) for p, text in _ioh_files(finished, records, n_params, to)]
    else:
        table = _with_spec_fields(runs)
        files = [(to / f"runs.{'csv' if fmt == 'csv' else 'parquet'}", table)]
        if traces:
            files.append((to / f"traces.{'csv.gz' if fmt == 'csv' else 'parquet'}",
                          best_so_far_records(runs, records, trace_points)))
    _refuse_existing([p for p, _ in files], force)
    for path, content in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif fmt == "csv":
            content.to_csv(path, index=False, compression={"method": "gzip", "mtime": 0}
                           if path.suffix == ".gz" else None)
        else:
            content.to_parquet(path, index=False)
    return [p for p, _ in files]


def _need_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ImportError(f"the parquet format needs pyarrow: {INSTALL_HINT}") from None


def _refuse_existing(paths: Iterable[Path], force: bool) -> None:
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        more = f" and {len(existing) - 1} other file(s)" if len(existing) > 1 else ""
        raise FileExistsError(f"{existing[0]}{more} already exist(s); pass --force (force=True) to write over")

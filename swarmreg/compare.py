"""The notebook entry point: a small grid run in memory, returned as a summary table."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from tqdm import tqdm

from .report import check_metrics, summarize
from .runner import execute_all
from .sweep import Sweep


def compare(datasets: Sequence[str | Mapping[str, Any]] = ("iris",), hidden: Sequence[Sequence[int]] = ((8,),),
            methods: Sequence[str] = ("pso", "nelder-mead", "backprop"),
            lams: Sequence[float] = (0.0, 0.01, 0.1), seeds: Sequence[int] = (0, 1, 2),
            budget: float = 20_000, options: Mapping[str, Mapping[str, Any]] | None = None,
            variants: Mapping[str, Mapping[str, Any]] | None = None, test_size: float = 0.3,
            executor: Any = None, workers: int | None = None, metrics: Sequence[str] | None = None,
            runs: bool = False, progress: bool | None = None, device: str | None = None) -> pd.DataFrame:
    """Run the grid and return :func:`swarmreg.report.summarize` of it (or every run with ``runs=True``).

    Arguments are those of a sweep config (a CSV data set as a path or a ``{"path": ..., "target": ...}``
    mapping, read from the working directory); they are checked before anything runs (``ValueError``).
    ``progress`` None shows a tqdm bar only when stderr is a terminal (as ``swarmreg run`` does).
    ``device`` evaluates every objective there (``"cpu"``, ``"cuda"``; see :class:`swarmreg.Objective`).
    """
    for name, value in (("datasets", datasets), ("hidden", hidden), ("methods", methods), ("lams", lams),
                        ("seeds", seeds)):
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise TypeError(f"{name} must be a list, got {value!r}")
    for h in hidden:
        if isinstance(h, (str, bytes)) or not isinstance(h, Sequence):
            raise TypeError(f"hidden must be a list of layer-size lists such as [[8]], got {hidden!r}")
    check_metrics(metrics)
    sweep = Sweep.from_dict({
        "name": "compare", "datasets": list(datasets), "hidden": [list(h) for h in hidden],
        "methods": list(methods), "lams": list(lams), "seeds": list(seeds), "budget": budget,
        "options": dict(options or {}), "variants": dict(variants or {}), "test_size": test_size,
        **({} if device is None else {"device": device}),
    }, where="compare()")
    records: list[dict] = []
    specs = sweep.runs()
    show = sys.stderr.isatty() if progress is None else progress
    with tqdm(total=len(specs), desc="compare", unit="run", disable=not show, file=sys.stderr) as bar:
        def emit(record: dict) -> None:
            records.append(record)
            bar.update()
        execute_all(specs, emit, sweep_name=sweep.name, executor=executor, workers=workers)
    df = pd.DataFrame([{k: v for k, v in r.items() if k != "trace"} for r in records])
    df = df.sort_values(["dataset", "hidden", "method", "lam", "seed"], ignore_index=True)
    return df if runs else summarize(df, metrics)

"""One run of a sweep as a pure function of its spec: load, build, minimize, measure."""

from __future__ import annotations

import json
import math
import time
import traceback
from functools import lru_cache
from typing import Any

import numpy as np

from .csvdata import CSVSource
from .datasets import Dataset, load
from .minimize import minimize
from .network import Network
from .objective import Objective
from .provenance import now, provenance
from .registry import import_plugins
from .sweep import RunSpec


def _read(name: str | CSVSource, seed: int, test_size: float, val_size: float) -> Dataset:
    return load(name, seed=seed, test_size=test_size, val_size=val_size)


_dataset = lru_cache(maxsize=32)(_read)  # the runs' data, read once per process


def problem(spec: RunSpec, cached: bool = True) -> tuple[Dataset, Objective]:
    """The data set (split as the spec says) and the objective J a run of ``spec`` minimizes;
    ``cached=False`` reads the data afresh, outside the runs' cache (the config check)."""
    ds = (_dataset if cached else _read)(spec.source or spec.dataset, spec.split_seed, spec.test_size, spec.val_size)
    net = Network(ds.sizes(spec.hidden), hidden=spec.activation, output=ds.output)
    return ds, Objective(net, ds.X_train, ds.y_train, lam=spec.lam, device=spec.device,
                         penalize_biases=spec.penalize_biases)


def _metrics(ds: Dataset, net: Network, x: np.ndarray) -> dict[str, float | None]:
    """Accuracy (classification) or mean squared error ``mean((pred - y)**2)`` (regression)."""
    def score(X: np.ndarray | None, y: np.ndarray | None) -> float | None:
        if X is None or len(X) == 0:
            return None
        pred = net.predict(X, x)
        if ds.task == "classification":
            return float(np.mean(pred == y))
        return float(np.mean((pred.reshape(len(y), -1) - y.reshape(len(y), -1)) ** 2))
    name = "accuracy" if ds.task == "classification" else "mse"
    return {f"train_{name}": score(ds.X_train, ds.y_train), f"test_{name}": score(ds.X_test, ds.y_test),
            f"val_{name}": score(ds.X_val, ds.y_val)}


def _finite_or_none(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _provenance_if_known(method: str) -> dict[str, Any]:
    """The provenance of a failed run, where its method is known (a plugin that failed to import in a
    worker leaves it unknown)."""
    try:
        return provenance(method)
    except ValueError:
        return {}


def spec_record(spec: RunSpec, sweep_name: str) -> dict[str, Any]:
    """The store columns that come from the spec alone, before the run's results."""
    return {"key": spec.key, "sweep": sweep_name, "dataset": spec.dataset, "hidden": json.dumps(list(spec.hidden)),
            "method": spec.method, "base_method": spec.base_method, "lam": spec.lam, "seed": spec.seed,
            "split_seed": spec.split_seed, "budget": spec.budget, "spec": spec.canonical()}


def execute(spec: RunSpec, sweep_name: str = "", plugins: tuple[str, ...] = (),
            plugin_path: tuple[str, ...] = ()) -> dict[str, Any]:
    """Run ``spec`` and return its store record; an exception becomes a ``failed`` record.

    ``plugins`` are imported first (a no-op where they already are), from the folders
    ``plugin_path`` first, so a worker process that did not inherit the parent's imports (spawn,
    Dask) knows the methods they register.
    """
    record = {**spec_record(spec, sweep_name), "started_at": now()}
    t0 = time.perf_counter()
    try:
        import_plugins(plugins, plugin_path)
        ds, obj = problem(spec)
        net = obj.net
        res = minimize(obj, spec.base_method, budget=spec.budget, seed=spec.seed, **spec.options)
    except Exception as exc:  # a failing run is recorded, and the sweep goes on
        last = traceback.extract_tb(exc.__traceback__)[-1]
        record.update(status="failed", wall_time=time.perf_counter() - t0, finished_at=now(),
                      **_provenance_if_known(spec.base_method),
                      message=f"{type(exc).__name__}: {exc} ({last.filename.rsplit('/', 1)[-1]}:{last.lineno})")
        return record
    record.update(
        status=res.status, message=res.message, fun=_finite_or_none(res.fun), error=_finite_or_none(res.error),
        penalty=_finite_or_none(res.penalty), weight_norm=res.weight_norm, bias_norm=res.bias_norm,
        cost=res.cost, n_evals=res.n_evals, n_grads=res.n_grads, wall_time=res.wall_time,
        trace={k: v.tolist() for k, v in res.trace.items()}, x=res.x.tolist(), **_metrics(ds, net, res.x),
        **provenance(spec.base_method), finished_at=now(),
    )
    return record

"""Running a sweep: skip stored runs, execute the rest anywhere, store each result as it lands.

Executors: ``"process"`` (a local pool, one BLAS thread per worker), ``"serial"`` (in this process),
or any ``concurrent.futures.Executor`` / ``distributed.Client`` passed in. Only this (parent)
process writes the store, one committed row per run, so an interrupted sweep resumes by rerunning.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import json
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .execute import execute, spec_record
from .store import Store
from .sweep import RunSpec, Sweep


@dataclass(frozen=True)
class SweepSummary:
    total: int  # runs in the grid
    skipped: int  # already stored before this call
    finished: int  # stored by this call, not failed
    failed: int  # stored by this call as failed
    wall_time: float
    out: Path

    def line(self) -> str:
        return (f"{self.total} runs: {self.finished} finished, {self.failed} failed, {self.skipped} already stored"
                f" ({self.wall_time:.1f} s) -> {self.out / 'runs.sqlite'}")


def _init_worker() -> None:
    """Pool initializer: one BLAS thread per worker (N workers use N cores, not N x cores), and
    Ctrl-C left to the parent, which stops the pool itself."""
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _worker_died(spec: RunSpec, sweep_name: str, exc: BaseException) -> dict[str, Any]:
    return {**spec_record(spec, sweep_name), "status": "failed",
            "message": f"worker died: {type(exc).__name__}: {exc}"}


def _start_method() -> str:
    """fork on Linux: workers start in milliseconds and never re-import the caller's ``__main__``
    (a script without a main guard, a notebook); spawn elsewhere, where fork is unsafe."""
    return "fork" if sys.platform.startswith("linux") else "spawn"


class _ProcessPool:
    """A process pool that, on leaving by an exception (Ctrl-C), cancels what is queued and
    terminates its workers instead of waiting for the runs in flight."""

    def __init__(self, workers: int):
        self.pool = cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(_start_method()),
                                           initializer=_init_worker)

    def __enter__(self) -> cf.ProcessPoolExecutor:
        return self.pool

    def __exit__(self, exc_type: type | None, *exc: object) -> None:
        if exc_type is None:
            self.pool.shutdown(wait=True)
            return
        processes = list(getattr(self.pool, "_processes", {}).values())  # no public handle before 3.14
        self.pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            proc.terminate()


def _run_pool(specs: list[RunSpec], sweep_name: str, workers: int, emit: Callable[[dict], None],
              plugins: tuple[str, ...]) -> None:
    """Own process pool; runs whose worker died are rerun alone, and one that kills its own
    single-worker pool too is recorded as failed."""
    suspects: list[RunSpec] = []
    with _ProcessPool(workers) as pool:
        futures = {pool.submit(execute, s, sweep_name, plugins): s for s in specs}
        for fut in cf.as_completed(futures):
            try:
                emit(fut.result())
            except BrokenProcessPool:
                suspects.append(futures[fut])
    for spec in suspects:
        with _ProcessPool(1) as pool:
            try:
                emit(pool.submit(execute, spec, sweep_name, plugins).result())
            except BrokenProcessPool as exc:
                emit(_worker_died(spec, sweep_name, exc))


def _run_executor(specs: list[RunSpec], sweep_name: str, executor: Any, emit: Callable[[dict], None],
                  plugins: tuple[str, ...]) -> None:
    """A caller's executor; a ``distributed.Client`` is used through its concurrent.futures view."""
    if hasattr(executor, "get_executor") and not isinstance(executor, cf.Executor):
        executor = executor.get_executor(pure=False)
    futures = {executor.submit(execute, s, sweep_name, plugins): s for s in specs}
    try:
        for fut in cf.as_completed(futures):
            try:
                emit(fut.result())
            except Exception as exc:  # e.g. distributed's KilledWorker after a worker died
                emit(_worker_died(futures[fut], sweep_name, exc))
    finally:
        for fut in futures:
            fut.cancel()


def execute_all(specs: Iterable[RunSpec], emit: Callable[[dict], None], *, sweep_name: str = "",
                executor: Any = None, workers: int | None = None, plugins: tuple[str, ...] = ()) -> None:
    """Execute ``specs`` and pass each record to ``emit`` as it completes (in completion order).

    ``plugins``: modules that register methods, imported in every worker before its runs."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive int, got {workers!r}")
    specs = list(specs)
    if any(spec.device is not None for spec in specs) and executor in (None, "process"):
        # one process holds the device: JAX does not survive fork, and one run fills a GPU
        if workers not in (None, 1):
            raise ValueError(f"a sweep on a device runs in one local process (one worker per device), got "
                             f"workers={workers}; for several GPUs run one sweep per GPU (--device cuda:N)")
        executor = "serial"
    if executor == "serial" or (executor is None and (workers == 1 or len(specs) <= 1)):
        for spec in specs:
            emit(execute(spec, sweep_name, plugins))
    elif executor is None or executor == "process":
        _run_pool(specs, sweep_name, workers or os.cpu_count() or 1, emit, plugins)
    elif isinstance(executor, str):
        raise ValueError(f"executor must be 'process', 'serial' or an Executor object, got {executor!r}")
    else:
        _run_executor(specs, sweep_name, executor, emit, plugins)


def run_sweep(sweep: Sweep, out: str | Path, executor: Any = None, workers: int | None = None,
              retry_failed: bool = False, progress: bool | None = None) -> SweepSummary:
    """Run every run of ``sweep`` not yet stored in ``OUT/runs.sqlite`` and store it.

    A run whose spec is stored already is reused, whatever config ran it, so a sweep grows by
    rerunning its config with more datasets, networks, methods, options, lams or seeds. The
    sweep's runs become the store's current runs (what :func:`swarmreg.load_results` returns).
    ``retry_failed`` reruns runs stored as failed. ``progress`` None shows a tqdm bar only when
    stderr is a terminal.
    """
    config = json.dumps(dataclasses.asdict(sweep), sort_keys=True, default=list)
    return run_specs(sweep.runs(), out, name=sweep.name, config=config, executor=executor, workers=workers,
                     retry_failed=retry_failed, progress=progress, plugins=sweep.plugins)


def run_specs(specs: list[RunSpec], out: str | Path, name: str, config: str = "", executor: Any = None,
              workers: int | None = None, retry_failed: bool = False, progress: bool | None = None,
              plugins: tuple[str, ...] = ()) -> SweepSummary:
    """:func:`run_sweep` for any list of runs (several sub-sweeps of an experiment in one store)."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive int, got {workers!r}")
    out = Path(out)
    t0 = time.perf_counter()
    with Store(out) as store:
        store.select(specs, config)  # these become the store's current runs; stored ones are reused
        done = store.keys(exclude_status="failed") if retry_failed else store.keys()
        todo = list({s.key: s for s in specs if s.key not in done}.values())
        counts = {"finished": 0, "failed": 0}
        show = sys.stderr.isatty() if progress is None else progress
        with tqdm(total=len(todo), desc=name, unit="run", disable=not show, file=sys.stderr) as bar:
            def emit(record: dict) -> None:
                store.write(record)
                counts["failed" if record["status"] == "failed" else "finished"] += 1
                bar.set_postfix(failed=counts["failed"], refresh=False)
                bar.update()
            execute_all(todo, emit, sweep_name=name, executor=executor, workers=workers, plugins=plugins)
    return SweepSummary(total=len(specs), skipped=len(specs) - len(todo), finished=counts["finished"],
                        failed=counts["failed"], wall_time=time.perf_counter() - t0, out=out)

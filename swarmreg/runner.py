"""Running a sweep: skip stored runs, execute the rest anywhere, store each result as it lands.

Executors: ``"process"`` (a local pool, one BLAS thread per worker), ``"serial"`` (in this process),
or any ``concurrent.futures.Executor`` / ``distributed.Client`` passed in. Only this (parent)
process writes the store, one committed row per run, so an interrupted sweep resumes by rerunning.
"""

from __future__ import annotations

import concurrent.futures as cf
import ctypes
import dataclasses
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .execute import execute, spec_record
from .provenance import stale_runs
from .registry import import_plugins
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
    stale: dict[str, int] = dataclasses.field(default_factory=dict)  # stale runs recomputed, by method
    kept_stale: dict[str, int] = dataclasses.field(default_factory=dict)  # stale runs kept (keep_stale)

    def line(self) -> str:
        return (f"{self.total} runs: {self.finished} finished, {self.failed} failed, {self.skipped} already stored"
                f" ({self.wall_time:.1f} s) -> {self.out / 'runs.sqlite'}")

    def stale_line(self) -> str | None:
        """One line on the stale runs (stored by other code of their method), or None."""
        if self.stale:
            return (f"recomputed {sum(self.stale.values())} stale run(s), whose method's code changed: "
                    f"{_counts(self.stale)}")
        if self.kept_stale:
            return (f"kept {sum(self.kept_stale.values())} stale run(s), made by other code than their method's "
                    f"now: {_counts(self.kept_stale)}")
        return None


def _counts(by_method: dict[str, int]) -> str:
    return ", ".join(f"{method} {n}" for method, n in sorted(by_method.items()))


RERUN = ("failed", "stale", "all")
"""What ``rerun`` recomputes besides the runs not stored: failed runs, stale runs (the default unless
``keep_stale``), or every run."""


KILL_AFTER_ENV = "SWARMREG_TEST_KILL_AFTER"
"""Test hook: when set to ``k``, the sweep's process kills itself (SIGKILL) right after the k-th run it
stores is committed, so a test can check that every run stored before a crash is there."""

_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """End this worker when ``parent`` dies, however it dies: on Linux the kernel sends SIGKILL
    (``prctl(PR_SET_PDEATHSIG)``); elsewhere a thread watches the parent's PID."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    else:
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(1.0)
            os._exit(1)
        threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def _init_worker(parent: int) -> None:
    """Pool initializer: one BLAS thread per worker (N workers use N cores, not N x cores), Ctrl-C
    left to the parent, which stops the pool itself, SIGTERM and SIGHUP ending the worker, and the
    worker ending with the parent."""
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    _die_with_parent(parent)


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
                                           initializer=_init_worker, initargs=(os.getpid(),))

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
              plugins: tuple[str, ...], plugin_path: tuple[str, ...]) -> None:
    """Own process pool; runs whose worker died are rerun alone, and one that kills its own
    single-worker pool too is recorded as failed."""
    suspects: list[RunSpec] = []
    with _ProcessPool(workers) as pool:
        futures = {pool.submit(execute, s, sweep_name, plugins, plugin_path): s for s in specs}
        for fut in cf.as_completed(futures):
            try:
                emit(fut.result())
            except BrokenProcessPool:
                suspects.append(futures[fut])
    for spec in suspects:
        with _ProcessPool(1) as pool:
            try:
                emit(pool.submit(execute, spec, sweep_name, plugins, plugin_path).result())
            except BrokenProcessPool as exc:
                emit(_worker_died(spec, sweep_name, exc))


def _run_executor(specs: list[RunSpec], sweep_name: str, executor: Any, emit: Callable[[dict], None],
                  plugins: tuple[str, ...], plugin_path: tuple[str, ...]) -> None:
    """A caller's executor; a ``distributed.Client`` is used through its concurrent.futures view."""
    if hasattr(executor, "get_executor") and not isinstance(executor, cf.Executor):
        executor = executor.get_executor(pure=False)
    futures = {executor.submit(execute, s, sweep_name, plugins, plugin_path): s for s in specs}
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
                executor: Any = None, workers: int | None = None, plugins: tuple[str, ...] = (),
                plugin_path: tuple[str, ...] = ()) -> None:
    """Execute ``specs`` and pass each record to ``emit`` as it completes (in completion order).

    ``plugins``: modules that register methods, imported in every worker before its runs (from the
    folders ``plugin_path`` first)."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive int, got {workers!r}")
    specs = list(specs)
    if _on_device(specs, executor, workers):
        executor = "serial"
    if executor == "serial" or (executor is None and (workers == 1 or len(specs) <= 1)):
        for spec in specs:
            emit(execute(spec, sweep_name, plugins, plugin_path))
    elif executor is None or executor == "process":
        workers = min(workers or os.cpu_count() or 1, max(len(specs), 1))  # no more processes than runs
        _run_pool(specs, sweep_name, workers, emit, plugins, plugin_path)
    elif isinstance(executor, str):
        raise ValueError(f"executor must be 'process', 'serial' or an Executor object, got {executor!r}")
    else:
        _run_executor(specs, sweep_name, executor, emit, plugins, plugin_path)


def run_sweep(sweep: Sweep, out: str | Path, executor: Any = None, workers: int | None = None,
              retry_failed: bool = False, progress: bool | None = None, rerun: str | None = None,
              keep_stale: bool = False) -> SweepSummary:
    """Run every run of ``sweep`` not yet stored in ``OUT/runs.sqlite`` and store it.

    A run whose spec is stored already is reused, whatever config ran it, so a sweep grows by
    rerunning its config with more datasets, networks, methods, options, lams or seeds. The
    sweep's runs become the store's current runs (what :func:`swarmreg.load_results` returns).
    A stored run is *stale* when its method's code fingerprint differs from the code now; stale runs
    are recomputed unless ``keep_stale``. ``rerun`` recomputes more: ``"failed"`` (also
    ``retry_failed=True``), ``"stale"`` (the default) or ``"all"``. ``progress`` None shows a tqdm
    bar only when stderr is a terminal.
    """
    config = json.dumps(dataclasses.asdict(sweep), sort_keys=True, default=list)
    return run_specs(sweep.runs(), out, name=sweep.name, config=config, executor=executor, workers=workers,
                     rerun="failed" if retry_failed and rerun is None else rerun, keep_stale=keep_stale,
                     progress=progress, plugins=sweep.plugins, plugin_path=sweep.plugin_path)


def _on_device(specs: list[RunSpec], executor: Any, workers: int | None) -> bool:
    """Whether the runs go in this one process because they are on a device (JAX does not survive
    fork, and one run fills a GPU); a ``ValueError`` for more local workers than that."""
    if not (any(spec.device is not None for spec in specs) and executor in (None, "process")):
        return False
    if workers not in (None, 1):
        raise ValueError(f"a sweep on a device runs in one local process (one worker per device), got "
                         f"workers={workers}; for several GPUs run one sweep per GPU (--device cuda:N)")
    return True


def run_specs(specs: list[RunSpec], out: str | Path, name: str, config: str = "", executor: Any = None,
              workers: int | None = None, rerun: str | None = None, keep_stale: bool = False,
              progress: bool | None = None, plugins: tuple[str, ...] = (),
              plugin_path: tuple[str, ...] = ()) -> SweepSummary:
    """:func:`run_sweep` for any list of runs (several sub-sweeps of an experiment in one store)."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive int, got {workers!r}")
    if rerun is not None and rerun not in RERUN:
        raise ValueError(f"rerun must be one of {RERUN}, got {rerun!r}")
    if keep_stale and rerun in ("stale", "all"):
        raise ValueError(f"keep_stale contradicts rerun={rerun!r}")
    _on_device(specs, executor, workers)  # refused before the store changes
    import_plugins(plugins, plugin_path)  # the stale check below looks up the stored runs' methods
    out = Path(out)
    t0 = time.perf_counter()
    with Store(out) as store:
        store.select(specs, config)  # these become the store's current runs; stored ones are reused
        done = set() if rerun == "all" else store.keys(exclude_status="failed") if rerun == "failed" else store.keys()
        stale = stale_runs(store.fingerprints(), specs) if rerun != "all" else {}
        if not keep_stale:
            done -= set(stale)
        by_method = dict(Counter(stale.values()))
        todo = list({s.key: s for s in specs if s.key not in done}.values())
        kill_after = int(os.environ.get(KILL_AFTER_ENV, "0"))
        counts = {"finished": 0, "failed": 0}
        show = sys.stderr.isatty() if progress is None else progress
        with tqdm(total=len(todo), desc=name, unit="run", disable=not show, file=sys.stderr) as bar:
            def emit(record: dict) -> None:
                store.write(record)
                counts["failed" if record["status"] == "failed" else "finished"] += 1
                if counts["failed"] + counts["finished"] == kill_after:
                    os.kill(os.getpid(), signal.SIGKILL)
                bar.set_postfix(failed=counts["failed"], refresh=False)
                bar.update()
            execute_all(todo, emit, sweep_name=name, executor=executor, workers=workers, plugins=plugins,
                        plugin_path=plugin_path)
    return SweepSummary(total=len(specs), skipped=len(specs) - len(todo), finished=counts["finished"],
                        failed=counts["failed"], wall_time=time.perf_counter() - t0, out=out,
                        stale={} if keep_stale else by_method, kept_stale=by_method if keep_stale else {})

"""Timing helpers shared by the benchmark targets: interleaved best-of-n timing and formatting."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def interleaved(candidates: dict[str, tuple[Callable[[], object], int]], repeat: int) -> dict[str, float]:
    """Best (minimum over ``repeat`` rounds) seconds per call of each candidate.

    ``candidates`` maps a name to ``(fn, calls per round)``. Rounds alternate the candidates, and
    the order flips every round, so load on the machine hits all of them alike.
    """
    best = {name: np.inf for name in candidates}
    names = list(candidates)
    for name in names:  # warm-up: imports, caches, allocator
        candidates[name][0]()
    for r in range(repeat):
        for name in (names if r % 2 == 0 else names[::-1]):
            fn, number = candidates[name]
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            best[name] = min(best[name], (time.perf_counter() - t0) / number)
    return best


def calls_for(fn: Callable[[], object], seconds: float) -> int:
    """How many calls of ``fn`` take about ``seconds`` (at least one), from one timed call."""
    t0 = time.perf_counter()
    fn()
    return max(1, int(seconds / max(time.perf_counter() - t0, 1e-9)))


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.1f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds:8.2f} s "


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"

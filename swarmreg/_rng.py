"""Randomness helpers: every draw comes from the run's own ``numpy.random.Generator``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

_GLOBAL_STATE_LOCK = threading.Lock()


@contextmanager
def seeded_global_state(rng: np.random.Generator) -> Iterator[None]:
    """Seed numpy's global RandomState from ``rng`` for a library that draws from it, then restore it.

    The lock keeps two runs in threads of one process (a threaded Dask worker) from drawing
    from each other's state, so a run's bits do not depend on what else is running.
    """
    with _GLOBAL_STATE_LOCK:
        saved = np.random.get_state()
        np.random.seed(int(rng.integers(2**32)))
        try:
            yield
        finally:
            np.random.set_state(saved)

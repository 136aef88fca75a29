"""Work arrays reused from one swarm evaluation to the next, one set per thread.

A swarm evaluation's temporaries (hidden activations, logits) take megabytes. Freshly allocated
arrays of that size come from ``mmap`` and are paid for again in page faults at every call, which
on small networks cost as much as the arithmetic; reused ones do not. Each thread has its own set,
so objectives can be called from several threads at once; every caller overwrites the part it
reads, so what a buffer held before never reaches a result.
"""

from __future__ import annotations

import threading

import numpy as np

_LOCAL = threading.local()


def work_array(name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A C-contiguous array of ``shape`` and ``dtype``, uninitialized, reused across calls by ``name``.

    Two arrays in use at the same time need two names. The buffer grows to the largest size asked
    for and is kept for the thread's lifetime.
    """
    buffers = getattr(_LOCAL, "buffers", None)
    if buffers is None:
        buffers = _LOCAL.buffers = {}
    dtype = np.dtype(dtype)
    size = 1
    for n in shape:
        size *= n
    buffer = buffers.get((name, dtype.str))
    if buffer is None or buffer.size < size:
        buffer = buffers[(name, dtype.str)] = np.empty(size, dtype)
    return buffer[:size].reshape(shape)

"""Random search: Gaussian samples around the start point at the init scale, the floor of every comparison.

Sample ``i`` is ``x0 + scale * s * z_i`` with ``z_i ~ N(0, I)`` and ``s`` the network's per-weight init
scale (its Glorot bound), drawn and evaluated in batches of ``batch_size`` (one swarm call each); the
first batch holds ``x0`` itself, the last is truncated to what the budget affords. Nothing moves: every
sample is drawn around ``x0``, and the best one seen is returned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _validate as v
from ..budget import Budget
from ..registry import register_method


@dataclass(frozen=True)
class RandomSearchOptions:
    batch_size: int = 40  # samples per swarm call (PSO's default swarm size)
    scale: float = 1.0  # standard deviation of a sample around x0, in units of the init scale

    def __post_init__(self) -> None:
        v.positive_int(self.batch_size, "batch_size")
        v.real(self.scale, "scale", 0.0, low_open=True)


@register_method("random-search", options=RandomSearchOptions, native_device=True)
def run(budget: Budget, x0: np.ndarray, rng: np.random.Generator,
        opts: RandomSearchOptions) -> tuple[np.ndarray, str, str]:
    if budget.problem.device is not None:  # the samples drawn on the device
        from ..backends.jax_methods import random_search
        return random_search(budget, x0, rng, opts)
    step = opts.scale * budget.problem.init_scale
    samples = 0
    while (rows := min(opts.batch_size, int(budget.remaining()))) >= 1:
        W = x0 + step * rng.standard_normal((rows, x0.size))
        if samples == 0:
            W[0] = x0
        budget(W)
        samples += rows
        budget.record(budget.best_fun)
    return budget.best_x, "budget", f"drew {samples} samples around the start point in batches of {opts.batch_size}"

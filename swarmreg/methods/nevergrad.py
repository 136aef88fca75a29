"""Any optimizer of nevergrad's registry as ``nevergrad:<Name>``, by batch ask/tell within the budget.

nevergrad searches ``z`` in an ``Array`` parametrization (its unit step, ``sigma = 1``, starting at
``z = 0``); the network's weights are ``w = x0 + scale * s * z`` with ``s`` the per-weight init scale,
so every optimizer starts at ``x0`` and its unit step is the network's Glorot bound. A batch is
``batch_size`` candidates asked (nevergrad's ``num_workers = batch_size``), evaluated in one swarm call
and told their ``J``; nevergrad's ``budget`` is what the run affords, the last batch is truncated to
it, and nothing is told that was not charged. The best evaluated point is returned (nevergrad's
recommendation may be a point it never asked for, which would cost one more evaluation).

Randomness: the parametrization's ``random_state`` is a ``RandomState`` seeded from the run's
Generator. nevergrad also draws from numpy's global RNG (at import, when some optimizers and
portfolios are built, in some mutations), so a run holds numpy's global RNG: seeded from the run's
Generator on entry, the caller's state restored on exit, under a lock (concurrent runs in threads
take turns). A run thus neither moves the global state nor depends on it. nevergrad is imported
with the global state seeded at 0, so its import-time draws are the same in every process (unless
it was imported before swarmreg). Optimizers that stop on wall time (nevergrad's MetaModel fits)
cannot give the same bits twice.

nevergrad is an optional dependency (``pip install 'swarmreg[nevergrad]'``), imported only when a
``nevergrad:`` method is first named.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from .. import _validate as v
from .._validate import suggest
from ..budget import Budget
from ..registry import Method, register_family

INSTALL_HINT = "pip install 'swarmreg[nevergrad]'"
_GLOBAL_RNG_LOCK = threading.RLock()


@dataclass(frozen=True)
class NevergradOptions:
    batch_size: int = 1  # candidates asked per swarm call: nevergrad's num_workers (1: its sequential mode)
    scale: float = 1.0  # w = x0 + scale * init_scale * z: nevergrad's unit step in units of the init scale

    def __post_init__(self) -> None:
        v.positive_int(self.batch_size, "batch_size")
        v.real(self.scale, "scale", 0.0, low_open=True)


@contextmanager
def _global_rng(seed: int) -> Iterator[None]:
    """Run the block with numpy's global RNG seeded at ``seed``, the caller's state restored after it
    (under a lock: concurrent runs in threads take turns)."""
    with _GLOBAL_RNG_LOCK:
        saved = np.random.get_state()
        np.random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(saved)


@functools.cache
def _nevergrad() -> ModuleType:
    """``import nevergrad``, with numpy's global RNG seeded at 0 for its import-time draws and restored."""
    try:
        with _global_rng(0):
            import nevergrad
    except ImportError as exc:
        raise ValueError(f"nevergrad: methods need nevergrad, which is not installed ({exc}); "
                         f"install it with: {INSTALL_HINT}") from None
    return nevergrad


def run(optimizer: str, budget: Budget, x0: np.ndarray, rng: np.random.Generator,
        opts: NevergradOptions) -> tuple[np.ndarray, str, str]:
    """Batch ask/tell of nevergrad's ``optimizer`` (see the module docstring)."""
    ng = _nevergrad()
    step = opts.scale * budget.problem.init_scale
    param_seed, global_seed = rng.integers(2**32, size=2)
    told = 0
    with _global_rng(int(global_seed)):
        param = ng.p.Array(shape=x0.shape)
        param.random_state = np.random.RandomState(param_seed)
        optim = ng.optimizers.registry[optimizer](parametrization=param, budget=int(budget.remaining()),
                                                  num_workers=opts.batch_size)
        while (rows := min(opts.batch_size, int(budget.remaining()), optim.budget - told)) >= 1:
            candidates = [optim.ask() for _ in range(rows)]
            values = budget(x0 + step * np.stack([c.value for c in candidates]))
            for candidate, value in zip(candidates, values):
                optim.tell(candidate, float(value))
            told += rows
            budget.record(budget.best_fun)
    return budget.best_x, "budget", f"nevergrad {optimizer}: {told} candidates in batches of {opts.batch_size}"


def resolve(name: str) -> Method:
    """The method ``nevergrad:<name>``; a ``ValueError`` if nevergrad is missing or has no such optimizer."""
    registry = _nevergrad().optimizers.registry
    if name not in registry:
        raise ValueError(f"unknown method 'nevergrad:{name}': nevergrad has no optimizer {name!r}"
                         f"{suggest(name, registry)} (its names: nevergrad.optimizers.registry)")
    return Method(f"nevergrad:{name}", NevergradOptions, _no_check, functools.partial(run, name),
                  uses_gradient=False, summary=f"nevergrad's {name}, batch ask/tell within the budget")


def _no_check(opts: NevergradOptions, budget: float, problem, grad_cost: float) -> None:
    """Every budget >= 1 affords one candidate."""


register_family("nevergrad", resolve, "any optimizer of nevergrad's registry (nevergrad.optimizers.registry), "
                                      f"e.g. nevergrad:NGOpt; needs {INSTALL_HINT}")

"""The one entry point: validate everything, dispatch to a registered method, account, report."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from . import _validate as v
from .budget import GRAD_COST, Budget, problem_of
from .methods._options import resolve
from .objective import Objective
from .registry import get_method

DEFAULT_BUDGET = 20_000
"""Budget used when ``budget=None``: evaluations of J on the full training set."""


@dataclass(frozen=True)
class Result:
    """What a run returns; ``fun == objective(x)`` and ``fun == trace["fun"][-1]``."""

    x: np.ndarray  # the returned weights: swarm best, best vertex, or the final backprop iterate
    fun: float  # J(x) = error + penalty
    error: float  # E(x), the training error alone
    penalty: float  # lam * sum of squared non-bias weights
    weight_norm: float  # Euclidean norm of the non-bias weights
    bias_norm: float  # Euclidean norm of the biases
    cost: float  # budget spent, in full-set evaluations of J
    n_evals: int  # J evaluations of one vector, charged
    n_grads: int  # gradient evaluations (full or mini-batch), charged
    n_observed: int  # J evaluations of one vector for the trace only (budget.observe), not charged
    wall_time: float  # seconds
    status: str  # why it stopped: "budget", "converged", "epochs", "diverged"
    message: str
    method: str
    options: Mapping[str, Any]  # resolved options, defaults included
    seed: int
    budget: float
    trace: Mapping[str, np.ndarray] = field(repr=False)  # equal-length arrays: cost, fun, ...

    def __repr__(self) -> str:
        return (f"Result(method={self.method!r}, fun={self.fun:.6g}, error={self.error:.6g}, "
                f"weight_norm={self.weight_norm:.4g}, cost={self.cost:g}, status={self.status!r})")


def minimize(objective: Objective, method: str, *, budget: float | None = None, seed: int = 0,
             x0: np.ndarray | None = None, grad_cost: float = GRAD_COST, **options: Any) -> Result:
    """Minimize ``objective`` with ``method`` (a name in ``METHODS``) within ``budget``.

    ``budget`` caps the cost in evaluations of J on the full training set of one weight vector
    (a gradient counts ``grad_cost``, a mini-batch its fraction); None means DEFAULT_BUDGET.
    ``seed`` fixes every random draw; ``x0`` defaults to ``objective.net.init`` from that seed.
    """
    if not isinstance(objective, Objective):
        raise TypeError(f"objective must be a swarmreg.Objective, got {type(objective).__name__}")
    spec = get_method(method)
    opts = resolve(spec.options, method, options)
    limit = DEFAULT_BUDGET if budget is None else v.real(budget, "budget", 1.0)
    seed = v.non_negative_int(seed, "seed")
    grad_cost = v.real(grad_cost, "grad_cost", 0.0, low_open=True)
    net = objective.net
    if x0 is not None:
        x0 = v.finite_array(x0, "x0", (1,))
        if x0.shape != (net.n_params,):
            raise ValueError(f"x0 must have shape ({net.n_params},), got {x0.shape}")
    spec.check(opts, limit, problem_of(objective), grad_cost)

    rng = np.random.default_rng(seed)
    start = net.init(rng) if x0 is None else x0.copy()
    tracker = Budget(objective, limit, grad_cost)
    t0 = time.perf_counter()
    x, status, message = spec.run(tracker, start, rng, opts)
    wall_time = time.perf_counter() - t0

    error, penalty = objective.error(x), objective.penalty(x)
    fun = error + penalty
    return Result(
        x=x, fun=fun, error=error, penalty=penalty,
        weight_norm=float(np.linalg.norm(x[net.weight_mask])),
        bias_norm=float(np.linalg.norm(x[~net.weight_mask])),
        cost=tracker.cost, n_evals=tracker.n_evals, n_grads=tracker.n_grads, n_observed=tracker.n_observed,
        wall_time=wall_time, status=status, message=message, method=method,
        options=MappingProxyType(dataclasses.asdict(opts)), seed=seed, budget=limit,
        trace=MappingProxyType(tracker.trace(fun)),
    )

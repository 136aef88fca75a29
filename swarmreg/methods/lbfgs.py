"""L-BFGS-B on scipy with the analytic gradient of J on the full training set.

Every call scipy makes is ``budget.fun_and_gradient(w)``: J and dJ/dw from one forward and one
backward pass, charged one gradient (``grad_cost``), since the forward pass that gives the
gradient gives J too. scipy's ``maxfun`` is the number of calls the remaining budget affords, and
the budget refuses any call past it (scipy finishes its current line search before it checks
``maxfun``), so the budget is a hard cap. L-BFGS-B is deterministic: the seed only picks ``x0``.

When scipy stops with budget left (its ``ftol`` or ``gtol`` test, or a line search that can go no
further), and ``restarts`` is on, it starts again from the best point with an empty memory: a
converged run then ends after one call (the gradient test holds at once), while one stopped by
the relative-decrease test early in a flat stretch goes on. The run is "converged" when a round
lowers J by no more than ``ftol`` relative (any lowering at all when ``ftol = 0``).

While scipy runs, the OpenBLAS that scipy's wheels ship is held at one thread: L-BFGS-B's calls
into it are on vectors of n weights and 2*maxcor x 2*maxcor matrices, where a second thread only
waits (measured on two busy cores: 9 ms per iteration against 0.3 ms, the whole run 5-25x slower).
numpy's BLAS, which computes the gradient, is left as it is.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize as scipy_minimize
from threadpoolctl import ThreadpoolController

from .. import _validate as v
from ..budget import Budget, BudgetExhausted
from ..registry import register_method


@dataclass(frozen=True)
class LbfgsOptions:
    ftol: float = 1e-12  # stop a round when (J_k - J_k+1) / max(|J_k|, |J_k+1|, 1) <= ftol (scipy: 2.2e-9)
    gtol: float = 1e-8  # stop a round when every |dJ/dw_i| <= gtol (scipy: 1e-5)
    maxcor: int = 10  # correction pairs kept: the memory m of L-BFGS
    maxls: int = 20  # function-and-gradient calls allowed per line search
    restarts: bool = True  # after a round stops with budget left, restart from the best point, empty memory

    def __post_init__(self) -> None:
        v.real(self.ftol, "ftol", 0.0)
        v.real(self.gtol, "gtol", 0.0)
        v.positive_int(self.maxcor, "maxcor")
        v.positive_int(self.maxls, "maxls")
        if not isinstance(self.restarts, bool):
            raise TypeError(f"restarts must be a bool, got {self.restarts!r}")


def check(opts: LbfgsOptions, budget: float, problem, grad_cost: float) -> None:
    if budget < grad_cost:
        raise ValueError(f"budget {budget:g} is less than one function-and-gradient call (grad_cost {grad_cost:g})")


@functools.cache
def _scipy_blas() -> tuple:
    """threadpoolctl's handles on the BLAS libraries in scipy's own folder (``scipy.libs`` in its wheels)."""
    return tuple(lib for lib in ThreadpoolController().lib_controllers
                 if lib.user_api == "blas" and Path(lib.filepath).parent.name.startswith("scipy"))


_blas_lock = threading.Lock()
_blas_users = 0
_blas_saved: list[tuple[object, int]] = []


@contextmanager
def _scipy_blas_one_thread() -> Iterator[None]:
    """scipy's BLAS at one thread while any run is inside; the first in sets it, the last out restores it."""
    global _blas_users
    with _blas_lock:
        if _blas_users == 0:
            _blas_saved[:] = [(lib, lib.num_threads) for lib in _scipy_blas()]
            for lib, _ in _blas_saved:
                lib.set_num_threads(1)
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                for lib, threads in _blas_saved:
                    lib.set_num_threads(threads)


@register_method("l-bfgs", options=LbfgsOptions, check=check, uses_gradient=True)
def run(budget: Budget, x0: np.ndarray, rng: np.random.Generator,
        opts: LbfgsOptions) -> tuple[np.ndarray, str, str]:
    n_items = budget.problem.n_items
    scipy_opts = {"ftol": opts.ftol, "gtol": opts.gtol, "maxcor": opts.maxcor, "maxls": opts.maxls}

    def fun_and_gradient(w: np.ndarray) -> tuple[float, np.ndarray]:
        before = budget.best_fun
        fun, grad = budget.fun_and_gradient(w)
        if budget.best_fun < before:
            budget.record(budget.best_fun)
        return fun, grad

    start, rounds, status, message = x0, 0, "budget", "budget spent"
    while budget.can_afford(grad_items=n_items):
        rounds += 1
        before = budget.best_fun
        calls = int(budget.remaining() // budget.grad_cost)
        try:
            with _scipy_blas_one_thread():
                res = scipy_minimize(fun_and_gradient, start, jac=True, method="L-BFGS-B",
                                     options={**scipy_opts, "maxfun": calls, "maxiter": calls})
        except BudgetExhausted:
            message = "budget spent"
            break
        message = res.message
        if res.status == 1:  # maxfun or maxiter: the budget is spent
            break
        best = budget.best_fun
        gained = before == np.inf or before - best > opts.ftol * max(abs(before), abs(best), 1.0)
        if not (opts.restarts and gained):
            status = "converged"
            break
        start = budget.best_x
    budget.record(budget.best_fun)
    return budget.best_x, status, f"{status} after {rounds} L-BFGS-B round(s): {message}"

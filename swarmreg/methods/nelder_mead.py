"""Nelder-Mead simplex search on scipy, with a starting simplex sized for network weights.

scipy's default simplex steps 5% of each coordinate (0.00025 at zero), which for weights drawn
near zero is a simplex too small to move. Here vertex ``i`` is ``x0 + initial_step * s_i * e_i``
with ``s`` the network's init scale. Its n + 1 evaluations are charged like any other.
When the simplex converges with budget left, the search restarts from its best vertex with a
fresh simplex (scipy's single run stalls in dozens of dimensions), until a restart gains nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize as scipy_minimize

from .. import _validate as v
from ..budget import Budget, BudgetExhausted
from ..registry import register_method


@dataclass(frozen=True)
class NelderMeadOptions:
    initial_step: float = 1.0  # simplex edge along coordinate i, in units of the init scale s_i
    adaptive: bool = True  # scipy's dimension-adapted coefficients (Gao & Han 2012), for many weights
    xatol: float = 1e-8  # converged when every vertex is within xatol of the best ...
    fatol: float = 1e-10  # ... and every value within fatol of the best
    restarts: bool = True  # restart from the best vertex after convergence while budget lasts

    def __post_init__(self) -> None:
        v.real(self.initial_step, "initial_step", 0.0, low_open=True)
        if not isinstance(self.adaptive, bool):
            raise TypeError(f"adaptive must be a bool, got {self.adaptive!r}")
        v.real(self.xatol, "xatol", 0.0)
        v.real(self.fatol, "fatol", 0.0)
        if not isinstance(self.restarts, bool):
            raise TypeError(f"restarts must be a bool, got {self.restarts!r}")


def check(opts: NelderMeadOptions, budget: float, problem, grad_cost: float) -> None:
    n = problem.net.n_params
    if budget < n + 1:
        raise ValueError(f"budget {budget:g} is less than the starting simplex's {n + 1} evaluations")


@register_method("nelder-mead", options=NelderMeadOptions, check=check)
def run(budget: Budget, x0: np.ndarray, rng: np.random.Generator,
        opts: NelderMeadOptions) -> tuple[np.ndarray, str, str]:
    n = x0.size
    steps = opts.initial_step * budget.problem.init_scale
    scipy_opts = {"adaptive": opts.adaptive, "xatol": opts.xatol, "fatol": opts.fatol}
    start, rounds, status = x0, 0, "budget"

    def f(x: np.ndarray) -> float:
        before = budget.best_fun
        value = budget(x)
        if budget.best_fun < before:
            budget.record(budget.best_fun)
        return value

    while budget.can_afford(evals=n + 1):
        rounds += 1
        before = budget.best_fun
        simplex = np.vstack([start, start + np.diag(steps)])
        try:
            res = scipy_minimize(f, start, method="Nelder-Mead",
                                 options={**scipy_opts, "initial_simplex": simplex,
                                          "maxfev": int(budget.remaining()), "maxiter": np.iinfo(np.int64).max})
        except BudgetExhausted:
            break
        if res.status != 0:  # scipy stopped on maxfev: the budget is spent
            break
        if not opts.restarts or not budget.best_fun < before - opts.fatol:
            status = "converged"
            break
        start = budget.best_x
    budget.record(budget.best_fun)
    return budget.best_x, status, f"{status} after {rounds} simplex round(s)"

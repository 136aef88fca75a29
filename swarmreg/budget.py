"""Cost accounting that wraps the objective, so every method's budget means the same thing.

Unit of cost: one evaluation of ``J`` on the full training set for one weight vector. A swarm of
``P`` vectors costs ``P``; a gradient on the full set costs ``GRAD_COST``; a mini-batch of ``m`` of
``N`` items costs its fraction ``m / N`` of either. Evaluations made only to report a result
(the final ``res.fun``, backprop's per-epoch trace) are observers and are not charged; a method gets
at most one per charged call (``budget.observe``), so no method can search on free evaluations.
"""

from __future__ import annotations

import warnings

import numpy as np

from .objective import Objective
from .problem import Problem

GRAD_COST = 3.0
"""Cost of one full-set gradient: the forward pass plus a backward pass with two GEMMs per layer
(``dW = a.T @ delta`` and ``delta @ W.T``) against the forward pass's one, so about three."""


TRACE_RTOL = {"float64": 1e-9, "float32": 1e-4, "tf32": 1e-3, "bfloat16": 1e-2}
"""How far the trace's last ``fun`` may be from ``J(res.x)``, relative: a swarm's value of a row
and the row's own value agree to rounding (float32 objectives evaluate E in single precision; a
device's ``tf32`` and ``bfloat16`` round the GEMMs' inputs further)."""


OBSERVE_SLACK = 3
"""Uncharged observations allowed beyond one per full-set charge (an evaluation call, or gradients
over as many items as the training set): a run that diverges may look back at its last two iterates
and its start."""


def problem_of(objective: Objective) -> Problem:
    """The read-only view of ``objective`` a method is given."""
    return Problem(net=objective.net, lam=objective.lam, n_items=objective.n_items, dtype=objective.dtype,
                   loss=objective.loss, device=objective.device, penalize_biases=objective.penalize_biases)


class BudgetExhausted(Exception):
    """Raised by :class:`Budget` when a charge would take the cost past the cap."""


class Budget:
    """Charges calls to ``objective`` against ``limit``, keeps the best point seen and the trace.

    The one handle a method's ``run(budget, x0, rng, opts)`` gets on the problem (public contract):

    - ``budget(w)``: ``J`` of one vector ``(n_params,)`` (a float) or a swarm ``(P, n_params)``
      (``(P,)`` values), charged one unit per vector;
    - ``budget.error_and_gradient(w, idx=None)``: ``(E, dE/dw)`` on the training rows ``idx`` (all
      when None), charged ``grad_cost * len(idx) / N``; the L2 term is the method's to add
      (``2 * lam * mask * w``, ``mask = budget.problem.penalty_mask``: the non-bias weights);
    - ``budget.fun_and_gradient(w)``: ``(J, dJ/dw)`` on the full set, penalty included, charged
      ``grad_cost`` (one forward pass serves both) and tracking the best vector;
    - ``budget.record(fun)``: append ``(cost, fun)`` to the trace; the last record must be the
      returned point, at the final cost;
    - ``budget.remaining()``, ``budget.can_afford(evals=0, grad_items=0)``: what is left, and
      whether a charge fits (a call that does not fit raises :class:`BudgetExhausted` and charges
      nothing);
    - ``budget.best_x``, ``budget.best_fun``: the best vector evaluated so far and its ``J``
      (``None`` and ``inf`` before the first evaluation);
    - ``budget.observe(w)``: ``J`` of one vector for the trace, not charged (an observer, such as
      backprop's per-epoch ``J``); at most one per full-set charge so far (an evaluation call, or
      gradients over ``n_items`` items), plus ``OBSERVE_SLACK``;
    - ``budget.on_device(W)``, ``budget.error_and_gradient_on_device(w, idx=None)``: the same charges for
      JAX arrays on a device objective's device (``budget.problem.device``), values left there: the
      native device methods' calls (:mod:`swarmreg.backends.jax_methods`);
    - ``budget.problem``: the :class:`~swarmreg.problem.Problem` (``.net``, ``.lam``, ``.n_items``,
      ``.dtype``, ``.init_scale``, ``.weight_mask``, ``.penalty_mask``, ``.penalty(w)``) for shapes and
      scales; it holds no data and cannot evaluate ``J``.
    """

    def __init__(self, objective: Objective, limit: float, grad_cost: float = GRAD_COST):
        self._objective = objective
        self.problem = problem_of(objective)
        self.limit = float(limit)
        self.grad_cost = float(grad_cost)
        self.n_evals = 0  # vectors evaluated on the full set
        self.n_grads = 0  # gradient calls
        self.grad_items = 0  # items that went through gradients (a full-set gradient adds n_items)
        self.best_x: np.ndarray | None = None
        self.best_fun = np.inf
        self.n_calls = 0  # charged calls (a swarm is one)
        self.n_observed = 0  # uncharged observer evaluations of one vector
        self._trace: dict[str, list[float]] = {"cost": [], "fun": []}

    @property
    def objective(self) -> Objective:
        """Deprecated: the objective itself, whose calls escape the budget; use :attr:`problem`."""
        warnings.warn("budget.objective is deprecated and evaluates outside the budget: use budget.problem "
                      "for shapes and scales, budget(w) or budget.observe(w) for values",
                      FutureWarning, stacklevel=2)
        return self._objective

    def _cost(self, evals: int, grad_items: int) -> float:
        """``evals + grad_cost * grad_items / N`` from integer counts, in one rounding: summing
        batch fractions in floats would drift past the cap."""
        n = self._objective.n_items
        return (evals * n + self.grad_cost * grad_items) / n

    @property
    def cost(self) -> float:
        return self._cost(self.n_evals, self.grad_items)

    def remaining(self) -> float:
        return self.limit - self.cost

    def can_afford(self, evals: int = 0, grad_items: int = 0) -> bool:
        """Whether ``evals`` more evaluations and gradients over ``grad_items`` more items fit."""
        return self._cost(self.n_evals + evals, self.grad_items + grad_items) <= self.limit

    def _charge_evals(self, rows: int) -> None:
        """Charge ``rows`` evaluations on the full set as one call, or raise and charge nothing."""
        if not self.can_afford(evals=rows):
            raise BudgetExhausted(f"{rows} more evaluation(s) would pass the budget of {self.limit:g}")
        self.n_evals += rows
        self.n_calls += 1

    def _charge_gradient(self, idx: np.ndarray | None) -> None:
        """Charge one gradient over the rows ``idx`` (all when None), or raise and charge nothing."""
        m = self.problem.n_items if idx is None else len(idx)
        if not self.can_afford(grad_items=m):
            over = f"the full set ({m} items)" if idx is None else f"{m} items"
            raise BudgetExhausted(f"a gradient over {over} would pass the budget of {self.limit:g}")
        self.n_grads += 1
        self.n_calls += 1
        self.grad_items += m

    def __call__(self, w: np.ndarray) -> float | np.ndarray:
        """``J`` of one vector or a swarm, charged one unit per vector; tracks the best vector."""
        w = np.asarray(w)
        rows = 1 if w.ndim == 1 else w.shape[0]
        self._charge_evals(rows)
        values = self._objective(w)
        if w.ndim == 1:
            if values < self.best_fun:
                self.best_fun, self.best_x = values, w.copy()
        else:
            i = int(np.argmin(values))
            if values[i] < self.best_fun:
                self.best_fun, self.best_x = float(values[i]), w[i].copy()
        return values

    def error_and_gradient(self, w: np.ndarray, idx: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """``E`` and ``dE/dw`` on the rows ``idx`` (all when None), charged their fraction of GRAD_COST."""
        self._charge_gradient(idx)
        return self._objective.error_and_gradient(w, idx)

    def fun_and_gradient(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        """``J`` and ``dJ/dw`` on the full set, charged one gradient (``grad_cost``): the gradient's
        forward pass gives ``E``, so ``J`` comes with it. Tracks the best vector as ``budget(w)`` does."""
        self._charge_gradient(None)
        fun, grad = self._objective.fun_and_gradient(w)
        if fun < self.best_fun:
            self.best_fun, self.best_x = fun, np.array(w, dtype=float)
        return fun, grad

    def on_device(self, W):
        """``J`` of a device swarm ``W`` ``(P, n_params)`` (a JAX array on the objective's device), charged
        ``P``, returned on the device (the native device methods' call); tracks the best vector, whose
        value and row alone come to the host."""
        self._charge_evals(W.shape[0])
        backend = self._objective._backend
        values = backend.values_device(W)
        best, row = backend.best_of(values, W)
        if best < self.best_fun:
            self.best_fun, self.best_x = best, row
        return values

    def error_and_gradient_on_device(self, w, idx: np.ndarray | None = None) -> tuple[float, object]:
        """``E`` and ``dE/dw`` of a device vector ``w`` on the rows ``idx`` (all when None), charged as
        :meth:`error_and_gradient`; ``E`` is a float, inf when it or the gradient is not finite."""
        self._charge_gradient(idx)
        return self._objective._backend.checked_error_and_gradient_device(w, idx)

    def observe(self, w: np.ndarray) -> float:
        """``J`` of one vector, not charged, for the trace; refused past ``OBSERVE_SLACK`` more
        observations than charged calls (an observer reports, it does not search)."""
        if np.ndim(w) != 1:
            raise ValueError(f"observe takes one vector of shape ({self.problem.n_params},), got {np.shape(w)}")
        full_set_charges = (self.n_calls - self.n_grads) + self.grad_items // self.problem.n_items
        if self.n_observed >= full_set_charges + OBSERVE_SLACK:
            raise RuntimeError(f"{self.n_observed} uncharged observations after {full_set_charges} charged "
                               "full-set evaluations or gradients: an observer evaluation reports a point, it may "
                               "not search")
        self.n_observed += 1
        return self._objective(w)

    def record(self, fun: float) -> None:
        """Append one trace record at the current cost."""
        self._trace["cost"].append(self.cost)
        self._trace["fun"].append(float(fun))

    def trace(self, final_fun: float) -> dict[str, np.ndarray]:
        """The trace as arrays; methods record their returned point last, at the final cost.

        That last ``fun`` is replaced by ``final_fun`` (the observer's ``obj(res.x)``), so the
        trace ends exactly on ``res.fun``.
        """
        t = self._trace
        if not t["cost"] or t["cost"][-1] != self.cost:
            raise RuntimeError("a method must record its returned point at the final cost")
        last = t["fun"][-1]
        if not abs(last - final_fun) <= TRACE_RTOL[self._objective.precision] * max(1.0, abs(final_fun)):
            raise RuntimeError(f"the trace ends at fun={last!r}, but the returned point has J={final_fun!r}: "
                               "a method must record its returned point last")
        t["fun"][-1] = float(final_fun)
        return {k: np.asarray(vals) for k, vals in t.items()}

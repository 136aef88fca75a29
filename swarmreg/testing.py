"""The conformance suite every method, built-in or plugin, must pass: :func:`check_method`.

In the spirit of scikit-learn's ``check_estimator``: one named check per rule of the method contract
(DESIGN section 2), run on a small built-in problem; a failure is an ``AssertionError`` whose message
names the method, the rule and the numbers.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .budget import GRAD_COST, BudgetExhausted
from .minimize import Result, minimize
from .network import Network
from .objective import Objective
from .registry import get_method

ODD_BUDGETS = (97, 333.5, 1001, 1777.25)
"""Budgets that fit no swarm or simplex size evenly, so a method that rounds its own count overspends."""


def _rows(w: Any) -> int:
    """Weight vectors in ``w``: a vector, a swarm, or a network's unpacked layers."""
    if isinstance(w, list):  # the first weight matrix: (fan_in, fan_out), or (P, fan_in, fan_out) for a swarm
        first = w[0][0]
        return 1 if np.ndim(first) == 2 else np.shape(first)[0]
    return 1 if np.ndim(w) <= 1 else np.shape(w)[0]


def _counted_pass(name: str) -> Callable[..., Any]:
    """A :class:`_CountingNetwork` method: the outermost forward pass outside the objective is counted."""
    def method(self: _CountingNetwork, X: Any, w: Any, *args: Any, **kwargs: Any) -> Any:
        was_inside = self.inside
        if not was_inside:
            self.outside += _rows(w)
        self.inside = True
        try:
            return getattr(Network, name)(self, X, w, *args, **kwargs)
        finally:
            self.inside = was_inside
    return method


class _CountingNetwork(Network):
    """The problem's network, counting the weight vectors it is run on outside the objective
    (``outside``): forward passes on data a method kept for itself."""

    outside = 0
    inside = False
    activations = _counted_pass("activations")
    _forward_layers = _counted_pass("_forward_layers")
    swarm_logits = _counted_pass("swarm_logits")
    block_logits = _counted_pass("block_logits")


class _CountingObjective(Objective):
    """The problem's objective, counting every vector it evaluates (``vectors``: ``J`` or ``E`` on
    the full set, and the network's passes outside it) and every item that goes through a gradient
    (``grad_items``)."""

    own_vectors = 0
    grad_items = 0

    @property
    def vectors(self) -> int:
        return self.own_vectors + self.net.outside

    @property
    def evaluations(self) -> int:
        return self.vectors + self.grad_items

    def _inside(self, method: Callable[..., Any], *args: Any) -> Any:
        was_inside, self.net.inside = self.net.inside, True
        try:
            return method(*args)
        finally:
            self.net.inside = was_inside

    def __call__(self, w):
        self.own_vectors += _rows(w)
        return self._inside(super().__call__, w)

    def error(self, w, idx=None):
        self.own_vectors += _rows(w)
        return self._inside(super().error, w, idx)

    def error_and_gradient(self, w, idx=None):
        self.grad_items += self.n_items if idx is None else len(idx)
        return self._inside(super().error_and_gradient, w, idx)

    def fun_and_gradient(self, w):
        return self._inside(super().fun_and_gradient, w)

    def penalty(self, w):
        return self._inside(super().penalty, w)


def problem(lam: float = 0.01, device: str | None = None) -> Objective:
    """The conformance problem: iris (first 20 items of each class, standardized), network 4-5-3,
    43 parameters, cross-entropy with ``lam``: small enough that every check runs in seconds;
    on ``device`` (``"cpu"``, ``"cuda"``) when given."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    keep = np.concatenate([np.flatnonzero(y == k)[:20] for k in range(3)])
    X, y = X[keep], y[keep]
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return _CountingObjective(_CountingNetwork((4, 5, 3)), X, y, lam=lam, device=device)


def fingerprint(res: Result) -> str:
    """A hash of every bit of the returned point, its value and its trace: equal for the same bits."""
    h = hashlib.sha256(res.x.tobytes())
    h.update(float(res.fun).hex().encode())
    for key in sorted(res.trace):
        h.update(key.encode())
        h.update(np.ascontiguousarray(res.trace[key]).tobytes())
    return h.hexdigest()


def global_state_equal(a: tuple, b: tuple) -> bool:
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and tuple(a[2:]) == tuple(b[2:])


class _Checker:
    def __init__(self, name: str, objective: Objective, budget: float, options: dict[str, Any]):
        self.name, self.obj, self.budget, self.options = name, objective, budget, options

    def fail(self, rule: str, detail: str) -> AssertionError:
        return AssertionError(f"method {self.name!r} breaks the rule '{rule}': {detail}")

    def run(self, rule: str, budget: float | None = None, seed: int = 0, **extra: Any) -> Result:
        budget = self.budget if budget is None else budget
        try:
            return minimize(self.obj, self.name, budget=budget, seed=seed, **{**self.options, **extra})
        except BudgetExhausted as exc:
            raise self.fail("budget-is-a-hard-cap", f"at budget {budget:g} the run asked for more than its "
                                                    f"budget ({exc}); check budget.can_afford before evaluating") \
                from None
        except RuntimeError as exc:
            if "record" in str(exc):
                raise self.fail("trace-ends-on-returned-point", f"at budget {budget:g}: {exc}") from None
            raise

    def options_are_a_frozen_dataclass(self) -> None:
        method = get_method(self.name)
        defaults = method.options()
        if not dataclasses.is_dataclass(defaults) or not type(defaults).__dataclass_params__.frozen:
            raise self.fail("options-are-a-frozen-dataclass", f"{method.options!r} is not a frozen dataclass")
        res = self.run("options-are-a-frozen-dataclass")
        expected = dataclasses.asdict(method.options(**self.options))
        if dict(res.options) != expected:
            raise self.fail("options-are-a-frozen-dataclass",
                            f"res.options {dict(res.options)} differ from the resolved options {expected}")

    def budget_is_a_hard_cap(self) -> None:
        for budget in ODD_BUDGETS:
            try:
                res = self.run("budget-is-a-hard-cap", budget=budget)
            except ValueError:
                continue  # refused up front by the method's check: nothing was spent
            trace_max = float(np.max(res.trace["cost"]))
            if not (0 < res.cost <= budget and trace_max <= budget):
                raise self.fail("budget-is-a-hard-cap", f"budget {budget:g}, but res.cost = {res.cost!r} "
                                                        f"and the trace's largest cost = {trace_max!r}")
            counted = res.n_evals + res.n_grads
            if counted == 0:
                raise self.fail("budget-is-a-hard-cap", f"budget {budget:g}: the run charged no evaluation")

    def evaluates_only_through_budget(self) -> None:
        rule = "evaluates-only-through-budget"
        vectors, items = self.obj.vectors, self.obj.grad_items
        res = self.run(rule)
        real_vectors = self.obj.vectors - vectors - 1  # minimize's own error(res.x), for the result
        real_items = self.obj.grad_items - items
        charged_items = round((res.cost - res.n_evals) * self.obj.n_items / GRAD_COST)
        if real_vectors > res.n_evals + res.n_observed or real_items > charged_items:
            raise self.fail(rule, f"the run evaluated {real_vectors} vector(s) and {real_items} gradient item(s), "
                                  f"but the budget charged {res.n_evals} vector(s) (and observed {res.n_observed}) "
                                  f"and {charged_items} gradient item(s): every evaluation must go through the "
                                  "budget")

    def trace_contract(self) -> None:
        rule = "trace-ends-on-returned-point"
        res = self.run(rule)
        trace = res.trace
        if not {"cost", "fun"} <= set(trace):
            raise self.fail(rule, f"the trace has keys {sorted(trace)}, not cost and fun")
        shapes = {key: np.shape(trace[key]) for key in trace}
        if any(len(s) != 1 for s in shapes.values()) or len(set(shapes.values())) != 1:
            raise self.fail(rule, f"the trace's arrays are not 1-D of equal length: {shapes}")
        cost = np.asarray(trace["cost"])
        if np.any(np.diff(cost) < 0):
            i = int(np.argmax(np.diff(cost) < 0))
            raise self.fail(rule, f"the trace's cost decreases at record {i + 1}: {cost[i]!r} -> {cost[i + 1]!r}")
        if cost[-1] != res.cost:
            raise self.fail(rule, f"the last record is at cost {cost[-1]!r}, the run's final cost is {res.cost!r}")
        j = self.obj(res.x)
        if res.fun != j or trace["fun"][-1] != j:
            raise self.fail(rule, f"res.fun = {res.fun!r} and trace fun[-1] = {trace['fun'][-1]!r}, "
                                  f"but J(res.x) = {j!r}")

    def same_seed_same_bits(self) -> None:
        a, b = self.run("same-seed-same-bits", seed=7), self.run("same-seed-same-bits", seed=7)
        if fingerprint(a) != fingerprint(b):
            raise self.fail("same-seed-same-bits", f"two runs with seed 7 differ: fun {a.fun!r} vs {b.fun!r}, "
                                                   f"cost {a.cost!r} vs {b.cost!r}")

    def same_bits_whatever_the_global_state(self) -> None:
        saved = np.random.get_state()
        try:
            np.random.seed(1)
            a = self.run("same-bits-whatever-the-global-rng", seed=5)
            np.random.seed(987654)
            np.random.standard_normal(1000)
            b = self.run("same-bits-whatever-the-global-rng", seed=5)
        finally:
            np.random.set_state(saved)
        if fingerprint(a) != fingerprint(b):
            raise self.fail("same-bits-whatever-the-global-rng",
                            f"seed 5 under two global numpy states gave fun {a.fun!r} and {b.fun!r}: the method "
                            "draws from numpy's global RNG instead of the run's Generator")

    def global_rng_untouched(self) -> None:
        saved = np.random.get_state()
        try:
            np.random.seed(42)
            before = np.random.get_state()
            self.run("global-rng-untouched")
            after = np.random.get_state()
        finally:
            np.random.set_state(saved)
        if not global_state_equal(before, after):
            raise self.fail("global-rng-untouched", f"numpy's global RNG moved from position {before[2]} to "
                                                    f"{after[2]}: draw from the run's Generator (rng) only")

    def unknown_option_refused(self) -> None:
        bogus = "no_such_option_anywhere"
        try:
            self.run("unknown-option-refused", **{bogus: 1})
        except TypeError as exc:
            if bogus not in str(exc):
                raise self.fail("unknown-option-refused", f"the TypeError does not name the option: {exc}") \
                    from None
            return
        raise self.fail("unknown-option-refused", f"an unknown option {bogus!r} was accepted")

    def unusable_budget_refused_up_front(self) -> None:
        rule = "unusable-budget-refused-up-front"
        for budget in (1, 2.5):
            before = self.obj.evaluations
            try:
                res = self.run(rule, budget=budget)
            except ValueError:
                if self.obj.evaluations != before:
                    raise self.fail(rule, f"budget {budget:g} was refused only after "
                                          f"{self.obj.evaluations - before} evaluation(s)") from None
                continue
            except AssertionError:
                raise
            except Exception as exc:
                raise self.fail(rule, f"budget {budget:g} was neither refused by the method's check nor run: "
                                      f"{type(exc).__name__}: {exc}") from None
            if not 0 < res.cost <= budget:
                raise self.fail(rule, f"budget {budget:g} was accepted, but the run cost {res.cost!r}")

    def checks(self) -> Iterator[Callable[[], None]]:
        yield self.options_are_a_frozen_dataclass
        yield self.unknown_option_refused
        yield self.unusable_budget_refused_up_front
        yield self.budget_is_a_hard_cap
        yield self.evaluates_only_through_budget
        yield self.trace_contract
        yield self.global_rng_untouched
        yield self.same_bits_whatever_the_global_state
        yield self.same_seed_same_bits


def check_method(name: str, *, budget: float = 600, device: str | None = None, **options: Any) -> None:
    """Run the conformance checks on the registered method ``name`` (with ``options``) on
    :func:`problem`; raise an ``AssertionError`` naming the first rule it breaks.

    The rules: options are a frozen dataclass and the result holds them resolved; an unknown option
    is a ``TypeError`` naming it; a budget the method cannot use (1, 2.5) is refused with a
    ``ValueError`` before any evaluation, or the run stays within it; the budget is a hard cap at
    several odd budgets (cost and every trace record); the trace is 1-D arrays of equal length with
    non-decreasing cost, its last record at the final cost and on ``J(res.x) == res.fun``; the
    objective evaluates no more vectors and gradient items than the budget charged (or observed for
    the trace); the same
    seed gives the same bits twice, and under two different global numpy RNG states; a run leaves
    numpy's global RNG state as it found it. ``budget`` is the budget of the runs that check seeds,
    options and the trace; ``device`` runs them on a device objective (see :class:`Objective`).
    """
    get_method(name)
    checker = _Checker(name, problem(device=device), budget, options)
    for check in checker.checks():
        check()

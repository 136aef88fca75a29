"""l-bfgs (scipy's L-BFGS-B on J's analytic gradient, one charged gradient per call, the budget a hard
cap), Budget.fun_and_gradient, and swarmreg.reference_minimum."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import small_objective
from scipy.optimize import minimize as scipy_minimize

import swarmreg as sr
from swarmreg.budget import Budget, BudgetExhausted

OBJ = small_objective(lam=0.01)  # 43 parameters, 60 items


class Counting(sr.Objective):
    """Counts every gradient the objective computes."""

    gradients = 0

    def error_and_gradient(self, w, idx=None):
        self.gradients += 1
        return super().error_and_gradient(w, idx)


def counting(lam=0.01):
    return Counting(OBJ.net, OBJ.X, OBJ.y, lam=lam)


def start(seed=0):
    return OBJ.net.init(np.random.default_rng(seed))


# --- Budget.fun_and_gradient -----------------------------------------------------------------------

def test_fun_and_gradient_is_j_and_its_gradient_for_one_gradient_of_cost():
    budget = Budget(OBJ, 100.0, grad_cost=2.5)
    w = start()
    fun, grad = budget.fun_and_gradient(w)
    assert fun == pytest.approx(OBJ(w), rel=1e-13)
    assert grad.tobytes() == OBJ.gradient(w).tobytes()
    assert budget.cost == 2.5 and budget.n_grads == 1 and budget.n_evals == 0
    assert budget.best_fun == fun and budget.best_x.tobytes() == w.tobytes()
    w[0] += 1.0  # the best point is a copy
    assert budget.best_x[0] != w[0]


def test_fun_and_gradient_tracks_the_best_and_refuses_past_the_budget():
    budget = Budget(OBJ, 7.0)  # two gradients of 3
    a, b = start(0), start(1)
    fa, _ = budget.fun_and_gradient(a)
    fb, _ = budget.fun_and_gradient(b)
    assert budget.best_fun == min(fa, fb)
    with pytest.raises(BudgetExhausted):
        budget.fun_and_gradient(a)
    assert budget.cost == 6.0 and budget.n_grads == 2  # the refused call charged nothing


# --- l-bfgs ------------------------------------------------------------------------------------------

def test_each_call_is_one_gradient_and_no_evaluation():
    obj = counting()
    res = sr.minimize(obj, "l-bfgs", budget=3000, seed=0)
    assert res.n_evals == 0
    assert res.cost == res.n_grads * sr.GRAD_COST
    assert obj.gradients == res.n_grads  # nothing evaluated outside the budget (the final J is an observer)


@pytest.mark.parametrize("budget", [3, 10, 61.5, 200])
def test_budget_is_a_hard_cap_and_spent_to_the_last_affordable_call(budget):
    res = sr.minimize(OBJ, "l-bfgs", budget=budget, seed=0)
    assert res.status == "budget"
    assert res.n_grads == int(budget // sr.GRAD_COST)
    assert res.cost <= budget < res.cost + sr.GRAD_COST
    assert np.all(res.trace["cost"] <= budget)


def test_grad_cost_sets_the_price_of_a_call():
    res = sr.minimize(OBJ, "l-bfgs", budget=100, seed=0, grad_cost=4.0)
    assert res.n_grads == 25 and res.cost == 100.0


def test_budget_below_one_call_is_refused_up_front():
    obj = counting()
    with pytest.raises(ValueError, match="function-and-gradient"):
        sr.minimize(obj, "l-bfgs", budget=2.5, seed=0)
    assert obj.gradients == 0


def test_one_round_is_scipy_lbfgsb_called_directly():
    """Without restarts, a run is scipy's L-BFGS-B on (J, dJ/dw) from the same start: the same point."""
    x0 = start(3)
    opts = {"ftol": 1e-10, "gtol": 1e-6, "maxcor": 7, "maxls": 20}
    res = sr.minimize(OBJ, "l-bfgs", x0=x0, budget=1e6, restarts=False, **opts)
    direct = scipy_minimize(OBJ.fun_and_gradient, x0, jac=True, method="L-BFGS-B", options=opts)
    assert direct.success and res.status == "converged"
    assert res.x.tobytes() == direct.x.tobytes()
    assert res.n_grads == direct.nfev


def test_restarts_go_on_where_a_loose_ftol_stopped():
    x0 = start(2)
    once = sr.minimize(OBJ, "l-bfgs", x0=x0, budget=1e5, ftol=1e-4, restarts=False)
    again = sr.minimize(OBJ, "l-bfgs", x0=x0, budget=1e5, ftol=1e-4)
    assert once.status == again.status == "converged"
    assert again.fun < once.fun and again.n_grads > once.n_grads
    assert "round(s)" in again.message and not again.message.startswith("converged after 1 ")


def test_converges_before_the_budget_and_reports_it():
    res = sr.minimize(OBJ, "l-bfgs", budget=1e5, seed=0)
    assert res.status == "converged" and res.cost < 1e5
    assert np.max(np.abs(OBJ.gradient(res.x))) < 1e-5  # at J's minimizer: the gradient vanishes


def test_trace_is_the_best_j_so_far_and_ends_on_the_result():
    res = sr.minimize(OBJ, "l-bfgs", budget=600, seed=1)
    fun = res.trace["fun"]
    assert np.all(np.diff(fun) <= 0)
    assert res.fun == fun[-1] and res.trace["cost"][-1] == res.cost
    assert fun[0] == pytest.approx(OBJ(start(1)), rel=1e-12)  # the first record is the start


def test_the_global_numpy_state_and_scipy_blas_threads_are_left_as_found():
    from threadpoolctl import threadpool_info

    before = [(i["filepath"], i["num_threads"]) for i in threadpool_info()]
    state = np.random.get_state()
    sr.minimize(OBJ, "l-bfgs", budget=300, seed=0)
    after = np.random.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1]) and state[2:] == after[2:]
    assert [(i["filepath"], i["num_threads"]) for i in threadpool_info()] == before


@pytest.mark.parametrize("options, error", [
    ({"ftol": -1.0}, ValueError), ({"gtol": float("nan")}, ValueError), ({"maxcor": 0}, ValueError),
    ({"maxcor": 2.5}, TypeError), ({"maxls": 0}, ValueError), ({"restarts": "yes"}, TypeError),
])
def test_bad_options_are_refused(options, error):
    with pytest.raises(error):
        sr.minimize(OBJ, "l-bfgs", budget=100, **options)


# --- reference_minimum ---------------------------------------------------------------------------------

def test_reference_minimum_is_the_best_of_its_starts():
    ref = sr.reference_minimum(OBJ, budget=20_000, seeds=[0, 1, 2])
    assert isinstance(ref, sr.Result) and ref.method == "l-bfgs" and ref.seed in (0, 1, 2)
    assert ref.options["ftol"] == 0.0 and ref.options["gtol"] == 0.0
    assert ref.status == "converged" and ref.fun == OBJ(ref.x)
    runs = [sr.minimize(OBJ, "l-bfgs", budget=20_000, seed=s, ftol=0.0, gtol=0.0) for s in (0, 1, 2)]
    assert ref.fun == min(r.fun for r in runs)
    # at least as low as the default tolerances reach, and the gradient is at rounding level
    assert ref.fun <= min(sr.minimize(OBJ, "l-bfgs", budget=20_000, seed=s).fun for s in (0, 1, 2))
    assert np.max(np.abs(OBJ.gradient(ref.x))) < 1e-7


def test_reference_minimum_budget_caps_each_start():
    ref = sr.reference_minimum(OBJ, budget=30, seeds=[4])
    assert ref.status == "budget" and ref.cost <= 30 and ref.seed == 4


@pytest.mark.parametrize("kwargs, error", [
    ({"seeds": []}, ValueError), ({"seeds": [-1]}, ValueError), ({"seeds": [1.5]}, TypeError),
    ({"seeds": 3}, TypeError), ({"seeds": "01"}, TypeError), ({"budget": 0}, ValueError),
    ({"budget": float("inf")}, ValueError), ({"budget": "1000"}, TypeError),
])
def test_reference_minimum_refuses_bad_arguments(kwargs, error):
    with pytest.raises(error):
        sr.reference_minimum(OBJ, **kwargs)


def test_reference_minimum_needs_an_objective():
    with pytest.raises(TypeError, match="Objective"):
        sr.reference_minimum(lambda w: 0.0)

"""Method-specific behaviour of PSO, Nelder-Mead and backprop (the shared contract is in
test_minimize_contract.py)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from _helpers import iris, sklearn_sgd, small_objective

import swarmreg as sr

OBJ = small_objective(lam=0.01)  # 43 parameters, 60 items
N_PARAMS = OBJ.net.n_params


class Recording(sr.Objective):
    """An Objective that keeps a copy of every argument it is called on (J evaluations only)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []

    def __call__(self, w):
        self.calls.append(np.array(w, copy=True))
        return super().__call__(w)


def recording(lam=0.01):
    return Recording(OBJ.net, OBJ.X, OBJ.y, lam=lam)


# --- PSO ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("budget, n_particles", [(1000, 40), (777, 40), (777, 7), (40, 40), (79, 40), (500, 1)])
def test_pso_runs_budget_over_n_particles_iterations(budget, n_particles):
    obj = recording()
    res = sr.minimize(obj, "pso", budget=budget, seed=0, n_particles=n_particles)
    iterations = budget // n_particles
    assert len(res.trace["cost"]) == iterations
    assert res.cost == res.n_evals == iterations * n_particles
    np.testing.assert_array_equal(res.trace["cost"], n_particles * np.arange(1, iterations + 1))
    swarms = [c for c in obj.calls if c.ndim == 2]
    assert len(swarms) == iterations
    assert all(c.shape == (n_particles, N_PARAMS) for c in swarms)
    assert res.status == "budget"


def test_pso_trace_is_the_swarm_best_and_never_rises():
    obj = recording()
    res = sr.minimize(obj, "pso", budget=2000, seed=1)
    fun = res.trace["fun"]
    assert np.all(np.diff(fun) <= 0)
    best_so_far = np.minimum.accumulate([sr.Objective.__call__(obj, c).min() for c in obj.calls if c.ndim == 2])
    np.testing.assert_allclose(fun, best_so_far, rtol=1e-12)
    assert res.fun == fun[-1] == fun.min()


def test_pso_initial_swarm_holds_x0():
    obj = recording()
    x0 = OBJ.net.init(np.random.default_rng(3))
    sr.minimize(obj, "pso", budget=400, seed=0, x0=x0)
    first = obj.calls[0]
    assert first.ndim == 2
    assert any(np.array_equal(row, x0) for row in first)


def test_pso_ring_topology_works():
    ring = sr.minimize(OBJ, "pso", budget=2000, seed=0, topology="ring", k=4)
    star = sr.minimize(OBJ, "pso", budget=2000, seed=0)
    assert ring.options["topology"] == "ring" and ring.options["k"] == 4
    assert np.isfinite(ring.fun) and ring.fun == OBJ(ring.x)
    assert len(ring.trace["cost"]) == 2000 // 40
    assert not np.array_equal(ring.x, star.x)
    assert ring.fun < ring.trace["fun"][0]  # it makes progress
    again = sr.minimize(OBJ, "pso", budget=2000, seed=0, topology="ring", k=4)
    assert again.x.tobytes() == ring.x.tobytes()


def test_pso_ring_needs_k_below_n_particles():
    with pytest.raises(ValueError):
        sr.minimize(OBJ, "pso", budget=1000, topology="ring", n_particles=5, k=5)


@pytest.mark.parametrize("clamp", [1e-3, 0.05])
def test_pso_velocity_clamp_caps_every_step(clamp):
    obj = recording()
    sr.minimize(obj, "pso", budget=40 * 30, seed=0, velocity_clamp=clamp)
    swarms = np.array([c for c in obj.calls if c.ndim == 2])
    steps = np.abs(np.diff(swarms, axis=0))
    assert steps.max() <= clamp * (1 + 1e-12)
    assert steps.max() >= 0.5 * clamp  # the clamp binds: unclamped steps are larger (below)
    free = recording()
    sr.minimize(free, "pso", budget=40 * 30, seed=0)
    free_steps = np.abs(np.diff(np.array([c for c in free.calls if c.ndim == 2]), axis=0))
    assert free_steps.max() > clamp


def test_pso_300_iterations_keep_no_history():
    def peak(budget):
        tracemalloc.start()
        res = sr.minimize(OBJ, "pso", budget=budget, seed=0, n_particles=20)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return res, top

    short, short_peak = peak(20 * 30)
    long, long_peak = peak(20 * 300)
    assert len(long.trace["cost"]) == 300 and long.cost == 6000
    assert not any(hasattr(long, attr) for attr in ("pos_history", "cost_history", "history"))
    # 270 more iterations of a 20 x 43 swarm would add about 1.9 MB if positions were kept
    assert long_peak - short_peak < 500_000


@pytest.mark.parametrize("bad", [dict(n_particles=0), dict(n_particles=2.5), dict(topology="wheel"),
                                 dict(velocity_clamp=0.0), dict(velocity_clamp=-1.0), dict(w=-0.1),
                                 dict(init_spread=0.0)])
def test_pso_bad_options_are_refused(bad):
    with pytest.raises((ValueError, TypeError)):
        sr.minimize(OBJ, "pso", budget=1000, **bad)


def test_pso_budget_below_one_swarm_is_refused():
    with pytest.raises(ValueError):
        sr.minimize(OBJ, "pso", budget=39, n_particles=40)


# --- Nelder-Mead ------------------------------------------------------------------------------------

def test_nelder_mead_charges_the_starting_simplex():
    obj = recording()
    res = sr.minimize(obj, "nelder-mead", budget=N_PARAMS + 1, seed=0)
    assert res.cost == res.n_evals == N_PARAMS + 1
    assert res.status == "budget"
    assert len([c for c in obj.calls if c.ndim == 1]) == N_PARAMS + 1


def test_nelder_mead_budget_below_the_simplex_is_refused():
    with pytest.raises(ValueError):
        sr.minimize(OBJ, "nelder-mead", budget=N_PARAMS, seed=0)


def test_nelder_mead_every_evaluation_is_charged():
    obj = recording()
    res = sr.minimize(obj, "nelder-mead", budget=1500, seed=0)
    assert len(obj.calls) == res.n_evals == res.cost <= 1500
    assert res.n_grads == 0


def test_nelder_mead_starting_simplex_steps_by_init_scale():
    obj = recording()
    x0 = OBJ.net.init(np.random.default_rng(1))
    sr.minimize(obj, "nelder-mead", budget=N_PARAMS + 1, seed=0, x0=x0, initial_step=0.5)
    simplex = np.array(obj.calls)
    np.testing.assert_array_equal(simplex[0], x0)
    steps = simplex[1:] - x0
    np.testing.assert_allclose(steps, np.diag(0.5 * np.broadcast_to(OBJ.net.init_scale, (N_PARAMS,))),
                               rtol=1e-12, atol=1e-15)


def test_nelder_mead_trace_is_the_best_vertex():
    res = sr.minimize(OBJ, "nelder-mead", budget=2000, seed=0)
    assert np.all(np.diff(res.trace["fun"]) <= 0)
    assert res.fun == res.trace["fun"].min()


def test_nelder_mead_converges_on_a_tiny_problem():
    tiny = sr.Objective(sr.Network((1, 1), output="identity"), [[0.0], [1.0], [2.0]], [1.0, 3.0, 5.5],
                        lam=0.0, loss="mse")
    for restarts in (True, False):
        res = sr.minimize(tiny, "nelder-mead", budget=5000, seed=0, restarts=restarts)
        assert res.status == "converged"
        assert res.cost < 5000
        # least squares line through the three points: slope 2.25, intercept 0.917
        np.testing.assert_allclose(res.x, [2.25, 11 / 12], atol=1e-4)


# --- backprop ------------------------------------------------------------------------------------------

def _bp(obj, **kw):
    kw = {"budget": 1e12, "shuffle": False, **kw}
    return sr.minimize(obj, "backprop", **kw)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("m", [1, 10, 150])
def test_backprop_equals_sklearn_sgd(m, momentum):
    X, y = iris()
    net = sr.Network((4, 8, 3))
    w0 = net.init(np.random.default_rng(0))
    lam, lr, epochs = 0.001, 0.02, 3
    expected = sklearn_sgd(X, y, net, w0, lr=lr, alpha=2 * m * lam, batch_size=m, momentum=momentum,
                           epochs=epochs)
    res = _bp(sr.Objective(net, X, y, lam=lam), x0=w0, lr=lr, momentum=momentum, batch_size=m, epochs=epochs)
    assert res.status == "epochs"
    np.testing.assert_allclose(res.x, expected, rtol=1e-10, atol=1e-10)
    assert np.abs(res.x - w0).max() > 1e-2


def _reference_sgd(obj, w, *, lr, mu, m, epochs, decay, d=None):
    """DESIGN section 3, written out: batches in order, heavy-ball momentum."""
    mask = obj.net.weight_mask
    v = np.zeros_like(w)
    for _ in range(epochs):
        for start in range(0, obj.n_items, m):
            _, g = obj.error_and_gradient(w, np.arange(start, min(start + m, obj.n_items)))
            if decay == "coupled":
                g = g + 2 * obj.lam * mask * w
            v = mu * v + g
            w = w - lr * v - (d * mask * w if decay == "decoupled" else 0.0)
    return w


@pytest.mark.parametrize("decay", ["coupled", "decoupled"])
@pytest.mark.parametrize("m", [1, 7, 60])
def test_backprop_follows_the_documented_update(decay, m):
    obj = small_objective(lam=0.02)
    w0 = obj.net.init(np.random.default_rng(4))
    d = 0.003 if decay == "decoupled" else None
    expected = _reference_sgd(obj, w0, lr=0.05, mu=0.9, m=m, epochs=2, decay=decay, d=d)
    res = _bp(obj, x0=w0, lr=0.05, momentum=0.9, batch_size=m, epochs=2, decay=decay, decay_rate=d)
    np.testing.assert_allclose(res.x, expected, rtol=1e-10, atol=1e-12)


def test_decoupled_equals_coupled_for_plain_sgd_but_not_with_momentum():
    X, y = iris()
    lam, lr = 0.01, 0.1
    obj = sr.Objective(sr.Network((4, 8, 3)), X, y, lam=lam)
    w0 = obj.net.init(np.random.default_rng(0))
    diffs = {}
    for mu in (0.0, 0.9):
        coupled = _bp(obj, x0=w0, lr=lr, momentum=mu, epochs=20)
        decoupled = _bp(obj, x0=w0, lr=lr, momentum=mu, epochs=20, decay="decoupled", decay_rate=2 * lr * lam)
        diffs[mu] = np.abs(coupled.x - decoupled.x).max()
    assert diffs[0.0] <= 1e-10
    assert diffs[0.9] > 1e-3


@pytest.mark.parametrize("m, steps_per_epoch", [(1, 60), (None, 1), (60, 1), (12, 5), (7, 9)])
def test_backprop_batch_sizes_and_cost(m, steps_per_epoch):
    res = _bp(OBJ, batch_size=m, epochs=3)
    assert res.status == "epochs"
    assert res.n_grads == 3 * steps_per_epoch
    assert res.n_evals == 0
    assert len(res.trace["cost"]) == 3  # one record per epoch
    # a mini-batch of m of N items costs GRAD_COST * m / N; an epoch costs GRAD_COST whatever m
    assert res.cost == pytest.approx(3 * sr.GRAD_COST, rel=1e-12)
    np.testing.assert_allclose(res.trace["cost"], sr.GRAD_COST * np.arange(1, 4), rtol=1e-12)
    if m is not None and OBJ.n_items % m == 0:
        assert res.cost == pytest.approx(res.n_grads * sr.GRAD_COST * m / OBJ.n_items, rel=1e-12)


def test_backprop_grad_cost_is_overridable():
    assert sr.GRAD_COST == 3
    res = _bp(OBJ, batch_size=10, epochs=2, grad_cost=1.5)
    assert res.cost == pytest.approx(res.n_grads * 1.5 * 10 / OBJ.n_items, rel=1e-12)
    assert res.cost == pytest.approx(2 * 1.5, rel=1e-12)
    with pytest.raises(ValueError):
        _bp(OBJ, epochs=1, grad_cost=0.0)


def test_backprop_online_and_full_batch_differ():
    w0 = OBJ.net.init(np.random.default_rng(0))
    online = _bp(OBJ, x0=w0, batch_size=1, epochs=1, momentum=0.0)
    full = _bp(OBJ, x0=w0, epochs=1, momentum=0.0)
    assert online.n_grads == OBJ.n_items and full.n_grads == 1
    assert not np.allclose(online.x, full.x)


def test_backprop_shuffle_changes_the_order_but_not_the_determinism():
    w0 = OBJ.net.init(np.random.default_rng(0))
    ordered = _bp(OBJ, x0=w0, batch_size=5, epochs=2)
    shuffled = _bp(OBJ, x0=w0, batch_size=5, epochs=2, shuffle=True, seed=1)
    again = _bp(OBJ, x0=w0, batch_size=5, epochs=2, shuffle=True, seed=1)
    other = _bp(OBJ, x0=w0, batch_size=5, epochs=2, shuffle=True, seed=2)
    assert not np.allclose(ordered.x, shuffled.x)
    assert shuffled.x.tobytes() == again.x.tobytes()
    assert not np.array_equal(shuffled.x, other.x)


@pytest.mark.parametrize("budget", [100, 777, 1000.5])
def test_backprop_stops_on_the_budget(budget):
    res = sr.minimize(OBJ, "backprop", budget=budget, seed=0)
    assert res.status == "budget"
    assert res.cost <= budget
    assert budget - res.cost < sr.GRAD_COST  # it stopped because the next step did not fit


@pytest.mark.parametrize("m", [7, 10, 11, 30])
@pytest.mark.parametrize("budget", [50, 100, 333])
def test_backprop_minibatch_cost_never_exceeds_budget(m, budget):
    """The budget is a hard cap (DESIGN section 2), also when batch fractions m/N do not sum exactly."""
    X, y = iris()
    obj = sr.Objective(sr.Network((4, 5, 3)), X, y, lam=0.01)
    res = sr.minimize(obj, "backprop", budget=budget, seed=0, batch_size=m, momentum=0.0)
    assert res.cost <= budget, f"cost {res.cost!r} passes the budget {budget} by {res.cost - budget:.3g}"
    assert np.all(res.trace["cost"] <= budget)


def _diverging_problem(lam):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 2))
    y = 100.0 * X[:, 0] + 50.0
    return sr.Objective(sr.Network((2, 4, 1), output="identity"), X, y, lam=lam, loss="mse")


@pytest.mark.parametrize("lam, m, lr", [(0.01, None, 1e6), (0.01, 5, 1e6), (0.01, 1, 1e6), (0.0, None, 1e6),
                                        (0.0, 1, 1e6), (0.0, 5, 1e8)])
def test_backprop_huge_lr_ends_diverged_with_a_finite_result(lam, m, lr):
    obj = _diverging_problem(lam)
    with np.errstate(all="ignore"):
        res = sr.minimize(obj, "backprop", lr=lr, budget=3000, seed=0, batch_size=m)
        assert res.status == "diverged"
        assert np.all(np.isfinite(res.x))
        assert res.fun == obj(res.x) or np.isnan(res.fun)
    assert res.cost <= 3000
    assert np.isfinite(res.fun), f"res.fun = {res.fun!r}: the returned 'last finite' point has a non-finite J"


def test_zero_lam_penalty_is_zero_even_for_enormous_weights():
    """J = E + 0 * sum(w^2): with lam = 0 the penalty is 0, not 0 * inf = nan, for any finite w."""
    obj = _diverging_problem(0.0)
    w = np.full(obj.net.n_params, 1e200)
    with np.errstate(all="ignore"):
        assert obj.penalty(w) == 0.0


@pytest.mark.parametrize("bad", [dict(lr=0.0), dict(lr=-1.0), dict(momentum=1.0), dict(momentum=-0.1),
                                 dict(epochs=0), dict(epochs=1.5), dict(batch_size=0), dict(batch_size=61),
                                 dict(decay="l1"), dict(decay_rate=1.0), dict(decay_rate=-0.1),
                                 dict(shuffle="yes")])
def test_backprop_bad_options_are_refused(bad):
    with pytest.raises((ValueError, TypeError)):
        sr.minimize(OBJ, "backprop", budget=1000, **bad)

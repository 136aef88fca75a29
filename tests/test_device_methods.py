"""Every method runs on a device objective and passes the conformance suite there."""

from __future__ import annotations

import pytest

from swarmreg import METHODS
from swarmreg.testing import check_method

pytest.importorskip("jax")


@pytest.mark.parametrize("name", list(METHODS))
def test_check_method_passes_on_the_cpu_device(name):
    check_method(name, device="cpu", budget=300)


@pytest.fixture(scope="module")
def objectives():
    from swarmreg.testing import problem

    return problem(), problem(device="cpu")


@pytest.mark.parametrize("method,options", [
    ("adam", {"epochs": 5}),
    ("adam", {"epochs": 5, "decay": "decoupled"}),
    ("adam", {"epochs": 3, "batch_size": 16, "decay": "decoupled", "decay_rate": 0.01}),
    ("backprop", {"epochs": 5}),
    ("backprop", {"epochs": 3, "batch_size": 16, "decay": "decoupled"}),
    ("adam", {"epochs": 4, "batch_size": 16, "decay": "decoupled", "decay_scale": "schedule", "schedule": "cosine"}),
    ("backprop", {"epochs": 4, "batch_size": 16, "momentum": 0.9, "schedule": "cosine-restarts", "t0": 5,
                  "t_mult": 2}),
])
def test_optax_epochs_equal_the_numpy_method(objectives, method, options):
    """optax's Adam and heavy-ball SGD with swarmreg's L2 conventions follow the numpy trajectory."""
    import numpy as np

    from swarmreg import minimize

    host, device = objectives
    a = minimize(host, method, budget=1e4, seed=3, **options)
    b = minimize(device, method, budget=1e4, seed=3, **options)
    assert (a.cost, a.status, len(a.trace["fun"])) == (b.cost, b.status, len(b.trace["fun"]))
    np.testing.assert_allclose(b.x, a.x, rtol=0, atol=1e-12 * np.abs(a.x).max())
    np.testing.assert_allclose(b.trace["fun"], a.trace["fun"], rtol=1e-12)


@pytest.mark.parametrize("method", ["pso", "random-search", "openai-es"])
def test_swarm_methods_run_natively_on_the_device(objectives, method):
    from swarmreg import minimize

    _, device = objectives
    a, b = minimize(device, method, budget=400, seed=1), minimize(device, method, budget=400, seed=1)
    assert "on cpu:0" in a.message  # the device implementation, not the host copy
    assert a.x.tobytes() == b.x.tobytes() and a.cost == 400
    assert minimize(device, method, budget=400, seed=2).x.tobytes() != a.x.tobytes()


def test_the_device_openai_es_generation_equals_the_numpy_one():
    """Same eps, same fitness: centred ranks, the estimate, L2 in the gradient and OpenAI's Adam agree."""
    import jax
    import numpy as np

    from swarmreg.backends.jax_methods import _es_step
    from swarmreg.methods.openai_es import Adam, estimate_gradient

    rng = np.random.default_rng(0)
    n, pairs, lam = 7, 5, 0.1
    mask = (np.arange(n) % 3 != 0).astype(float)
    theta, eps = rng.standard_normal(n), rng.standard_normal((pairs, n))
    W = np.vstack([theta, theta + 0.02 * eps, theta - 0.02 * eps])
    J = rng.random(2 * pairs + 1) + lam * np.sum(W**2 * mask, axis=1)
    adam = Adam(n, 0.03, 0.9, 0.999, 1e-8)
    adam.step(rng.standard_normal(n))  # a second step, so t and the moments matter
    g = estimate_gradient(J[1:] - lam * np.sum(W[1:] ** 2 * mask, axis=1), eps) + 2 * lam * mask * theta
    m, v = adam.m.copy(), adam.v.copy()
    expected = theta + adam.step(g)
    with jax.enable_x64(True):
        got = _es_step(theta, W, J, eps, m, v, 1.0, 2 * lam * mask, lam * mask, 0.03, 0.9, 0.999, 1e-8)[0]
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-12)


def test_budget_on_device_tracks_the_best_row_outside_any_x64_context():
    """A plugin calls budget.on_device at top level: the float64 values' argmin and row reach the host."""
    import jax
    import numpy as np

    from swarmreg.budget import Budget
    from swarmreg.testing import problem

    obj = problem(device="cpu")
    budget = Budget(obj, 100)
    W = obj.net.init(np.random.default_rng(0), 5)
    with jax.enable_x64(True):
        on_device = jax.device_put(W)
    budget.on_device(on_device)
    host = obj(W)
    assert budget.best_fun == pytest.approx(host.min(), rel=1e-12)
    np.testing.assert_array_equal(budget.best_x, W[np.argmin(host)])

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


@pytest.mark.parametrize("method", ["pso", "random-search"])
def test_swarm_methods_run_natively_on_the_device(objectives, method):
    from swarmreg import minimize

    _, device = objectives
    a, b = minimize(device, method, budget=400, seed=1), minimize(device, method, budget=400, seed=1)
    assert "on cpu:0" in a.message  # the device implementation, not the host copy
    assert a.x.tobytes() == b.x.tobytes() and a.cost == 400
    assert minimize(device, method, budget=400, seed=2).x.tobytes() != a.x.tobytes()

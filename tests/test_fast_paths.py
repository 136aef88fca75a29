"""The fast paths (whole-swarm evaluation, lean PSO loop, float32), checked for correctness.

- A swarm evaluated at once equals its rows evaluated one by one to rounding, whatever the block size.
- The cross-entropy is accurate to rounding, from confident right answers to exp's overflow.
- ``dtype="float32"`` agrees with float64 to 1e-4 relative, and its gradient is sane.
- PSO's random draws made ahead in a helper thread change nothing; numpy's global state is untouched.
Trajectories are compared bit for bit with independent references in test_reference_trajectories.py.
No timings here: speed is measured by ``python -m benchmarks.run``.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import iris, regression
from scipy.special import logsumexp as scipy_logsumexp
from threadpoolctl import threadpool_limits

import swarmreg as sr
import swarmreg.objective as objective_module

# ---------------------------------------------------------------------------------------------
# PSO's helper thread and numpy's global state


@pytest.mark.parametrize("options", [{}, {"topology": "ring", "velocity_clamp": 0.3}])
def test_pso_draws_ahead_in_a_helper_thread_without_changing_a_bit(options):
    X, y = iris(10)
    obj = sr.Objective(sr.Network((4, 6, 3)), X, y, lam=0.01)
    with threadpool_limits(2):
        threaded = sr.minimize(obj, "pso", budget=2000, seed=3, n_particles=20, **options)
    with threadpool_limits(1):  # one BLAS thread: the loop stays in this thread
        inline = sr.minimize(obj, "pso", budget=2000, seed=3, n_particles=20, **options)
    assert np.array_equal(threaded.x, inline.x)
    assert np.array_equal(threaded.trace["fun"], inline.trace["fun"])


def test_pso_leaves_numpys_global_random_state_alone():
    X, y = iris(10)
    obj = sr.Objective(sr.Network((4, 6, 3)), X, y)
    np.random.seed(5)
    before = np.random.get_state()[1].copy()
    sr.minimize(obj, "pso", budget=400, seed=0, n_particles=20)
    assert np.array_equal(np.random.get_state()[1], before)


# ---------------------------------------------------------------------------------------------
# a swarm at once equals its rows one by one


def _objectives(dtype="float64"):
    X, y = iris(12)
    Xr, yr = regression(n_items=30, n_features=3, n_outputs=2)
    return {
        "ce-tanh": sr.Objective(sr.Network((4, 7, 3)), X, y, lam=0.02, dtype=dtype),
        "ce-relu-2h": sr.Objective(sr.Network((4, 5, 6, 3), hidden="relu"), X, y, lam=0.02, dtype=dtype),
        "ce-sigmoid": sr.Objective(sr.Network((4, 9, 3), hidden="sigmoid"), X, y, lam=0.0, dtype=dtype),
        "ce-no-hidden": sr.Objective(sr.Network((4, 3)), X, y, lam=0.02, dtype=dtype),
        "mse-tanh": sr.Objective(sr.Network((3, 6, 2), output="identity"), Xr, yr, lam=0.01, dtype=dtype),
        "mse-1-out": sr.Objective(sr.Network((3, 4, 1), output="identity"), Xr, yr[:, 0], lam=0.01, dtype=dtype),
    }


OBJECTIVES = _objectives()


@pytest.mark.parametrize("name", OBJECTIVES)
def test_swarm_error_equals_its_rows(name):
    obj = OBJECTIVES[name]
    W = np.random.default_rng(0).standard_normal((23, obj.net.n_params)) * 2
    np.testing.assert_allclose(obj.error(W), [obj.error(w) for w in W], rtol=1e-12)
    np.testing.assert_allclose(obj(W), [obj(w) for w in W], rtol=1e-12)


@pytest.mark.parametrize("name", OBJECTIVES)
@pytest.mark.parametrize("block_bytes", [1, 3000, 1 << 30])
def test_block_size_changes_values_only_to_rounding(monkeypatch, name, block_bytes):
    obj = OBJECTIVES[name]
    W = np.random.default_rng(1).standard_normal((17, obj.net.n_params))
    expected = obj(W)
    monkeypatch.setattr(objective_module, "BLOCK_BYTES", block_bytes)
    np.testing.assert_allclose(obj(W), expected, rtol=1e-12)
    assert np.array_equal(obj(W), obj(W))  # and the same bits for the same input


def test_mini_batch_error_equals_the_objective_on_those_rows():
    obj = OBJECTIVES["ce-tanh"]
    idx = np.array([3, 0, 17, 5, 9])
    w = np.random.default_rng(2).standard_normal(obj.net.n_params)
    sub = sr.Objective(obj.net, obj.X[idx], obj.y[idx], lam=obj.lam)
    assert obj.error(w, idx) == sub.error(w)
    assert obj.error_and_gradient(w, idx)[0] == pytest.approx(sub.error(w), rel=1e-12)


# rows of logits and the label: a confident right answer, ties, exp's overflow either way
LOGITS = [
    ([30.0, -20.0, -30.0], 0),
    ([5.0, 5.0, 5.0], 2),
    ([5.0, 5.0, -3.0], 0),
    ([0.0, 800.0, 0.0], 0),
    ([1e4, -1e4, 0.0], 1),
    ([-745.0, 0.0, -800.0], 1),
    ([2.0, -1.0, 0.5], 2),
]


def _one_layer_objective(logits, label, dtype="float64"):
    """A network without hidden layer on one item x = 1 whose weights are the logits (biases 0)."""
    net = sr.Network((1, len(logits)))
    w = net.pack([(np.array([logits]), np.zeros(len(logits)))])
    return sr.Objective(net, np.ones((1, 1)), np.array([label]), dtype=dtype), w


@pytest.mark.parametrize("logits, label", LOGITS)
def test_cross_entropy_is_accurate_to_rounding(logits, label):
    obj, w = _one_layer_objective(logits, label)
    z = np.array(logits)
    expected = scipy_logsumexp(z) - z[label]
    if logits[0] == 30.0:  # log1p(e^-50 + e^-60): lost entirely by logsumexp(z) - z_y
        expected = np.exp(-50.0) + np.exp(-60.0)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no warning escapes
        values = [obj.error(w), obj.error(np.stack([w, w]))[1], obj.error_and_gradient(w)[0]]
    np.testing.assert_allclose(values, expected, rtol=1e-12)
    assert np.isfinite(obj.gradient(w)).all()


def test_float32_cross_entropy_survives_exps_overflow():
    for logits, label in [([0.0, 800.0, 0.0], 0), ([1e4, -1e4, 0.0], 1), ([0.0, 90.0, -90.0], 2)]:
        obj, w = _one_layer_objective(logits, label, dtype="float32")
        z = np.array(logits)
        np.testing.assert_allclose(obj.error(w), scipy_logsumexp(z) - z[label], rtol=1e-6)


def test_swarm_logits_equal_forward_per_particle():
    net = sr.Network((4, 5, 6, 3))
    X = np.random.default_rng(3).standard_normal((11, 4))
    W = np.random.default_rng(4).standard_normal((7, net.n_params))
    logits = net.swarm_logits(X, W, block_bytes=600)  # (K, P, N)
    for p, w in enumerate(W):
        np.testing.assert_allclose(logits[:, p].T, net.activations(X, w)[-1], rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# float32


def test_dtype_is_validated_with_a_message_naming_it():
    X, y = iris(5)
    net = sr.Network((4, 3, 3))
    for bad in ("float16", "int64", "banana", None, True, 3, np.int32, "complex128"):
        with pytest.raises(ValueError, match="dtype"):
            sr.Objective(net, X, y, dtype=bad)
    for good in ("float32", "float64", np.float32, np.dtype("float64")):
        assert sr.Objective(net, X, y, dtype=good).dtype.name in ("float32", "float64")
    assert sr.Objective(net, X, y).dtype == np.float64
    assert "float32" in repr(sr.Objective(net, X, y, dtype="float32"))


OBJECTIVES32 = _objectives("float32")


@pytest.mark.parametrize("name", OBJECTIVES)
@pytest.mark.parametrize("scale", [0.5, 3.0])
def test_float32_agrees_with_float64(name, scale):
    obj64, obj32 = OBJECTIVES[name], OBJECTIVES32[name]
    W = np.random.default_rng(5).standard_normal((31, obj64.net.n_params)) * scale
    v64, v32 = obj64(W), obj32(W)
    assert v32.dtype == np.float64 and v32.shape == (31,)
    np.testing.assert_allclose(v32, v64, rtol=1e-4)
    np.testing.assert_allclose(obj32.error(W), obj64.error(W), rtol=1e-4)
    assert obj32.penalty(W[0]) == obj64.penalty(W[0])  # the penalty stays float64
    one = obj32(W[0])
    assert isinstance(one, float)
    np.testing.assert_allclose(one, v64[0], rtol=1e-4)
    np.testing.assert_allclose([obj32(w) for w in W[:5]], v32[:5], rtol=1e-5)


@pytest.mark.parametrize("name", OBJECTIVES)
def test_float32_gradient_is_sane(name):
    obj64, obj32 = OBJECTIVES[name], OBJECTIVES32[name]
    w = np.random.default_rng(6).standard_normal(obj64.net.n_params)
    g64, g32 = obj64.gradient(w), obj32.gradient(w)
    assert g32.dtype == np.float64 and np.all(np.isfinite(g32))
    np.testing.assert_allclose(g32, g64, rtol=1e-3, atol=1e-5 * np.abs(g64).max())
    idx = np.arange(0, obj64.n_items, 2)
    e64, b64 = obj64.error_and_gradient(w, idx)
    e32, b32 = obj32.error_and_gradient(w, idx)
    assert e32 == pytest.approx(e64, rel=1e-5)
    np.testing.assert_allclose(b32, b64, rtol=1e-3, atol=1e-5 * np.abs(b64).max())
    # a small step against it goes downhill
    assert obj64(w - 1e-3 * g32 / np.linalg.norm(g32)) < obj64(w)


@pytest.mark.parametrize("method", list(sr.METHODS))
def test_float32_objective_keeps_the_budget_contract(method):
    obj = OBJECTIVES32["ce-tanh"]
    options = {"n_particles": 10} if method == "pso" else {}
    a = sr.minimize(obj, method, budget=700, seed=1, **options)
    b = sr.minimize(obj, method, budget=700, seed=1, **options)
    assert a.cost <= 700 and a.fun == obj(a.x) == a.trace["fun"][-1]
    assert np.array_equal(a.x, b.x) and np.array_equal(a.trace["fun"], b.trace["fun"])

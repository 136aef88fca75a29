"""J, E and the gradient stay finite, without floating-point warnings, for any finite weights."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import swarmreg as sr

RNG = np.random.default_rng(0)
X = RNG.standard_normal((20, 3))
PROBLEMS = {
    (out, hidden): sr.Objective(sr.Network((3, 6, 4 if out == "softmax" else 2), hidden=hidden, output=out), X,
                                np.arange(20) % 4 if out == "softmax" else 5 * RNG.standard_normal((20, 2)),
                                lam=0.01)
    for out in ("softmax", "identity") for hidden in ("tanh", "relu", "sigmoid")
}


@settings(max_examples=60, deadline=None)
@given(key=st.sampled_from(sorted(PROBLEMS)), exponent=st.floats(0, 307), seed=st.integers(0, 2**16),
       lam_zero=st.booleans())
def test_finite_without_warnings_for_any_finite_weights(key, exponent, seed, lam_zero):
    obj = PROBLEMS[key]
    if lam_zero:
        obj = sr.Objective(obj.net, obj.X, obj.y, lam=0.0)
    w = np.random.default_rng(seed).uniform(-1, 1, obj.net.n_params) * 10.0**exponent
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = [obj(w), obj.error(w), obj.penalty(w), *obj(np.stack([w, -w]))]
        gradient = obj.gradient(w)
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(gradient))
    assert obj(w) >= obj.error(w) >= 0


@settings(max_examples=40, deadline=None)
@given(key=st.sampled_from(sorted(PROBLEMS)), P=st.integers(1, 9), scale=st.floats(0.01, 30), seed=st.integers(0, 99))
def test_swarm_evaluation_equals_rows(key, P, scale, seed):
    obj = PROBLEMS[key]
    W = np.random.default_rng(seed).standard_normal((P, obj.net.n_params)) * scale
    np.testing.assert_allclose(obj(W), [obj(w) for w in W], rtol=1e-12, atol=0)


def test_saturation_is_the_largest_float():
    obj = PROBLEMS[("identity", "relu")]
    w = np.full(obj.net.n_params, 1e200)
    assert obj(w) == np.finfo(float).max


@pytest.mark.parametrize("method", list(sr.METHODS))
def test_far_away_start_still_returns_finite_values(method):
    obj = PROBLEMS[("softmax", "tanh")]
    x0 = np.random.default_rng(1).uniform(-1, 1, obj.net.n_params) * 1e6
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = sr.minimize(obj, method, budget=600, seed=0, x0=x0, **({"n_particles": 10} if method == "pso" else {}))
    assert np.isfinite(res.fun) and np.all(np.isfinite(res.x)) and np.all(np.isfinite(res.trace["fun"]))


def test_importing_and_running_pso_leaves_logging_and_the_working_directory_alone(tmp_path):
    """pyswarms' Reporter would configure the root logger and write report.log in the working directory."""
    import subprocess
    import sys
    code = ("import logging, swarmreg as sr; d = sr.datasets.load('iris'); "
            "obj = sr.Objective(sr.Network(d.sizes([4])), d.X_train, d.y_train); "
            "[sr.minimize(obj, 'pso', budget=200, n_particles=10, topology=t) for t in ('global', 'ring')]; "
            "print(len(logging.getLogger().handlers))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "0"
    assert list(tmp_path.iterdir()) == []

"""The objective on a JAX device equals the numpy path's: J, E, penalty and gradient, one vector and swarms."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from _helpers import iris, regression

import swarmreg as sr
from swarmreg.objective import FLOAT_MAX

pytest.importorskip("jax")

RTOL = 1e-12


def _pair(net, X, y, lam, **kw):
    return sr.Objective(net, X, y, lam=lam, **kw), sr.Objective(net, X, y, lam=lam, device="cpu", **kw)


@pytest.fixture(scope="module")
def pairs():
    """(numpy, device) objectives on the same problem; built once (each device objective compiles)."""
    Xc, yc = iris(10)
    Xr, yr = regression(n_items=25, n_features=3, n_outputs=2)
    return {
        "ce-tanh": _pair(sr.Network((4, 6, 3)), Xc, yc, 0.05),
        "ce-relu-two-hidden": _pair(sr.Network((4, 5, 4, 3), hidden="relu"), Xc, yc, 0.05),
        "ce-no-hidden": _pair(sr.Network((4, 3)), Xc, yc, 0.0),
        "mse-sigmoid": _pair(sr.Network((3, 4, 2), hidden="sigmoid", output="identity"), Xr, yr, 0.1),
    }


def _close(device_value, numpy_value, what):
    np.testing.assert_allclose(device_value, numpy_value, rtol=RTOL, atol=0, err_msg=what)


@pytest.mark.parametrize("name", ["ce-tanh", "ce-relu-two-hidden", "ce-no-hidden", "mse-sigmoid"])
def test_values_equal_the_numpy_path(pairs, name):
    ref, dev = pairs[name]
    rng = np.random.default_rng(3)
    for P in (1, 4, 13):
        W = rng.standard_normal((P, ref.net.n_params))
        for method in ("__call__", "error", "penalty"):
            got = getattr(dev, method)(W)
            assert isinstance(got, np.ndarray) and got.dtype == np.float64 and got.shape == (P,)
            _close(got, getattr(ref, method)(W), f"{name} {method} P={P}")
    w = W[0]
    for method in ("__call__", "error", "penalty"):
        got = getattr(dev, method)(w)
        assert type(got) is float
        _close(got, getattr(ref, method)(w), f"{name} {method} one vector")


@pytest.mark.parametrize("name", ["ce-tanh", "ce-relu-two-hidden", "mse-sigmoid"])
def test_gradient_equals_the_numpy_path(pairs, name):
    ref, dev = pairs[name]
    w = np.random.default_rng(4).standard_normal(ref.net.n_params)
    g_ref, g_dev = ref.gradient(w), dev.gradient(w)
    assert g_dev.dtype == np.float64
    # componentwise against the largest entry: a near-zero component differs in its last bits
    np.testing.assert_allclose(g_dev, g_ref, rtol=0, atol=RTOL * np.abs(g_ref).max())
    (f_ref, gf_ref), (f_dev, gf_dev) = ref.fun_and_gradient(w), dev.fun_and_gradient(w)
    _close(f_dev, f_ref, "fun_and_gradient J")
    np.testing.assert_allclose(gf_dev, gf_ref, rtol=0, atol=RTOL * np.abs(gf_ref).max())
    idx = np.array([5, 0, 17, 3, 11])
    (e_ref, gb_ref), (e_dev, gb_dev) = ref.error_and_gradient(w, idx), dev.error_and_gradient(w, idx)
    _close(e_dev, e_ref, "mini-batch E")
    np.testing.assert_allclose(gb_dev, gb_ref, rtol=0, atol=RTOL * np.abs(gb_ref).max())
    _close(dev.error(w, idx), ref.error(w, idx), "error on rows idx")


def test_a_confident_right_answer_keeps_its_tiny_loss(pairs):
    """E near 1e-13 (the right logit far above the others): the shifted log1p formula, not
    logsumexp - z_y, which cancels to a few bits."""
    ref, dev = pairs["ce-no-hidden"]
    X1, labels = np.column_stack([ref.X, np.ones(len(ref.X))]), ref.y.astype(int)
    target = 60.0 * (np.eye(3)[labels] - 1 / 3)
    Wb = np.linalg.lstsq(X1, target, rcond=None)[0]  # logits ~ target: the true class far ahead
    w = ref.net.pack([(Wb[:-1], Wb[-1])])
    z = X1 @ Wb
    margin = z[np.arange(len(z)), labels] - np.max(np.where(np.eye(3)[labels] > 0, -np.inf, z), axis=1)
    idx = np.flatnonzero(margin > 28)
    assert len(idx) >= 3
    assert ref.error(w, idx) < 1e-11
    _close(dev.error(np.stack([w, w]), idx), ref.error(np.stack([w, w]), idx), "tiny loss")


def test_enormous_weights_saturate_as_on_the_numpy_path(pairs):
    ref, dev = pairs["ce-tanh"]
    w = np.full(ref.net.n_params, 1e200)
    assert dev(w) == ref(w) == FLOAT_MAX
    assert np.all(np.isfinite(dev.gradient(w)))


@pytest.mark.parametrize("dtype,rtol", [("float32", 1e-5), ("tf32", 1e-2), ("bfloat16", 2e-2)])
def test_lower_precisions_agree_to_their_rounding_and_return_float64(pairs, dtype, rtol):
    ref, _ = pairs["ce-tanh"]
    dev = sr.Objective(ref.net, ref.X, ref.y, lam=ref.lam, device="cpu", dtype=dtype)
    assert dev.precision == dtype and dev.dtype == np.float32 and dtype in repr(dev)
    W = np.random.default_rng(6).standard_normal((5, ref.net.n_params))
    values = dev(W)
    assert values.dtype == np.float64
    np.testing.assert_allclose(values, ref(W), rtol=rtol)


@pytest.mark.parametrize("device,words", [
    ("cuda", "found no GPU, only cpu:0"),
    ("gpu:1", "found no GPU, only cpu:0"),
    ("cpu:4", "found 1 cpu device(s), cpu:0"),
    ("tpu", "device must be 'cpu', 'gpu', 'cuda'"),
])
def test_a_missing_or_bad_device_is_refused_naming_what_was_found(device, words):
    X, y = iris(5)
    with pytest.raises(ValueError, match=None) as info:
        sr.Objective(sr.Network((4, 3)), X, y, device=device)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_device_precisions_are_refused_on_the_numpy_path():
    X, y = iris(5)
    with pytest.raises(ValueError, match="'bfloat16' needs a device"):
        sr.Objective(sr.Network((4, 3)), X, y, dtype="bfloat16")
    with pytest.raises(TypeError, match="device must be a str"):
        sr.Objective(sr.Network((4, 3)), X, y, device=0)


def test_the_numpy_path_does_not_import_jax():
    code = ("import sys, numpy as np, swarmreg as sr; "
            "o = sr.Objective(sr.Network((2, 2)), np.eye(2), np.arange(2)); o(np.zeros(o.net.n_params)); "
            "assert 'jax' not in sys.modules, 'jax imported'")
    subprocess.run([sys.executable, "-c", code], check=True)

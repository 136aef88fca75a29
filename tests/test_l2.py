"""swarmreg.l2: every conversion checked against the update rule or penalty it describes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import iris, regression, sklearn_sgd
from hypothesis import given, settings
from hypothesis import strategies as st

import swarmreg as sr
from swarmreg import l2

BIG = 1e12  # a budget that never binds: these runs stop on epochs


def _problem(n_items=None, lam=0.0, hidden="tanh"):
    X, y = iris(10)
    if n_items is not None:
        X, y = X[:: len(X) // n_items][:n_items], y[:: len(y) // n_items][:n_items]
    return sr.Objective(sr.Network((4, 5, 3), hidden=hidden), X, y, lam=lam)


def _start(obj, seed=0):
    return obj.net.init(np.random.default_rng(seed))


def _sgd(obj, x0, **kw):
    kw = {"momentum": 0.0, "shuffle": False, "epochs": 1, **kw}
    res = sr.minimize(obj, "backprop", x0=x0, budget=BIG, **kw)
    assert res.status == "epochs"
    return res.x


# --- scikit-learn alpha -------------------------------------------------------------------------

# m divides the 30 items: scikit-learn divides alpha by the length of each batch, so a short last
# batch (30 items in batches of 7 end with 2) gets a larger penalty than any constant lam gives.
@pytest.mark.parametrize("m", [1, 6, 10, 30])
@pytest.mark.parametrize("alpha", [0.0, 0.05, 1.0])
def test_sklearn_alpha_matches_sklearn_sgd_epoch(m, alpha):
    X, y = iris(10)  # 30 items
    net = sr.Network((4, 8, 3))
    w0 = net.init(np.random.default_rng(1))
    lr = 0.1
    expected = sklearn_sgd(X, y, net, w0, lr=lr, alpha=alpha, batch_size=m)
    obj = sr.Objective(net, X, y, lam=l2.from_sklearn_alpha(alpha, m))
    got = _sgd(obj, w0, lr=lr, batch_size=m)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    assert not np.allclose(got, w0)


def test_sklearn_alpha_matches_sklearn_sgd_regression_one_output():
    X, y = regression(n_items=24, n_features=3, n_outputs=1)
    net = sr.Network((3, 6, 1), output="identity")
    w0 = net.init(np.random.default_rng(2))
    alpha, m, lr = 0.3, 8, 0.05
    expected = sklearn_sgd(X, y, net, w0, lr=lr, alpha=alpha, batch_size=m)
    obj = sr.Objective(net, X, y, lam=l2.from_sklearn_alpha(alpha, m), loss="mse")
    np.testing.assert_allclose(_sgd(obj, w0, lr=lr, batch_size=m), expected, rtol=1e-10, atol=1e-10)


def test_sklearn_alpha_formula():
    assert l2.from_sklearn_alpha(0.3, 10) == pytest.approx(0.3 / 20, rel=1e-15)
    assert l2.to_sklearn_alpha(0.015, 10) == pytest.approx(0.3, rel=1e-15)


# --- the seed text's lambda ------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 5, 30])
def test_seed_lambda_shrinks_weights_by_one_minus_eta_lambda_over_n(n):
    lam_seed, eta = 0.8, 0.2
    obj = _problem(n, lam=l2.from_seed_lambda(lam_seed, n))
    assert obj.n_items == n
    w = _start(obj)
    _, grad_e = obj.error_and_gradient(w)  # gradient of the mean error over the n items
    mask = obj.net.weight_mask
    expected = np.where(mask, (1 - eta * lam_seed / n) * w - eta * grad_e, w - eta * grad_e)
    got = _sgd(obj, w, lr=eta, batch_size=n)  # one step on the n items (n = 1: online)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    # biases: the update without L2 at all
    plain = _sgd(_problem(n, lam=0.0), w, lr=eta, batch_size=n)
    np.testing.assert_allclose(got[~mask], plain[~mask], rtol=1e-13, atol=1e-15)
    assert not np.allclose(got[mask], plain[mask])


def test_seed_lambda_formula():
    assert l2.from_seed_lambda(0.8, 4) == pytest.approx(0.1, rel=1e-15)
    assert l2.to_seed_lambda(0.1, 4) == pytest.approx(0.8, rel=1e-15)


# --- Nielsen -----------------------------------------------------------------------------------------

def test_nielsen_cost_is_c0_plus_lambda_over_2n_sum_w2():
    obj0 = _problem()
    N, lam_n = obj0.n_items, 5.0
    obj = _problem(lam=l2.from_nielsen(lam_n, N))
    w = _start(obj)
    expected = obj0.error(w) + lam_n / (2 * N) * sum(np.sum(W ** 2) for W, _ in obj.net.unpack(w))
    assert obj(w) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("m", [1, 6, 30])
def test_nielsen_minibatch_update_shrinks_by_one_minus_eta_lambda_over_big_n(m):
    """Nielsen: w -> (1 - eta*lambda/N) w - eta/m * sum over the batch of dC_x/dw; biases unshrunk."""
    obj0 = _problem()
    N, lam_n, eta = obj0.n_items, 3.0, 0.1
    obj = _problem(lam=l2.from_nielsen(lam_n, N))
    w = _start(obj)
    mask = obj.net.weight_mask
    expected = w.copy()
    for start in range(0, N, m):
        _, g = obj0.error_and_gradient(expected, np.arange(start, min(start + m, N)))
        expected = np.where(mask, (1 - eta * lam_n / N) * expected, expected) - eta * g
    np.testing.assert_allclose(_sgd(obj, w, lr=eta, batch_size=m), expected, rtol=1e-11, atol=1e-13)


# --- PyTorch weight_decay -----------------------------------------------------------------------------

def test_torch_weight_decay_gradient_is_grad_plus_wd_w():
    wd = 0.02
    obj0 = _problem(lam=0.0)
    obj = _problem(lam=l2.from_torch_weight_decay(wd))
    mask = obj.net.weight_mask
    for seed in range(3):
        w = _start(obj, seed)
        torch_grad = obj0.gradient(w) + wd * w * mask  # weight_decay on a group without biases
        np.testing.assert_allclose(obj.gradient(w), torch_grad, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_torch_sgd_trajectory_equals_coupled_backprop(momentum):
    """torch.optim.SGD (dampening 0, nesterov False), written out in numpy: g = grad + wd*w;
    buf = g on the first step, then mu*buf + g; w -= lr*buf."""
    wd, lr, steps = 0.04, 0.05, 15
    obj0 = _problem(lam=0.0)
    mask = obj0.net.weight_mask
    w = _start(obj0)
    p, buf = w.copy(), None
    for _ in range(steps):
        g = obj0.gradient(p) + wd * p * mask
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + g
        else:
            buf = g
        p = p - lr * buf
    obj = _problem(lam=l2.from_torch_weight_decay(wd))
    got = _sgd(obj, w, lr=lr, momentum=momentum, epochs=steps)  # full batch: one step per epoch
    np.testing.assert_allclose(got, p, rtol=1e-11, atol=1e-13)


def test_torch_formula():
    assert l2.from_torch_weight_decay(1e-4) == pytest.approx(5e-5, rel=1e-15)
    assert l2.to_torch_weight_decay(5e-5) == pytest.approx(1e-4, rel=1e-15)


# --- Keras --------------------------------------------------------------------------------------------

def test_keras_l2_is_the_identity_and_sums_kernels_only():
    assert l2.from_keras_l2(0.01) == 0.01 and l2.to_keras_l2(0.01) == 0.01
    obj = _problem(lam=l2.from_keras_l2(0.01))
    w = _start(obj)
    keras_penalty = sum(0.01 * np.sum(np.square(kernel)) for kernel, _ in obj.net.unpack(w))
    assert obj.penalty(w) == pytest.approx(keras_penalty, rel=1e-13)


# --- decoupled ("simplified") decay -----------------------------------------------------------------

@pytest.mark.parametrize("m", [None, 1, 7])
def test_decoupled_fraction_reproduces_coupled_for_plain_sgd(m):
    d, lr = 0.004, 0.1
    obj = _problem(lam=l2.from_decoupled(d, lr))
    w = _start(obj)
    coupled = _sgd(obj, w, lr=lr, batch_size=m, epochs=3)
    decoupled = _sgd(obj, w, lr=lr, batch_size=m, epochs=3, decay="decoupled", decay_rate=d)
    np.testing.assert_allclose(decoupled, coupled, rtol=1e-10, atol=1e-10)
    # and decoupled ignores the objective's lam when the rate is given
    other = _sgd(_problem(lam=0.0), w, lr=lr, batch_size=m, epochs=3, decay="decoupled", decay_rate=d)
    np.testing.assert_allclose(other, decoupled, rtol=1e-10, atol=1e-10)


def test_decoupled_default_rate_is_to_decoupled():
    lam, lr = 0.01, 0.1
    obj = _problem(lam=lam)
    w = _start(obj)
    default = _sgd(obj, w, lr=lr, epochs=2, decay="decoupled")
    explicit = _sgd(obj, w, lr=lr, epochs=2, decay="decoupled", decay_rate=l2.to_decoupled(lam, lr))
    np.testing.assert_allclose(default, explicit, rtol=1e-13, atol=1e-15)


def test_decoupled_subtracts_the_fraction_of_the_old_weight():
    d, lr = 0.01, 0.1
    obj = _problem(lam=0.0)
    w = _start(obj)
    _, g = obj.error_and_gradient(w)
    expected = w - lr * g - d * obj.net.weight_mask * w
    got = _sgd(obj, w, lr=lr, decay="decoupled", decay_rate=d)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)


# --- round trips and bad inputs ---------------------------------------------------------------------

# subnormal lam (below 1e-308) loses bits when halved: not a conversion anyone needs
LAMS = st.one_of(st.just(0.0), st.floats(min_value=1e-300, max_value=1e6))
NS = st.integers(min_value=1, max_value=10**6)
LRS = st.floats(min_value=1e-6, max_value=10.0)

PAIRS_N = [(l2.from_sklearn_alpha, l2.to_sklearn_alpha), (l2.from_seed_lambda, l2.to_seed_lambda),
           (l2.from_nielsen, l2.to_nielsen)]
PAIRS = [(l2.from_torch_weight_decay, l2.to_torch_weight_decay), (l2.from_keras_l2, l2.to_keras_l2)]


def _same(a, b):
    # x*k/k is not always x in floating point (0.1*6/6 == 0.10000000000000002): allow a few ulps
    return math.isclose(a, b, rel_tol=1e-15, abs_tol=0.0) or a == b


@settings(max_examples=200, deadline=None)
@given(lam=LAMS, n=NS)
def test_round_trips_with_n(lam, n):
    for from_x, to_x in PAIRS_N:
        assert _same(from_x(to_x(lam, n), n), lam)
        assert _same(to_x(from_x(lam, n), n), lam)


@settings(max_examples=200, deadline=None)
@given(lam=LAMS)
def test_round_trips_without_n(lam):
    for from_x, to_x in PAIRS:
        assert _same(from_x(to_x(lam)), lam)
        assert _same(to_x(from_x(lam)), lam)


@settings(max_examples=200, deadline=None)
@given(lam=LAMS, lr=LRS)
def test_round_trip_decoupled(lam, lr):
    assert _same(l2.from_decoupled(l2.to_decoupled(lam, lr), lr), lam)
    assert _same(l2.to_decoupled(l2.from_decoupled(lam, lr), lr), lam)


def test_round_trip_is_exact_for_powers_of_two():
    for n in (1, 2, 64, 1024):
        for lam in (0.1, 0.3, 1e-7):
            for from_x, to_x in PAIRS_N:
                assert from_x(to_x(lam, n), n) == lam


ALL_WITH_N = [f for pair in PAIRS_N for f in pair]
ALL_PLAIN = [f for pair in PAIRS for f in pair]
ALL_LR = [l2.from_decoupled, l2.to_decoupled]


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), -float("inf")])
def test_bad_values_raise_value_error(bad):
    for f in ALL_WITH_N:
        with pytest.raises(ValueError):
            f(bad, 10)
    for f in ALL_PLAIN:
        with pytest.raises(ValueError):
            f(bad)
    for f in ALL_LR:
        with pytest.raises(ValueError):
            f(bad, 0.1)


@pytest.mark.parametrize("bad_n, error", [(0, ValueError), (-3, ValueError), (1.5, TypeError),
                                          (True, TypeError), ("10", TypeError), (None, TypeError)])
def test_bad_n_raises(bad_n, error):
    for f in ALL_WITH_N:
        with pytest.raises(error):
            f(0.1, bad_n)


@pytest.mark.parametrize("bad_lr, error", [(0.0, ValueError), (-0.1, ValueError), (float("nan"), ValueError),
                                           ("0.1", TypeError), (None, TypeError)])
def test_bad_lr_raises(bad_lr, error):
    for f in ALL_LR:
        with pytest.raises(error):
            f(0.01, bad_lr)


@pytest.mark.parametrize("bad", ["0.1", None, True, [0.1]])
def test_non_numeric_values_raise_type_error(bad):
    for f in ALL_WITH_N:
        with pytest.raises(TypeError):
            f(bad, 10)
    for f in ALL_PLAIN:
        with pytest.raises(TypeError):
            f(bad)


def test_zero_is_allowed_everywhere():
    for f in ALL_WITH_N:
        assert f(0.0, 10) == 0.0
    for f in ALL_PLAIN:
        assert f(0.0) == 0.0
    for f in ALL_LR:
        assert f(0.0, 0.1) == 0.0


# --- Adam, AdamW and the decoupled conventions ---------------------------------------------------------

def test_torch_adam_weight_decay_is_coupled_adam():
    """``Adam(weight_decay=wd)`` on the weights is swarmreg's ``adam`` on J with lam = wd/2."""
    from test_adam import torch_adam

    wd, lr = 0.06, 0.01
    obj = _problem(lam=l2.from_torch_adam_weight_decay(wd))
    w = _start(obj)
    got = sr.minimize(obj, "adam", x0=w, budget=BIG, epochs=10, lr=lr).x
    expected = torch_adam(_problem(), w, [None] * 10, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd,
                          decoupled=False)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert l2.from_torch_adam_weight_decay(wd) == l2.from_torch_weight_decay(wd)  # the same gradient term
    assert l2.to_torch_adam_weight_decay(0.03) == pytest.approx(0.06, rel=1e-15)


def test_adamw_decay_rate_is_the_decoupled_adam_of_pytorch_adamw():
    from test_adam import torch_adam

    wd, lr = 0.1, 0.02
    obj = _problem(lam=0.0)  # the decoupled run ignores lam when the rate is given
    w = _start(obj)
    d = l2.adamw_decay_rate(wd, lr)
    assert d == pytest.approx(lr * wd, rel=1e-15)
    assert l2.adamw_weight_decay(d, lr) == pytest.approx(wd, rel=1e-15)
    got = sr.minimize(obj, "adam", x0=w, budget=BIG, epochs=10, lr=lr, decay="decoupled", decay_rate=d).x
    expected = torch_adam(obj, w, [None] * 10, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd, decoupled=True)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_decoupled_weight_decay_is_a_lam_for_plain_sgd_only():
    wd, lr = 0.2, 0.05
    lam = l2.from_decoupled_weight_decay(wd, "sgd")
    assert lam == pytest.approx(wd / 2, rel=1e-15)
    obj = _problem(lam=lam)
    w = _start(obj)
    kw = {"decay_rate": l2.adamw_decay_rate(wd, lr)}
    for momentum, same in ((0.0, True), (0.9, False)):
        coupled = _sgd(obj, w, lr=lr, momentum=momentum, epochs=20)
        decoupled = _sgd(obj, w, lr=lr, momentum=momentum, epochs=20, decay="decoupled", **kw)
        assert np.allclose(decoupled, coupled, rtol=1e-10, atol=1e-12) == same, momentum
    coupled, decoupled = (sr.minimize(obj, "adam", x0=w, budget=BIG, epochs=20, lr=lr, decay=d, **k).x
                          for d, k in (("coupled", {}), ("decoupled", kw)))
    assert np.linalg.norm(decoupled - coupled) > 1e-3 * np.linalg.norm(coupled)
    for optimizer in ("momentum", "adam"):
        with pytest.raises(ValueError, match="no lam is equivalent"):
            l2.from_decoupled_weight_decay(wd, optimizer)
    with pytest.raises(ValueError, match="optimizer"):
        l2.from_decoupled_weight_decay(wd, "adamw")


def test_normalized_decay_rate_is_wd_norm_sqrt_b_over_n_t():
    assert l2.normalized_decay_rate(0.05, 32, 50_000, 100) == pytest.approx(0.05 * math.sqrt(32 / 5_000_000),
                                                                           rel=1e-15)
    assert l2.normalized_decay_rate(0.3, 150, 150, 9) == pytest.approx(0.1, rel=1e-15)  # full batch: 1/sqrt(T)
    # four times the epochs (or a quarter of the batch) halves the per-step fraction
    assert l2.normalized_decay_rate(0.3, 16, 160, 40) == pytest.approx(l2.normalized_decay_rate(0.3, 16, 160, 10) / 2,
                                                                       rel=1e-14)
    assert l2.normalized_decay_rate(0.3, 4, 160, 10) == pytest.approx(l2.normalized_decay_rate(0.3, 16, 160, 10) / 2,
                                                                      rel=1e-14)
    # it is the per-step fraction: a valid decay_rate for the decoupled methods
    obj = _problem(lam=0.0)
    d = l2.normalized_decay_rate(0.05, 10, obj.n_items, 3)
    w = _start(obj)
    got = _sgd(obj, w, lr=0.1, batch_size=10, epochs=3, decay="decoupled", decay_rate=d)
    expected = _sgd(_problem(lam=l2.from_decoupled(d, 0.1)), w, lr=0.1, batch_size=10, epochs=3)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("args, error", [((-0.1, 10, 100, 5), ValueError), ((0.1, 101, 100, 5), ValueError),
                                         ((0.1, 0, 100, 5), ValueError), ((0.1, 10, 100, 0), ValueError),
                                         ((0.1, 10.0, 100, 5), TypeError), ((float("nan"), 10, 100, 5), ValueError)])
def test_normalized_decay_rate_refuses_bad_arguments(args, error):
    with pytest.raises(error):
        l2.normalized_decay_rate(*args)


def test_openai_es_l2coeff_is_the_gradient_term_on_the_weights_only():
    """OpenAI-ES steps on ``-g + l2coeff*theta``: J with lam = l2coeff/2 has that term on the weights,
    and none on the biases, which OpenAI's also pulls to zero."""
    c = 0.005
    obj0, obj = _problem(lam=0.0), _problem(lam=l2.from_openai_es_l2coeff(c))
    mask = obj.net.weight_mask
    w = _start(obj)
    term = obj.gradient(w) - obj0.gradient(w)
    np.testing.assert_allclose(term[mask], c * w[mask], rtol=1e-9, atol=1e-17)
    assert np.all(term[~mask] == 0) and np.any(c * w[~mask] != 0)
    assert l2.to_openai_es_l2coeff(l2.from_openai_es_l2coeff(c)) == pytest.approx(c, rel=1e-15)


def test_evosax_weight_decay_penalizes_the_biases_too():
    """evosax's fitness ``E + wd*sum(theta**2)`` is J with lam = wd plus wd*sum(b**2)."""
    wd = 0.02
    obj = _problem(lam=l2.from_evosax_weight_decay(wd))
    mask = obj.net.weight_mask
    w = _start(obj, 3)
    w[~mask] = np.linspace(-1, 1, (~mask).sum())
    evosax_fitness = obj.error(w) + wd * np.sum(np.square(w))
    assert evosax_fitness == pytest.approx(obj(w) + wd * np.sum(np.square(w[~mask])), rel=1e-13)
    w[~mask] = 0.0  # equal to J only where the biases are zero
    assert obj.error(w) + wd * np.sum(np.square(w)) == pytest.approx(obj(w), rel=1e-13)
    assert l2.to_evosax_weight_decay(wd) == wd


NEW_ONE_ARG = [l2.from_torch_adam_weight_decay, l2.to_torch_adam_weight_decay, l2.from_openai_es_l2coeff,
               l2.to_openai_es_l2coeff, l2.from_evosax_weight_decay, l2.to_evosax_weight_decay]


@pytest.mark.parametrize("f", NEW_ONE_ARG)
@pytest.mark.parametrize("bad, error", [(-0.1, ValueError), (float("nan"), ValueError), (float("inf"), ValueError),
                                        ("0.1", TypeError), (None, TypeError)])
def test_new_conversions_refuse_bad_values(f, bad, error):
    with pytest.raises(error):
        f(bad)
    assert f(0.0) == 0.0


@pytest.mark.parametrize("f", [l2.adamw_decay_rate, l2.adamw_weight_decay])
def test_adamw_conversions_refuse_bad_values(f):
    for bad_value in (-0.1, float("nan")):
        with pytest.raises(ValueError):
            f(bad_value, 0.1)
    for bad_lr in (0.0, -1.0):
        with pytest.raises(ValueError):
            f(0.1, bad_lr)
    with pytest.raises(TypeError):
        f(0.1, "0.1")

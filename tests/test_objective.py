"""Objective: J = E + lam * sum of squared non-bias weights, for one vector and a swarm; gradient; sklearn."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _helpers import iris, numeric_gradient, regression, sklearn_layers
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.neural_network import MLPClassifier, MLPRegressor

import swarmreg as sr


def _classification_objective(hidden="tanh", lam=0.0, sizes=(4, 6, 3)):
    X, y = iris(10)
    return sr.Objective(sr.Network(sizes, hidden=hidden), X, y, lam=lam, loss="cross_entropy")


def _regression_objective(hidden="tanh", lam=0.0, n_outputs=1, sizes=None):
    X, y = regression(n_items=25, n_features=3, n_outputs=n_outputs)
    sizes = sizes or (3, 5, n_outputs)
    return sr.Objective(sr.Network(sizes, hidden=hidden, output="identity"), X, y, lam=lam, loss="mse")


OBJECTIVES = {
    "ce-tanh": lambda lam: _classification_objective("tanh", lam),
    "ce-relu": lambda lam: _classification_objective("relu", lam),
    "ce-sigmoid": lambda lam: _classification_objective("sigmoid", lam),
    "ce-two-hidden": lambda lam: _classification_objective("tanh", lam, sizes=(4, 5, 4, 3)),
    "mse-1-out": lambda lam: _regression_objective("tanh", lam, 1),
    "mse-2-out": lambda lam: _regression_objective("tanh", lam, 2),
    "mse-relu": lambda lam: _regression_objective("relu", lam, 2),
    "mse-sigmoid-two-hidden": lambda lam: _regression_objective("sigmoid", lam, 2, sizes=(3, 4, 3, 2)),
}


def _weights(obj, seed=0, scale=1.0):
    return scale * np.random.default_rng(seed).standard_normal(obj.net.n_params)


@pytest.mark.parametrize("name", OBJECTIVES)
def test_swarm_call_equals_call_per_row(name):
    obj = OBJECTIVES[name](0.05)
    W = np.random.default_rng(1).standard_normal((9, obj.net.n_params))
    values = obj(W)
    assert isinstance(values, np.ndarray) and values.shape == (9,)
    np.testing.assert_allclose(values, [obj(row) for row in W], rtol=1e-12)
    np.testing.assert_allclose(obj.error(W), [obj.error(row) for row in W], rtol=1e-12)
    np.testing.assert_allclose(obj.penalty(W), [obj.penalty(row) for row in W], rtol=1e-12)


@pytest.mark.parametrize("name", OBJECTIVES)
def test_j_is_error_plus_penalty(name):
    obj = OBJECTIVES[name](0.1)
    w = _weights(obj)
    J = obj(w)
    assert isinstance(J, float)
    assert J == obj.error(w) + obj.penalty(w)
    assert obj.penalty(w) == pytest.approx(0.1 * np.sum(w[obj.net.weight_mask] ** 2), rel=1e-14)


def test_error_cross_entropy_is_mean_negative_log_likelihood():
    obj = _classification_objective()
    w = _weights(obj)
    p = obj.net.forward(obj.X, w)
    expected = -np.mean(np.log(p[np.arange(len(obj.y)), obj.y.astype(int)]))
    assert obj.error(w) == pytest.approx(expected, rel=1e-12)


def test_error_mse_is_half_mean_over_items_and_outputs():
    obj = _regression_objective(n_outputs=2)
    w = _weights(obj)
    out = obj.net.forward(obj.X, w)
    expected = 0.5 * np.mean((out - obj.y.reshape(out.shape)) ** 2)
    assert obj.error(w) == pytest.approx(expected, rel=1e-12)


def test_penalty_skips_biases():
    obj = _classification_objective(lam=0.3)
    w = _weights(obj)
    w2 = w.copy()
    w2[~obj.net.weight_mask] += 10.0  # every bias changed
    assert obj.penalty(w2) == obj.penalty(w)
    assert obj.error(w2) != obj.error(w)
    w3 = w.copy()
    w3[np.flatnonzero(obj.net.weight_mask)[0]] += 1.0
    assert obj.penalty(w3) != obj.penalty(w)


def test_penalty_zero_when_lam_zero_and_linear_in_lam():
    w = _weights(_classification_objective())
    assert _classification_objective(lam=0.0).penalty(w) == 0.0
    p1 = _classification_objective(lam=0.1).penalty(w)
    p2 = _classification_objective(lam=0.2).penalty(w)
    assert p2 == pytest.approx(2 * p1, rel=1e-14)


@pytest.mark.parametrize("lam", [0.0, 0.1])
@pytest.mark.parametrize("name", OBJECTIVES)
def test_gradient_matches_central_differences(name, lam):
    obj = OBJECTIVES[name](lam)
    for seed in (0, 1):
        w = _weights(obj, seed)
        g = obj.gradient(w)
        assert g.shape == w.shape
        g_fd = numeric_gradient(obj, w, h=1e-6)
        assert np.linalg.norm(g - g_fd) <= 1e-6 * np.linalg.norm(g_fd)


@pytest.mark.parametrize("name", OBJECTIVES)
def test_gradient_penalty_term_is_two_lam_w_on_weights_only(name):
    lam = 0.25
    w = _weights(OBJECTIVES[name](0.0))
    g0 = OBJECTIVES[name](0.0).gradient(w)
    g = OBJECTIVES[name](lam).gradient(w)
    mask = OBJECTIVES[name](0.0).net.weight_mask
    np.testing.assert_allclose(g - g0, 2 * lam * w * mask, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(g[~mask], g0[~mask])


def test_error_and_gradient_on_a_batch_is_the_batch_mean():
    obj = _classification_objective()
    w = _weights(obj)
    idx = np.array([0, 3, 7, 11, 29])
    sub = sr.Objective(obj.net, obj.X[idx], obj.y[idx])
    err, g = obj.error_and_gradient(w, idx)
    assert err == pytest.approx(sub.error(w), rel=1e-13)
    assert obj.error(w, idx) == pytest.approx(sub.error(w), rel=1e-13)
    np.testing.assert_allclose(g, sub.gradient(w), rtol=1e-12, atol=1e-15)


def _fit_quietly(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


@pytest.mark.parametrize("activation", ["tanh", "relu", "logistic"])
def test_cross_entropy_equals_sklearn_log_loss(activation):
    X, y = iris()
    clf = _fit_quietly(MLPClassifier(hidden_layer_sizes=(8,), activation=activation, alpha=0.0,
                                     max_iter=30, random_state=0), X, y)
    hidden = {"logistic": "sigmoid"}.get(activation, activation)
    net = sr.Network((4, 8, 3), hidden=hidden)
    w = net.pack(sklearn_layers(clf))
    obj = sr.Objective(net, X, y, lam=0.0)
    np.testing.assert_allclose(net.forward(X, w), clf.predict_proba(X), rtol=1e-12, atol=1e-15)
    assert obj.error(w) == pytest.approx(log_loss(y, clf.predict_proba(X)), rel=1e-12)


@pytest.mark.parametrize("n_outputs", [1, 2])
def test_mse_equals_sklearn_squared_loss(n_outputs):
    X, y = regression(n_items=60, n_outputs=n_outputs)
    reg = _fit_quietly(MLPRegressor(hidden_layer_sizes=(8,), activation="tanh", alpha=0.0,
                                    max_iter=30, random_state=0), X, y)
    net = sr.Network((3, 8, n_outputs), output="identity")
    w = net.pack(sklearn_layers(reg))
    obj = sr.Objective(net, X, y, lam=0.0, loss="mse")
    pred = reg.predict(X).reshape(len(X), n_outputs)
    np.testing.assert_allclose(net.forward(X, w), pred, rtol=1e-12, atol=1e-14)
    expected = ((y.reshape(len(X), n_outputs) - pred) ** 2).mean() / 2
    assert obj.error(w) == pytest.approx(expected, rel=1e-12)


def _sklearn_loss_and_grad(model, X, y_encoded):
    """scikit-learn's own penalized loss and gradient (private API) on the model's current weights."""
    coefs, intercepts = model.coefs_, model.intercepts_
    packed = np.concatenate([c.ravel() for c in coefs] + [b.ravel() for b in intercepts])
    n_layers = len(coefs) + 1
    activations = [X] + [None] * (n_layers - 1)
    deltas = [None] * (n_layers - 1)
    coef_grads = [np.empty_like(c) for c in coefs]
    intercept_grads = [np.empty_like(b) for b in intercepts]
    loss, grad = model._loss_grad_lbfgs(packed, X, y_encoded, None, activations, deltas,
                                        coef_grads, intercept_grads)
    # back to swarmreg's layout: per layer, W row-major then b
    sizes = [c.size for c in coefs] + [b.size for b in intercepts]
    parts = np.split(grad, np.cumsum(sizes)[:-1])
    k = len(coefs)
    return loss, np.concatenate([p for i in range(k) for p in (parts[i], parts[k + i])])


@pytest.mark.parametrize("alpha", [0.0, 0.5, 3.0])
def test_penalized_j_equals_sklearn_loss_with_alpha(alpha):
    X, y = iris()
    N = len(X)
    clf = _fit_quietly(MLPClassifier(hidden_layer_sizes=(8,), activation="tanh", alpha=alpha,
                                     solver="lbfgs", max_iter=15, random_state=0), X, y)
    net = sr.Network((4, 8, 3))
    w = net.pack(sklearn_layers(clf))
    obj = sr.Objective(net, X, y, lam=sr.l2.from_sklearn_alpha(alpha, N))
    # by hand, public API only: log loss + 0.5 * alpha * sum(W^2) / N
    by_hand = log_loss(y, clf.predict_proba(X)) + 0.5 * alpha * sum(np.sum(c ** 2) for c in clf.coefs_) / N
    assert obj(w) == pytest.approx(by_hand, rel=1e-12)
    if not hasattr(clf, "_loss_grad_lbfgs"):
        pytest.skip("scikit-learn's private _loss_grad_lbfgs is gone")
    loss, grad = _sklearn_loss_and_grad(clf, X, clf._label_binarizer.transform(y).astype(float))
    assert obj(w) == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(obj.gradient(w), grad, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("n_outputs", [1, 2])
def test_penalized_mse_equals_sklearn_regressor_with_alpha(n_outputs):
    X, y = regression(n_items=50, n_outputs=n_outputs)
    alpha, N = 0.7, len(X)
    reg = _fit_quietly(MLPRegressor(hidden_layer_sizes=(6,), activation="tanh", alpha=alpha,
                                    solver="lbfgs", max_iter=15, random_state=0), X, y)
    net = sr.Network((3, 6, n_outputs), output="identity")
    w = net.pack(sklearn_layers(reg))
    lam = sr.l2.from_sklearn_alpha(alpha, N)
    obj = sr.Objective(net, X, y, lam=lam, loss="mse")
    pred = reg.predict(X).reshape(N, n_outputs)
    by_hand = ((y.reshape(N, n_outputs) - pred) ** 2).mean() / 2
    by_hand += 0.5 * alpha * sum(np.sum(c ** 2) for c in reg.coefs_) / N
    assert obj(w) == pytest.approx(by_hand, rel=1e-12)
    if not hasattr(reg, "_loss_grad_lbfgs"):
        pytest.skip("scikit-learn's private _loss_grad_lbfgs is gone")
    loss, grad = _sklearn_loss_and_grad(reg, X, y.reshape(N, n_outputs))
    assert obj(w) == pytest.approx(loss, rel=1e-12)
    # scikit-learn's squared-loss gradient is not divided by the number of outputs (its delta is
    # out - y over n_samples only), so it is n_outputs times the gradient of the loss it reports;
    # ours is the true gradient of J (checked against finite differences above).
    _, grad_e = obj.error_and_gradient(w)
    np.testing.assert_allclose(n_outputs * grad_e + 2 * lam * net.weight_mask * w, grad, rtol=1e-10, atol=1e-13)
    if n_outputs == 1:
        np.testing.assert_allclose(obj.gradient(w), grad, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("name", OBJECTIVES)
def test_huge_weights_give_finite_j_and_gradient_without_warnings(name):
    obj = OBJECTIVES[name](0.1)
    W = 1e3 * np.random.default_rng(2).standard_normal((4, obj.net.n_params))
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        values = obj(W)
        assert np.all(np.isfinite(values))
        for w in W:
            assert np.isfinite(obj(w)) and np.isfinite(obj.error(w))
            assert np.all(np.isfinite(obj.gradient(w)))
        assert np.all(np.isfinite(obj.net.forward(obj.X, W)))


def test_confident_wrong_prediction_has_a_large_finite_error():
    net = sr.Network((1, 2), hidden="tanh")
    # one layer: logits = x @ W + b; make class 1 overwhelmingly likely and label everything 0
    w = net.pack([(np.array([[0.0, 1e4]]), np.zeros(2))])
    obj = sr.Objective(net, np.ones((3, 1)), np.zeros(3, dtype=int))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert obj.error(w) == pytest.approx(1e4, rel=1e-12)
        assert np.all(np.isfinite(obj.gradient(w)))


@pytest.mark.parametrize("bad", [
    dict(lam=-0.1), dict(lam=float("nan")), dict(loss="hinge"), dict(loss="mse"),
])
def test_bad_objective_arguments_raise(bad):
    X, y = iris(5)
    with pytest.raises((ValueError, TypeError)):
        sr.Objective(sr.Network((4, 5, 3)), X, y, **bad)


def test_bad_data_raise_value_error():
    X, y = iris(5)
    net = sr.Network((4, 5, 3))
    with pytest.raises(ValueError):
        sr.Objective(net, X[:, :3], y)  # wrong column count
    with pytest.raises(ValueError):
        sr.Objective(net, X, y[:-1])  # item count mismatch
    with pytest.raises(ValueError):
        sr.Objective(net, X, y + 1)  # label 3 for a 3-class output
    with pytest.raises(ValueError):
        sr.Objective(net, X, y + 0.5)  # not integer labels
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError):
        sr.Objective(net, Xn, y)


def test_objective_does_not_mutate_its_argument():
    obj = _classification_objective(lam=0.1)
    w = _weights(obj)
    w0 = w.copy()
    obj(w)
    obj.gradient(w)
    obj.error_and_gradient(w, np.arange(5))
    np.testing.assert_array_equal(w, w0)


def test_penalize_biases_puts_every_parameter_into_the_penalty_and_its_gradient():
    from swarmreg.testing import problem
    standard = problem(lam=0.1)
    obj = sr.Objective(standard.net, standard.X, standard.y, lam=0.1, penalize_biases=True)
    w = np.random.default_rng(3).normal(size=obj.net.n_params)
    assert obj.penalty(w) == pytest.approx(0.1 * np.sum(w**2))
    assert standard.penalty(w) == pytest.approx(0.1 * np.sum(w[obj.net.weight_mask] ** 2))
    assert obj(w) == pytest.approx(obj.error(w) + 0.1 * np.sum(w**2))
    np.testing.assert_allclose(obj(np.stack([w, 2 * w])), [obj(w), obj(2 * w)], rtol=1e-12)
    _, g_error = obj.error_and_gradient(w)
    np.testing.assert_allclose(obj.gradient(w), g_error + 0.2 * w, rtol=1e-12)
    np.testing.assert_allclose(obj.fun_and_gradient(w)[1], g_error + 0.2 * w, rtol=1e-12)
    assert obj.penalty_mask.all() and not standard.penalty_mask.all()
    with pytest.raises(TypeError, match="penalize_biases must be True or False, got 'yes'"):
        sr.Objective(standard.net, standard.X, standard.y, penalize_biases="yes")


def test_coupled_backprop_shrinks_the_biases_only_when_they_are_penalized():
    from swarmreg.testing import problem
    standard = problem(lam=1.0)
    biased = sr.Objective(standard.net, standard.X, standard.y, lam=1.0, penalize_biases=True)
    x0 = standard.net.init(np.random.default_rng(0))
    bias = ~standard.net.weight_mask
    runs = [sr.minimize(obj, "backprop", budget=3000, seed=0, x0=x0) for obj in (standard, biased)]
    assert np.linalg.norm(runs[1].x[bias]) < 0.5 * np.linalg.norm(runs[0].x[bias])

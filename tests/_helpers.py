"""Small shared problems and reference computations for the test suite (plain functions, no fixtures)."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_iris

import swarmreg as sr


def standardize(X: np.ndarray) -> np.ndarray:
    return (X - X.mean(axis=0)) / X.std(axis=0)


def iris(n_per_class: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Standardized iris features and int labels; the first ``n_per_class`` items of each class if given."""
    X, y = load_iris(return_X_y=True)
    if n_per_class is not None:
        keep = np.concatenate([np.flatnonzero(y == k)[:n_per_class] for k in range(3)])
        X, y = X[keep], y[keep]
    return standardize(X), y.astype(int)


def regression(n_items: int = 40, n_features: int = 3, n_outputs: int = 1,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A smooth nonlinear regression task; ``y`` is 1-D for one output, else ``(N, n_outputs)``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_items, n_features))
    A = rng.standard_normal((n_features, n_outputs))
    y = np.sin(X @ A) + 0.1 * rng.standard_normal((n_items, n_outputs))
    return X, (y[:, 0] if n_outputs == 1 else y)


def small_objective(lam: float = 0.01) -> sr.Objective:
    """Iris, 20 items per class, network (4, 5, 3): 43 parameters, cheap to minimize (the problem of
    :func:`swarmreg.testing.problem`, which check_method runs on)."""
    return sr.testing.problem(lam)


def numeric_gradient(f, w: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar function ``f`` at ``w``."""
    g = np.empty_like(w)
    for i in range(w.size):
        e = np.zeros_like(w)
        e[i] = h
        g[i] = (f(w + e) - f(w - e)) / (2 * h)
    return g


def sklearn_layers(model) -> list[tuple[np.ndarray, np.ndarray]]:
    """A fitted scikit-learn MLP's weights as swarmreg's ``[(W, b), ...]`` (same orientation)."""
    return [(W.copy(), b.copy()) for W, b in zip(model.coefs_, model.intercepts_)]


def set_sklearn_weights(model, net: sr.Network, w: np.ndarray) -> None:
    """Overwrite a fitted scikit-learn MLP's weights with the flat vector ``w`` and reset its optimizer."""
    layers = net.unpack(np.asarray(w, dtype=float))
    model.coefs_ = [W.copy() for W, _ in layers]
    model.intercepts_ = [b.copy() for _, b in layers]
    if hasattr(model, "_optimizer"):
        del model._optimizer  # partial_fit builds a fresh one (zero velocities) on the new arrays


def sklearn_sgd(X: np.ndarray, y: np.ndarray, net: sr.Network, w0: np.ndarray, *, lr: float, alpha: float,
                batch_size: int, momentum: float = 0.0, epochs: int = 1) -> np.ndarray:
    """``epochs`` passes of scikit-learn's own sgd solver (constant lr, no shuffling, heavy-ball
    momentum) from the flat start ``w0``; returns the weights as a swarmreg flat vector."""
    import warnings

    from sklearn.neural_network import MLPClassifier, MLPRegressor

    kwargs = dict(hidden_layer_sizes=net.sizes[1:-1], activation={"sigmoid": "logistic"}.get(net.hidden, net.hidden),
                  solver="sgd", alpha=alpha, batch_size=batch_size, learning_rate="constant",
                  learning_rate_init=lr, momentum=momentum, nesterovs_momentum=False, shuffle=False,
                  random_state=0, n_iter_no_change=10**9, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if net.output == "softmax":
            model = MLPClassifier(**kwargs)
            model.partial_fit(X, y, classes=np.arange(net.n_outputs))  # builds the arrays
        else:
            model = MLPRegressor(**kwargs)
            model.partial_fit(X, y)
        set_sklearn_weights(model, net, w0)
        for _ in range(epochs):
            model.partial_fit(X, y)
    return net.pack(sklearn_layers(model))


class RecordingObjective(sr.Objective):
    """The objective, keeping a copy of every vector or swarm it is asked to evaluate."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls: list[np.ndarray] = []

    def __call__(self, w):
        self.calls.append(np.array(w, dtype=float))
        return super().__call__(w)


def recording(lam: float = 0.01) -> RecordingObjective:
    """:func:`small_objective`'s problem, recording every evaluation."""
    X, y = iris(20)
    return RecordingObjective(sr.Network((4, 5, 3)), X, y, lam=lam)

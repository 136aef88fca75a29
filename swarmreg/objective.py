"""The one objective every optimizer sees: ``J(w) = E(w) + lam * sum(w[weight_mask]**2)``.

``E`` is the mean negative log-likelihood (``cross_entropy``, softmax output, int labels) or
``0.5 * mean((out - t)**2)`` over items and outputs (``mse``, identity output): both equal
scikit-learn's MLP loss on the same weights. Biases are never penalized.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from . import _validate as v
from .network import Network, activation_derivative

LOSSES = ("cross_entropy", "mse")
FLOAT_MAX = float(np.finfo(float).max)


def _saturate(value: np.ndarray) -> float | np.ndarray:
    """Values past float64's range (weights beyond ~1e150 overflow the squares) reported as its
    largest finite number, NaN from inf - inf included: J stays finite and ordered for any finite w."""
    out = np.where(np.isnan(value), FLOAT_MAX, np.minimum(value, FLOAT_MAX))
    return out if np.ndim(out) else float(out)


def _saturate_vector(g: np.ndarray) -> np.ndarray:
    """A gradient past float64's range clipped to +-FLOAT_MAX; entries whose sign overflow left
    undefined (inf - inf) are 0. Only weights beyond ~1e150 get here, where J itself saturates."""
    return np.nan_to_num(g, nan=0.0, posinf=FLOAT_MAX, neginf=-FLOAT_MAX)
_LOSS_FOR_OUTPUT = {"softmax": "cross_entropy", "identity": "mse"}


class Objective:
    """Penalized training error of ``net`` on ``(X, y)``; call it on one vector or a whole swarm."""

    def __init__(self, net: Network, X, y, lam: float = 0.0, loss: str | None = None):
        if not isinstance(net, Network):
            raise TypeError(f"net must be a swarmreg.Network, got {type(net).__name__}")
        loss = _LOSS_FOR_OUTPUT[net.output] if loss is None else v.choice(loss, "loss", LOSSES)
        if loss != _LOSS_FOR_OUTPUT[net.output]:
            raise ValueError(
                f"loss {loss!r} needs output {next(o for o, lo in _LOSS_FOR_OUTPUT.items() if lo == loss)!r},"
                f" but the network's output is {net.output!r}"
            )
        X = v.finite_array(X, "X", (2,))
        if X.shape[1] != net.n_inputs:
            raise ValueError(f"X has {X.shape[1]} columns but the network's input layer has {net.n_inputs}")
        y = v.finite_array(y, "y", (1, 2))
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"y has {y.shape[0]} items but X has {X.shape[0]}")
        if loss == "cross_entropy":
            if y.ndim != 1 or np.any(y != np.round(y)):
                raise ValueError("y must be a 1-D array of integer class labels for loss 'cross_entropy'")
            if y.min() < 0 or y.max() > net.n_outputs - 1:
                raise ValueError(
                    f"y labels must lie in 0..{net.n_outputs - 1} (the output layer's width), "
                    f"got labels from {int(y.min())} to {int(y.max())}"
                )
            self._labels = y.astype(np.intp)
            self._onehot = np.eye(net.n_outputs)[self._labels]
        else:
            y = y.reshape(len(y), -1)
            if y.shape[1] != net.n_outputs:
                raise ValueError(f"y has {y.shape[1]} target columns but the output layer has {net.n_outputs}")
            self._onehot = y
        self.net = net
        self.X = X
        self.y = y
        self.lam = v.real(lam, "lam", low=0.0)
        self.loss = loss
        self.n_items = X.shape[0]

    def __repr__(self) -> str:
        return f"Objective({self.net!r}, n_items={self.n_items}, lam={self.lam}, loss={self.loss!r})"

    def __call__(self, w) -> float | np.ndarray:
        """``J(w)``; ``(P,)`` values for a swarm ``(P, n_params)``."""
        with np.errstate(over="ignore"):
            return _saturate(np.add(self.error(w), self.penalty(w)))

    def error(self, w, idx: np.ndarray | None = None) -> float | np.ndarray:
        """``E(w)`` on all items, or on the rows ``idx`` (a mini-batch)."""
        w = self.net.check_vector(w)
        X, T = (self.X, self._onehot) if idx is None else (self.X[idx], self._onehot[idx])
        with np.errstate(over="ignore", invalid="ignore"):
            logits = self.net.activations(X, w)[-1]
            return _saturate(self._error_from_logits(logits, T))

    def penalty(self, w) -> float | np.ndarray:
        """``lam * sum(w[weight_mask]**2)`` (biases excluded)."""
        w = self.net.check_vector(w)
        if self.lam == 0:  # not 0 * inf for enormous weights
            return np.zeros(w.shape[0]) if w.ndim == 2 else 0.0
        with np.errstate(over="ignore"):
            return _saturate(self.lam * np.square(w[..., self.net.weight_mask]).sum(axis=-1))

    def gradient(self, w) -> np.ndarray:
        """``dJ/dw`` on all items: backprop of ``E`` plus ``2*lam*w`` on non-bias weights."""
        _, g = self.error_and_gradient(w)
        with np.errstate(over="ignore"):
            return _saturate_vector(g + 2.0 * self.lam * self.net.weight_mask * w)

    def error_and_gradient(self, w, idx: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """``E`` and ``dE/dw`` (no penalty) on all items or the rows ``idx``, by backprop."""
        w = self.net.check_vector(w)
        if w.ndim != 1:
            raise ValueError(f"the gradient takes one vector of shape ({self.net.n_params},), got {w.shape}")
        X, T = (self.X, self._onehot) if idx is None else (self.X[idx], self._onehot[idx])
        with np.errstate(over="ignore", invalid="ignore"):
            return self._backprop(X, T, w)

    def _backprop(self, X: np.ndarray, T: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
        acts = self.net.activations(X, w)
        logits = acts[-1]
        err = _saturate(self._error_from_logits(logits, T))
        n = X.shape[0]
        if self.loss == "cross_entropy":
            delta = np.exp(logits - logsumexp(logits, axis=-1, keepdims=True)) - T
            delta /= n
        else:
            delta = (logits - T) / (n * T.shape[1])
        grads = []
        layers = self.net.unpack(w)
        for i in range(len(layers) - 1, -1, -1):
            grads.append((acts[i].T @ delta, delta.sum(axis=0)))
            if i > 0:
                delta = (delta @ layers[i][0].T) * activation_derivative(self.net.hidden, acts[i])
        return err, _saturate_vector(self.net.pack(grads[::-1]))

    def _error_from_logits(self, logits: np.ndarray, T: np.ndarray) -> float | np.ndarray:
        if self.loss == "cross_entropy":
            # -log softmax(z)[y] = logsumexp(z) - z[y], stable for any finite logits
            per_item = logsumexp(logits, axis=-1) - (logits * T).sum(axis=-1)
            err = per_item.mean(axis=-1)
        else:
            err = 0.5 * np.square(logits - T).mean(axis=(-2, -1))
        return err if np.ndim(err) else float(err)

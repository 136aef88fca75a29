"""The one objective every optimizer sees: ``J(w) = E(w) + lam * sum(w[weight_mask]**2)``.

``E`` is the mean negative log-likelihood (``cross_entropy``, softmax output, int labels) or
``0.5 * mean((out - t)**2)`` over items and outputs (``mse``, identity output): both equal
scikit-learn's MLP loss on the same weights. Biases are never penalized.

Speed (issue 5). A swarm is evaluated through :meth:`Network.swarm_logits`, which returns the logits
class-major, ``(K, P, N)``: the cross-entropy's max / exp / sum over the K classes are then K
elementwise passes over contiguous ``(P, N)`` slabs instead of reductions over a trailing axis of
length K (which cost more than the matrix products). ``dtype="float32"`` runs the network and the
error in single precision (``tanh`` over the hidden units, the floor, is 4-5x cheaper, and the
first layer is one GEMM for the whole swarm); the penalty and all returned values stay float64.
float64 is the default and gives the same bits as the implementation before issue 5 (one GEMM per
particle and layer, then ``scipy.special.logsumexp`` over a trailing class axis).
"""

from __future__ import annotations

import numpy as np

from . import _validate as v
from .network import Network, activation_derivative

LOSSES = ("cross_entropy", "mse")
DTYPES = ("float64", "float32")
FLOAT_MAX = float(np.finfo(float).max)
_LOSS_FOR_OUTPUT = {"softmax": "cross_entropy", "identity": "mse"}


def _saturate(value: np.ndarray) -> float | np.ndarray:
    """Values past float64's range (weights beyond ~1e150 overflow the squares) reported as its
    largest finite number, NaN from inf - inf included: J stays finite and ordered for any finite w."""
    out = np.where(np.isnan(value), FLOAT_MAX, np.minimum(value, FLOAT_MAX))
    return out if np.ndim(out) else float(out)


def _saturate_vector(g: np.ndarray) -> np.ndarray:
    """A gradient past float64's range clipped to +-FLOAT_MAX; entries whose sign overflow left
    undefined (inf - inf) are 0. Only weights beyond ~1e150 get here, where J itself saturates."""
    return np.nan_to_num(g, nan=0.0, posinf=FLOAT_MAX, neginf=-FLOAT_MAX)

BLOCK_BYTES = 1 << 19
"""A swarm is evaluated in blocks of particles whose widest layer (and whose loss temporaries) take
about this many bytes (see :meth:`Network.swarm_logits`).

Bounds the memory of one evaluation whatever the swarm size: a 64-256-10 network on 1,257 items
takes 2.6 MB of float64 activations per particle, 260 MB for 100 particles at once. Blocks do not
change the results: every particle is computed by the same calls whatever block it is in. Smaller
blocks cost Python overhead per block; larger ones gained nothing in measurements."""


def _sum_terms(terms) -> np.ndarray:
    """Elementwise sum of equal-shape arrays (``terms[0] + terms[1] + ...``), in numpy's order.

    The order numpy's ``sum`` adds a contiguous axis: pairwise summation (numpy's
    ``pairwise_sum``), sequential below 8 terms, eight interleaved accumulators up to 128, halves
    beyond. Summing K class slabs in it gives the same bits as ``np.sum(z, axis=-1)`` on the
    ``(..., K)`` layout, for any K.
    """
    n = len(terms)
    if n == 1:
        return terms[0].copy()
    if n < 8:
        total = terms[0] + terms[1]
        for t in terms[2:]:
            total += t
        return total
    if n <= 128:
        acc = [t.copy() for t in terms[:8]]
        stop = n - n % 8
        for i in range(8, stop, 8):
            for j in range(8):
                acc[j] += terms[i + j]
        total = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
        for t in terms[stop:]:
            total += t
        return total
    half = n // 2
    half -= half % 8
    return _sum_terms(terms[:half]) + _sum_terms(terms[half:])


def logsumexp(z: np.ndarray, axis: int) -> np.ndarray:
    """``log(sum(exp(z), axis))`` over the classes: the leading axis (``axis=0``) or the last (``-1``).

    The accurate algorithm of Blanchard, Higham & Higham (IMA J. Numer. Anal. 41(4), 2021), as
    ``scipy.special.logsumexp`` computes it (scipy >= 1.15), operation for operation, so float64
    results are the bits the reference got from scipy: the largest term is taken out of the sum,
    ``lse = log1p(s / m) + log(m) + max`` with ``s`` the sum of ``exp(z - max)`` over the other
    classes and ``m`` the number of classes that tie for the max; a result that is not finite (a
    logit is inf or NaN) is replaced by ``log(sum(exp(z)))``. scipy's generic version costs about
    1.3 ms on 100 particles x 150 items x 3 classes; this one about 0.07 ms.

    Classes leading (a swarm, ``(K, P, N)``): every step is an elementwise pass over contiguous
    slabs, and the sum over classes is K - 1 adds of slabs in numpy's order (:func:`_sum_terms`).
    Classes last (a mini-batch, ``(m, K)``): numpy's reductions, a handful of calls whatever K.
    """
    a_max = z.max(axis=axis, keepdims=True)
    e = z - a_max
    top = e == 0  # the max itself (and any tie): kept out of s
    np.exp(e, out=e)
    np.putmask(e, top, 0.0)  # scipy's exp(-inf); masking after the exp, as exp(-inf) is slow
    s = _sum_terms(e) if axis == 0 else e.sum(axis=-1)
    a_max = a_max[0] if axis == 0 else a_max[..., 0]
    if np.count_nonzero(top) == s.size:  # no ties: m = 1, log(m) = 0
        out = np.log1p(s, out=s)
    else:
        m = top.sum(axis=axis, dtype=s.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):  # m = 0 where a logit is NaN
            s = np.where(s == 0, s, s / m)
            out = np.log1p(s) + np.log(m)
    out += a_max
    bad = ~np.isfinite(out)
    if bad.any():
        classes = z[:, bad] if axis == 0 else z[bad].T
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out[bad] = np.log(_sum_terms(np.exp(classes)))
    return out


def _dtype(dtype: object) -> np.dtype:
    try:
        resolved = None if dtype is None or isinstance(dtype, bool) else np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.name not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    return resolved


class Objective:
    """Penalized training error of ``net`` on ``(X, y)``; call it on one vector or a whole swarm.

    ``dtype`` is the precision of the network's forward and backward passes: ``"float64"``
    (default, bit-reproducible) or ``"float32"`` (faster; agrees to about 1e-6 relative). Values,
    penalties and gradients are returned as float64 either way.
    """

    def __init__(self, net: Network, X, y, lam: float = 0.0, loss: str | None = None, dtype: str = "float64"):
        if not isinstance(net, Network):
            raise TypeError(f"net must be a swarmreg.Network, got {type(net).__name__}")
        loss = _LOSS_FOR_OUTPUT[net.output] if loss is None else v.choice(loss, "loss", LOSSES)
        if loss != _LOSS_FOR_OUTPUT[net.output]:
            raise ValueError(
                f"loss {loss!r} needs output {next(o for o, lo in _LOSS_FOR_OUTPUT.items() if lo == loss)!r},"
                f" but the network's output is {net.output!r}"
            )
        dtype = _dtype(dtype)
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
            self._onehot = np.eye(net.n_outputs)[y.astype(np.intp)]
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
        self.dtype = dtype
        self.n_items = X.shape[0]
        # the data in the working precision (for float64 the very arrays above, whatever their order)
        self._X = X if dtype == np.float64 else np.ascontiguousarray(X, dtype=dtype)
        self._T = self._onehot if dtype == np.float64 else np.ascontiguousarray(self._onehot, dtype=dtype)
        self._T_classes = np.ascontiguousarray(self._T.T)  # (K, N): one-hot rows per class, for the swarm path

    def __repr__(self) -> str:
        extra = "" if self.dtype == np.float64 else f", dtype={self.dtype.name!r}"
        return f"Objective({self.net!r}, n_items={self.n_items}, lam={self.lam}, loss={self.loss!r}{extra})"

    def __call__(self, w) -> float | np.ndarray:
        """``J(w)``; ``(P,)`` values for a swarm ``(P, n_params)``.

        A swarm's errors are bit-equal to its rows'; its penalties add the squares in another order
        than a single vector's (pinned by the speed work's fixture), so ``obj(W)`` equals the rows to
        rounding (about 1e-14 relative).
        """
        w = self.net.check_vector(w)
        with np.errstate(over="ignore", invalid="ignore"):
            return _saturate(np.add(self._error(w, self._X, self._T, self._T_classes), self._penalty(w)))

    def error(self, w, idx: np.ndarray | None = None) -> float | np.ndarray:
        """``E(w)`` on all items, or on the rows ``idx`` (a mini-batch)."""
        w = self.net.check_vector(w)
        if idx is None:
            X, T, T_classes = self._X, self._T, self._T_classes
        else:
            X, T = self._X[idx], self._T[idx]
            T_classes = np.ascontiguousarray(T.T)
        with np.errstate(over="ignore", invalid="ignore"):
            return self._error(w, X, T, T_classes)

    def _error(self, w: np.ndarray, X: np.ndarray, T: np.ndarray, T_classes: np.ndarray) -> float | np.ndarray:
        errors = _saturate(self._errors(w.reshape(-1, self.net.n_params), X, T, T_classes))
        return errors if w.ndim == 2 else float(errors[0])

    def penalty(self, w) -> float | np.ndarray:
        """``lam * sum(w[weight_mask]**2)`` (biases excluded)."""
        w = self.net.check_vector(w)
        with np.errstate(over="ignore"):
            return self._penalty(w)

    def _penalty(self, w: np.ndarray) -> float | np.ndarray:
        if self.lam == 0:  # not 0 * inf for enormous weights
            return np.zeros(w.shape[0]) if w.ndim == 2 else 0.0
        if w.ndim == 1:
            return _saturate(self.lam * np.square(w[self.net.weight_mask]).sum())
        return _saturate(self.lam * self._swarm_sum_of_squares(w))

    def _swarm_sum_of_squares(self, W: np.ndarray) -> np.ndarray:
        """``sum(W[:, weight_mask]**2, axis=1)``, adding the weights one after another, as the reference did.

        The reference, ``np.square(W[..., mask]).sum(axis=-1)``, got a column-major ``(P, n_weights)``
        array from the boolean index, which numpy sums weight by weight (not pairwise, as it sums
        one vector). The same order is kept here through a small buffer, in chunks of weights
        carrying the running total as their first row: the reference's two (P, n_weights)
        temporaries cost 0.1-0.8 ms per call on a 100 x 1,348 swarm (page faults, in the PSO loop).
        """
        P = W.shape[0]
        chunk = max(1, 8192 // P)  # buffer of about 64 KB
        total = np.zeros(P)
        buf = np.empty((chunk + 1, P))
        for ws, _, _, _ in self.net._slices:
            for start in range(ws.start, ws.stop, chunk):
                stop = min(ws.stop, start + chunk)
                rows = buf[:stop - start + 1]
                rows[0] = total
                np.square(W[:, start:stop].T, out=rows[1:])
                np.add.reduce(rows, axis=0, out=total)  # ((total + s_0) + s_1) + ...: row after row
        return total

    def gradient(self, w) -> np.ndarray:
        """``dJ/dw`` on all items: backprop of ``E`` plus ``2*lam*w`` on non-bias weights."""
        _, g = self.error_and_gradient(w)
        with np.errstate(over="ignore"):
            return _saturate_vector(g + 2.0 * self.lam * self.net.weight_mask * w)

    def _errors(self, W: np.ndarray, X: np.ndarray, T: np.ndarray, T_classes: np.ndarray) -> np.ndarray:
        """``E`` of each row of ``W`` ``(P, n_params)`` on ``(X, T)``, as float64."""
        if W.dtype != self.dtype:
            W = W.astype(self.dtype)
        logits = self.net.swarm_logits(X, W, BLOCK_BYTES, stack_first=self.dtype != np.float64)  # (K, P, N)
        K, P, n_items = logits.shape
        errors = np.empty(P)
        step = max(1, BLOCK_BYTES // (n_items * K * X.itemsize))  # the loss's temporaries stay small too
        for start in range(0, P, step):
            z = logits[:, start:start + step]
            if self.loss == "cross_entropy":
                errors[start:start + step] = self._cross_entropy(z, T_classes)
            else:
                out = np.ascontiguousarray(z.transpose(1, 2, 0))  # (p, N, K), as the reference summed it
                errors[start:start + step] = 0.5 * np.square(out - T).mean(axis=(-2, -1))
        return errors

    @staticmethod
    def _cross_entropy(z: np.ndarray, T_classes: np.ndarray) -> np.ndarray:
        """Mean over items of ``-log softmax(z)[y] = logsumexp(z) - z[y]`` for class-major logits ``(K, p, N)``.

        Every step is an elementwise pass over ``(p, N)`` slabs, and the per-item losses come out
        ``(p, N)``, items contiguous, for the mean. ``z[y]`` is ``sum_k z_k * t_k``, as the
        reference computed it (so an infinite logit gives NaN, as it did).
        """
        z = np.ascontiguousarray(z)
        per_item = logsumexp(z, axis=0)
        per_item -= _sum_terms(z * T_classes[:, None, :])
        return per_item.mean(axis=-1)

    def error_and_gradient(self, w, idx: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """``E`` and ``dE/dw`` (no penalty) on all items or the rows ``idx``, by backprop."""
        w = self.net.check_vector(w)
        if w.ndim != 1:
            raise ValueError(f"the gradient takes one vector of shape ({self.net.n_params},), got {w.shape}")
        X, T = (self._X, self._T) if idx is None else (self._X[idx], self._T[idx])
        with np.errstate(over="ignore", invalid="ignore"):
            return self._backprop(X, T, w if w.dtype == self.dtype else w.astype(self.dtype))

    def _backprop(self, X: np.ndarray, T: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
        """One vector, items-major ``(m, width)`` activations: the calls and reductions the
        reference made (a mini-batch is too small for the class-major layout to pay)."""
        net = self.net
        layers = net._layer_views(w)
        acts = net._forward_layers(X, layers)
        logits = acts[-1]
        n = X.shape[0]
        if self.loss == "cross_entropy":
            lse = logsumexp(logits, axis=-1)
            err = _saturate((lse - (logits * T).sum(axis=-1)).mean())
            delta = np.exp(logits - lse[:, None]) - T
            delta /= n
        else:
            err = _saturate(0.5 * np.square(logits - T).mean(axis=(-2, -1)))
            delta = (logits - T) / (n * T.shape[1])
        g = np.empty(net.n_params, dtype=w.dtype)
        for i in range(len(layers) - 1, -1, -1):
            ws, bs, fan_in, fan_out = net._slices[i]
            np.matmul(acts[i].T, delta, out=g[ws].reshape(fan_in, fan_out))
            np.sum(delta, axis=0, out=g[bs])
            if i > 0:
                delta = (delta @ layers[i][0].T) * activation_derivative(net.hidden, acts[i])
        return err, _saturate_vector(g.astype(np.float64, copy=False))

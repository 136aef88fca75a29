"""The one objective every optimizer sees: ``J(w) = E(w) + lam * sum(w[penalty_mask]**2)``.

``E`` is the mean negative log-likelihood (``cross_entropy``, softmax output, int labels) or
``0.5 * mean((out - t)**2)`` over items and outputs (``mse``, identity output): both equal
scikit-learn's MLP loss on the same weights. Biases are not penalized (``penalty_mask`` is the
network's ``weight_mask``) unless ``penalize_biases=True``, a variant whose penalty is over all parameters.

A swarm is evaluated in blocks of particles (:meth:`Network.block_logits`), whose logits come back
``(P, K, N)``; the training items are kept sorted by class, so the cross-entropy is a handful of
elementwise passes over ``(P, N)`` slabs, items contiguous. ``dtype="float32"`` runs the
network and the error in single precision (``tanh`` over the hidden units, most of the time, is 4-5x
cheaper); the penalty and all returned values stay float64. Results are the same bits for the same
input on one machine and BLAS; a swarm's values equal its rows' to rounding (a row is a block of
one, whose GEMMs have other shapes).

``device="cpu"``, ``"cuda"``, ``"cuda:1"``... evaluates ``E`` and its gradient on JAX
(:mod:`swarmreg.backends.jax`, the extra ``swarmreg[jax]``), the data moved there once; the penalty
is added on the host in float64, and every value comes back as float64 numpy, as on the numpy path.
"""

from __future__ import annotations

import numpy as np

from . import _validate as v
from ._workspace import work_array
from .backends import DEVICE_DTYPES, jax_backend
from .network import Network, activation_derivative, inputs_with_ones

LOSSES = ("cross_entropy", "mse")
DTYPES = ("float64", "float32")
FLOAT_MAX = float(np.finfo(float).max)
_LOSS_FOR_OUTPUT = {"softmax": "cross_entropy", "identity": "mse"}


def _saturate(value: np.ndarray) -> float | np.ndarray:
    """Values past float64's range (weights beyond ~1e150 overflow the squares) reported as its
    largest finite number, NaN from inf - inf included: J stays finite and ordered for any finite w."""
    out = np.fmin(value, FLOAT_MAX)  # fmin takes the number when the other is NaN
    return out if np.ndim(out) else float(out)


def _saturate_vector(g: np.ndarray) -> np.ndarray:
    """A gradient past float64's range clipped to +-FLOAT_MAX; entries whose sign overflow left
    undefined (inf - inf) are 0. Only weights beyond ~1e150 get here, where J itself saturates."""
    return np.nan_to_num(g, nan=0.0, posinf=FLOAT_MAX, neginf=-FLOAT_MAX)

BLOCK_BYTES = 1 << 22
"""A swarm is evaluated in blocks of particles whose widest layer takes about this many bytes.

Bounds the memory of one evaluation whatever the swarm size: a 64-256-10 network on 1,257 items
takes 2.6 MB of float64 activations per particle, 260 MB for 100 particles at once. Blocks are
computed with the same calls whatever their size, so they change results only to rounding (the
first layer's GEMM has another shape). Small blocks cost Python overhead per block (1 particle a
block on digits 64-32-10 took 1.25x the time of 13); larger ones leave the caches (8 MB: 1.06x)."""


def _cross_entropy_sorted(z: np.ndarray, bounds: np.ndarray, stable: bool = False) -> np.ndarray:
    """Mean over items of ``-log softmax(z)[y]`` for logits ``z`` ``(p, K, N)`` whose items are sorted
    by class (class ``k`` is items ``bounds[k]:bounds[k + 1]``); ``z`` is overwritten.

    ``-log softmax(z)[y] = log1p(sum over k != y of exp(z_k - z_y))``: accurate to rounding even
    where the loss is tiny (a confident right answer), which ``logsumexp(z) - z_y`` loses to
    cancellation. It overflows where some ``z_k - z_y`` passes exp's range; ``stable=True``, for
    those, first shifts by ``a = max_k (z_k - z_y) >= 0``:
    ``a + log1p(sum over k != y of exp(z_k - z_y - a) + expm1(-a))``.
    """
    p, K, N = z.shape
    z_target = work_array("target_logit", (p, 1, N), z.dtype)
    for k in range(K):
        z_target[:, 0, bounds[k]:bounds[k + 1]] = z[:, k, bounds[k]:bounds[k + 1]]
    z -= z_target
    if stable:
        shift = z.max(axis=1, keepdims=True)
        z -= shift
    np.exp(z, out=z)
    for k in range(K):  # the target's own term, exp(0) = 1, is log1p's 1
        z[:, k, bounds[k]:bounds[k + 1]] = 0.0
    np.matmul(np.ones((1, K), dtype=z.dtype), z, out=z_target)  # the sum over classes (2-3x np.sum's speed)
    total = z_target[:, 0]
    if stable:
        total += np.expm1(-shift[:, 0])
    np.log1p(total, out=total)
    if stable:
        total += shift[:, 0]
    return total @ np.full(N, 1.0 / N, dtype=z.dtype)  # the mean over items, as a GEMV (4x faster than mean)


def _softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-item ``-log softmax(z)[y]`` and ``softmax(z)`` for items-major logits ``(m, K)``: the
    formula of :func:`_cross_entropy_sorted`, always shifted (a mini-batch is small)."""
    rows = np.arange(len(labels))
    d = logits - logits[rows, labels][:, None]
    shift = d.max(axis=1)
    e = np.exp(d - shift[:, None])
    e[rows, labels] = 0.0
    loss = shift + np.log1p(e.sum(axis=1) + np.expm1(-shift))
    return loss, np.exp(d - loss[:, None])


def squared_weights(W: np.ndarray, weight_slices: list[slice], lam: float) -> np.ndarray:
    """``sum(W[:, penalty_mask]**2, axis=1)`` over the penalized slices, without temporaries; zeros
    when ``lam = 0`` (no 0 * inf for enormous weights)."""
    if lam == 0:
        return np.zeros(W.shape[0])
    return sum(np.vecdot(W[:, ws], W[:, ws]) for ws in weight_slices)


def penalized_slices(net: Network, penalize_biases: bool = False) -> list[slice]:
    """The entries the penalty covers, as slices: each layer's weights, or every parameter."""
    return [slice(0, net.n_params)] if penalize_biases else [ws for ws, _, _, _ in net._slices]


def penalty_mask(net: Network, penalize_biases: bool = False) -> np.ndarray:
    """True on the entries the penalty covers: the network's ``weight_mask``, or every parameter."""
    return np.ones(net.n_params, dtype=bool) if penalize_biases else net.weight_mask


def penalty(net: Network, lam: float, w, penalize_biases: bool = False) -> float | np.ndarray:
    """``lam * sum(w[penalty_mask]**2)`` of one vector or per row of a swarm (biases excluded unless
    ``penalize_biases``)."""
    w = net.check_vector(w)
    with np.errstate(over="ignore"):
        W = w.reshape(-1, net.n_params)
        penalties = _saturate(squared_weights(W, penalized_slices(net, penalize_biases), lam) * lam)
    return penalties if w.ndim == 2 else float(penalties[0])


def _dtype(dtype: object, device: object) -> np.dtype:
    """The working precision: one of :data:`DTYPES`, or on a device one of ``DEVICE_DTYPES``."""
    if device is not None and dtype in DEVICE_DTYPES:
        return np.dtype("float64" if dtype == "float64" else "float32")
    if device is None and dtype in DEVICE_DTYPES[2:]:
        raise ValueError(f"dtype {dtype!r} needs a device (device='cpu' or 'cuda'); the numpy path takes {DTYPES}")
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
    (default, bit-reproducible) or ``"float32"`` (faster; agrees to about 1e-6 relative); on a
    ``device`` also ``"tf32"`` and ``"bfloat16"`` (GEMM precisions, see
    :data:`swarmreg.backends.DEVICE_DTYPES`). Values, penalties and gradients are returned as
    float64 either way. ``device=None`` is the numpy path; a device evaluates on JAX.
    ``penalize_biases=True`` puts the biases into the penalty too, ``lam * sum(w**2)`` over all
    parameters (the variant some libraries use; the standard J leaves them out); ``penalty_mask``
    says which entries the penalty covers.
    """

    def __init__(self, net: Network, X, y, lam: float = 0.0, loss: str | None = None, dtype: str = "float64",
                 device: str | None = None, penalize_biases: bool = False):
        if not isinstance(net, Network):
            raise TypeError(f"net must be a swarmreg.Network, got {type(net).__name__}")
        loss = _LOSS_FOR_OUTPUT[net.output] if loss is None else v.choice(loss, "loss", LOSSES)
        if loss != _LOSS_FOR_OUTPUT[net.output]:
            raise ValueError(
                f"loss {loss!r} needs output {next(o for o, lo in _LOSS_FOR_OUTPUT.items() if lo == loss)!r},"
                f" but the network's output is {net.output!r}"
            )
        resolved = _dtype(dtype, device)
        precision = dtype if isinstance(dtype, str) and dtype in DEVICE_DTYPES[2:] else resolved.name
        dtype = resolved
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
        if not isinstance(penalize_biases, bool | np.bool_):
            raise TypeError(f"penalize_biases must be True or False, got {penalize_biases!r}")
        self.penalize_biases = bool(penalize_biases)
        self.penalty_mask = penalty_mask(net, self.penalize_biases)
        self.loss = loss
        self.dtype = dtype
        self.n_items = X.shape[0]
        # the data in the working precision (for float64 the very arrays above, whatever their order)
        self._X = X if dtype == np.float64 else np.ascontiguousarray(X, dtype=dtype)
        self._T = self._onehot if dtype == np.float64 else np.ascontiguousarray(self._onehot, dtype=dtype)
        self._weight_slices = penalized_slices(net, penalize_biases)
        self._all_items = self._swarm_items(None)
        self.precision = dtype.name if device is None else precision
        self.device = None  # the JAX device, or None for the numpy path
        self._backend = None  # the device's evaluator (swarmreg.backends.jax.DeviceEvaluator)
        if device is not None:
            backend = jax_backend()
            self.device = backend.resolve_device(device)
            self._backend = backend.DeviceEvaluator(net, X, self._labels if loss == "cross_entropy" else y,
                                                    loss, precision, self.device, self.lam, self.penalty_mask)

    def __repr__(self) -> str:
        extra = "" if self.precision == "float64" else f", dtype={self.precision!r}"
        if self.device is not None:
            extra += f", device={jax_backend().device_name(self.device)!r}"
        extra += ", penalize_biases=True" if self.penalize_biases else ""
        return f"Objective({self.net!r}, n_items={self.n_items}, lam={self.lam}, loss={self.loss!r}{extra})"

    def __call__(self, w) -> float | np.ndarray:
        """``J(w)``; ``(P,)`` values for a swarm ``(P, n_params)``, equal to its rows' to rounding."""
        w = self.net.check_vector(w)
        W = w.reshape(-1, self.net.n_params)
        with np.errstate(over="ignore", invalid="ignore"):
            errors = self._errors(W, *self._all_items) if self.device is None else self._backend.errors(W)
            values = _saturate(errors + self._squared_weights(W) * self.lam)
        return values if w.ndim == 2 else float(values[0])

    def error(self, w, idx: np.ndarray | None = None) -> float | np.ndarray:
        """``E(w)`` on all items, or on the rows ``idx`` (a mini-batch)."""
        w = self.net.check_vector(w)
        if self.device is not None:
            errors = _saturate(self._backend.errors(w.reshape(-1, self.net.n_params), idx))
            return errors if w.ndim == 2 else float(errors[0])
        items = self._all_items if idx is None else self._swarm_items(idx)
        with np.errstate(over="ignore", invalid="ignore"):
            return self._error(w, items)

    def _swarm_items(self, idx: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The items (all, or the rows ``idx``) as the swarm path reads them: ``inputs_with_ones(X)``
        and, for cross-entropy, the items sorted by class with the class boundaries ``(K + 1,)``;
        for mse, the targets class-major ``(K, N)``."""
        X = self._X if idx is None else self._X[idx]
        if self.loss == "cross_entropy":
            labels = self._labels if idx is None else self._labels[idx]
            order = np.argsort(labels, kind="stable")
            bounds = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=self.net.n_outputs))])
            return inputs_with_ones(X[order]), bounds
        T = self._T if idx is None else self._T[idx]
        return inputs_with_ones(X), np.ascontiguousarray(T.T)

    def _error(self, w: np.ndarray, items: tuple[np.ndarray, np.ndarray]) -> float | np.ndarray:
        errors = _saturate(self._errors(w.reshape(-1, self.net.n_params), *items))
        return errors if w.ndim == 2 else float(errors[0])

    def penalty(self, w) -> float | np.ndarray:
        """``lam * sum(w[penalty_mask]**2)`` (biases excluded unless ``penalize_biases``)."""
        return penalty(self.net, self.lam, w, self.penalize_biases)

    def _squared_weights(self, W: np.ndarray) -> np.ndarray:
        return squared_weights(W, self._weight_slices, self.lam)

    def gradient(self, w) -> np.ndarray:
        """``dJ/dw`` on all items: backprop of ``E`` plus ``2*lam*w`` on the penalized entries."""
        _, g = self.error_and_gradient(w)
        with np.errstate(over="ignore"):
            return _saturate_vector(g + 2.0 * self.lam * self.penalty_mask * w)

    def fun_and_gradient(self, w) -> tuple[float, np.ndarray]:
        """``J(w)`` and ``dJ/dw`` on all items from one pass: backprop's forward pass gives ``E``.

        ``J`` equals ``obj(w)`` to rounding (``E`` is summed by the backprop path, not the swarm's).
        """
        err, g = self.error_and_gradient(w)
        w = self.net.check_vector(w)
        with np.errstate(over="ignore", invalid="ignore"):
            return (_saturate(np.add(err, self.penalty(w))),
                    _saturate_vector(g + 2.0 * self.lam * self.penalty_mask * w))

    def _errors(self, W: np.ndarray, XT: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """``E`` of each row of ``W`` ``(P, n_params)`` on the items of :meth:`_swarm_items`, as float64."""
        if W.dtype != self.dtype:
            W = W.astype(self.dtype)
        net, n_items = self.net, XT.shape[1]
        errors = np.empty(W.shape[0])
        step = net.block_size(n_items, self.dtype.itemsize, BLOCK_BYTES)
        for start in range(0, W.shape[0], step):
            block = W[start:start + step]
            z = net.block_logits(XT, block, work_array("logits", (len(block), net.n_outputs, n_items), self.dtype))
            part = errors[start:start + step]
            if self.loss == "mse":
                z -= classes
                part[:] = 0.5 * np.square(z, out=z).mean(axis=(1, 2))
                continue
            part[:] = _cross_entropy_sorted(z, classes)
            if not np.isfinite(part).all():  # some z_k - z_y beyond exp's range: those particles again, shifted
                overflow = ~np.isfinite(part)
                rows = block[overflow]
                z = net.block_logits(XT, rows, work_array("logits", (len(rows), net.n_outputs, n_items), self.dtype))
                part[overflow] = _cross_entropy_sorted(z, classes, stable=True)
        return errors

    def error_and_gradient(self, w, idx: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """``E`` and ``dE/dw`` (no penalty) on all items or the rows ``idx``, by backprop."""
        w = self.net.check_vector(w)
        if w.ndim != 1:
            raise ValueError(f"the gradient takes one vector of shape ({self.net.n_params},), got {w.shape}")
        if self.device is not None:
            err, g = self._backend.error_and_gradient(w, idx)
            return _saturate(np.float64(err)), _saturate_vector(g)
        with np.errstate(over="ignore", invalid="ignore"):
            return self._backprop(w if w.dtype == self.dtype else w.astype(self.dtype), idx)

    def _backprop(self, w: np.ndarray, idx: np.ndarray | None) -> tuple[float, np.ndarray]:
        """One vector, items-major ``(m, width)`` activations (a mini-batch is too small for the
        swarm path's class-major layout to pay)."""
        net = self.net
        X, T = (self._X, self._T) if idx is None else (self._X[idx], self._T[idx])
        layers = net._layer_views(w)
        acts = net._forward_layers(X, layers)
        logits = acts[-1]
        n = X.shape[0]
        if self.loss == "cross_entropy":
            labels = self._labels if idx is None else self._labels[idx]
            loss, delta = _softmax_cross_entropy(logits, labels)
            err = _saturate(loss.mean())
            delta[np.arange(n), labels] -= 1.0  # softmax - onehot
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

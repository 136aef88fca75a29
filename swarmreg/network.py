"""A feed-forward network whose weights and biases live in one flat vector.

Layout (the order of pyswarms' network tutorial): layer by layer, the weight matrix ``W`` of shape
``(fan_in, fan_out)`` row-major, then its bias ``b``; a layer computes ``act(x @ W + b)``.

Evaluating a whole swarm (:meth:`Network.swarm_logits`) keeps one BLAS call per particle and layer,
of the same shape as for a single vector, so float64 results do not depend on the swarm size (see
that method for the layouts and why).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy.special import expit

HIDDEN_ACTIVATIONS = ("tanh", "relu", "sigmoid")
OUTPUTS = ("softmax", "identity")


def _activate(name: str, z: np.ndarray) -> np.ndarray:
    """Apply a hidden activation in place and return ``z``."""
    if name == "tanh":
        return np.tanh(z, out=z)
    if name == "relu":
        return np.maximum(z, 0.0, out=z)
    return expit(z, out=z)


def activation_derivative(name: str, a: np.ndarray) -> np.ndarray:
    """Derivative of a hidden activation, written in terms of its output ``a``."""
    if name == "tanh":
        return 1.0 - a * a
    if name == "relu":
        return (a > 0).astype(a.dtype)
    return a * (1.0 - a)


@lru_cache(maxsize=256)
def _bias_rows(n_items: int, width: int) -> int:
    """The largest divisor of ``n_items`` with ``rows * width <= 128`` (at least 1)."""
    return max(r for r in range(1, max(1, 128 // width) + 1) if n_items % r == 0)


def _add_bias_rows(z: np.ndarray, b: np.ndarray) -> None:
    """``z += b[:, None, :]`` for ``z`` ``(p, N, width)`` contiguous and biases ``b`` ``(p, width)``.

    Broadcast over the N items, numpy's inner loop spans only ``width`` values, which for narrow
    layers costs twice the add itself. Here the bias is tiled ``rows`` deep (``rows`` the largest
    divisor of N with ``rows * width <= 128``) and added to a view of ``rows`` items at a time.
    """
    p, n_items, width = z.shape
    rows = _bias_rows(n_items, width)
    if rows == 1:
        z += b[:, None, :]
        return
    view = z.reshape(p, n_items // rows, rows * width)
    view += np.tile(b, rows)[:, None, :]


class Network:
    """Layer sizes, activations and the flat-vector layout of a multilayer perceptron.

    >>> net = Network((4, 8, 3))
    >>> net.n_params
    67
    """

    def __init__(self, sizes: Sequence[int], hidden: str = "tanh", output: str = "softmax"):
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
            raise TypeError(f"sizes must be a sequence of layer sizes, got {sizes!r}")
        if len(sizes) < 2:
            raise ValueError(f"sizes needs at least an input and an output layer, got {tuple(sizes)!r}")
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1:
                raise ValueError(f"sizes must be positive ints, got {s!r} in {tuple(sizes)!r}")
        if hidden not in HIDDEN_ACTIVATIONS:
            raise ValueError(f"hidden must be one of {HIDDEN_ACTIVATIONS}, got {hidden!r}")
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        self.sizes = tuple(int(s) for s in sizes)
        self.hidden = hidden
        self.output = output
        # (weight slice, bias slice, fan_in, fan_out) per layer, in flat-vector order
        self._slices = []
        offset = 0
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            w = slice(offset, offset + fan_in * fan_out)
            b = slice(w.stop, w.stop + fan_out)
            self._slices.append((w, b, fan_in, fan_out))
            offset = b.stop
        self.n_params = offset
        mask = np.zeros(offset, dtype=bool)
        for w, _, _, _ in self._slices:
            mask[w] = True
        mask.flags.writeable = False
        self.weight_mask = mask

    def __repr__(self) -> str:
        return f"Network({self.sizes}, hidden={self.hidden!r}, output={self.output!r})"

    @property
    def n_inputs(self) -> int:
        return self.sizes[0]

    @property
    def n_outputs(self) -> int:
        return self.sizes[-1]

    @property
    def init_scale(self) -> np.ndarray:
        """Per-parameter Glorot bound ``sqrt(f / (fan_in + fan_out))``, f = 2 for sigmoid, else 6.

        The same bound scikit-learn's MLP draws its weights and biases from.
        """
        factor = 2.0 if self.hidden == "sigmoid" else 6.0
        scale = np.empty(self.n_params)
        for w, b, fan_in, fan_out in self._slices:
            bound = np.sqrt(factor / (fan_in + fan_out))
            scale[w] = bound
            scale[b] = bound
        return scale

    def init(self, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
        """Draw weights and biases from U(-bound, bound), ``bound = init_scale``.

        One vector ``(n_params,)`` when ``n`` is None, else a swarm ``(n, n_params)``.
        """
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        shape = (self.n_params,) if n is None else (int(n), self.n_params)
        return rng.uniform(-1.0, 1.0, size=shape) * self.init_scale

    def check_vector(self, w: np.ndarray, name: str = "w") -> np.ndarray:
        """Return ``w`` as a float array of shape ``(n_params,)`` or ``(P, n_params)``."""
        arr = np.asarray(w)
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
        if arr.ndim not in (1, 2) or arr.shape[-1] != self.n_params:
            raise ValueError(
                f"{name} must have shape ({self.n_params},) or (P, {self.n_params}), got {arr.shape}"
            )
        if arr.ndim == 2 and arr.shape[0] == 0:
            raise ValueError(f"{name} is an empty swarm (shape {arr.shape}); give at least one row")
        return arr

    def unpack(self, w: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Views ``[(W1, b1), ...]``; for a swarm ``(P, n)`` they gain a leading particle axis."""
        w = self.check_vector(w)
        lead = w.shape[:-1]
        return [
            (w[..., ws].reshape(*lead, fi, fo), w[..., bs].reshape(*lead, fo))
            for ws, bs, fi, fo in self._slices
        ]

    def pack(self, layers: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Inverse of :meth:`unpack`: concatenate ``W`` (row-major) then ``b`` per layer."""
        if len(layers) != len(self._slices):
            raise ValueError(f"layers must hold {len(self._slices)} (W, b) pairs, got {len(layers)}")
        parts = []
        for (W, b), (_, _, fi, fo) in zip(layers, self._slices):
            W, b = np.asarray(W), np.asarray(b)
            if W.shape[-2:] != (fi, fo) or b.shape[-1:] != (fo,):
                raise ValueError(f"layer shapes must be ({fi}, {fo}) and ({fo},), got {W.shape} and {b.shape}")
            lead = W.shape[:-2]
            parts += [W.reshape(*lead, fi * fo), b.reshape(*lead, fo)]
        return np.concatenate(parts, axis=-1)

    def activations(self, X: np.ndarray, w: np.ndarray) -> list[np.ndarray]:
        """Every layer's output, input first; the last entry is pre-output-activation logits.

        For a swarm each entry has shape ``(P, N, width)``: one GEMM per particle and layer.
        """
        return self._forward_layers(X, self.unpack(w))

    def _forward_layers(self, X: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
        """:meth:`activations` for layers already unpacked (the gradient's hot loop skips the checks)."""
        acts = [X]
        for i, (W, b) in enumerate(layers):
            z = np.matmul(acts[-1], W)
            z += b[..., None, :]
            if i < len(layers) - 1:
                _activate(self.hidden, z)
            acts.append(z)
        return acts

    def swarm_logits(self, X: np.ndarray, W: np.ndarray, block_bytes: int = 1 << 19,
                     stack_first: bool = False) -> np.ndarray:
        """Pre-activation outputs of a swarm ``W`` ``(P, n_params)`` on ``X`` ``(N, n_in)``, class-major:
        an array ``(n_out, P, N)``.

        ``X`` and ``W`` must share a float dtype, which is the result's. Hidden layers are computed
        for blocks of particles whose widest layer takes about ``block_bytes``, so memory stays
        bounded whatever the swarm and data size.

        Layouts, profile-guided (numpy 2.4, OpenBLAS, iris 4-20-3, 100 particles, float64):

        - Hidden activations are ``(p, N, width)``, particles outermost, each particle's matrix
          contiguous, and every layer is one GEMM per particle, ``(N, fan_in) @ (fan_in, fan_out)``:
          the very calls a single vector makes, and the calls the implementation before issue 5
          made. OpenBLAS's bits depend on a call's shape and orientation (a transposed product,
          or one GEMM over the stacked weights of all particles, differ in the last bits for some
          shapes), so float64 results stay what they were, whatever the swarm size. Contiguous
          operands also make these GEMMs 20-30% faster than strided ones (an items-outermost
          layout, ``(N, p, width)``, which makes the bias add contiguous, was slower overall).
        - The bias add broadcasts over items, and numpy's inner loop would then span only
          ``width`` values (20 here: the add took 0.16 ms, against 0.07 ms below and 0.23 ms for
          ``tanh`` of all 300,000 hidden values, the floor): :func:`_add_bias_rows` adds it a few
          items deep at a time.
        - The output is returned class-major, so a loss over the K classes is K elementwise passes
          over contiguous ``(P, N)`` slabs instead of reductions over a trailing axis of length K
          (softmax over 3 classes laid out last cost more than the matrix products). The output
          layer's GEMMs write ``(p, N, K)`` blocks, copied transposed (a small copy: K values per
          item and particle); its bias is then added over the contiguous item axis.
        - ``stack_first=True`` computes the first layer, whose input all particles share, as one
          GEMM ``[W1_1; W1_2; ...]^T-stacked @ X.T``, giving ``(p, width, N)`` (items last; the bias
          add runs over items), which the next layer's per-particle GEMMs read transposed. A
          hundred small BLAS calls become one; used for float32, whose bits are not pinned.
        """
        n_items, n_particles = X.shape[0], W.shape[0]
        *hidden, (ws_out, bs_out, fan_in_out, n_out) = self._slices
        out = np.empty((n_out, n_particles, n_items), dtype=X.dtype)
        widest = max(self.sizes[1:-1], default=1)
        step = max(1, block_bytes // (n_items * widest * X.itemsize))
        for start in range(0, n_particles, step):
            block = W[start:start + step]
            p = block.shape[0]
            h = X  # the input, shared by every particle: matmul broadcasts it
            for i, (ws, bs, fan_in, fan_out) in enumerate(hidden):
                weights = block[:, ws].reshape(p, fan_in, fan_out)
                if i == 0 and stack_first:
                    stacked = weights.transpose(0, 2, 1).reshape(p * fan_out, fan_in)
                    z = (stacked @ X.T).reshape(p, fan_out, n_items)
                    z += block[:, bs][:, :, None]
                    _activate(self.hidden, z)
                    h = z.transpose(0, 2, 1)  # (p, N, width) views, column-major
                    continue
                h = np.matmul(h, weights)
                _add_bias_rows(h, block[:, bs])
                _activate(self.hidden, h)
            logits = np.matmul(h, block[:, ws_out].reshape(p, fan_in_out, n_out))  # (p, N, K)
            out[:, start:start + p] = logits.transpose(2, 0, 1)
        out += W[:, bs_out].T[:, :, None]
        return out

    def _layer_views(self, w: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """``[(W, b), ...]`` views of one flat vector, without :meth:`unpack`'s checks (hot loops)."""
        return [(w[ws].reshape(fi, fo), w[bs]) for ws, bs, fi, fo in self._slices]

    def forward(self, X: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Network outputs: ``(N, n_out)`` for one vector, ``(P, N, n_out)`` for a swarm."""
        X = np.asarray(X, dtype=float)
        out = self.activations(X, self.check_vector(w))[-1]
        if self.output == "softmax":
            out = out - out.max(axis=-1, keepdims=True)
            np.exp(out, out=out)
            out /= out.sum(axis=-1, keepdims=True)
        return out

    def predict(self, X: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Class labels (argmax) for softmax output, the outputs themselves for identity."""
        out = self.forward(X, w)
        if self.output == "softmax":
            return out.argmax(axis=-1)
        return out

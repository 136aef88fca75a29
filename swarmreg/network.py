"""A feed-forward network whose weights and biases live in one flat vector.

Layout (the order of pyswarms' network tutorial): layer by layer, the weight matrix ``W`` of shape
``(fan_in, fan_out)`` row-major, then its bias ``b``; a layer computes ``act(x @ W + b)``.

A whole swarm is evaluated at once (:meth:`Network.block_logits`): the first layer of every
particle in one GEMM, each particle's activations and logits laid out ``(width, items)``, items
contiguous (see that method for the layouts and why).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import expit

from ._workspace import work_array

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


def inputs_with_ones(X: np.ndarray) -> np.ndarray:
    """``[X, 1]`` transposed: ``(n_in + 1, N)``, C-contiguous, in ``X``'s dtype.

    Multiplied by a first layer's ``[W; b]`` (``W`` and ``b`` are adjacent in the flat vector) it
    gives ``x @ W + b`` in the GEMM itself, with no pass over the activations to add the bias.
    """
    XT = np.empty((X.shape[1] + 1, X.shape[0]), dtype=X.dtype)
    XT[:-1] = X.T
    XT[-1] = 1.0
    return XT


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

    def swarm_logits(self, X: np.ndarray, W: np.ndarray, block_bytes: int = 1 << 22) -> np.ndarray:
        """Pre-activation outputs of a swarm ``W`` ``(P, n_params)`` on ``X`` ``(N, n_in)``, class-major:
        an array ``(n_out, P, N)``.

        ``X`` and ``W`` must share a float dtype, which is the result's. Computed by
        :meth:`block_logits` for blocks of :meth:`block_size` particles.
        """
        XT = inputs_with_ones(X)
        out = np.empty((W.shape[0], self.n_outputs, X.shape[0]), dtype=X.dtype)
        step = self.block_size(X.shape[0], X.itemsize, block_bytes)
        for start in range(0, W.shape[0], step):
            self.block_logits(XT, W[start:start + step], out[start:start + step])
        return out.transpose(1, 0, 2)

    def block_size(self, n_items: int, itemsize: int, block_bytes: int) -> int:
        """Particles per block so that the block's widest layer takes about ``block_bytes`` (at least 1)."""
        return max(1, block_bytes // (n_items * max(self.sizes[1:]) * itemsize))

    def block_logits(self, XT: np.ndarray, W: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Pre-activation outputs of the particles ``W`` ``(p, n_params)`` written into ``out``
        ``(p, n_out, N)`` (C-contiguous) and returned; ``XT = inputs_with_ones(X)``, same dtype as ``W``.

        - The first layer is one GEMM for all ``p`` particles: their ``[W1; b1]`` stacked as
          ``(p * width, n_in + 1)`` times ``XT``. Its result is ``(p, width, N)``: each particle's
          activations ``(width, N)``, contiguous, items last.
        - Every later layer is a GEMM per particle, ``W^T (fan_out, fan_in) @ h (fan_in, N)``, over
          the stack (numpy's ``matmul``); biases are added over the contiguous item axis.
        - Logits come out ``(n_out, N)`` per particle: a loss over the classes is then a few
          elementwise passes over ``(p, N)`` slabs, items contiguous, not reductions over a
          trailing axis of length n_out (written class-major, ``(n_out, p, N)``, through a
          transposed view, the output layer's GEMMs took twice as long on digits 64-32-10).
        Hidden activations live in per-thread work arrays (:mod:`swarmreg._workspace`).
        """
        p, n_items, dtype = W.shape[0], XT.shape[1], XT.dtype
        (ws, bs, fan_in, width), *later = self._slices
        stacked = work_array("first_layer", (p, width, fan_in + 1), dtype)
        stacked[...] = W[:, ws.start:bs.stop].reshape(p, fan_in + 1, width).transpose(0, 2, 1)
        h = work_array("hidden0", (p, width, n_items), dtype)
        np.matmul(stacked.reshape(p * width, fan_in + 1), XT, out=h.reshape(p * width, n_items))
        if not later:  # no hidden layer: the first layer is the output
            out[...] = h
            return out
        _activate(self.hidden, h)
        for i, (ws, bs, fan_in, fan_out) in enumerate(later[:-1], start=1):
            z = work_array(f"hidden{i % 2}", (p, fan_out, n_items), dtype)
            np.matmul(W[:, ws].reshape(p, fan_in, fan_out).transpose(0, 2, 1), h, out=z)
            z += W[:, bs][:, :, None]
            h = _activate(self.hidden, z)
        ws, bs, fan_in, fan_out = later[-1]
        np.matmul(W[:, ws].reshape(p, fan_in, fan_out).transpose(0, 2, 1), h, out=out)
        out += W[:, bs][:, :, None]
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

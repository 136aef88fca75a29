"""The objective's error ``E`` and its gradient on a JAX device, the data moved there once.

A swarm ``W`` ``(P, n_params)`` is one jitted batched forward: the first layer of every particle as one
GEMM (``(N, fan_in) @ (fan_in, P * width)``), each later layer a batched GEMM over the particles.
The cross-entropy is swarmreg's shifted formula, ``-log softmax(z)[y] = a + log1p(sum over k != y of
exp(z_k - z_y - a) + expm1(-a))`` with ``a = max_k (z_k - z_y)``: accurate to rounding for a tiny
loss, and no overflow. The gradient is ``jax.grad`` of that error (exact: the same function
differentiated, ``a`` held constant since ``E`` does not depend on it).

Every call runs under ``jax.enable_x64(True)``, a thread-local switch: float64 objectives get
float64 arrays without turning on JAX's process-wide ``jax_enable_x64``, so a user's own JAX code
keeps its float32 defaults.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..network import Network

GPU_NAMES = ("gpu", "cuda")


def resolve_device(device: object) -> jax.Device:
    """The JAX device for ``"cpu"``, ``"gpu"``/``"cuda"`` or either with ``":<index>"``; a ``ValueError``
    naming the devices found when it is not there."""
    if not isinstance(device, str):
        raise TypeError(f"device must be a str such as 'cpu', 'cuda' or 'cuda:1', got {device!r}")
    kind, _, index = device.partition(":")
    if kind not in ("cpu", *GPU_NAMES) or (index and not index.isdigit()):
        raise ValueError(f"device must be 'cpu', 'gpu', 'cuda' or one of them with ':<index>', got {device!r}")
    try:
        devices = jax.devices("gpu" if kind in GPU_NAMES else "cpu")
    except RuntimeError:
        found = ", ".join(f"{d.platform}:{d.id}" for d in jax.devices())
        raise ValueError(f"device {device!r}: JAX {jax.__version__} found no GPU, only {found} "
                         "(a GPU needs jax[cuda12] and an NVIDIA driver)") from None
    i = int(index or 0)
    if i >= len(devices):
        raise ValueError(f"device {device!r}: JAX found {len(devices)} {kind} device(s), "
                         f"{', '.join(f'{kind}:{d.id}' for d in devices)}")
    return devices[i]


def device_name(device: jax.Device) -> str:
    """``"cpu"``, ``"cuda:0"``...: how swarmreg spells a JAX device."""
    return "cpu" if device.platform == "cpu" else f"cuda:{device.id}" if device.platform == "gpu" \
        else f"{device.platform}:{device.id}"


_ACTIVATIONS = {"tanh": jnp.tanh, "relu": jax.nn.relu, "sigmoid": jax.nn.sigmoid}


class DeviceEvaluator:
    """``E`` of a network on ``(X, y)`` held on one device, for swarms, mini-batches and gradients.

    ``precision`` is one of :data:`swarmreg.backends.DEVICE_DTYPES`; ``loss`` ``"cross_entropy"``
    (``targets`` int labels ``(N,)``) or ``"mse"`` (``targets`` ``(N, K)``). Host arrays in, host
    float64 out; the ``*_device`` methods take and give device arrays (the native methods' path).
    """

    def __init__(self, net: Network, X: np.ndarray, targets: np.ndarray, loss: str, precision: str,
                 device: jax.Device, lam: float, penalty_mask: np.ndarray):
        self.net, self.loss, self.precision, self.device, self.lam = net, loss, precision, device, lam
        self.dtype = np.dtype("float64" if precision == "float64" else "float32")
        self._gemm_dtype = jnp.bfloat16 if precision == "bfloat16" else None
        self._precision = jax.lax.Precision.DEFAULT if precision in ("tf32", "bfloat16") \
            else jax.lax.Precision.HIGHEST
        self._layers = [(ws.start, bs.start, bs.stop, fi, fo) for ws, bs, fi, fo in net._slices]
        with jax.enable_x64(True):
            self.X = jax.device_put(np.asarray(X, self.dtype), device)
            self.targets = jax.device_put(np.asarray(targets, np.int32 if loss == "cross_entropy" else self.dtype),
                                          device)
            self.mask = jax.device_put(np.asarray(penalty_mask, self.dtype), device)
        self._swarm = jax.jit(self._swarm_errors)
        self._batch = jax.jit(self._batch_errors)
        self._grad = jax.jit(jax.value_and_grad(self._one_error))
        self._values = jax.jit(self._swarm_values)
        self._checked_grad = jax.jit(self._checked_error_and_gradient)

    def _gemm(self, spec: str, a: jax.Array, b: jax.Array) -> jax.Array:
        if self._gemm_dtype is not None:
            return jnp.einsum(spec, a.astype(self._gemm_dtype), b.astype(self._gemm_dtype),
                              preferred_element_type=jnp.float32)
        return jnp.einsum(spec, a, b, precision=self._precision)

    def logits(self, W: jax.Array, X: jax.Array) -> jax.Array:
        """Pre-activation outputs ``(P, N, K)`` of the swarm ``W`` ``(P, n_params)`` on ``X`` ``(N, n_in)``."""
        P = W.shape[0]
        act = _ACTIVATIONS[self.net.hidden]
        h = X
        for i, (w0, b0, b1, fan_in, fan_out) in enumerate(self._layers):
            Wl = W[:, w0:b0].reshape(P, fan_in, fan_out)
            z = self._gemm("nf,pfo->pno" if i == 0 else "pnf,pfo->pno", h, Wl) + W[:, None, b0:b1]
            h = act(z) if i < len(self._layers) - 1 else z
        return h

    def _errors_on(self, W: jax.Array, X: jax.Array, targets: jax.Array) -> jax.Array:
        """``E`` of each particle ``(P,)`` on the items ``(X, targets)``."""
        z = self.logits(W, X)
        if self.loss == "mse":
            return 0.5 * jnp.mean(jnp.square(z - targets[None]), axis=(1, 2))
        is_target = jnp.arange(z.shape[2]) == targets[:, None]  # (N, K)
        d = z - jnp.sum(jnp.where(is_target, z, 0.0), axis=2, keepdims=True)
        a = jax.lax.stop_gradient(jnp.max(d, axis=2, keepdims=True))  # >= 0: d is 0 at the target
        rest = jnp.sum(jnp.where(is_target, 0.0, jnp.exp(d - a)), axis=2, keepdims=True)
        return jnp.mean((a + jnp.log1p(rest + jnp.expm1(-a)))[..., 0], axis=1)

    def _swarm_errors(self, W: jax.Array) -> jax.Array:
        return self._errors_on(W, self.X, self.targets)

    def _batch_errors(self, W: jax.Array, idx: jax.Array) -> jax.Array:
        return self._errors_on(W, self.X[idx], self.targets[idx])

    def _one_error(self, w: jax.Array, idx: jax.Array | None) -> jax.Array:
        X, targets = (self.X, self.targets) if idx is None else (self.X[idx], self.targets[idx])
        return self._errors_on(w[None], X, targets)[0]

    def to_device(self, W: np.ndarray) -> jax.Array:
        with jax.enable_x64(True):
            return jax.device_put(np.asarray(W, self.dtype), self.device)

    def _indices(self, idx: np.ndarray | None) -> jax.Array | None:
        return None if idx is None else jax.device_put(np.asarray(idx, np.int32), self.device)

    def errors_device(self, W: jax.Array, idx: jax.Array | None = None) -> jax.Array:
        """``E`` ``(P,)`` of a device swarm, on all items or the rows ``idx`` (a device int array)."""
        with jax.enable_x64(True):
            return self._swarm(W) if idx is None else self._batch(W, idx)

    def error_and_gradient_device(self, w: jax.Array, idx: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
        """``E`` and ``dE/dw`` of one device vector, on all items or the rows ``idx``."""
        with jax.enable_x64(True):
            return self._grad(w, idx)

    def errors(self, W: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        """``E`` of each row of the host swarm ``W`` ``(P, n_params)``, as float64 on the host."""
        return np.asarray(self.errors_device(self.to_device(W), self._indices(idx)), dtype=np.float64)

    def error_and_gradient(self, w: np.ndarray, idx: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """``E`` and ``dE/dw`` of one host vector, as a float and a float64 host array."""
        err, g = self.error_and_gradient_device(self.to_device(w), self._indices(idx))
        return float(err), np.asarray(g, dtype=np.float64)

    def _swarm_values(self, W: jax.Array) -> jax.Array:
        """``J`` of each particle, past the dtype's range (and NaN) reported as its largest number."""
        values = self._swarm_errors(W)
        if self.lam:
            values = values + self.lam * jnp.sum(jnp.square(W) * self.mask, axis=1)
        return jnp.fmin(values, jnp.finfo(values.dtype).max)

    def _checked_error_and_gradient(self, w: jax.Array, idx: jax.Array | None) -> tuple[jax.Array, jax.Array]:
        """``E`` (inf where it or any gradient entry is not finite) and ``dE/dw``: one scalar to check."""
        err, g = jax.value_and_grad(self._one_error)(w, idx)
        return jnp.where(jnp.isfinite(err) & jnp.all(jnp.isfinite(g)), err, jnp.inf), g

    def values_device(self, W: jax.Array) -> jax.Array:
        """``J`` ``(P,)`` of a device swarm, penalty included, on the device in the working dtype."""
        with jax.enable_x64(True):
            return self._values(W)

    def best_of(self, values: jax.Array, W: jax.Array) -> tuple[float, np.ndarray]:
        """The lowest of a device swarm's values and its row, on the host (float64)."""
        with jax.enable_x64(True):
            i = int(jnp.argmin(values))
            return float(values[i]), np.asarray(W[i], dtype=np.float64)

    def checked_error_and_gradient_device(self, w: jax.Array, idx: np.ndarray | None) -> tuple[float, jax.Array]:
        """``E`` as a float (inf when ``E`` or the gradient is not finite) and ``dE/dw`` on the device."""
        with jax.enable_x64(True):
            err, g = self._checked_grad(w, self._indices(idx))
            return float(err), g

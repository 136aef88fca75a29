"""Accelerator backends of :class:`swarmreg.Objective` (``device=...``): JAX, the optional extra ``swarmreg[jax]``.

JAX was chosen by measurement (``benchmarks/device_prototypes.py``): its ``jit`` fuses the batched
forward, and it beat eager PyTorch at equal precision on every problem size measured.
"""

from __future__ import annotations

DEVICE_DTYPES = ("float64", "float32", "tf32", "bfloat16")
"""Precisions of a device objective: float64 and float32 arrays and GEMMs; ``"tf32"``, float32 arrays
with the backend's default GEMM precision (TF32 on NVIDIA GPUs from Ampere on; float32 on a CPU);
``"bfloat16"``, float32 arrays whose GEMM inputs are rounded to bfloat16, accumulated in float32."""


def jax_backend():
    """The module :mod:`swarmreg.backends.jax`; a ``ValueError`` saying how to install JAX if it is missing."""
    try:
        from . import jax as backend
    except ImportError as exc:
        raise ValueError(f"a device objective needs JAX ({exc}): pip install 'swarmreg[jax]' "
                         "(the CPU build; for NVIDIA GPUs also pip install 'jax[cuda12]')") from None
    return backend

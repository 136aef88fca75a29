"""Which accelerator backend: the swarm objective ``J(W)`` written plainly in JAX and in PyTorch, against
swarmreg's numpy path, on this machine's CPU (and on a GPU where there is one).

    python -m benchmarks.device_prototypes            # the problems that fit in a few GB
    python -m benchmarks.device_prototypes --quick    # fewer repeats
    python -m benchmarks.device_prototypes --large    # also the 784-input problems (GBs of activations)

Each prototype is the batched forward every backend would run: the first layer of all particles as
one contraction, ``tanh``, the output layer per particle, the mean cross-entropy by ``logsumexp``
minus the target logit. JAX: ``jax.jit`` of it. PyTorch: eager, and ``torch.compile`` of it where
that compiles (it needs a C++ compiler on the CPU). PyTorch is optional: install it only to run this
(``pip install torch --index-url https://download.pytorch.org/whl/cpu``); swarmreg never needs it.
Every value is checked against swarmreg's float64 ``Objective``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: import benchmarks and swarmreg from this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._timing import calls_for, fmt_time, interleaved  # noqa: E402

PROBLEMS = {  # name: (sizes, items, particles); items are the (70% of iris and digits)
    "iris 4-20-3": ((4, 20, 3), 105, 100),
    "digits 64-32-10": ((64, 32, 10), 1257, 100),
    "digits 64-256-10": ((64, 256, 10), 1257, 1000),
    "784-128-10": ((784, 128, 10), 10000, 256),
    "784-256-128-10": ((784, 256, 128, 10), 10000, 1024),
}
LARGE = ("784-128-10", "784-256-128-10")


def data(sizes: tuple[int, ...], n_items: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """iris and digits (first ``n_items``, standardized) for their sizes; random data for the others."""
    from sklearn import datasets

    if sizes[0] in (4, 64):
        X, y = (datasets.load_iris if sizes[0] == 4 else datasets.load_digits)(return_X_y=True)
        X, y = X[:n_items], y[:n_items]
    else:
        X, y = rng.standard_normal((n_items, sizes[0])), rng.integers(0, sizes[-1], n_items)
    return (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0), y


def setup(name: str):
    """``(sizes, n_items, n_particles, X, y, net, rng)`` of the problem ``name``, the data drawn from seed 0."""
    import swarmreg as sr

    sizes, n_items, n_particles = PROBLEMS[name]
    rng = np.random.default_rng(0)
    X, y = data(sizes, n_items, rng)
    return sizes, n_items, n_particles, X, y, sr.Network(sizes), rng


def layer_slices(sizes: tuple[int, ...]) -> list[tuple[int, int, int, int]]:
    """``(start, bias start, fan_in, fan_out)`` of each layer in swarmreg's flat layout."""
    out, offset = [], 0
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        out.append((offset, offset + fan_in * fan_out, fan_in, fan_out))
        offset += fan_in * fan_out + fan_out
    return out


def jax_objective(sizes, X, y, dtype):
    import jax
    import jax.numpy as jnp

    X, y = jnp.asarray(X, dtype), jnp.asarray(y)
    slices = layer_slices(sizes)

    @jax.jit
    def f(W):
        P = W.shape[0]
        h = X
        for i, (w0, b0, fi, fo) in enumerate(slices):
            Wl, bl = W[:, w0:b0].reshape(P, fi, fo), W[:, b0:b0 + fo][:, None, :]
            h = (jnp.einsum("nf,pfo->pno", h, Wl) if i == 0 else jnp.einsum("pnf,pfo->pno", h, Wl)) + bl
            if i < len(slices) - 1:
                h = jnp.tanh(h)
        target = jnp.take_along_axis(h, jnp.broadcast_to(y[None, :, None], (P, len(y), 1)), axis=2)[..., 0]
        return jnp.mean(jax.nn.logsumexp(h, axis=2) - target, axis=1)

    return lambda W: f(W).block_until_ready()


def torch_objective(sizes, X, y, dtype, compiled: bool):
    import torch

    X, y = torch.as_tensor(X, dtype=dtype), torch.as_tensor(y)
    slices = layer_slices(sizes)

    def f(W):
        P = W.shape[0]
        h = X
        for i, (w0, b0, fi, fo) in enumerate(slices):
            Wl, bl = W[:, w0:b0].reshape(P, fi, fo), W[:, b0:b0 + fo][:, None, :]
            h = (torch.matmul(h, Wl) if i > 0 else torch.einsum("nf,pfo->pno", h, Wl)) + bl
            if i < len(slices) - 1:
                h = torch.tanh(h)
        target = h.gather(2, y[None, :, None].expand(P, len(y), 1))[..., 0]
        return (torch.logsumexp(h, dim=2) - target).mean(dim=1)

    f = torch.compile(f) if compiled else f

    def run(W):
        with torch.no_grad():
            return f(W)

    return run


def measure(name: str, quick: bool, with_torch: bool) -> list[str]:
    import jax
    import jax.numpy as jnp

    import swarmreg as sr

    sizes, n_items, n_particles, X, y, net, rng = setup(name)
    W = net.init(rng, n_particles)
    ref = sr.Objective(net, X, y)(W)
    candidates, values = {}, {}
    for dtype in ("float64", "float32"):
        obj = sr.Objective(net, X, y, dtype=dtype)
        candidates[f"swarmreg numpy {dtype}"] = lambda obj=obj: obj(W)
        values[f"swarmreg numpy {dtype}"] = obj(W)
        jdt = jnp.float64 if dtype == "float64" else jnp.float32
        f, Wj = jax_objective(sizes, X, y, jdt), jnp.asarray(W, jdt)
        candidates[f"JAX jit {dtype}"] = lambda f=f, Wj=Wj: f(Wj)
        values[f"JAX jit {dtype}"] = np.asarray(f(Wj), float)
        if with_torch:
            import torch

            tdt = torch.float64 if dtype == "float64" else torch.float32
            Wt = torch.as_tensor(W, dtype=tdt)
            for compiled in (False, True):
                label = f"PyTorch {'compile' if compiled else 'eager'} {dtype}"
                try:
                    g = torch_objective(sizes, X, y, tdt, compiled)
                    values[label] = g(Wt).double().numpy()
                except Exception as exc:  # torch.compile without a working C++ toolchain
                    print(f"    {label}: not run ({type(exc).__name__}: {str(exc).splitlines()[0][:80]})")
                    continue
                candidates[label] = lambda g=g, Wt=Wt: g(Wt)
    seconds = 0.05 if quick else 0.2
    times = interleaved({k: (fn, calls_for(fn, seconds)) for k, fn in candidates.items()}, repeat=3 if quick else 7)
    lines = [f"{name} ({net.n_params:,} weights; {n_items:,} items; {n_particles:,} particles), "
             f"on {jax.devices()[0].device_kind}"]
    for label, t in times.items():
        rel = float(np.max(np.abs(values[label] - ref) / np.abs(ref)))
        lines.append(f"    {label:<28} {fmt_time(t)}   [agrees with swarmreg float64 to {rel:.0e}]")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--large", action="store_true", help="also the 784-input problems")
    parser.add_argument("--only", nargs="+", choices=list(PROBLEMS), metavar="PROBLEM")
    args = parser.parse_args(argv)
    import jax

    jax.config.update("jax_enable_x64", True)  # float64 arrays where asked (float32 ones stay float32)
    try:
        import torch

        with_torch = True
        print(f"jax {jax.__version__}, torch {torch.__version__}, {torch.get_num_threads()} torch threads")
    except ImportError:
        with_torch = False
        print(f"jax {jax.__version__}; PyTorch not installed: its columns are left out")
    names = args.only or [n for n in PROBLEMS if args.large or n not in LARGE]
    for name in names:
        print("\n".join(measure(name, args.quick, with_torch)), flush=True)


if __name__ == "__main__":
    main()

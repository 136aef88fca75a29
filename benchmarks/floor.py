"""The swarm objective against the machine's floor: ``obj(W)`` for 100 particles in float64 and float32.

The floor is what no evaluation of these networks can avoid, timed in the same process with the
environment's BLAS as it is: the same FLOPs as single large GEMMs (layer by layer,
``(N, fan_in) @ (fan_in, P * fan_out)``), ``tanh`` over every hidden activation and ``exp`` over
every output. Goals: within 1.3x of it on digits 64-32-10 and within 1.6x on iris 4-20-3.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from benchmarks._timing import calls_for, fmt_time, interleaved, verdict

PARTICLES = 100


def floor_parts(n_items: int, sizes: tuple[int, ...], n_particles: int, dtype: str,
                rng: np.random.Generator) -> dict[str, Callable[[], object]]:
    """The floor's operations on arrays of the sizes a swarm evaluation has, by name."""
    parts: dict[str, Callable[[], object]] = {}
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        a = rng.standard_normal((n_items, fan_in)).astype(dtype)
        b = rng.standard_normal((fan_in, n_particles * fan_out)).astype(dtype)
        c = np.empty((n_items, n_particles * fan_out), dtype=dtype)
        parts[f"GEMM {n_items}x{fan_in} @ {fan_in}x{n_particles * fan_out}"] = \
            lambda a=a, b=b, c=c: np.matmul(a, b, out=c)
    hidden = rng.standard_normal(n_particles * n_items * sum(sizes[1:-1])).astype(dtype)
    hidden_out = np.empty_like(hidden)
    parts[f"tanh of {hidden.size:,}"] = lambda: np.tanh(hidden, out=hidden_out)
    outputs = rng.standard_normal(n_particles * n_items * sizes[-1]).astype(dtype)
    outputs_out = np.empty_like(outputs)
    parts[f"exp of {outputs.size:,}"] = lambda: np.exp(outputs, out=outputs_out)
    return parts


def target_floor(quick: bool) -> list[dict]:
    from sklearn.datasets import load_iris

    import swarmreg as sr

    X_iris, y_iris = load_iris(return_X_y=True)
    digits = sr.datasets.load("digits", seed=0)
    cases = [("iris", X_iris, y_iris, (4, 20, 3), 1.6),
             ("digits", digits.X_train, digits.y_train, (64, 32, 10), 1.3)]
    rng = np.random.default_rng(0)
    rows = []
    print(f"[7] obj(W) against the floor: {PARTICLES} particles; floor = the same FLOPs as single large GEMMs "
          f"+ tanh over every hidden activation + exp over every output")
    for name, X, y, sizes, goal in cases:
        net = sr.Network(sizes)
        W = net.init(np.random.default_rng(0), PARTICLES)
        for dtype in ("float64", "float32"):
            obj = sr.Objective(net, X, y, lam=0.01, dtype=dtype)
            parts = floor_parts(len(X), sizes, PARTICLES, dtype, rng)
            candidates = {key: (fn, calls_for(fn, 0.02)) for key, fn in parts.items()}
            evaluate = lambda obj=obj, W=W: obj(W)  # noqa: E731
            candidates["obj(W)"] = (evaluate, calls_for(evaluate, 0.02))
            t = interleaved(candidates, repeat=5 if quick else 15)
            floor = sum(t[key] for key in parts)
            ratio = t["obj(W)"] / floor
            label = f"{name} {'-'.join(map(str, sizes))} ({len(X)} items), {dtype}"
            print(f"    {label}: floor {fmt_time(floor).strip()} = "
                  + " + ".join(f"{key} {fmt_time(t[key]).strip()}" for key in parts))
            print(f"        obj(W) {fmt_time(t['obj(W)']).strip()} = {ratio:.2f}x the floor "
                  f"(target <= {goal}x)   {verdict(ratio <= goal)}")
            rows.append({"target": f"7 obj(W) {name} {dtype} vs floor", "figure": f"{ratio:.2f}x the floor",
                         "goal": f"<= {goal}x", "met": ratio <= goal})
    return rows

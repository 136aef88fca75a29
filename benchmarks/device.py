"""The device target: swarmreg's JAX objective and generations against plain jitted JAX on the same device.

    python -m benchmarks.run --device cpu [--quick] [--large]   # or cuda; only this target

Per problem and precision: swarmreg's device objective (device arrays in and out, the native
methods' call; and the host API ``obj(W)``, which copies W in and J out) against a plain ``jax.jit``
of the batched forward written here (the floor on that device) and against swarmreg's numpy path,
with the TFLOP/s each achieves (``2 * P * N * sum(fan_in * fan_out)`` FLOPs of GEMMs). Then one
generation: swarmreg's device PSO (move, J, personal bests: three dispatches and the budget's
bookkeeping) against the same generation as one plain ``jit``, and ``evosax:PSO`` and
``evosax:Open_ES`` through swarmreg against evosax's own ask/evaluate/tell fused in one ``jit``.
Goals on a GPU (the issue's): objective within 1.2x the floor, a generation within 1.3x the plain
loop and no slower than evosax's, 784-128-10 x 256 at least 50x faster than numpy float32.
"""

from __future__ import annotations

import numpy as np

from benchmarks._timing import calls_for, fmt_time, interleaved
from benchmarks.device_prototypes import LARGE, PROBLEMS, jax_objective, setup

PRECISIONS = ("float64", "float32", "tf32", "bfloat16")


def _flops(sizes: tuple[int, ...], n_items: int, n_particles: int) -> float:
    return 2.0 * n_particles * n_items * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def _time(candidates: dict, quick: bool) -> dict[str, float]:
    seconds = 0.05 if quick else 0.2
    return interleaved({k: (fn, calls_for(fn, seconds)) for k, fn in candidates.items()}, repeat=3 if quick else 7)


def objective_rows(name: str, device: str, quick: bool) -> list[dict]:
    import jax
    import jax.numpy as jnp

    import swarmreg as sr

    sizes, n_items, P, X, y, net, rng = setup(name)
    W = net.init(rng, P)
    flops = _flops(sizes, n_items, P)
    ref = sr.Objective(net, X, y)(W)
    rows = []
    print(f"  {name} ({net.n_params:,} weights; {n_items:,} items; {P:,} particles)")
    for precision in PRECISIONS:
        obj = sr.Objective(net, X, y, device=device, dtype=precision)
        Wd = obj._backend.to_device(W)
        with jax.enable_x64(True):
            plain = jax_objective(sizes, X, y, jnp.float64 if precision == "float64" else jnp.float32)
            Wp = jnp.asarray(W, jnp.float64 if precision == "float64" else jnp.float32)
        candidates = {"device": lambda obj=obj, Wd=Wd: obj._backend.values_device(Wd).block_until_ready(),
                      "host API": lambda obj=obj: obj(W), "plain jit": lambda plain=plain, Wp=Wp: plain(Wp)}
        if precision in ("float64", "float32"):
            numpy_obj = sr.Objective(net, X, y, dtype=precision)
            candidates["numpy"] = lambda numpy_obj=numpy_obj: numpy_obj(W)
        t = _time(candidates, quick)
        agree = float(np.max(np.abs(obj(W) - ref) / np.abs(ref)))
        line = (f"    {precision:8s} device {fmt_time(t['device'])} ({flops / t['device'] / 1e12:6.3f} TFLOP/s)"
                f"  = {t['device'] / t['plain jit']:5.2f}x the plain jit {fmt_time(t['plain jit'])};"
                f" host API {fmt_time(t['host API'])}")
        if "numpy" in t:
            line += f"; numpy {fmt_time(t['numpy'])}: device {t['numpy'] / t['device']:5.2f}x faster"
        print(line + f"  [agrees with float64 to {agree:.0e}]", flush=True)
        rows.append({"target": f"D {name} {precision}", "figure": f"{t['device'] / t['plain jit']:.2f}x the plain jit",
                     "goal": "<= 1.2x (GPU)", "met": t["device"] / t["plain jit"] <= 1.2})
    return rows


def generation_rows(name: str, device: str, quick: bool) -> list[dict]:
    """One PSO generation and one Open_ES generation, float32, against plain fused loops."""
    import jax
    import jax.numpy as jnp
    from evosax.algorithms import PSO, Open_ES

    import swarmreg as sr
    from swarmreg.backends.jax_methods import _pso_bests, _pso_move

    sizes, n_items, P, X, y, net, rng = setup(name)
    obj = sr.Objective(net, X, y, lam=0.001, device=device, dtype="float32")
    backend = obj._backend
    pos = backend.to_device(net.init(rng, P))
    vel, pbest, cost, best = jnp.zeros_like(pos), pos, backend.values_device(pos), pos[0]
    key = jax.random.key(0)
    w, c1, c2 = 0.7298, 1.49618, 1.49618

    def swarmreg_pso():  # the device pso's generation: three dispatches and the budget's argmin
        p, v = _pso_move(pos, vel, pbest, best, key, w, c1, c2, None)
        c = backend.values_device(p)
        float(c[int(c.argmin())])
        return _pso_bests(p, c, pbest, cost)[2].block_until_ready()

    @jax.jit
    def plain_generation(pos, vel, pbest, cost, best, key):
        p, v = _pso_move.__wrapped__(pos, vel, pbest, best, key, w, c1, c2, None)
        return _pso_bests.__wrapped__(p, backend._swarm_values(p), pbest, cost)

    def evosax_generation(es, state_key):
        params = es.default_params
        with jax.enable_x64(True):
            state = es.init(state_key, jnp.zeros(net.n_params, jnp.float32), params) if es is not pso_es else \
                es.init(state_key, pos, cost, params)

        @jax.jit
        def step(state, k):
            z, state = es.ask(k, state, params)
            return es.tell(k, z, backend._swarm_values(z), state, params)[0]

        return lambda: jax.block_until_ready(step(state, key))

    with jax.enable_x64(True):
        pso_es = PSO(population_size=P, solution=jnp.zeros(net.n_params, jnp.float32))
        open_es = Open_ES(population_size=P, solution=jnp.zeros(net.n_params, jnp.float32))
        t = _time({"swarmreg pso": lambda: jax.block_until_ready(swarmreg_pso()),
                   "plain pso": lambda: jax.block_until_ready(plain_generation(pos, vel, pbest, cost, best, key)),
                   "evosax PSO": evosax_generation(pso_es, key),
                   "evosax Open_ES": evosax_generation(open_es, key)}, quick)
    print(f"    one generation, float32, {P} particles: swarmreg pso {fmt_time(t['swarmreg pso'])} = "
          f"{t['swarmreg pso'] / t['plain pso']:.2f}x the plain fused loop {fmt_time(t['plain pso'])}; "
          f"evosax PSO {fmt_time(t['evosax PSO'])}, evosax Open_ES {fmt_time(t['evosax Open_ES'])} (fused in one jit)")
    ratio = t["swarmreg pso"] / t["plain pso"]
    return [{"target": f"D {name} pso generation", "figure": f"{ratio:.2f}x the plain loop",
             "goal": "<= 1.3x (GPU)", "met": ratio <= 1.3}]


def target_device(device: str, quick: bool, large: bool = False) -> list[dict]:
    import jax

    from swarmreg.backends.jax import resolve_device

    jax.config.update("jax_enable_x64", True)  # the plain forwards' float64 (swarmreg's own calls need no switch)
    found = resolve_device(device)
    print(f"[D] the device objective on {found} ({found.device_kind}), jax {jax.__version__}"
          + ("; no GPU: these are CPU-device figures" if found.platform == "cpu" else ""))
    rows = []
    for name in (n for n in PROBLEMS if large or n not in LARGE):
        rows += objective_rows(name, device, quick)
        rows += generation_rows(name, device, quick)
    return rows

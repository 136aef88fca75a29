"""The methods that wrap a library against that library called directly, and their costs of their own.

- [8] ``cma-es`` against a raw pycma ask/tell loop, ``de`` against ``scipy.optimize.differential_evolution
  (vectorized=True)``, ``nevergrad:NGOpt`` against nevergrad's own ask/tell loop: the same objective
  (iris 4-8-3, all 150 items), the same budget, the same start; goal: at most 1.1x the library's time.
- [9] ``openai-es`` and ``random-search``: the share of a run's time spent outside objective
  evaluations (``benchmarks/method_overhead.py``, in a fresh process); goal: at most 15%.
- [10] ``cma-es`` with default options on digits 64-256-10 (19,210 weights): peak RSS of a fresh
  process, as for PSO; goal: at most 600 MB.
- [11] an ``adam`` epoch against a ``backprop`` epoch on the same batches (digits 64-32-10, batch 32);
  goal: at most 1.1x.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchmarks._timing import fmt_time, interleaved, verdict

HERE = Path(__file__).resolve().parent


def _missing(number: int, methods: list[str]) -> list[dict]:
    import swarmreg as sr

    absent = [m for m in methods if m not in sr.METHODS]
    for m in absent:
        print(f"[{number}] method {m!r} is not in swarmreg.METHODS here: not measured")
    return [{"target": f"{number} {m}", "figure": "not available", "goal": "", "met": False} for m in absent]


def _iris():
    import swarmreg as sr

    d = sr.datasets.load("iris", test_size=0)
    net = sr.Network((4, 8, 3))
    return sr.Objective(net, d.X_train, d.y_train, lam=0.01)


def _pair(number: int, name: str, ours, theirs: dict, repeat: int, goal: float = 1.1) -> dict:
    """Time ``ours`` against each way of calling the library in ``theirs``; the ratio is to the fastest."""
    t = interleaved({**{key: (fn, 1) for key, fn in theirs.items()}, "swarmreg": (ours, 1)}, repeat=repeat)
    fastest = min(theirs, key=t.get)
    ratio = t["swarmreg"] / t[fastest]
    library = ", ".join(f"{key} {fmt_time(t[key]).strip()}" for key in theirs)
    print(f"    {name}: {library}; swarmreg {fmt_time(t['swarmreg']).strip()}"
          f" = {ratio:.2f}x the fastest (target <= {goal}x)   {verdict(ratio <= goal)}")
    return {"target": f"{number} {name}", "figure": f"{ratio:.2f}x the library's time", "goal": f"<= {goal}x",
            "met": ratio <= goal}


def target_library_pairs(quick: bool) -> list[dict]:
    import swarmreg as sr

    obj = _iris()
    net = obj.net
    x0 = net.init(np.random.default_rng(0))  # minimize's start for seed 0
    repeat = 3 if quick else 7
    rows = _missing(8, ["cma-es", "de"])
    print(f"[8] library-backed methods against the library called directly: iris ({obj.n_items} items), "
          f"4-8-3 ({net.n_params} weights), same start and budget")

    if "cma-es" in sr.METHODS:
        import cma

        from swarmreg.methods.cma_es import default_popsize

        budget = 5_000 if quick else 10_000
        popsize = default_popsize(net.n_params)

        from threadpoolctl import threadpool_limits

        def raw_cma():  # pycma's ask/tell idiom, stopped by its own tests or the budget
            es = cma.CMAEvolutionStrategy(x0, 1.0, {"popsize": popsize, "CMA_stds": net.init_scale, "seed": 1,
                                                    "verbose": -9, "verb_log": 0, "verb_disp": 0})
            evaluations = 0
            while not es.stop() and evaluations + popsize <= budget:
                X = es.ask()
                es.tell(X, obj(np.asarray(X)))
                evaluations += popsize

        def raw_cma_one_thread():  # pycma's eigendecompositions, like swarmreg's, on one BLAS thread
            with threadpool_limits(1, user_api="blas"):
                raw_cma()

        rows.append(_pair(8, f"cma-es vs pycma ask/tell ({budget:,} evaluations)",
                          lambda: sr.minimize(obj, "cma-es", budget=budget, seed=0),
                          {"pycma": raw_cma, "pycma, one BLAS thread": raw_cma_one_thread}, repeat))

    if "de" in sr.METHODS:
        from scipy.optimize import differential_evolution

        from swarmreg.methods.de import DEOptions

        budget = 10_000 if quick else 20_000
        opts = DEOptions()
        low, high = x0 - opts.width * net.init_scale, x0 + opts.width * net.init_scale

        def raw_de():
            rng = np.random.default_rng(1)
            init = x0 + net.init(rng, opts.population)
            init[0] = x0
            differential_evolution(lambda W: obj(W.T), np.column_stack([low, high]),
                                   maxiter=budget // opts.population - 1, init=init, x0=x0,
                                   mutation=(opts.mutation, opts.mutation_max),
                                   recombination=opts.recombination, tol=0.0, polish=False, rng=rng,
                                   vectorized=True, updating="deferred")

        rows.append(_pair(8, f"de vs scipy differential_evolution ({budget:,} evaluations)",
                          lambda: sr.minimize(obj, "de", budget=budget, seed=0), {"scipy": raw_de}, repeat))

    try:
        import nevergrad as ng
    except ImportError:
        print("    nevergrad is not installed: nevergrad:NGOpt not measured")
        return rows + [{"target": "8 nevergrad:NGOpt", "figure": "not available", "goal": "", "met": False}]
    budget = 1_000 if quick else 2_000
    step = net.init_scale

    def raw_nevergrad():
        optim = ng.optimizers.registry["NGOpt"](parametrization=ng.p.Array(shape=x0.shape), budget=budget,
                                                num_workers=1)
        for _ in range(budget):
            candidate = optim.ask()
            optim.tell(candidate, float(obj(x0 + step * candidate.value)))

    rows.append(_pair(8, f"nevergrad:NGOpt vs nevergrad ask/tell ({budget:,} evaluations)",
                      lambda: sr.minimize(obj, "nevergrad:NGOpt", budget=budget, seed=0),
                      {"nevergrad": raw_nevergrad}, repeat))
    return rows


def target_outside_objective(quick: bool) -> list[dict]:
    methods = ["openai-es", "random-search"]
    rows = _missing(9, methods)
    methods = [m for m in methods if not any(r["target"] == f"9 {m}" for r in rows)]
    budget = 20_000 if quick else 50_000
    out = subprocess.run([sys.executable, "-m", "benchmarks.method_overhead", *methods, "--budget", str(budget)],
                         cwd=HERE.parent, capture_output=True, text=True, check=True)
    print(f"[9] time outside objective evaluations: iris 4-8-3, budget {budget:,}, median of 3 seeds "
          f"(benchmarks/method_overhead.py)")
    for line in out.stdout.strip().splitlines():
        r = json.loads(line)
        share = r["outside_objective_share"]
        print(f"    {r['method']:14s} run {r['total_s']:.3f} s, in the objective {r['objective_s']:.3f} s: "
              f"{share:.1%} outside (target <= 15%)   {verdict(share <= 0.15)}")
        rows.append({"target": f"9 {r['method']} outside objective", "figure": f"{share:.1%} of the run",
                     "goal": "<= 15%", "met": share <= 0.15})
    return rows


def target_cma_memory(quick: bool) -> list[dict]:
    rows = _missing(10, ["cma-es"])
    if rows:
        return rows
    generations = 10 if quick else 30
    out = subprocess.run([sys.executable, str(HERE / "pso_memory.py"), "--method", "cma-es",
                          "--iterations", str(generations)], capture_output=True, text=True, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    ok = r["peak_rss_mb"] <= 600
    print(f"[10] cma-es peak memory (whole process): 64-256-10 ({r['n_params']} weights), digits "
          f"({r['n_items']} items), default options ({r['message']})")
    print(f"    {r['iterations']} generations of {r['population']}: peak RSS {r['peak_rss_mb']:.1f} MB (after imports "
          f"and data: {r['rss_before_mb']:.1f} MB), {r['seconds']:.1f} s (target <= 600 MB)   {verdict(ok)}")
    return [{"target": "10 cma-es peak memory", "figure": f"{r['peak_rss_mb']:.0f} MB", "goal": "<= 600 MB",
             "met": ok}]


def target_adam_epoch(quick: bool) -> list[dict]:
    import swarmreg as sr

    rows = _missing(11, ["adam"])
    if rows:
        return rows
    data = sr.datasets.load("digits", seed=0)
    obj = sr.Objective(sr.Network(data.sizes([32])), data.X_train, data.y_train, lam=1e-4)
    m = 32

    def epoch(method):
        return lambda: sr.minimize(obj, method, budget=10.0, seed=0, epochs=1, batch_size=m)

    t = interleaved({"backprop": (epoch("backprop"), 3), "adam": (epoch("adam"), 3)}, repeat=5 if quick else 15)
    ratio = t["adam"] / t["backprop"]
    print(f"[11] one epoch on the same batches: digits ({obj.n_items} items), 64-32-10, batch {m}")
    print(f"    backprop {fmt_time(t['backprop']).strip()}, adam {fmt_time(t['adam']).strip()} = {ratio:.2f}x "
          f"(target <= 1.1x)   {verdict(ratio <= 1.1)}")
    return [{"target": "11 adam epoch vs backprop", "figure": f"{ratio:.2f}x the time", "goal": "<= 1.1x",
             "met": ratio <= 1.1}]

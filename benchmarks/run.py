"""swarmreg's speed and memory figures, each as a ratio against its reference run in the same process.

    python -m benchmarks.run            # every target
    python -m benchmarks.run --quick    # fewer repeats, shorter PSO memory runs (under a minute)
    python -m benchmarks.run --only 1 4 # some targets
    python -m benchmarks.run --device cpu  # the device target only (benchmarks/device.py)

References: pyswarms' neural-network tutorial (its per-particle ``forward_prop`` loop) and its
``GlobalBestPSO.optimize``, scipy's Nelder-Mead called directly, scikit-learn's ``MLPClassifier``
sgd solver. Times are the best of several interleaved repeats (reference and candidate alternate,
so a busy machine slows both); the header prints the BLAS in use and the load average, because
absolute times on a shared machine mean little without them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
if __package__ in (None, ""):  # run as a script: import benchmarks and swarmreg from this checkout
    sys.path.insert(0, str(HERE.parent))

from benchmarks._timing import fmt_time, interleaved, verdict  # noqa: E402
from benchmarks.floor import target_floor  # noqa: E402
from benchmarks.libraries import (  # noqa: E402
    target_adam_epoch,
    target_cma_memory,
    target_library_pairs,
    target_outside_objective,
)


def header() -> list[str]:
    import pyswarms
    import scipy
    import sklearn
    from threadpoolctl import threadpool_info

    import swarmreg

    versions = (f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
                f"pyswarms {pyswarms.__version__}, scikit-learn {sklearn.__version__}, swarmreg {swarmreg.__version__}")
    lines = [versions]
    for info in threadpool_info():
        lines.append(f"{info.get('user_api')}: {info.get('internal_api')} {info.get('version')}, kernel "
                     f"{info.get('architecture')}, {info.get('num_threads')} threads ({Path(info['filepath']).name})")
    env = {k: v for k, v in os.environ.items()
           if k.startswith(("OPENBLAS", "OMP_", "MKL_")) and k != "OPENBLAS_L2_SIZE"}
    lines.append("BLAS environment: " + (", ".join(f"{k}={v}" for k, v in sorted(env.items())) or "none set"))
    cpu = platform.processor() or ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    lines.append(f"CPU: {cpu}, {os.cpu_count()} logical cores; load average {load[0]:.2f} at start")
    return lines


# ---------------------------------------------------------------------------------------------
# target 1: obj(W) for a swarm against pyswarms' tutorial loop


def tutorial_objective(X: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """pyswarms' "Training a Neural Network" example (4-20-3, iris): ``f`` loops over particles."""
    n_samples = X.shape[0]

    def forward_prop(params):
        n_inputs, n_hidden, n_classes = 4, 20, 3
        W1 = params[0:80].reshape((n_inputs, n_hidden))
        b1 = params[80:100].reshape((n_hidden,))
        W2 = params[100:160].reshape((n_hidden, n_classes))
        b2 = params[160:163].reshape((n_classes,))
        z1 = X.dot(W1) + b1
        a1 = np.tanh(z1)
        z2 = a1.dot(W2) + b2
        logits = z2
        exp_scores = np.exp(logits)
        probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
        corect_logprobs = -np.log(probs[range(n_samples), y])
        loss = np.sum(corect_logprobs) / n_samples
        return loss

    def f(x):
        n_particles = x.shape[0]
        j = [forward_prop(x[i]) for i in range(n_particles)]
        return np.array(j)

    return f


def target_swarm_objective(quick: bool) -> list[dict]:
    from sklearn.datasets import load_iris

    import swarmreg as sr

    X, y = load_iris(return_X_y=True)  # as the tutorial: all 150 items, unscaled
    f = tutorial_objective(X, y)
    net = sr.Network((4, 20, 3))
    obj64 = sr.Objective(net, X, y, lam=0.0)
    obj32 = sr.Objective(net, X, y, lam=0.0, dtype="float32")
    W = net.init(np.random.default_rng(0), 100)
    ref, v64, v32 = f(W), obj64(W), obj32(W)
    agree = float(np.max(np.abs(ref - v64) / np.abs(ref)))
    rel32 = float(np.max(np.abs(v32 - v64) / np.abs(v64)))
    n = 50 if quick else 100
    t = interleaved({"tutorial": (lambda: f(W), n), "float64": (lambda: obj64(W), n),
                     "float32": (lambda: obj32(W), n)}, repeat=7 if quick else 21)
    s64, s32 = t["tutorial"] / t["float64"], t["tutorial"] / t["float32"]
    print("[1] obj(W): 100 particles, iris (150 items), 4-20-3")
    print(f"    reference: pyswarms tutorial's per-particle loop   {fmt_time(t['tutorial'])}")
    print(f"    swarmreg, float64 (default)                       {fmt_time(t['float64'])}   "
          f"{s64:5.2f}x faster  (target >= 3x)   {verdict(s64 >= 3)}   [agrees with the loop to {agree:.1e}]")
    print(f"    swarmreg, dtype='float32'                         {fmt_time(t['float32'])}   "
          f"{s32:5.2f}x faster  (target >= 6x)   {verdict(s32 >= 6 and rel32 <= 1e-4)}   "
          f"[max relative difference to float64 {rel32:.1e}, target <= 1e-4]")
    return [{"target": "1 obj(W) float64", "figure": f"{s64:.2f}x faster", "goal": ">= 3x", "met": s64 >= 3},
            {"target": "1 obj(W) float32", "figure": f"{s32:.2f}x faster", "goal": ">= 6x",
             "met": s32 >= 6 and rel32 <= 1e-4}]


# ---------------------------------------------------------------------------------------------
# target 2: a whole PSO run against pyswarms' GlobalBestPSO.optimize


def target_pso_run(quick: bool) -> list[dict]:
    import pyswarms as ps
    from pyswarms.backend import operators
    from pyswarms.backend.handlers import VelocityHandler
    from pyswarms.backend.swarms import Swarm
    from pyswarms.backend.topology import Star
    from threadpoolctl import threadpool_limits

    import swarmreg as sr

    logging.getLogger("pyswarms").setLevel(logging.WARNING)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 16)), np.arange(8) % 4
    net = sr.Network((16, 64, 4))
    obj = sr.Objective(net, X, y, lam=0.01)
    P, iters = 100, 300
    opts = {"c1": 1.49618, "c2": 1.49618, "w": 0.7298}

    def start(seed: int) -> np.ndarray:  # the swarm swarmreg starts from, for pyswarms too
        r = np.random.default_rng(seed)
        x0 = net.init(r)
        pos = x0 + net.init(r, P)
        pos[0] = x0
        return pos

    def ours():
        return sr.minimize(obj, "pso", budget=P * iters, seed=0, n_particles=P)

    def theirs():
        np.random.seed(0)
        opt = ps.single.GlobalBestPSO(n_particles=P, dimensions=net.n_params, options=opts, init_pos=start(0))
        t0 = time.perf_counter()
        opt.optimize(obj, iters=iters, verbose=False)
        theirs.seconds = time.perf_counter() - t0

    def operators_alone():
        """pyswarms' backend operators for the same swarm and iterations, without any objective."""
        pos = start(0)
        swarm = Swarm(position=pos, velocity=np.zeros_like(pos), options=dict(opts))
        swarm.current_cost = swarm.pbest_cost = np.random.default_rng(1).random(P)
        swarm.pbest_pos = pos
        top, vh = Star(), VelocityHandler(strategy="unmodified")
        swarm.best_pos, swarm.best_cost = top.compute_gbest(swarm)
        cost_rng = np.random.default_rng(2)
        t0 = time.perf_counter()
        for _ in range(iters - 1):
            swarm.velocity = top.compute_velocity(swarm, None, vh)
            swarm.position = top.compute_position(swarm)
            swarm.current_cost = cost_rng.random(P)
            swarm.pbest_pos, swarm.pbest_cost = operators.compute_pbest(swarm)
            swarm.best_pos, swarm.best_cost = top.compute_gbest(swarm)
        operators_alone.seconds = time.perf_counter() - t0

    def ours_one_thread():
        with threadpool_limits(1):  # as in a sweep's workers: no helper thread for the random draws
            ours()

    best = {"swarmreg": np.inf, "pyswarms": np.inf, "operators": np.inf, "one thread": np.inf}
    ours()
    for r in range(2 if quick else 5):
        for name in (("swarmreg", "pyswarms", "one thread") if r % 2 == 0 else ("one thread", "pyswarms", "swarmreg")):
            if name == "pyswarms":
                theirs()
                best[name] = min(best[name], theirs.seconds)
            else:
                t0 = time.perf_counter()
                (ours if name == "swarmreg" else ours_one_thread)()
                best[name] = min(best[name], time.perf_counter() - t0)
        operators_alone()
        best["operators"] = min(best["operators"], operators_alone.seconds)
    ratio = best["swarmreg"] / best["pyswarms"]
    ratio1 = best["one thread"] / best["pyswarms"]
    print(f"[2] whole PSO run: 16-64-4 ({net.n_params} weights), 8 items, {P} particles, {iters} iterations")
    print(f"    reference: pyswarms GlobalBestPSO.optimize        {fmt_time(best['pyswarms'])}")
    print(f"    swarmreg minimize(obj, 'pso')                     {fmt_time(best['swarmreg'])}   "
          f"{ratio:5.2f} of the time (target <= 0.5)   {verdict(ratio <= 0.5)}")
    print(f"    swarmreg with one BLAS thread (no helper thread)  {fmt_time(best['one thread'])}   "
          f"{ratio1:5.2f} of the time")
    print(f"    (pyswarms' backend operators alone, no objective: {fmt_time(best['operators']).strip()} = "
          f"{best['operators'] / best['pyswarms']:.2f} of optimize's time; swarmreg does their work in place)")
    return [{"target": "2 PSO run vs pyswarms", "figure": f"{ratio:.2f} of the time ({ratio1:.2f} one thread)",
             "goal": "<= 0.5", "met": ratio <= 0.5}]


# ---------------------------------------------------------------------------------------------
# target 3: PSO peak memory, in fresh processes


def target_pso_memory(quick: bool) -> list[dict]:
    runs = (30, 90) if quick else (100, 300)
    results = []
    for iterations in runs:
        out = subprocess.run([sys.executable, str(HERE / "pso_memory.py"), "--iterations", str(iterations)],
                             capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    peak = max(r["peak_rss_mb"] for r in results)
    growth = results[1]["peak_rss_mb"] - results[0]["peak_rss_mb"]
    first = results[0]
    print(f"[3] PSO peak memory (whole process): 64-256-10 ({first['n_params']} weights), digits "
          f"({first['n_items']} items), 100 particles")
    for r in results:
        print(f"    {r['iterations']:4d} iterations: peak RSS {r['peak_rss_mb']:7.1f} MB "
              f"(after imports and data: {r['rss_before_mb']:.1f} MB; ru_maxrss {r['ru_maxrss_mb']:.1f} MB), "
              f"{r['seconds']:.1f} s")
    ok = peak <= 400 and growth <= 0.05 * peak
    print(f"    {runs[1] / runs[0]:.0f}x the iterations: {growth:+.1f} MB; peak {peak:.1f} MB "
          f"(target <= 400 MB, independent of iterations)   {verdict(ok)}")
    if quick:
        print("    (--quick: 30 and 90 iterations; the full run measures 100 and 300)")
    figure = f"{peak:.0f} MB ({growth:+.1f} MB for {runs[1]} vs {runs[0]} it.)"
    return [{"target": "3 PSO peak memory", "figure": figure, "goal": "<= 400 MB, flat", "met": ok}]


# ---------------------------------------------------------------------------------------------
# target 4: minimize(..., "nelder-mead") against scipy's Nelder-Mead on the same objective


def target_nelder_mead(quick: bool) -> list[dict]:
    from scipy.optimize import minimize as scipy_minimize

    import swarmreg as sr

    data = sr.datasets.load("iris", seed=0)
    net = sr.Network(data.sizes([8]))
    obj = sr.Objective(net, data.X_train, data.y_train, lam=0.01)
    budget = 20_000
    x0 = net.init(np.random.default_rng(0))  # minimize's start for seed 0
    simplex = np.vstack([x0, x0 + np.diag(net.init_scale)])
    counts = {}

    def ours():
        res = sr.minimize(obj, "nelder-mead", budget=budget, seed=0)
        counts["swarmreg"] = res.n_evals

    def direct():
        res = scipy_minimize(obj, x0, method="Nelder-Mead",
                             options={"adaptive": True, "xatol": 1e-8, "fatol": 1e-10, "initial_simplex": simplex,
                                      "maxfev": budget, "maxiter": np.iinfo(np.int64).max})
        counts["scipy"] = res.nfev

    t = interleaved({"scipy": (direct, 1), "swarmreg": (ours, 1)}, repeat=3 if quick else 7)
    ratio = t["swarmreg"] / t["scipy"]
    print(f"[4] Nelder-Mead: iris ({obj.n_items} items), 4-8-3 ({net.n_params} weights), {budget:,} evaluations")
    print(f"    reference: scipy.optimize.minimize(obj, method='Nelder-Mead')  {fmt_time(t['scipy'])}"
          f"   ({counts['scipy']} evaluations)")
    print(f"    swarmreg minimize(obj, 'nelder-mead')                          {fmt_time(t['swarmreg'])}"
          f"   ({counts['swarmreg']} evaluations)   {ratio:5.2f}x the time (target <= 1.25x)   "
          f"{verdict(ratio <= 1.25)}")
    return [{"target": "4 Nelder-Mead vs scipy", "figure": f"{ratio:.2f}x the time", "goal": "<= 1.25x",
             "met": ratio <= 1.25}]


# ---------------------------------------------------------------------------------------------
# target 5: one backprop epoch against scikit-learn's MLPClassifier (sgd, partial_fit)


def target_backprop(quick: bool) -> list[dict]:
    import warnings

    from sklearn.neural_network import MLPClassifier

    import swarmreg as sr

    data = sr.datasets.load("digits", seed=0)
    X, y = data.X_train, data.y_train
    net = sr.Network(data.sizes([32]))
    lam, lr, m = 1e-4, 0.1, 32
    obj = sr.Objective(net, X, y, lam=lam)
    model = MLPClassifier(hidden_layer_sizes=(32,), activation="tanh", solver="sgd", batch_size=m,
                          learning_rate_init=lr, momentum=0.9, nesterovs_momentum=False, alpha=2 * m * lam,
                          shuffle=True, random_state=0)
    classes = np.unique(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.partial_fit(X, y, classes=classes)  # builds the weights; each later call is one epoch

    def ours():
        return sr.minimize(obj, "backprop", budget=10.0, seed=0, epochs=1, batch_size=m, lr=lr, momentum=0.9)

    t = interleaved({"sklearn": (lambda: model.partial_fit(X, y), 3), "swarmreg": (ours, 3)},
                    repeat=5 if quick else 15)
    res = ours()
    ratio = t["swarmreg"] / t["sklearn"]
    print(f"[5] backprop, one epoch: digits ({obj.n_items} items), 64-32-10, batch {m} "
          f"({int(np.ceil(obj.n_items / m))} steps), momentum 0.9")
    print(f"    reference: MLPClassifier(solver='sgd').partial_fit  {fmt_time(t['sklearn'])}")
    print(f"    swarmreg minimize(obj, 'backprop', epochs=1)         {fmt_time(t['swarmreg'])}   "
          f"{ratio:5.2f}x the time (target <= 0.7x)   {verdict(ratio <= 0.7)}   [{res.n_grads} gradient steps]")
    return [{"target": "5 backprop epoch vs sklearn", "figure": f"{ratio:.2f}x the time", "goal": "<= 0.7x",
             "met": ratio <= 0.7}]


# ---------------------------------------------------------------------------------------------
# target 6: a sweep of 16 runs with 2 workers against 1 worker


SWEEP_TOML = """
name = "bench"
datasets = ["iris"]
hidden = [[8]]
methods = ["pso", "nelder-mead"]
lams = [0.0, 0.01]
seeds = [0, 1, 2, 3]
budget = {budget}
"""


def target_sweep(quick: bool) -> list[dict]:
    import swarmreg as sr

    budget = 10_000 if quick else 30_000
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench.toml"
        config.write_text(SWEEP_TOML.format(budget=budget))
        sweep = sr.Sweep.from_toml(config)
        n_runs = len(sweep.runs())
        times: dict[int, float] = {1: np.inf, 2: np.inf}
        for r in range(1 if quick else 2):
            for workers in ((1, 2) if r % 2 == 0 else (2, 1)):
                out = Path(tmp) / f"out-{workers}-{r}"
                t0 = time.perf_counter()
                summary = sr.run_sweep(sweep, out, executor="process", workers=workers, progress=False)
                times[workers] = min(times[workers], time.perf_counter() - t0)
                if summary.failed:
                    raise RuntimeError(f"{summary.failed} sweep runs failed")
    speedup = times[1] / times[2]
    print(f"[6] sweep: {n_runs} runs (iris 4-8-3, pso and nelder-mead, budget {budget:,}), process pool, "
          f"one BLAS thread per worker")
    print(f"    reference: 1 worker                              {fmt_time(times[1])}")
    print(f"    2 workers                                        {fmt_time(times[2])}   "
          f"{speedup:5.2f}x faster  (target >= 1.6x)   {verdict(speedup >= 1.6)}")
    return [{"target": "6 sweep, 2 workers vs 1", "figure": f"{speedup:.2f}x faster", "goal": ">= 1.6x",
             "met": speedup >= 1.6}]


TARGETS = {1: target_swarm_objective, 2: target_pso_run, 3: target_pso_memory, 4: target_nelder_mead,
           5: target_backprop, 6: target_sweep, 7: target_floor, 8: target_library_pairs,
           9: target_outside_objective, 10: target_cma_memory, 11: target_adam_epoch}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="swarmreg speed and memory benchmarks")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and shorter memory runs")
    parser.add_argument("--only", type=int, nargs="+", choices=sorted(TARGETS), help="run only these targets")
    parser.add_argument("--device", help="run only the device target on this JAX device (cpu, cuda, cuda:1)")
    parser.add_argument("--large", action="store_true", help="the device target: also the 784-input problems")
    args = parser.parse_args(argv)
    # pyswarms' own optimizer, the reference of target 2, would otherwise write report.log here
    from swarmreg.methods._pyswarms import NOOP_LOGGING_CONFIG
    os.environ.setdefault("LOG_CFG", NOOP_LOGGING_CONFIG)
    for line in header():
        print(line)
    print()
    rows = []
    if args.device is not None:
        from benchmarks.device import target_device
        rows += target_device(args.device, args.quick, args.large)
        print()
    for number in (args.only or sorted(TARGETS)) if args.device is None else ():
        rows += TARGETS[number](args.quick)
        print()
    print("summary")
    for row in rows:
        print(f"  {row['target']:30s} {row['figure']:36s} goal {row['goal']:18s} {verdict(row['met'])}")
    if hasattr(os, "getloadavg"):
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

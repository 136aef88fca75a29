"""Peak RSS of one run, in a fresh process: ``python benchmarks/pso_memory.py --iterations 300``.

The network is 64-256-10 (19,210 weights) on scikit-learn's digits (1,257 training items). PSO
(the default) runs 100 particles, ``--method cma-es`` its default options (pycma's population for
19,210 weights); the budget is ``population * iterations``. Prints one JSON line: the peak RSS before
the run (after imports and data) and after it, in MB, and the run's wall time and message.

Peak RSS is this process's ``VmHWM`` (``/proc/self/status``) where there is one. ``ru_maxrss`` of
``getrusage(RUSAGE_SELF)`` is printed too, but on Linux it is carried across ``exec`` from the
parent: a child of a process that once held 800 MB reports at least 800 MB.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time


def maxrss_mb() -> float:
    """``ru_maxrss`` of this process: kilobytes on Linux, bytes on macOS."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def peak_rss_mb() -> float:
    """This process image's peak resident set (``VmHWM``), or ``ru_maxrss`` without ``/proc``."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return maxrss_mb()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, required=True)
    parser.add_argument("--particles", type=int, default=100)
    parser.add_argument("--method", default="pso", choices=("pso", "cma-es"))
    args = parser.parse_args()

    import swarmreg as sr

    data = sr.datasets.load("digits", seed=0)
    net = sr.Network(data.sizes([256]))
    obj = sr.Objective(net, data.X_train, data.y_train, lam=0.001)
    before = peak_rss_mb()
    t0 = time.perf_counter()
    if args.method == "pso":
        population, options = args.particles, {"n_particles": args.particles}
    else:
        from swarmreg.methods.cma_es import default_popsize
        population, options = default_popsize(net.n_params), {}
    res = sr.minimize(obj, args.method, budget=population * args.iterations, seed=0, **options)
    print(json.dumps({"method": args.method, "iterations": args.iterations, "population": population,
                      "message": res.message, "n_params": net.n_params, "n_items": obj.n_items,
                      "rss_before_mb": round(before, 1), "peak_rss_mb": round(peak_rss_mb(), 1),
                      "ru_maxrss_mb": round(maxrss_mb(), 1),
                      "seconds": round(time.perf_counter() - t0, 2), "fun": res.fun,
                      "trace_len": len(res.trace["fun"])}))


if __name__ == "__main__":
    main()

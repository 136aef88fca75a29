"""Share of a run's wall time spent outside objective evaluations: ``python benchmarks/method_overhead.py``.

On the acceptance problem (iris, all 150 items, 4-8-3, lam 0.01) at budget 50,000, each method is run
for seeds 0-2 and the time inside ``Objective.__call__`` and ``error_and_gradient`` is subtracted
from ``Result.wall_time``. Prints one JSON line per method: median total seconds, median seconds
in the objective, the median share outside it, and the median share outside the budget's calls
(the method's own arithmetic, without the budget's accounting around each evaluation).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import swarmreg as sr
from swarmreg.budget import Budget


class TimedObjective(sr.Objective):
    """The objective, adding up the seconds spent evaluating it."""

    seconds = 0.0

    def __call__(self, w):
        t0 = time.perf_counter()
        try:
            return super().__call__(w)
        finally:
            self.seconds += time.perf_counter() - t0

    def error_and_gradient(self, w, idx=None):
        t0 = time.perf_counter()
        try:
            return super().error_and_gradient(w, idx)
        finally:
            self.seconds += time.perf_counter() - t0


class Stopwatch:
    """Seconds spent in the calls of the methods it wraps."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, fn):
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0
        return timed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("methods", nargs="*", default=["openai-es", "random-search", "pso"])
    parser.add_argument("--budget", type=float, default=50_000)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    d = sr.datasets.load("iris", test_size=0)
    watch = Stopwatch()
    Budget.__call__ = watch.wrap(Budget.__call__)
    Budget.error_and_gradient = watch.wrap(Budget.error_and_gradient)
    for method in args.methods:
        totals, inside, in_budget = [], [], []
        for seed in range(args.seeds):
            obj = TimedObjective(sr.Network((4, 8, 3)), d.X_train, d.y_train, lam=0.01)
            watch.seconds = 0.0
            res = sr.minimize(obj, method, budget=args.budget, seed=seed)
            totals.append(res.wall_time)
            inside.append(obj.seconds)
            in_budget.append(watch.seconds)
        print(json.dumps({
            "method": method, "budget": args.budget, "total_s": round(float(np.median(totals)), 3),
            "objective_s": round(float(np.median(inside)), 3),
            "outside_objective_share": round(float(np.median([1 - i / t for i, t in zip(inside, totals)])), 3),
            "outside_budget_share": round(float(np.median([1 - i / t for i, t in zip(in_budget, totals)])), 3),
        }))


if __name__ == "__main__":
    main()

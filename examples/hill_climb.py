"""A (1 + batch) hill climber: the smallest swarmreg plugin (see the README)."""
from dataclasses import dataclass

import numpy as np

import swarmreg as sr


@dataclass(frozen=True)
class HillClimbOptions:
    batch: int = 20  # candidates per step, evaluated as one swarm
    step: float = 0.1  # Gaussian step, in units of the network's init scale


def check(opts, budget, problem, grad_cost):
    if opts.batch < 1:
        raise ValueError(f"batch must be at least 1, got {opts.batch}")


@sr.register_method("hill-climb", options=HillClimbOptions, check=check)
def run(budget, x0, rng, opts):
    """Keep the best of each batch of Gaussian steps around the current point."""
    scale = opts.step * budget.problem.init_scale
    x, fx = x0, budget(x0)
    budget.record(fx)
    while budget.can_afford(evals=opts.batch):
        candidates = x + scale * rng.standard_normal((opts.batch, x.size))
        values = budget(candidates)
        i = int(np.argmin(values))
        if values[i] < fx:
            x, fx = candidates[i], values[i]
        budget.record(fx)
    return x, "budget", f"ran {budget.n_evals} evaluations"

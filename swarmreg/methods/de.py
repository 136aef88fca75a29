"""Differential evolution on scipy: vectorized, one swarm call per generation, box bounds centred on x0.

scipy's ``differential_evolution`` (Storn & Price 1997) with ``vectorized=True`` (so
``updating="deferred"``): each generation builds ``population`` trial vectors, mutant
``b + F * (r1 - r2)`` (``b`` the best member for ``best1bin``) crossed with the member at rate
``recombination``, evaluates them in one ``budget(W)`` call and keeps each trial that is no worse.
``polish=False``: scipy's final L-BFGS-B polish would spend gradients outside the accounting.

Bounds: scipy needs a box. It is ``x0 +- width * s``, centred on the start point, ``s`` the network's
per-weight init scale; a trial coordinate that leaves it is redrawn uniformly inside it (scipy's rule),
so the search never returns weights outside it. On the iris acceptance problem the best weights lie
within 2.5 s of the start: the default ``width`` leaves room for weaker penalties.

Population: ``population`` members in all, whatever the dimension (scipy's default, ``15 * n``, is
1,005 members at n = 67, 50 generations of a 50,000 budget, and 288,150 at n = 19,210). On iris at
budget 50,000 (4-16-3 and 4-32-3, seeds 0-1) 40 members ended lower than 20 or 80; on 4-8-3 20 and
40 both end within 0.04% of L-BFGS's optimum, 80 at 1.2%. The initial population is ``x0`` (scipy's
``x0``; to rounding, as scipy works in the unit box) and ``population - 1`` points around it
(``init``): the network's own initialization draws ``x0 + U(-s, s)`` by default, or a Latin
hypercube (``scipy.stats.qmc``) over the whole box, which on 4-8-3 ends 0.6% above instead of 0.03%.
It costs ``population`` evaluations, a generation as many; generations stop when the next would pass
the budget (the rest is left unspent, said in the message), or when scipy's convergence test
``std(J) <= tol * |mean(J)|`` holds (off by default: it would stop with budget left).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import differential_evolution
from scipy.stats import qmc

from .. import _validate as v
from ..budget import Budget
from ..registry import register_method

STRATEGIES = ("best1bin", "best1exp", "rand1bin", "rand1exp", "rand2bin", "rand2exp", "randtobest1bin",
              "randtobest1exp", "currenttobest1bin", "currenttobest1exp", "best2bin", "best2exp")
"""scipy's named mutation strategies."""


@dataclass(frozen=True)
class DEOptions:
    population: int = 40  # members in all, whatever n (scipy's 15*n is 1,005 at n = 67); a generation costs this
    width: float = 5.0  # box bounds x0 +- width * s, s the init scale: scipy needs bounds, centred on the start
    init: str = "network"  # initial members around x0: "network" x0 + U(-s, s); "latinhypercube" the whole box
    strategy: str = "best1bin"  # scipy's mutation strategy
    mutation: float = 0.5  # differential weight F, lower end of scipy's dither (F ~ U(mutation, mutation_max))
    mutation_max: float = 1.0  # upper end of the dither, drawn once a generation; = mutation for a constant F
    recombination: float = 0.7  # crossover probability CR
    tol: float = 0.0  # stop when std(J) <= tol * |mean(J)| over the population (scipy's 0.01); 0: run to the budget

    def __post_init__(self) -> None:
        v.positive_int(self.population, "population")
        if self.population < 5:
            raise ValueError(f"population must be at least 5 (scipy's minimum), got {self.population}")
        v.real(self.width, "width", 0.0, low_open=True)
        v.choice(self.init, "init", ("network", "latinhypercube"))
        v.choice(self.strategy, "strategy", STRATEGIES)
        v.real(self.mutation, "mutation", 0.0, 2.0, low_open=True)
        v.real(self.mutation_max, "mutation_max", 0.0, 2.0, high_open=True)
        if self.mutation_max < self.mutation:
            raise ValueError(f"mutation_max ({self.mutation_max}) must be >= mutation ({self.mutation})")
        v.real(self.recombination, "recombination", 0.0, 1.0)
        v.real(self.tol, "tol", 0.0)


def check(opts: DEOptions, budget: float, problem, grad_cost: float) -> None:
    if budget < opts.population:
        raise ValueError(f"budget {budget:g} is less than the initial population's {opts.population} evaluations")


def _initial_population(x0: np.ndarray, net, low: np.ndarray, high: np.ndarray,
                        rng: np.random.Generator, opts: DEOptions) -> np.ndarray:
    """``population`` members inside the box, the first ``x0`` (scipy puts ``x0`` there too)."""
    if opts.init == "network":
        members = x0 + min(1.0, opts.width) * net.init(rng, opts.population)
    else:
        members = qmc.scale(qmc.LatinHypercube(d=x0.size, rng=rng).random(opts.population), low, high)
    members[0] = x0
    return members


@register_method("de", options=DEOptions, check=check)
def run(budget: Budget, x0: np.ndarray, rng: np.random.Generator, opts: DEOptions) -> tuple[np.ndarray, str, str]:
    net = budget.problem.net
    low, high = x0 - opts.width * net.init_scale, x0 + opts.width * net.init_scale
    generations = int(budget.remaining()) // opts.population - 1  # after the initial population

    def evaluate(W: np.ndarray) -> np.ndarray:  # scipy's vectorized call: W of shape (n, population)
        values = budget(np.ascontiguousarray(W.T))
        budget.record(budget.best_fun)
        return values

    res = differential_evolution(
        evaluate, np.column_stack([low, high]), strategy=opts.strategy, maxiter=generations,
        popsize=1,  # ignored: init gives the population
        init=_initial_population(x0, net, low, high, rng, opts), x0=x0,
        mutation=opts.mutation if opts.mutation_max == opts.mutation else (opts.mutation, opts.mutation_max),
        recombination=opts.recombination, tol=opts.tol, atol=0.0, polish=False, rng=rng,
        vectorized=True, updating="deferred",
    )
    status = "budget" if res.nit >= generations else "converged"
    budget.record(budget.best_fun)
    message = f"{res.nit} generations of {opts.population} members after the initial population"
    if status == "converged":
        message += f"; the population converged (std(J) <= tol * |mean(J)|, tol={opts.tol:g})"
    if budget.remaining() >= 1:
        message += f"; {budget.remaining():g} of the budget left unspent"
        message += ", less than a generation" if status == "budget" else ""
    return budget.best_x, status, message

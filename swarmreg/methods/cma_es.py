"""CMA-ES on pycma: ask/tell, one swarm call per generation, sep-CMA for many weights, IPOP restarts.

Each generation pycma samples ``popsize`` points ``x_k = m + sigma * s * y_k``, ``y_k ~ N(0, C)``
(Hansen & Ostermeier 2001; ``s`` the network's per-weight init scale, pycma's ``CMA_stds``, so
``sigma0 = 1`` first samples with standard deviation ``s``, the bound of the network's own
``U(-s, s)`` initialization, around ``m = x0``); they are evaluated in one ``budget(W)`` call and
told back. The first generation holds ``x0`` itself (pycma's ``inject``). With ``diagonal`` on, ``C`` is diagonal
(sep-CMA-ES, Ros & Hansen 2008): memory and time linear in ``n``, learning rates ``(n + 2) / 3``
times larger. The step size is adapted by cumulation (CSA): pycma switches to TPA at 300
dimensions, and TPA's consistency check draws from numpy's global RNG.

Randomness: pycma's ``randn`` option draws from the run's Generator (its mirrored samples, on by
default below 6 points a generation, too) and ``seed=nan`` keeps pycma from seeding numpy's global
RNG; with CSA nothing pycma does draws from that. Its linear algebra runs on one BLAS thread (see
:func:`_one_blas_thread`). Output: none (``verbose=-9``, no log files, no ``cma_signals.in`` read
from the working directory).

Budget: a generation is asked for only if it fits. With ``restarts``, when pycma stops (its
``tolfun``, ``tolx``, stagnation tests) a new search starts from ``x0`` with the population doubled
(IPOP-CMA-ES, Auger & Hansen 2005), while a generation of that size fits. When the budget is spent
but not to its last unit, the remaining evaluations go to a truncated generation, sampled and
evaluated but not told (the message says so): its points can only improve the best one returned.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import cma
import numpy as np
from cma.sigma_adaptation import CMAAdaptSigmaCSA
from threadpoolctl import ThreadpoolController

from .. import _validate as v
from ..budget import Budget
from ..registry import register_method

DIAGONAL_ABOVE = 100
"""``diagonal=None`` turns sep-CMA on above this many weights.

Full covariance learns at the rate ``c1 + cmu ~ 2 mu_eff / n^2``: by pycma's own constants it needs
about ``popsize / (c1 + cmu)`` evaluations to adapt C, 8,800 at n = 67, 19,400 at n = 100 (about
the default budget of 20,000), 300,000 at n = 400; sep-CMA's rates make that 360, 510 and 1,800.
Measured on iris at budget 50,000: with 67 weights (4-8-3) full C reaches L-BFGS's optimum on
seeds 0-2 (median), sep-CMA stays 1% above it; with 131, 259 and 515 weights (4-16-3, 4-32-3,
4-64-3; seed 0, budgets 20,000 and 50,000) sep-CMA ends as low as full C or lower, 2 to 10 times
faster. Full C also costs O(n^2) time per sample and two n x n matrices (C and B, 3 GB each at
64-256-10's 19,210 weights); sep-CMA is linear in n.
"""


@dataclass(frozen=True)
class CMAESOptions:
    sigma0: float = 1.0  # initial step size, in units of the network's init scale s (pycma's CMA_stds = s)
    popsize: int | None = None  # points per generation (lambda); None: pycma's 4 + int(3 ln n)
    # None: full C up to DIAGONAL_ABOVE weights; above, full C needs more than ~20,000 evaluations to
    # adapt and O(n^2) time per sample (3 GB per n x n matrix at 19,210 weights): sep-CMA, linear in n
    diagonal: bool | None = None  # sep-CMA; None: above 100 weights (full C: >20k evaluations to adapt, n^2 memory)
    restarts: int = 9  # IPOP: restarts from x0 with the population doubled after pycma stops, while budget lasts

    def __post_init__(self) -> None:
        v.real(self.sigma0, "sigma0", 0.0, low_open=True)
        if self.popsize is not None:
            v.positive_int(self.popsize, "popsize")
            if self.popsize < 2:
                raise ValueError(f"popsize must be at least 2 (CMA-ES selects among its points), got {self.popsize}")
        if self.diagonal is not None and not isinstance(self.diagonal, bool):
            raise TypeError(f"diagonal must be a bool or None, got {self.diagonal!r}")
        v.non_negative_int(self.restarts, "restarts")


def default_popsize(n: int) -> int:
    """pycma's default population size, ``int(4 + 3 ln n)``."""
    return int(4 + 3 * math.log(n))


def uses_diagonal(opts: CMAESOptions, n: int) -> bool:
    """Whether the run uses sep-CMA: the option, or above DIAGONAL_ABOVE weights when it is None."""
    return n > DIAGONAL_ABOVE if opts.diagonal is None else opts.diagonal


def check(opts: CMAESOptions, budget: float, problem, grad_cost: float) -> None:
    n = problem.net.n_params
    if n < 2:
        raise ValueError(f"cma-es needs at least 2 parameters (pycma), the network has {n}")
    popsize = opts.popsize or default_popsize(n)
    if budget < popsize:
        raise ValueError(f"budget {budget:g} is less than one generation of popsize={popsize} evaluations")


_one_thread_at_a_time = threading.Lock()


@functools.cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """pycma's linear algebra on one BLAS thread.

    Its results depend on the BLAS thread count (on OpenBLAS, a 400 x 400 eigendecomposition and
    the 21 x 400 sampling product differ in the last bits between one thread and two), and a
    sweep's workers run one thread where a direct run may use all: one thread keeps the same seed
    on the same bits under every executor. On these sizes it is also the faster (eigenvectors of
    67 x 67: 0.4 ms, against 0.1 s for two threads on a busy machine). The limit is process-wide,
    so one run at a time sets and restores it; evaluations of J run outside it.
    """
    with _one_thread_at_a_time, _blas().limit(limits=1, user_api="blas"):
        yield


def _strategy(x0: np.ndarray, scale: np.ndarray, rng: np.random.Generator, opts: CMAESOptions,
              popsize: int) -> cma.CMAEvolutionStrategy:
    """A pycma search around ``x0`` drawing from ``rng``, silent, stopped only by its own tests."""
    return cma.CMAEvolutionStrategy(x0, opts.sigma0, {
        "popsize": popsize,
        "CMA_stds": scale,
        "CMA_diagonal": uses_diagonal(opts, x0.size),
        "AdaptSigma": CMAAdaptSigmaCSA,
        "randn": lambda *shape: rng.standard_normal(shape),
        "seed": np.nan,
        "maxiter": np.inf,
        "maxfevals": np.inf,
        "verbose": -9,
        "verb_disp": 0,
        "verb_log": 0,
        "signals_filename": "",
    })


@register_method("cma-es", options=CMAESOptions, check=check)
def run(budget: Budget, x0: np.ndarray, rng: np.random.Generator, opts: CMAESOptions) -> tuple[np.ndarray, str, str]:
    scale = budget.problem.init_scale
    popsize = opts.popsize or default_popsize(x0.size)
    with _one_blas_thread():
        es = _strategy(x0, scale, rng, opts, popsize)
        es.inject([x0])  # the first generation holds x0 itself: the run never returns worse than its start
    status, restarts, generations, stopped = "budget", 0, 0, ""
    told: tuple | None = None  # the last generation and its values, told at the next pycma step
    while budget.can_afford(evals=popsize):
        with _one_blas_thread():  # one BLAS limit per generation: tell the last, then stop, ask
            if told is not None:
                es.tell(*told)
                told = None
            stopped = ", ".join(es.stop())
            if stopped and restarts < opts.restarts and budget.can_afford(evals=2 * popsize):
                restarts, popsize = restarts + 1, 2 * popsize
                es = _strategy(x0, scale, rng, opts, popsize)
                continue
            if stopped:
                status = "converged"
                break
            X = es.ask()
        told = (X, budget(np.asarray(X)))
        generations += 1
        budget.record(budget.best_fun)
    truncated = int(budget.remaining()) if status == "budget" else 0
    if truncated:  # sampled and evaluated, not told: its points can only improve the best one
        with _one_blas_thread():
            if told is not None:
                es.tell(*told)
            X = es.ask()[:truncated]
        budget(np.asarray(X))
    budget.record(budget.best_fun)
    covariance = "diagonal" if uses_diagonal(opts, x0.size) else "full"
    message = f"{generations} generations, last popsize {popsize}, {restarts} restart(s), {covariance} covariance"
    if status == "converged":
        message += f"; pycma stopped: {stopped}; {budget.remaining():g} of the budget left unspent"
    if truncated:
        message += f"; the last {truncated} evaluations: a truncated generation, not told"
    return budget.best_x, status, message

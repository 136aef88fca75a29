"""The reference minimum of J that every other method's gap is measured against."""

from __future__ import annotations

from collections.abc import Iterable

from . import _validate as v
from .minimize import Result, minimize
from .objective import Objective

REFERENCE_BUDGET = 100_000
"""Budget of each start, in evaluations of J: a third as many L-BFGS-B calls. Runs at the tightest
tolerances stop on their own long before it on the built-in problems (a few hundred calls on iris)."""


def reference_minimum(objective: Objective, *, budget: float = REFERENCE_BUDGET,
                      seeds: Iterable[int] = range(5)) -> Result:
    """The best of ``l-bfgs`` runs from the starts ``objective.net.init`` gives each seed in ``seeds``.

    Each run is L-BFGS-B on the analytic gradient at the tightest tolerances (``ftol = gtol = 0``),
    restarted from its best point while a round lowers J at all, within ``budget`` (per start). The
    returned :class:`Result` is the run with the lowest J: ``.fun`` is the reference J, ``.x`` its
    minimizer, ``.seed`` the start that found it, ``.status`` "converged" unless the budget ran out.
    """
    if not isinstance(objective, Objective):
        raise TypeError(f"objective must be a swarmreg.Objective, got {type(objective).__name__}")
    budget = v.real(budget, "budget", 1.0)
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise TypeError(f"seeds must be an iterable of non-negative ints, got {seeds!r}")
    seeds = [v.non_negative_int(s, "seeds[]") for s in seeds]
    if not seeds:
        raise ValueError("seeds is empty: give at least one start")
    runs = [minimize(objective, "l-bfgs", budget=budget, seed=s, ftol=0.0, gtol=0.0) for s in seeds]
    return min(runs, key=lambda res: res.fun)

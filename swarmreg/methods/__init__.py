"""The registry of optimizers: name -> options dataclass, up-front check, and run function.

A method's ``run(budget, x0, rng, options)`` evaluates only through ``budget`` (which charges
every call), records its trace there, ends with a record of the point it returns, and returns
``(x, status, message)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from . import backprop, nelder_mead, pso


@dataclass(frozen=True)
class Method:
    name: str
    options: type  # frozen dataclass of the method's options, with their defaults
    check: Callable[..., None]  # (options, budget, objective, grad_cost): refuse what cannot run
    run: Callable[..., Any]  # (Budget, x0, Generator, options) -> (x, status, message)
    uses_gradient: bool


METHODS = MappingProxyType({
    "pso": Method("pso", pso.PSOOptions, pso.check, pso.run, uses_gradient=False),
    "nelder-mead": Method("nelder-mead", nelder_mead.NelderMeadOptions, nelder_mead.check,
                          nelder_mead.run, uses_gradient=False),
    "backprop": Method("backprop", backprop.BackpropOptions, backprop.check, backprop.run,
                       uses_gradient=True),
})

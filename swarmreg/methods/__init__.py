"""swarmreg's own optimizers, one small file each; importing a module registers its method.

The registry itself (``METHODS``, ``register_method``) lives in :mod:`swarmreg.registry`; the
modules are imported in the order ``METHODS`` lists them.
"""

from __future__ import annotations

# isort: off
from . import pso, nelder_mead, backprop, adam, lbfgs  # noqa: F401
from . import cma_es, de, openai_es, random_search  # noqa: F401
from . import nevergrad, evosax  # noqa: F401  (the nevergrad:<Name> and evosax:<Name> families)
# isort: on
from ..registry import METHODS, Method

__all__ = ["METHODS", "Method"]

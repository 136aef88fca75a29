"""swarmreg's own optimizers, one small file each; importing a module registers its method.

The registry itself (``METHODS``, ``register_method``) lives in :mod:`swarmreg.registry`; the
modules are imported in the order ``METHODS`` lists them.
"""

from __future__ import annotations

# isort: off
from . import pso, nelder_mead, backprop  # noqa: F401
from . import openai_es  # noqa: F401
from . import random_search  # noqa: F401
from . import nevergrad  # noqa: F401
from . import adam  # noqa: F401
from . import lbfgs  # noqa: F401
from . import cma_es  # noqa: F401
from . import de  # noqa: F401
# isort: on
from ..registry import METHODS, Method

__all__ = ["METHODS", "Method"]

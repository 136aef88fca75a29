"""swarmreg: how L2 regularization behaves under particle swarm, Nelder-Mead and backprop."""

from . import datasets, l2
from .budget import GRAD_COST
from .methods import METHODS
from .minimize import DEFAULT_BUDGET, Result, minimize
from .network import Network
from .objective import Objective

__version__ = "0.1.0"

__all__ = ["DEFAULT_BUDGET", "GRAD_COST", "METHODS", "Network", "Objective", "Result",
           "datasets", "l2", "minimize", "__version__"]

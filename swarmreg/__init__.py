"""swarmreg: how L2 regularization behaves under particle swarm, Nelder-Mead and backprop."""

from . import datasets, l2, stats, testing
from .budget import GRAD_COST
from .compare import compare
from .export import export_runs
from .methods import METHODS
from .minimize import DEFAULT_BUDGET, Result, minimize
from .network import Network
from .objective import Objective
from .reference import reference_minimum
from .registry import register_method
from .runner import run_sweep
from .store import load_results, load_traces, load_weights
from .sweep import ConfigError, Sweep

__version__ = "0.1.0"

__all__ = ["DEFAULT_BUDGET", "GRAD_COST", "METHODS", "ConfigError", "Network", "Objective", "Result", "Sweep",
           "compare", "datasets", "export_runs", "l2", "load_results", "load_traces", "load_weights", "minimize",
           "reference_minimum", "register_method", "run_sweep", "stats", "testing", "__version__"]

"""Any algorithm of evosax (JAX) as ``evosax:<Name>``: ``Open_ES``, ``SNES``, ``Sep_CMA_ES``, ``PGPE``, ``PSO``...

As in the ``nevergrad:`` family, evosax searches ``z`` (its unit step, starting at ``z = 0``) and the
network's weights are ``w = x0 + scale * s * z``, ``s`` the per-weight init scale. Each generation is
``population_size`` candidates asked, evaluated in one swarm call and told their ``J`` (evosax
minimizes); a population-based algorithm (``PSO``, ``SimpleGA``, ``DifferentialEvolution``...) first
evaluates its initial population, ``z`` drawn from N(0, I) with ``z = 0`` (``x0``) as its first member.
Generations run while one more fits the budget; the best evaluated point is returned.

On a device objective the population, the weights and ``J`` stay on the device (``budget.on_device``);
on the numpy path each generation's candidates come to the host. Keys: one JAX key seeded from the
run's Generator, split per generation. evosax is in the optional extra ``swarmreg[jax]``, imported
only when an ``evosax:`` method is first named.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from .. import _validate as v
from .._validate import suggest
from ..budget import Budget
from ..registry import Method, register_family

INSTALL_HINT = "pip install 'swarmreg[jax]'"


@dataclass(frozen=True)
class EvosaxOptions:
    population_size: int = 32  # candidates per generation, evaluated in one swarm call
    scale: float = 1.0  # w = x0 + scale * init_scale * z: evosax's unit step in units of the init scale

    def __post_init__(self) -> None:
        v.positive_int(self.population_size, "population_size")
        v.real(self.scale, "scale", 0.0, low_open=True)


@functools.cache
def _algorithms() -> tuple[ModuleType, dict, dict]:
    """``(jax, evosax's algorithms by name, the population-based ones)``; a ``ValueError`` if missing."""
    try:
        import jax
        from evosax.algorithms import algorithms, population_based_algorithms
    except ImportError as exc:
        raise ValueError(f"evosax: methods need evosax and JAX, which are not installed ({exc}); "
                         f"install them with: {INSTALL_HINT}") from None
    return jax, algorithms, population_based_algorithms


@functools.lru_cache(maxsize=32)
def _strategy(name: str, population_size: int, n_params: int, dtype: str):
    """evosax's algorithm object, one per shape: its jitted ask and tell compile once (``self`` is static)."""
    jax, algorithms, _ = _algorithms()
    with jax.enable_x64(True):
        return algorithms[name](population_size=population_size, solution=jax.numpy.zeros(n_params, dtype))


def run(name: str, budget: Budget, x0: np.ndarray, rng: np.random.Generator,
        opts: EvosaxOptions) -> tuple[np.ndarray, str, str]:
    """evosax's ask/tell by generations of ``population_size`` (see the module docstring)."""
    jax, _, population_based = _algorithms()
    import jax.numpy as jnp

    problem, P = budget.problem, opts.population_size
    dtype = problem.dtype
    on_device = problem.device is not None
    generations = 0
    with jax.enable_x64(True):
        device = problem.device if on_device else jax.devices("cpu")[0]
        center = jax.device_put(np.asarray(x0, dtype), device)
        step = jax.device_put(np.asarray(opts.scale * problem.init_scale, dtype), device)
        key = jax.random.key(int(rng.integers(2**32)))
        es = _strategy(name, P, problem.n_params, dtype.name)
        params = es.default_params

        def evaluate(z):
            W = center + step * z
            return budget.on_device(W) if on_device else jnp.asarray(budget(np.asarray(W, np.float64)), dtype)

        key, init_key, draw_key = jax.random.split(key, 3)
        if name in population_based:
            z = jax.random.normal(draw_key, (P, problem.n_params), dtype).at[0].set(0.0)
            state = es.init(init_key, z, evaluate(z), params)
            budget.record(budget.best_fun)
            generations += 1
        else:
            state = es.init(init_key, jnp.zeros(problem.n_params, dtype), params)
        while budget.can_afford(evals=P):
            key, ask_key, tell_key = jax.random.split(key, 3)
            z, state = es.ask(ask_key, state, params)
            state, _ = es.tell(tell_key, z, evaluate(z), state, params)
            budget.record(budget.best_fun)
            generations += 1
    return budget.best_x, "budget", f"evosax {name}: {generations} generations of {P}"


def resolve(name: str) -> Method:
    """The method ``evosax:<name>``; a ``ValueError`` if evosax is missing or has no such algorithm."""
    _, algorithms, _ = _algorithms()
    if name not in algorithms:
        raise ValueError(f"unknown method 'evosax:{name}': evosax has no algorithm {name!r}"
                         f"{suggest(name, algorithms)} (its names: evosax.algorithms.algorithms)")
    return Method(f"evosax:{name}", EvosaxOptions, _check, functools.partial(run, name),
                  uses_gradient=False, summary=f"evosax's {name}, generations of ask/tell within the budget",
                  native_device=True)


def _check(opts: EvosaxOptions, budget: float, problem, grad_cost: float) -> None:
    if budget < opts.population_size:
        raise ValueError(f"budget {budget:g} is less than one generation (population_size={opts.population_size})")


register_family("evosax", resolve, "any algorithm of evosax (evosax.algorithms.algorithms), e.g. evosax:Open_ES; "
                                   f"on a device objective it runs there; needs {INSTALL_HINT}")

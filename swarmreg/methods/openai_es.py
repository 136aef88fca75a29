"""OpenAI evolution strategy (Salimans et al. 2017): antithetic Gaussian pairs, centred ranks, Adam.

A generation is one swarm call on the centre ``theta`` and the ``2P`` points ``theta +- sigma*eps_i``
(``eps_i ~ N(0, I)``, ``P = population`` pairs, ``sigma`` absolute, in weight units). The ``2P``
fitness values are replaced by their centred ranks in ``[-0.5, 0.5]`` and the gradient estimate is
(es_distributed/es.py, which leaves ``1/sigma`` to the learning rate)::

    g = sum_i (rank(theta + sigma*eps_i) - rank(theta - sigma*eps_i)) * eps_i / (2P)

Adam then steps on ``g`` (es_distributed/optimizers.py, Kingma & Ba's form with ``eps`` outside the
bias correction): ``m = b1*m + (1-b1)*g``, ``v = b2*v + (1-b2)*g^2``,
``theta -= lr * sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)``.

L2 enters one of two ways (``l2``):

- ``"objective"``: the fitness is ``J``, like every other method;
- ``"gradient"``: OpenAI's way, ``optimizer.update(-g + l2coeff * theta)``: the fitness is ``E`` alone
  (``J`` minus the penalty of each point, so every evaluation is still charged as one of ``J``), and
  Adam steps on ``g + 2*lam*mask*theta`` (non-bias weights only; ``l2coeff = 2*lam`` is the gradient
  of the penalty). Since ``g`` is a gradient of *ranks*, dimensionless and O(1) whatever the scale of
  ``E``, the penalty's pull is not weighed against ``E``'s as in ``J``: a third meaning of "L2".

Either way the run reports ``J``: the returned point is the best evaluated (centres included),
the trace its ``J`` after each generation. A last generation that does not fit has fewer pairs.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from .. import _validate as v
from ..budget import Budget
from ..objective import FLOAT_MAX
from ..registry import register_method


@dataclass(frozen=True)
class OpenAIESOptions:
    population: int = 30  # antithetic pairs per generation; a generation costs 2*population + 1 (the centre)
    sigma: float = 0.02  # perturbation standard deviation, absolute (weight units): OpenAI's noise_stdev
    lr: float = 0.03  # Adam's step size, absolute (a coordinate moves about lr a step); OpenAI's 0.01: slow here
    beta1: float = 0.9  # Adam's first-moment decay
    beta2: float = 0.999  # Adam's second-moment decay
    eps: float = 1e-8  # Adam's epsilon, added to sqrt(v)
    l2: str = "objective"  # "objective": fitness J; "gradient": fitness E, Adam on g + 2*lam*mask*theta

    def __post_init__(self) -> None:
        v.positive_int(self.population, "population")
        v.real(self.sigma, "sigma", 0.0, low_open=True)
        v.real(self.lr, "lr", 0.0, low_open=True)
        v.real(self.beta1, "beta1", 0.0, 1.0, high_open=True)
        v.real(self.beta2, "beta2", 0.0, 1.0, high_open=True)
        v.real(self.eps, "eps", 0.0, low_open=True)
        v.choice(self.l2, "l2", ("objective", "gradient"))


def check(opts: OpenAIESOptions, budget: float, problem, grad_cost: float) -> None:
    if budget < 3:
        raise ValueError(f"budget {budget:g} is less than one generation of the centre and one antithetic pair (3)")


@functools.lru_cache(maxsize=16)
def _rank_values(n: int) -> np.ndarray:
    values = np.arange(n) / (n - 1) - 0.5
    values.flags.writeable = False
    return values


def centred_ranks(x: np.ndarray) -> np.ndarray:
    """OpenAI's ``compute_centered_ranks``: rank ``r`` in ``0..n-1`` (ties by position) mapped to
    ``r / (n - 1) - 0.5``, so the values are spread evenly over ``[-0.5, 0.5]`` and sum to 0."""
    ranks = np.empty(x.size)
    ranks[np.argsort(x, kind="stable")] = _rank_values(x.size)
    return ranks


def estimate_gradient(values: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """``sum_i (r_i^+ - r_i^-) eps_i / (2P)`` for ``values`` = the ``P`` fitnesses at ``theta + sigma*eps_i``
    then the ``P`` at ``theta - sigma*eps_i``, ``r`` their centred ranks: the search gradient of the
    fitness to be minimized (es.py's, sign-flipped for minimization)."""
    pairs = eps.shape[0]
    r = centred_ranks(values)
    weights = r[:pairs] - r[pairs:]
    weights /= 2 * pairs
    return weights @ eps


class Adam:
    """Adam as in es_distributed/optimizers.py: ``step(g)`` returns the change to add to ``theta``."""

    def __init__(self, n: int, lr: float, beta1: float, beta2: float, eps: float):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m, self.v, self.t = np.zeros(n), np.zeros(n), 0

    def step(self, g: np.ndarray) -> np.ndarray:
        self.t += 1
        a = self.lr * math.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)
        self.m *= self.beta1
        self.m += (1 - self.beta1) * g
        self.v *= self.beta2
        self.v += (1 - self.beta2) * (g * g)
        step = np.sqrt(self.v)
        step += self.eps
        np.divide(self.m, step, out=step)
        step *= -a
        return step


def fitness(budget: Budget, W: np.ndarray, l2: str) -> np.ndarray:
    """``J`` of the rows of ``W``, one charged swarm call; with ``l2="gradient"``, ``E = J - penalty``
    (to rounding; an overflowing ``J`` stays the largest value)."""
    J = budget(W)
    if l2 == "objective":
        return J
    return np.where(J < FLOAT_MAX, J - budget.problem.penalty(W), J)


@register_method("openai-es", options=OpenAIESOptions, check=check, native_device=True)
def run(budget: Budget, x0: np.ndarray, rng: np.random.Generator,
        opts: OpenAIESOptions) -> tuple[np.ndarray, str, str]:
    if budget.problem.device is not None:  # the population and Adam's moments kept on the device
        from ..backends.jax_methods import openai_es
        return openai_es(budget, x0, rng, opts)
    problem = budget.problem
    decay = 2.0 * problem.lam * problem.penalty_mask if opts.l2 == "gradient" else None
    adam = Adam(x0.size, opts.lr, opts.beta1, opts.beta2, opts.eps)
    theta = x0.copy()
    generations, last_pairs = 0, opts.population
    while (pairs := min(opts.population, int((budget.remaining() - 1) // 2))) >= 1:
        eps = rng.standard_normal((pairs, x0.size))
        W = np.empty((2 * pairs + 1, x0.size))
        W[0] = theta
        plus, minus = W[1:pairs + 1], W[pairs + 1:]
        np.multiply(eps, opts.sigma, out=plus)
        np.subtract(theta, plus, out=minus)
        plus += theta
        g = estimate_gradient(fitness(budget, W, opts.l2)[1:], eps)
        if decay is not None:
            g += decay * theta
        theta = theta + adam.step(g)
        generations, last_pairs = generations + 1, pairs
        budget.record(budget.best_fun)
    if budget.can_afford(evals=1):  # the centre after the last step
        budget(theta)
        budget.record(budget.best_fun)
    last = f", the last truncated to {last_pairs} pair(s)" if last_pairs < opts.population else ""
    return budget.best_x, "budget", f"ran {generations} generations of {opts.population} antithetic pairs{last}"

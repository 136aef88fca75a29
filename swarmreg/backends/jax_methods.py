"""The native device implementations of ``pso``, ``random-search``, ``openai-es``, ``backprop`` and ``adam`` on JAX.

The state (positions, velocities, personal bests; weights and optimizer moments) stays on the
objective's device from one generation or step to the next; what comes to the host per generation
is the budget's bookkeeping: the best value and its row. Random numbers come from a JAX key seeded
once from the run's numpy Generator, so the same seed gives the same bits on the same device.
``backprop`` and ``adam`` are optax transformations (``trace`` for heavy-ball momentum,
``scale_by_adam``) with swarmreg's L2 conventions: coupled L2 ``2*lam*mask*w`` added to the gradient
before them, decoupled decay ``-d*mask*w`` added to the step after them. Every function runs under
``jax.enable_x64(True)`` (see :mod:`swarmreg.backends.jax`).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..budget import Budget
from ..methods._epochs import decay_fraction, run_epochs


def _key(rng: np.random.Generator) -> jax.Array:
    """A JAX key seeded from the run's Generator (one draw)."""
    return jax.random.key(int(rng.integers(2**32)))


def _to_device(budget: Budget, x: np.ndarray) -> jax.Array:
    """``x`` in the objective's working dtype on its device (float64 kept: x64 is on for the call)."""
    with jax.enable_x64(True):
        return jax.device_put(np.asarray(x, budget.problem.dtype), budget.problem.device)


@partial(jax.jit, static_argnames="clamp")
def _pso_move(pos, vel, pbest, best, key, w, c1, c2, clamp):
    """pyswarms' ``compute_velocity`` and ``compute_position``, in its order:
    ``v = ((w * v) + (c1 * r1) * (pbest - x)) + (c2 * r2) * (best - x)``, ``x = x + v``."""
    k1, k2 = jax.random.split(key)
    r1 = jax.random.uniform(k1, pos.shape, pos.dtype)
    r2 = jax.random.uniform(k2, pos.shape, pos.dtype)
    vel = (w * vel + (c1 * r1) * (pbest - pos)) + (c2 * r2) * (best - pos)
    if clamp is not None:
        vel = jnp.clip(vel, -clamp, clamp)
    return pos + vel, vel


@jax.jit
def _pso_bests(pos, cost, pbest, pbest_cost):
    """pyswarms' ``compute_pbest`` (rows whose cost improved take the position) and ``Star``'s best."""
    improved = cost < pbest_cost
    pbest = jnp.where(improved[:, None], pos, pbest)
    pbest_cost = jnp.where(improved, cost, pbest_cost)
    return pbest, pbest_cost, pbest[jnp.argmin(pbest_cost)]


def pso(budget: Budget, x0: np.ndarray, rng: np.random.Generator, opts) -> tuple[np.ndarray, str, str]:
    """Global-best PSO on the device; the initial swarm is the numpy method's (the same draws)."""
    P = opts.n_particles
    position = x0 + opts.init_spread * budget.problem.net.init(rng, P)
    position[0] = x0
    iterations = int(budget.remaining() // P)
    with jax.enable_x64(True):
        key = _key(rng)
        pos = _to_device(budget, position)
        vel = jnp.zeros_like(pos)
        pbest, pbest_cost, best = pos, jnp.full(P, jnp.inf, pos.dtype), pos[0]  # every first cost improves
        for i in range(iterations):
            if i > 0:
                key, sub = jax.random.split(key)
                pos, vel = _pso_move(pos, vel, pbest, best, sub, opts.w, opts.c1, opts.c2, opts.velocity_clamp)
            pbest, pbest_cost, best = _pso_bests(pos, budget.on_device(pos), pbest, pbest_cost)
            budget.record(budget.best_fun)
    return budget.best_x, "budget", f"ran {iterations} iterations of {P} particles on {budget.problem.device}"


@partial(jax.jit, static_argnames="rows")
def _samples(x0, step, key, rows, first):
    W = x0 + step * jax.random.normal(key, (rows, x0.size), x0.dtype)
    return jnp.where(first & (jnp.arange(rows) == 0)[:, None], x0, W)


def random_search(budget: Budget, x0: np.ndarray, rng: np.random.Generator, opts) -> tuple[np.ndarray, str, str]:
    """Gaussian samples around ``x0`` drawn on the device, ``x0`` itself first."""
    samples = 0
    with jax.enable_x64(True):
        key = _key(rng)
        center = _to_device(budget, x0)
        step = _to_device(budget, opts.scale * budget.problem.init_scale)
        while (rows := min(opts.batch_size, int(budget.remaining()))) >= 1:
            key, sub = jax.random.split(key)
            budget.on_device(_samples(center, step, sub, rows, samples == 0))
            samples += rows
            budget.record(budget.best_fun)
    return budget.best_x, "budget", (f"drew {samples} samples around the start point in batches of "
                                     f"{opts.batch_size} on {budget.problem.device}")


@partial(jax.jit, static_argnames="pairs")
def _es_population(theta, key, sigma, pairs):
    """The centre, then ``theta + sigma*eps_i``, then ``theta - sigma*eps_i``; and ``eps``."""
    eps = jax.random.normal(key, (pairs, theta.size), theta.dtype)
    return jnp.concatenate([theta[None], eps * sigma + theta, theta - eps * sigma]), eps


@jax.jit
def _es_step(theta, W, J, eps, m, v, t, decay, lam_mask, lr, beta1, beta2, adam_eps):
    """The numpy method's generation after its swarm call: fitness (``E`` for ``l2="gradient"``),
    centred ranks, the antithetic gradient estimate, OpenAI's Adam step."""
    pairs = eps.shape[0]
    fitness = jnp.where(J < jnp.finfo(J.dtype).max, J - jnp.sum(jnp.square(W) * lam_mask, axis=1), J)[1:]
    ranks = jnp.empty(2 * pairs, theta.dtype).at[jnp.argsort(fitness, stable=True)].set(
        jnp.arange(2 * pairs, dtype=theta.dtype) / (2 * pairs - 1) - 0.5)
    g = ((ranks[:pairs] - ranks[pairs:]) / (2 * pairs)) @ eps + decay * theta
    t = t + 1
    a = lr * jnp.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * (g * g)
    return theta - a * m / (jnp.sqrt(v) + adam_eps), m, v, t


def openai_es(budget: Budget, x0: np.ndarray, rng: np.random.Generator, opts) -> tuple[np.ndarray, str, str]:
    """OpenAI-ES on the device: the numpy method's generations, ``eps`` drawn from a JAX key."""
    problem = budget.problem
    mask = np.asarray(problem.penalty_mask, problem.dtype)
    gradient_l2 = opts.l2 == "gradient"
    generations, last_pairs = 0, opts.population
    with jax.enable_x64(True):
        key = _key(rng)
        theta = _to_device(budget, x0)
        m, v, t = jnp.zeros_like(theta), jnp.zeros_like(theta), jnp.zeros((), theta.dtype)
        decay = _to_device(budget, 2.0 * problem.lam * mask if gradient_l2 else 0.0 * mask)
        lam_mask = _to_device(budget, problem.lam * mask if gradient_l2 else 0.0 * mask)
        while (pairs := min(opts.population, int((budget.remaining() - 1) // 2))) >= 1:
            key, sub = jax.random.split(key)
            W, eps = _es_population(theta, sub, opts.sigma, pairs)
            theta, m, v, t = _es_step(theta, W, budget.on_device(W), eps, m, v, t, decay, lam_mask,
                                      opts.lr, opts.beta1, opts.beta2, opts.eps)
            generations, last_pairs = generations + 1, pairs
            budget.record(budget.best_fun)
        if budget.can_afford(evals=1):  # the centre after the last step
            budget.on_device(theta[None])
            budget.record(budget.best_fun)
    last = f", the last truncated to {last_pairs} pair(s)" if last_pairs < opts.population else ""
    return budget.best_x, "budget", (f"ran {generations} generations of {opts.population} antithetic pairs{last} "
                                     f"on {problem.device}")


def epochs(budget: Budget, x0: np.ndarray, rng: np.random.Generator, opts, method: str) -> tuple[np.ndarray, str, str]:
    """``backprop`` (core ``optax.trace(momentum)``) or ``adam`` (core ``optax.scale_by_adam``) on the
    device: the numpy methods' batches, budget, schedule and divergence rules (:func:`run_epochs`), the
    step ``w - lr*eta_t*core([coupled L2 +] g) [- eta_t*decay*mask*w]`` at the schedule's ``eta_t``."""
    problem = budget.problem
    core = optax.trace(decay=opts.momentum) if method == "backprop" else \
        optax.scale_by_adam(b1=opts.betas[0], b2=opts.betas[1], eps=opts.eps)
    mask = np.asarray(problem.penalty_mask, problem.dtype)
    parts = []
    if opts.decay == "coupled" and problem.lam != 0.0:
        parts.append(optax.add_decayed_weights(_to_device(budget, 2.0 * problem.lam * mask)))
    transform = optax.chain(*parts, core)
    decay = decay_fraction(opts, problem.lam) if opts.decay == "decoupled" else 0.0

    @jax.jit
    def update(w, g, state, eta, decay_mask):
        direction, state = transform.update(g, state, w)
        return w + (-(opts.lr * eta) * direction - (eta * decay_mask) * w), state

    with jax.enable_x64(True):
        w0 = _to_device(budget, x0)
        decay_mask = _to_device(budget, decay * mask)
        state = transform.init(w0)

        def step(w, g, eta):
            nonlocal state
            w, state = update(w, g, state, eta, decay_mask)
            return w

        x, status, message = run_epochs(budget, w0, rng, step, epochs=opts.epochs, batch_size=opts.batch_size,
                                        shuffle=opts.shuffle, schedule=opts.schedule, t0=opts.t0,
                                        t_mult=opts.t_mult, gradient=budget.error_and_gradient_on_device)
    return np.asarray(x, dtype=np.float64), status, message

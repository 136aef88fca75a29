"""Particle swarm optimization: swarmreg's loop, pyswarms' update rule and topologies.

Each iteration is pyswarms' canonical update ``v = w*v + c1*r1*(pbest - x) + c2*r2*(best - x)``,
``x = x + v`` (r1, r2 ~ U(0, 1)), with the neighbourhood best from a pyswarms topology (``Star`` or
``Ring``). Iterations = budget // n_particles, the first being the evaluation of the initial swarm.
Only the current swarm is kept: no history, so memory does not grow with the iterations.

Speed. The update is pyswarms' ``compute_velocity`` / ``compute_position`` / ``compute_pbest``
written in place on preallocated arrays: the same operations in the same order, so the same bits
(tests/test_reference_trajectories.py runs pyswarms' operators beside it). Those operators allocate
about a dozen (n_particles, n_params) temporaries per iteration and draw r1, r2 from numpy's global
RandomState; on benchmark 2 of ``python -m benchmarks.run`` (16-64-4, 8 items, 100 particles, 300
iterations) they alone took 0.55 of pyswarms' whole ``GlobalBestPSO.optimize``, so half of its
time was out of reach with them. r1 and r2 still come from the same stream (:class:`_UniformStream`), which is now
the floor: MT19937 at about 2.8 ns a double is 0.74 ms of the loop's 1.3 ms per iteration there.
So the draws for the next iterations are made in one helper thread while this one updates the
swarm and evaluates the objective, whenever the process may use more than one core: when BLAS is
allowed more than one thread (``threadpoolctl``; a sweep's workers are limited to one, so they stay
single-threaded and do not oversubscribe the machine). The results are the same bits either way.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from threadpoolctl import ThreadpoolController

from .. import _validate as v
from ..budget import Budget
from ..registry import register_method
from ._pyswarms import Swarm
from ._pyswarms import topology as make_topology


@dataclass(frozen=True)
class PSOOptions:
    n_particles: int = 40  # swarm size; each iteration costs n_particles evaluations of J
    w: float = 0.7298  # inertia; with c1 = c2 = 1.49618 Clerc's constriction, stable without clamping
    c1: float = 1.49618  # cognitive weight: pull toward the particle's own best
    c2: float = 1.49618  # social weight: pull toward the neighbourhood best
    topology: str = "global"  # "global" (pyswarms Star) or "ring" (pyswarms Ring, k nearest neighbours)
    k: int = 3  # ring topology: neighbours per particle (itself included)
    velocity_clamp: float | None = None  # |v| per coordinate capped at this, in weight units; None: no cap
    init_spread: float = 1.0  # initial swarm: x0 (particle 0) plus the network's init draws times this factor

    def __post_init__(self) -> None:
        v.positive_int(self.n_particles, "n_particles")
        v.real(self.w, "w", 0.0)
        v.real(self.c1, "c1", 0.0)
        v.real(self.c2, "c2", 0.0)
        v.choice(self.topology, "topology", ("global", "ring"))
        v.positive_int(self.k, "k")
        if self.topology == "ring" and self.k >= self.n_particles:
            raise ValueError(f"k must be less than n_particles ({self.n_particles}) for a ring, got {self.k}")
        if self.velocity_clamp is not None:
            v.real(self.velocity_clamp, "velocity_clamp", 0.0, low_open=True)
        v.real(self.init_spread, "init_spread", 0.0, low_open=True)


def check(opts: PSOOptions, budget: float, problem, grad_cost: float) -> None:
    if budget < opts.n_particles:
        raise ValueError(f"budget {budget:g} is less than one swarm evaluation (n_particles={opts.n_particles})")


class _UniformStream:
    """The r1, r2 draws pyswarms makes with ``np.random.uniform(0, 1, shape)`` after ``np.random.seed(s)``.

    A private MT19937, so no global state is touched and no lock is needed; re-seeded per iteration
    by ``RandomState.seed`` (legacy seeding, as ``np.random.seed``) and read by ``Generator.random``
    into preallocated arrays: the same doubles ``u`` (``uniform(0, 1)`` returns ``0 + 1 * u``).
    """

    def __init__(self) -> None:
        bits = np.random.MT19937()
        self._seeder = np.random.RandomState(bits)
        self._draw = np.random.Generator(bits)

    def fill(self, seed: int, r1: np.ndarray, r2: np.ndarray) -> None:
        """Seed, then draw r1 and r2 in pyswarms' order (numpy releases the GIL while drawing)."""
        self._seeder.seed(seed)
        self._draw.random(out=r1)
        self._draw.random(out=r2)


class _Inline(Executor):
    """An executor that runs each call at once, in this thread: the single-threaded loop."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        future.set_result(fn(*args, **kwargs))
        return future


_controller: ThreadpoolController | None = None


def _may_use_two_threads() -> bool:
    """True when the process has two cores and BLAS may use more than one thread (threadpoolctl)."""
    global _controller
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cores < 2:
        return False
    if _controller is None:
        _controller = ThreadpoolController()
    blas = [lib.num_threads for lib in _controller.lib_controllers if lib.user_api == "blas"]
    return max(blas, default=1) > 1


@register_method("pso", options=PSOOptions, check=check, native_device=True)
def run(budget: Budget, x0: np.ndarray, rng: np.random.Generator, opts: PSOOptions) -> tuple[np.ndarray, str, str]:
    if budget.problem.device is not None and opts.topology == "global":  # the swarm kept on the device
        from ..backends.jax_methods import pso
        return pso(budget, x0, rng, opts)
    net = budget.problem.net
    position = x0 + opts.init_spread * net.init(rng, opts.n_particles)
    position[0] = x0
    velocity = np.zeros_like(position)
    # pyswarms' Swarm holds the state its topologies read (positions, personal bests, best cost)
    swarm = Swarm(position=position, velocity=velocity, options={"w": opts.w, "c1": opts.c1, "c2": opts.c2})
    topology = make_topology(opts.topology)
    neighbourhood = {} if opts.topology == "global" else {"p": 2, "k": opts.k}
    clamp = opts.velocity_clamp
    stream = _UniformStream()
    # two pairs of (r1, r2): the helper fills one for the next iteration while this one uses the other
    draws = [(np.empty_like(position), np.empty_like(position)) for _ in range(2)]
    diff = np.empty_like(position)  # pbest - x, then best - x

    iterations = int(budget.remaining() // opts.n_particles)
    helper = ThreadPoolExecutor(1, thread_name_prefix="swarmreg-pso") if _may_use_two_threads() else _Inline()
    with helper:
        pending = helper.submit(stream.fill, int(rng.integers(2**32)), *draws[1]) if iterations > 1 else None
        for i in range(iterations):
            if i > 0:
                pending.result()
                r1, r2 = draws[i % 2]
                if i + 1 < iterations:  # the seeds are drawn from rng in order, as before
                    pending = helper.submit(stream.fill, int(rng.integers(2**32)), *draws[(i + 1) % 2])
                # v = ((w * v) + (c1 * r1) * (pbest - x)) + (c2 * r2) * (best - x), pyswarms' order
                velocity *= opts.w
                r1 *= opts.c1
                r1 *= np.subtract(swarm.pbest_pos, position, out=diff)
                velocity += r1
                r2 *= opts.c2
                r2 *= np.subtract(swarm.best_pos, position, out=diff)
                velocity += r2
                if clamp is not None:  # pyswarms' VelocityHandler("unmodified") with a clamp
                    np.clip(velocity, -clamp, clamp, out=velocity)
                position += velocity
            cost = budget(position)
            if i == 0:
                swarm.pbest_pos, swarm.pbest_cost = position.copy(), cost.copy()
            else:  # pyswarms' compute_pbest: rows whose cost improved take the current position
                improved = cost < swarm.pbest_cost
                swarm.pbest_pos[improved] = position[improved]
                swarm.pbest_cost[improved] = cost[improved]
            best_pos, swarm.best_cost = topology.compute_gbest(swarm, **neighbourhood)
            # Star returns a view of the best particle's row of pbest_pos, which is updated in
            # place: keep a copy, as the reference's fresh arrays did
            swarm.best_pos = best_pos.copy() if np.may_share_memory(best_pos, swarm.pbest_pos) else best_pos
            budget.record(budget.best_fun)
    return budget.best_x, "budget", f"ran {iterations} iterations of {opts.n_particles} particles"

"""Particle swarm optimization: swarmreg's loop driving pyswarms' backend operators and topologies.

Each iteration is pyswarms' canonical update ``v = w*v + c1*r1*(pbest - x) + c2*r2*(best - x)``,
``x = x + v`` (r1, r2 ~ U(0, 1), drawn by pyswarms from numpy's global state, which is seeded from
the run's Generator and restored around the call). Iterations = budget // n_particles, the first
being the evaluation of the initial swarm. Only the current swarm is kept: no history.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyswarms.backend import operators
from pyswarms.backend.handlers import VelocityHandler
from pyswarms.backend.swarms import Swarm
from pyswarms.backend.topology import Ring, Star

from .. import _validate as v
from .._rng import seeded_global_state
from ..budget import Budget


@dataclass(frozen=True)
class PSOOptions:
    n_particles: int = 40  # swarm size; each iteration costs n_particles evaluations of J
    w: float = 0.7298  # inertia; with c1 = c2 = 1.49618 Clerc's constriction, stable without clamping
    c1: float = 1.49618  # cognitive weight: pull toward the particle's own best
    c2: float = 1.49618  # social weight: pull toward the neighbourhood best
    topology: str = "global"  # "global" (pyswarms Star) or "ring" (pyswarms Ring, k nearest neighbours)
    k: int = 3  # ring topology: neighbours per particle (itself included)
    velocity_clamp: float | None = None  # |v| per coordinate capped at this, in weight units; None: no cap
    init_spread: float = 1.0  # initial swarm drawn from the network's init, scaled by this factor

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


def check(opts: PSOOptions, budget: float, objective) -> None:
    if budget < opts.n_particles:
        raise ValueError(f"budget {budget:g} is less than one swarm evaluation (n_particles={opts.n_particles})")


def run(budget: Budget, x0: np.ndarray, rng: np.random.Generator, opts: PSOOptions) -> tuple[np.ndarray, str, str]:
    net = budget.objective.net
    position = x0 + opts.init_spread * net.init(rng, opts.n_particles)
    position[0] = x0
    swarm = Swarm(position=position, velocity=np.zeros_like(position),
                  options={"w": opts.w, "c1": opts.c1, "c2": opts.c2})
    if opts.topology == "global":
        topology, neighbourhood = Star(), {}
    else:
        topology, neighbourhood = Ring(static=False), {"p": 2, "k": opts.k}
    clamp = None if opts.velocity_clamp is None else (-opts.velocity_clamp, opts.velocity_clamp)
    handler = VelocityHandler(strategy="unmodified")

    iterations = int(budget.remaining() // opts.n_particles)
    for i in range(iterations):
        if i > 0:
            with seeded_global_state(rng):
                swarm.velocity = topology.compute_velocity(swarm, clamp, handler)
            swarm.position = topology.compute_position(swarm)
        swarm.current_cost = budget(swarm.position)
        if i == 0:
            swarm.pbest_pos, swarm.pbest_cost = swarm.position, swarm.current_cost
        else:
            swarm.pbest_pos, swarm.pbest_cost = operators.compute_pbest(swarm)
        swarm.best_pos, swarm.best_cost = topology.compute_gbest(swarm, **neighbourhood)
        budget.record(budget.best_fun)
    return budget.best_x, "budget", f"ran {iterations} iterations of {opts.n_particles} particles"

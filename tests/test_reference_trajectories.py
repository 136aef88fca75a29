"""PSO, Nelder-Mead and backprop trajectories, bit for bit, against references computed here.

Each reference is independent code run in this process on the same objective, so the comparison
holds on any machine, whatever its BLAS kernel (both sides evaluate the same points with the same
objective; only the optimizers' own arithmetic and random draws are compared):

- PSO: pyswarms' own backend operators (``compute_velocity``, ``compute_position``,
  ``compute_pbest``, its ``Star`` and ``Ring`` topologies) in a plain loop, with r1, r2 drawn by
  pyswarms from numpy's global state seeded per iteration (saved and restored around each draw),
  the seeds taken from the run's Generator after the start point and the swarm;
- Nelder-Mead: ``scipy.optimize.minimize(method="Nelder-Mead")`` called directly on the same start
  and simplex, restarted from the best vertex while it converges with budget left;
- backprop: the SGD update of DESIGN section 3 written out, on the same batches.

Every case compares ``res.x``, ``res.fun``, the trace and the counts with ``np.array_equal``.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize

import swarmreg as sr
from swarmreg.methods._pyswarms import quiet_reporter

with quiet_reporter():  # pyswarms' modules build Reporters on import: no report.log in the working directory
    from pyswarms.backend.handlers import VelocityHandler
    from pyswarms.backend.operators import compute_pbest
    from pyswarms.backend.swarms import Swarm
    from pyswarms.backend.topology import Ring, Star

BUDGET = 4000


def objective(dataset: str, hidden: tuple[int, ...], activation: str = "tanh", lam: float = 0.01,
              dtype: str = "float64") -> sr.Objective:
    data = sr.datasets.load(dataset, seed=0)
    net = sr.Network(data.sizes(list(hidden)), hidden=activation, output=data.output)
    return sr.Objective(net, data.X_train, data.y_train, lam=lam, dtype=dtype)


class _Run:
    """What a reference produces: the returned point, the trace, the counts and the status."""

    def __init__(self, obj: sr.Objective) -> None:
        self.obj = obj
        self.best_fun, self.best_x = np.inf, None
        self.costs: list[float] = []
        self.funs: list[float] = []

    def seen(self, W: np.ndarray, values: np.ndarray) -> None:
        """Keep the first vector with the lowest value seen so far (a strict improvement)."""
        i = int(np.argmin(values))
        if values[i] < self.best_fun:
            self.best_fun, self.best_x = float(values[i]), W[i].copy()

    def record(self, cost: float, fun: float) -> None:
        self.costs.append(cost)
        self.funs.append(float(fun))

    def assert_matches(self, res: sr.Result, x: np.ndarray, status: str, n_evals: int, n_grads: int) -> None:
        fun = self.obj.error(x) + self.obj.penalty(x)  # the returned value, computed as minimize reports it
        assert np.array_equal(res.x, x)
        assert res.fun == fun
        assert res.status == status
        assert (res.n_evals, res.n_grads) == (n_evals, n_grads)
        assert np.array_equal(res.trace["cost"], self.costs)
        assert np.array_equal(res.trace["fun"][:-1], self.funs[:-1])
        assert res.trace["fun"][-1] == fun  # the last record is the returned point's J
        assert res.cost == self.costs[-1]


# ---------------------------------------------------------------------------------------------
# PSO: pyswarms' backend operators in a loop


def reference_pso(obj: sr.Objective, budget: int, seed: int, *, n_particles: int = 40, w: float = 0.7298,
                  c1: float = 1.49618, c2: float = 1.49618, topology: str = "global", k: int = 3,
                  velocity_clamp: float | None = None, init_spread: float = 1.0) -> tuple[_Run, np.ndarray]:
    rng = np.random.default_rng(seed)
    x0 = obj.net.init(rng)
    position = x0 + init_spread * obj.net.init(rng, n_particles)
    position[0] = x0
    with quiet_reporter():
        swarm = Swarm(position=position, velocity=np.zeros_like(position), options={"w": w, "c1": c1, "c2": c2})
        top = Star() if topology == "global" else Ring(static=False)
        handler = VelocityHandler(strategy="unmodified")
    swarm.pbest_cost = np.full(n_particles, np.inf)  # as pyswarms' optimizers start
    clamp = None if velocity_clamp is None else (-velocity_clamp, velocity_clamp)
    neighbours = {} if topology == "global" else {"p": 2, "k": k}
    run = _Run(obj)
    iterations = budget // n_particles
    for i in range(iterations):
        if i > 0:
            saved = np.random.get_state()
            try:
                np.random.seed(int(rng.integers(2**32)))
                swarm.velocity = top.compute_velocity(swarm, clamp, handler)
            finally:
                np.random.set_state(saved)
            swarm.position = top.compute_position(swarm)
        swarm.current_cost = obj(swarm.position)
        swarm.pbest_pos, swarm.pbest_cost = compute_pbest(swarm)
        swarm.best_pos, swarm.best_cost = top.compute_gbest(swarm, **neighbours)
        run.seen(swarm.position, swarm.current_cost)
        run.record(float(n_particles * (i + 1)), run.best_fun)
    return run, run.best_x


PSO_CASES = {
    "iris-s0": (("iris", (8,)), 0, {}),
    "iris-s1": (("iris", (8,)), 1, {}),
    "iris-ring-clamp": (("iris", (8,)), 0, {"topology": "ring", "velocity_clamp": 0.5}),
    "iris-float32": (("iris", (8,), "tanh", 0.01, "float32"), 2, {"n_particles": 25}),
    "wine-relu-2h": (("wine", (6, 5), "relu"), 0, {"n_particles": 20, "w": 0.6, "c1": 1.2, "c2": 1.8}),
    "quadratic-sigmoid-spread": (("quadratic", (6,), "sigmoid"), 0, {"n_particles": 25, "init_spread": 0.5}),
}


@pytest.mark.parametrize("case", PSO_CASES)
def test_pso_is_pyswarms_operators_bit_for_bit(case):
    problem, seed, options = PSO_CASES[case]
    obj = objective(*problem)
    state = np.random.get_state()
    res = sr.minimize(obj, "pso", budget=BUDGET, seed=seed, **options)
    run, x = reference_pso(obj, BUDGET, seed, **options)
    n_particles = options.get("n_particles", 40)
    run.assert_matches(res, x, "budget", n_evals=BUDGET // n_particles * n_particles, n_grads=0)
    restored = np.random.get_state()
    assert np.array_equal(restored[1], state[1]) and restored[2] == state[2]


# ---------------------------------------------------------------------------------------------
# Nelder-Mead: scipy called directly


class _Spent(Exception):
    pass


def reference_nelder_mead(obj: sr.Objective, budget: int, seed: int, *, initial_step: float = 1.0,
                          adaptive: bool = True, xatol: float = 1e-8, fatol: float = 1e-10,
                          restarts: bool = True) -> tuple[_Run, np.ndarray, str]:
    x0 = obj.net.init(np.random.default_rng(seed))
    n = x0.size
    steps = initial_step * obj.net.init_scale
    run = _Run(obj)
    evals = 0

    def f(x: np.ndarray) -> float:
        nonlocal evals
        if evals + 1 > budget:
            raise _Spent
        evals += 1
        value = obj(x)
        before = run.best_fun
        run.seen(x[None, :], np.array([value]))
        if run.best_fun < before:
            run.record(float(evals), run.best_fun)
        return value

    start, status = x0, "budget"
    while evals + n + 1 <= budget:
        before = run.best_fun
        simplex = np.vstack([start, start + np.diag(steps)])
        try:
            res = scipy.optimize.minimize(
                f, start, method="Nelder-Mead",
                options={"adaptive": adaptive, "xatol": xatol, "fatol": fatol, "initial_simplex": simplex,
                         "maxfev": budget - evals, "maxiter": np.iinfo(np.int64).max})
        except _Spent:
            break
        if res.status != 0:
            break
        if not restarts or not run.best_fun < before - fatol:
            status = "converged"
            break
        start = run.best_x
    run.record(float(evals), run.best_fun)
    return run, run.best_x, status


def _tiny_objective() -> sr.Objective:
    """1-2-1 on 12 quadratic items: converges in a few hundred evaluations, so restarts happen."""
    x = np.linspace(-1, 1, 12)[:, None]
    return sr.Objective(sr.Network((1, 2, 1), output="identity"), x, 2 * x[:, 0] ** 2 + 1, lam=0.01)


NELDER_MEAD_CASES = {
    "iris-s0": (lambda: objective("iris", (8,)), 0, {}),
    "iris-s1": (lambda: objective("iris", (8,)), 1, {}),
    "wine-relu-2h-step": (lambda: objective("wine", (6, 5), "relu"), 0, {"initial_step": 0.5, "adaptive": False}),
    "tiny-restarts": (_tiny_objective, 3, {"xatol": 1e-4, "fatol": 1e-6}),
    "tiny-no-restart": (_tiny_objective, 3, {"xatol": 1e-4, "fatol": 1e-6, "restarts": False}),
}


@pytest.mark.parametrize("case", NELDER_MEAD_CASES)
def test_nelder_mead_is_scipy_called_directly_bit_for_bit(case):
    make, seed, options = NELDER_MEAD_CASES[case]
    obj = make()
    res = sr.minimize(obj, "nelder-mead", budget=BUDGET, seed=seed, **options)
    run, x, status = reference_nelder_mead(obj, BUDGET, seed, **options)
    run.assert_matches(res, x, status, n_evals=int(run.costs[-1]), n_grads=0)
    if case.startswith("tiny"):  # the restart logic is exercised
        assert status == "converged" and (res.message.endswith("1 simplex round(s)") == ("no-restart" in case))


# ---------------------------------------------------------------------------------------------
# backprop: the update written out


def reference_backprop(obj: sr.Objective, budget: float, seed: int, *, lr: float = 0.1, epochs: int | None = None,
                       batch_size: int | None = None, momentum: float = 0.9, decay: str = "coupled",
                       decay_rate: float | None = None, shuffle: bool = True) -> tuple[_Run, np.ndarray, str, int]:
    """Heavy-ball SGD: ``g = dE_B/dw (+ 2*lam*mask*w coupled); v = mu*v + g;
    w = w - (lr*v (+ d*mask*w decoupled))``, one gradient over ``m`` of ``N`` items costing ``3*m/N``."""
    rng = np.random.default_rng(seed)
    w = obj.net.init(rng)
    n, mask, lam = obj.n_items, obj.net.weight_mask, obj.lam
    m = n if batch_size is None else batch_size
    d = 2.0 * lr * lam if decay_rate is None else decay_rate
    run = _Run(obj)
    grad_items, steps, epoch = 0, 0, 0
    v = np.zeros_like(w)
    while epochs is None or epoch < epochs:
        order = rng.permutation(n) if shuffle and m < n else np.arange(n)
        for start in range(0, n, m):
            idx = None if m >= n else order[start:start + m]
            items = n if idx is None else len(idx)
            if 3.0 * (grad_items + items) / n > budget:
                run.record(3.0 * grad_items / n, obj(w))
                return run, w, "budget", steps
            _, g = obj.error_and_gradient(w, idx)
            grad_items += items
            steps += 1
            if decay == "coupled":
                g = g + 2.0 * lam * mask * w
            v = momentum * v + g if momentum else g
            step = lr * v
            if decay == "decoupled":
                step = step + d * mask * w
            w = w - step
        epoch += 1
        run.record(3.0 * grad_items / n, obj(w))
    return run, w, "epochs", steps


BACKPROP_CASES = {
    "iris-full-s0": (("iris", (8,)), 0, {}),
    "iris-full-s1": (("iris", (8,)), 1, {}),
    "iris-mb16-decoupled": (("iris", (8,)), 0, {"batch_size": 16, "decay": "decoupled"}),
    "iris-mb10-plain-epochs": (("iris", (8,)), 2, {"batch_size": 10, "momentum": 0.0, "epochs": 7, "lr": 0.05}),
    "iris-mb7-in-order-float32": (("iris", (8,), "tanh", 0.01, "float32"), 0,
                                  {"batch_size": 7, "shuffle": False, "decay": "decoupled", "decay_rate": 0.003}),
    "quadratic-sigmoid-mb8": (("quadratic", (6,), "sigmoid"), 0, {"batch_size": 8}),
}


@pytest.mark.parametrize("case", BACKPROP_CASES)
def test_backprop_is_the_written_out_update_bit_for_bit(case):
    problem, seed, options = BACKPROP_CASES[case]
    obj = objective(*problem)
    budget = 300 if options.get("batch_size") else BUDGET
    res = sr.minimize(obj, "backprop", budget=budget, seed=seed, **options)
    run, x, status, steps = reference_backprop(obj, budget, seed, **options)
    run.assert_matches(res, x, status, n_evals=0, n_grads=steps)
    assert steps > 10

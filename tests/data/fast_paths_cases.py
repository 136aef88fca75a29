"""The cases recorded in ``fast_paths_reference.npz`` (shared by the recorder and the test)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy
from threadpoolctl import threadpool_info

import swarmreg as sr

BUDGET = 4000
LAM = 0.01

# (name, dataset, hidden, hidden activation, method, seed, options)
RUNS = [
    *[(f"{m}-s{s}", "iris", (8,), "tanh", m, s, {}) for m in ("pso", "nelder-mead", "backprop") for s in (0, 1)],
    ("pso-ring-clamp-s0", "iris", (8,), "tanh", "pso", 0, {"topology": "ring", "velocity_clamp": 0.5}),
    ("backprop-mb16-decoupled-s0", "iris", (8,), "tanh", "backprop", 0, {"batch_size": 16, "decay": "decoupled"}),
    ("pso-wine-relu-2h-s0", "wine", (6, 5), "relu", "pso", 0, {"n_particles": 20}),
    ("pso-quadratic-sigmoid-s0", "quadratic", (6,), "sigmoid", "pso", 0, {"n_particles": 25}),
    ("backprop-quadratic-mb8-s0", "quadratic", (6,), "sigmoid", "backprop", 0, {"batch_size": 8}),
]


def objective(dataset: str, hidden: tuple[int, ...], activation: str, lam: float = LAM,
              dtype: str | None = None) -> sr.Objective:
    data = sr.datasets.load(dataset, seed=0)
    net = sr.Network(data.sizes(list(hidden)), hidden=activation, output=data.output)
    kwargs = {} if dtype is None else {"dtype": dtype}
    return sr.Objective(net, data.X_train, data.y_train, lam=lam, **kwargs)


def run_cases(only: str | None = None) -> Iterator[tuple[str, sr.Result]]:
    for name, dataset, hidden, activation, method, seed, options in RUNS:
        if only is not None and name != only:
            continue
        obj = objective(dataset, hidden, activation)
        yield name, sr.minimize(obj, method, budget=BUDGET, seed=seed, **options)


# (name, dataset, hidden, activation, swarm size)
OBJECTIVES = [
    ("iris-tanh", "iris", (8,), "tanh", 37),
    ("wine-relu-2h", "wine", (6, 5), "relu", 11),
    ("quadratic-sigmoid", "quadratic", (6,), "sigmoid", 9),
]


def objective_cases() -> Iterator[tuple[str, np.ndarray]]:
    """``obj(W)`` of a swarm, ``obj(w)`` of one vector, and ``error_and_gradient`` (full and a batch)."""
    for name, dataset, hidden, activation, P in OBJECTIVES:
        obj = objective(dataset, hidden, activation)
        W = 1.5 * np.random.default_rng(3).standard_normal((P, obj.net.n_params))
        yield f"obj/{name}/swarm", obj(W)
        yield f"obj/{name}/single", np.array([obj(w) for w in W])
        err, g = obj.error_and_gradient(W[0])
        yield f"obj/{name}/grad_err", np.array(err)
        yield f"obj/{name}/grad", g
        idx = np.arange(0, obj.n_items, 3)
        err, g = obj.error_and_gradient(W[1], idx)
        yield f"obj/{name}/batch_grad_err", np.array(err)
        yield f"obj/{name}/batch_grad", g


def environment() -> dict[str, str]:
    """What the recorded bits depend on besides swarmreg: numpy, scipy and numpy's BLAS and its kernel."""
    libs = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    numpy_libs = [i for i in libs if "numpy" in i.get("filepath", "")] or libs
    blas = [f"{i.get('internal_api')}-{i.get('version')}-{i.get('architecture')}" for i in numpy_libs]
    return {"numpy": np.__version__, "scipy": scipy.__version__, "blas": ";".join(sorted(blas))}

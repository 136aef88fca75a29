"""Every bad input of issue 6, table-driven: the exception type and a message naming the argument.

Refused before any work: no run starts, nothing is written.
"""

from __future__ import annotations

import numpy as np
import pytest

import swarmreg as sr

X = np.random.default_rng(0).standard_normal((12, 4))
Y = np.arange(12) % 3
NET = sr.Network((4, 5, 3))
OBJ = sr.Objective(NET, X, Y, lam=0.01)
REG = sr.Network((4, 5, 2), output="identity")

NETWORK_CASES = [
    ((4,), {}, ValueError, "sizes"),
    ((), {}, ValueError, "sizes"),
    ((4, 0, 3), {}, ValueError, "sizes"),
    ((4, -2, 3), {}, ValueError, "sizes"),
    ((4, 2.5, 3), {}, ValueError, "sizes"),
    ((4, True, 3), {}, ValueError, "sizes"),
    ("43", {}, TypeError, "sizes"),
    ((4, 5, 3), {"hidden": "gelu"}, ValueError, "hidden"),
    ((4, 5, 3), {"output": "sigmoid"}, ValueError, "output"),
]


@pytest.mark.parametrize("sizes, kwargs, error, name", NETWORK_CASES)
def test_network_refuses(sizes, kwargs, error, name):
    with pytest.raises(error, match=name):
        sr.Network(sizes, **kwargs)


def _nan_x():
    bad = X.copy()
    bad[3, 1] = np.nan
    return bad


OBJECTIVE_CASES = [
    (NET, _nan_x(), Y, {}, ValueError, "X"),
    (NET, np.where(X > 1, np.inf, X), Y, {}, ValueError, "X"),
    (NET, X[:0], Y[:0], {}, ValueError, "X"),
    (NET, X[:, :3], Y, {}, ValueError, "X has 3 columns"),
    (NET, X, Y[:-1], {}, ValueError, "y has 11 items"),
    (NET, X, np.where(Y == 0, np.nan, Y), {}, ValueError, "y"),
    (NET, X, Y + 1, {}, ValueError, "labels"),
    (NET, X, Y - 1, {}, ValueError, "labels"),
    (NET, X, Y + 0.5, {}, ValueError, "y"),
    (REG, X, np.ones((12, 3)), {}, ValueError, "target columns"),
    (NET, X, Y, {"loss": "hinge"}, ValueError, "loss"),
    (NET, X, Y, {"loss": "mse"}, ValueError, "loss"),
    (NET, X, Y, {"lam": -0.1}, ValueError, "lam"),
    (NET, X, Y, {"lam": float("nan")}, ValueError, "lam"),
    (NET, X, Y, {"lam": float("inf")}, ValueError, "lam"),
    (NET, X, Y, {"lam": "0.1"}, TypeError, "lam"),
    ("net", X, Y, {}, TypeError, "net"),
]


@pytest.mark.parametrize("net, Xa, ya, kwargs, error, name", OBJECTIVE_CASES)
def test_objective_refuses(net, Xa, ya, kwargs, error, name):
    with pytest.raises(error, match=name):
        sr.Objective(net, Xa, ya, **kwargs)


@pytest.mark.parametrize("w", [np.zeros(NET.n_params - 1), np.zeros((2, NET.n_params + 1)), np.zeros((2, 2, 3))])
def test_objective_refuses_a_weight_vector_of_the_wrong_length(w):
    with pytest.raises(ValueError, match="w must have shape"):
        OBJ(w)


def test_objective_refuses_an_empty_swarm():
    with pytest.raises(ValueError, match="empty swarm"):
        OBJ(np.zeros((0, NET.n_params)))


@pytest.mark.parametrize("kwargs, error, pattern", [
    ({"datasets": "iris"}, TypeError, "datasets must be a list"),
    ({"methods": "pso"}, TypeError, "methods must be a list"),
    ({"hidden": [8]}, TypeError, "hidden must be a list of layer-size lists"),
    ({"lams": 0.1}, TypeError, "lams must be a list"),
    ({"seeds": 0}, TypeError, "seeds must be a list"),
    ({"workers": 0}, ValueError, "workers"),
    ({"metrics": ["accuracy"]}, ValueError, "unknown metric 'accuracy'"),
])
def test_compare_refuses_before_running(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        sr.compare(**{"budget": 100, "seeds": [0], "lams": [0.0], **kwargs})


def test_dataset_sizes_needs_a_list():
    with pytest.raises(TypeError, match="hidden"):
        sr.datasets.load("iris").sizes(8)


MINIMIZE_CASES = [
    ("sgd", {}, ValueError, "unknown method 'sgd'.*pso, nelder-mead, backprop"),
    ("nelder_mead", {}, ValueError, "did you mean 'nelder-mead'"),
    ("pso", {"n_particle": 10}, TypeError, "n_particle.*did you mean 'n_particles'"),
    ("backprop", {"learning_rate": 0.1}, TypeError, "learning_rate"),
    ("pso", {"n_particles": 0}, ValueError, "n_particles"),
    ("pso", {"topology": "star"}, ValueError, "topology"),
    ("backprop", {"lr": 0.0}, ValueError, "lr"),
    ("backprop", {"lr": -1.0}, ValueError, "lr"),
    ("backprop", {"batch_size": 0}, ValueError, "batch_size"),
    ("backprop", {"batch_size": 13}, ValueError, "batch_size"),
    ("backprop", {"momentum": 1.0}, ValueError, "momentum"),
    ("backprop", {"momentum": -0.1}, ValueError, "momentum"),
    ("backprop", {"decay": "l2"}, ValueError, "decay"),
    ("backprop", {"epochs": 0}, ValueError, "epochs"),
    ("nelder-mead", {"initial_step": 0.0}, ValueError, "initial_step"),
    ("pso", {"budget": 0}, ValueError, "budget"),
    ("pso", {"budget": float("nan")}, ValueError, "budget"),
    ("pso", {"budget": 10}, ValueError, "budget"),  # below one swarm evaluation
    ("pso", {"seed": -1}, ValueError, "seed"),
    ("pso", {"seed": True}, TypeError, "seed"),
    ("pso", {"seed": 1.5}, TypeError, "seed"),
    ("pso", {"seed": "0"}, TypeError, "seed"),
    ("pso", {"x0": np.zeros(3)}, ValueError, "x0"),
    ("pso", {"x0": np.full(NET.n_params, np.nan)}, ValueError, "x0"),
    ("backprop", {"grad_cost": 0}, ValueError, "grad_cost"),
    ("backprop", {"budget": 1}, ValueError, "less than one gradient step"),
    ("backprop", {"decay_rate": 0.1}, ValueError, "decay_rate applies only to decay='decoupled'"),
    (["pso"], {}, TypeError, "method must be a str"),
]


@pytest.mark.parametrize("method, kwargs, error, pattern", MINIMIZE_CASES)
def test_minimize_refuses(method, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        sr.minimize(OBJ, method, **{"budget": 500, **kwargs})


DATASET_CASES = [
    (("irsi",), {}, ValueError, "did you mean 'iris'"),
    ((3,), {}, TypeError, "name"),
    (("iris",), {"seed": -1}, ValueError, "seed"),
    (("iris",), {"seed": 2**40}, ValueError, "seed"),
    (("iris",), {"test_size": 1.0}, ValueError, "test_size"),
    (("iris",), {"test_size": 0.6, "val_size": 0.4}, ValueError, "val_size"),
]


@pytest.mark.parametrize("args, kwargs, error, pattern", DATASET_CASES)
def test_dataset_load_refuses(args, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        sr.datasets.load(*args, **kwargs)


@pytest.mark.parametrize("content, pattern", [
    ("", "no data rows"),
    ("a,b,y\n", "no data rows"),
    ("1,2,0\n3,4\n3,4,1\n", "line 2, column 3: 2 columns, expected 3"),
    ("1,2,0\n3,x,1\n", "line 2, column 2: feature column 'column 2' holds 'x', not a number"),
    ("1,2,0\n3,nan,1\n", "line 2, column 2: .* not a finite number"),
])
def test_csv_refusals_name_the_line(tmp_path, content, pattern):
    path = tmp_path / "data.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=pattern):
        sr.datasets.load(str(path))


def test_missing_csv_is_named(tmp_path):
    with pytest.raises(ValueError, match="missing.csv.*does not exist"):
        sr.datasets.load(str(tmp_path / "missing.csv"))

"""What is specific to ``de`` (scipy's differential evolution), beyond the contract suite every method
passes: the box centred on x0, one swarm call per generation, the budget with odd population sizes,
the initial population, scipy's convergence test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import iris, small_objective
from scipy.optimize import differential_evolution

import swarmreg as sr

OBJ = small_objective(lam=0.01)  # 43 parameters, 60 items


class RecordingObjective(sr.Objective):
    """An objective that keeps every swarm it evaluates."""

    def __call__(self, w):
        if np.ndim(w) == 2:
            self.swarms.append(np.array(w))
        return super().__call__(w)


def recording() -> RecordingObjective:
    X, y = iris(20)
    obj = RecordingObjective(sr.Network((4, 5, 3)), X, y, lam=0.01)
    obj.swarms = []
    return obj


@pytest.mark.parametrize("width", [0.5, 2.0])
def test_every_point_lies_in_the_box_centred_on_x0(width):
    obj = recording()
    s = obj.net.init_scale
    x0 = 3.0 * s * np.sign(np.sin(np.arange(obj.net.n_params)))  # far from the origin, both signs
    sr.minimize(obj, "de", budget=600, seed=0, x0=x0, width=width)
    W = np.vstack(obj.swarms)
    tiny = 1e-12  # scipy works in the unit box and scales back: rounding
    assert np.all(W >= x0 - width * s - tiny) and np.all(W <= x0 + width * s + tiny)
    # the box binds: some coordinates reach near both of its ends
    reach = (W - x0) / (width * s)
    assert reach.max() > 0.9 and reach.min() < -0.9


def test_latin_hypercube_init_spreads_the_first_population_over_the_whole_box():
    obj = recording()
    x0 = obj.net.init(np.random.default_rng(1))
    width = 4.0
    sr.minimize(obj, "de", budget=200, seed=0, x0=x0, width=width, init="latinhypercube", population=20)
    first = (obj.swarms[0] - x0) / (width * obj.net.init_scale)
    np.testing.assert_allclose(obj.swarms[0][0], x0, rtol=0, atol=1e-12)  # x0, through scipy's unit box
    # one point per stratum of each coordinate: the 19 non-x0 members fill (almost) every 1/20th
    strata = np.floor((first[1:] + 1) / 2 * 20)
    assert np.all(np.array([len(set(col)) for col in strata.T]) >= 18)


def test_network_init_draws_the_first_population_at_the_init_scale_around_x0():
    obj = recording()
    x0 = obj.net.init(np.random.default_rng(1))
    sr.minimize(obj, "de", budget=200, seed=0, x0=x0, population=20)
    first = (obj.swarms[0] - x0) / obj.net.init_scale
    np.testing.assert_allclose(obj.swarms[0][0], x0, rtol=0, atol=1e-12)  # x0, through scipy's unit box
    assert np.all(np.abs(first) <= 1 + 1e-12) and np.abs(first).max() > 0.95


@pytest.mark.parametrize("population, budget", [(5, 97), (7, 100), (13, 333.5), (40, 1001)])
def test_one_swarm_call_per_generation_and_no_generation_past_the_budget(population, budget):
    obj = recording()
    res = sr.minimize(obj, "de", budget=budget, seed=2, population=population)
    generations = math.floor(budget) // population  # the initial population included
    assert [len(W) for W in obj.swarms] == [population] * generations
    assert res.cost == generations * population <= budget
    assert res.status == "budget"
    assert f"{generations - 1} generations of {population} members" in res.message
    left = budget - res.cost
    if left >= 1:
        assert f"{left:g} of the budget left unspent, less than a generation" in res.message
    assert len(res.trace["cost"]) == generations + 1  # one record per generation, and the returned point


def test_a_budget_below_the_initial_population_is_refused_before_any_work():
    with pytest.raises(ValueError, match="initial population's 40 evaluations"):
        sr.minimize(OBJ, "de", budget=39, seed=0)
    assert sr.minimize(OBJ, "de", budget=40, seed=0).cost == 40


def test_scipys_convergence_test_stops_the_run_when_asked():
    res = sr.minimize(OBJ, "de", budget=20_000, seed=0, tol=0.5)
    assert res.status == "converged" and res.cost < 20_000
    assert "converged" in res.message
    assert sr.minimize(OBJ, "de", budget=2_000, seed=0).status == "budget"  # tol = 0: to the budget


def test_never_returns_worse_than_x0_and_improves_on_it():
    x0 = OBJ.net.init(np.random.default_rng(9))
    res = sr.minimize(OBJ, "de", budget=1000, seed=0, x0=x0)
    assert res.trace["fun"][0] <= OBJ(x0) * (1 + 1e-12)  # x0 is a member, to the rounding of scipy's unit box
    assert res.fun < OBJ(x0)


def test_strategies_and_constant_mutation_run_and_differ():
    funs = {sr.minimize(OBJ, "de", budget=400, seed=0, **kw).fun
            for kw in ({}, {"strategy": "rand1bin"}, {"mutation": 0.8, "mutation_max": 0.8})}
    assert len(funs) == 3


def test_bad_options_are_refused_naming_them():
    for bad, error in (({"population": 4}, ValueError), ({"population": 10.0}, TypeError),
                       ({"width": 0.0}, ValueError), ({"init": "sobol"}, ValueError),
                       ({"strategy": "best1bim"}, ValueError), ({"mutation": 0.0}, ValueError),
                       ({"mutation_max": 2.0}, ValueError), ({"recombination": 1.5}, ValueError),
                       ({"tol": -0.1}, ValueError)):
        with pytest.raises(error, match=next(iter(bad))):
            sr.minimize(OBJ, "de", budget=100, seed=0, **bad)
    with pytest.raises(ValueError, match=r"mutation_max \(0.5\) must be >= mutation \(0.9\)"):
        sr.minimize(OBJ, "de", budget=100, seed=0, mutation=0.9, mutation_max=0.5)
    with pytest.raises(ValueError, match="did you mean 'best1bin'"):
        sr.minimize(OBJ, "de", budget=100, seed=0, strategy="best1bim")


@pytest.mark.parametrize("strategy, mutation, mutation_max, recombination", [
    ("best1bin", 0.5, 1.0, 0.7), ("rand1exp", 0.6, 0.6, 0.3), ("currenttobest1bin", 0.4, 0.9, 0.95)])
def test_equals_scipys_differential_evolution_called_directly_bit_for_bit(strategy, mutation, mutation_max,
                                                                          recombination):
    """The same Generator, initial population, strategy, mutation and recombination given to scipy's
    ``differential_evolution(vectorized=True, polish=False)`` directly: the same point, bit for bit."""
    budget, population, width, seed = 400, 10, 5.0, 3
    res = sr.minimize(OBJ, "de", budget=budget, seed=seed, population=population, strategy=strategy,
                      mutation=mutation, mutation_max=mutation_max, recombination=recombination)
    rng = np.random.default_rng(seed)
    net = OBJ.net
    x0 = net.init(rng)
    init = x0 + net.init(rng, population)
    init[0] = x0
    bounds = np.column_stack([x0 - width * net.init_scale, x0 + width * net.init_scale])
    direct = differential_evolution(
        lambda W: OBJ(np.ascontiguousarray(W.T)), bounds, strategy=strategy, maxiter=budget // population - 1,
        init=init, x0=x0, mutation=mutation if mutation == mutation_max else (mutation, mutation_max),
        recombination=recombination, tol=0.0, atol=0.0, polish=False, rng=rng, vectorized=True,
        updating="deferred")
    assert res.x.tobytes() == direct.x.tobytes()
    assert res.fun == OBJ(direct.x)

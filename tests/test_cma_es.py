"""What is specific to ``cma-es`` (pycma), beyond the contract suite every method passes: the global RNG
through pycma's seeding, mirrors, TPA and restarts; the budget with odd population sizes; the
diagonal switch; nothing written or read in the working directory; sigma0 in init-scale units."""

from __future__ import annotations

import math
import os
import re

import cma
import numpy as np
import pytest
from _helpers import iris, small_objective
from cma.sigma_adaptation import CMAAdaptSigmaCSA
from threadpoolctl import threadpool_limits

import swarmreg as sr
from swarmreg.methods import cma_es

OBJ = small_objective(lam=0.01)  # 43 parameters, 60 items


class RecordingObjective(sr.Objective):
    """An objective that keeps every swarm it evaluates."""

    def __call__(self, w):
        if np.ndim(w) == 2:
            self.swarms.append(np.array(w))
        return super().__call__(w)


def recording(sizes: tuple[int, ...] = (4, 5, 3)) -> RecordingObjective:
    X, y = iris(20)
    obj = RecordingObjective(sr.Network(sizes), X, y, lam=0.01)
    obj.swarms = []
    return obj


def tiny() -> sr.Objective:
    """Two parameters, three items: pycma's tolerances stop a search within a few hundred evaluations."""
    return sr.Objective(sr.Network((1, 1), output="identity"), [[0.0], [1.0], [2.0]], [1.0, 3.0, 5.5],
                        lam=0.1, loss="mse")


def restarts_of(res: sr.Result) -> int:
    return int(re.search(r"(\d+) restart\(s\)", res.message).group(1))


def global_state_equal(a, b) -> bool:
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and tuple(a[2:]) == tuple(b[2:])


def assert_global_rng_untouched(run):
    saved = np.random.get_state()
    try:
        np.random.seed(123)
        before = np.random.get_state()
        res = run()
        assert global_state_equal(before, np.random.get_state())
    finally:
        np.random.set_state(saved)
    return res


# --- numpy's global RNG --------------------------------------------------------------------------------

def test_restarts_leave_the_global_rng_untouched():
    res = assert_global_rng_untouched(lambda: sr.minimize(tiny(), "cma-es", budget=3000, seed=0, restarts=4))
    assert restarts_of(res) >= 2  # the restarts did happen: new strategies, larger populations


def test_mirrored_sampling_leaves_the_global_rng_untouched():
    # pycma mirrors samples when popsize < 6; the mirrors' lengths are drawn through the randn option
    assert_global_rng_untouched(lambda: sr.minimize(OBJ, "cma-es", budget=400, seed=0, popsize=5))


def test_many_weights_leave_the_global_rng_untouched():
    # from 300 dimensions on pycma would pick TPA step-size adaptation, whose check draws from np.random
    X, y = iris(20)
    obj = sr.Objective(sr.Network((4, 70, 3)), X, y, lam=0.01)
    assert obj.net.n_params > 300
    assert_global_rng_untouched(lambda: sr.minimize(obj, "cma-es", budget=300, seed=0))


def test_same_bits_on_one_blas_thread_as_on_all():
    # a sweep's workers run one BLAS thread; OpenBLAS's eigh and GEMM at 400 dimensions round
    # differently on one thread and on two, so pycma's linear algebra always runs on one
    from threadpoolctl import threadpool_limits
    X, y = iris(20)
    obj = sr.Objective(sr.Network((4, 50, 3)), X, y, lam=0.01)  # 403 weights, full covariance asked for
    a = sr.minimize(obj, "cma-es", budget=600, seed=0, diagonal=False)
    with threadpool_limits(1):
        b = sr.minimize(obj, "cma-es", budget=600, seed=0, diagonal=False)
    assert a.x.tobytes() == b.x.tobytes() and a.fun == b.fun


# --- the budget ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("popsize, budget", [(3, 100), (5, 101.5), (7, 250), (16, 333.5)])
def test_the_budget_is_spent_to_its_last_whole_unit_and_never_passed(popsize, budget):
    res = sr.minimize(OBJ, "cma-es", budget=budget, seed=1, popsize=popsize, restarts=0)
    assert res.status == "budget"
    assert res.cost == math.floor(budget)  # full generations, then a truncated one for the rest
    assert np.all(res.trace["cost"] <= budget)
    leftover = math.floor(budget) % popsize
    if leftover:
        assert f"the last {leftover} evaluations: a truncated generation" in res.message
    else:
        assert "truncated" not in res.message


def test_one_swarm_call_per_generation_the_first_holding_x0():
    obj = recording()
    x0 = obj.net.init(np.random.default_rng(3))
    res = sr.minimize(obj, "cma-es", budget=150, seed=0, x0=x0, popsize=10, restarts=0)
    assert [len(W) for W in obj.swarms] == [10] * 15
    np.testing.assert_array_equal(obj.swarms[0][0], x0)
    assert res.fun <= obj(x0)


def test_a_budget_below_one_generation_is_refused_before_any_work():
    default = cma_es.default_popsize(OBJ.net.n_params)
    assert default == int(4 + 3 * math.log(43)) == 15
    with pytest.raises(ValueError, match="popsize=15"):
        sr.minimize(OBJ, "cma-es", budget=14, seed=0)
    assert sr.minimize(OBJ, "cma-es", budget=15, seed=0).cost == 15


def test_restarts_double_the_population_and_stop_when_it_no_longer_fits():
    res = sr.minimize(tiny(), "cma-es", budget=5000, seed=0, restarts=9)
    popsize = cma_es.default_popsize(2)
    restarts = restarts_of(res)
    assert 1 <= restarts <= 9
    assert f"last popsize {popsize * 2 ** restarts}" in res.message
    assert res.cost <= 5000


def test_without_restarts_a_stopped_search_is_converged_and_names_pycmas_test():
    res = sr.minimize(tiny(), "cma-es", budget=5000, seed=0, restarts=0)
    assert res.status == "converged"
    assert "pycma stopped: " in res.message
    assert res.cost < 5000


# --- the diagonal switch ---------------------------------------------------------------------------------

def test_diagonal_default_switches_above_the_threshold():
    opts = cma_es.CMAESOptions()
    assert opts.diagonal is None
    assert not cma_es.uses_diagonal(opts, cma_es.DIAGONAL_ABOVE)
    assert cma_es.uses_diagonal(opts, cma_es.DIAGONAL_ABOVE + 1)
    assert cma_es.uses_diagonal(cma_es.CMAESOptions(diagonal=True), 10)
    assert not cma_es.uses_diagonal(cma_es.CMAESOptions(diagonal=False), 10 * cma_es.DIAGONAL_ABOVE)


def test_runs_say_which_covariance_they_used():
    X, y = iris(20)
    hidden = next(h for h in range(1, 100) if 4 * h + h + 3 * h + 3 > cma_es.DIAGONAL_ABOVE)
    small, large = sr.Network((4, hidden - 1, 3)), sr.Network((4, hidden, 3))
    assert small.n_params <= cma_es.DIAGONAL_ABOVE < large.n_params
    for net, kind in ((small, "full"), (large, "diagonal")):
        res = sr.minimize(sr.Objective(net, X, y, lam=0.01), "cma-es", budget=100, seed=0)
        assert f"{kind} covariance" in res.message
    assert "diagonal covariance" in sr.minimize(OBJ, "cma-es", budget=100, seed=0, diagonal=True).message


def test_diagonal_and_full_search_differently():
    full = sr.minimize(OBJ, "cma-es", budget=600, seed=0, diagonal=False)
    diagonal = sr.minimize(OBJ, "cma-es", budget=600, seed=0, diagonal=True)
    assert full.fun != diagonal.fun


# --- files -------------------------------------------------------------------------------------------------

def test_nothing_is_written_to_the_working_directory(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    sr.minimize(tiny(), "cma-es", budget=3000, seed=0, restarts=3)
    sr.minimize(OBJ, "cma-es", budget=300, seed=0)
    assert os.listdir(tmp_path) == []  # no outcmaes/
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_a_cma_signals_file_in_the_working_directory_is_not_read(tmp_path, monkeypatch):
    expected = sr.minimize(OBJ, "cma-es", budget=600, seed=0)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cma_signals.in").write_text('{"timeout": 0, "tolfun": 1e9}')  # would stop pycma at once
    res = sr.minimize(OBJ, "cma-es", budget=600, seed=0)
    assert res.x.tobytes() == expected.x.tobytes() and res.status == expected.status


# --- sigma0 ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sigma0", [1.0, 0.1])
def test_sigma0_is_in_units_of_the_init_scale(sigma0):
    obj = recording((4, 9, 3))  # two layers with different init scales
    x0 = obj.net.init(np.random.default_rng(0))
    sr.minimize(obj, "cma-es", budget=60, seed=0, x0=x0, sigma0=sigma0, popsize=60)
    steps = (obj.swarms[0][1:] - x0) / obj.net.init_scale  # the first generation, x0 aside: N(0, sigma0^2)
    assert len(set(obj.net.init_scale)) == 2
    first_layer = slice(0, 4 * 9 + 9)
    for part in (steps[:, first_layer], steps[:, first_layer.stop:]):
        assert abs(part.std() / sigma0 - 1) < 0.05, part.std()
        assert abs(part.mean()) < 0.05 * sigma0


def test_bad_options_are_refused_naming_them():
    for bad, error in (({"sigma0": 0.0}, ValueError), ({"sigma0": -1.0}, ValueError), ({"popsize": 1}, ValueError),
                       ({"popsize": 2.5}, TypeError), ({"diagonal": "yes"}, TypeError),
                       ({"restarts": -1}, ValueError), ({"restarts": True}, TypeError)):
        with pytest.raises(error, match=next(iter(bad))):
            sr.minimize(OBJ, "cma-es", budget=100, seed=0, **bad)


# --- against pycma's own ask/tell loop -------------------------------------------------------------------

def pycma_loop(obj: sr.Objective, budget: int, seed: int, popsize: int, restarts: int, sigma0: float = 1.0):
    """pycma's ask/tell loop written out: the same randn stream (the run's Generator after x0), options,
    injected x0, IPOP restarts from x0 with the population doubled, and a last truncated generation.
    Returns the best point evaluated (the first of the lowest J), the swarms evaluated, and the number
    of restarts."""
    rng = np.random.default_rng(seed)
    x0 = obj.net.init(rng)

    def strategy(p: int) -> cma.CMAEvolutionStrategy:
        return cma.CMAEvolutionStrategy(x0, sigma0, {
            "popsize": p, "CMA_stds": obj.net.init_scale, "CMA_diagonal": False, "AdaptSigma": CMAAdaptSigmaCSA,
            "randn": lambda *shape: rng.standard_normal(shape), "seed": np.nan, "maxiter": np.inf,
            "maxfevals": np.inf, "verbose": -9, "verb_disp": 0, "verb_log": 0, "signals_filename": ""})

    es = strategy(popsize)
    es.inject([x0])
    spent, done, best, best_fun, swarms = 0, 0, None, np.inf, []

    def evaluate(X) -> np.ndarray:
        nonlocal spent, best, best_fun
        swarms.append(np.array(X))
        f = obj(np.asarray(X))
        spent += len(X)
        if f.min() < best_fun:
            best, best_fun = np.asarray(X)[int(np.argmin(f))].copy(), f.min()
        return f

    while spent + popsize <= budget:
        if es.stop():
            if done < restarts and spent + 2 * popsize <= budget:
                done, popsize = done + 1, 2 * popsize
                es = strategy(popsize)
                continue
            return best, swarms, done
        X = es.ask()
        es.tell(X, evaluate(X))
    if budget - spent:
        evaluate(es.ask()[:budget - spent])
    return best, swarms, done


@pytest.mark.parametrize("make, budget, restarts, expected", [(tiny, 700, 1, 1), (lambda: OBJ, 307, 9, 0)])
def test_equals_pycmas_ask_tell_loop_bit_for_bit(make, budget, restarts, expected):
    """One case with one restart (pycma stops on the tiny problem), one cut by the budget mid-generation."""
    obj = make()
    seen = RecordingObjective(obj.net, obj.X, obj.y, lam=obj.lam, loss=obj.loss)
    seen.swarms = []
    res = sr.minimize(seen, "cma-es", budget=budget, seed=4, restarts=restarts)
    with threadpool_limits(1):
        best, swarms, done = pycma_loop(obj, budget, 4, cma_es.default_popsize(obj.net.n_params), restarts)
    assert restarts_of(res) == done == expected
    assert [W.tobytes() for W in seen.swarms] == [W.tobytes() for W in swarms]
    assert res.x.tobytes() == best.tobytes()

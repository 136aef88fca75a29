"""nevergrad:<Name>: any optimizer of nevergrad's registry by batch ask/tell within the budget, seeded from
the run, leaving numpy's global RNG alone; a clear error for a missing nevergrad or an unknown name."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from _helpers import recording

import swarmreg as sr
import swarmreg.methods.nevergrad as sr_nevergrad
from swarmreg.registry import METHODS

ng = sr_nevergrad._nevergrad()  # the optional extra, which the 'test' extra installs

NAMED = ["nevergrad:NGOpt", "nevergrad:TwoPointsDE", "nevergrad:DiagonalCMA"]


def fingerprint(res: sr.Result) -> tuple:
    return res.x.tobytes(), float(res.fun).hex(), res.trace["fun"].tobytes(), res.trace["cost"].tobytes()


@pytest.mark.parametrize("name", NAMED)
def test_named_optimizers_pass_check_method(name):
    sr.testing.check_method(name, budget=200)


def test_a_batched_optimizer_passes_check_method():
    sr.testing.check_method("nevergrad:TwoPointsDE", budget=200, batch_size=7)


def test_an_optimizer_that_draws_from_the_global_rng_is_kept_off_it():
    # nevergrad's lognormal mutation draws np.random.randn(): driven directly, it moves the global state
    param = ng.p.Array(shape=(5,))
    param.random_state = np.random.RandomState(0)
    saved = np.random.get_state()
    try:
        np.random.seed(1)
        optim = ng.optimizers.registry["LognormalDiscreteOnePlusOne"](parametrization=param, budget=40)
        for _ in range(20):
            candidate = optim.ask()
            optim.tell(candidate, float(np.sum(candidate.value ** 2)))
        moved = np.random.get_state()[2] != np.random.RandomState(1).get_state()[2]
    finally:
        np.random.set_state(saved)
    assert moved
    # through swarmreg it neither moves the global state nor depends on it
    sr.testing.check_method("nevergrad:LognormalDiscreteOnePlusOne", budget=200)


def test_importing_swarmreg_does_not_import_nevergrad():
    code = ("import sys, swarmreg as sr; list(sr.METHODS); dict(sr.METHODS.families); "
            "print(json.dumps('nevergrad' in sys.modules))")
    out = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert json.loads(out) is False


def test_family_members_resolve_on_demand_and_are_not_listed():
    assert "nevergrad" in sr.METHODS.families
    assert "nevergrad:NGOpt" in sr.METHODS and "nevergrad:NGOpt" not in list(sr.METHODS)
    method = sr.METHODS["nevergrad:TwoPointsDE"]
    assert method.name == "nevergrad:TwoPointsDE" and method.options is sr_nevergrad.NevergradOptions
    assert not method.uses_gradient and "TwoPointsDE" in method.summary


def test_an_unknown_optimizer_is_refused_with_a_near_miss():
    with pytest.raises(ValueError, match=r"nevergrad has no optimizer 'NGopt' \(did you mean 'NGOpt'\?\)"):
        sr.minimize(recording(), "nevergrad:NGopt", budget=50)
    with pytest.raises(ValueError, match="did you mean 'TwoPointsDE'"):
        sr.minimize(recording(), "nevergrad:TwoPointDE", budget=50)
    assert "nevergrad:NoSuchThing" not in sr.METHODS


def test_without_nevergrad_naming_one_says_which_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "nevergrad", None)  # `import nevergrad` now raises ImportError
    monkeypatch.setattr(METHODS, "_resolved", {})
    sr_nevergrad._nevergrad.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"install it with: pip install 'swarmreg\[nevergrad\]'"):
            sr.minimize(recording(), "nevergrad:NGOpt", budget=50)
        with pytest.raises(sr.ConfigError, match=r"pip install 'swarmreg\[nevergrad\]'"):
            sr.Sweep.from_dict({"datasets": ["iris"], "hidden": [[4]], "methods": ["nevergrad:NGOpt"],
                                "lams": [0.0], "seeds": [0], "budget": 100})
        assert "pso" in sr.METHODS  # the rest of the registry is unaffected
    finally:
        sr_nevergrad._nevergrad.cache_clear()


def test_batches_are_one_swarm_call_each_and_every_tell_was_charged(monkeypatch):
    tells = []
    tell = ng.optimizers.base.Optimizer.tell

    def counting_tell(self, candidate, loss, *args, **kwargs):
        tells.append(loss)
        return tell(self, candidate, loss, *args, **kwargs)

    monkeypatch.setattr(ng.optimizers.base.Optimizer, "tell", counting_tell)
    obj = recording()
    res = sr.minimize(obj, "nevergrad:TwoPointsDE", budget=23.5, seed=0, batch_size=5)
    assert [c.shape for c in obj.calls] == [(5, obj.net.n_params)] * 4 + [(3, obj.net.n_params)]
    assert res.cost == res.n_evals == len(tells) == 23
    told = np.array(tells)
    charged = sr.Objective(obj.net, obj.X, obj.y, lam=obj.lam)(np.vstack(obj.calls))
    np.testing.assert_allclose(told, charged, rtol=1e-12)  # the values told are the J charged, in order
    assert res.fun == pytest.approx(charged.min(), rel=1e-12)
    assert "23 candidates in batches of 5" in res.message


def test_nevergrad_starts_at_x0_and_its_unit_step_is_the_init_scale_times_scale():
    obj = recording()
    sr.minimize(obj, "nevergrad:OnePlusOne", budget=3, seed=5)
    x0 = obj.net.init(np.random.default_rng(5))
    np.testing.assert_array_equal(obj.calls[0][0], x0)  # OnePlusOne's first candidate is its start, z = 0
    unit, double = recording(), recording()
    sr.minimize(unit, "nevergrad:RandomSearch", budget=20, seed=5, batch_size=10)
    sr.minimize(double, "nevergrad:RandomSearch", budget=20, seed=5, batch_size=10, scale=2.0)
    z1 = (np.vstack(unit.calls) - x0) / unit.net.init_scale
    z2 = (np.vstack(double.calls) - x0) / (2.0 * unit.net.init_scale)
    np.testing.assert_allclose(z2, z1, rtol=1e-9, atol=1e-12)  # the same z, the step doubled
    assert 0.5 < z1.std() < 1.5  # nevergrad's N(0, 1) in units of the init scale


def test_same_bits_in_threads_as_in_turn():
    obj = recording()
    serial = [fingerprint(sr.minimize(obj, "nevergrad:TwoPointsDE", budget=120, seed=s)) for s in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda s: fingerprint(sr.minimize(obj, "nevergrad:TwoPointsDE", budget=120,
                                                                   seed=s)), range(4)))
    assert threaded == serial
    assert len(set(serial)) == 4


@pytest.mark.parametrize("options, error, match", [
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"batch_size": True}, TypeError, "batch_size"),
    ({"scale": -1.0}, ValueError, "scale"),
])
def test_bad_options_are_refused_naming_them(options, error, match):
    with pytest.raises(error, match=match):
        sr.minimize(recording(), "nevergrad:NGOpt", budget=50, **options)


SWEEP = """\
name = "nevergrad"
datasets = ["iris"]
hidden = [[4]]
methods = ["nevergrad:TwoPointsDE", "nevergrad:DiagonalCMA", "ng-batched"]
lams = [0.01]
seeds = [0, 1]
budget = 150

[options."nevergrad:DiagonalCMA"]
scale = 0.5

[variants.ng-batched]
method = "nevergrad:NGOpt"
batch_size = 6
"""


def test_a_sweep_runs_nevergrad_methods_alike_in_turn_and_under_the_process_pool(tmp_path):
    sweep = sr.Sweep.from_dict(tomllib.loads(SWEEP))
    assert sweep.resolved_options("nevergrad:DiagonalCMA") == {"batch_size": 1, "scale": 0.5}
    assert sweep.resolved_options("ng-batched") == {"batch_size": 6, "scale": 1.0}
    sr.run_sweep(sweep, tmp_path / "serial", executor="serial")
    sr.run_sweep(sweep, tmp_path / "pool", executor="process", workers=2)
    serial, pool = (sr.load_results(tmp_path / d).sort_values("key").reset_index(drop=True)
                    for d in ("serial", "pool"))
    assert len(serial) == 6 and set(serial["status"]) == {"budget"} and (serial["cost"] <= 150).all()
    assert set(serial["base_method"]) == {"nevergrad:TwoPointsDE", "nevergrad:DiagonalCMA", "nevergrad:NGOpt"}
    assert serial[["key", "fun", "cost", "message"]].equals(pool[["key", "fun", "cost", "message"]])

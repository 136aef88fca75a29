"""The config check runs each method's own check on every problem of the sweep, and refuses option
tables for methods the sweep does not run."""

from __future__ import annotations

import pytest

import swarmreg as sr

BASE = {"datasets": ["iris"], "hidden": [[3]], "lams": [0.0], "seeds": [0], "budget": 10}


@pytest.mark.parametrize("method, options, minimum", [
    ("pso", {}, "n_particles=40"),  # one swarm of the default 40 particles
    ("pso", {"n_particles": 12}, "n_particles=12"),
    ("nelder-mead", {}, "simplex's 28 evaluations"),  # 4-3-3: 27 weights + 1
    ("de", {}, "population's 40 evaluations"),
    ("cma-es", {"popsize": 11}, "popsize=11"),
])
def test_a_budget_below_one_generation_is_refused_naming_method_and_minimum(method, options, minimum):
    cfg = {**BASE, "methods": [method], "options": {method: options} if options else {}}
    with pytest.raises(sr.ConfigError, match=rf"method '{method}' on iris, hidden \[3\], lam 0: budget 10 .*{minimum}"):
        sr.Sweep.from_dict(cfg)
    sr.Sweep.from_dict({**cfg, "budget": 100})  # one generation fits


def test_every_method_of_the_sweep_and_every_network_is_checked():
    cfg = {**BASE, "methods": ["random-search", "pso"], "options": {"pso": {"n_particles": 12}}, "budget": 12,
           "hidden": [[3], [30]]}
    sr.Sweep.from_dict(cfg)  # pso's 12 fit; nelder-mead is not in the sweep
    cfg["methods"] = ["pso", "nelder-mead"]
    cfg["budget"] = 100
    with pytest.raises(sr.ConfigError, match=r"'nelder-mead' on iris, hidden \[30\].*simplex's 244 evaluations"):
        sr.Sweep.from_dict(cfg)  # 4-3-3 fits at 28, the 4-30-3 network needs 243 + 1


def test_a_variant_is_checked_with_its_own_options():
    cfg = {**BASE, "methods": ["big-swarm"], "budget": 50,
           "variants": {"big-swarm": {"method": "pso", "n_particles": 60}}}
    with pytest.raises(sr.ConfigError, match=r"method 'big-swarm' .*n_particles=60"):
        sr.Sweep.from_dict(cfg)


def test_options_for_a_method_outside_the_sweep_are_refused_listing_its_methods():
    cfg = {**BASE, "methods": ["pso", "sgd"], "budget": 100, "variants": {"sgd": {"method": "backprop"}},
           "options": {"cma-es": {"popsize": 4}}}
    with pytest.raises(sr.ConfigError, match=r"\[options.cma-es\]: 'cma-es' is not among the sweep's methods "
                                             r"\(pso, sgd, backprop\)"):
        sr.Sweep.from_dict(cfg)
    cfg["options"] = {"backprop": {"lr": 0.05}, "sgd": {"momentum": 0.0}}  # a variant's base method counts
    sweep = sr.Sweep.from_dict(cfg)
    assert sweep.resolved_options("sgd")["lr"] == 0.05 and sweep.resolved_options("sgd")["momentum"] == 0.0

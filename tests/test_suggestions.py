"""Near-miss suggestions know the names other libraries give the same option (learning_rate -> lr,
popsize / pop_size / swarm_size -> n_particles, ...), in minimize(), sweep configs and the command."""

from __future__ import annotations

import pytest
from _helpers import small_objective

import swarmreg as sr
from swarmreg._validate import SYNONYMS, suggest

CASES = [
    ("backprop", "learning_rate", "lr"),
    ("backprop", "learnig_rate", "lr"),  # a typo of the alias
    ("backprop", "eta", "lr"),
    ("backprop", "n_epochs", "epochs"),
    ("backprop", "max_iter", "epochs"),
    ("pso", "popsize", "n_particles"),
    ("pso", "pop_size", "n_particles"),
    ("pso", "swarm_size", "n_particles"),
    ("pso", "population", "n_particles"),
    ("pso", "inertia", "w"),
    ("pso", "cognitive", "c1"),
    ("pso", "social", "c2"),
    ("pso", "vmax", "velocity_clamp"),
    ("nelder-mead", "n_restarts", "restarts"),
]


@pytest.mark.parametrize("method, alias, option", CASES)
def test_minimize_suggests_the_option_an_alias_stands_for(method, alias, option):
    with pytest.raises(TypeError, match=rf"unknown option '{alias}' .*\(did you mean '{option}'\?\)"):
        sr.minimize(small_objective(), method, budget=100, **{alias: 1})


def test_an_alias_points_to_whichever_member_the_method_has():
    assert suggest("n_particles", ["population", "sigma", "lr"]) == " (did you mean 'population'?)"
    assert suggest("popsize", ["population", "sigma"]) == " (did you mean 'population'?)"
    assert suggest("learning_rate", ["lr", "decay_rate"]) == " (did you mean 'lr'?)"


def test_spelling_near_misses_still_work():
    assert suggest("irsi", sr.datasets.NAMES) == " (did you mean 'iris'?)"
    assert suggest("decay_rat", ["lr", "decay_rate"]) == " (did you mean 'decay_rate'?)"
    assert suggest("zzz", ["lr", "decay_rate"]) == ""


def test_every_alias_belongs_to_one_group():
    names = [name for group in SYNONYMS for name in group]
    assert len(names) == len(set(names))


def test_sweep_config_options_suggest_through_aliases():
    cfg = {"datasets": ["iris"], "hidden": [[3]], "methods": ["pso", "backprop"], "lams": [0.0], "seeds": [0],
           "budget": 100, "options": {"pso": {"popsize": 20}}}
    with pytest.raises(sr.ConfigError, match=r"'popsize'.*did you mean 'n_particles'"):
        sr.Sweep.from_dict(cfg)
    cfg["options"] = {"backprop": {"learning_rate": 0.1}}
    with pytest.raises(sr.ConfigError, match=r"'learning_rate'.*did you mean 'lr'"):
        sr.Sweep.from_dict(cfg)

"""The open registry: registering a method, its refusals, entry points, sweep plugins, the conformance
suite catching broken methods, and the ``swarmreg methods`` listing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import swarmreg as sr
from swarmreg import cli
from swarmreg.registry import METHODS, register_family

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@dataclass(frozen=True)
class StepOptions:
    batch: int = 10  # candidates per step


@pytest.fixture
def registered():
    """Names registered by a test, removed from the registry afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        METHODS._methods.pop(name, None)


def env_with(*paths: Path) -> dict[str, str]:
    extra = os.pathsep.join(str(p) for p in paths)
    return {**os.environ, "PYTHONPATH": extra + os.pathsep + os.environ.get("PYTHONPATH", "")}


def random_batches(budget, x0, rng, opts):
    """Gaussian batches around x0; records the best so far, ends on it."""
    budget(x0)
    budget.record(budget.best_fun)
    while budget.can_afford(evals=opts.batch):
        budget(x0 + rng.standard_normal((opts.batch, x0.size)))
        budget.record(budget.best_fun)
    return budget.best_x, "budget", "done"


# --- registering ------------------------------------------------------------------------------------

def test_registered_method_shows_in_methods_and_runs_through_minimize(registered):
    assert "batches" not in sr.METHODS
    sr.register_method("batches", options=StepOptions)(random_batches)
    registered.append("batches")
    assert "batches" in sr.METHODS and "batches" in list(sr.METHODS)
    assert sr.METHODS["batches"].options is StepOptions and not sr.METHODS["batches"].uses_gradient
    obj = sr.testing.problem()
    res = sr.minimize(obj, "batches", budget=205, seed=1, batch=4)
    assert res.cost <= 205 and res.fun == obj(res.x) and res.options == {"batch": 4}
    sr.testing.check_method("batches")


def test_methods_is_read_only():
    with pytest.raises(TypeError):
        sr.METHODS["pso2"] = sr.METHODS["pso"]
    with pytest.raises(TypeError):
        del sr.METHODS["pso"]
    with pytest.raises(KeyError):
        sr.METHODS["no-such-method"]


@pytest.mark.parametrize("name", ["Pso", "my search", "-lead", "trail-", "a--b", "", "x/y", "é"])
def test_bad_names_are_refused_naming_them(name):
    with pytest.raises(ValueError, match="not a plain lowercase identifier") as info:
        sr.register_method(name, options=StepOptions)
    assert repr(name) in str(info.value)


@pytest.mark.parametrize("name", ["my-search", "lab.es", "team:es-2", "a_b"])
def test_good_names_are_accepted(name, registered):
    sr.register_method(name, options=StepOptions)(random_batches)
    registered.append(name)
    assert name in sr.METHODS


def test_non_string_name_is_a_type_error():
    with pytest.raises(TypeError, match="method name must be a str"):
        sr.register_method(3, options=StepOptions)


def test_taken_name_is_refused_unless_replaced(registered):
    with pytest.raises(ValueError, match="'pso' is already registered"):
        sr.register_method("pso", options=StepOptions)(random_batches)
    sr.register_method("batches", options=StepOptions)(random_batches)
    registered.append("batches")
    sr.register_method("batches", options=StepOptions, replace=True)(random_batches)  # a re-run notebook cell


def test_options_must_be_a_frozen_dataclass_with_defaults():
    @dataclass
    class Mutable:
        a: int = 1

    @dataclass(frozen=True)
    class NoDefault:
        a: int

    with pytest.raises(TypeError, match="'x'.*must be a dataclass"):
        sr.register_method("x", options=dict)
    with pytest.raises(TypeError, match="'x'.*must be a dataclass"):
        sr.register_method("x", options=StepOptions())
    with pytest.raises(TypeError, match="frozen.*Mutable"):
        sr.register_method("x", options=Mutable)
    with pytest.raises(TypeError, match="needs a default"):
        sr.register_method("x", options=NoDefault)


def test_run_and_check_must_be_callable():
    with pytest.raises(TypeError, match="run of method 'x' must be callable"):
        sr.register_method("x", options=StepOptions)(42)
    with pytest.raises(TypeError, match="check of method 'x' must be callable"):
        sr.register_method("x", options=StepOptions, check="no")
    assert "x" not in sr.METHODS


def test_check_refuses_before_any_work(registered):
    def check(opts, budget, objective, grad_cost):
        if budget < 50:
            raise ValueError(f"budget {budget:g} is below 50")

    calls = []
    sr.register_method("picky", options=StepOptions, check=check)(lambda *a: calls.append(a))
    registered.append("picky")
    with pytest.raises(ValueError, match="budget 10 is below 50"):
        sr.minimize(sr.testing.problem(), "picky", budget=10)
    assert calls == []


def test_family_resolves_names_on_demand(registered):
    def resolve(member: str) -> sr.registry.Method:
        if member != "Only":
            raise ValueError(f"no {member!r} in the fam family")
        return sr.registry.Method("fam:Only", StepOptions, lambda *a: None, random_batches, False, "one member")

    register_family("fam", resolve, "a test family")
    try:
        assert "fam:Only" in sr.METHODS and "fam:Other" not in sr.METHODS
        assert "fam:Only" not in list(sr.METHODS)  # members are not listed
        assert sr.METHODS.families["fam"] == "a test family"
        res = sr.minimize(sr.testing.problem(), "fam:Only", budget=100, seed=0)
        assert res.method == "fam:Only" and res.cost <= 100
        with pytest.raises(ValueError, match="no 'Other' in the fam family"):
            sr.minimize(sr.testing.problem(), "fam:Other", budget=100)
        with pytest.raises(ValueError, match="already registered"):
            register_family("fam", resolve, "again")
    finally:
        METHODS._families.pop("fam")
        METHODS._resolved.pop("fam:Only", None)


# --- the conformance suite ----------------------------------------------------------------------------

def test_the_readme_plugin_passes_check_method(registered):
    sys.path.insert(0, str(EXAMPLES))
    try:
        import hill_climb  # noqa: F401  (registers "hill-climb")
    finally:
        sys.path.remove(str(EXAMPLES))
    registered.append("hill-climb")
    sys.modules.pop("hill_climb", None)
    sr.testing.check_method("hill-climb")


def overspending(budget, x0, rng, opts):
    """Rounds the number of batches up: the last batch does not fit."""
    for _ in range(int(np.ceil(budget.limit / opts.batch))):
        budget(x0 + 0.1 * rng.standard_normal((opts.batch, x0.size)))
        budget.record(budget.best_fun)
    return budget.best_x, "budget", "done"


def global_rng(budget, x0, rng, opts):
    """Draws its steps from numpy's global RNG."""
    budget(x0)
    budget.record(budget.best_fun)
    while budget.can_afford(evals=opts.batch):
        budget(x0 + 0.1 * np.random.standard_normal((opts.batch, x0.size)))
        budget.record(budget.best_fun)
    return budget.best_x, "budget", "done"


def restores_the_global_rng(budget, x0, rng, opts):
    """Draws from numpy's global RNG and puts its state back: untouched, but not reproducible."""
    state = np.random.get_state()
    try:
        return global_rng(budget, x0, rng, opts)
    finally:
        np.random.set_state(state)


def returns_another_point(budget, x0, rng, opts):
    """Records the best J it saw but returns the last candidate."""
    budget(x0)
    budget.record(budget.best_fun)
    last = x0
    while budget.can_afford(evals=1):
        last = x0 + rng.standard_normal(x0.size)
        budget(last)
        budget.record(budget.best_fun)
    return last, "budget", "done"


@pytest.mark.parametrize("run, rule", [
    (overspending, "budget-is-a-hard-cap"),
    (global_rng, "global-rng-untouched"),
    (restores_the_global_rng, "same-bits-whatever-the-global-rng"),
    (returns_another_point, "trace-ends-on-returned-point"),
])
def test_check_method_catches_a_broken_method_naming_the_rule(run, rule, registered):
    sr.register_method("broken", options=StepOptions)(run)
    registered.append("broken")
    with pytest.raises(AssertionError, match=f"method 'broken' breaks the rule '{rule}'"):
        sr.testing.check_method("broken")


def screens_for_free(budget, x0, rng, opts):
    """Screens 10 candidates on the objective behind the budget for every one it pays for."""
    free = vars(budget)["_objective"]  # any route past the budget
    budget(x0)
    budget.record(budget.best_fun)
    while budget.can_afford(evals=1):
        candidates = budget.best_x + 0.1 * rng.standard_normal((10, x0.size))
        budget(candidates[int(np.argmin(free(candidates)))])
        budget.record(budget.best_fun)
    return budget.best_x, "budget", "done"


def screens_on_its_own_data(budget, x0, rng, opts):
    """Screens 10 candidates for every one it pays for with the network's forward pass on data it
    loaded itself: no objective involved."""
    data = sr.testing.problem(budget.problem.lam)
    X, y = data.X, data.y.astype(int)
    net = budget.problem.net
    budget(x0)
    budget.record(budget.best_fun)
    while budget.can_afford(evals=1):
        candidates = budget.best_x + 0.1 * rng.standard_normal((10, x0.size))
        losses = -np.log(net.forward(X, candidates)[:, np.arange(len(y)), y]).mean(axis=1)
        budget(candidates[int(np.argmin(losses))])
        budget.record(budget.best_fun)
    return budget.best_x, "budget", "done"


@pytest.mark.parametrize("screen", [screens_for_free, screens_on_its_own_data])
def test_check_method_catches_evaluations_outside_the_budget_with_both_counts(screen, registered):
    sr.register_method("screener", options=StepOptions)(screen)
    registered.append("screener")
    with pytest.raises(AssertionError, match=r"method 'screener' breaks the rule 'evaluates-only-through-budget': "
                                             r"the run evaluated 6590 vector\(s\).* charged 600 vector\(s\)"):
        sr.testing.check_method("screener")


def test_the_problem_a_method_sees_holds_no_data_and_cannot_evaluate():
    seen = {}

    def peek(budget, x0, rng, opts):
        seen["problem"] = budget.problem
        budget.record(budget(x0))
        return x0, "budget", "done"

    sr.register_method("peek", options=StepOptions)(peek)
    try:
        sr.minimize(sr.testing.problem(), "peek", budget=5)
    finally:
        METHODS._methods.pop("peek")
    problem = seen["problem"]
    assert not callable(problem)
    assert not any(hasattr(problem, a) for a in ("X", "y", "error", "error_and_gradient", "fun_and_gradient"))
    with pytest.raises(AttributeError):
        problem.lam = 0.0
    assert problem.n_items == 60 and problem.init_scale.shape == problem.weight_mask.shape == (43,)


def test_budget_objective_is_deprecated_and_observe_cannot_search():
    from swarmreg.budget import OBSERVE_SLACK, Budget
    obj = sr.testing.problem()
    budget = Budget(obj, 10)
    with pytest.warns(FutureWarning, match="budget.problem"):  # shown by default, also in a plugin
        assert budget.objective is obj
    w = obj.net.init(np.random.default_rng(0))
    for _ in range(OBSERVE_SLACK):
        assert budget.observe(w) == obj(w)
    with pytest.raises(RuntimeError, match="may not search"):
        budget.observe(w)
    budget(w)  # one charged call allows one more observation
    budget.observe(w)
    assert (budget.n_observed, budget.cost) == (OBSERVE_SLACK + 1, 1.0)
    for _ in range(obj.n_items - 1):  # gradients on single items buy nothing until they cover the set
        budget.error_and_gradient(w, np.array([0]))
    with pytest.raises(RuntimeError, match="may not search"):
        budget.observe(w)
    budget.error_and_gradient(w, np.array([0]))  # n_items items: one full-set gradient's worth
    budget.observe(w)


def test_check_method_catches_a_global_rng_user_even_when_seeded_alike(registered):
    # a method that seeds numpy's global RNG from its run gives the same bits, but moves the global state
    def seeds_globally(budget, x0, rng, opts):
        np.random.seed(int(rng.integers(2**31)))
        return global_rng(budget, x0, rng, opts)

    sr.register_method("broken", options=StepOptions)(seeds_globally)
    registered.append("broken")
    with pytest.raises(AssertionError, match="'global-rng-untouched'.*run's Generator"):
        sr.testing.check_method("broken")


def test_check_method_names_the_method_when_it_is_unknown():
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        sr.testing.check_method("nope")


# --- entry points and plugins -------------------------------------------------------------------------

def test_entry_point_methods_are_loaded_when_the_registry_is_read(tmp_path):
    (tmp_path / "lab_methods.py").write_text(textwrap.dedent("""
        from dataclasses import dataclass
        import swarmreg as sr

        @dataclass(frozen=True)
        class Options:
            batch: int = 5  # candidates per step

        def register():
            @sr.register_method("lab-search", options=Options)
            def run(budget, x0, rng, opts):
                budget(x0)
                budget.record(budget.best_fun)
                return budget.best_x, "budget", "one evaluation"
    """))
    info = tmp_path / "lab_methods-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lab-methods\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[swarmreg.methods]\nlab = lab_methods:register\n")
    code = ("import swarmreg as sr; print('lab-search' in list(sr.METHODS)); "
            "print(sr.minimize(sr.testing.problem(), 'lab-search', budget=3).cost)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=env_with(tmp_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "1.0"]


def test_a_broken_entry_point_warns_and_leaves_the_others(tmp_path):
    info = tmp_path / "bad_methods-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bad-methods\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[swarmreg.methods]\nbad = no_such_module_here\n")
    code = "import swarmreg as sr; print('pso' in sr.METHODS)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=env_with(tmp_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"
    assert "plugin 'bad'" in proc.stderr and "no_such_module_here" in proc.stderr


PLUGIN_CONFIG = """\
name = "plugin"
plugins = ["hill_climb"]
datasets = ["iris"]
hidden = [[4]]
methods = ["hill-climb", "pso"]
lams = [0.0, 0.1]
seeds = [0, 1]
budget = 400

[options.hill-climb]
batch = 10
"""


def test_plugin_sweep_runs_under_the_process_pool(tmp_path):
    """The plugin next to the config is found with no PYTHONPATH, run from another folder with ``-P``
    (as the ``swarmreg`` script runs: the working directory is not on the import path)."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(EXAMPLES / "hill_climb.py", project)
    cfg = project / "plugin.toml"
    cfg.write_text(PLUGIN_CONFIG)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-P", "-m", "swarmreg", "run", str(cfg), "--out", str(out),
                           "--workers", "2"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    df = sr.load_results(out)
    assert len(df) == 8 and set(df["status"]) == {"budget"}
    assert set(df["method"]) == {"hill-climb", "pso"} and (df["cost"] <= 400).all()


def test_plugin_that_fails_to_import_is_a_config_error(tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(PLUGIN_CONFIG.replace('"hill_climb"', '"no_such_plugin_module"'))
    code = cli.main(["run", str(cfg), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert "plugin 'no_such_plugin_module' failed to import: ModuleNotFoundError" in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("plugins", ["hill_climb", [1], [""]])
def test_plugins_must_be_a_list_of_module_names(plugins):
    with pytest.raises(sr.ConfigError, match="plugins must be a list of module names"):
        sr.Sweep.from_dict({"plugins": plugins, "datasets": ["iris"], "hidden": [[4]], "methods": ["pso"],
                            "lams": [0.0], "seeds": [0], "budget": 100})


def test_unknown_method_in_a_config_names_it_and_the_known_ones():
    with pytest.raises(sr.ConfigError, match=r"methods: unknown method 'hill-climb'.*known methods: pso"):
        sr.Sweep.from_dict({"datasets": ["iris"], "hidden": [[4]], "methods": ["hill-climb"], "lams": [0.0],
                            "seeds": [0], "budget": 100})


# --- swarmreg methods -----------------------------------------------------------------------------------

def test_methods_command_lists_every_method_with_options_defaults_and_comments(capsys):
    assert cli.main(["methods"]) == 0
    out = capsys.readouterr().out
    for name, method in sr.METHODS.items():
        assert f"{name} (" in out
        for option, (default, _) in method.option_docs().items():
            assert f"    {option} = {default!r}" in out
    assert "    n_particles = 40  # swarm size" in out


@pytest.mark.parametrize("plugins", [["--plugins", "hill_climb"], ["--plugins", "json,hill_climb"],
                                     ["--plugins", "json", "--plugins", "hill_climb"]])
def test_methods_command_with_plugins_from_the_working_directory_lists_them(plugins):
    """``-P``: the working directory is on the import path only because ``--plugins`` puts it there;
    the positional name after the flag is a method name, not a second module."""
    proc = subprocess.run([sys.executable, "-P", "-m", "swarmreg", "methods", *plugins, "hill-climb"],
                          capture_output=True, text=True, timeout=120, cwd=EXAMPLES)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("hill-climb (gradient-free; on a device through host copies): "
                                  "Keep the best of each batch")
    assert "    batch = 20  # candidates per step, evaluated as one swarm" in proc.stdout
    assert "pso" not in proc.stdout


def test_methods_command_refuses_an_unknown_name(capsys):
    assert cli.main(["methods", "psoo"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "unknown method 'psoo' (did you mean 'pso'?)" in err[0]


def test_the_readme_shows_the_plugin_file_as_it_is():
    readme = (EXAMPLES.parent / "README.md").read_text()
    assert (EXAMPLES / "hill_climb.py").read_text().rstrip() in readme

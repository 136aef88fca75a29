"""The contract every method in ``sr.METHODS`` keeps (DESIGN section 2): one suite, parametrized over the
registry's keys, so a newly registered method inherits every check."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from _helpers import small_objective

import swarmreg as sr
from swarmreg.testing import fingerprint, global_state_equal

METHODS = list(sr.METHODS)
OBJ = small_objective(lam=0.01)  # 43 parameters, 60 items
BUDGET = 1000
STATUSES = {"budget", "converged", "epochs", "diverged"}
FIELDS = ("x", "fun", "error", "penalty", "weight_norm", "bias_norm", "cost", "n_evals", "n_grads",
          "wall_time", "status", "message", "method", "options", "seed", "budget", "trace")

method = pytest.mark.parametrize("name", METHODS)


def run(name, budget=BUDGET, seed=0, obj=OBJ, **kw):
    return sr.minimize(obj, name, budget=budget, seed=seed, **kw)


def test_registry_is_not_empty_and_holds_the_three_foundation_methods():
    assert {"pso", "nelder-mead", "backprop"} <= set(sr.METHODS)


# --- what a Result holds ---------------------------------------------------------------------------

@method
def test_result_has_every_field_with_its_type(name):
    res = run(name)
    assert isinstance(res, sr.Result)
    names = {f.name for f in dataclasses.fields(res)}
    assert set(FIELDS) <= names
    assert isinstance(res.x, np.ndarray) and res.x.shape == (OBJ.net.n_params,) and res.x.dtype == float
    for f in ("fun", "error", "penalty", "weight_norm", "bias_norm", "cost", "wall_time", "budget"):
        value = getattr(res, f)
        assert isinstance(value, float) and math.isfinite(value), f
    for f in ("n_evals", "n_grads", "seed"):
        assert isinstance(getattr(res, f), int) and getattr(res, f) >= 0, f
    assert res.n_evals + res.n_grads > 0
    assert res.status in STATUSES
    assert isinstance(res.message, str) and res.message
    assert res.method == name and res.seed == 0 and res.budget == BUDGET
    assert res.wall_time >= 0
    assert np.all(np.isfinite(res.x))
    repr(res)  # does not fail, does not print the trace


def independent_fun(x: np.ndarray) -> float:
    """``J(x)`` written out from the definition (sklearn's MLP loss), sharing no code with Objective:
    mean ``-log softmax`` of the true class plus ``lam`` times the squared non-bias weights."""
    X, y, net = OBJ.X, OBJ.y.astype(int), OBJ.net
    a = X
    layers = []
    offset = 0
    for fan_in, fan_out in zip(net.sizes[:-1], net.sizes[1:]):
        W = x[offset:offset + fan_in * fan_out].reshape(fan_in, fan_out)
        b = x[offset + fan_in * fan_out:offset + fan_in * fan_out + fan_out]
        offset += fan_in * fan_out + fan_out
        layers.append((W, b))
    for i, (W, b) in enumerate(layers):
        a = a @ W + b
        if i < len(layers) - 1:
            a = np.tanh(a)
    log_p = a - np.log(np.exp(a - a.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True)) - a.max(axis=1,
                                                                                                   keepdims=True)
    return float(-log_p[np.arange(len(y)), y].mean() + OBJ.lam * sum(np.sum(W * W) for W, _ in layers))


@method
def test_fun_is_an_independent_evaluation_of_x(name):
    """``res.fun`` against a fresh Objective on the same data (exactly) and against the loss written
    out from its definition (to rounding): not against the value the run itself reported."""
    res = run(name)
    fresh = sr.Objective(sr.Network(OBJ.net.sizes), OBJ.X.copy(), OBJ.y.copy(), lam=OBJ.lam)
    assert res.fun == fresh(res.x)
    assert res.error == fresh.error(res.x)
    assert res.penalty == fresh.penalty(res.x)
    assert res.fun == pytest.approx(independent_fun(res.x), rel=1e-12)
    assert res.fun == res.error + res.penalty
    mask = OBJ.net.weight_mask
    assert res.weight_norm == pytest.approx(np.linalg.norm(res.x[mask]), rel=1e-14)
    assert res.bias_norm == pytest.approx(np.linalg.norm(res.x[~mask]), rel=1e-14)


@method
def test_trace_arrays_end_on_the_result(name):
    res = run(name)
    trace = res.trace
    assert {"cost", "fun"} <= set(trace)
    lengths = {key: np.shape(trace[key]) for key in trace}
    assert all(len(s) == 1 for s in lengths.values()), lengths
    assert len(set(lengths.values())) == 1, lengths
    assert len(trace["cost"]) >= 1
    assert res.fun == trace["fun"][-1]
    assert trace["cost"][-1] == res.cost
    assert np.all(np.diff(trace["cost"]) >= 0)
    assert np.all(np.isfinite(trace["fun"])) and np.all(np.isfinite(trace["cost"]))
    assert trace["cost"][0] > 0


@method
@pytest.mark.parametrize("budget", [100, 777, 1234.5, 3001])
def test_cost_never_exceeds_the_budget(name, budget):
    res = run(name, budget=budget)
    assert 0 < res.cost <= budget
    assert res.budget == budget
    assert np.all(res.trace["cost"] <= budget)


@method
def test_cost_is_counted_from_evaluations_and_gradients(name):
    res = run(name)
    # a J evaluation costs 1, a gradient at most GRAD_COST (a mini-batch its fraction)
    assert res.n_evals <= res.cost + 1e-9
    assert res.cost <= res.n_evals + sr.GRAD_COST * res.n_grads + 1e-9
    if not sr.METHODS[name].uses_gradient:
        assert res.n_grads == 0 and res.cost == res.n_evals


@method
def test_default_budget(name):
    # a two-parameter problem keeps DEFAULT_BUDGET evaluations cheap
    tiny = sr.Objective(sr.Network((1, 1), output="identity"), [[0.0], [1.0], [2.0]], [1.0, 3.0, 5.5],
                        lam=0.1, loss="mse")
    res = sr.minimize(tiny, name, seed=0)
    assert res.budget == sr.DEFAULT_BUDGET
    assert 0 < res.cost <= sr.DEFAULT_BUDGET


# --- randomness -------------------------------------------------------------------------------------

@method
def test_same_seed_same_bits(name):
    a = run(name, seed=3)
    b = run(name, seed=3)
    assert a.x.tobytes() == b.x.tobytes()
    assert a.fun == b.fun and a.cost == b.cost and a.status == b.status
    assert a.n_evals == b.n_evals and a.n_grads == b.n_grads
    assert set(a.trace) == set(b.trace)
    for key in a.trace:
        assert np.asarray(a.trace[key]).tobytes() == np.asarray(b.trace[key]).tobytes(), key


@method
def test_same_seed_same_bits_whatever_the_global_numpy_state(name):
    np.random.seed(1)
    a = run(name, seed=5)
    np.random.seed(987654)
    np.random.standard_normal(1000)
    b = run(name, seed=5)
    assert fingerprint(a) == fingerprint(b)


@method
def test_same_seed_same_bits_with_other_runs_in_between(name):
    a = run(name, seed=2)
    for other in METHODS:
        run(other, seed=9, budget=500)
    b = run(name, seed=2)
    assert fingerprint(a) == fingerprint(b)


@method
def test_different_seeds_differ(name):
    a, b = run(name, seed=0), run(name, seed=1)
    assert not np.array_equal(a.x, b.x)
    assert a.fun != b.fun


@method
def test_global_numpy_state_is_untouched(name):
    np.random.seed(42)
    before = np.random.get_state()
    run(name)
    assert global_state_equal(before, np.random.get_state())
    # and nothing was drawn from it: the next draw is the one seed 42 gives
    expected = np.random.RandomState(42).random_sample(3)
    np.testing.assert_array_equal(np.random.random_sample(3), expected)


@method
def test_same_bits_in_threads(name):
    serial = [fingerprint(run(name, seed=s, budget=600)) for s in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda s: fingerprint(run(name, seed=s, budget=600)), range(4)))
    assert threaded == serial


def test_same_bits_in_a_fresh_process(tmp_path):
    script = tmp_path / "run_all.py"
    script.write_text(textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import numpy as np
        np.random.seed(777)  # a different global state than the test process
        import swarmreg as sr
        from _helpers import small_objective
        from swarmreg.testing import fingerprint
        obj = small_objective(lam=0.01)
        out = {{}}
        for name in sr.METHODS:
            res = sr.minimize(obj, name, budget=800, seed=11)
            out[name] = [res.x.tobytes().hex(), fingerprint(res)]
        print(json.dumps(out))
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          check=False, env={**os.environ, "PYTHONHASHSEED": "12345"})
    assert proc.returncode == 0, proc.stderr
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(theirs) == set(METHODS)
    for name in METHODS:
        res = run(name, budget=800, seed=11)
        assert theirs[name] == [res.x.tobytes().hex(), fingerprint(res)], name


# --- immutability and options -------------------------------------------------------------------------

@method
def test_result_is_frozen(name):
    res = run(name, budget=200)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.fun = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.x = np.zeros_like(res.x)
    with pytest.raises(TypeError):
        res.trace["fun"] = np.zeros(1)
    with pytest.raises(TypeError):
        res.options["anything"] = 1


@method
def test_options_hold_resolved_defaults(name):
    res = run(name, budget=200)
    defaults = dataclasses.asdict(sr.METHODS[name].options())
    assert dict(res.options) == defaults


@method
def test_options_hold_an_override(name):
    fields = dataclasses.fields(sr.METHODS[name].options)
    field = next((f for f in fields if type(f.default) is float and f.default > 0), None)
    if field is None:
        pytest.skip(f"{name} has no positive float option to override")
    value = field.default * 0.5
    res = run(name, budget=300, **{field.name: value})
    assert res.options[field.name] == value
    others = {k: v for k, v in dataclasses.asdict(sr.METHODS[name].options()).items() if k != field.name}
    assert {k: v for k, v in res.options.items() if k != field.name} == others


# --- refusals -----------------------------------------------------------------------------------------

def test_unknown_method_is_a_value_error_listing_the_known_ones():
    with pytest.raises(ValueError) as info:
        sr.minimize(OBJ, "simulated-annealing", budget=100)
    msg = str(info.value)
    assert "simulated-annealing" in msg
    for name in METHODS:
        assert name in msg


@method
def test_near_miss_method_name_is_suggested(name):
    typo = name.upper().replace("-", "_")
    with pytest.raises(ValueError) as info:
        sr.minimize(OBJ, typo, budget=100)
    assert typo in str(info.value) and repr(name) in str(info.value)


@method
def test_unknown_option_is_a_type_error_naming_it(name):
    with pytest.raises(TypeError) as info:
        run(name, budget=100, definitely_not_an_option=1)
    assert "definitely_not_an_option" in str(info.value)


@method
def test_near_miss_option_is_suggested(name):
    longest = max((f.name for f in dataclasses.fields(sr.METHODS[name].options)), key=len)
    typo = longest[:-1]
    with pytest.raises(TypeError) as info:
        run(name, budget=100, **{typo: 1})
    msg = str(info.value)
    assert repr(typo) in msg and repr(longest) in msg


def test_n_particle_suggests_n_particles():
    with pytest.raises(TypeError, match=r"'n_particle'.*did you mean 'n_particles'"):
        sr.minimize(OBJ, "pso", budget=100, n_particle=10)


@method
@pytest.mark.parametrize("budget", [0, 0.5, -1, -100.0, float("nan"), float("inf")])
def test_bad_budget_is_refused(name, budget):
    with pytest.raises(ValueError):
        run(name, budget=budget)


@method
@pytest.mark.parametrize("budget", [True, "1000", [1000]])
def test_non_numeric_budget_is_refused(name, budget):
    with pytest.raises(TypeError):
        run(name, budget=budget)


@method
@pytest.mark.parametrize("seed, error", [(-1, ValueError), (True, TypeError), (False, TypeError),
                                         (1.5, TypeError), (2.0, TypeError), ("0", TypeError),
                                         (None, TypeError)])
def test_bad_seed_is_refused(name, seed, error):
    with pytest.raises(error):
        run(name, seed=seed)


@method
def test_numpy_integer_seed_is_accepted(name):
    assert fingerprint(run(name, seed=np.int64(4), budget=300)) == fingerprint(run(name, seed=4, budget=300))


@method
def test_bad_x0_is_refused(name):
    n = OBJ.net.n_params
    for x0 in (np.zeros(n + 1), np.zeros(n - 1), np.zeros((1, n)), np.zeros((2, n)), np.zeros(0)):
        with pytest.raises(ValueError):
            run(name, x0=x0)
    for bad in (np.nan, np.inf, -np.inf):
        x0 = np.zeros(n)
        x0[3] = bad
        with pytest.raises(ValueError):
            run(name, x0=x0)


def test_objective_must_be_an_objective():
    with pytest.raises(TypeError):
        sr.minimize(lambda w: 0.0, "pso", budget=100)


# --- x0 -------------------------------------------------------------------------------------------------

@method
def test_x0_is_used_and_not_mutated(name):
    rng = np.random.default_rng(100)
    a, b = OBJ.net.init(rng), OBJ.net.init(rng)
    a0 = a.copy()
    ra = run(name, x0=a, budget=600)
    np.testing.assert_array_equal(a, a0)
    assert fingerprint(ra) == fingerprint(run(name, x0=a.copy(), budget=600))
    rb = run(name, x0=b, budget=600)
    assert not np.array_equal(ra.x, rb.x)
    if ra.x.flags.writeable:  # the result does not alias x0
        ra.x[:] = 0.0
        np.testing.assert_array_equal(a, a0)


def test_nelder_mead_trace_starts_at_x0():
    x0 = OBJ.net.init(np.random.default_rng(5))
    res = run("nelder-mead", x0=x0)
    assert res.trace["fun"][0] == OBJ(x0)
    assert res.trace["cost"][0] == 1
    assert res.fun <= OBJ(x0)


def test_pso_swarm_includes_x0():
    x0 = OBJ.net.init(np.random.default_rng(5))
    res = run("pso", x0=x0)
    assert res.trace["fun"][0] <= OBJ(x0)
    assert res.fun <= OBJ(x0)


def test_backprop_trace_starts_near_x0():
    x0 = OBJ.net.init(np.random.default_rng(5))
    res = run("backprop", x0=x0, lr=1e-9, epochs=1, budget=10_000)
    assert res.status == "epochs"
    assert res.trace["fun"][0] == pytest.approx(OBJ(x0), rel=1e-6)
    np.testing.assert_allclose(res.x, x0, rtol=0, atol=1e-6)

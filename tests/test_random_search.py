"""random-search: Gaussian samples around the start point at the init scale, in batches, the last one
truncated to the budget; the best sample is returned."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import recording

import swarmreg as sr


def test_samples_are_the_start_point_then_gaussian_draws_at_the_init_scale():
    obj = recording()
    sr.minimize(obj, "random-search", budget=25, seed=2, batch_size=10, scale=0.5)
    rng = np.random.default_rng(2)
    x0 = obj.net.init(rng)
    step = 0.5 * obj.net.init_scale
    expected = [x0 + step * rng.standard_normal((rows, obj.net.n_params)) for rows in (10, 10, 5)]
    expected[0][0] = x0
    assert [c.shape[0] for c in obj.calls] == [10, 10, 5]
    for got, want in zip(obj.calls, expected):
        np.testing.assert_array_equal(got, want)


def test_the_spread_is_the_init_scale_times_scale():
    obj = recording()
    sr.minimize(obj, "random-search", budget=4000, seed=0, batch_size=1000, scale=2.0)
    x0 = obj.calls[0][0]
    z = (np.vstack(obj.calls)[1:] - x0) / (2.0 * obj.net.init_scale)
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=0.1)  # 3,999 draws per coordinate: sd of sd ~ 0.011
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=0.1)


@pytest.mark.parametrize("budget, rows", [(97, [40, 40, 17]), (2.5, [2]), (1, [1]), (80, [40, 40])])
def test_batches_fill_the_budget_exactly_the_last_one_truncated(budget, rows):
    obj = recording()
    res = sr.minimize(obj, "random-search", budget=budget, seed=0)
    assert [c.shape[0] for c in obj.calls] == rows
    assert res.cost == sum(rows) <= budget
    assert len(res.trace["cost"]) == len(rows) and res.trace["cost"][-1] == res.cost
    assert f"drew {sum(rows)} samples" in res.message


def test_the_best_sample_is_returned_and_the_trace_never_rises():
    obj = recording()
    res = sr.minimize(obj, "random-search", budget=300, seed=1, batch_size=30)
    samples = np.vstack(obj.calls)
    values = sr.Objective(obj.net, obj.X, obj.y, lam=obj.lam)(samples)
    np.testing.assert_array_equal(res.x, samples[np.argmin(values)])
    assert np.all(np.diff(res.trace["fun"]) <= 0)
    assert res.fun <= values[0]  # never worse than the start point, the first sample


@pytest.mark.parametrize("options, error, match", [
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"batch_size": 1.5}, TypeError, "batch_size"),
    ({"scale": 0.0}, ValueError, "scale"),
    ({"scale": float("inf")}, ValueError, "scale"),
])
def test_bad_options_are_refused_naming_them(options, error, match):
    with pytest.raises(error, match=match):
        sr.minimize(recording(), "random-search", budget=100, **options)

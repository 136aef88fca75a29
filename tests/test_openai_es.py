"""openai-es: antithetic pairs, centred ranks and Adam checked against hand computations, and the two
meanings of L2 (fitness J, or fitness E with 2*lam*mask*theta added to the estimated gradient)."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import recording

import swarmreg as sr
from swarmreg.budget import Budget
from swarmreg.methods.openai_es import Adam, centred_ranks, estimate_gradient, fitness


def first_draws(obj: sr.Objective, seed: int, pairs: int) -> tuple[np.ndarray, np.ndarray]:
    """The start point and first perturbations a run with ``seed`` draws: x0 from the network's init,
    then eps from the same Generator."""
    rng = np.random.default_rng(seed)
    x0 = obj.net.init(rng)
    return x0, rng.standard_normal((pairs, obj.net.n_params))


def adam_first_step(g: np.ndarray, lr: float, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> np.ndarray:
    """Adam's first step from zero moments, written out (t = 1)."""
    m, v = (1 - b1) * g, (1 - b2) * g * g
    return -lr * np.sqrt(1 - b2) / (1 - b1) * m / (np.sqrt(v) + eps)


def hand_gradient(values_plus: np.ndarray, values_minus: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """sum_i (r_i+ - r_i-) eps_i / (2P), the ranks computed here with a double argsort."""
    values = np.concatenate([values_plus, values_minus])
    r = np.argsort(np.argsort(values)) / (values.size - 1) - 0.5
    P = eps.shape[0]
    return sum((r[i] - r[P + i]) * eps[i] for i in range(P)) / (2 * P)


# --- the pieces -------------------------------------------------------------------------------------

def test_centred_ranks_match_a_hand_computation():
    # sorted: -1.0 (rank 0), 0.5 (1), 3.0 (2), 7.0 (3); r / 3 - 0.5
    np.testing.assert_allclose(centred_ranks(np.array([3.0, -1.0, 7.0, 0.5])), [1 / 6, -1 / 2, 1 / 2, -1 / 6])


def test_centred_ranks_depend_only_on_the_order():
    x = np.array([0.3, 1e6, -2.0, 0.31, 5.0])
    np.testing.assert_array_equal(centred_ranks(x), centred_ranks(np.exp(x / 1e6)))
    assert centred_ranks(x).sum() == pytest.approx(0.0, abs=1e-15)


def test_gradient_estimate_matches_a_hand_computation():
    eps = np.array([[1.0, 2.0, -1.0], [0.5, -3.0, 4.0]])
    plus, minus = np.array([3.0, 0.5]), np.array([-1.0, 7.0])
    # ranks of [3, 0.5, -1, 7]: [2, 1, 0, 3] -> centred [1/6, -1/6, -1/2, 1/2];
    # pair weights (r+ - r-) / (2P): [(1/6 + 1/2) / 4, (-1/6 - 1/2) / 4] = [1/6, -1/6]
    expected = (eps[0] - eps[1]) / 6
    np.testing.assert_allclose(estimate_gradient(np.concatenate([plus, minus]), eps), expected)
    np.testing.assert_allclose(hand_gradient(plus, minus, eps), expected)


def test_gradient_estimate_points_uphill_on_a_linear_fitness():
    rng = np.random.default_rng(0)
    a = np.array([1.0, -2.0, 0.5])
    eps = rng.standard_normal((200, 3))
    g = estimate_gradient(np.concatenate([eps @ a, -eps @ a]), eps)
    assert np.dot(g, a) / (np.linalg.norm(g) * np.linalg.norm(a)) > 0.95


def test_adam_steps_follow_the_formulas():
    lr, b1, b2, e = 0.05, 0.8, 0.99, 1e-3
    adam = Adam(2, lr, b1, b2, e)
    grads = [np.array([1.0, -2.0]), np.array([0.5, 0.5]), np.array([-3.0, 0.0])]
    m = v = np.zeros(2)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        a_t = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        np.testing.assert_allclose(adam.step(g), -a_t * m / (np.sqrt(v) + e), rtol=1e-14)


def test_e_only_fitness_is_j_minus_the_penalty_and_charges_every_row():
    obj = recording(lam=0.5)
    W = obj.net.init(np.random.default_rng(1), 6) * 3
    budget = Budget(obj, 100)
    np.testing.assert_allclose(fitness(budget, W, "gradient"), obj.error(W), rtol=1e-12)
    np.testing.assert_array_equal(fitness(budget, W, "objective"), obj(W))
    assert budget.n_evals == 12


# --- a run --------------------------------------------------------------------------------------------

def test_a_generation_is_the_centre_and_antithetic_pairs_in_one_swarm_call():
    obj, P, sigma = recording(), 4, 0.1
    sr.minimize(obj, "openai-es", budget=2 * (2 * P + 1), seed=3, population=P, sigma=sigma)
    x0, eps = first_draws(obj, 3, P)
    first, second = obj.calls[:2]
    assert first.shape == second.shape == (2 * P + 1, obj.net.n_params)
    np.testing.assert_array_equal(first[0], x0)
    np.testing.assert_allclose(first[1:P + 1] - x0, sigma * eps, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(first[P + 1:] - x0, -sigma * eps, rtol=1e-12, atol=1e-15)
    theta1 = second[0]  # the next generation is centred on the stepped point, with its own pairs
    np.testing.assert_allclose(second[1:P + 1] + second[P + 1:], 2 * np.tile(theta1, (P, 1)), rtol=1e-12)
    assert not np.allclose(second[1:P + 1] - theta1, first[1:P + 1] - x0)


def run_one_generation(l2: str, lam: float, seed: int = 4, P: int = 6, sigma: float = 0.3, lr: float = 0.05):
    """One generation and the evaluation of the stepped centre: ``(obj, x0, eps, swarm, theta1)``."""
    obj = recording(lam)
    res = sr.minimize(obj, "openai-es", budget=2 * P + 2, seed=seed, population=P, sigma=sigma, lr=lr, l2=l2)
    assert len(obj.calls) == 2 and obj.calls[1].ndim == 1 and res.cost == 2 * P + 2
    x0, eps = first_draws(obj, seed, P)
    return obj, x0, eps, obj.calls[0], obj.calls[1]


def test_objective_l2_ranks_j_and_steps_on_the_rank_gradient():
    obj, x0, eps, swarm, theta1 = run_one_generation("objective", lam=1.0)
    J = obj(swarm[1:])
    g = hand_gradient(J[:6], J[6:], eps)
    np.testing.assert_allclose(theta1, x0 + adam_first_step(g, 0.05), rtol=1e-12, atol=1e-15)


def test_gradient_l2_ranks_e_alone_and_adds_2_lam_theta_on_weights_only():
    lam = 1.0
    obj, x0, eps, swarm, theta1 = run_one_generation("gradient", lam=lam)
    mask = obj.net.weight_mask
    E = obj.error(swarm[1:])
    g_e = hand_gradient(E[:6], E[6:], eps)
    expected = x0 + adam_first_step(g_e + 2 * lam * mask * x0, 0.05)
    np.testing.assert_allclose(theta1, expected, rtol=1e-12, atol=1e-15)
    # biases: Adam on E's rank gradient alone; weights: the decay term changes their step
    without_decay = x0 + adam_first_step(g_e, 0.05)
    np.testing.assert_allclose(theta1[~mask], without_decay[~mask], rtol=1e-12, atol=1e-15)
    assert np.all(np.abs(theta1[mask] - without_decay[mask]) > 0)
    # the fitness is E, not J: with lam = 1 their ranks differ, and so would the step
    J = obj(swarm[1:])
    assert not np.array_equal(np.argsort(E), np.argsort(J))
    from_j = x0 + adam_first_step(hand_gradient(J[:6], J[6:], eps) + 2 * lam * mask * x0, 0.05)
    assert not np.allclose(theta1, from_j)


@pytest.mark.parametrize("l2", ["objective", "gradient"])
def test_the_returned_point_is_the_best_evaluated_by_j_under_either_l2(l2):
    obj = recording()
    res = sr.minimize(obj, "openai-es", budget=500, seed=0, l2=l2)
    evaluated = np.vstack([np.atleast_2d(c) for c in obj.calls])
    values = sr.Objective(obj.net, obj.X, obj.y, lam=obj.lam)(evaluated)
    assert res.fun == pytest.approx(values.min(), rel=1e-12)
    assert res.fun == res.trace["fun"][-1]


def test_the_last_generation_is_truncated_to_the_budget():
    obj, P = recording(), 5
    res = sr.minimize(obj, "openai-es", budget=2 * P + 1 + 5, seed=0, population=P)
    assert [c.shape[0] for c in obj.calls] == [2 * P + 1, 5]  # centre + 2 pairs; nothing left for a centre
    assert res.cost == 16 and res.status == "budget"
    assert "2 generations" in res.message and "truncated to 2 pair(s)" in res.message


def test_the_stepped_centre_is_evaluated_with_what_is_left():
    obj, P = recording(), 5
    res = sr.minimize(obj, "openai-es", budget=2 * P + 2, seed=0, population=P)
    assert [np.shape(c) for c in obj.calls] == [(2 * P + 1, obj.net.n_params), (obj.net.n_params,)]
    assert res.cost == 2 * P + 2 and len(res.trace["cost"]) == 2


def test_a_budget_below_one_pair_and_the_centre_is_refused():
    with pytest.raises(ValueError, match="budget 2.9 is less than one generation"):
        sr.minimize(recording(), "openai-es", budget=2.9)


@pytest.mark.parametrize("options, error, match", [
    ({"population": 0}, ValueError, "population"),
    ({"sigma": 0.0}, ValueError, "sigma"),
    ({"lr": -1}, ValueError, "lr"),
    ({"beta1": 1.0}, ValueError, "beta1"),
    ({"beta2": -0.1}, ValueError, "beta2"),
    ({"eps": 0}, ValueError, "eps"),
    ({"l2": "gradients"}, ValueError, "did you mean 'gradient'"),
    ({"population": 2.5}, TypeError, "population"),
])
def test_bad_options_are_refused_naming_them(options, error, match):
    with pytest.raises(error, match=match):
        sr.minimize(recording(), "openai-es", budget=100, **options)


def test_gradient_l2_passes_check_method():
    sr.testing.check_method("openai-es", l2="gradient")

"""adam: PyTorch's Adam (L2 in the gradient) and AdamW (decoupled decay), checked against their formulas
written out here, on the batches backprop uses; and what separates coupled from decoupled."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import small_objective

import swarmreg as sr

BIG = 1e12  # a budget that never binds: these runs stop on epochs


class Recording(sr.Objective):
    """An Objective that keeps the rows of every gradient it is asked for."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.batches = []

    def error_and_gradient(self, w, idx=None):
        self.batches.append(None if idx is None else np.array(idx, copy=True))
        return super().error_and_gradient(w, idx)


def recording(lam):
    obj = small_objective(lam)
    return Recording(obj.net, obj.X, obj.y, lam=lam)


def torch_adam(obj, w0, batches, *, lr, betas, eps, weight_decay, decoupled):
    """``torch.optim.Adam`` / ``AdamW`` (``_single_tensor_adam``, amsgrad and maximize off) written out, on
    the parameter tensors ``W1, b1, W2, b2`` with the biases in a group of their own with weight_decay 0;
    ``lr`` a number, or the ``group["lr"]`` a scheduler sets before each batch's step::

        step += 1
        if weight_decay: AdamW: param.mul_(1 - lr*weight_decay)    Adam: grad = grad.add(param, alpha=weight_decay)
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step_size = lr / (1 - beta1**step)
        denom = (exp_avg_sq.sqrt() / sqrt(1 - beta2**step)).add_(eps)
        param.addcdiv_(exp_avg, denom, value=-step_size)
    """
    beta1, beta2 = betas
    params = [p.copy() for layer in obj.net.unpack(w0) for p in layer]
    groups = [weight_decay if i % 2 == 0 else 0.0 for i in range(len(params))]  # W: decay, b: none
    state = [{"step": 0, "exp_avg": np.zeros_like(p), "exp_avg_sq": np.zeros_like(p)} for p in params]
    lrs = [lr] * len(batches) if np.ndim(lr) == 0 else lr
    for idx, lr in zip(batches, lrs, strict=True):
        w = obj.net.pack(list(zip(params[0::2], params[1::2])))
        _, g = obj.error_and_gradient(w, idx)
        grads = [p.copy() for layer in obj.net.unpack(g) for p in layer]
        for param, grad, st, wd in zip(params, grads, state, groups):
            st["step"] += 1
            if wd != 0:
                if decoupled:
                    param *= 1 - lr * wd
                else:
                    grad = grad + wd * param
            st["exp_avg"] = st["exp_avg"] + (1 - beta1) * (grad - st["exp_avg"])
            st["exp_avg_sq"] = st["exp_avg_sq"] * beta2 + (1 - beta2) * grad * grad
            step_size = lr / (1 - beta1 ** st["step"])
            denom = np.sqrt(st["exp_avg_sq"]) / math.sqrt(1 - beta2 ** st["step"]) + eps
            param += -step_size * st["exp_avg"] / denom
    return obj.net.pack(list(zip(params[0::2], params[1::2])))


CASES = [  # (decay, options): mini-batches of 7 on 60 items (the last one short), shuffled from the seed
    ("coupled", {"lr": 0.01}),
    ("decoupled", {"lr": 0.01}),
    ("coupled", {"lr": 0.003, "betas": (0.8, 0.99), "eps": 1e-6}),
    ("decoupled", {"lr": 0.02, "betas": (0.5, 0.9), "decay_rate": 0.003}),
]


@pytest.mark.parametrize("decay, options", CASES)
def test_adam_matches_pytorch_formulas_over_epochs_of_mini_batches(decay, options):
    lam = 0.05
    obj = recording(lam)
    w0 = obj.net.init(np.random.default_rng(4))
    res = sr.minimize(obj, "adam", x0=w0, budget=BIG, seed=3, epochs=4, batch_size=7, decay=decay, **options)
    assert res.status == "epochs" and len(obj.batches) == 4 * 9
    lr = options["lr"]
    weight_decay = options["decay_rate"] / lr if "decay_rate" in options else 2 * lam  # PyTorch's weight_decay
    expected = torch_adam(small_objective(lam), w0, obj.batches, lr=lr, betas=options.get("betas", (0.9, 0.999)),
                          eps=options.get("eps", 1e-8), weight_decay=weight_decay, decoupled=decay == "decoupled")
    np.testing.assert_allclose(res.x, expected, rtol=1e-12, atol=1e-12)
    assert np.max(np.abs(res.x - w0)) > 0.05  # the run moved: agreement is not two unmoved starts


def test_adam_full_batch_matches_pytorch_formulas():
    lam = 0.02
    obj = small_objective(lam)
    w0 = obj.net.init(np.random.default_rng(0))
    for decay in ("coupled", "decoupled"):
        res = sr.minimize(obj, "adam", x0=w0, budget=BIG, epochs=30, lr=0.05, decay=decay)
        expected = torch_adam(obj, w0, [None] * 30, lr=0.05, betas=(0.9, 0.999), eps=1e-8,
                              weight_decay=2 * lam, decoupled=decay == "decoupled")
        np.testing.assert_allclose(res.x, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("batch_size, shuffle", [(None, True), (1, True), (7, True), (7, False), (60, True)])
def test_adam_steps_on_the_batches_backprop_steps_on(batch_size, shuffle):
    runs = {}
    for method in ("adam", "backprop"):
        obj = recording(0.01)
        sr.minimize(obj, method, budget=BIG, seed=11, epochs=3, batch_size=batch_size, shuffle=shuffle)
        runs[method] = obj.batches
    assert len(runs["adam"]) == len(runs["backprop"])
    for a, b in zip(runs["adam"], runs["backprop"]):
        assert (a is None and b is None) or np.array_equal(a, b)
    m = batch_size or 60
    if m < 60:  # every epoch is a permutation of the items, in order unless shuffled
        per_epoch = len(runs["adam"]) // 3
        for e in range(3):
            order = np.concatenate(runs["adam"][e * per_epoch:(e + 1) * per_epoch])
            assert sorted(order) == list(range(60))
            assert np.array_equal(order, np.arange(60)) != shuffle


def test_adam_charges_each_batch_its_fraction_of_a_gradient():
    obj = small_objective(0.01)
    res = sr.minimize(obj, "adam", budget=100, seed=0, batch_size=7)
    assert res.status == "budget"
    assert res.cost <= 100 < res.cost + sr.GRAD_COST * 7 / 60
    np.testing.assert_allclose(np.diff(res.trace["cost"])[:-1], sr.GRAD_COST)  # one epoch costs one gradient


def test_plain_sgd_decoupled_is_coupled_but_adam_decoupled_is_not():
    """Plain SGD: ``w -= lr*(g + 2*lam*w)`` and ``w -= lr*g + (2*lr*lam)*w`` are one trajectory. Adam:
    the coupled L2 gradient is divided by sqrt(v) with the rest, AdamW's shrink is not; on this problem,
    after 20 full-batch steps with lr 0.01, lam 0.05, they end 32% of the weights' norm apart and AdamW's
    J is 0.05 higher (1.180 against 1.130)."""
    obj = small_objective(0.05)
    w0 = obj.net.init(np.random.default_rng(0))
    kw = {"x0": w0, "budget": BIG, "epochs": 20, "lr": 0.01}
    sgd = [sr.minimize(obj, "backprop", momentum=0.0, decay=d, **kw).x for d in ("coupled", "decoupled")]
    np.testing.assert_allclose(sgd[1], sgd[0], rtol=1e-12, atol=1e-14)
    coupled, decoupled = (sr.minimize(obj, "adam", decay=d, **kw) for d in ("coupled", "decoupled"))
    apart = np.linalg.norm(decoupled.x - coupled.x) / np.linalg.norm(coupled.x)
    assert apart > 0.25, f"Adam coupled and decoupled are only {apart:.3f} apart"
    assert decoupled.fun - coupled.fun > 0.03
    assert decoupled.weight_norm > coupled.weight_norm  # AdamW's lr*wd shrink is the weaker pull here


def test_without_l2_coupled_and_decoupled_are_the_same_adam():
    obj = small_objective(0.0)
    w0 = obj.net.init(np.random.default_rng(1))
    kw = {"x0": w0, "budget": BIG, "epochs": 3, "batch_size": 10, "seed": 2}
    a = sr.minimize(obj, "adam", decay="coupled", **kw)
    b = sr.minimize(obj, "adam", decay="decoupled", **kw)
    assert a.x.tobytes() == b.x.tobytes()


def test_decoupled_default_rate_is_adamw_with_weight_decay_2_lam():
    lam, lr = 0.03, 0.02
    obj = small_objective(lam)
    w0 = obj.net.init(np.random.default_rng(5))
    kw = {"x0": w0, "budget": BIG, "epochs": 5, "lr": lr, "decay": "decoupled"}
    default = sr.minimize(obj, "adam", **kw)
    explicit = sr.minimize(obj, "adam", decay_rate=sr.l2.adamw_decay_rate(2 * lam, lr), **kw)
    assert default.x.tobytes() == explicit.x.tobytes()
    # and a given rate ignores the objective's lam
    other = sr.minimize(small_objective(0.0), "adam", decay_rate=2 * lr * lam, **kw)
    assert other.x.tobytes() == default.x.tobytes()


def test_biases_are_never_decayed():
    """With the same gradients, the biases of AdamW follow plain Adam: only the weights are shrunk."""
    obj = small_objective(0.5)
    w0 = obj.net.init(np.random.default_rng(2))
    mask = obj.net.weight_mask
    one = sr.minimize(obj, "adam", x0=w0, budget=BIG, epochs=1, lr=0.01, decay="decoupled")
    plain = sr.minimize(small_objective(0.0), "adam", x0=w0, budget=BIG, epochs=1, lr=0.01)
    assert one.x[~mask].tobytes() == plain.x[~mask].tobytes()
    np.testing.assert_allclose(one.x[mask], plain.x[mask] - 2 * 0.01 * 0.5 * w0[mask], rtol=1e-12, atol=1e-15)


def test_adam_huge_lr_ends_diverged_with_a_finite_result():
    obj = small_objective(0.01)
    with np.errstate(all="ignore"):  # the overflow warns, as backprop's does
        res = sr.minimize(obj, "adam", budget=3000, seed=0, lr=1e300, batch_size=5)
    assert res.status == "diverged" and res.cost <= 3000
    assert res.fun == obj(res.x)
    assert np.isfinite(res.fun) and np.all(np.isfinite(res.x))


@pytest.mark.parametrize("options, error", [
    ({"lr": 0.0}, ValueError), ({"lr": -1.0}, ValueError), ({"betas": (0.9,)}, TypeError),
    ({"betas": 0.9}, TypeError), ({"betas": "ab"}, TypeError), ({"betas": (1.0, 0.999)}, ValueError),
    ({"betas": (0.9, -0.1)}, ValueError), ({"betas": (0.9, float("nan"))}, ValueError), ({"eps": 0.0}, ValueError),
    ({"epochs": 0}, ValueError), ({"batch_size": 0}, ValueError), ({"decay": "adamw"}, ValueError),
    ({"decay_rate": 0.01}, ValueError), ({"decay": "decoupled", "decay_rate": 1.0}, ValueError),
    ({"shuffle": 1}, TypeError), ({"batch_size": 61}, ValueError),
])
def test_bad_options_are_refused_before_any_work(options, error):
    obj = recording(0.01)
    with pytest.raises(error):
        sr.minimize(obj, "adam", budget=100, **options)
    assert obj.batches == []


def test_default_decay_rate_of_one_or_more_is_refused():
    with pytest.raises(ValueError, match="2\\*lr\\*lam"):
        sr.minimize(small_objective(10.0), "adam", budget=100, lr=0.1, decay="decoupled")


def test_betas_from_a_toml_list_become_a_tuple():
    res = sr.minimize(small_objective(0.01), "adam", budget=50, betas=[0.8, 0.99])
    assert res.options["betas"] == (0.8, 0.99)

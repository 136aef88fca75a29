"""Learning-rate schedules and the two forms of decoupled decay (``decay_scale``) on ``adam`` and ``backprop``,
checked step for step against formulas written out here: PyTorch's AdamW with CosineAnnealingLR stepped
per batch, Loshchilov & Hutter's Algorithm 2, SGDR's restarts, PyTorch's SGD; and the momentum
reparametrization of decoupled decay that :mod:`swarmreg.l2` derives."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import small_objective
from test_adam import recording, torch_adam

import swarmreg as sr
from swarmreg import l2
from swarmreg.methods._schedules import multiplier

BIG = 1e12  # a budget that never binds: these runs stop on epochs
N, M, EPOCHS = 60, 7, 4  # the small problem's items, a batch size with a short last batch, epochs
STEPS = EPOCHS * math.ceil(N / M)


def torch_cosine_lrs(base_lr, t_max, steps):
    """``CosineAnnealingLR(T_max=t_max, eta_min=0)`` stepped after every batch, as its ``get_lr`` computes
    it (the chained form): ``lr_0 = base_lr``, ``lr_t = (1 + cos(pi*t/T)) / (1 + cos(pi*(t-1)/T)) * lr_{t-1}``
    (its other branch, ``(t - 1 - T) % 2T == 0``, is past the run's end)."""
    lrs = [base_lr]
    for t in range(1, steps):
        lrs.append((1 + math.cos(math.pi * t / t_max)) / (1 + math.cos(math.pi * (t - 1) / t_max)) * lrs[-1])
    return lrs


def lh_adamw(obj, w0, batches, *, alpha, lam_lh, betas, eps, etas):
    """Loshchilov & Hutter's Algorithm 2 (AdamW), on the flat vector, the biases not decayed::

        t += 1; g = grad f_t(x_{t-1})
        m = beta1*m + (1 - beta1)*g;  v = beta2*v + (1 - beta2)*g**2
        m_hat = m / (1 - beta1**t);   v_hat = v / (1 - beta2**t)
        eta_t = SetScheduleMultiplier(t)
        x_t = x_{t-1} - eta_t * (alpha * m_hat / (sqrt(v_hat) + eps) + lambda * x_{t-1})
    """
    beta1, beta2 = betas
    mask = obj.net.weight_mask
    x, m, v = w0.copy(), np.zeros_like(w0), np.zeros_like(w0)
    for t, (idx, eta) in enumerate(zip(batches, etas, strict=True), start=1):
        _, g = obj.error_and_gradient(x, idx)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
        x = x - eta * (alpha * m_hat / (np.sqrt(v_hat) + eps) + lam_lh * mask * x)
    return x


def torch_sgd(obj, w0, batches, *, lrs, momentum, lam, decays):
    """PyTorch's SGD (dampening 0, ``buf = g`` at the first step) at ``group["lr"] = lrs[t]``, with coupled
    L2 ``2*lam*w`` in the gradient and the decoupled shrink ``decays[t]*w`` after the step, weights only."""
    mask = obj.net.weight_mask
    w, buf = w0.copy(), None
    for idx, lr, d in zip(batches, lrs, decays, strict=True):
        _, g = obj.error_and_gradient(w, idx)
        g = g + 2 * lam * mask * w
        buf = g if buf is None else momentum * buf + g
        w = w - lr * buf - d * mask * w
    return w


@pytest.mark.parametrize("alpha, lam_lh", [(0.01, 0.004), (0.003, 0.02)])
def test_adamw_in_lh_form_with_cosine_is_torch_adamw_at_lambda_over_alpha(alpha, lam_lh):
    """decay_scale="schedule", lam = lambda/2: L&H's Algorithm 2 at (alpha, lambda) and PyTorch's
    ``AdamW(lr=alpha, weight_decay=lambda/alpha)`` + ``CosineAnnealingLR(T_max=T)`` per batch, to 1e-12."""
    lam = lam_lh / 2
    obj = recording(lam)
    w0 = obj.net.init(np.random.default_rng(4))
    res = sr.minimize(obj, "adam", x0=w0, budget=BIG, seed=3, epochs=EPOCHS, batch_size=M, lr=alpha,
                      decay="decoupled", decay_scale="schedule", schedule="cosine")
    assert res.status == "epochs" and len(obj.batches) == STEPS
    assert len({tuple(b) for b in obj.batches[:9]} & {tuple(b) for b in obj.batches[9:18]}) == 0  # shuffled
    lrs = torch_cosine_lrs(alpha, STEPS, STEPS)
    torch = torch_adam(small_objective(lam), w0, obj.batches, lr=lrs, betas=(0.9, 0.999), eps=1e-8,
                       weight_decay=l2.adamw_weight_decay(lam_lh, alpha), decoupled=True)
    etas = [0.5 * (1 + math.cos(math.pi * t / STEPS)) for t in range(STEPS)]
    lh = lh_adamw(small_objective(lam), w0, obj.batches, alpha=alpha, lam_lh=lam_lh, betas=(0.9, 0.999),
                  eps=1e-8, etas=etas)
    np.testing.assert_allclose(res.x, torch, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.x, lh, rtol=1e-12, atol=1e-12)
    assert np.max(np.abs(res.x - w0)) > 0.05  # the run moved
    constant = sr.minimize(small_objective(lam), "adam", x0=w0, budget=BIG, seed=3, epochs=EPOCHS, batch_size=M,
                           lr=alpha, decay="decoupled", decay_scale="schedule")
    assert np.max(np.abs(constant.x - res.x)) > 1e-3  # the schedule matters on this run


@pytest.mark.parametrize("decay", ["coupled", "decoupled"])
def test_adam_in_torch_form_with_cosine_is_torch_adam_with_the_scheduler(decay):
    lam, alpha = 0.02, 0.01
    obj = recording(lam)
    w0 = obj.net.init(np.random.default_rng(1))
    res = sr.minimize(obj, "adam", x0=w0, budget=BIG, seed=5, epochs=EPOCHS, batch_size=M, lr=alpha, decay=decay,
                      schedule="cosine")
    expected = torch_adam(small_objective(lam), w0, obj.batches, lr=torch_cosine_lrs(alpha, STEPS, STEPS),
                          betas=(0.9, 0.999), eps=1e-8, weight_decay=2 * lam, decoupled=decay == "decoupled")
    np.testing.assert_allclose(res.x, expected, rtol=1e-12, atol=1e-12)


def test_the_two_decay_scales_are_one_run_at_lam_times_lr():
    """PyTorch's form at lam is L&H's at lr*lam (to_schedule_scale), and back, bit for bit here."""
    lr, lam = 0.25, 0.02
    w0 = small_objective().net.init(np.random.default_rng(0))
    kw = {"x0": w0, "budget": BIG, "seed": 1, "epochs": 3, "batch_size": 10, "lr": lr, "decay": "decoupled",
          "schedule": "cosine"}
    for method in ("adam", "backprop"):
        torch_form = sr.minimize(small_objective(lam), method, **kw)
        lh_form = sr.minimize(small_objective(l2.to_schedule_scale(lam, lr)), method, decay_scale="schedule", **kw)
        np.testing.assert_allclose(lh_form.x, torch_form.x, rtol=1e-13, atol=1e-15)
        other = sr.minimize(small_objective(lam), method, decay_scale="schedule", **kw)
        assert np.max(np.abs(other.x - torch_form.x)) > 1e-3  # at the same lam the forms differ
    assert l2.from_schedule_scale(l2.to_schedule_scale(lam, lr), lr) == pytest.approx(lam, rel=1e-15)


@pytest.mark.parametrize("decay, decay_scale, momentum", [
    ("coupled", "lr", 0.9), ("decoupled", "lr", 0.9), ("decoupled", "schedule", 0.5), ("decoupled", "schedule", 0.0),
])
def test_backprop_with_cosine_is_torch_sgd_with_the_scheduler(decay, decay_scale, momentum):
    """PyTorch's SGD at ``lr_t`` from CosineAnnealingLR; decoupled shrinks ``lr_t*2*lam`` ("lr") or
    ``eta_t*2*lam`` ("schedule")."""
    lam, lr = 0.03, 0.2
    obj = recording(lam)
    w0 = obj.net.init(np.random.default_rng(2))
    res = sr.minimize(obj, "backprop", x0=w0, budget=BIG, seed=7, epochs=EPOCHS, batch_size=M, lr=lr,
                      momentum=momentum, decay=decay, decay_scale=decay_scale, schedule="cosine")
    lrs = torch_cosine_lrs(lr, STEPS, STEPS)
    etas = [x / lr for x in lrs]
    decays = {"coupled": [0.0] * STEPS, "lr": [2 * lam * x for x in lrs], "schedule": [2 * lam * e for e in etas]}
    expected = torch_sgd(small_objective(lam), w0, obj.batches, lrs=lrs, momentum=momentum,
                         lam=lam if decay == "coupled" else 0.0, decays=decays["coupled" if decay == "coupled"
                                                                               else decay_scale])
    np.testing.assert_allclose(res.x, expected, rtol=1e-12, atol=1e-12)
    assert np.max(np.abs(res.x - w0)) > 0.05


def sgdr(t, t0, t_mult):
    """``CosineAnnealingWarmRestarts``' closed form at epoch t (eta_min 0): with t_mult > 1 the restart
    index is ``n = floor(log(t/t0*(t_mult - 1) + 1, t_mult))``."""
    if t_mult == 1:
        t_cur, t_i = t % t0, t0
    else:
        n = int(math.log(t / t0 * (t_mult - 1) + 1, t_mult))
        t_cur, t_i = t - t0 * (t_mult ** n - 1) / (t_mult - 1), t0 * t_mult ** n
    return 0.5 * (1 + math.cos(math.pi * t_cur / t_i))


@pytest.mark.parametrize("t0, t_mult", [(5, 1), (4, 2), (3, 3)])
def test_cosine_restarts_multiplier_is_sgdr(t0, t_mult):
    eta = multiplier("cosine-restarts", 1000, t0, t_mult)
    got = [eta(t) for t in range(200)]
    expected = [sgdr(t, t0, t_mult) for t in range(200)]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    restarts = [t for t in range(1, 200) if got[t] > got[t - 1]]
    period, start, starts = t0, 0, []
    while start < 200:
        starts.append(start)
        start, period = start + period, period * t_mult
    assert restarts == starts[1:] and got[0] == 1.0  # eta goes back to 1 exactly where a period ends


def test_backprop_with_restarts_steps_at_sgdr_rates():
    lam, lr, t0, t_mult = 0.01, 0.1, 5, 2
    obj = recording(lam)
    w0 = obj.net.init(np.random.default_rng(3))
    res = sr.minimize(obj, "backprop", x0=w0, budget=BIG, seed=2, epochs=EPOCHS, batch_size=M, lr=lr,
                      schedule="cosine-restarts", t0=t0, t_mult=t_mult)
    lrs = [lr * sgdr(t, t0, t_mult) for t in range(STEPS)]
    expected = torch_sgd(small_objective(lam), w0, obj.batches, lrs=lrs, momentum=0.9, lam=lam, decays=[0.0] * STEPS)
    np.testing.assert_allclose(res.x, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("budget, grad_cost, steps", [
    (4 * sr.GRAD_COST, sr.GRAD_COST, 36), (4.5 * sr.GRAD_COST, sr.GRAD_COST, 40), (1.2, 0.1, 108),
])
def test_cosine_without_epochs_lasts_the_steps_the_budget_affords(budget, grad_cost, steps):
    """Four epochs of 9 batches of 7 (the last 4 items), or those and 4 full batches of the fifth, or twelve
    epochs where 1.2 // 0.1 is 11 but the budget's own rounding affords 12: T is the steps taken, so the
    run ends at eta_{T-1}, as with epochs=4 when the budget is 4 epochs."""
    w0 = small_objective().net.init(np.random.default_rng(0))
    obj = recording(0.01)
    kw = {"x0": w0, "seed": 4, "batch_size": M, "lr": 0.05, "schedule": "cosine", "grad_cost": grad_cost}
    res = sr.minimize(obj, "adam", budget=budget, **kw)
    assert res.status == "budget" and len(obj.batches) == steps
    expected = torch_adam(small_objective(0.01), w0, obj.batches, lr=torch_cosine_lrs(0.05, steps, steps),
                          betas=(0.9, 0.999), eps=1e-8, weight_decay=0.02, decoupled=False)
    np.testing.assert_allclose(res.x, expected, rtol=1e-12, atol=1e-12)
    if steps == 36:
        by_epochs = sr.minimize(small_objective(0.01), "adam", budget=BIG, epochs=4, **kw)
        assert by_epochs.x.tobytes() == res.x.tobytes()


def test_the_constant_schedule_is_the_unscheduled_step_bit_for_bit():
    obj = small_objective(0.05)
    w0 = obj.net.init(np.random.default_rng(6))
    kw = {"x0": w0, "budget": BIG, "seed": 0, "epochs": 3, "batch_size": 10, "decay": "decoupled"}
    for method in ("adam", "backprop"):
        res = sr.minimize(obj, method, **kw)
        lrs = [res.options["lr"]] * 18
        if method == "adam":
            rec = recording(0.05)
            sr.minimize(rec, method, **kw)
            expected = torch_adam(obj, w0, rec.batches, lr=lrs, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1,
                                  decoupled=True)
            np.testing.assert_allclose(res.x, expected, rtol=1e-12, atol=1e-12)
        assert res.x.tobytes() == sr.minimize(obj, method, schedule="constant", **kw).x.tobytes()


def test_decoupled_momentum_is_coupled_at_wd_times_one_minus_mu_with_a_shifted_momentum():
    """swarmreg.l2's identity, under a cosine schedule in both decay forms: decoupled SGD (momentum mu,
    shrink d_t = eta_t*d) equals coupled at c = d*(1 - mu)/lr with momentum mu*(1 - d_{t-1}) on the weights,
    started from the velocity c*w_0/(1 - mu). Coupled at the same c with momentum mu from rest
    (momentum_coupled_lam) is the approximation: over 270 steps at d = 0.004 its error is under a tenth of
    the decay's own effect, and of the order d*mu/(1 - mu) of w_0 the start velocity accounts for;
    coupled at c = d/lr (what plain SGD would give) is far."""
    mu, lr, d, epochs = 0.9, 0.1, 0.004, 30
    steps = epochs * math.ceil(N / M)
    w0 = small_objective().net.init(np.random.default_rng(8))
    mask = small_objective().net.weight_mask
    kw = {"x0": w0, "budget": BIG, "seed": 9, "epochs": epochs, "batch_size": M, "lr": lr, "momentum": mu,
          "schedule": "cosine"}
    c = 2 * l2.momentum_coupled_lam(d, lr, mu)
    assert c == pytest.approx(d * (1 - mu) / lr, rel=1e-15)
    for scale, lam in (("lr", d / (2 * lr)), ("schedule", d / 2)):
        obj = recording(lam)
        decoupled = sr.minimize(obj, "backprop", decay="decoupled", decay_scale=scale, **kw).x
        ref = small_objective(0.0)
        w, vel, d_prev = w0.copy(), c * mask * w0 / (1 - mu), 0.0
        for t, idx in enumerate(obj.batches):
            eta = 0.5 * (1 + math.cos(math.pi * t / steps))
            _, g = ref.error_and_gradient(w, idx)
            vel = mu * (1 - d_prev * mask) * vel + g + c * mask * w
            w, d_prev = w - lr * eta * vel, eta * d
        np.testing.assert_allclose(decoupled, w, rtol=1e-10, atol=1e-12)
        near, far, none = (sr.minimize(small_objective(lam_c), "backprop", **kw).x for lam_c in (c / 2, d / lr / 2, 0))
        size = np.linalg.norm(decoupled)
        err_near, err_far, err_none = (np.linalg.norm(x - decoupled) / size for x in (near, far, none))
        assert err_near < 0.1 * min(err_none, err_far), (scale, err_near, err_none, err_far)
        assert err_near < 2 * d * mu / (1 - mu) * np.linalg.norm(w0) / size, (scale, err_near)


@pytest.mark.parametrize("options, error, match", [
    ({"schedule": "linear"}, ValueError, "schedule"),
    ({"schedule": "cosine-restarts"}, ValueError, "t0"),
    ({"schedule": "cosine", "t0": 5}, ValueError, "t0"),
    ({"schedule": "cosine-restarts", "t0": 0}, ValueError, "t0"),
    ({"schedule": "cosine-restarts", "t0": 5.0}, TypeError, "t0"),
    ({"schedule": "cosine-restarts", "t0": 5, "t_mult": 0}, ValueError, "t_mult"),
    ({"schedule": "cosine-restarts", "t0": 5, "t_mult": 1.5}, TypeError, "t_mult"),
    ({"t_mult": 2}, ValueError, "t_mult"),
    ({"decay_scale": "schedule"}, ValueError, "decay_scale"),
    ({"decay": "decoupled", "decay_scale": "alpha"}, ValueError, "decay_scale"),
])
@pytest.mark.parametrize("method", ["adam", "backprop"])
def test_bad_schedule_and_decay_scale_options_are_refused_before_any_work(method, options, error, match):
    obj = recording(0.01)
    with pytest.raises(error, match=match):
        sr.minimize(obj, method, budget=100, **options)
    assert obj.batches == []


@pytest.mark.parametrize("method", ["adam", "backprop"])
def test_a_default_schedule_scale_decay_of_one_or_more_is_refused(method):
    with pytest.raises(ValueError, match="2\\*lam"):
        sr.minimize(small_objective(0.5), method, budget=100, lr=1e-3, decay="decoupled", decay_scale="schedule")


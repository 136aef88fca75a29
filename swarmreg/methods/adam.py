"""Adam in numpy, with L2 in the gradient (PyTorch's Adam) or decoupled weight decay (AdamW).

PyTorch's single-tensor update (``torch/optim/adam.py``), step t = 1, 2, ... on a batch B::

    g = dE_B/dw                                                   (batch mean)
    coupled:    g = g + wd*mask*w                                 (Adam, weight_decay = wd = 2*lam)
    decoupled:  w = w * (1 - eta_t*d*mask)                        (AdamW: d = lr*weight_decay)
    m = m + (1 - beta1)*(g - m)                                   (exp_avg.lerp_(g, 1 - beta1))
    v = v*beta2 + (1 - beta2)*g*g                                 (exp_avg_sq.mul_(beta2).addcmul_)
    denom = sqrt(v) / sqrt(1 - beta2**t) + eps
    w = w + (-lr_t / (1 - beta1**t)) * m / denom                  (param.addcdiv_)

with ``lr_t = lr*eta_t``, ``eta_t`` the schedule's multiplier (1 unless ``schedule`` says otherwise).

Coupled is ``Adam(lr, betas, eps, weight_decay=2*lam)`` with the biases in a parameter group without
decay: the L2 gradient goes through the moments and is rescaled per weight, so the iterates seek a
stationary point of J. Decoupled is ``AdamW(lr, betas, eps, weight_decay=d/lr)``, ``d`` defaulting
to ``2*lr*lam`` (``AdamW(lr, weight_decay=2*lam)``): the shrink bypasses the moments, and no lam
makes it the same trajectory as coupled (Loshchilov & Hutter, "Decoupled Weight Decay
Regularization", ICLR 2019). With ``decay_scale="schedule"`` the default ``d`` is ``2*lam`` whatever
``lr``: their Algorithm 2's ``w -= eta_t*lambda*w`` at ``lambda = 2*lam``, which is
``AdamW(lr, weight_decay=2*lam/lr)``. Batches, shuffling, schedules, budget accounting and divergence
are backprop's.

The arithmetic is PyTorch's, operation for operation, in float64 (the moments updated in place);
PyTorch's own CPU kernels may fuse ``lerp`` and ``addcdiv`` into single roundings, so the two agree
to rounding, not to the bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _validate as v
from ..budget import Budget
from ..registry import register_method
from ._epochs import check_batch, check_decay, decay_fraction, run_epochs, validate_epoch_options


@dataclass(frozen=True)
class AdamOptions:
    lr: float = 0.01  # learning rate (step size) alpha
    betas: tuple[float, float] = (0.9, 0.999)  # decay rates (beta1, beta2) of the moment averages, in [0, 1)
    eps: float = 1e-8  # > 0, added to the bias-corrected sqrt(v) in the denominator
    epochs: int | None = None  # passes over the training set; None: until the budget is spent
    batch_size: int | None = None  # items per step; None: full batch, 1: online
    decay: str = "coupled"  # "coupled": L2 in the gradient (Adam); "decoupled": shrink w first (AdamW)
    decay_rate: float | None = None  # fraction d shrunk per step at eta_t = 1; None: 2*lr*lam, or 2*lam
    decay_scale: str = "lr"  # default d: "lr" PyTorch's lr*weight_decay, "schedule" L&H's lambda (no lr)
    shuffle: bool = True  # reshuffle items every epoch from the run's Generator (mini-batches only)
    schedule: str = "constant"  # lr multiplier eta_t per batch step: "constant", "cosine", "cosine-restarts"
    t0: int | None = None  # "cosine-restarts": the first period in batch steps
    t_mult: int = 1  # "cosine-restarts": each period this many times the last

    def __post_init__(self) -> None:
        v.real(self.lr, "lr", 0.0, low_open=True)
        if isinstance(self.betas, (str, bytes)) or not hasattr(self.betas, "__len__") or len(self.betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2), got {self.betas!r}")
        for i, beta in enumerate(self.betas):
            v.real(beta, f"betas[{i}]", 0.0, 1.0, high_open=True)
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))  # a TOML list becomes a tuple
        v.real(self.eps, "eps", 0.0, low_open=True)
        validate_epoch_options(self)


def check(opts: AdamOptions, budget: float, problem, grad_cost: float) -> None:
    check_batch(opts.batch_size, budget, problem, grad_cost)
    check_decay(opts, problem.lam)


@register_method("adam", options=AdamOptions, check=check, uses_gradient=True, native_device=True)
def run(budget: Budget, x0: np.ndarray, rng: np.random.Generator,
        opts: AdamOptions) -> tuple[np.ndarray, str, str]:
    if budget.problem.device is not None:  # the optax implementation, state on the device
        from ..backends.jax_methods import epochs
        return epochs(budget, x0, rng, opts, "adam")
    problem = budget.problem
    mask = problem.penalty_mask
    beta1, beta2 = opts.betas
    decoupled = opts.decay == "decoupled"
    decay_rate = decay_fraction(opts, problem.lam)
    shrink = np.where(mask, 1.0 - decay_rate, 1.0)  # AdamW's 1 - lr_t*weight_decay, 1 on the biases
    shrink_eta = 1.0  # the eta_t that shrink was computed for
    weight_decay = (2.0 * problem.lam) * mask  # Adam's weight_decay = 2*lam on the weights, 0 on the biases
    coupled = not decoupled and problem.lam != 0.0
    exp_avg, exp_avg_sq = np.zeros_like(x0), np.zeros_like(x0)
    tmp, denom = np.empty_like(x0), np.empty_like(x0)
    # the scalars as 0-d arrays (the same float64 arithmetic; a ufunc takes them faster than floats)
    one_minus_beta1, beta2_, one_minus_beta2, eps = (np.array(c) for c in (1.0 - beta1, beta2, 1.0 - beta2, opts.eps))
    neg_step_size, bias_correction2_sqrt = np.empty(()), np.empty(())
    t = 0

    def step(w: np.ndarray, g: np.ndarray, eta: float) -> np.ndarray:
        nonlocal t, shrink, shrink_eta
        t += 1
        if decoupled:
            if eta != shrink_eta:
                shrink, shrink_eta = np.where(mask, 1.0 - eta * decay_rate, 1.0), eta
            w = w * shrink  # a new array: the loop's w stays as it was
        elif coupled:
            np.add(g, np.multiply(weight_decay, w, tmp), g)
        np.add(exp_avg, np.multiply(np.subtract(g, exp_avg, tmp), one_minus_beta1, tmp), exp_avg)
        np.multiply(exp_avg_sq, beta2_, exp_avg_sq)
        np.add(exp_avg_sq, np.multiply(np.multiply(g, one_minus_beta2, tmp), g, tmp), exp_avg_sq)
        neg_step_size[()] = -(opts.lr * eta / (1.0 - beta1 ** t))
        bias_correction2_sqrt[()] = (1.0 - beta2 ** t) ** 0.5
        np.add(np.divide(np.sqrt(exp_avg_sq, denom), bias_correction2_sqrt, denom), eps, denom)
        np.divide(np.multiply(exp_avg, neg_step_size, tmp), denom, tmp)
        return np.add(w, tmp, w) if decoupled else w + tmp

    return run_epochs(budget, x0, rng, step, epochs=opts.epochs, batch_size=opts.batch_size, shuffle=opts.shuffle,
                      schedule=opts.schedule, t0=opts.t0, t_mult=opts.t_mult)

"""Backpropagation with SGD in numpy: the gradient use of L2, coupled or "simplified" (decoupled).

One step on a batch B (DESIGN section 3; heavy-ball momentum as in PyTorch's SGD, dampening 0)::

    g = dE_B/dw                                         (batch mean)
    coupled:    g += 2*lam*mask*w;  v = mu*v + g;  w = w - lr_t*v
    decoupled:                      v = mu*v + g;  w = w - lr_t*v - eta_t*d*mask*w_old

with ``lr_t = lr*eta_t``, ``eta_t`` the schedule's multiplier (1 unless ``schedule`` says otherwise).
With ``mu = 0`` and batches in order, coupled is the seed text's rule and scikit-learn's sgd
solver: ``w <- (1 - lr*alpha/m)*w - lr*grad`` with ``alpha = 2*m*lam``; decoupled with
``d = 2*lr*lam`` (the default, ``decay_scale="lr"``: PyTorch's ``lr_t*weight_decay``) is then the
same trajectory. ``decay_scale="schedule"`` makes the default ``d = 2*lam`` whatever ``lr``
(Loshchilov & Hutter's SGDW, ``eta_t*lambda``, though their Algorithm 1 puts ``lr_t`` inside the
velocity where PyTorch, and this, multiply it after). With momentum, decoupled is coupled at about
``lam = d*(1 - mu)/(2*lr)``: see :mod:`swarmreg.l2`. Biases are never decayed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _validate as v
from ..budget import Budget
from ..registry import register_method
from ._epochs import check_batch, check_decay, decay_fraction, run_epochs, validate_epoch_options


@dataclass(frozen=True)
class BackpropOptions:
    lr: float = 0.1  # learning rate eta
    epochs: int | None = None  # passes over the training set; None: until the budget is spent
    batch_size: int | None = None  # items per step; None: full batch, 1: online
    momentum: float = 0.9  # heavy-ball coefficient mu in [0, 1)
    decay: str = "coupled"  # "coupled": L2 in the gradient; "decoupled": subtract d*w after the step
    decay_rate: float | None = None  # d for decoupled decay at eta_t = 1; None: 2*lr*lam, or 2*lam
    decay_scale: str = "lr"  # default d: "lr" 2*lr*lam (PyTorch, the plain-SGD equivalent), "schedule" 2*lam
    shuffle: bool = True  # reshuffle items every epoch from the run's Generator (mini-batches only)
    schedule: str = "constant"  # lr multiplier eta_t per batch step: "constant", "cosine", "cosine-restarts"
    t0: int | None = None  # "cosine-restarts": the first period in batch steps
    t_mult: int = 1  # "cosine-restarts": each period this many times the last

    def __post_init__(self) -> None:
        v.real(self.lr, "lr", 0.0, low_open=True)
        v.real(self.momentum, "momentum", 0.0, 1.0, high_open=True)
        validate_epoch_options(self)


def check(opts: BackpropOptions, budget: float, problem, grad_cost: float) -> None:
    check_batch(opts.batch_size, budget, problem, grad_cost)
    check_decay(opts, problem.lam)


@register_method("backprop", options=BackpropOptions, check=check, uses_gradient=True,
                 native_device=True)
def run(budget: Budget, x0: np.ndarray, rng: np.random.Generator,
        opts: BackpropOptions) -> tuple[np.ndarray, str, str]:
    if budget.problem.device is not None:  # the optax implementation, state on the device
        from ..backends.jax_methods import epochs
        return epochs(budget, x0, rng, opts, "backprop")
    problem = budget.problem
    mask = problem.penalty_mask
    decay_rate = decay_fraction(opts, problem.lam)
    velocity = np.zeros_like(x0)

    def step(w: np.ndarray, g: np.ndarray, eta: float) -> np.ndarray:
        nonlocal velocity
        if opts.decay == "coupled":
            g += (2.0 * problem.lam) * mask * w
        velocity = opts.momentum * velocity + g if opts.momentum else g
        update = (opts.lr * eta) * velocity
        if opts.decay == "decoupled":
            update = update + (eta * decay_rate) * mask * w
        return w - update

    return run_epochs(budget, x0, rng, step, epochs=opts.epochs, batch_size=opts.batch_size, shuffle=opts.shuffle,
                      schedule=opts.schedule, t0=opts.t0, t_mult=opts.t_mult)

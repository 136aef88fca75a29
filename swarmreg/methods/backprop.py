"""Backpropagation with SGD in numpy: the gradient use of L2, coupled or "simplified" (decoupled).

One step on a batch B (DESIGN section 3; heavy-ball momentum as in PyTorch's SGD, dampening 0)::

    g = dE_B/dw                                         (batch mean)
    coupled:    g += 2*lam*mask*w;  v = mu*v + g;  w = w - lr*v
    decoupled:                      v = mu*v + g;  w = w - lr*v - d*mask*w_old

With ``mu = 0`` and batches in order, coupled is the seed text's rule and scikit-learn's sgd
solver: ``w <- (1 - lr*alpha/m)*w - lr*grad`` with ``alpha = 2*m*lam``; decoupled with
``d = 2*lr*lam`` is then the same trajectory. Biases are never decayed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _validate as v
from ..budget import Budget
from ..registry import register_method
from ._epochs import check_batch, run_epochs, validate_epoch_options


@dataclass(frozen=True)
class BackpropOptions:
    lr: float = 0.1  # learning rate eta
    epochs: int | None = None  # passes over the training set; None: until the budget is spent
    batch_size: int | None = None  # items per step; None: full batch, 1: online
    momentum: float = 0.9  # heavy-ball coefficient mu in [0, 1)
    decay: str = "coupled"  # "coupled": L2 in the gradient; "decoupled": subtract d*w after the step
    decay_rate: float | None = None  # d for decoupled decay; None: 2*lr*lam, the plain-SGD equivalent
    shuffle: bool = True  # reshuffle items every epoch from the run's Generator (mini-batches only)

    def __post_init__(self) -> None:
        v.real(self.lr, "lr", 0.0, low_open=True)
        v.real(self.momentum, "momentum", 0.0, 1.0, high_open=True)
        validate_epoch_options(self)


def check(opts: BackpropOptions, budget: float, objective, grad_cost: float) -> None:
    check_batch(opts.batch_size, budget, objective, grad_cost)


@register_method("backprop", options=BackpropOptions, check=check, uses_gradient=True)
def run(budget: Budget, x0: np.ndarray, rng: np.random.Generator,
        opts: BackpropOptions) -> tuple[np.ndarray, str, str]:
    obj = budget.objective
    mask = obj.penalty_mask
    decay_rate = 2.0 * opts.lr * obj.lam if opts.decay_rate is None else opts.decay_rate
    velocity = np.zeros_like(x0)

    def step(w: np.ndarray, g: np.ndarray) -> np.ndarray:
        nonlocal velocity
        if opts.decay == "coupled":
            g += (2.0 * obj.lam) * mask * w
        velocity = opts.momentum * velocity + g if opts.momentum else g
        update = opts.lr * velocity
        if opts.decay == "decoupled":
            update = update + decay_rate * mask * w
        return w - update

    return run_epochs(budget, x0, rng, step, epochs=opts.epochs, batch_size=opts.batch_size, shuffle=opts.shuffle)

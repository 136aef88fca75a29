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

import math
from dataclasses import dataclass

import numpy as np

from .. import _validate as v
from ..budget import Budget
from ..objective import FLOAT_MAX
from ..registry import register_method


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
        if self.epochs is not None:
            v.positive_int(self.epochs, "epochs")
        if self.batch_size is not None:
            v.positive_int(self.batch_size, "batch_size")
        v.real(self.momentum, "momentum", 0.0, 1.0, high_open=True)
        v.choice(self.decay, "decay", ("coupled", "decoupled"))
        if self.decay_rate is not None:
            v.real(self.decay_rate, "decay_rate", 0.0, 1.0, high_open=True)
            if self.decay != "decoupled":
                raise ValueError(f"decay_rate applies only to decay='decoupled', got decay={self.decay!r}")
        if not isinstance(self.shuffle, bool):
            raise TypeError(f"shuffle must be a bool, got {self.shuffle!r}")


def check(opts: BackpropOptions, budget: float, objective, grad_cost: float) -> None:
    if opts.batch_size is not None and opts.batch_size > objective.n_items:
        raise ValueError(f"batch_size must be at most the {objective.n_items} training items, got {opts.batch_size}")
    m = objective.n_items if opts.batch_size is None else opts.batch_size
    if budget < grad_cost * m / objective.n_items:
        raise ValueError(f"budget {budget:g} is less than one gradient step "
                         f"({grad_cost:g} x {m}/{objective.n_items} of the training set)")


def _batches(n_items: int, batch_size: int, order: np.ndarray | None) -> list[np.ndarray | None]:
    """Row indices of each batch in an epoch; ``None`` stands for the full set in order."""
    if batch_size >= n_items and order is None:
        return [None]
    idx = np.arange(n_items) if order is None else order
    return [idx[i:i + batch_size] for i in range(0, n_items, batch_size)]


def _finite(value: float) -> bool:
    """A usable loss: below the saturation value the objective reports for overflow (NaN fails too)."""
    return value < FLOAT_MAX


@register_method("backprop", options=BackpropOptions, check=check, uses_gradient=True)
def run(budget: Budget, x0: np.ndarray, rng: np.random.Generator,
        opts: BackpropOptions) -> tuple[np.ndarray, str, str]:
    obj = budget.objective
    n = obj.n_items
    m = n if opts.batch_size is None else opts.batch_size
    mask = obj.net.weight_mask
    decay_rate = 2.0 * opts.lr * obj.lam if opts.decay_rate is None else opts.decay_rate
    shuffle = opts.shuffle and m < n

    def diverged(candidates: list[np.ndarray], epoch: int) -> tuple[np.ndarray, str, str]:
        """Return the latest candidate whose J on the full set is finite (the last resort: x0)."""
        w_ok, fun = next(((c, f) for c in candidates if _finite(f := obj(c))), (x0, obj(x0)))
        budget.record(fun)
        return w_ok, "diverged", f"the loss stopped being finite in epoch {epoch + 1}"

    w = x0.copy()
    epoch_start = x0  # the last epoch-end iterate, whose J on the full set was finite
    velocity = np.zeros_like(w)
    epochs = math.inf if opts.epochs is None else opts.epochs
    epoch = 0
    while epoch < epochs:
        last_finite = w  # the last iterate whose batch loss was finite
        for idx in _batches(n, m, rng.permutation(n) if shuffle else None):
            if not budget.can_afford(grad_items=n if idx is None else len(idx)):
                budget.record(obj(w))
                return w, "budget", f"budget spent in epoch {epoch + 1}"
            err, g = budget.error_and_gradient(w, idx)
            if not (_finite(err) and np.all(np.isfinite(g))):
                return diverged([last_finite, epoch_start], epoch)
            last_finite = w
            if opts.decay == "coupled":
                g += (2.0 * obj.lam) * mask * w
            velocity = opts.momentum * velocity + g if opts.momentum else g
            step = opts.lr * velocity
            if opts.decay == "decoupled":
                step = step + decay_rate * mask * w
            w = w - step
        epoch += 1
        fun = obj(w)
        if not _finite(fun):
            return diverged([last_finite, epoch_start], epoch - 1)
        epoch_start = w
        budget.record(fun)
    return w, "epochs", f"ran {epoch} epochs"

"""The epoch loop of the gradient methods that step on batches (``backprop``, ``adam``).

One loop for all of them, so they see the same batches and spend the same budget: online
(``batch_size=1``), mini-batch or full batch (``None``); with ``shuffle``, the items are permuted
every epoch from the run's Generator (mini-batches only; a full batch is the set in order). Each
batch's gradient is charged its fraction of ``grad_cost``; J on the full set is recorded (not
charged: ``budget.observe``) after every epoch. A batch whose loss or gradient is not finite, or an epoch ending on
a J that is not, stops the run as "diverged" at the latest iterate whose J is finite. The
learning-rate schedule's multiplier ``eta_t`` (:mod:`._schedules`) is stepped after every batch; a
schedule that needs the run's total steps T takes them from ``epochs`` or, without it, from what
the budget affords.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .. import _validate as v
from ..budget import Budget
from ..objective import FLOAT_MAX
from ._schedules import multiplier, validate_schedule

Step = Callable[[np.ndarray, np.ndarray, float], np.ndarray]
"""``step(w, g, eta) -> w_next``: one update from the batch gradient ``g = dE_B/dw`` (which the step may
overwrite) at schedule multiplier ``eta``; ``w_next`` is a new array and ``w`` is left as it was (the
loop keeps it to fall back on)."""

DECAY_SCALES = ("lr", "schedule")


def validate_epoch_options(opts) -> None:
    """The options every epoch-based method shares: ``epochs``, ``batch_size``, ``decay``,
    ``decay_rate`` (decoupled only, in [0, 1)), ``decay_scale`` (other than "lr" decoupled only),
    ``shuffle`` and the schedule's ``schedule``, ``t0``, ``t_mult``; a ``ValueError``/``TypeError``
    names the bad one."""
    if opts.epochs is not None:
        v.positive_int(opts.epochs, "epochs")
    if opts.batch_size is not None:
        v.positive_int(opts.batch_size, "batch_size")
    v.choice(opts.decay, "decay", ("coupled", "decoupled"))
    if opts.decay_rate is not None:
        v.real(opts.decay_rate, "decay_rate", 0.0, 1.0, high_open=True)
        if opts.decay != "decoupled":
            raise ValueError(f"decay_rate applies only to decay='decoupled', got decay={opts.decay!r}")
    v.choice(opts.decay_scale, "decay_scale", DECAY_SCALES)
    if opts.decay_scale != "lr" and opts.decay != "decoupled":
        raise ValueError(f"decay_scale applies only to decay='decoupled', got decay={opts.decay!r}")
    if not isinstance(opts.shuffle, bool):
        raise TypeError(f"shuffle must be a bool, got {opts.shuffle!r}")
    validate_schedule(opts.schedule, opts.t0, opts.t_mult)


def decay_fraction(opts, lam: float) -> float:
    """The decoupled shrink per step at ``eta_t = 1`` (each step takes ``eta_t`` times it): ``decay_rate``
    when given, else ``2*lr*lam`` (``decay_scale="lr"``: PyTorch's ``lr_t * weight_decay`` with
    ``weight_decay = 2*lam``) or ``2*lam`` (``"schedule"``: Loshchilov & Hutter's ``eta_t * lambda`` with
    ``lambda = 2*lam``, the same for every base learning rate)."""
    if opts.decay_rate is not None:
        return opts.decay_rate
    return 2.0 * lam * (opts.lr if opts.decay_scale == "lr" else 1.0)


def check_decay(opts, lam: float) -> None:
    """Refuse a default decoupled shrink that would zero the weights at the first step."""
    if opts.decay == "decoupled" and opts.decay_rate is None and decay_fraction(opts, lam) >= 1.0:
        formula = "2*lr*lam" if opts.decay_scale == "lr" else "2*lam"
        raise ValueError(f"the default decay_rate {formula} = {decay_fraction(opts, lam):g} is not below 1 "
                         f"(lr={opts.lr:g}, lam={lam:g}): every step would zero the weights")


def check_batch(batch_size: int | None, budget: float, problem, grad_cost: float) -> None:
    """Refuse a batch larger than the set, and a budget below one gradient step on one batch."""
    if batch_size is not None and batch_size > problem.n_items:
        raise ValueError(f"batch_size must be at most the {problem.n_items} training items, got {batch_size}")
    m = problem.n_items if batch_size is None else batch_size
    if budget < grad_cost * m / problem.n_items:
        raise ValueError(f"budget {budget:g} is less than one gradient step "
                         f"({grad_cost:g} x {m}/{problem.n_items} of the training set)")


def batches(n_items: int, batch_size: int, order: np.ndarray | None) -> list[np.ndarray | None]:
    """Row indices of each batch in an epoch; ``None`` stands for the full set in order."""
    if batch_size >= n_items and order is None:
        return [None]
    idx = np.arange(n_items) if order is None else order
    return [idx[i:i + batch_size] for i in range(0, n_items, batch_size)]


def total_steps(budget: Budget, n_items: int, batch_size: int, epochs: int | None) -> int:
    """The batch steps a run takes: ``epochs`` epochs of ``ceil(N/m)`` batches, or fewer where the budget
    runs out first (whole epochs, then the full batches of the last, partial one)."""
    per_epoch = -(-n_items // batch_size)
    # whole epochs: one fewer than the quotient (a budget is finite), then up to what can_afford's rounding allows
    full = max(int(budget.remaining() // budget.grad_cost) - 1, 0)
    full = full if epochs is None else min(full, epochs)
    while (epochs is None or full < epochs) and budget.can_afford(grad_items=(full + 1) * n_items):
        full += 1
    if epochs is not None and full == epochs:
        return epochs * per_epoch
    partial = 0
    while partial < per_epoch - 1 and budget.can_afford(grad_items=full * n_items + (partial + 1) * batch_size):
        partial += 1
    return full * per_epoch + partial


def finite(value: float) -> bool:
    """A usable loss: below the saturation value the objective reports for overflow (NaN fails too)."""
    return value < FLOAT_MAX


def run_epochs(budget: Budget, x0: np.ndarray, rng: np.random.Generator, step: Step, *,
               epochs: int | None, batch_size: int | None, shuffle: bool, schedule: str = "constant",
               t0: int | None = None, t_mult: int = 1,
               gradient: Callable | None = None) -> tuple[np.ndarray, str, str]:
    """Take ``step`` on every batch of every epoch until ``epochs`` or the budget runs out, batch step t
    at the schedule's ``eta_t``.

    ``gradient(w, idx) -> (E, g)``, E inf where E or g is not finite, is the charged gradient of a
    device run (``budget.error_and_gradient_on_device``); by default the budget's host gradient.
    Returns ``(x, status, message)`` as a method's ``run`` does, with the last record on ``x``.
    """
    if gradient is None:
        def gradient(w: np.ndarray, idx: np.ndarray | None) -> tuple[float, np.ndarray]:
            err, g = budget.error_and_gradient(w, idx)
            return (err if np.all(np.isfinite(g)) else math.inf), g

    n = budget.problem.n_items
    m = n if batch_size is None else batch_size
    shuffle = shuffle and m < n
    eta = multiplier(schedule, 0 if schedule == "constant" else total_steps(budget, n, m, epochs), t0, t_mult)
    t = 0

    def diverged(candidates: list[np.ndarray], epoch: int) -> tuple[np.ndarray, str, str]:
        """Return the latest candidate whose J on the full set is finite (the last resort: x0)."""
        for w_ok in (*candidates, x0):
            fun = budget.observe(w_ok)
            if finite(fun):
                break
        budget.record(fun)
        return w_ok, "diverged", f"the loss stopped being finite in epoch {epoch + 1}"

    w = x0.copy()
    epoch_start = x0  # the last epoch-end iterate, whose J on the full set was finite
    n_epochs = math.inf if epochs is None else epochs
    epoch = 0
    while epoch < n_epochs:
        last_finite = w  # the last iterate whose batch loss was finite
        for idx in batches(n, m, rng.permutation(n) if shuffle else None):
            if not budget.can_afford(grad_items=n if idx is None else len(idx)):
                budget.record(budget.observe(w))
                return w, "budget", f"budget spent in epoch {epoch + 1}"
            err, g = gradient(w, idx)
            if not finite(err):
                return diverged([last_finite, epoch_start], epoch)
            last_finite = w
            w = step(w, g, eta(t))
            t += 1
        epoch += 1
        fun = budget.observe(w)
        if not finite(fun):
            return diverged([last_finite, epoch_start], epoch - 1)
        epoch_start = w
        budget.record(fun)
    return w, "epochs", f"ran {epoch} epochs"

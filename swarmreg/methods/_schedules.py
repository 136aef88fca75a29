"""Learning-rate schedules: the multiplier ``eta_t`` of the base learning rate at batch step t = 0, 1, ...

PyTorch's schedulers with ``eta_min = 0``, stepped after every batch (``lr_t = lr * eta_t``):

- ``"constant"``: ``eta_t = 1``;
- ``"cosine"``: ``eta_t = 0.5 * (1 + cos(pi * t / T))``, T the run's total steps
  (``CosineAnnealingLR(T_max=T)``);
- ``"cosine-restarts"``: SGDR (Loshchilov & Hutter, ICLR 2017), ``eta_t = 0.5 * (1 + cos(pi * t_cur / T_i))``
  with ``t_cur`` the steps since the last restart, the first period ``T_0 = t0`` steps and each next one
  ``t_mult`` times the last (``CosineAnnealingWarmRestarts(T_0=t0, T_mult=t_mult)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .. import _validate as v

SCHEDULES = ("constant", "cosine", "cosine-restarts")


def validate_schedule(schedule: str, t0: int | None, t_mult: int) -> None:
    """``schedule`` one of :data:`SCHEDULES`; ``t0`` (a positive int) with ``"cosine-restarts"`` only and
    required there; ``t_mult`` a positive int, other than 1 with ``"cosine-restarts"`` only."""
    v.choice(schedule, "schedule", SCHEDULES)
    restarts = schedule == "cosine-restarts"
    if t0 is None:
        if restarts:
            raise ValueError("schedule='cosine-restarts' needs t0, the first period in batch steps")
    else:
        v.positive_int(t0, "t0")
        if not restarts:
            raise ValueError(f"t0 applies only to schedule='cosine-restarts', got schedule={schedule!r}")
    v.positive_int(t_mult, "t_mult")
    if t_mult != 1 and not restarts:
        raise ValueError(f"t_mult applies only to schedule='cosine-restarts', got schedule={schedule!r}")


def multiplier(schedule: str, total_steps: int, t0: int | None = None, t_mult: int = 1) -> Callable[[int], float]:
    """``eta(t)`` for batch step t (from 0) of a run of ``total_steps`` steps."""
    if schedule == "constant":
        return lambda t: 1.0
    if schedule == "cosine":
        return lambda t: 0.5 * (1.0 + math.cos(math.pi * t / total_steps))

    def restarts(t: int) -> float:
        period = t0
        if t_mult == 1:
            t %= period
        while t >= period:  # integer arithmetic: no rounding in where a period ends
            t -= period
            period *= t_mult
        return 0.5 * (1.0 + math.cos(math.pi * t / period))
    return restarts

"""Up-front argument checks shared by the public API; every message names the argument."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable

import numpy as np


def non_negative_int(value: object, name: str) -> int:
    """An int >= 0 (bools and integral floats refused: ``seed=True`` is a typo, not a seed)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a non-negative int, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return int(value)


def positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int (>= 1), got {value!r}")
    return int(value)


def real(value: object, name: str, low: float | None = None, high: float | None = None,
         low_open: bool = False, high_open: bool = False) -> float:
    """A finite real in the given interval, e.g. ``real(lr, "lr", 0, low_open=True)`` for lr > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and (v < low or (low_open and v == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and (v > high or (high_open and v == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value!r}")
    return v


def choice(value: object, name: str, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}{suggest(value, allowed)}")
    return value  # type: ignore[return-value]


SYNONYMS = (
    ("lr", "learning_rate", "learning_rate_init", "eta", "step_size", "stepsize"),
    ("n_particles", "population", "swarm_size", "popsize", "pop_size", "population_size", "n_population", "npop",
     "n_pop", "lambda_", "particles"),
    ("epochs", "n_epochs", "max_epochs", "num_epochs", "n_iter", "max_iter"),
    ("momentum", "mu", "momentum_coef"),
    ("w", "inertia", "inertia_weight", "omega"),
    ("c1", "cognitive", "cognitive_coeff", "phi_p"),
    ("c2", "social", "social_coeff", "phi_g"),
    ("sigma", "sigma0", "noise_std", "std"),
    ("velocity_clamp", "vmax", "v_max", "max_velocity", "clamp"),
    ("k", "neighbors", "neighbours", "n_neighbors", "n_neighbours"),
    ("topology", "neighborhood", "neighbourhood"),
    ("restarts", "n_restarts", "max_restarts", "restart"),
    ("maxcor", "history_size", "memory", "m"),
    ("l2", "l2coeff", "l2_coeff"),
    ("eps", "epsilon"),
    ("initial_step", "init_step", "initial_simplex", "simplex_size"),
)
"""Names other libraries use for the same option (scikit-learn, PyTorch, pyswarms, pycma, scipy, evosax):
``suggest`` offers whichever member of a group the method has, before any spelling near miss."""


def suggest(value: object, known: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for a near miss or a usual alias (:data:`SYNONYMS`), else an empty string."""
    if not isinstance(value, str):
        return ""
    known = list(known)
    normalized = {k.replace("-", "_").lower(): k for k in known}
    key = value.replace("-", "_").lower()
    if key in normalized:
        return f" (did you mean {normalized[key]!r}?)"
    aliases = {}  # alias -> the member of its group that is known
    for group in SYNONYMS:
        hits = [normalized[name] for name in group if name in normalized]
        if hits:
            aliases.update(dict.fromkeys(group, hits[0]))
    if key in aliases:
        return f" (did you mean {aliases[key]!r}?)"
    close = difflib.get_close_matches(key, [*normalized, *aliases], n=1, cutoff=0.6)
    return f" (did you mean {normalized.get(close[0]) or aliases[close[0]]!r}?)" if close else ""


def finite_array(value: object, name: str, ndim: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.ndim not in ndim:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndim))} dimensions, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    arr = arr.astype(float, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or inf values")
    return arr

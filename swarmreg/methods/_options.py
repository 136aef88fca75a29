"""Turning ``**options`` into a method's frozen dataclass, refusing unknown names up front."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from .._validate import suggest

T = TypeVar("T")


def resolve(cls: type[T], method: str, options: Mapping[str, Any]) -> T:
    """``cls(**options)``, with a ``TypeError`` naming any unknown option and its near miss."""
    known = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    for name in options:
        if name not in known:
            raise TypeError(
                f"unknown option {name!r} for method {method!r}{suggest(name, known)}; "
                f"its options are {', '.join(known)}"
            )
    return cls(**options)

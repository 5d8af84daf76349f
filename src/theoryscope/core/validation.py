"""Input validation in the scikit-learn style: every check names the argument and the allowed range.

Each function returns the cleaned value or raises :class:`~theoryscope.errors.ConfigError`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from theoryscope.errors import ConfigError


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def as_int(field: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """An integer in [low, high] (inclusive). Floats equal to an integer are accepted."""
    allowed = _range_text(low, high, "an integer")
    if _is_bool(value):
        raise ConfigError(field, f"got {value!r}; allowed: {allowed}")
    try:
        if isinstance(value, str):
            value = value.strip()
            out = int(value)
        elif isinstance(value, int):
            out = value
        else:
            f = float(value)
            if not math.isfinite(f) or f != int(f):
                raise ValueError
            out = int(f)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(field, f"got {value!r}; allowed: {allowed}") from None
    if (low is not None and out < low) or (high is not None and out > high):
        raise ConfigError(field, f"got {out}; allowed: {allowed}")
    return out


def as_float(
    field: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite float in the interval; ``low_open`` excludes the lower end (e.g. eta > 0)."""
    allowed = _interval_text(low, high, low_open, high_open)
    if _is_bool(value):
        raise ConfigError(field, f"got {value!r}; allowed: {allowed}")
    try:
        out = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ConfigError(field, f"got {value!r}; allowed: {allowed}") from None
    if not math.isfinite(out):
        raise ConfigError(field, f"got {out}; allowed: {allowed} (finite)")
    if low is not None and (out < low or (low_open and out == low)):
        raise ConfigError(field, f"got {out:g}; allowed: {allowed}")
    if high is not None and (out > high or (high_open and out == high)):
        raise ConfigError(field, f"got {out:g}; allowed: {allowed}")
    return out


def as_choice(field: str, value: Any, choices: Sequence[str]) -> str:
    """One of a fixed set of names."""
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(field, f"got {value!r}; allowed: {', '.join(choices)}")
    return value


def as_int_tuple(
    field: str, value: Any, *, length: int | None = None, low: int | None = None
) -> tuple[int, ...]:
    """A tuple of integers, from a sequence or a comma-separated string like ``"1,1,0"``."""
    if isinstance(value, str):
        parts: Iterable[Any] = [p for p in value.split(",")]
    elif isinstance(value, Iterable):
        parts = list(value)
    else:
        raise ConfigError(field, f"got {value!r}; allowed: a list of integers")
    items = tuple(as_int(field, p, low=low) for p in parts)
    if not items:
        raise ConfigError(field, "is empty; allowed: at least one integer")
    if length is not None and len(items) != length:
        raise ConfigError(
            field,
            f"has {len(items)} entries; allowed: exactly {length} (one per input dimension d)",
        )
    return items


def _range_text(low: int | None, high: int | None, what: str) -> str:
    if low is not None and high is not None:
        return f"{what} from {low} to {high}"
    if low is not None:
        return f"{what} >= {low}"
    if high is not None:
        return f"{what} <= {high}"
    return what


def _interval_text(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    return "a number " + " and ".join(parts) if parts else "a finite number"

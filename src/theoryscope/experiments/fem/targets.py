"""The talk's target functions on D = [-1, 1], with their derivatives.

    arctan   f(x) = arctan(25 x)                 talk, slide "Numerical test", Table 1
    gauss    f(x) = exp(-(10 x)^2)               talk, "Examples", Example 1
    cosine   f(x) = (cos(2 k pi x) - 1) / 2      talk, "Examples", Example 2 (k = ``freq``)
    sine     f(x) = sin(16 pi x)                 talk, "Experiments" (structured network)

Each is analytic, so composite Gauss-Legendre quadrature on panels much narrower than its length
scale (1/25, 1/10, 1/(2 k pi), 1/(16 pi)) integrates it to rounding (:mod:`.quadrature`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from theoryscope.errors import ConfigError

__all__ = ["ARCTAN_SCALE", "Target", "get_target"]

#: The 25 of the talk's arctan(25 x).
ARCTAN_SCALE = 25.0
#: The 10 of exp(-(10 x)^2) and the 16 of sin(16 pi x).
GAUSS_SCALE = 10.0
SINE_FREQ = 16.0

Fn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Target:
    """A target ``f`` with ``f'``, a label, and its length scale (for quadrature panels)."""

    name: str
    label: str
    f: Fn
    df: Fn
    scale: float


def get_target(name: str, freq: int = 4) -> Target:
    """The target called ``name`` (``freq`` is the k of the cosine target)."""
    if name == "arctan":
        c = ARCTAN_SCALE
        return Target(name, "arctan(25x)", lambda x: np.arctan(c * x),
                      lambda x: c / (1.0 + (c * x) ** 2), 1.0 / c)  # fmt: skip
    if name == "gauss":
        g = GAUSS_SCALE
        return Target(name, "exp(-(10x)^2)", lambda x: np.exp(-((g * x) ** 2)),
                      lambda x: -2.0 * g * g * x * np.exp(-((g * x) ** 2)), 1.0 / g)  # fmt: skip
    if name == "cosine":
        w = 2.0 * math.pi * freq
        return Target(name, f"(cos(2*{freq}*pi*x)-1)/2", lambda x: (np.cos(w * x) - 1.0) / 2.0,
                      lambda x: -w / 2.0 * np.sin(w * x), 1.0 / w)  # fmt: skip
    if name == "sine":
        w = SINE_FREQ * math.pi
        return Target(name, "sin(16*pi*x)", lambda x: np.sin(w * x),
                      lambda x: w * np.cos(w * x), 1.0 / w)  # fmt: skip
    raise ConfigError("target", f"got {name!r}; allowed: arctan, gauss, cosine, sine")

"""Node sets on [-1, 1]: uniform, adaptive to the target, random.

Every node set holds both ends, ``-1 = x_1 < x_2 < ... < x_n = 1``: the P1 finite-element space
on these nodes is the space both bases span (:mod:`.bases`).

Adaptive nodes (talk, slide "Adaptive vs uniform biases"):

    F(x) = int_{-1}^x |f'(t)| dt / int_{-1}^1 |f'(t)| dt,      F(x_i) = (i - 1)/(n - 1),

so nodes crowd where f varies fast (each element carries the same share of the total variation
of f). For the talk's ``f = arctan(25 x)``, ``f' = 25/(1 + 625 x^2) > 0``, hence in closed form

    F(x) = (arctan(25 x) + arctan 25) / (2 arctan 25),
    x_i  = F^{-1}((i-1)/(n-1)) = tan(((2 (i-1)/(n-1)) - 1) arctan 25) / 25.

For the other targets F is integrated numerically (trapezoid rule on a fine grid, error
O(grid^2)) and inverted by monotone linear interpolation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from theoryscope.errors import ConfigError
from theoryscope.experiments.fem.targets import ARCTAN_SCALE, Target, get_target

__all__ = ["adaptive_map", "adaptive_nodes", "arctan_inverse_map", "arctan_map", "make_nodes"]

#: Grid of the numerical F (2^17 intervals: |F_numeric - F| < 3e-9 for arctan(25x), tested).
F_GRID = 2**17


def arctan_map(x: np.ndarray) -> np.ndarray:
    """Closed-form F for f = arctan(25 x) (module docstring)."""
    c = ARCTAN_SCALE
    return (np.arctan(c * np.asarray(x, float)) + math.atan(c)) / (2.0 * math.atan(c))


def arctan_inverse_map(t: np.ndarray) -> np.ndarray:
    """Closed-form F^{-1} for f = arctan(25 x): ``tan((2 t - 1) arctan 25) / 25``."""
    c = ARCTAN_SCALE
    return np.tan((2.0 * np.asarray(t, float) - 1.0) * math.atan(c)) / c


def adaptive_map(target: Target, grid: int = F_GRID) -> tuple[np.ndarray, np.ndarray]:
    """``(z, F(z))`` on ``grid + 1`` equispaced points: the normalized cumulative integral of
    |f'| (trapezoid rule), nondecreasing from 0 to 1."""
    z = np.linspace(-1.0, 1.0, grid + 1)
    speed = np.abs(target.df(z))
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (speed[1:] + speed[:-1]) * np.diff(z))])
    if not cum[-1] > 0:
        raise ConfigError("nodes", f"adaptive needs a target that varies; {target.label} is flat")
    return z, cum / cum[-1]


def _invert(z: np.ndarray, fz: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Smallest x with F(x) = t, by linear interpolation in the cell that crosses t."""
    k = np.clip(np.searchsorted(fz, t, side="left"), 1, len(z) - 1)
    f0, f1 = fz[k - 1], fz[k]
    frac = np.where(f1 > f0, (t - f0) / np.where(f1 > f0, f1 - f0, 1.0), 0.0)
    return z[k - 1] + np.clip(frac, 0.0, 1.0) * (z[k] - z[k - 1])


def adaptive_nodes(target: Target, n: int, *, closed_form: bool = True) -> np.ndarray:
    """``x_i = F^{-1}((i-1)/(n-1))``, ends exactly -1 and 1 (closed form for arctan)."""
    t = np.arange(n, dtype=float) / (n - 1)
    if target.name == "arctan" and closed_form:
        x = arctan_inverse_map(t)
    else:
        z, fz = adaptive_map(target)
        x = _invert(z, fz, t)
    x[0], x[-1] = -1.0, 1.0
    return x


def make_nodes(
    kind: str, n: int, *, target: str = "arctan", freq: int = 4, seed: int | Sequence[int] = 0
) -> np.ndarray:
    """The n nodes of ``kind`` (float64, strictly increasing, ends -1 and 1); ``seed`` (an int
    or a sequence of ints) seeds NumPy's ``default_rng`` for random nodes."""
    if n < 3:
        raise ConfigError("n", f"got {n}; allowed: at least 3 nodes")
    if kind == "uniform":
        x = np.linspace(-1.0, 1.0, n)
    elif kind == "adaptive":
        x = adaptive_nodes(get_target(target, freq), n)
    elif kind == "random":
        inner = np.sort(np.random.default_rng(seed).uniform(-1.0, 1.0, size=n - 2))
        x = np.concatenate([[-1.0], inner, [1.0]])
    else:
        raise ConfigError("nodes", f"got {kind!r}; allowed: uniform, adaptive, random")
    if not np.all(np.diff(x) > 0):
        raise ConfigError("n", f"got {n}: two {kind} nodes coincide in float64; allowed: fewer "
                          "nodes")  # fmt: skip
    return x

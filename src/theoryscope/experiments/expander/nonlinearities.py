"""Nonlinearities sigma and their derivatives sigma' (spec ``expander-nets.md`` section 1).

The default ``sqrt2cos`` is ``sigma(z) = sqrt(2) cos(z + pi/4) = cos z - sin z`` with
``sigma'(z) = -(sin z + cos z)``. Training evaluates it on a |B| x k array every step, so it is
computed by a fused sin/cos pair of our own (:func:`fast_sincos`): one range reduction and two
short polynomials give both sin z and cos z, which serve sigma and sigma' at once. XLA's CPU
``sin``/``cos`` are several times slower.

:func:`fast_sincos` in float32: Cody-Waite reduction ``r = z - q pi/2`` with q = round(2 z / pi)
and pi/2 split in three parts (exact products for |q| < 2^15, so accurate for |z| up to ~1e4),
then the Cephes ``sinf``/``cosf`` minimax polynomials on [-pi/4, pi/4] (about 1e-7 absolute).
In float64: the same reduction with a float64 split and the Cephes ``sin``/``cos`` degree-13/14
polynomials (about 1e-16 absolute, |z| up to ~1e8). The quadrant q mod 4 then selects and signs.

Other built-ins: ``relu``, ``tanh``, ``erf``. A user JAX function ``f`` (elementwise) gets its
derivative from one ``jax.jvp`` with unit tangent, which evaluates f and f' together.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

# Cody-Waite split of pi/2 for float32 (Cephes sinf, DP1..DP3 times 2).
_PIO2_F32 = (1.5703125, 4.837512969970703125e-4, 7.54978995489188216e-8)
# ... and for float64 (Cephes sin, DP1..DP3 times 2).
_PIO2_F64 = (
    1.57079625129699707031e0,
    7.54978941586159635336e-8,
    5.39030285815811904290e-15,
)
# Cephes minimax coefficients on [-pi/4, pi/4], highest degree first (in r^2).
_SIN_F32 = (-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1)
_COS_F32 = (2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2)
_SIN_F64 = (
    1.58962301576546568060e-10,
    -2.50507477628578072866e-8,
    2.75573136213857245213e-6,
    -1.98412698295895385996e-4,
    8.33333333332211858878e-3,
    -1.66666666666666307295e-1,
)
_COS_F64 = (
    -1.13585365213876817300e-11,
    2.08757008419747316778e-9,
    -2.75573141792967388112e-7,
    2.48015872888517045348e-5,
    -1.38888888888730564116e-3,
    4.16666666666665929218e-2,
)

SigmaPair = Callable[[Any], tuple[Any, Any]]


def _horner(coefs: tuple[float, ...], x: Any) -> Any:
    acc = coefs[0]
    for c in coefs[1:]:
        acc = acc * x + c
    return acc


def fast_sincos(z: Any) -> tuple[Any, Any]:
    """(sin z, cos z) from one shared range reduction; float32 or float64 after z's dtype.

    Accuracy: ~1e-7 absolute in float32 for |z| <= 1e4, ~1e-15 in float64 for |z| <= 1e6.
    """
    z = jnp.asarray(z)
    split: tuple[float, float, float]
    sin_c: tuple[float, ...]
    cos_c: tuple[float, ...]
    if z.dtype == jnp.float64:
        split, sin_c, cos_c = _PIO2_F64, _SIN_F64, _COS_F64
    else:
        split, sin_c, cos_c = _PIO2_F32, _SIN_F32, _COS_F32
    dt = z.dtype
    q = jnp.round(z * jnp.asarray(2.0 / math.pi, dt))
    r = z - q * jnp.asarray(split[0], dt)
    r = r - q * jnp.asarray(split[1], dt)
    r = r - q * jnp.asarray(split[2], dt)
    r2 = r * r
    s = r + r * r2 * _horner(sin_c, r2)
    c = 1.0 - 0.5 * r2 + r2 * r2 * _horner(cos_c, r2)
    n = q.astype(jnp.int32)
    swap = (n & 1) == 1
    sin_z = jnp.where(swap, c, s)
    cos_z = jnp.where(swap, s, c)
    sin_z = jnp.where((n & 2) == 2, -sin_z, sin_z)
    cos_z = jnp.where(((n + 1) & 2) == 2, -cos_z, cos_z)
    return sin_z, cos_z


def sqrt2cos_pair(z: Any) -> tuple[Any, Any]:
    """(sigma(z), sigma'(z)) = (cos z - sin z, -(sin z + cos z)) from one fused sin/cos."""
    s, c = fast_sincos(z)
    return c - s, -(s + c)


def _relu_pair(z: Any) -> tuple[Any, Any]:
    return jnp.maximum(z, 0), (z > 0).astype(z.dtype)


def _tanh_pair(z: Any) -> tuple[Any, Any]:
    t = jnp.tanh(z)
    return t, 1 - t * t


def _erf_pair(z: Any) -> tuple[Any, Any]:
    return lax.erf(z), (2.0 / math.sqrt(math.pi)) * jnp.exp(-z * z)


def custom_pair(fn: Callable[[Any], Any]) -> SigmaPair:
    """(f(z), f'(z)) for an elementwise JAX function f, by one jvp with unit tangent."""

    def pair(z: Any) -> tuple[Any, Any]:
        value, deriv = jax.jvp(fn, (z,), (jnp.ones_like(z),))
        return jnp.asarray(value, z.dtype), jnp.asarray(deriv, z.dtype)

    return pair


_BUILTIN: dict[str, SigmaPair] = {
    "sqrt2cos": sqrt2cos_pair,
    "relu": _relu_pair,
    "tanh": _tanh_pair,
    "erf": _erf_pair,
}


def sigma_pair(nonlinearity: str | Callable[[Any], Any]) -> SigmaPair:
    """The function z -> (sigma(z), sigma'(z)) for a built-in name or a user JAX function."""
    if callable(nonlinearity):
        return custom_pair(nonlinearity)
    try:
        return _BUILTIN[nonlinearity]
    except KeyError:
        raise ValueError(
            f"unknown nonlinearity {nonlinearity!r}; allowed: {', '.join(_BUILTIN)} or a function"
        ) from None


def sigma(nonlinearity: str | Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The function z -> sigma(z) alone (sigma' is dead code and removed under jit)."""
    pair = sigma_pair(nonlinearity)
    return lambda z: pair(z)[0]


def reference_pair(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NumPy/SciPy float64 reference (sigma, sigma') for the built-in names (used by tests)."""
    from scipy.special import erf

    z = np.asarray(z, dtype=np.float64)
    if name == "sqrt2cos":
        return np.cos(z) - np.sin(z), -(np.sin(z) + np.cos(z))
    if name == "relu":
        return np.maximum(z, 0), (z > 0).astype(float)
    if name == "tanh":
        return np.tanh(z), 1 - np.tanh(z) ** 2
    if name == "erf":
        return erf(z), 2 / np.sqrt(np.pi) * np.exp(-z * z)
    raise ValueError(name)

"""Nonlinearities sigma and their derivatives sigma' (spec ``expander-nets.md`` section 1).

The default ``sqrt2cos`` is ``sigma(z) = sqrt(2) cos(z + pi/4) = cos z - sin z`` with
``sigma'(z) = -(sin z + cos z)``. Training evaluates it on a |B| x k array every step, so it is
computed by our own vectorizable code instead of XLA's ``sin``/``cos`` (several times slower on
CPU): one Cody-Waite range reduction ``z = r + q pi/2``, |r| <= pi/4, q = round(2 z / pi), with
pi/2 split in three parts (exact products for |q| < 2^15 in float32, 2^30 in float64), then the
Cephes ``sinf``/``cosf`` minimax polynomials on [-pi/4, pi/4] (float32, about 1e-7 absolute for
|z| up to ~1e4) or the Cephes ``sin``/``cos`` degree-13/14 ones (float64, about 4e-16 absolute
for |z| up to ~1e6).

:func:`sqrt2cos_pair` returns (sigma, sigma') from one reduction and one sin/cos pair. The
quadrant n = q mod 4 acts as a rotation (spec 1: sigma'(z) = sigma(z + pi/2)):

    (sigma, sigma')(r + n pi/2) = (A, B), (B, -A), (-A, -B), (-B, A)   for n = 0, 1, 2, 3,
    A = cos r - sin r,  B = -(cos r + sin r),

so odd n swaps (with one sign) and n & 2 flips both signs; n is read from the low bits of
``q + 1.5 * 2^(p-1)`` (p = mantissa bits), which holds q as an integer, and the flip is an XOR of
the sign bit. There are no float-to-int conversions and no per-quadrant polynomial selection.

XLA fuses elementwise code into each consumer, so two outputs of one elementwise computation
are computed in two passes (it duplicates the shared work). :func:`complex_pair` packs the pair
into one complex number per element, one value that a single pass computes; the engine keeps
that pass whole (see ``engine.loss_and_grads``).

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


def _reduce(z: Any) -> tuple[Any, Any, Any]:
    """(r, r^2, bits) with z = r + q pi/2, |r| <= pi/4; the low bits of ``bits`` are q mod 4.

    ``q + 1.5 * 2^(p-1)`` (p = mantissa bits) is an integer-valued float whose low mantissa
    bits are those of q (for |q| < 2^(p-2)); reinterpreted as an integer it gives n = q mod 4
    without a float-to-int conversion.
    """
    dt = z.dtype
    f64 = dt == jnp.float64
    split = _PIO2_F64 if f64 else _PIO2_F32
    magic = 1.5 * 2.0**52 if f64 else 1.5 * 2.0**23
    q = jnp.round(z * jnp.asarray(2.0 / math.pi, dt))
    bits = lax.bitcast_convert_type(q + jnp.asarray(magic, dt), jnp.int64 if f64 else jnp.int32)
    r = z - q * jnp.asarray(split[0], dt)
    r = r - q * jnp.asarray(split[1], dt)
    r = r - q * jnp.asarray(split[2], dt)
    return r, r * r, bits


def _sin_cos_reduced(r: Any, r2: Any) -> tuple[Any, Any]:
    """(sin r, cos r) for |r| <= pi/4 by the Cephes minimax polynomials."""
    f64 = r.dtype == jnp.float64
    sin_c, cos_c = (_SIN_F64, _COS_F64) if f64 else (_SIN_F32, _COS_F32)
    s = r + r * r2 * _horner(sin_c, r2)
    c = 1.0 - 0.5 * r2 + r2 * r2 * _horner(cos_c, r2)
    return s, c


def _flip_sign(x: Any, mask: Any) -> Any:
    """x with its sign bit XOR-ed with ``mask`` (an integer array of 0 or the sign bit)."""
    return lax.bitcast_convert_type(lax.bitcast_convert_type(x, mask.dtype) ^ mask, x.dtype)


def _sign_mask(bits: Any) -> Any:
    """The sign bit where bit 1 of ``bits`` is set (n & 2), else 0."""
    width = 64 if bits.dtype == jnp.int64 else 32
    return (bits & 2) << (width - 2)


@jax.custom_jvp
def fast_sincos(z: Any) -> tuple[Any, Any]:
    """(sin z, cos z) from one shared range reduction; float32 or float64 after z's dtype.

    Accuracy: ~1e-7 absolute in float32 for |z| <= 1e4, ~1e-15 in float64 for |z| <= 1e6.
    (sin, cos)(r + n pi/2) = (s, c), (c, -s), (-s, -c), (-c, s) for n = 0..3. Differentiable
    (sin' = cos, cos' = -sin; the sign-bit flips have no derivative of their own).
    """
    z = jnp.asarray(z)
    r, r2, bits = _reduce(z)
    s, c = _sin_cos_reduced(r, r2)
    odd = (bits & 1) == 1
    mask = _sign_mask(bits)
    sin_z = _flip_sign(jnp.where(odd, c, s), mask)
    cos_z = _flip_sign(jnp.where(odd, -s, c), mask)
    return sin_z, cos_z


@fast_sincos.defjvp
def _fast_sincos_jvp(primals: tuple[Any], tangents: tuple[Any]) -> tuple[Any, Any]:
    (z,), (dz,) = primals, tangents
    s, c = fast_sincos(z)
    return (s, c), (c * dz, -s * dz)


@jax.custom_jvp
def sqrt2cos_pair(z: Any) -> tuple[Any, Any]:
    """(sigma(z), sigma'(z)) = (cos z - sin z, -(sin z + cos z)) from one reduction.

    With A = cos r - sin r and B = -(cos r + sin r) at the reduced r, the quadrant n rotates
    (A, B) -> (B, -A) per quarter turn (module docstring). Differentiable: sigma'' = -sigma.
    """
    z = jnp.asarray(z)
    r, r2, bits = _reduce(z)
    s, c = _sin_cos_reduced(r, r2)
    a = c - s
    b = -(c + s)
    odd = (bits & 1) == 1
    mask = _sign_mask(bits)
    return _flip_sign(jnp.where(odd, b, a), mask), _flip_sign(jnp.where(odd, -a, b), mask)


@sqrt2cos_pair.defjvp
def _sqrt2cos_pair_jvp(primals: tuple[Any], tangents: tuple[Any]) -> tuple[Any, Any]:
    (z,), (dz,) = primals, tangents
    s, ds = sqrt2cos_pair(z)
    return (s, ds), (ds * dz, -s * dz)  # sigma'' = -sigma (spec 1)


def complex_pair(pair: SigmaPair, z: Any) -> Any:
    """sigma(z) + i sigma'(z) as one complex array (complex64 / complex128 after z's dtype)."""
    s, ds = pair(z)
    return lax.complex(s, ds)


def shares_work(pair: SigmaPair) -> bool:
    """Whether sigma and sigma' of ``pair`` share most of their work (then compute them in one
    pass, :func:`complex_pair`); the built-in sqrt2cos does, the others cost little or call XLA
    primitives that XLA does not duplicate."""
    return pair is sqrt2cos_pair


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

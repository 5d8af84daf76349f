"""Closed-form Gaussian kernel maps F = E[sigma(u) sigma(v)] and G = E[sigma'(u) sigma'(v)].

(u, v) is a zero-mean Gaussian pair with Var u = q1, Var v = q2, Cov(u, v) = c (spec section 2);
rho = c / sqrt(q1 q2) is clipped to [-1, 1] and theta = arccos(rho). Every G below is dF/dc
(Price's theorem), and every pair (F, G) is checked against the polar quadrature rule to 1e-10
and against Monte Carlo in ``tests/widenets/test_widenets_activations.py``.

    relu       F = sqrt(q1 q2) (sin theta + (pi - theta) cos theta) / (2 pi)   (Cho & Saul 2009)
               G = (pi - theta) / (2 pi)
    abrelu     sigma = a z (z < 0), b z (z > 0); leaky relu is (alpha, 1), abs is (-1, 1):
               F = a b c + (b - a)^2 F_relu,  G = a b + (b - a)^2 G_relu          (from relu)
    erf        F = (2/pi) arcsin(2c / sqrt((1 + 2 q1)(1 + 2 q2)))                  (Williams 1997)
               G = (4/pi) / sqrt((1 + 2 q1)(1 + 2 q2) - 4 c^2)
    gelu       sigma = z Phi(z); s_i = 1 + q_i, D = sqrt(s1 s2 - c^2), A = arcsin(c / sqrt(s1 s2)):
               F = c/4 + c A / (2 pi) + (q1 q2 - c^2 + c^2/s1 + c^2/s2) / (2 pi D)
               G = 1/4 + A / (2 pi) + c (1 + kappa + 1/D^2) / (2 pi D),  kappa = (1 - q1 q2)/(s1 s2)
               (Tsuchida, Pearce, van der Heide et al. 2021; derived here by Stein's lemma with
               Phi(z) = P(a <= z), a ~ N(0, 1) independent)
    identity   F = c,  G = 1
    cos        F = exp(-(q1 + q2)/2) cosh c,  G = exp(-(q1 + q2)/2) sinh c     (characteristic fn)
    sin        F = exp(-(q1 + q2)/2) sinh c,  G = exp(-(q1 + q2)/2) cosh c
    sqrt2cos   sqrt(2) cos(z + pi/4) = cos z - sin z:  F = G = exp(c - (q1 + q2)/2)
    exp        F = G = exp((q1 + q2)/2 + c)                                      (log-normal)
    gaussian   sigma = exp(-z^2/2): F = 1/sqrt(det), G = c / det^(3/2),  det = (1 + q1)(1 + q2) - c^2
    polynomial sigma = sum_i a_i z^i (monomials included): the finite Hermite (Mehler) sum
               F = sum_k c^k / k! P_k(q1) P_k(q2),  P_k(q) = sum_m a_(k+2m) (k+2m)! q^m / (m! 2^m)
               G = dF/dc                                            (He_j expansion of z^i)
    rectified monomial sigma = relu(z)^n, n >= 1 (arc-cosine kernel of order n, Cho & Saul 2009):
               F = (q1 q2)^(n/2) J(n, n),  G = n^2 (q1 q2)^((n-1)/2) J(n-1, n-1), where
               J(a, b) = E[x_+^a y_+^b] for unit normals of correlation rho obeys (Stein's lemma)
               J(a+1, b) = a J(a-1, b) + rho b J(a, b-1), with the a = 0 or b = 0 terms replaced by
               the boundary values phi(0) (1 - rho^2)^(b/2) m_b (m_b = E[z_+^b]) and J(0,0) = G_relu.

The forms are written so that nothing is NaN at theta -> 0 or pi, at q = 0, or in float32:
rho is clipped, sin theta is sqrt((1 - rho)(1 + rho)), divisions are guarded and every
difference that could cancel (s1 s2 - c^2, q1 q2 - c^2) is formed as a sum of non-negative terms.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array
Maps = Callable[[Array, Array, Array], tuple[Array, Array]]


# -- fast inverse trigonometric functions ------------------------------------------------------
def _asin_ratio(s: np.ndarray) -> np.ndarray:
    r = np.sqrt(s)
    return np.where(s > 0, np.arcsin(r) / np.where(s > 0, r, 1.0), 1.0)


#: Power-series coefficients (in t = 4 s - 1) of the degree-20 Chebyshev interpolant of
#: g(s) = asin(sqrt s) / sqrt s on s in [0, 1/2]. The nearest singularity (s = 1) makes the
#: Chebyshev error ~ 5.8^-20; the monomial coefficients stay below 1.05, so Horner is stable
#: (max error 4e-15, tested).
_ASIN_POLY = np.polynomial.chebyshev.cheb2poly(
    # numpy's stub types the callable as scalar -> scalar, but chebinterpolate calls it once
    # with the whole array of nodes and expects an array back (as documented).
    np.polynomial.chebyshev.chebinterpolate(  # type: ignore[type-var]
        lambda t: _asin_ratio((np.asarray(t) + 1.0) / 4.0),  # type: ignore[arg-type,return-value]
        20,
    )
)


def _asin_core(s: Array) -> Array:
    """g(s) = asin(sqrt s) / sqrt s for s in [0, 1/2] by Horner's rule."""
    t = 4.0 * s - 1.0
    acc = jnp.full_like(s, _ASIN_POLY[-1])
    for coef in _ASIN_POLY[-2::-1]:
        acc = acc * t + coef
    return acc


def fast_arccos(x: Array) -> Array:
    """arccos on [-1, 1] from one polynomial and one sqrt (XLA's atan2/acos are ~20x slower).

    acos(a) = 2 asin(sqrt((1 - a)/2)) for a >= 1/2 (accurate as theta -> 0), pi/2 - asin(a) for
    |a| < 1/2, and acos(-a) = pi - acos(a). Agrees with numpy to a few ulp (tested).
    """
    x = jnp.clip(x, -1.0, 1.0)
    a = jnp.abs(x)
    big = a >= 0.5
    s = jnp.where(big, (1.0 - a) / 2.0, a * a)
    g = _asin_core(s)
    t = jnp.where(big, 2.0 * jnp.sqrt(s) * g, jnp.pi / 2.0 - a * g)
    return jnp.where(x >= 0, t, jnp.pi - t)


def fast_arcsin(x: Array) -> Array:
    """arcsin on [-1, 1] (see :func:`fast_arccos`)."""
    x = jnp.clip(x, -1.0, 1.0)
    a = jnp.abs(x)
    big = a >= 0.5
    s = jnp.where(big, (1.0 - a) / 2.0, a * a)
    g = _asin_core(s)
    t = jnp.where(big, jnp.pi / 2.0 - 2.0 * jnp.sqrt(s) * g, a * g)
    return jnp.sign(x) * t


# -- safe elementary pieces --------------------------------------------------------------------
def safe_rho(q1: Array, q2: Array, c: Array) -> tuple[Array, Array]:
    """sqrt(q1 q2) and rho = c / sqrt(q1 q2) clipped to [-1, 1] (rho = 0 where a variance is 0).

    Square roots and reciprocals are taken per variance, so when q1 is (n1, 1) and q2 (1, n2)
    the per-pair work is two multiplications. ``c * (inv1 * inv2)`` is symmetric under
    swapping (q1, q2) bit for bit (a product of two floats commutes), so a kernel matrix built
    from it is exactly symmetric.
    """
    r1 = jnp.sqrt(jnp.maximum(q1, 0.0))
    r2 = jnp.sqrt(jnp.maximum(q2, 0.0))
    inv1 = jnp.where(r1 > 0, 1.0 / jnp.where(r1 > 0, r1, 1.0), 0.0)
    inv2 = jnp.where(r2 > 0, 1.0 / jnp.where(r2 > 0, r2, 1.0), 0.0)
    rho = jnp.clip(c * (inv1 * inv2), -1.0, 1.0)
    # within 4 ulp of +-1, rho is +-1 up to rounding (theta = sqrt(2 (1 - rho)) would turn that
    # rounding into a spurious theta ~ 1e-8): snap, so duplicated inputs are exactly theta = 0
    tiny = 4.0 * jnp.finfo(rho.dtype).eps
    return r1 * r2, jnp.where(jnp.abs(rho) > 1.0 - tiny, jnp.sign(rho), rho)


def _sin_theta(rho: Array) -> Array:
    return jnp.sqrt(jnp.maximum((1.0 - rho) * (1.0 + rho), 0.0))


# -- the maps ----------------------------------------------------------------------------------
def relu_maps(q1: Array, q2: Array, c: Array) -> tuple[Array, Array]:
    """Arc-cosine kernels of order 1 (F) and 0 (G) (spec 2; Cho & Saul 2009)."""
    s, rho = safe_rho(q1, q2, c)
    theta = fast_arccos(rho)  # accurate near 0 and pi
    f = s * (_sin_theta(rho) + (jnp.pi - theta) * rho) / (2.0 * jnp.pi)
    g = (jnp.pi - theta) / (2.0 * jnp.pi)
    return f, g


def abrelu_maps(a: float, b: float, q1: Array, q2: Array, c: Array) -> tuple[Array, Array]:
    """sigma(z) = a z (z < 0), b z (z > 0): F = a b c + (b-a)^2 F_relu, G = a b + (b-a)^2 G_relu.

    Write sigma = a z + (b - a) relu(z); E[u relu(v)] = c / 2 (module docstring).
    """
    f, g = relu_maps(q1, q2, c)
    s, rho = safe_rho(q1, q2, c)
    cc = s * rho  # c clipped to the Cauchy-Schwarz range, as F_relu sees it
    d2 = (b - a) ** 2
    return a * b * cc + d2 * f, a * b + d2 * g


def erf_maps(q1: Array, q2: Array, c: Array) -> tuple[Array, Array]:
    """Williams (1997); G from E[exp(-u^2 - v^2)] = det(I + 2 Sigma)^(-1/2) (spec 2)."""
    a = (1.0 + 2.0 * q1) * (1.0 + 2.0 * q2)
    arg = jnp.clip(2.0 * c / jnp.sqrt(a), -1.0, 1.0)
    f = (2.0 / jnp.pi) * fast_arcsin(arg)
    # det(I + 2 Sigma) = 1 + 2 (q1 + q2) + 4 (q1 q2 - c^2) >= 1: written so it never goes negative
    det = 1.0 + 2.0 * (q1 + q2) + 4.0 * jnp.maximum(q1 * q2 - c * c, 0.0)
    g = (4.0 / jnp.pi) / jnp.sqrt(det)
    return f, g


def gelu_maps(q1: Array, q2: Array, c: Array) -> tuple[Array, Array]:
    """GELU z Phi(z) (module docstring; Tsuchida et al. 2021, re-derived by Stein's lemma)."""
    s1, s2 = 1.0 + q1, 1.0 + q2
    gap = jnp.maximum(q1 * q2 - c * c, 0.0)  # q1 q2 - c^2 >= 0 (Cauchy-Schwarz)
    d2 = 1.0 + q1 + q2 + gap  # s1 s2 - c^2 >= 1: never cancels
    d = jnp.sqrt(d2)
    ang = fast_arcsin(c / jnp.sqrt(s1 * s2))
    c2 = c * c
    f = c / 4.0 + c * ang / (2.0 * jnp.pi) + (gap + c2 / s1 + c2 / s2) / (2.0 * jnp.pi * d)
    kappa = (1.0 - q1 * q2) / (s1 * s2)
    g = 0.25 + ang / (2.0 * jnp.pi) + c * (1.0 + kappa + 1.0 / d2) / (2.0 * jnp.pi * d)
    return f, g


def identity_maps(q1: Array, q2: Array, c: Array) -> tuple[Array, Array]:
    return c + 0.0 * (q1 + q2), jnp.ones_like(c + q1 + q2)


def cos_maps(q1: Array, q2: Array, c: Array) -> tuple[Array, Array]:
    """E[cos u cos v] = (E cos(u - v) + E cos(u + v)) / 2, E cos(w) = exp(-Var w / 2) (spec 2)."""
    e = jnp.exp(-(q1 + q2) / 2.0)
    return e * jnp.cosh(c), e * jnp.sinh(c)


def sin_maps(q1: Array, q2: Array, c: Array) -> tuple[Array, Array]:
    """E[sin u sin v] = (E cos(u - v) - E cos(u + v)) / 2; G is the cos map's F."""
    e = jnp.exp(-(q1 + q2) / 2.0)
    return e * jnp.sinh(c), e * jnp.cosh(c)


def sqrt2cos_maps(q1: Array, q2: Array, c: Array) -> tuple[Array, Array]:
    """(cos u - sin u)(cos v - sin v): cosh c + sinh c = exp(c); the derivative -(sin + cos) too."""
    f = jnp.exp(c - (q1 + q2) / 2.0)
    return f, f


def exp_maps(q1: Array, q2: Array, c: Array) -> tuple[Array, Array]:
    """E[exp(u + v)] = exp(Var(u + v) / 2); sigma' = sigma."""
    f = jnp.exp((q1 + q2) / 2.0 + c)
    return f, f


def gaussian_maps(q1: Array, q2: Array, c: Array) -> tuple[Array, Array]:
    """sigma = exp(-z^2/2): E[exp(-(u^2 + v^2)/2)] = det(I + Sigma)^(-1/2); G = dF/dc."""
    det = 1.0 + q1 + q2 + jnp.maximum(q1 * q2 - c * c, 0.0)  # (1 + q1)(1 + q2) - c^2 >= 1
    f = 1.0 / jnp.sqrt(det)
    return f, c * f / det


def polynomial_maps(
    coefs: tuple[float, ...], q1: Array, q2: Array, c: Array
) -> tuple[Array, Array]:
    """sigma(z) = sum_i coefs[i] z^i by the finite Hermite sum (module docstring)."""
    p1, p2 = _poly_p(coefs, q1), _poly_p(coefs, q2)
    f = jnp.zeros_like(c + q1 + q2)
    g = jnp.zeros_like(f)
    for k in range(len(coefs) - 1, -1, -1):  # Horner in c for F and dF/dc together
        g = g * c + f
        f = f * c + p1[k] * p2[k] / math.factorial(k)
    return f, g


def _poly_p(coefs: tuple[float, ...], q: Array) -> list[Array]:
    """P_k(q) = sum_m a_(k+2m) (k+2m)! q^m / (m! 2^m), k = 0..deg."""
    deg = len(coefs) - 1
    out = []
    for k in range(deg + 1):
        acc = jnp.zeros_like(q)
        for m in range((deg - k) // 2, -1, -1):
            i = k + 2 * m
            acc = acc * q + coefs[i] * math.factorial(i) / (math.factorial(m) * 2.0**m)
        out.append(acc)
    return out


def _half_moment(b: int) -> float:
    """m_b = E[z_+^b] for z ~ N(0, 1): 2^(b/2) Gamma((b+1)/2) / (2 sqrt(pi))."""
    return 2.0 ** (b / 2.0) * math.gamma((b + 1) / 2.0) / (2.0 * math.sqrt(math.pi))


def _rectified_table(n: int, rho: Array) -> dict[tuple[int, int], Array]:
    """J(a, b) = E[x_+^a y_+^b] for 0 <= a, b <= n by the recurrence of the module docstring."""
    s = _sin_theta(rho)
    theta = fast_arccos(rho)
    phi0 = 1.0 / math.sqrt(2.0 * math.pi)
    j: dict[tuple[int, int], Array] = {(0, 0): (jnp.pi - theta) / (2.0 * jnp.pi)}
    for total in range(1, 2 * n + 1):
        for a1 in range(max(1, total - n), min(n, total) + 1):  # J(a1, b) with a1 = a + 1
            a, b = a1 - 1, total - a1
            if (b, a1) in j:
                j[(a1, b)] = j[(b, a1)]
                continue
            first = a * j[(a - 1, b)] if a >= 1 else phi0 * s**b * _half_moment(b)
            second = b * j[(a, b - 1)] if b >= 1 else phi0 * s**a * _half_moment(a)
            j[(a1, b)] = first + rho * second
        if total <= n:
            j[(0, total)] = j[(total, 0)]
    return j


def rectified_monomial_maps(n: int, q1: Array, q2: Array, c: Array) -> tuple[Array, Array]:
    """sigma = relu(z)^n: arc-cosine kernels of order n and n - 1 (module docstring)."""
    s, rho = safe_rho(q1, q2, c)
    j = _rectified_table(n, rho)
    f = s**n * j[(n, n)]
    g = n * n * s ** (n - 1) * j[(n - 1, n - 1)]
    return f, g


#: Closed-form maps of the built-in activations, by name.
CLOSED_MAPS: dict[str, Maps] = {
    "relu": relu_maps,
    "erf": erf_maps,
    "gelu": gelu_maps,
    "identity": identity_maps,
    "cos": cos_maps,
    "sin": sin_maps,
    "sqrt2cos": sqrt2cos_maps,
    "exp": exp_maps,
    "gaussian": gaussian_maps,
    "abs": partial(abrelu_maps, -1.0, 1.0),
    "leaky_relu": partial(abrelu_maps, 0.01, 1.0),
}

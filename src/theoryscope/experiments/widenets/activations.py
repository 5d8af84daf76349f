"""Activations and their Gaussian kernel maps (spec ``wide-networks.md`` section 2).

For a zero-mean Gaussian pair (u, v) with Var u = q1, Var v = q2, Cov(u, v) = c, the NNGP and NTK
recursions need the two maps

    F(q1, q2, c) = E[sigma(u) sigma(v)]          (NNGP, spec 2)
    G(q1, q2, c) = E[sigma'(u) sigma'(v)]        (NTK, spec 4)

Closed forms (spec 2), with rho = c / sqrt(q1 q2) clipped to [-1, 1] and theta = arccos(rho):

    relu      F = sqrt(q1 q2) (sin theta + (pi - theta) cos theta) / (2 pi)     (Cho & Saul 2009)
              G = (pi - theta) / (2 pi)
    erf       F = (2/pi) arcsin(2c / sqrt((1 + 2 q1)(1 + 2 q2)))                (Williams 1997)
              G = (4/pi) / sqrt((1 + 2 q1)(1 + 2 q2) - 4 c^2)
    identity  F = c,  G = 1
    cos       F = exp(-(q1 + q2)/2) cosh c,  G = exp(-(q1 + q2)/2) sinh c        (characteristic fn)
    sqrt2cos  sqrt(2) cos(z + pi/4) = cos z - sin z:  F = G = exp(c - (q1 + q2)/2)

Every other activation (tanh, gelu, softplus, sin, swish or any user-supplied JAX function) goes
through two-dimensional Gaussian quadrature. The default rule is a Gauss rule in polar
coordinates: with (z1, z2) = r (cos phi, sin phi) and theta = arccos rho,

    u = sqrt(q1) r cos(phi),  v = sqrt(q2) r cos(phi - theta),
    E[f(u) g(v)] = (1/2pi) int_0^pi dphi int_0^inf e^{-t} [f(a r) g(b r) + f(-a r) g(-b r)] dt,
    r = sqrt(2 t),  a = sqrt(q1) cos phi,  b = sqrt(q2) cos(phi - theta),

Gauss-Laguerre in t and composite Gauss-Legendre in phi with panel ends at the angles where u or
v changes sign (phi = pi/2 and theta +- pi/2). Kinks at 0 (relu, leaky relu, abs) then fall on
panel ends, so the rule is exact for positively homogeneous activations and converges
exponentially for piecewise-analytic ones; plain tensor Gauss-Hermite (``rule="hermite"``,
the spec's suggestion) stalls at 1e-2 for relu and 1e-5 for erf at 64^2 nodes. Node counts:
:data:`DEFAULT_ANGULAR` per panel and :data:`DEFAULT_RADIAL`, chosen so the closed forms are
reproduced to 1e-10 for variances up to 2 (tests/widenets/test_activations.py).

``sin`` has a closed form too (F = exp(-(q1+q2)/2) sinh c) but is left on the quadrature path as
the issue asks; the tests use that formula to check the quadrature.

The forms are written so that nothing is NaN at theta -> 0 or pi, at q = 0, or in float32:
rho is clipped, sin theta is sqrt((1 - rho)(1 + rho)), and divisions are guarded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import overload

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.errors import ConfigError

Array = jax.Array

#: Gauss-Hermite nodes per dimension for ``rule="hermite"``.
DEFAULT_NODES = 64
#: Polar rule: Gauss-Legendre nodes per angular panel (3 panels) and Gauss-Laguerre radial nodes.
DEFAULT_ANGULAR = 32
DEFAULT_RADIAL = 64


def _relu(z: Array) -> Array:
    return jnp.maximum(z, 0.0)


def _erf(z: Array) -> Array:
    return jax.scipy.special.erf(z)


def _identity(z: Array) -> Array:
    return z


def _sqrt2cos(z: Array) -> Array:
    return jnp.cos(z) - jnp.sin(z)


def _gelu(z: Array) -> Array:
    return jax.nn.gelu(z, approximate=False)


def _swish(z: Array) -> Array:
    return z * jax.nn.sigmoid(z)


#: Built-in activations by name.
FUNCTIONS: dict[str, Callable[[Array], Array]] = {
    "relu": _relu,
    "erf": _erf,
    "identity": _identity,
    "sqrt2cos": _sqrt2cos,
    "cos": jnp.cos,
    "tanh": jnp.tanh,
    "gelu": _gelu,
    "softplus": jax.nn.softplus,
    "sin": jnp.sin,
    "swish": _swish,
}
#: Activations with an exact closed-form kernel map.
CLOSED_FORM = ("relu", "erf", "identity", "sqrt2cos", "cos")
ACTIVATIONS = tuple(FUNCTIONS)


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
def _safe_rho(q1: Array, q2: Array, c: Array) -> tuple[Array, Array]:
    """sqrt(q1 q2) and rho = c / sqrt(q1 q2) clipped to [-1, 1] (rho = 0 where a variance is 0).

    Square roots and reciprocals are taken per variance, so when q1 is (n1, 1) and q2 (1, n2)
    the per-pair work is two multiplications (the kernel benchmark's hot loop).
    """
    r1 = jnp.sqrt(jnp.maximum(q1, 0.0))
    r2 = jnp.sqrt(jnp.maximum(q2, 0.0))
    inv1 = jnp.where(r1 > 0, 1.0 / jnp.where(r1 > 0, r1, 1.0), 0.0)
    inv2 = jnp.where(r2 > 0, 1.0 / jnp.where(r2 > 0, r2, 1.0), 0.0)
    rho = jnp.clip(c * inv1 * inv2, -1.0, 1.0)
    # within 4 ulp of +-1, rho is +-1 up to rounding (theta = sqrt(2 (1 - rho)) would turn that
    # rounding into a spurious theta ~ 1e-8): snap, so duplicated inputs are exactly theta = 0
    tiny = 4.0 * jnp.finfo(rho.dtype).eps
    return r1 * r2, jnp.where(jnp.abs(rho) > 1.0 - tiny, jnp.sign(rho), rho)


def _relu_maps(q1: Array, q2: Array, c: Array) -> tuple[Array, Array]:
    # arc-cosine kernel of order 1 and order 0 (spec 2; Cho & Saul 2009)
    s, rho = _safe_rho(q1, q2, c)
    sin_t = jnp.sqrt(jnp.maximum((1.0 - rho) * (1.0 + rho), 0.0))
    theta = fast_arccos(rho)  # accurate near 0 and pi
    f = s * (sin_t + (jnp.pi - theta) * rho) / (2.0 * jnp.pi)
    g = (jnp.pi - theta) / (2.0 * jnp.pi)
    return f, g


def _erf_maps(q1: Array, q2: Array, c: Array) -> tuple[Array, Array]:
    # Williams (1997); G from E[exp(-u^2 - v^2)] = det(I + 2 Sigma)^(-1/2) (spec 2)
    a = (1.0 + 2.0 * q1) * (1.0 + 2.0 * q2)
    arg = jnp.clip(2.0 * c / jnp.sqrt(a), -1.0, 1.0)
    f = (2.0 / jnp.pi) * fast_arcsin(arg)
    # det(I + 2 Sigma) = 1 + 2 (q1 + q2) + 4 (q1 q2 - c^2) >= 1: written so it never goes negative
    det = 1.0 + 2.0 * (q1 + q2) + 4.0 * jnp.maximum(q1 * q2 - c * c, 0.0)
    g = (4.0 / jnp.pi) / jnp.sqrt(det)
    return f, g


def _identity_maps(q1: Array, q2: Array, c: Array) -> tuple[Array, Array]:
    return c + 0.0 * (q1 + q2), jnp.ones_like(c + q1 + q2)


def _cos_maps(q1: Array, q2: Array, c: Array) -> tuple[Array, Array]:
    # E[cos u cos v] = (E cos(u - v) + E cos(u + v)) / 2, E cos(w) = exp(-Var w / 2) (spec 2)
    e = jnp.exp(-(q1 + q2) / 2.0)
    return e * jnp.cosh(c), e * jnp.sinh(c)


def _sqrt2cos_maps(q1: Array, q2: Array, c: Array) -> tuple[Array, Array]:
    # (cos u - sin u)(cos v - sin v): cosh c + sinh c = exp(c); derivative -(sin + cos): same
    f = jnp.exp(c - (q1 + q2) / 2.0)
    return f, f


_CLOSED_MAPS: dict[str, Callable[[Array, Array, Array], tuple[Array, Array]]] = {
    "relu": _relu_maps,
    "erf": _erf_maps,
    "identity": _identity_maps,
    "cos": _cos_maps,
    "sqrt2cos": _sqrt2cos_maps,
}


# -- the activation object ---------------------------------------------------------------------
@dataclass(frozen=True)
class Activation:
    """An elementwise nonlinearity with its derivatives and (if known) its closed-form maps."""

    name: str
    fn: Callable[[Array], Array]

    @property
    def closed_form(self) -> bool:
        return self.name in _CLOSED_MAPS

    @property
    def d1(self) -> Callable[[Array], Array]:
        """sigma' (elementwise, by autodiff)."""
        return _derivative(self.fn, 1)

    @property
    def d2(self) -> Callable[[Array], Array]:
        """sigma'' (elementwise, by autodiff)."""
        return _derivative(self.fn, 2)

    def maps(
        self,
        q1: Array,
        q2: Array,
        c: Array,
        *,
        method: str = "auto",
        rule: str = "polar",
        nodes: int | None = None,
    ) -> tuple[Array, Array]:
        """(F, G) = (E[sigma(u) sigma(v)], E[sigma'(u) sigma'(v)]) for arrays of pairs (spec 2, 4).

        ``method``: ``auto`` (closed form when known), ``closed`` or ``quadrature``.
        ``rule``: ``polar`` (default) or ``hermite``; ``nodes`` overrides the node count
        (angular nodes per panel for polar, with twice as many radial nodes).
        """
        if method == "closed" or (method == "auto" and self.closed_form):
            if not self.closed_form:
                raise ConfigError(
                    "method", f"no closed form for {self.name!r}; allowed: quadrature"
                )
            return _CLOSED_MAPS[self.name](q1, q2, c)
        return quad_maps(self.fn, self.d1, q1, q2, c, rule=rule, nodes=nodes)


def _derivative(fn: Callable[[Array], Array], order: int) -> Callable[[Array], Array]:
    g = fn
    for _ in range(order):
        g = jax.grad(g)

    def elementwise(z: Array) -> Array:
        z = jnp.asarray(z)
        flat = z.reshape(-1)
        return jax.vmap(g)(flat).reshape(z.shape)

    return elementwise


def get_activation(activation: str | Callable[[Array], Array] | Activation) -> Activation:
    """Look up a built-in name or wrap a user-supplied JAX function (Python API only)."""
    if isinstance(activation, Activation):
        return activation
    if callable(activation):
        return Activation(f"custom:{getattr(activation, '__name__', 'fn')}", activation)
    if not isinstance(activation, str) or activation not in FUNCTIONS:
        raise ConfigError(
            "activation", f"unknown {activation!r}; allowed: {', '.join(ACTIVATIONS)}"
        )
    return Activation(activation, FUNCTIONS[activation])


# -- quadrature --------------------------------------------------------------------------------
@overload
def quad_maps(
    f: Callable[[Array], Array],
    df: Callable[[Array], Array],
    q1: Array,
    q2: Array,
    c: Array,
    *,
    rule: str = ...,
    nodes: int | None = ...,
) -> tuple[Array, Array]: ...
@overload
def quad_maps(
    f: Callable[[Array], Array],
    df: Callable[[Array], Array] | None,
    q1: Array,
    q2: Array,
    c: Array,
    *,
    rule: str = ...,
    nodes: int | None = ...,
) -> tuple[Array, Array | None]: ...
def quad_maps(
    f: Callable[[Array], Array],
    df: Callable[[Array], Array] | None,
    q1: Array,
    q2: Array,
    c: Array,
    *,
    rule: str = "polar",
    nodes: int | None = None,
) -> tuple[Array, Array | None]:
    """(E[f(u) f(v)], E[df(u) df(v)]) by the chosen two-dimensional rule."""
    if rule == "polar":
        ang = DEFAULT_ANGULAR if nodes is None else int(nodes)
        rad = DEFAULT_RADIAL if nodes is None else 2 * int(nodes)
        return polar_maps(f, df, q1, q2, c, angular=ang, radial=rad)
    if rule == "hermite":
        return gauss_maps(f, df, q1, q2, c, nodes=DEFAULT_NODES if nodes is None else int(nodes))
    raise ConfigError("rule", f"got {rule!r}; allowed: polar, hermite")


@lru_cache(maxsize=32)
def _polar_rule(angular: int, radial: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x, wx = np.polynomial.legendre.leggauss(int(angular))
    t, wt = np.polynomial.laguerre.laggauss(int(radial))
    return x, wx, np.sqrt(2.0 * t), wt


def polar_maps(
    f: Callable[[Array], Array],
    df: Callable[[Array], Array] | None,
    q1: Array,
    q2: Array,
    c: Array,
    *,
    angular: int = DEFAULT_ANGULAR,
    radial: int = DEFAULT_RADIAL,
) -> tuple[Array, Array | None]:
    """Polar Gauss rule for (E[f(u) f(v)], E[df(u) df(v)]) (see the module docstring)."""
    x_np, wx_np, r_np, wt_np = _polar_rule(angular, radial)
    dtype = jnp.result_type(q1, q2, c, float)
    q1, q2, c = jnp.broadcast_arrays(
        jnp.asarray(q1, dtype), jnp.asarray(q2, dtype), jnp.asarray(c, dtype)
    )
    x, wx = jnp.asarray(x_np, dtype), jnp.asarray(wx_np, dtype)
    r, wt = jnp.asarray(r_np, dtype), jnp.asarray(wt_np, dtype)
    _, rho = _safe_rho(q1, q2, c)
    theta = jnp.arctan2(jnp.sqrt(jnp.maximum((1.0 - rho) * (1.0 + rho), 0.0)), rho)
    half = jnp.pi / 2.0
    beta = jnp.where(theta < half, theta + half, theta - half)  # theta + pi/2 mod pi
    b1, b2 = jnp.minimum(half, beta), jnp.maximum(half, beta)
    zero = jnp.zeros_like(theta)
    lo = jnp.stack([zero, b1, b2], axis=-1)  # (..., 3) panel starts
    hi = jnp.stack([b1, b2, zero + jnp.pi], axis=-1)
    mid, halfw = (lo + hi) / 2.0, (hi - lo) / 2.0
    phi = (mid[..., None] + halfw[..., None] * x).reshape(*theta.shape, -1)  # (..., 3m)
    wphi = (halfw[..., None] * wx).reshape(*theta.shape, -1)
    a = (jnp.sqrt(jnp.maximum(q1, 0.0))[..., None] * jnp.cos(phi))[..., None] * r  # (..., 3m, nr)
    b = (jnp.sqrt(jnp.maximum(q2, 0.0))[..., None] * jnp.cos(phi - theta[..., None]))[..., None] * r

    def expect(g: Callable[[Array], Array]) -> Array:
        vals = g(a) * g(b) + g(-a) * g(-b)
        return jnp.einsum("...pr,...p,r->...", vals, wphi, wt) / (2.0 * jnp.pi)

    return expect(f), (None if df is None else expect(df))


# -- Gauss-Hermite quadrature ------------------------------------------------------------------
@lru_cache(maxsize=32)
def hermite_rule(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the probabilists' Gauss-Hermite rule, weights summing to 1.

    sum_a w_a g(x_a) = E[g(z)], z ~ N(0, 1), exactly for polynomials of degree < 2 * nodes.
    """
    x, w = np.polynomial.hermite_e.hermegauss(int(nodes))
    return x, w / math.sqrt(2.0 * math.pi)


def gauss_maps(
    f: Callable[[Array], Array],
    df: Callable[[Array], Array] | None,
    q1: Array,
    q2: Array,
    c: Array,
    *,
    nodes: int = DEFAULT_NODES,
) -> tuple[Array, Array | None]:
    """(E[f(u) f(v)], E[df(u) df(v)]) by a nodes x nodes Gauss-Hermite rule (spec 2).

    Uses u = sqrt(q1) z1, v = sqrt(q2)(rho z1 + sqrt(1 - rho^2) z2); broadcasts over pairs.
    """
    x_np, w_np = hermite_rule(nodes)
    dtype = jnp.result_type(q1, q2, c, float)
    x = jnp.asarray(x_np, dtype)
    w = jnp.asarray(w_np, dtype)
    q1, q2, c = jnp.broadcast_arrays(
        jnp.asarray(q1, dtype), jnp.asarray(q2, dtype), jnp.asarray(c, dtype)
    )
    s, rho = _safe_rho(q1, q2, c)
    r1 = jnp.sqrt(jnp.maximum(q1, 0.0))[..., None]
    r2 = jnp.sqrt(jnp.maximum(q2, 0.0))[..., None, None]
    perp = jnp.sqrt(jnp.maximum((1.0 - rho) * (1.0 + rho), 0.0))[..., None, None]
    u = r1 * x  # (..., a)
    v = r2 * (rho[..., None, None] * x[:, None] + perp * x[None, :])  # (..., a, b)

    def expect(g: Callable[[Array], Array]) -> Array:
        inner = jnp.einsum("...ab,b->...a", g(v), w)
        return jnp.einsum("...a,...a,a->...", g(u), inner, w)

    return expect(f), (None if df is None else expect(df))


def gauss_expect_1d(g: Callable[[Array], Array], q: Array, *, nodes: int = 256) -> Array:
    """E[g(z)], z ~ N(0, q), by a one-dimensional Gauss-Hermite rule (used by criticality)."""
    x_np, w_np = hermite_rule(nodes)
    q = jnp.asarray(q)
    dtype = jnp.result_type(q, float)
    x = jnp.asarray(x_np, dtype)
    w = jnp.asarray(w_np, dtype)
    z = jnp.sqrt(jnp.maximum(q, 0.0))[..., None] * x
    return jnp.sum(g(z) * w, axis=-1)

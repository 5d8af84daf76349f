"""Gaussian quadrature for the kernel maps of activations without a closed form (spec section 2).

For a zero-mean Gaussian pair (u, v) with Var u = q1, Var v = q2, Cov(u, v) = c, the maps are
F = E[f(u) f(v)] (with f = sigma) and G = E[f(u) f(v)] with f = sigma'.

**Polar rule** (the default). With (z1, z2) = r (cos phi, sin phi) and theta = arccos rho,

    u = sqrt(q1) r cos(phi),  v = sqrt(q2) r cos(phi - theta),
    E[f(u) f(v)] = (1/2pi) int_{pi/2}^{3pi/2} dphi int_0^inf r e^{-r^2/2} [f(a r) f(b r) + f(-a r) f(-b r)] dr,
    a = sqrt(q1) cos phi,  b = sqrt(q2) cos(phi - theta).

The angle runs over two panels whose ends are the lines u = 0 (phi = pi/2, 3pi/2) and v = 0
(phi = theta + pi/2), so kinks of f at 0 fall on panel ends: the rule is exact for positively
homogeneous activations and converges exponentially for piecewise-analytic ones. A sigmoid-like
f(sqrt(q) x) changes over |x| ~ 1/sqrt(q): near r = 0 and, at radius r, within an angle
~ 1/(sqrt(q) r) of those lines. The rule adapts to that scale, per pair, with qmax = max(q1, q2):

* radial: composite Gauss-Legendre on [0, r0], [r0, r0 g], ..., [.., RMAX] with
  r0 = min(1, 1/sqrt(qmax)) and g = (RMAX / r0)^(1/(P-1)) (RMAX = 9.5: e^{-RMAX^2/2} = 2e-20);
* angular: each half of each panel is cut into S sub-panels graded geometrically toward the
  panel end, the smallest of width min(h / 2^(S-1), 1 / (sqrt(qmax) RMAX)) (h the half-width).

The counts (S, nodes per angular sub-panel, P) are static, chosen by :func:`polar_rule` from
an upper bound on all the variances of a run: (1, 24, 5) up to q = 4 (5,760 points per pair),
(1, 32, 6) up to 32, then S = 1 + ceil(ln(pi/2 sqrt(q) RMAX) / ln 5), 16 nodes,
P = 1 + ceil(ln(RMAX sqrt(q)) / ln 2.3), so that the grading ratios stay below 5 (angle) and
2.3 (radius). Against nested adaptive quadrature (scipy) this reproduces F and G of tanh, gelu,
softplus and swish to ~1e-12 relative for variances from 0.01 to 1e5
(``tests/widenets/test_widenets_quadrature.py``). The previous fixed rule (Gauss-Laguerre in
r^2/2 with 64 nodes) lost accuracy above q ~ 2: 1e-6 on tanh's G at q = 4, 1e-3 at q = 100.

**Line rule** (one dimension): E[g(sqrt(q) z)], z ~ N(0, 1), by composite Gauss-Legendre on
[0, 12] (the integrand symmetrized in z) with panels graded geometrically toward 0 down to
1/(2 sqrt(qmax)), then of width 1/2: it also integrates Hermite polynomials up to degree ~150
against f, which :mod:`.mehler` needs. Used for diagonals K(x, x), pairs with rho = +-1, and
Hermite coefficients.

**Gauss-Hermite** (``rule="hermite"``, the spec's suggestion) is kept for comparison: the
tensor rule stalls at 1e-2 for relu and 1e-5 for erf at 64^2 nodes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.errors import ConfigError
from theoryscope.experiments.widenets.closed_forms import safe_rho

Array = jax.Array
Fn = Callable[[Array], Array]

#: Radius beyond which the Gaussian weight is dropped: exp(-RMAX^2/2) = 2e-20.
RMAX = 9.5
#: Upper end of the line rule (Hermite functions of degree <= ~150 are negligible beyond).
ZMAX = 12.0
#: Gauss-Hermite nodes per dimension for ``rule="hermite"``.
DEFAULT_NODES = 64
#: Variance bound assumed inside a caller's own ``jit`` when no ``qmax`` is given.
TRACED_QMAX = 32.0


@dataclass(frozen=True)
class PolarRule:
    """Static node counts of the polar rule (module docstring)."""

    levels: int  # S: angular sub-panels per half-panel
    angular: int  # Gauss-Legendre nodes per angular sub-panel
    panels: int  # P: radial panels
    radial: int  # Gauss-Legendre nodes per radial panel

    @property
    def points(self) -> int:
        return 4 * self.levels * self.angular * self.panels * self.radial


def polar_rule(qmax: float, nodes: int | None = None) -> PolarRule:
    """The polar rule for variances up to ``qmax`` (``nodes`` overrides the angular count).

    qmax is capped at 1e12 (beyond, a run has diverged; the rule is tested to 1e5).
    """
    q = min(float(qmax), 1e12) if math.isfinite(float(qmax)) else 1e12
    if q <= 4.0:
        levels, angular, panels = 1, 24, 5
    elif q <= 32.0:
        levels, angular, panels = 1, 32, 6
    else:
        sq = math.sqrt(q)
        levels = 1 + math.ceil(math.log(math.pi / 2.0 * sq * RMAX) / math.log(5.0))
        panels = 1 + math.ceil(math.log(RMAX * sq) / math.log(2.3))
        angular = 16
    if nodes is not None:
        angular = int(nodes)
        if angular < 2:
            raise ConfigError("nodes", f"got {angular}; allowed: an integer >= 2")
    return PolarRule(levels, angular, panels, 12)


def bound_of(*arrays: object) -> float | None:
    """max over the arrays if they are concrete values, None inside a trace."""
    vals = []
    for a in arrays:
        if isinstance(a, jax.core.Tracer):
            return None
        vals.append(float(np.max(np.asarray(a), initial=0.0)))
    return max(vals, default=0.0)


@lru_cache(maxsize=64)
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(int(n))


def _graded_edges(lo: Array, hi: Array, levels: int, dmin: Array) -> Array:
    """Edges of [lo, hi] cut into 2 * levels sub-panels graded toward both ends: (..., 2S+1)."""
    h = (hi - lo) / 2.0
    if levels == 1:
        return jnp.stack([lo, lo + h, hi], axis=-1)
    tiny = jnp.finfo(h.dtype).tiny  # an empty panel (theta = 0) gets zero-width sub-panels
    d_in = jnp.maximum(jnp.minimum(h / 2.0 ** (levels - 1), dmin), tiny)
    ratio = (jnp.maximum(h, tiny) / d_in) ** (1.0 / (levels - 1))
    d = d_in[..., None] * ratio[..., None] ** jnp.arange(levels, dtype=h.dtype)  # ascending to h
    d = d.at[..., -1].set(h)  # exactly the midpoint
    left = lo[..., None] + d
    right = hi[..., None] - d[..., ::-1]
    return jnp.concatenate([lo[..., None], left, right[..., 1:], hi[..., None]], axis=-1)


def _radial_nodes(qmax: Array, rule: PolarRule) -> tuple[Array, Array]:
    """Radii (..., P*n) and weights including r exp(-r^2/2) (module docstring)."""
    x_np, w_np = _legendre(rule.radial)
    dtype = qmax.dtype
    x, w = jnp.asarray(x_np, dtype), jnp.asarray(w_np, dtype)
    r0 = jnp.minimum(1.0, jax.lax.rsqrt(jnp.maximum(qmax, 1e-30)))  # 1e-30: normal in float32
    g = (RMAX / r0) ** (1.0 / (rule.panels - 1))
    k = jnp.arange(rule.panels - 1, dtype=dtype)
    tops = r0[..., None] * g[..., None] ** k
    edges = jnp.concatenate(
        [jnp.zeros_like(r0)[..., None], tops, jnp.full_like(r0, RMAX)[..., None]], -1
    )
    lo, hi = edges[..., :-1], edges[..., 1:]
    mid, half = (lo + hi) / 2.0, (hi - lo) / 2.0
    r = mid[..., None] + half[..., None] * x
    wr = half[..., None] * w * r * jnp.exp(-r * r / 2.0)
    shape = (*r.shape[:-2], -1)
    return r.reshape(shape), wr.reshape(shape)


def polar_maps(
    f: Fn,
    df: Fn | None,
    q1: Array,
    q2: Array,
    c: Array,
    *,
    qmax: float | None = None,
    nodes: int | None = None,
) -> tuple[Array, Array | None]:
    """(E[f(u) f(v)], E[df(u) df(v)]) by the adaptive polar rule; broadcasts over pairs.

    ``qmax`` bounds all variances (it fixes the node counts); by default it is read off the
    arrays, or :data:`TRACED_QMAX` inside a trace.
    """
    if qmax is None:
        qmax = bound_of(q1, q2)
    rule = polar_rule(TRACED_QMAX if qmax is None else qmax, nodes)
    dtype = jnp.result_type(q1, q2, c, float)
    q1, q2, c = jnp.broadcast_arrays(
        jnp.asarray(q1, dtype), jnp.asarray(q2, dtype), jnp.asarray(c, dtype)
    )
    _, rho = safe_rho(q1, q2, c)
    theta = jnp.arctan2(jnp.sqrt(jnp.maximum((1.0 - rho) * (1.0 + rho), 0.0)), rho)
    qm = jnp.maximum(jnp.maximum(q1, q2), 0.0)
    r, wr = _radial_nodes(qm, rule)  # (..., nr)
    half = jnp.asarray(jnp.pi / 2.0, dtype)
    dmin = 1.0 / (jnp.sqrt(jnp.maximum(qm, 1e-30)) * RMAX)
    lo = jnp.zeros_like(theta) + half
    e1 = _graded_edges(lo, half + theta, rule.levels, dmin)
    e2 = _graded_edges(half + theta, lo + jnp.pi, rule.levels, dmin)
    edges = jnp.concatenate([e1, e2[..., 1:]], axis=-1)
    xa_np, wa_np = _legendre(rule.angular)
    xa, wa = jnp.asarray(xa_np, dtype), jnp.asarray(wa_np, dtype)
    mid = (edges[..., 1:] + edges[..., :-1]) / 2.0
    hw = (edges[..., 1:] - edges[..., :-1]) / 2.0
    phi = (mid[..., None] + hw[..., None] * xa).reshape(*theta.shape, -1)  # (..., na)
    wphi = (hw[..., None] * wa).reshape(*theta.shape, -1)
    a = (jnp.sqrt(jnp.maximum(q1, 0.0))[..., None] * jnp.cos(phi))[..., None] * r[..., None, :]
    b = (jnp.sqrt(jnp.maximum(q2, 0.0))[..., None] * jnp.cos(phi - theta[..., None]))[
        ..., None
    ] * r[..., None, :]

    def expect(g: Fn) -> Array:
        vals = g(a) * g(b) + g(-a) * g(-b)
        return jnp.einsum("...pr,...p,...r->...", vals, wphi, wr) / (2.0 * jnp.pi)

    return expect(f), (None if df is None else expect(df))


# -- the line rule -----------------------------------------------------------------------------
def line_levels(qmax: float) -> int:
    """Geometric panels below z = 1 needed for variances up to qmax (smallest 1/(2 sqrt(qmax)))."""
    q = min(float(qmax), 1e12) if math.isfinite(float(qmax)) else 1e12
    return max(1, 1 + math.ceil(math.log2(max(math.sqrt(max(q, 0.0)), 1.0))))


@lru_cache(maxsize=64)
def line_rule(levels: int, nodes: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z > 0 and weights w (phi(z) included) with sum w [g(z) + g(-z)] = E[g(z)]."""
    x, w = _legendre(nodes)
    edges = [0.0] + [2.0 ** (-j) for j in range(levels, -1, -1)]  # ..., 1/4, 1/2, 1
    edges += list(np.arange(1.5, ZMAX + 0.25, 0.5))
    zs, ws = [], []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        zs.append((lo + hi) / 2.0 + (hi - lo) / 2.0 * x)
        ws.append((hi - lo) / 2.0 * w)
    z = np.concatenate(zs)
    wt = np.concatenate(ws) * np.exp(-z * z / 2.0) / math.sqrt(2.0 * math.pi)
    return z, wt


def line_expect(g: Fn, q: Array, *, qmax: float | None = None) -> Array:
    """E[g(sqrt(q) z)], z ~ N(0, 1), for an array of variances q, by the line rule."""
    if qmax is None:
        qmax = bound_of(q)
    z_np, w_np = line_rule(line_levels(TRACED_QMAX if qmax is None else qmax))
    q = jnp.asarray(q)
    dtype = jnp.result_type(q, float)
    z, w = jnp.asarray(z_np, dtype), jnp.asarray(w_np, dtype)
    x = jnp.sqrt(jnp.maximum(q, 0.0))[..., None] * z
    return jnp.sum((g(x) + g(-x)) * w, axis=-1)


def line_maps(
    f: Fn,
    df: Fn | None,
    q1: Array,
    q2: Array,
    sign: Array,
    *,
    qmax: float | None = None,
) -> tuple[Array, Array | None]:
    """The maps at rho = sign = +-1, where v = sign sqrt(q2/q1) u: one-dimensional integrals."""
    if qmax is None:
        qmax = bound_of(q1, q2)
    z_np, w_np = line_rule(line_levels(TRACED_QMAX if qmax is None else qmax))
    dtype = jnp.result_type(q1, q2, float)
    q1, q2, sign = jnp.broadcast_arrays(
        jnp.asarray(q1, dtype), jnp.asarray(q2, dtype), jnp.asarray(sign, dtype)
    )
    z, w = jnp.asarray(z_np, dtype), jnp.asarray(w_np, dtype)
    a = jnp.sqrt(jnp.maximum(q1, 0.0))[..., None] * z
    b = (sign * jnp.sqrt(jnp.maximum(q2, 0.0)))[..., None] * z

    def expect(g: Fn) -> Array:
        return jnp.sum((g(a) * g(b) + g(-a) * g(-b)) * w, axis=-1)

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
    f: Fn,
    df: Fn | None,
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
    _, rho = safe_rho(q1, q2, c)
    r1 = jnp.sqrt(jnp.maximum(q1, 0.0))[..., None]
    r2 = jnp.sqrt(jnp.maximum(q2, 0.0))[..., None, None]
    perp = jnp.sqrt(jnp.maximum((1.0 - rho) * (1.0 + rho), 0.0))[..., None, None]
    u = r1 * x  # (..., a)
    v = r2 * (rho[..., None, None] * x[:, None] + perp * x[None, :])  # (..., a, b)

    def expect(g: Fn) -> Array:
        inner = jnp.einsum("...ab,b->...a", g(v), w)
        return jnp.einsum("...a,...a,a->...", g(u), inner, w)

    return expect(f), (None if df is None else expect(df))


def gauss_expect_1d(g: Fn, q: Array, *, nodes: int = 256) -> Array:
    """E[g(z)], z ~ N(0, q), by a one-dimensional Gauss-Hermite rule (used by criticality)."""
    x_np, w_np = hermite_rule(nodes)
    q = jnp.asarray(q)
    dtype = jnp.result_type(q, float)
    x = jnp.asarray(x_np, dtype)
    w = jnp.asarray(w_np, dtype)
    z = jnp.sqrt(jnp.maximum(q, 0.0))[..., None] * x
    return jnp.sum(g(z) * w, axis=-1)


def quad_maps(
    f: Fn,
    df: Fn | None,
    q1: Array,
    q2: Array,
    c: Array,
    *,
    rule: str = "polar",
    nodes: int | None = None,
    qmax: float | None = None,
) -> tuple[Array, Array | None]:
    """(E[f(u) f(v)], E[df(u) df(v)]) by the chosen two-dimensional rule."""
    if rule == "polar":
        return polar_maps(f, df, q1, q2, c, qmax=qmax, nodes=nodes)
    if rule == "hermite":
        return gauss_maps(f, df, q1, q2, c, nodes=DEFAULT_NODES if nodes is None else int(nodes))
    raise ConfigError("rule", f"got {rule!r}; allowed: polar, hermite")

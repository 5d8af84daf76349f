"""Criticality: fixed points, susceptibilities and the order/chaos phase diagram (spec 3).

On the diagonal the NNGP recursion is the one-dimensional map

    K -> C_b + C_w E_K[sigma(z)^2],          z ~ N(0, K),

with fixed points K* = C_b + C_w E_{K*}[sigma^2] and susceptibilities (spec 3)

    chi_par(K*)  = C_w E_{K*}[sigma'(z)^2 + sigma(z) sigma''(z)]
    chi_perp(K*) = C_w E_{K*}[sigma'(z)^2].

Criticality is chi_par = chi_perp = 1. Parametrize by K: chi_perp = 1 fixes
C_w(K) = 1 / E_K[sigma'^2], the fixed-point equation fixes C_b(K) = K - C_w(K) E_K[sigma^2], and
chi_par = 1 then reads h(K) = E_K[sigma sigma''] = 0. The solver looks for roots of h with
C_b(K) >= 0:

* h = 0 for every K (relu, identity): any K* >= 0 is critical (relu: C_w = 2, C_b = 0);
* K* = 0 (needs sigma(0) = 0) is accepted when it attracts the diagonal map from above (tanh,
  erf, sin: K_l ~ 1/(2l) for tanh); GELU/swish have h(0) = 0 too, but K* = 0 repels there
  (K -> K + 3 sigma''(0)^2 K^2 + ...), so their nonzero root is returned;
* otherwise (softplus, cos, sqrt2cos) there is no exact critical point, and the result carries
  the chi_perp = 1 curve (C_b(K), C_w(K)) and its point with chi_par closest to 1.

Expectations use a one-dimensional Gauss-Hermite rule with an even node count (exact for
E[1{z>0}] and E[relu(z)^2]); sigma' and sigma'' come from autodiff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import brentq

from theoryscope.core.validation import as_float, as_int
from theoryscope.experiments.widenets.activations import Activation, gauss_expect_1d, get_activation

NODES_1D = 240
K_GRID = np.concatenate([[0.0], np.logspace(-4, 2, 601)])


@dataclass(frozen=True)
class Critical:
    """The critical initialization of one activation (spec 3)."""

    activation: str
    cb: float
    cw: float
    k_star: float
    chi_par: float
    chi_perp: float
    exact: bool
    k_star_free: bool = False
    curve: dict[str, list[float]] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "activation": self.activation,
            "cb": self.cb,
            "cw": self.cw,
            "k_star": self.k_star,
            "chi_par": self.chi_par,
            "chi_perp": self.chi_perp,
            "exact": self.exact,
            "k_star_free": self.k_star_free,
        }
        if self.curve is not None:
            out["curve"] = self.curve
        return out


@partial(jax.jit, static_argnames=("act",))
def _moments_jit(act: Activation, k: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    f, d1, d2 = act.fn, act.d1, act.d2
    return (
        gauss_expect_1d(lambda z: f(z) ** 2, k, nodes=NODES_1D),
        gauss_expect_1d(lambda z: d1(z) ** 2, k, nodes=NODES_1D),
        gauss_expect_1d(lambda z: f(z) * d2(z), k, nodes=NODES_1D),
    )


def _moments(act: Activation, k: Any) -> dict[str, np.ndarray]:
    """E_K[sigma^2], E_K[sigma'^2], E_K[sigma sigma''] for an array of K (float64)."""
    with jax.enable_x64(True):
        s2, d1sq, ssdd = _moments_jit(act, jnp.asarray(k, jnp.float64))
        return {"s2": np.asarray(s2), "d1sq": np.asarray(d1sq), "ssdd": np.asarray(ssdd)}


def susceptibilities(activation: Any, k_star: float, cw: float) -> tuple[float, float]:
    """(chi_par, chi_perp) at K* for weight variance C_w (spec 3)."""
    m = _moments(get_activation(activation), [k_star])
    chi_perp = float(cw * m["d1sq"][0])
    return float(cw * (m["d1sq"][0] + m["ssdd"][0])), chi_perp


def variance_map(activation: Any, k: Any, cw: float, cb: float) -> np.ndarray:
    """K -> C_b + C_w E_K[sigma^2] (spec 3)."""
    return cb + cw * _moments(get_activation(activation), np.atleast_1d(k))["s2"]


def fixed_point(
    activation: Any, cw: float, cb: float, *, k0: float = 1.0, steps: int = 2000
) -> float:
    """K* reached by iterating the variance map from k0 (inf if it grows without bound)."""
    k = np.asarray([k0], float)
    act = get_activation(activation)
    for _ in range(steps):
        new = cb + cw * _moments(act, k)["s2"]
        if not np.isfinite(new[0]) or new[0] > 1e8:
            return float("inf")
        if abs(new[0] - k[0]) <= 1e-13 * max(1.0, abs(k[0])):
            return float(new[0])
        k = new
    return float(k[0])


def chi_perp_curve(activation: Any, k: Any = None) -> dict[str, np.ndarray]:
    """The chi_perp = 1 curve, parametrized by K* (spec 3): C_w(K), C_b(K) and chi_par(K)."""
    act = get_activation(activation)
    k = K_GRID if k is None else np.asarray(k, float)
    m = _moments(act, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        cw = 1.0 / m["d1sq"]
        cb = k - cw * m["s2"]
        chi_par = cw * (m["d1sq"] + m["ssdd"])
    return {"k": k, "cw": cw, "cb": cb, "chi_par": chi_par}


def _round(v: float) -> float:
    return float(f"{v:.12g}")


def critical_point(activation: Any) -> Critical:
    """Solve chi_par = chi_perp = 1 with K* a fixed point and C_b >= 0 (spec 3)."""
    act = get_activation(activation)
    cur = chi_perp_curve(act)
    k, cw, cb = cur["k"], cur["cw"], cur["cb"]
    m = _moments(act, k)
    h = m["ssdd"]
    scale = max(float(np.nanmax(np.abs(m["s2"]))), 1e-300)
    ok = np.isfinite(cw) & np.isfinite(cb) & (cb >= -1e-10 * np.maximum(1.0, k))

    def result(kk: float, exact: bool, free: bool = False, keep: Any = None) -> Critical:
        mm = _moments(act, [kk])
        cw_ = float(1.0 / mm["d1sq"][0])
        cb_ = float(kk - cw_ * mm["s2"][0])
        cb_ = 0.0 if abs(cb_) < 1e-12 * max(1.0, kk) else cb_
        chi_par, chi_perp = susceptibilities(act, kk, cw_)
        # quadrature is good to ~1e-14: report 12 significant digits (relu: C_w = 2 exactly)
        cw_, cb_, chi_par, chi_perp = (_round(v) for v in (cw_, cb_, chi_par, chi_perp))
        curve = None
        if not exact:
            keep = ok if keep is None else keep
            curve = {
                name: [float(v) for v in cur[name][keep]] for name in ("k", "cb", "cw", "chi_par")
            }
        return Critical(act.name, cb_, cw_, _round(kk), chi_par, chi_perp, exact, free, curve)

    if np.all(np.abs(h[ok]) <= 1e-12 * scale) and ok.all():
        return result(1.0, True, free=True)
    # K* = 0: needs h(0) = 0, C_b(0) = 0 (sigma(0) = 0) and attraction from above
    if ok[0] and abs(h[0]) <= 1e-14 and abs(cb[0]) <= 1e-14:
        eps = 1e-3
        if float(variance_map(act, eps, float(cw[0]), 0.0)[0]) < eps:
            return result(0.0, True)
    roots = []
    for i in range(1, len(k) - 1):
        if ok[i] and ok[i + 1] and np.sign(h[i]) != np.sign(h[i + 1]):
            g = lambda kk: float(_moments(act, [kk])["ssdd"][0])  # noqa: E731
            roots.append(brentq(g, k[i], k[i + 1], xtol=1e-14, rtol=1e-13))
    if roots:
        return result(min(roots), True)
    # no exact critical point: the point of the chi_perp = 1 curve with chi_par closest to 1
    # (on its C_b >= 0 part; softplus has none, and then the whole curve is reported)
    finite = np.isfinite(cw) & np.isfinite(cb) & np.isfinite(cur["chi_par"])
    valid = ok & finite if (ok & finite).any() else finite
    dev = np.where(valid, np.abs(cur["chi_par"] - 1.0), np.inf)
    return result(float(k[int(np.argmin(dev))]), False, keep=valid)


@partial(jax.jit, static_argnames=("act", "steps"))
def _phase_scan(act, cw, cb, steps):
    from theoryscope.experiments.widenets.activations import hermite_rule

    x_np, w_np = hermite_rule(NODES_1D)
    x, w = jnp.asarray(x_np), jnp.asarray(w_np)

    def e(g, k):
        return jnp.sum(g(jnp.sqrt(jnp.maximum(k, 0.0))[..., None] * x) * w, axis=-1)

    def step(k, _):
        nk = cb + cw * e(lambda z: act.fn(z) ** 2, k)
        return jnp.minimum(nk, 1e8), None

    k, _ = jax.lax.scan(step, jnp.ones_like(cw), None, length=steps)
    chi = cw * e(lambda z: act.d1(z) ** 2, k)
    return k, chi


def phase_diagram(
    activation: Any,
    cw_range: tuple[float, float] = (0.5, 4.0),
    cb_range: tuple[float, float] = (0.0, 0.5),
    *,
    n: int = 81,
    steps: int = 500,
) -> dict[str, np.ndarray]:
    """chi_perp at the (iterated) fixed point over a (C_w, C_b) grid (spec 3).

    chi_perp < 1: ordered (nearby inputs' correlation flows to 1); > 1: chaotic. Entries where
    the variance grows past 1e8 (no finite fixed point) are NaN.
    """
    act = get_activation(activation)
    n = as_int("n", n, low=2, high=1000)
    lo_w = as_float("cw", cw_range[0], low=0.0, low_open=True)
    hi_w = as_float("cw", cw_range[1], low=lo_w, low_open=True)
    lo_b = as_float("cb", cb_range[0], low=0.0)
    hi_b = as_float("cb", cb_range[1], low=lo_b, low_open=True)
    cws = np.linspace(lo_w, hi_w, n)
    cbs = np.linspace(lo_b, hi_b, n)
    with jax.enable_x64(True):
        CW, CB = np.meshgrid(cws, cbs, indexing="ij")
        k, chi = _phase_scan(act, jnp.asarray(CW), jnp.asarray(CB), steps)
        k, chi = np.asarray(k), np.asarray(chi)
    bad = k >= 1e8
    return {
        "cw": cws,
        "cb": cbs,
        "k_star": np.where(bad, np.nan, k),
        "chi_perp": np.where(bad, np.nan, chi),
    }


def tanh_decay(depth: int = 2000, q0: float = 1.0) -> dict[str, float]:
    """At the tanh critical point (C_b = 0, C_w = 1), K_l -> 0 like a / l; returns l K_l at depth.

    From tanh^2 z = z^2 - (2/3) z^4 + ..., E_K[tanh^2] = K - 2 K^2 + ..., so dK/dl = -2 K^2 and
    a = 1/2 (spec 3 asks to check the constant).
    """
    from theoryscope.experiments.widenets.kernels import diagonal_sequence

    depth = as_int("depth", depth, low=2)
    qs = diagonal_sequence("tanh", q0, np.ones(depth), np.zeros(depth))
    return {"depth": depth, "l_times_k": float(depth * qs[-1]), "k_last": float(qs[-1])}

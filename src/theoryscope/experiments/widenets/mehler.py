"""Hermite-series (Mehler) evaluation of the kernel maps for inputs of unequal norms.

With u = sqrt(q1) z1, v = sqrt(q2) z2, corr(z1, z2) = rho and h_k = He_k / sqrt(k!) the
orthonormal Hermite polynomials, Mehler's formula E[h_j(z1) h_k(z2)] = delta_jk rho^k gives
(Daniely, Frostig and Singer 2016, "dual activations"; spec section 2)

    F(q1, q2, c) = sum_k alpha_k(q1) alpha_k(q2) rho^k,   alpha_k(q) = E[sigma(sqrt(q) z) h_k(z)]
    G(q1, q2, c) = sum_k beta_k(q1)  beta_k(q2)  rho^k,   beta_k(q)  = E[sigma'(sqrt(q) z) h_k(z)]

The coefficients of each input are one-dimensional integrals (the line rule of
:mod:`.quadrature`, n of them per layer); per pair the sum is a K-term Horner loop, exact in both
norms, so no table in (q1, q2, theta) is needed.

Truncation is certified pair by pair. By Cauchy-Schwarz and Parseval,

    |sum_{k >= K} alpha_k(q1) alpha_k(q2) rho^k| <= |rho|^K sqrt(T_K(q1) T_K(q2)),
    T_K(q) = E[sigma(sqrt(q) z)^2] - sum_{k < K} alpha_k(q)^2,

and likewise for G. A pair is accepted when that bound is below ``tol`` times
sqrt(E[sigma(u)^2] E[sigma(v)^2]) (tails are floored at 1e-14 of the energy, above the rounding
of the subtraction). K is chosen per layer from :data:`K_CHOICES` as the smallest that leaves at
most :func:`fallback_budget` pairs; the pairs left over (|rho| close to 1, e.g. the diagonal)
are computed exactly by :func:`~.quadrature.line_maps` when |rho| = 1 and by the polar rule
otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache, partial

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.experiments.widenets.activations import Activation
from theoryscope.experiments.widenets.closed_forms import safe_rho
from theoryscope.experiments.widenets.quadrature import line_levels, line_rule

Array = jax.Array

#: Series lengths tried per layer (each is one compiled Horner loop).
K_CHOICES = (16, 32, 48, 64, 96, 128)
#: Tail floor relative to the energy E[sigma^2] (the Parseval subtraction is exact to ~1e-16).
TAIL_FLOOR = 1e-14
#: Accepted truncation bound relative to sqrt(E[sigma(u)^2] E[sigma(v)^2]), by dtype.
TOL = {"float64": 1e-13, "float32": 1e-8}


def fallback_budget(pairs: int) -> int:
    """Pairs (with |rho| < 1) that may be left to exact per-pair quadrature in one layer."""
    return max(64, pairs // 10_000)


@lru_cache(maxsize=16)
def hermite_table(levels: int, kmax: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Line-rule nodes z, weights w and h_k(z) for k < kmax (stable three-term recurrence)."""
    z, w = line_rule(levels)
    h = np.empty((z.size, kmax))
    h[:, 0] = 1.0
    if kmax > 1:
        h[:, 1] = z
    for k in range(1, kmax - 1):
        h[:, k + 1] = (z * h[:, k] - math.sqrt(k) * h[:, k - 1]) / math.sqrt(k + 1)
    return z, w, h


@partial(jax.jit, static_argnames=("act", "levels", "kmax"))
def coefficients(
    act: Activation, q: Array, levels: int, kmax: int
) -> tuple[Array, Array, Array, Array]:
    """alpha (n, kmax), beta (n, kmax) and the energies E[sigma^2], E[sigma'^2] for variances q (n,).

    The integrand is symmetrized: E[g(sqrt(q) z) h_k(z)] = sum_z w [g(x) + (-1)^k g(-x)] h_k(z).
    """
    z_np, w_np, h_np = hermite_table(levels, kmax)
    dtype = q.dtype
    z, w = jnp.asarray(z_np, dtype), jnp.asarray(w_np, dtype)
    h = jnp.asarray(h_np, dtype)
    hm = h * jnp.asarray((-1.0) ** np.arange(kmax), dtype)
    x = jnp.sqrt(jnp.maximum(q, 0.0))[:, None] * z

    def project(g: Callable[[Array], Array]) -> tuple[Array, Array]:
        gp, gm = g(x) * w, g(-x) * w
        coef = jnp.matmul(gp, h, precision="highest") + jnp.matmul(gm, hm, precision="highest")
        energy = jnp.sum(g(x) * gp + g(-x) * gm, axis=-1)
        return coef, energy

    alpha, e_f = project(act.fn)
    beta, e_g = project(act.d1)
    return alpha, beta, e_f, e_g


def log_tails(coef: Array, energy: Array, ks: tuple[int, ...]) -> Array:
    """log of the normalized tails max(T_K / E, TAIL_FLOOR) for each K in ks: (..., len(ks))."""
    partial_sums = jnp.cumsum(coef * coef, axis=-1)
    scale = jnp.maximum(energy, 1e-300)[..., None]
    out = []
    for k in ks:
        head = partial_sums[..., k - 1] if k > 0 else jnp.zeros_like(energy)
        out.append((energy - head)[..., None] / scale)
    tails = jnp.concatenate(out, axis=-1)
    return jnp.log(jnp.maximum(tails, TAIL_FLOOR))


@partial(jax.jit, static_argnames=("ks",))
def failures(
    rho: Array, lt1: Array, lt2: Array, log_tol: float, ks: tuple[int, ...]
) -> Array:
    """Number of pairs with |rho| < 1 whose bound exceeds tol, for each K in ks."""
    la = jnp.log(jnp.maximum(jnp.abs(rho), 1e-300))
    inner = jnp.abs(rho) < 1.0
    out = []
    for i, k in enumerate(ks):
        bad = k * la + 0.5 * (lt1[..., i] + lt2[..., i]) > log_tol
        out.append(jnp.sum(bad & inner))
    return jnp.stack(out)


@partial(jax.jit, static_argnames=("k",))
def series(
    a1: Array, a2: Array, b1: Array, b2: Array, rho: Array, k: int
) -> tuple[Array, Array]:
    """sum_{j<k} a1_j a2_j rho^j and sum_{j<k} b1_j b2_j rho^j by Horner (one fused loop)."""
    f = jnp.zeros_like(rho)
    g = jnp.zeros_like(rho)
    for j in range(k - 1, -1, -1):
        f = f * rho + a1[..., j] * a2[..., j]
        g = g * rho + b1[..., j] * b2[..., j]
    return f, g


@partial(jax.jit, static_argnames=("k_index", "k"))
def accepted(rho: Array, lt1: Array, lt2: Array, log_tol: float, k_index: int, k: int) -> Array:
    """Pairs whose truncation bound at K = k is below tol (at |rho| = 1 only if tails vanish)."""
    la = jnp.log(jnp.maximum(jnp.abs(rho), 1e-300))
    return k * la + 0.5 * (lt1[..., k_index] + lt2[..., k_index]) <= log_tol


def layer_maps(
    act: Activation,
    q1: np.ndarray,
    q2: np.ndarray,
    c: Array,
    *,
    qmax: float,
    dtype: str,
    exact: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
) -> tuple[Array, Array, dict[str, int]]:
    """(F, G) for all pairs of one layer; ``exact(q1, q2, c, rho)`` handles the leftover pairs.

    q1 and q2 are the layer's variances, broadcastable against c. Returns F, G (shape of c)
    and counts: the K used, the pairs left to ``exact``.
    """
    levels = line_levels(qmax)
    kmax = K_CHOICES[-1]
    jd = jnp.float64 if dtype == "float64" else jnp.float32
    u1, inv1 = np.unique(np.asarray(q1, float).ravel(), return_inverse=True)
    u2, inv2 = np.unique(np.asarray(q2, float).ravel(), return_inverse=True)
    with jax.enable_x64(True):  # coefficients and tails in float64, whatever the run's dtype
        pieces = []
        for u in (u1, u2):
            al, be, ef, eg = coefficients(act, jnp.asarray(u), levels, kmax)
            lt = jnp.maximum(log_tails(al, ef, K_CHOICES), log_tails(be, eg, K_CHOICES))
            pieces.append((np.asarray(al), np.asarray(be), np.asarray(lt)))
    (a1, b1, lt1), (a2, b2, lt2) = pieces
    shape1, shape2 = np.shape(q1), np.shape(q2)
    a1, b1, lt1 = (v[inv1].reshape(*shape1, -1) for v in (a1, b1, lt1))
    a2, b2, lt2 = (v[inv2].reshape(*shape2, -1) for v in (a2, b2, lt2))
    q1j, q2j = jnp.asarray(q1, jd), jnp.asarray(q2, jd)
    _, rho = safe_rho(q1j, q2j, c)
    log_tol = math.log(TOL[dtype])
    lt1j, lt2j = jnp.asarray(lt1, jd), jnp.asarray(lt2, jd)
    fails = np.asarray(failures(rho, lt1j, lt2j, log_tol, K_CHOICES))
    budget = fallback_budget(int(rho.size))
    choice = next((i for i, n in enumerate(fails) if n <= budget), len(K_CHOICES) - 1)
    k = K_CHOICES[choice]
    f, g = series(
        jnp.asarray(a1[..., :k], jd),
        jnp.asarray(a2[..., :k], jd),
        jnp.asarray(b1[..., :k], jd),
        jnp.asarray(b2[..., :k], jd),
        rho,
        k,
    )
    ok = np.asarray(accepted(rho, lt1j, lt2j, log_tol, choice, k))
    bad = np.flatnonzero(~ok)
    if bad.size:
        shape = rho.shape
        q1b = np.broadcast_to(np.asarray(q1, float), shape).ravel()[bad]
        q2b = np.broadcast_to(np.asarray(q2, float), shape).ravel()[bad]
        cb_ = np.asarray(jnp.broadcast_to(c, shape)).ravel()[bad]
        rb = np.asarray(rho).ravel()[bad]
        fb, gb = exact(q1b, q2b, cb_, rb)
        f = f.ravel().at[bad].set(jnp.asarray(fb, jd)).reshape(shape)
        g = g.ravel().at[bad].set(jnp.asarray(gb, jd)).reshape(shape)
    return f, g, {"k": k, "exact_pairs": int(bad.size)}

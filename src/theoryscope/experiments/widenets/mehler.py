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
) -> tuple[Array, Array, Array, Array, Array]:
    """Hermite coefficients and tails for variances q (n,).

    Returns alpha (n, kmax), beta (n, kmax), the log tails (n, len(K_CHOICES)) (the larger of
    those of F and G, :func:`log_tails`) and the energies E[sigma^2], E[sigma'^2] (n,).

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
    lt = jnp.maximum(log_tails(alpha, e_f, K_CHOICES), log_tails(beta, e_g, K_CHOICES))
    return alpha, beta, lt, e_f, e_g


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


def choose_k(rho: np.ndarray, lt1: np.ndarray, lt2: np.ndarray, log_tol: float, total: int) -> int:
    """Index into K_CHOICES of the shortest series that leaves at most the budget of pairs.

    ``rho``, ``lt1``, ``lt2`` describe a sample of the layer's pairs (log tails on the last
    axis); the budget :func:`fallback_budget` of ``total`` pairs is scaled to the sample. The
    exact test, pair by pair, is made afterwards in :func:`_layer`.
    """
    la = np.log(np.maximum(np.abs(rho), 1e-300))
    inner = np.abs(rho) < 1.0
    budget = fallback_budget(total) * rho.size / max(total, 1)
    for i, k in enumerate(K_CHOICES):
        bad = (k * la + 0.5 * (lt1[..., i] + lt2[..., i]) > log_tol) & inner
        if np.count_nonzero(bad) <= budget:
            return i
    return len(K_CHOICES) - 1


@partial(jax.jit, static_argnames=("k", "k_index"))
def _layer(
    a1: Array,
    a2: Array,
    b1: Array,
    b2: Array,
    t1: Array,
    t2: Array,
    q1: Array,
    q2: Array,
    c: Array,
    log_tol: float,
    k: int,
    k_index: int,
) -> tuple[Array, Array, Array]:
    """The two K-term series by Horner (one fused loop) and the per-pair acceptance.

    Coefficient arrays have K first: a1 (K, *shape1), a2 (K, *shape2); t1, t2 are the log tails
    at K (shapes of q1, q2).
    """
    _, rho = safe_rho(q1, q2, c)
    f = jnp.zeros_like(rho)
    g = jnp.zeros_like(rho)
    for j in range(k - 1, -1, -1):
        f = f * rho + a1[j] * a2[j]
        g = g * rho + b1[j] * b2[j]
    la = jnp.log(jnp.maximum(jnp.abs(rho), 1e-300))
    ok = k * la + 0.5 * (t1 + t2) <= log_tol
    return f, g, ok


def _sample(shape: tuple[int, ...], size: int = 2**17) -> tuple[np.ndarray, ...]:
    total = int(np.prod(shape))
    step = max(1, total // size)
    return np.unravel_index(np.arange(0, total, step), shape)


def layer_maps(
    act: Activation,
    q1: np.ndarray,
    q2: np.ndarray,
    c: Array,
    *,
    qmax: float,
    dtype: str,
    exact: Callable[
        [np.ndarray, np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]
    ],
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """(F, G) for all pairs of one layer; ``exact(q1, q2, c, rho)`` handles the leftover pairs.

    q1 and q2 are the layer's variances, broadcastable against c. Returns F, G (NumPy arrays of
    the shape of c) and counts: the K used and the pairs left to ``exact``. Pairs on the
    diagonal (rho = 1 and q1 = q2) take the energies E[sigma^2], E[sigma'^2] directly.
    """
    levels = line_levels(qmax)
    kmax = K_CHOICES[-1]
    jd = jnp.float64 if dtype == "float64" else jnp.float32
    q1 = np.asarray(q1, float)
    q2 = np.asarray(q2, float)
    u1, inv1 = np.unique(q1.ravel(), return_inverse=True)
    u2, inv2 = np.unique(q2.ravel(), return_inverse=True)
    with jax.enable_x64(True):  # coefficients and tails in float64, whatever the run's dtype
        first = [np.asarray(v) for v in coefficients(act, jnp.asarray(u1), levels, kmax)]
        same = u1.shape == u2.shape and np.array_equal(u1, u2)
        second = (
            first
            if same
            else [np.asarray(v) for v in coefficients(act, jnp.asarray(u2), levels, kmax)]
        )
    shape = np.broadcast_shapes(q1.shape, q2.shape, np.shape(c))
    log_tol = math.log(TOL[dtype])
    # choose K on a sample of pairs
    idx = _sample(shape)
    q1s, q2s = np.broadcast_to(q1, shape)[idx], np.broadcast_to(q2, shape)[idx]
    cs = np.asarray(c)[idx] if np.shape(c) == shape else np.broadcast_to(np.asarray(c), shape)[idx]
    den = np.sqrt(q1s * q2s)
    rho_s = np.clip(np.where(den > 0, cs / np.where(den > 0, den, 1.0), 0.0), -1.0, 1.0)
    tiny = 4.0 * float(jnp.finfo(jd).eps)  # snapped to +-1 as in safe_rho
    rho_s = np.where(np.abs(rho_s) > 1.0 - tiny, np.sign(rho_s), rho_s)
    lt_s1 = first[2][inv1.reshape(q1.shape)]
    lt_s2 = second[2][inv2.reshape(q2.shape)]
    choice = choose_k(
        rho_s,
        np.broadcast_to(lt_s1, (*shape, lt_s1.shape[-1]))[idx],
        np.broadcast_to(lt_s2, (*shape, lt_s2.shape[-1]))[idx],
        log_tol,
        int(np.prod(shape)),
    )
    k = K_CHOICES[choice]

    def side(coefs: list[np.ndarray], inv: np.ndarray, q: np.ndarray) -> list[Array]:
        al, be, lt = coefs[0], coefs[1], coefs[2]
        a = np.moveaxis(al[:, :k][inv].reshape(*q.shape, k), -1, 0)
        b = np.moveaxis(be[:, :k][inv].reshape(*q.shape, k), -1, 0)
        t = lt[:, choice][inv].reshape(q.shape)
        return [jnp.asarray(a, jd), jnp.asarray(b, jd), jnp.asarray(t, jd)]

    a1, b1, t1 = side(first, inv1, q1)
    a2, b2, t2 = side(second, inv2, q2)
    f, g, ok = _layer(
        a1, a2, b1, b2, t1, t2, jnp.asarray(q1, jd), jnp.asarray(q2, jd), c, log_tol, k, choice
    )
    f, g = np.array(f), np.array(g)  # writable copies
    bad = np.flatnonzero(~np.asarray(ok))
    if bad.size:
        q1b = np.broadcast_to(q1, shape).ravel()[bad]
        q2b = np.broadcast_to(q2, shape).ravel()[bad]
        cb_ = np.broadcast_to(np.asarray(c), shape).ravel()[bad]
        with jax.enable_x64(dtype == "float64"):
            rb = np.asarray(
                safe_rho(jnp.asarray(q1b, jd), jnp.asarray(q2b, jd), jnp.asarray(cb_, jd))[1]
            )
        diag = (rb == 1.0) & (q1b == q2b)
        if np.any(diag):  # rho = 1, q1 = q2: E[sigma(u)^2] and E[sigma'(u)^2]
            pos = np.searchsorted(u1, q1b[diag])
            np.put(f, bad[diag], first[3][pos])
            np.put(g, bad[diag], first[4][pos])
        rest = ~diag
        if np.any(rest):
            fb, gb = exact(q1b[rest], q2b[rest], cb_[rest], rb[rest])
            np.put(f, bad[rest], fb)
            np.put(g, bad[rest], gb)
    return f, g, {"k": k, "exact_pairs": int(bad.size)}

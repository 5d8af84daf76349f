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
of the subtraction). The pairs left over (|rho| close to 1) are computed exactly: diagonal
pairs (rho = 1, q1 = q2) from the energies, other |rho| = 1 pairs by the line rule, the rest by
the polar rule (:func:`.kernels.exact_pairs`).

K is chosen per layer from :data:`K_CHOICES`, on a sample of the pairs, to minimize
K x pairs + EXACT_COST x (pairs left over): one exact pair costs about as much as 4e5 series
terms. Coefficients are first computed to degree 128; when that leaves many pairs (relu-like
activations at large variance, whose coefficients decay slowly, in the ordered phase where
most correlations approach 1) they are extended to degree 1024 (the line rule integrates
Hermite polynomials to that degree to ~1e-13, tested).
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
K_CHOICES = (16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
#: Degree of the first stage of coefficients (the second goes to K_CHOICES[-1]).
STAGE1_KMAX = 128
#: Cost of one pair computed exactly, in series terms of one pair (measured: ~0.8 ms vs ~2 ns).
EXACT_COST = 4e5
#: Horner terms unrolled per loop step for K above STAGE1_KMAX.
BLOCK = 64
#: Estimated pairs left over at degree STAGE1_KMAX (at least; or 0.1% of the pairs) that
#: trigger the second stage.
STAGE2_PAIRS = 1000
#: Tail floor relative to the energy E[sigma^2] (the Parseval subtraction is exact to ~1e-16).
TAIL_FLOOR = 1e-14
#: Accepted truncation bound relative to sqrt(E[sigma(u)^2] E[sigma(v)^2]), by dtype.
TOL = {"float64": 1e-13, "float32": 1e-8}


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

    Returns alpha (n, kmax), beta (n, kmax), the log tails (n, #K_CHOICES up to kmax) (the
    larger of those of F and G, :func:`log_tails`) and the energies E[sigma^2], E[sigma'^2].

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
    ks = tuple(k for k in K_CHOICES if k <= kmax)
    lt = jnp.maximum(log_tails(alpha, e_f, ks), log_tails(beta, e_g, ks))
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


def estimate_failures(
    rho: np.ndarray, lt1: np.ndarray, lt2: np.ndarray, log_tol: float
) -> np.ndarray:
    """Pairs of a sample with |rho| < 1 left over by each series length (last axis of lt1, lt2)."""
    la = np.log(np.maximum(np.abs(rho), 1e-300))
    inner = np.abs(rho) < 1.0
    out = []
    for i in range(lt1.shape[-1]):
        bad = (K_CHOICES[i] * la + 0.5 * (lt1[..., i] + lt2[..., i]) > log_tol) & inner
        out.append(np.count_nonzero(bad))
    return np.asarray(out, dtype=float)


def choose_k(fails: np.ndarray, sample: int, total: int) -> int:
    """Index into K_CHOICES minimizing K x total + EXACT_COST x (estimated pairs left over)."""
    scale = total / max(sample, 1)
    cost = [K_CHOICES[i] * total + EXACT_COST * fails[i] * scale for i in range(fails.size)]
    return int(np.argmin(cost))


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

    def terms(f: Array, g: Array, top: int | Array, count: int) -> tuple[Array, Array]:
        for i in range(count):  # terms top-1, top-2, ..., top-count
            j = top - 1 - i
            f = f * rho + a1[j] * a2[j]
            g = g * rho + b1[j] * b2[j]
        return f, g

    f = jnp.zeros_like(rho)
    g = jnp.zeros_like(rho)
    if k <= STAGE1_KMAX:
        f, g = terms(f, g, k, k)
    else:  # a loop of unrolled blocks keeps the program (and its compile time) small
        f, g = jax.lax.fori_loop(
            0, k // BLOCK, lambda b, fg: terms(fg[0], fg[1], k - b * BLOCK, BLOCK), (f, g)
        )
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
    jd = jnp.float64 if dtype == "float64" else jnp.float32
    q1 = np.asarray(q1, float)
    q2 = np.asarray(q2, float)
    u1, inv1 = np.unique(q1.ravel(), return_inverse=True)
    u2, inv2 = np.unique(q2.ravel(), return_inverse=True)
    same = u1.shape == u2.shape and np.array_equal(u1, u2)
    shape = np.broadcast_shapes(q1.shape, q2.shape, np.shape(c))
    total = int(np.prod(shape))
    log_tol = math.log(TOL[dtype])
    # a sample of the pairs' correlations, snapped to +-1 as in safe_rho
    idx = _sample(shape)
    q1s, q2s = np.broadcast_to(q1, shape)[idx], np.broadcast_to(q2, shape)[idx]
    cs = np.broadcast_to(np.asarray(c), shape)[idx]
    den = np.sqrt(q1s * q2s)
    rho_s = np.clip(np.where(den > 0, cs / np.where(den > 0, den, 1.0), 0.0), -1.0, 1.0)
    tiny = 4.0 * float(jnp.finfo(jd).eps)
    rho_s = np.where(np.abs(rho_s) > 1.0 - tiny, np.sign(rho_s), rho_s)

    def stage(kmax: int) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
        with jax.enable_x64(True):  # coefficients and tails in float64, whatever the dtype
            one = [np.asarray(v) for v in coefficients(act, jnp.asarray(u1), levels, kmax)]
            two = (
                one
                if same
                else [np.asarray(v) for v in coefficients(act, jnp.asarray(u2), levels, kmax)]
            )
        lt1 = one[2][inv1.reshape(q1.shape)]
        lt2 = two[2][inv2.reshape(q2.shape)]
        fails = estimate_failures(
            rho_s,
            np.broadcast_to(lt1, (*shape, lt1.shape[-1]))[idx],
            np.broadcast_to(lt2, (*shape, lt2.shape[-1]))[idx],
            log_tol,
        )
        return one, two, fails

    first, second, fails = stage(STAGE1_KMAX)
    if fails[-1] * total / rho_s.size > max(STAGE2_PAIRS, total // 1000):  # many left: go on
        first, second, fails = stage(K_CHOICES[-1])
    choice = choose_k(fails, rho_s.size, total)
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

"""Sums with the Expander Nets kernel K_jl = exp(-1/2 |v_j - v_l|^2), exact or by a truncated
Taylor expansion with a proven error bound (spec ``expander-nets.md`` section 4).

Direct evaluation touches all k^2 pairs (one exp each). With a_j = exp(-|v_j|^2 / 2),

    K_jl = a_j a_l exp(v_j . v_l) = a_j a_l sum_alpha psi_alpha(v_j) psi_alpha(v_l),
    psi_alpha(v) = v^alpha / sqrt(alpha!)       (alpha a multi-index in N^d),

so truncating at total degree |alpha| <= N turns every sum into F = C(N + d, d) moments:

    (K M)_j ~ a_j sum_alpha psi_alpha(v_j) G_alpha,   G_alpha = sum_l a_l psi_alpha(v_l) M_l,
    w^T K w ~ sum_alpha (sum_j w_j a_j psi_alpha(v_j))^2,

at cost O(k F) instead of O(k^2). Error bound: sum_{|alpha| = n} psi_alpha(x) psi_alpha(y) =
(x.y)^n / n!, so the tail beyond N is at most sum_{n>N} (|x||y|)^n / n! <= (|x||y|)^(N+1) /
(N+1)! e^{|x||y|}, and e^{|x||y|} <= e^{(|x|^2 + |y|^2)/2} = 1 / (a_x a_y). Hence, with r = |v|,

    |(K M)_j - approx| <= r_j^(N+1) sum_l |M_l| r_l^(N+1) / (N+1)!,
    |w^T K w - approx| <= (sum_j |w_j| r_j^(N+1))^2 / (N+1)!.

Every Taylor evaluation computes that bound and reports whether it is below ``TAYLOR_RTOL``
(1e-10) times the result (for K M, times the largest |(K M)_jc| of each column); callers use the
Taylor value only then and otherwise the direct sum, so every value used has relative error
below 1e-10 (plus rounding). The degree is chosen on the host (:func:`choose_degree`, O(k d))
among a few tiers, each compiled on first use, and only where its F = C(N + d, d) is below 2k
(then the moments cost less than the k^2 exps of the direct sum).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

#: The a-posteriori relative error bound a Taylor result must meet to be used.
TAYLOR_RTOL = 1e-10
#: Candidate truncation degrees (each a compiled branch).
TIERS = (10, 18, 28, 40)
#: Entries (rows x F) of one block of features: rows of V are processed in blocks this size,
#: which keeps a block in cache (measured: 8x faster than 2048-row blocks at k = 30000).
FEATURE_BLOCK_ENTRIES = 1 << 18
#: Most rows of V per block.
ROW_BLOCK = 512
#: A Taylor tier is offered only if its F = C(N + d, d) is at most k / FEATURE_RATIO.
FEATURE_RATIO = 0.5
#: Entries per block of K in the direct sums.
DIRECT_BLOCK_ENTRIES = 1 << 22


def n_features(d: int, degree: int) -> int:
    """F = C(degree + d, d): monomials of total degree <= ``degree`` in d variables."""
    return math.comb(degree + d, d)


def tiers(k: int, d: int) -> tuple[int, ...]:
    """The Taylor degrees worth offering for k points in d dimensions (cheaper than direct)."""
    return tuple(n for n in TIERS if n_features(d, n) * FEATURE_RATIO <= k)


@lru_cache(maxsize=64)
def _exponents(d: int, degree: int) -> np.ndarray:
    """The multi-indices alpha with |alpha| <= degree, graded by degree, shape (F, d)."""
    out: list[tuple[int, ...]] = [(0,) * d]
    for n in range(1, degree + 1):
        out += _compositions(n, d)
    return np.array(out, dtype=np.int32)


def _compositions(n: int, d: int) -> list[tuple[int, ...]]:
    if d == 1:
        return [(n,)]
    return [(i,) + rest for i in range(n, -1, -1) for rest in _compositions(n - i, d - 1)]


def features(V: Any, degree: int) -> Any:
    """psi_alpha(v_j) = prod_i v_ji^alpha_i / sqrt(alpha_i!) for |alpha| <= degree, shape (F, rows):
    one table of scaled powers per coordinate, then one gather per coordinate."""
    rows, d = V.shape
    E = _exponents(d, degree)
    inv_sqrt_fact = np.array([1.0 / math.sqrt(math.factorial(e)) for e in range(degree + 1)])
    Vt = V.T
    level = jnp.ones_like(Vt)
    table = [level]
    for _ in range(degree):
        level = level * Vt
        table.append(level)
    powers = jnp.stack(table, axis=1) * jnp.asarray(inv_sqrt_fact, V.dtype)[None, :, None]
    out = powers[0][E[:, 0]]
    for i in range(1, d):
        out = out * powers[i][E[:, i]]
    return out


def _row_blocks(x: Any, rows: int) -> Any:
    n = x.shape[0]
    nb = -(-n // rows)
    pad = nb * rows - n
    return jnp.pad(x, ((0, pad),) + ((0, 0),) * (x.ndim - 1)).reshape((nb, rows) + x.shape[1:])


def _rows(V: Any, degree: int) -> int:
    F = n_features(V.shape[1], degree)
    return int(min(V.shape[0], ROW_BLOCK, max(32, FEATURE_BLOCK_ENTRIES // F)))


def _moments(V: Any, A: Any, degree: int) -> Any:
    """G = sum_l psi(v_l) A_l^T, shape (F, c), for A (k x c) (already multiplied by a_l)."""
    rows = _rows(V, degree)
    Vb, Ab = _row_blocks(V, rows), _row_blocks(A, rows)  # padded rows have A = 0

    def block(acc: Any, args: tuple[Any, Any]) -> tuple[Any, None]:
        v, a = args
        return acc + features(v, degree) @ a, None

    F = n_features(V.shape[1], degree)
    G, _ = lax.scan(block, jnp.zeros((F, A.shape[1]), V.dtype), (Vb, Ab))
    return G


def _expand(V: Any, G: Any, degree: int) -> Any:
    """sum_alpha psi_alpha(v_j) G_alpha for every row j, shape (k, c)."""
    rows = _rows(V, degree)
    Vb = _row_blocks(V, rows)
    out = lax.map(lambda v: features(v, degree).T @ G, Vb)
    return out.reshape(-1, G.shape[1])[: V.shape[0]]


def _tail(r: Any, weights: Any, degree: int) -> Any:
    """sum_l |weights_l| r_l^(N+1) / sqrt((N+1)!) (the bound's factor), weights (k,) or (k, c)."""
    p = degree + 1
    log = p * jnp.log(jnp.maximum(r, 1e-300)) - 0.5 * math.lgamma(p + 1)
    factor = jnp.where(r > 0, jnp.exp(log), 0.0)
    return factor @ jnp.abs(weights) if weights.ndim == 2 else jnp.dot(factor, jnp.abs(weights))


#: Rows of the square blocks of K that the symmetric direct sums visit (upper triangle only).
SYMMETRIC_BLOCK = 512


def direct_products(V: Any, M: Any) -> Any:
    """K @ M with one exp per pair j <= l: over the blocks (I, J), I <= J, of K, each block
    adds K_IJ M_J to rows I and K_IJ^T M_I to rows J (K is symmetric). Below two blocks, the
    plain row-blocked sum."""
    k = V.shape[0]
    rows = SYMMETRIC_BLOCK
    if k < 2 * rows:
        return _rowwise_products(V, M)
    Vb, Mb = _row_blocks(V, rows), _row_blocks(M, rows)  # padded rows: M = 0
    nb = Vb.shape[0]
    sq = jnp.sum(Vb * Vb, axis=-1)
    I, J = (jnp.asarray(x) for x in np.triu_indices(nb))

    def pair(args: tuple[Any, Any]) -> tuple[Any, Any]:
        i, j = args
        d2 = sq[i][:, None] + sq[j][None, :] - 2.0 * (Vb[i] @ Vb[j].T)
        K = jnp.exp(-0.5 * jnp.maximum(d2, 0.0))
        return K @ Mb[j], jnp.where(i == j, 0.0, 1.0) * (K.T @ Mb[i])

    A, B = lax.map(pair, (I, J))
    out = jax.ops.segment_sum(A, I, num_segments=nb) + jax.ops.segment_sum(B, J, num_segments=nb)
    return out.reshape(nb * rows, M.shape[1])[:k]


def _rowwise_products(V: Any, M: Any) -> Any:
    """K @ M by rows of K (one exp per ordered pair)."""
    k = V.shape[0]
    rows = int(max(1, min(k, DIRECT_BLOCK_ENTRIES // max(1, k))))
    sq = jnp.sum(V * V, axis=-1)

    def block(v_blk: Any) -> Any:
        dist2 = jnp.sum(v_blk * v_blk, axis=-1)[:, None] + sq[None, :] - 2.0 * (v_blk @ V.T)
        return jnp.exp(-0.5 * jnp.maximum(dist2, 0.0)) @ M

    if rows >= k:
        return block(V)
    return lax.map(block, _row_blocks(V, rows)).reshape(-1, M.shape[1])[:k]


def direct_quadratic(V: Any, w: Any) -> Any:
    """w^T K w over the blocks on and above the diagonal of K (each off-diagonal one counted
    twice): about half the exps of the full sum."""
    k = V.shape[0]
    rows = SYMMETRIC_BLOCK
    if k < 2 * rows:
        return jnp.dot(w, _rowwise_products(V, w[:, None])[:, 0])
    Vb, wb = _row_blocks(V, rows), _row_blocks(w, rows)  # padded w = 0
    nb = Vb.shape[0]
    sq = jnp.sum(Vb * Vb, axis=-1)
    I, J = np.triu_indices(nb)

    def pair(args: tuple[Any, Any]) -> Any:
        i, j = args
        d2 = sq[i][:, None] + sq[j][None, :] - 2.0 * (Vb[i] @ Vb[j].T)
        val = wb[i] @ jnp.exp(-0.5 * jnp.maximum(d2, 0.0)) @ wb[j]
        return jnp.where(i == j, val, 2.0 * val)

    return jnp.sum(lax.map(pair, (jnp.asarray(I), jnp.asarray(J))))


def _bound_factor(n: int) -> float:
    return 1.0 / math.sqrt(math.factorial(n + 1))


def taylor_products(V: Any, M: Any, degree: int) -> tuple[Any, Any]:
    """(K @ M by Taylor moments of total degree <= ``degree``, ok): ok when the proven error
    bound r_j^(N+1) sum_l |M_lc| r_l^(N+1) / (N+1)! is below TAYLOR_RTOL times the largest
    |(K M)_jc| of every column c."""
    r = jnp.sqrt(jnp.sum(V * V, axis=-1))
    a = jnp.exp(-0.5 * r * r)
    out = a[:, None] * _expand(V, _moments(V, a[:, None] * M, degree), degree)
    bound = jnp.max(r) ** (degree + 1) * _bound_factor(degree) * _tail(r, M, degree)
    return out, jnp.all(bound <= TAYLOR_RTOL * jnp.max(jnp.abs(out), axis=0))


def taylor_quadratic(w: Any, V: Any, degree: int) -> tuple[Any, Any]:
    """(w^T K w by Taylor moments, ok): ok when (sum_j |w_j| r_j^(N+1))^2 / (N+1)! is below
    TAYLOR_RTOL times the result."""
    r = jnp.sqrt(jnp.sum(V * V, axis=-1))
    a = jnp.exp(-0.5 * r * r)
    G = _moments(V, (w * a)[:, None], degree)[:, 0]
    q = jnp.dot(G, G)
    return q, _tail(r, w, degree) ** 2 <= TAYLOR_RTOL * q


def choose_degree(V: np.ndarray, M: np.ndarray) -> int | None:
    """The smallest offered Taylor degree whose bound is predicted to pass (host-side, O(k d)),
    or None for the direct sum. M: (k,) weights of a quadratic form or (k, c) columns.

    The prediction compares the bound with 0.3 TAYLOR_RTOL times a typical size of the result
    (sqrt(sum M^2 a^2) per column, the size of a sum with random signs); the Taylor evaluation
    still checks the bound against the actual result and the caller falls back to the direct
    sum if it fails.
    """
    k, d = V.shape
    offered = tiers(k, d)
    if not offered or not np.all(np.isfinite(V)):
        return None
    r = np.sqrt(np.sum(V * V, axis=-1))
    a = np.exp(-0.5 * r * r)
    M2 = np.abs(M).reshape(k, -1)
    typical = np.sqrt((M2 * M2).T @ (a * a))
    if not np.all(np.isfinite(M2)) or np.max(typical) == 0.0:
        return offered[0]
    logr = np.log(np.maximum(r, 1e-300))
    for n in offered:
        tail = np.exp((n + 1) * logr)[None, :] @ M2 * _bound_factor(n)
        if M.ndim == 1:
            est = tail[0] ** 2
            scale = typical**2
        else:
            est = np.max(r) ** (n + 1) * _bound_factor(n) * tail
            scale = typical
        if np.all(est <= 0.3 * TAYLOR_RTOL * scale):
            return n
    return None

"""Singular values of products of square Gaussian matrices, stable at any depth (NumPy float64).

``M = W_L ... W_1``, ``W_l`` i.i.d. n x n with N(0, 1/n) entries. For fixed L (the Fuss-Catalan
regime) the product is formed directly and its singular values taken by LAPACK
(:func:`squared_singular_values`). For ``L/n`` of order one or more the singular values spread
over ``e^{+-L ...}``, far beyond double precision relative to the largest, so
:func:`log_singular_values` never forms M:

1. QR iteration (Benettin et al. 1980; the standard Lyapunov algorithm): ``W_1 = Q_1 R_1``,
   ``W_l Q_{l-1} = Q_l R_l``, so ``M = Q_L T`` with ``T = R_L ... R_1`` upper triangular and each
   QR taken of a well-conditioned Gaussian matrix. ``T`` is kept row-scaled, ``T = diag(e^rho) B``
   with unit rows: ``R T = diag(e^rho') B'`` with ``B'_i ~ sum_k R_ik e^{rho_k - rho_i} B_k``
   (no overflow: rows are graded). The diagonals ``sum_l log R^(l)_ii^2`` are returned too (their
   law is exact: :func:`.spectra.lyapunov_mean`).
2. One-sided Jacobi (Hestenes 1958) on ``G = T^T = B^T diag(e^rho)``: columns are rotated in pairs
   until orthogonal; the singular values are the final column norms. For such column-scaled
   matrices Jacobi is accurate to ``eps * cond(B)`` *relative to each singular value* (Demmel &
   Veselic 1992, "Jacobi's method is more accurate than QR"). The columns are stored as (unit
   vector, log scale), and each rotation is written with ``r = e^{ls_small - ls_big} <= 1`` so
   that nothing under/overflows even when r underflows to 0 (then the rotation is the exact
   projection ``g_q -= (g_p . g_q / |g_p|^2) g_p``).
"""

from __future__ import annotations

import math

import numpy as np

#: Jacobi stops when every pair has |cos angle| below this, or after MAX_SWEEPS.
JACOBI_TOL = 1e-15
MAX_SWEEPS = 60


def gaussian_layers(rng: np.random.Generator, count: int, n: int) -> np.ndarray:
    """``count`` i.i.d. n x n matrices with N(0, 1/n) entries."""
    return rng.standard_normal((int(count), n, n)) / math.sqrt(n)


def squared_singular_values(rng: np.random.Generator, n: int, depth: int, count: int) -> np.ndarray:
    """Squared singular values (count, n) of ``W_L ... W_1`` formed directly (fixed small L)."""
    prod = gaussian_layers(rng, count, n)
    for _ in range(1, depth):
        prod = gaussian_layers(rng, count, n) @ prod
    return np.linalg.svd(prod, compute_uv=False) ** 2


def _round_robin(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (p, q) of the circle method: n - 1 rounds of n/2 disjoint pairs (n even)."""
    players = list(range(n))
    ps, qs = [], []
    for _ in range(n - 1):
        ps.append([players[i] for i in range(n // 2)])
        qs.append([players[n - 1 - i] for i in range(n // 2)])
        players = [players[0]] + [players[-1]] + players[1:-1]
    return np.asarray(ps), np.asarray(qs)


def jacobi_log_singular_values(vectors: np.ndarray, log_scale: np.ndarray) -> np.ndarray:
    """``log`` singular values (descending) of ``G = vectors diag(e^log_scale)`` for a batch:
    ``vectors`` (batch, m, n), ``log_scale`` (batch, n) (module docstring, step 2)."""
    b = np.array(vectors, dtype=np.float64, copy=True)
    ls = np.array(log_scale, dtype=np.float64, copy=True)
    norms = np.linalg.norm(b, axis=1)
    ls = ls + np.log(np.where(norms > 0, norms, 1.0))
    b = b / np.where(norms > 0, norms, 1.0)[:, None, :]
    ls = np.where(norms > 0, ls, -np.inf)
    n = b.shape[2]
    if n % 2:  # a dummy zero column makes the round robin even
        b = np.concatenate([b, np.zeros(b.shape[:2] + (1,))], axis=2)
        ls = np.concatenate([ls, np.full((ls.shape[0], 1), -np.inf)], axis=1)
    ps, qs = _round_robin(b.shape[2])
    for _ in range(MAX_SWEEPS):
        worst = 0.0
        for p, q in zip(ps, qs, strict=True):
            swap = ls[:, q] > ls[:, p]
            big = np.where(swap, q, p)  # (batch, h)
            small = np.where(swap, p, q)
            rows = np.arange(b.shape[0])[:, None]
            bp = np.take_along_axis(b, big[:, None, :], axis=2)
            bq = np.take_along_axis(b, small[:, None, :], axis=2)
            lp = ls[rows, big]
            lq = ls[rows, small]
            a = np.sum(bp * bp, axis=1)
            c2 = np.sum(bq * bq, axis=1)
            g = np.sum(bp * bq, axis=1)
            live = np.isfinite(lq) & (a > 0) & (c2 > 0)
            cosine = np.where(live, np.abs(g) / np.sqrt(np.where(live, a * c2, 1.0)), 0.0)
            worst = max(worst, float(np.max(cosine)) if cosine.size else 0.0)
            act = live & (cosine > JACOBI_TOL)
            if not np.any(act):
                continue
            r = np.where(act, np.exp(np.minimum(lq - lp, 0.0)), 0.0)
            g_safe = np.where(act, g, 1.0)
            rz = (r * r * c2 - a) / (2.0 * g_safe)  # r * zeta
            sign = np.where(rz >= 0, 1.0, -1.0)
            t_over_r = sign / (np.abs(rz) + np.sqrt(r * r + rz * rz))
            t = t_over_r * r
            c = 1.0 / np.sqrt(1.0 + t * t)
            t_over_r = np.where(act, t_over_r, 0.0)
            t = np.where(act, t, 0.0)
            c = np.where(act, c, 1.0)
            new_p = c[:, None, :] * (bp - (t * r)[:, None, :] * bq)
            new_q = c[:, None, :] * (t_over_r[:, None, :] * bp + bq)
            np_norm = np.linalg.norm(new_p, axis=1)
            nq_norm = np.linalg.norm(new_q, axis=1)
            new_p /= np.where(np_norm > 0, np_norm, 1.0)[:, None, :]
            new_q /= np.where(nq_norm > 0, nq_norm, 1.0)[:, None, :]
            with np.errstate(divide="ignore"):
                lp_new = lp + np.log(np_norm)
                lq_new = lq + np.log(nq_norm)
            np.put_along_axis(b, big[:, None, :], new_p, axis=2)
            np.put_along_axis(b, small[:, None, :], new_q, axis=2)
            ls[rows, big] = lp_new
            ls[rows, small] = lq_new
        if worst <= JACOBI_TOL:
            break
    out = -np.sort(-ls, axis=1)
    return out[:, :n]


def log_singular_values(
    rng: np.random.Generator, n: int, depth: int, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(log s_i^2, sum_l log R^(l)_ii^2)`` for ``count`` products of ``depth`` n x n Gaussian
    matrices (module docstring): both (count, n), the first sorted descending."""
    count, n = int(count), int(n)
    q = np.broadcast_to(np.eye(n), (count, n, n)).copy()
    rho = np.zeros((count, n))
    rows = np.broadcast_to(np.eye(n), (count, n, n)).copy()
    diag = np.zeros((count, n))
    upper = np.triu(np.ones((n, n), dtype=bool))
    for _ in range(int(depth)):
        q, r = np.linalg.qr(gaussian_layers(rng, count, n) @ q)
        rd = np.abs(np.diagonal(r, axis1=1, axis2=2))
        diag += 2.0 * np.log(rd)
        shift = np.minimum(rho[:, None, :] - rho[:, :, None], 700.0)  # rho_k - rho_i
        s = np.where(upper[None], r * np.exp(np.where(upper[None], shift, 0.0)), 0.0)
        new = s @ rows
        norm = np.linalg.norm(new, axis=2)
        rho = rho + np.log(norm)
        rows = new / norm[:, :, None]
    log_s = jacobi_log_singular_values(np.swapaxes(rows, 1, 2), rho)
    return 2.0 * log_s, diag

"""Exact population quantities of Expander Nets (spec ``expander-nets.md`` section 4).

For the default ``sigma(z) = cos z - sin z`` and x ~ N(0, Gamma), Gamma = diag(gamma):

    E[sigma(u.x) sigma(u'.x)]       = exp(-1/2 (u - u')^T Gamma (u - u'))              (K)
    E[h_alpha(Gamma^{-1/2} x) sigma(u.x)]
                                    = s_{|alpha|} prod_i v_i^{alpha_i} / sqrt(alpha_i!)
                                      * exp(-|v|^2 / 2),   v = Gamma^{1/2} u          (b)
    s_n = Re[(1 + i) i^n] = +1, -1, -1, +1 for n mod 4 = 0, 1, 2, 3

so with rows u_j = W1^T w_j (U = W_froz W1, k x d) and the target sum_j coef_j h_{alpha_j}:

    L = 1/2 ( sum_j coef_j^2 - 2 W2 . (sum_j coef_j b_j) + W2 K W2^T ).

:func:`population_loss` evaluates the quadratic form in row blocks of K (``lax.map`` over blocks,
each block rematerialized in the backward pass), so neither the loss nor its ``jax.grad`` ever
holds a k x k matrix: at k = 30000 one block is about 4 M entries.

For other nonlinearities there is no closed form; :func:`mc_population` estimates the same
quantities on a fixed held-out sample (also blocked over rows).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.scipy.special import gammaln

from theoryscope.core.hermite import hermite_terms

#: Entries per block of K (or of the held-out activations): bounds the working memory.
BLOCK_ENTRIES = 1 << 22
_SIGNS = (1.0, -1.0, -1.0, 1.0)  # s_n for n mod 4 (spec 4)
_MAX_DEGREE = 32  # config.MAX_ALPHA: the power table bound when alphas are traced


def _scaled(U: Any, gamma: Any) -> Any:
    """v_j = Gamma^{1/2} u_j for every row of U."""
    return U * jnp.sqrt(jnp.asarray(gamma, U.dtype))


def kernel_matrix(U: Any, gamma: Any) -> Any:
    """K_jj' = exp(-1/2 |Gamma^{1/2}(u_j - u_j')|^2), the full k x k matrix (small k only)."""
    V = _scaled(U, gamma)
    diff = V[:, None, :] - V[None, :, :]
    return jnp.exp(-0.5 * jnp.sum(diff * diff, axis=-1))


def term_overlaps(U: Any, alphas: Any, gamma: Any) -> Any:
    """b[j, l] = E[h_{alpha_j}(Gamma^{-1/2} x) sigma(u_l . x)] for U of shape (k, d); (m, k).

    s_{|alpha|} prod_i v_i^{alpha_i} / sqrt(alpha_i!) exp(-|v|^2/2), v = Gamma^{1/2} u (spec 4).
    ``alphas`` may be a NumPy array (static degrees: only the needed powers are multiplied) or a
    traced integer array (degrees <= 32: a loop of 32 masked multiplies). No pow(0, 0) appears,
    so the gradient is finite everywhere.
    """
    V = _scaled(U, gamma)
    dt = V.dtype
    envelope = jnp.exp(-0.5 * jnp.sum(V * V, axis=-1))  # (k,)
    if isinstance(alphas, (np.ndarray, list, tuple)):
        # Static degrees: multiply only the needed powers.
        alphas_np = np.asarray(alphas, dtype=np.int64).reshape(-1, V.shape[-1])
        n_max = int(alphas_np.max()) if alphas_np.size else 0
        powers = [jnp.ones_like(V)]
        for _ in range(n_max):
            powers.append(powers[-1] * V)
        rows = []
        for alpha in alphas_np:
            scale = _SIGNS[int(alpha.sum()) % 4] / math.sqrt(
                math.prod(math.factorial(int(a)) for a in alpha)
            )
            row = envelope * scale
            for i, a in enumerate(alpha):
                if a > 0:
                    row = row * powers[int(a)][:, i]
            rows.append(row)
        return jnp.stack(rows)
    alphas = jnp.asarray(alphas, jnp.int32)

    def times_v(i: Any, acc: Any) -> Any:  # acc[j, l, i'] = v_li'^min(i, alpha_ji')
        return jnp.where(i < alphas[:, None, :], acc * V[None], acc)

    picked = lax.fori_loop(0, _MAX_DEGREE, times_v, jnp.ones((alphas.shape[0],) + V.shape, dt))
    norm = jnp.exp(-0.5 * jnp.sum(gammaln(alphas.astype(dt) + 1), axis=-1))  # 1/sqrt(prod a!)
    sign = jnp.asarray(_SIGNS, dt)[jnp.sum(alphas, axis=-1) % 4]
    return (sign * norm)[:, None] * jnp.prod(picked, axis=-1) * envelope[None, :]


def block_size(k: int, n_cols: int | None = None) -> int:
    """Rows per block so that one block (rows x n_cols) holds about BLOCK_ENTRIES entries."""
    n_cols = k if n_cols is None else n_cols
    return int(max(1, min(k, BLOCK_ENTRIES // max(1, n_cols))))


def _blocked_rows(n: int, rows: int) -> tuple[int, int]:
    n_blocks = -(-n // rows)
    return n_blocks, n_blocks * rows - n


def quadratic_form(W2: Any, V: Any) -> Any:
    """W2 K W2^T with K_jj' = exp(-1/2 |v_j - v_j'|^2), accumulated over row blocks of K."""
    k = V.shape[0]
    rows = block_size(k)
    n_blocks, pad = _blocked_rows(k, rows)
    sq = jnp.sum(V * V, axis=-1)
    Vb = jnp.pad(V, ((0, pad), (0, 0))).reshape(n_blocks, rows, V.shape[1])
    wb = jnp.pad(W2, (0, pad)).reshape(n_blocks, rows)

    @jax.checkpoint
    def block(args: tuple[Any, Any]) -> Any:
        v_blk, w_blk = args
        sq_blk = jnp.sum(v_blk * v_blk, axis=-1)
        dist2 = sq_blk[:, None] + sq[None, :] - 2.0 * (v_blk @ V.T)
        kb = jnp.exp(-0.5 * jnp.maximum(dist2, 0.0))
        return w_blk @ (kb @ W2)

    if n_blocks == 1:
        return block((Vb[0], wb[0]))
    return jnp.sum(lax.map(block, (Vb, wb)))


def population_loss(W1: Any, W2: Any, W_froz: Any, gamma: Any, alphas: Any, coefs: Any) -> Any:
    """Exact L = 1/2 (sum coef^2 - 2 W2 . sum_j coef_j b_j + W2 K W2^T) (spec 4, sqrt2cos only).

    Shapes: W1 (d, d), W2 (k,), W_froz (k, d), gamma (d,), alphas int (m, d), coefs (m,).
    Blocked over rows of K; ``jax.grad`` of it is the exact population gradient.
    """
    U = W_froz @ W1
    coefs = jnp.asarray(coefs, U.dtype)
    b = term_overlaps(U, alphas, gamma)  # (m, k)
    target = coefs @ b
    quad = quadratic_form(W2, _scaled(U, gamma))
    return 0.5 * (jnp.sum(coefs * coefs) - 2.0 * jnp.dot(W2, target) + quad)


#: The exact population gradient (dL/dW1, dL/dW2), same arguments as :func:`population_loss`.
population_grad = jax.grad(population_loss, argnums=(0, 1))


def population_overlaps(W1: Any, W2: Any, W_froz: Any, gamma: Any, alphas: Any) -> Any:
    """<f_hat, h_alpha_j> = E[f_hat(x) h_{alpha_j}(Gamma^{-1/2} x)] = b_j . W2, shape (m,)."""
    return term_overlaps(W_froz @ W1, alphas, gamma) @ W2


# -- Monte Carlo fallbacks (any nonlinearity) -----------------------------------------------------


def holdout_sample(key: Any, n: int, gamma: Any, dtype: Any) -> Any:
    """A held-out sample X_hold (n x d) of N(0, diag gamma)."""
    g = jnp.asarray(gamma, dtype)
    return jax.random.normal(key, (n, g.shape[0]), dtype) * jnp.sqrt(g)


def holdout_targets(X_hold: Any, gamma: Any, alphas: Any, coefs: Any) -> tuple[Any, Any]:
    """(f_*(X_hold), H) with H[:, j] = h_{alpha_j}(X_hold / sqrt(gamma)) (spec 2)."""
    dt = X_hold.dtype
    z = X_hold / jnp.sqrt(jnp.asarray(gamma, dt))
    H = hermite_terms(np.asarray(alphas), z)
    return H @ jnp.asarray(coefs, dt), H


def mc_predictions(W1: Any, W2: Any, W_froz: Any, X: Any, sigma: Callable[[Any], Any]) -> Any:
    """f_hat on the rows of X, in row blocks (never more than ~4 M activations at once)."""
    n = X.shape[0]
    k = W_froz.shape[0]
    U = W_froz @ W1
    rows = block_size(n, k)
    n_blocks, pad = _blocked_rows(n, rows)
    Xb = jnp.pad(X, ((0, pad), (0, 0))).reshape(n_blocks, rows, X.shape[1])

    def block(x: Any) -> Any:
        return sigma(x @ U.T) @ W2

    if n_blocks == 1:
        return block(Xb[0])[:n]
    return lax.map(block, Xb).reshape(-1)[:n]


def mc_population(
    W1: Any,
    W2: Any,
    W_froz: Any,
    X_hold: Any,
    y_hold: Any,
    H_hold: Any,
    sigma: Callable[[Any], Any],
) -> tuple[Any, Any]:
    """Held-out estimates (1/2 mean (f_* - f_hat)^2, mean(f_hat h_alpha_j) for each j)."""
    f = mc_predictions(W1, W2, W_froz, X_hold, sigma)
    e = y_hold - f
    return 0.5 * jnp.mean(e * e), jnp.mean(f[:, None] * H_hold, axis=0)


def expected_target_norm(coefs: Any) -> float:
    """E[f_*^2] = sum_j coef_j^2 (distinct multi-indices are orthonormal, spec 2)."""
    return float(math.fsum(float(c) ** 2 for c in coefs))

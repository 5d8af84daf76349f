"""Normalized probabilists' Hermite polynomials (spec ``expander-nets.md`` section 2).

Definitions::

    He_0(z) = 1,  He_1(z) = z,  He_{n+1}(z) = z He_n(z) - n He_{n-1}(z)
    h_n(z)  = He_n(z) / sqrt(n!)
    h_alpha(z) = prod_i h_{alpha_i}(z_i)            (z in R^d, alpha a multi-index)

Under z ~ N(0, I) the h_alpha are orthonormal: E[h_alpha h_beta] = [alpha == beta]. The target
of Expander Nets is ``sum_j coef_j h_{alpha_j}(Gamma^{-1/2} x)``.

Every function works on NumPy arrays and on JAX arrays (also under ``jit``): only ``*``, ``-``
and indexing are used, and the degrees are Python integers (static under tracing). The
normalized recurrence ``h_{n+1} = (z h_n - sqrt(n) h_{n-1}) / sqrt(n+1)`` is used so large
degrees do not overflow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def hermite_he(n: int, z: Any) -> Any:
    """Probabilists' Hermite He_n(z) by the three-term recurrence (spec 2)."""
    if n < 0:
        raise ValueError(f"degree must be >= 0, got {n}")
    prev = z * 0 + 1
    if n == 0:
        return prev
    cur = z
    for m in range(1, n):
        prev, cur = cur, z * cur - m * prev
    return cur


def hermite_table(n_max: int, z: Any) -> list[Any]:
    """[h_0(z), ..., h_{n_max}(z)], the normalized h_n = He_n / sqrt(n!) (spec 2).

    Uses h_{n+1} = (z h_n - sqrt(n) h_{n-1}) / sqrt(n + 1), equivalent to the He recurrence.
    """
    if n_max < 0:
        raise ValueError(f"degree must be >= 0, got {n_max}")
    out = [z * 0 + 1]
    if n_max >= 1:
        out.append(z * 1)
    for n in range(1, n_max):
        out.append((z * out[n] - math.sqrt(n) * out[n - 1]) * (1.0 / math.sqrt(n + 1)))
    return out


def hermite_h(n: int, z: Any) -> Any:
    """Normalized h_n(z) = He_n(z) / sqrt(n!) (spec 2)."""
    return hermite_table(n, z)[n]


def hermite_product(alpha: Sequence[int], z: Any) -> Any:
    """h_alpha(z) = prod_i h_{alpha_i}(z[..., i]) for z of shape (..., d) (spec 2)."""
    alpha = [int(a) for a in alpha]
    if z.shape[-1] != len(alpha):
        raise ValueError(f"alpha has {len(alpha)} entries but z has last axis {z.shape[-1]}")
    out = None
    for i, a in enumerate(alpha):
        if a == 0:
            continue
        factor = hermite_h(a, z[..., i])
        out = factor if out is None else out * factor
    if out is None:
        out = z[..., 0] * 0 + 1
    return out


def hermite_terms(alphas: Any, z: Any) -> Any:
    """All terms at once: out[..., j] = h_{alpha_j}(z) for alphas of shape (m, d).

    Builds one table of h_n(z_i), n <= max alpha, and multiplies the needed entries; returns an
    array of shape z.shape[:-1] + (m,) (NumPy or JAX, following z).
    """
    alphas = np.asarray(alphas, dtype=int)
    if alphas.ndim != 2 or alphas.shape[1] != z.shape[-1]:
        raise ValueError(f"alphas must be (m, {z.shape[-1]}), got {alphas.shape}")
    n_max = int(alphas.max()) if alphas.size else 0
    tables = [hermite_table(n_max, z[..., i]) for i in range(z.shape[-1])]
    cols = []
    for alpha in alphas:
        col = None
        for i, a in enumerate(alpha):
            if a == 0:
                continue
            col = tables[i][a] if col is None else col * tables[i][a]
        cols.append(z[..., 0] * 0 + 1 if col is None else col)
    if isinstance(z, np.ndarray):
        return np.stack(cols, axis=-1)
    import jax.numpy as jnp

    return jnp.stack(cols, axis=-1)


def target_function(alphas: Any, coefs: Any, x: Any, gamma: Any) -> Any:
    """f_*(x) = sum_j coef_j h_{alpha_j}(x / sqrt(gamma)) for x of shape (..., d) (spec 2)."""
    z = x * (1.0 / np.sqrt(np.asarray(gamma, dtype=float))).astype(getattr(x, "dtype", np.float64))
    h = hermite_terms(alphas, z)
    return h @ np.asarray(coefs, dtype=getattr(x, "dtype", np.float64))

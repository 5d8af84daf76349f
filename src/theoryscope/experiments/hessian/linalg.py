"""Matrix-free spectra of symmetric operators: HVPs, Lanczos, stochastic Lanczos quadrature.

hvp       H v = d/de grad L(theta + e v) at e = 0: jax.jvp over jax.grad (forward-over-reverse,
          Pearlmutter 1994), the cost of about two gradients
lanczos   m steps of the Lanczos recursion  A q_j = beta_{j-1} q_{j-1} + alpha_j q_j + beta_j q_{j+1}
          with full reorthogonalization (twice, Parlett's "twice is enough") against every
          previous q, so the Ritz values (eigenvalues of the tridiagonal T_m) of the top end
          converge to the top eigenvalues of A without ghost copies (Golub & Van Loan, 4th ed.,
          sections 10.1-10.3). At m = P the Ritz values are the exact spectrum: after a
          breakdown (beta ~ 0) the normalized round-off vector, orthogonal to the basis, starts
          a fresh Krylov space.
slq       stochastic Lanczos quadrature (Ubaru, Chen, Saad, SIMAX 2017; Ghorbani, Krishnan,
          Xiao, ICML 2019, section 3): for a unit probe v, the Gauss quadrature of T_m,
          nodes theta_j (Ritz values) and weights tau_j = (first entry of the j-th eigenvector
          of T_m)^2, approximates the spectral measure v^T delta(t - A) v = sum_i (v.u_i)^2
          delta(t - lambda_i), whose mean over random directions is the eigenvalue density
          (1/P) sum_i delta(t - lambda_i). The weights of each probe sum to 1, so the density
          smoothed by a unit-mass Gaussian integrates to 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

Array = Any
Matvec = Callable[[Array], Array]


def restart_vector(p: int, j: Array, dtype: Any) -> Array:
    """A deterministic pseudo-random vector in [-1/2, 1/2)^p for restart j (the classic
    ``frac(sin(a i + b j) c)`` hash: no PRNG, which would cost seconds of compilation)."""
    i = jnp.arange(p, dtype=jnp.float32)
    t = jnp.sin(12.9898 * i + 78.233 * (j.astype(jnp.float32) + 1.0)) * 43758.5453
    return (t - jnp.floor(t) - 0.5).astype(dtype)


def hvp(loss_fn: Callable[[Array], Array], theta: Array, vec: Array) -> Array:
    """``H(theta) vec`` by forward-over-reverse differentiation."""
    return jax.jvp(jax.grad(loss_fn), (theta,), (vec,))[1]


def lanczos(matvec: Matvec, v0: Array, iters: int) -> tuple[Array, Array, Array]:
    """``iters`` Lanczos steps from ``v0`` with full reorthogonalization.

    Returns ``(alpha (m,), beta (m,), basis (m, P))``: T_m has diagonal alpha and off-diagonal
    ``beta[:-1]``; the rows of ``basis`` are the orthonormal Lanczos vectors q_1..q_m.

    Breakdown (an invariant subspace found: ``beta_j <= 10 eps ||A||_est sqrt(P)``, as for a
    low-rank operator) restarts from a pseudo-random vector orthogonalized against the basis and
    records ``beta_j = 0``, so T_m is block diagonal and its eigenvalues stay eigenvalues of A.
    The restart vectors are :func:`restart_vector` (fixed, distinct per step; any vector with a
    component outside the basis serves).
    """
    p = v0.shape[0]
    eps = jnp.finfo(v0.dtype).eps
    q0 = v0 / jnp.linalg.norm(v0)

    def orth(basis: Array, w: Array) -> Array:
        w = w - basis.T @ (basis @ w)  # full reorthogonalization ...
        return w - basis.T @ (basis @ w)  # ... twice is enough

    def body(carry: tuple[Array, Array, Array, Array, Array], j: Array) -> tuple[Any, Any]:
        basis, q, q_prev, beta_prev, scale = carry
        basis = basis.at[j].set(q)
        w = matvec(q)
        alpha = jnp.vdot(q, w)
        w = orth(basis, w - alpha * q - beta_prev * q_prev)
        beta = jnp.linalg.norm(w)
        scale = jnp.maximum(scale, jnp.abs(alpha) + beta + beta_prev)
        broke = beta <= 10 * eps * jnp.sqrt(p) * scale
        r = orth(basis, restart_vector(p, j, v0.dtype))
        r = r / jnp.linalg.norm(r)
        q_next = jnp.where(broke, r, w / jnp.where(broke, 1.0, beta))
        beta = jnp.where(broke, 0.0, beta)
        return (basis, q_next, q, beta, scale), (alpha, beta)

    zero = jnp.zeros((), v0.dtype)
    init = (jnp.zeros((iters, p), v0.dtype), q0, jnp.zeros_like(q0), zero, zero)
    (basis, *_), (alphas, betas) = jax.lax.scan(body, init, jnp.arange(iters))
    return alphas, betas, basis


def tridiagonal(alphas: Array, betas: Array) -> Array:
    """T_m from the Lanczos coefficients."""
    return jnp.diag(alphas) + jnp.diag(betas[:-1], 1) + jnp.diag(betas[:-1], -1)


def top_eigenpairs(matvec: Matvec, v0: Array, iters: int, k: int) -> tuple[Array, Array]:
    """The k largest Ritz values (descending) and their unit Ritz vectors (P, k)."""
    alphas, betas, basis = lanczos(matvec, v0, iters)
    evals, evecs = jnp.linalg.eigh(tridiagonal(alphas, betas))
    order = jnp.arange(iters - 1, iters - 1 - k, -1)
    vecs = basis.T @ evecs[:, order]
    vecs = vecs / jnp.linalg.norm(vecs, axis=0, keepdims=True)
    return evals[order], vecs


def extreme_eigenvalues(matvec: Matvec, v0: Array, iters: int) -> tuple[Array, Array]:
    """(smallest, largest) Ritz value after ``iters`` steps (the spectrum's two edges)."""
    alphas, betas, _ = lanczos(matvec, v0, iters)
    evals = jnp.linalg.eigvalsh(tridiagonal(alphas, betas))
    return evals[0], evals[-1]


def quadrature(matvec: Matvec, v0: Array, iters: int) -> tuple[Array, Array]:
    """Gauss quadrature of one probe: nodes (Ritz values) and weights tau_j (sum 1)."""
    alphas, betas, _ = lanczos(matvec, v0, iters)
    evals, evecs = jnp.linalg.eigh(tridiagonal(alphas, betas))
    return evals, evecs[0, :] ** 2


@dataclass
class Density:
    """An SLQ spectral density: per-probe nodes and weights, and the smoothed density on a grid."""

    nodes: np.ndarray  # (probes, m)
    weights: np.ndarray  # (probes, m), each row sums to 1
    grid: np.ndarray
    density: np.ndarray  # phi(t) on the grid, integrates to ~1
    sigma: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "nodes": self.nodes.tolist(),
            "weights": self.weights.tolist(),
            "grid": self.grid.tolist(),
            "density": self.density.tolist(),
            "sigma": self.sigma,
        }


def slq(
    matvec: Matvec,
    probes: np.ndarray,
    iters: int,
    *,
    dtype: Any,
    sigma: float | None = None,
    grid_points: int = 400,
) -> Density:
    """Stochastic Lanczos quadrature over the rows of ``probes`` (each a random direction).

    The density ``phi(t) = (1/n_v) sum_l sum_j tau_lj N(t; theta_lj, sigma^2)`` is evaluated on a
    grid covering the nodes +- 5 sigma; ``sigma`` defaults to 1 % of the nodes' range
    (Ghorbani et al. 2019 smooth with a Gaussian of small variance the same way).
    """
    run = jax.jit(lambda v: quadrature(matvec, v, iters))
    nodes, weights = [], []
    for v in probes:
        t, w = run(jnp.asarray(v, dtype))
        nodes.append(np.asarray(t, dtype=np.float64))
        weights.append(np.asarray(w, dtype=np.float64))
    node_arr, weight_arr = np.stack(nodes), np.stack(weights)
    weight_arr = weight_arr / weight_arr.sum(axis=1, keepdims=True)  # exact 1 (round-off only)
    lo, hi = float(node_arr.min()), float(node_arr.max())
    width = sigma if sigma is not None else max(0.01 * (hi - lo), 1e-12 * max(abs(hi), 1.0))
    grid = np.linspace(lo - 5 * width, hi + 5 * width, grid_points)
    density = smoothed_density(node_arr.ravel(), weight_arr.ravel() / len(node_arr), grid, width)
    return Density(node_arr, weight_arr, grid, density, width)


def smoothed_density(
    points: np.ndarray, weights: np.ndarray, grid: np.ndarray, sigma: float
) -> np.ndarray:
    """``sum_j w_j N(t; x_j, sigma^2)`` on the grid."""
    z = (grid[:, None] - points[None, :]) / sigma
    return (np.exp(-0.5 * z * z) / (sigma * np.sqrt(2 * np.pi))) @ weights


def dense_hessian(loss_fn: Callable[[Array], Array], theta: Array) -> np.ndarray:
    """The exact P x P Hessian (jax.hessian = jacfwd(jacrev)), symmetrized, as float64 NumPy."""
    h = np.asarray(jax.jit(jax.hessian(loss_fn))(theta), dtype=np.float64)
    return 0.5 * (h + h.T)


def random_unit(rng: np.random.Generator, p: int) -> np.ndarray:
    """A uniformly random unit vector of R^p (float64)."""
    v = rng.standard_normal(p)
    return v / np.linalg.norm(v)


def subspace_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """``||Q_a^T Q_b||_F^2 / min(dim)``: 1 when one span contains the other, ~dim/P at random.

    The columns of a and b span the two subspaces (orthonormalized here by a thin QR; columns
    of a rank-deficient block beyond its rank are dropped).
    """
    qa, qb = orthonormal(a), orthonormal(b)
    k = min(qa.shape[1], qb.shape[1])
    if k == 0:
        return float("nan")
    return float(np.sum((qa.T @ qb) ** 2) / k)


def orthonormal(a: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    """An orthonormal basis of the column span of a (by SVD, dropping tiny singular values)."""
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0:
        return a.reshape(a.shape[0], 0)
    u, s, _ = np.linalg.svd(a, full_matrices=False)
    keep = s > rtol * (s[0] if s.size else 0.0)
    return u[:, keep]

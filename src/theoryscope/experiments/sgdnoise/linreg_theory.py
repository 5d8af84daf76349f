"""Exact first and second moments of SGD on least squares, hence both FDR sides at every step.

L(theta) = 1/(2m) |X theta - y|^2 + lambda/2 |theta|^2, A = X^T X / m + lambda I, theta* = A^{-1}
X^T y / m, r*_k = x_k . theta* - y_k. With Bernoulli batches (p = |B|/m, lecture 11/16)
g_B(theta) = A delta + xi, delta = theta - theta*, E[xi | theta] = 0 and

    Cov(xi | theta) = kappa sum_k r_k(theta)^2 x_k x_k^T,    kappa = p (1 - p) / |B|^2 = (1-p)/(|B| m).

Since xi is conditionally centred, the moments m_t = E delta_t, M_t = E delta_t delta_t^T follow
an exact affine recursion (no small-eta approximation; P = I - eta A):

    m_{t+1} = P m_t,
    M_{t+1} = P M_t P + eta^2 kappa sum_k E[r_k^2] x_k x_k^T,   E[r_k^2] = x_k^T M x_k
                                                                 + 2 r*_k x_k . m + r*_k^2.

Every FDR observable is linear in s = (vec M, m, 1):

    E[theta . grad L]        = tr(A M) + (A theta*) . m     ((theta - theta*) . grad L: tr(A M))
    E[(eta/2)|g_B|^2]        = (eta/2) [tr(A^2 M) + kappa sum_k |x_k|^2 E r_k^2]
    E[|grad L|^2]            = tr(A^2 M)
    E[(eta/2) g_B . A g_B]   = (eta/2) [tr(A^3 M) + kappa sum_k (x_k . A x_k) E r_k^2]
    E[L]                     = L(theta*) + tr(A M) / 2,        E|delta|^2 = tr M.

Block means are sums of powers of the (d^2 + d + 1)-square operator, computed by doubling. The
stationary law has m = 0 and M the solution of the linear fixed point (exact at any stable
eta), against the small-eta closed form A S + S A = eta C*, C* = kappa X^T diag(r*^2) X (the
continuous Lyapunov equation). Both FDRs hold exactly at stationarity here (L is quadratic).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_continuous_lyapunov

#: Names of the exact expected observables (rows of the functional matrix).
FUNCTIONALS = ("o_l", "o_r", "f_l", "f_r", "loss", "sq")


@dataclass
class Moments:
    """The affine moment operator of one (X, y, lambda, eta, p) and its readouts."""

    operator: np.ndarray  # (D, D) on s = (vec M, m, 1)
    functionals: np.ndarray  # (6, D): rows of FUNCTIONALS
    s0: np.ndarray  # the start theta = 0: m = -theta*, M = theta* theta*^T
    d: int
    a: np.ndarray
    theta_star: np.ndarray
    c_star: np.ndarray  # kappa X^T diag(r*^2) X
    loss_star: float


def moment_operator(
    x: np.ndarray,
    y: np.ndarray,
    weight_decay: float,
    eta: float,
    p: float,
    centered: bool = False,
) -> Moments:
    """The exact operator and functionals of the module doc (float64); ``centered``: the FDR1
    left side is (theta - theta*) . grad L."""
    m, d = x.shape
    a = x.T @ x / m + weight_decay * np.eye(d)
    theta_star = np.linalg.solve(a, x.T @ y / m)
    r_star = x @ theta_star - y
    b = p * m
    kappa = (1.0 - p) / (b * m)
    pm = np.eye(d) - eta * a
    w = np.einsum("ki,kj->kij", x, x).reshape(m, d * d)  # rows vec(x_k x_k^T)
    d2 = d * d
    size = d2 + d + 1
    # E[r_k^2] as a linear functional of s: (vec(x_k x_k^T), 2 r*_k x_k, r*_k^2)
    r2 = np.concatenate([w, 2.0 * r_star[:, None] * x, (r_star**2)[:, None]], axis=1)
    op = np.zeros((size, size))
    op[:d2, :] = eta * eta * kappa * (w.T @ r2)
    op[:d2, :d2] += np.kron(pm, pm)
    op[d2 : d2 + d, d2 : d2 + d] = pm
    op[-1, -1] = 1.0
    a2, a3 = a @ a, a @ a @ a
    zeros = np.zeros(d + 1)
    sq_x = np.einsum("ki,ki->k", x, x)
    xax = np.einsum("ki,ij,kj->k", x, a, x)
    loss_star = 0.5 * float(np.mean(r_star**2)) + 0.5 * weight_decay * float(
        theta_star @ theta_star
    )
    rows = np.stack([
        np.concatenate([a.ravel(), np.zeros(d) if centered else a @ theta_star, [0.0]]),
        0.5 * eta * (np.concatenate([a2.ravel(), zeros]) + kappa * (sq_x @ r2)),
        np.concatenate([a2.ravel(), zeros]),
        0.5 * eta * (np.concatenate([a3.ravel(), zeros]) + kappa * (xax @ r2)),
        np.concatenate([0.5 * a.ravel(), np.zeros(d), [loss_star]]),
        np.concatenate([np.eye(d).ravel(), zeros]),
    ])  # fmt: skip
    s0 = np.concatenate([np.outer(theta_star, theta_star).ravel(), -theta_star, [1.0]])
    c_star = kappa * (x.T * r_star**2) @ x
    return Moments(op, rows, s0, d, a, theta_star, c_star, loss_star)


def power_and_sum(op: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(op^n, sum_{i<n} op^i) by binary doubling (O(log n) products)."""
    eye = np.eye(len(op))
    res_p, res_s = eye, np.zeros_like(op)
    base_p, base_s = op, eye
    while n:
        if n & 1:
            res_s = res_s + res_p @ base_s
            res_p = res_p @ base_p
        base_s = base_s + base_p @ base_s
        base_p = base_p @ base_p
        n >>= 1
    return res_p, res_s


def block_means(mom: Moments, block: int, blocks: int) -> np.ndarray:
    """Exact expected block means (blocks, 6) of FUNCTIONALS over steps [j block, (j+1) block)."""
    with np.errstate(all="ignore"):  # an unstable eta: the moments overflow, as the run does
        power, total = power_and_sum(mom.operator, block)
        rows = mom.functionals @ total / block
        out = np.empty((blocks, len(FUNCTIONALS)))
        s = mom.s0.copy()
        for j in range(blocks):
            out[j] = rows @ s
            s = power @ s
    return out


def second_moment_radius(mom: Moments) -> float:
    """Spectral radius of the M -> M part of the operator (< 1: the second moments converge)."""
    d2 = mom.d * mom.d
    return float(np.max(np.abs(np.linalg.eigvals(mom.operator[:d2, :d2]))))


def stationary_covariance(mom: Moments) -> np.ndarray:
    """The exact stationary M (m = 0): (I - op_MM) vec M = op_M1 (module doc)."""
    d2 = mom.d * mom.d
    lhs = np.eye(d2) - mom.operator[:d2, :d2]
    cov = np.linalg.solve(lhs, mom.operator[:d2, -1]).reshape(mom.d, mom.d)
    return 0.5 * (cov + cov.T)


def small_eta_covariance(mom: Moments, eta: float) -> np.ndarray:
    """The small-eta closed form: A S + S A = eta C* (continuous Lyapunov equation)."""
    cov = solve_continuous_lyapunov(mom.a, eta * mom.c_star)
    return 0.5 * (cov + cov.T)


def stationary_values(mom: Moments, cov: np.ndarray) -> dict[str, float]:
    """The FUNCTIONALS at the stationary law (m = 0, M = cov)."""
    s = np.concatenate([cov.ravel(), np.zeros(mom.d), [1.0]])
    return {name: float(v) for name, v in zip(FUNCTIONALS, mom.functionals @ s, strict=True)}

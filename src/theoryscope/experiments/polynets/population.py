"""Exact Gaussian population loss of shallow polynomial networks, and its gradient (NumPy).

For x ~ N(0, I_d) and z^p = sum_k c_{p,k} He_k(z) (probabilists' Hermite polynomials, with
c_{p,k} = p! / (k! ((p-k)/2)! 2^((p-k)/2)) for k = p, p-2, ...), Mehler's formula
E[He_k(z1) He_l(z2)] = k! rho^k delta_kl gives (Arjevani et al. 2025, arXiv 2501.06074,
section 5 "the metric induced by the data distribution")

    E[(u.x)^p (v.x)^p] = sum_k c_{p,k}^2 k! (u.v)^k (|u|^2 |v|^2)^((p-k)/2)       (kernel K_p)

e.g. K_2 = 2 (u.v)^2 + |u|^2|v|^2,  K_3 = 6 (u.v)^3 + 9 (u.v)|u|^2|v|^2. The loss of a student
W (r x d) against a teacher W* (r* x d), all outer weights +1, is

    L(W) = E[(f_W(x) - f*(x))^2] = sum_ij K(w_i, w_j) - 2 sum_ij K(w_i, w*_j) + sum_ij K(w*_i, w*_j).

For p = 2 this is the Isserlis identity E[(x^T D x)^2] = 2 ||D||_F^2 + (tr D)^2 with
D = M - M*, M = W^T W (Du & Lee 2018, eq. 3; Soltanolkotabi, Javanmard & Lee 2019, section 2),
whose gradient is dL/dW = 2 W G with G = 4 D + 2 tr(D) I.

All functions take a leading batch axis (B, r, d) so seeds run together.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "hermite_coefficients",
    "kernel_loss_and_grad",
    "kernel",
    "loss_and_grad",
    "matrix_loss",
    "monte_carlo_loss",
    "sample_loss_and_grad",
]


def hermite_coefficients(p: int) -> dict[int, float]:
    """c_{p,k} with z^p = sum_k c_{p,k} He_k(z) (only k = p, p-2, ... >= 0 are nonzero)."""
    return {
        k: math.factorial(p)
        / (math.factorial(k) * math.factorial((p - k) // 2) * 2 ** ((p - k) // 2))
        for k in range(p % 2, p + 1, 2)
    }


def _terms(p: int) -> list[tuple[int, int, float]]:
    """(k, m, C) with K_p(g, nu, nv) = sum C g^k (nu nv)^m, C = c_{p,k}^2 k!, m = (p - k) / 2."""
    return [
        (k, (p - k) // 2, c * c * math.factorial(k)) for k, c in hermite_coefficients(p).items()
    ]


def kernel(p: int, g: np.ndarray, nu: np.ndarray, nv: np.ndarray) -> np.ndarray:
    """K_p = E[(u.x)^p (v.x)^p] from g = u.v, nu = |u|^2, nv = |v|^2 (module docstring)."""
    return sum((c * g**k * (nu * nv) ** m for k, m, c in _terms(p)), np.zeros_like(g))


def _kernel_partials(
    p: int, g: np.ndarray, nu: np.ndarray, nv: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """K, dK/dg and dK/dnu (nu is the first argument's squared norm)."""
    val, dg, dnu = np.zeros_like(g), np.zeros_like(g), np.zeros_like(g)
    for k, m, c in _terms(p):
        val = val + c * g**k * (nu * nv) ** m
        if k > 0:
            dg = dg + c * k * g ** (k - 1) * (nu * nv) ** m
        if m > 0:
            dnu = dnu + c * m * g**k * nu ** (m - 1) * nv**m
    return val, dg, dnu


def loss_and_grad(
    p: int, w: np.ndarray, w_star: np.ndarray, *, grad: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Population loss L (B,) and dL/dW (B, r, d) for students w (B, r, d), teacher (r*, d).

    p = 2 uses the matrix form (Isserlis); other degrees the Hermite kernel sum.
    """
    if p == 2:
        return _matrix_loss_and_grad(w, w_star, grad=grad)
    return kernel_loss_and_grad(p, w, w_star, grad=grad)


def kernel_loss_and_grad(
    p: int, w: np.ndarray, w_star: np.ndarray, *, grad: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Population loss and gradient from the kernel K_p (any degree p >= 1).

    Gradient of sum_ij K(S_ij, n_i, n_j) with S = W W^T, n = diag S:
    2 sum_j K_g(ij) w_j + 4 w_i sum_j K_nu(ij); the cross term likewise with the teacher.
    """
    s = np.einsum("bid,bjd->bij", w, w)
    n = np.einsum("bii->bi", s)
    c = np.einsum("bid,jd->bij", w, w_star)
    ns = np.einsum("jd,jd->j", w_star, w_star)
    kss, dss, nss = _kernel_partials(p, s, n[:, :, None], n[:, None, :])
    ksc, dsc, nsc = _kernel_partials(p, c, n[:, :, None], ns[None, None, :])
    kt = kernel(p, w_star @ w_star.T, ns[:, None], ns[None, :]).sum()
    loss = kss.sum(axis=(1, 2)) - 2.0 * ksc.sum(axis=(1, 2)) + kt
    if not grad:
        return loss, None
    g = 2.0 * np.einsum("bij,bjd->bid", dss, w) + 4.0 * nss.sum(axis=2)[:, :, None] * w
    g -= 2.0 * (np.einsum("bij,jd->bid", dsc, w_star) + 2.0 * nsc.sum(axis=2)[:, :, None] * w)
    return loss, g


def matrix_loss(delta: np.ndarray) -> np.ndarray:
    """E[(x^T D x)^2] = 2 ||D||_F^2 + (tr D)^2 for symmetric D (Isserlis), batched (..., d, d)."""
    tr = np.trace(delta, axis1=-2, axis2=-1)
    return 2.0 * np.sum(delta * delta, axis=(-2, -1)) + tr * tr


def _matrix_loss_and_grad(
    w: np.ndarray, w_star: np.ndarray, *, grad: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """p = 2: L = 2||D||^2 + tr(D)^2, D = W^T W - W*^T W*; dL/dW = 2 W (4 D + 2 tr(D) I)."""
    delta = np.einsum("bri,brj->bij", w, w) - w_star.T @ w_star
    tr = np.trace(delta, axis1=1, axis2=2)
    loss = 2.0 * np.sum(delta * delta, axis=(1, 2)) + tr * tr
    if not grad:
        return loss, None
    gmat = 4.0 * delta + 2.0 * tr[:, None, None] * np.eye(delta.shape[1])
    return loss, 2.0 * np.einsum("bri,bij->brj", w, gmat)


def sample_loss_and_grad(
    p: int, w: np.ndarray, w_star: np.ndarray, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Empirical loss mean_s (f_W(x_s) - f*(x_s))^2 (B,) and its gradient (B, r, d).

    dL/dw_i = (2 / n) sum_s e_s p (w_i . x_s)^(p-1) x_s, e_s the residual on sample s.
    """
    pre = np.einsum("brd,nd->brn", w, x)
    y = ((x @ w_star.T) ** p).sum(axis=1)
    err = (pre**p).sum(axis=1) - y[None, :]
    loss = np.mean(err * err, axis=1)
    coef = (2.0 * p / x.shape[0]) * err[:, None, :] * pre ** (p - 1)
    return loss, np.einsum("brn,nd->brd", coef, x)


def monte_carlo_loss(
    p: int, w: np.ndarray, w_star: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[float, float]:
    """Monte Carlo estimate of the population loss of one student (r, d): (mean, std error)."""
    x = rng.standard_normal((n, w.shape[1]))
    err = ((x @ w.T) ** p).sum(axis=1) - ((x @ w_star.T) ** p).sum(axis=1)
    sq = err * err
    return float(sq.mean()), float(sq.std() / math.sqrt(n))

"""Two bases of one space: ReLU features and P1 hat functions on the same nodes.

Source: talk (seed 004), slide "Two layer NN in 1D": ``span{sigma(x - b_i)}`` is the P1
finite-element space, "mathematically" the same, "numerically very different". On nodes
``-1 = x_1 < ... < x_n = 1`` the space V_h of continuous piecewise-linear functions has
dimension n and two bases:

    fe    hat functions phi_k: phi_k(x_j) = delta_kj (half hats at the ends),
    relu  psi_i(x) = sigma(x - x_i) for i = 1..n-1, and psi_n(x) = sigma(1 - x),
          i.e. ReLU neurons sigma(w_i x - b_i) with w_i = +-1 (the talk's R^d form, w on the
          sphere S^0) and one kink per node; psi_1 = x + 1 and psi_n = 1 - x carry the linear
          part, so no separate constant is needed.

Change of basis. Every psi_i lies in V_h, so ``psi_i = sum_k T_ki phi_k`` with
``T_ki = psi_i(x_k)`` (its nodal values). Hence, with ``M_kl = <phi_k, phi_l>`` the FE mass
matrix,

    G_relu = T^T M T,        F_relu = T^T F_fe,     (F_fe)_k = <f, phi_k>.

Mass matrix (exact; e.g. Ern & Guermond, "Theory and Practice of Finite Elements", Sec. 9.1):
tridiagonal, ``M_kk = (h_{k-1} + h_k)/3`` (one term at an end), ``M_{k,k+1} = h_k/6``,
``h_k = x_{k+1} - x_k``. With the patch lengths ``P_k = h_{k-1} + h_k`` (``P_1 = h_1``,
``P_n = h_{n-1}``) each element matrix ``h/6 [[2, 1], [1, 2]]`` has eigenvalues ``h/6`` and
``h/2``, so ``min P / 6 <= lambda(M) <= max P / 2`` while the diagonal gives
``lambda_max >= max P / 3``, ``lambda_min <= min P / 3``:

    max P / min P  <=  cond(M)  <=  3 max P / min P  <=  6 h_max / h_min,

the talk's ``cond = O(h_max / h_min)`` with explicit constants (tested).

ReLU Gram (exact): the spectral experiment's closed form :func:`..spectral.gram.gram_matrix`
(product of two ramps integrated exactly); for ``w = 1`` it is the talk's kernel
``G(x, y) = |x - y|^3/12 + (2 - x - y)(2(1 - x)(1 - y) - (x - y)^2)/12``.

Accurate conditioning. ``G_relu = B^T B`` with ``B = L^T T`` and ``M = L L^T`` (Cholesky of the
well-conditioned mass matrix), so the eigenvalues of G are the squared singular values of B,
which a backward-stable SVD gives to relative accuracy ``eps * cond(B) = eps * sqrt(cond(G))``:
condition numbers far beyond ``1/eps`` (``1e21`` for 1024 random nodes) stay measurable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

from theoryscope.experiments.fem.quadrature import MeshRule, mesh_rule
from theoryscope.experiments.fem.targets import Target
from theoryscope.experiments.spectral.gram import gram_matrix

__all__ = [
    "Spectrum",
    "change_of_basis",
    "condition_number",
    "evaluate",
    "fe_bounds",
    "features",
    "gram",
    "hat_features",
    "loads",
    "mass_banded",
    "mass_matrix",
    "nodal_values",
    "relu_features",
    "relu_params",
    "spectrum",
]

#: Rows per block when a dense feature matrix is evaluated on many points.
BLOCK = 4096


def relu_params(nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(w, b)`` of the ReLU basis ``sigma(w_i x - b_i)``: w = 1, b = x_i for i < n; w = -1,
    b = -1 for the last (``sigma(1 - x)``)."""
    nodes = np.asarray(nodes, dtype=np.float64)
    w = np.ones_like(nodes)
    w[-1] = -1.0
    b = w * nodes
    return w, b


def relu_features(x: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """``psi_i(x_m)``, shape (len(x), n), float64."""
    w, b = relu_params(nodes)
    return np.maximum(np.asarray(x, float)[:, None] * w[None, :] - b[None, :], 0.0)


def hat_features(x: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """``phi_k(x_m)``, shape (len(x), n), float64 (dense; two nonzeros per row)."""
    x = np.asarray(x, dtype=np.float64)
    nodes = np.asarray(nodes, dtype=np.float64)
    n = len(nodes)
    e = np.clip(np.searchsorted(nodes, x, side="right") - 1, 0, n - 2)
    t = np.clip((x - nodes[e]) / (nodes[e + 1] - nodes[e]), 0.0, 1.0)
    out = np.zeros((len(x), n))
    rows = np.arange(len(x))
    out[rows, e] = 1.0 - t
    out[rows, e + 1] += t
    return out


def features(basis: str, x: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """The sample (design) matrix of ``basis`` at the points x."""
    return relu_features(x, nodes) if basis == "relu" else hat_features(x, nodes)


def change_of_basis(nodes: np.ndarray) -> np.ndarray:
    """``T_ki = psi_i(x_k)``: ReLU coefficients -> nodal values (module docstring)."""
    return relu_features(nodes, nodes)


def mass_matrix(nodes: np.ndarray) -> np.ndarray:
    """The exact P1 mass matrix ``M_kl = <phi_k, phi_l>`` (dense, tridiagonal)."""
    h = np.diff(np.asarray(nodes, dtype=np.float64))
    diag = np.concatenate([h, [0.0]]) / 3.0 + np.concatenate([[0.0], h]) / 3.0
    return np.diag(diag) + np.diag(h / 6.0, 1) + np.diag(h / 6.0, -1)


def mass_banded(nodes: np.ndarray) -> np.ndarray:
    """The mass matrix in LAPACK's upper banded form (row 0 superdiagonal, row 1 diagonal), for
    :func:`scipy.linalg.solveh_banded`: an O(n) solve."""
    h = np.diff(np.asarray(nodes, dtype=np.float64))
    ab = np.zeros((2, len(h) + 1))
    ab[0, 1:] = h / 6.0
    ab[1] = np.concatenate([h, [0.0]]) / 3.0 + np.concatenate([[0.0], h]) / 3.0
    return ab


def fe_bounds(nodes: np.ndarray) -> tuple[float, float]:
    """``(max P / min P, 3 max P / min P)``: two-sided bounds on cond(M) (module docstring)."""
    h = np.diff(np.asarray(nodes, dtype=np.float64))
    patch = np.concatenate([h, [0.0]]) + np.concatenate([[0.0], h])
    ratio = float(patch.max() / patch.min())
    return ratio, 3.0 * ratio


def gram(basis: str, nodes: np.ndarray) -> np.ndarray:
    """The exact Gram matrix ``<psi_i, psi_j>_{L2(-1,1)}`` of ``basis`` (float64)."""
    if basis == "fe":
        return mass_matrix(nodes)
    w, b = relu_params(nodes)
    return np.asarray(gram_matrix(w, b))


@dataclass(frozen=True)
class Loads:
    """``<f, phi_k>``, ``||f||^2`` and the quadrature rule that gave them."""

    fe: np.ndarray
    norm2: float
    rule: MeshRule


def loads(target: Target, nodes: np.ndarray, rule: MeshRule | None = None) -> Loads:
    """FE load vector ``(F_fe)_k = <f, phi_k>`` and ``||f||^2`` by composite Gauss-Legendre."""
    rule = rule if rule is not None else mesh_rule(nodes)
    fw = target.f(rule.x) * rule.w
    n = len(nodes)
    fe = np.bincount(rule.elem, weights=fw * (1.0 - rule.t), minlength=n)
    fe += np.bincount(rule.elem + 1, weights=fw * rule.t, minlength=n)
    return Loads(fe=fe, norm2=float(np.sum(target.f(rule.x) ** 2 * rule.w)), rule=rule)


def basis_load(basis: str, nodes: np.ndarray, fe_load: np.ndarray) -> np.ndarray:
    """``F = <f, psi_i>`` of ``basis`` from the FE loads: ``T^T F_fe`` for relu (exact)."""
    return fe_load if basis == "fe" else change_of_basis(nodes).T @ fe_load


def nodal_values(basis: str, nodes: np.ndarray, a: np.ndarray) -> np.ndarray:
    """The nodal values of ``sum_i a_i psi_i`` (float64): ``T a`` for relu, ``a`` for fe."""
    a = np.asarray(a, dtype=np.float64)
    return a if basis == "fe" else change_of_basis(nodes) @ a


def evaluate(
    basis: str, nodes: np.ndarray, a: np.ndarray, x: np.ndarray, dtype: str = "float64"
) -> np.ndarray:
    """``h(x) = sum_i a_i psi_i(x)`` computed in ``dtype`` (features rounded to it), returned as
    float64: what a float32 network outputs."""
    dt = np.dtype(dtype)
    a = np.asarray(a).astype(dt)
    x = np.asarray(x, dtype=np.float64)
    out = np.empty(len(x))
    for start in range(0, len(x), BLOCK):
        xs = x[start : start + BLOCK]
        if basis == "relu":
            out[start : start + BLOCK] = features("relu", xs, nodes).astype(dt) @ a
        else:
            nd = np.asarray(nodes, dtype=np.float64)
            e = np.clip(np.searchsorted(nd, xs, side="right") - 1, 0, len(nd) - 2)
            t = np.clip((xs - nd[e]) / (nd[e + 1] - nd[e]), 0.0, 1.0).astype(dt)
            out[start : start + BLOCK] = (1 - t) * a[e] + t * a[e + 1]
    return out


@dataclass(frozen=True)
class Spectrum:
    """``G = B^T B``: eigenvalues ``sigma^2`` (descending), the left singular vectors ``U`` of
    B and the Cholesky factor ``L`` of M (module docstring)."""

    eigenvalues: np.ndarray
    left: np.ndarray
    chol: np.ndarray

    @property
    def condition_number(self) -> float:
        return float(self.eigenvalues[0] / self.eigenvalues[-1])


def condition_number(basis: str, nodes: np.ndarray) -> float:
    """cond(G) of ``basis``: exact tridiagonal eigenvalues for fe, singular values of
    ``B = L^T T`` squared for relu (module docstring)."""
    if basis == "fe":
        ab = mass_banded(nodes)
        lam = sla.eigvalsh_tridiagonal(ab[1], ab[0, 1:])
        return float(lam[-1] / lam[0])
    chol = np.linalg.cholesky(mass_matrix(nodes))
    s = sla.svdvals(chol.T @ change_of_basis(nodes))
    return float((s[0] / s[-1]) ** 2)


def spectrum(basis: str, nodes: np.ndarray) -> Spectrum:
    """The accurate spectrum of the Gram matrix of ``basis`` through ``B = L^T T``."""
    chol = np.linalg.cholesky(mass_matrix(nodes))
    b = chol.T if basis == "fe" else chol.T @ change_of_basis(nodes)
    u, s, _ = sla.svd(b, lapack_driver="gesvd")
    return Spectrum(eigenvalues=s**2, left=u, chol=chol)

"""Quadratic networks with signed outer weights and Gaussian data of any covariance (NumPy).

A width-r quadratic network is f(x) = sum_j a_j (w_j . x)^2 = x^T M x with
M = W diag(a) W^T (W is d x r, column j is w_j), a symmetric matrix of rank <= r (Arjevani,
Bruna, Kileel, Polak, Trager 2025, arXiv 2501.06074: the function space of a shallow
polynomial network is a set of symmetric tensors of bounded rank; degree 2: matrices).

Outer weights (``outer``):
    ``signed``  a_j = eps_j is fixed, p entries +1 and q = r - p entries -1 (magnitudes are absorbed
                into w_j since a (w . x)^2 = sign(a) (|a|^(1/2) w . x)^2); the function space is
                {M : at most p positive and q negative eigenvalues}; only W is trained
    ``free``    W and a are both trained; the function space is {M : rank M <= r}

Teacher: M* = U diag(lambda*) U^T (a quadratic network of width rank M*: a_j = lambda*_j,
w_j = u_j); U = I (``aligned``, M* diagonal in the input coordinates) or a Haar-random
orthogonal matrix fixed by ``teacher_seed`` (``random``). Data: x ~ N(0, Sigma) with Sigma
diagonal (``covariance``, the identity by default).

Population loss (Isserlis; the paper's teacher-student part: the inner product the data
induces on symmetric tensors): with D = M - M*,

    L(M) = E[(x^T D x)^2] = 2 tr((D Sigma)^2) + (tr(D Sigma))^2
         = 2 ||D~||_F^2 + (tr D~)^2,   D~ = Sigma^(1/2) D Sigma^(1/2),

so the covariance acts only through the transformed teacher M~* = Sigma^(1/2) M* Sigma^(1/2)
("the teacher in the transformed metric"); W -> Sigma^(1/2) W is a linear change of parameters.
Gradient: dL/dM = 4 Sigma D Sigma + 2 tr(D Sigma) Sigma =: Gm, dL/dW = 2 Gm W diag(a),
dL/da_j = w_j^T Gm w_j.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = [
    "Problem",
    "gd",
    "init_students",
    "loss_and_grad",
    "make_problem",
    "matrix_loss",
    "monte_carlo_loss",
    "student_matrix",
    "transformed",
]

Outer = Literal["signed", "free"]

#: Offsets of independent random streams (teacher basis, student inits, Monte Carlo samples).
_BASIS_STREAM = 11
_INIT_STREAM = 12


@dataclass(frozen=True)
class Problem:
    """One quadratic teacher-student problem.

    ``m_star`` M* (d, d); ``cov`` the diagonal of Sigma (d,); ``lam`` the eigenvalues of
    M~* = Sigma^(1/2) M* Sigma^(1/2) in decreasing order and ``vecs`` its eigenvectors (columns);
    ``width`` r; ``outer``; ``signs`` eps (r,) for ``signed`` (p ones then q minus ones), the
    canonical outer weights a_j = +1 for ``free``.
    """

    m_star: np.ndarray
    cov: np.ndarray
    lam: np.ndarray
    vecs: np.ndarray
    width: int
    outer: Outer
    signs: np.ndarray

    @property
    def d(self) -> int:
        return int(self.m_star.shape[0])

    @property
    def positive(self) -> int:
        """p: outer weights fixed to +1 (``signed``); r for ``free`` (any sign is reachable)."""
        return int(np.sum(self.signs > 0)) if self.outer == "signed" else self.width

    @property
    def negative(self) -> int:
        """q: outer weights fixed to -1 (``signed``); r for ``free``."""
        return int(np.sum(self.signs < 0)) if self.outer == "signed" else self.width

    @property
    def n_params(self) -> int:
        """d r (+ r trained outer weights for ``free``)."""
        return self.d * self.width + (self.width if self.outer == "free" else 0)

    @property
    def teacher_norm(self) -> float:
        """E[f*(x)^2] = L(0) = 2 ||M~*||_F^2 + (tr M~*)^2."""
        return float(2.0 * np.sum(self.lam**2) + np.sum(self.lam) ** 2)

    @property
    def sqrt_cov(self) -> np.ndarray:
        return np.sqrt(self.cov)


def haar_orthogonal(d: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-distributed d x d orthogonal matrix (QR of a Gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.where(np.diag(r) == 0, 1.0, np.diag(r)))[None, :]


def make_problem(
    teacher_eigs: tuple[float, ...] | list[float] | np.ndarray,
    *,
    width: int,
    outer: Outer = "signed",
    negative: int = 0,
    covariance: tuple[float, ...] | list[float] | np.ndarray | None = None,
    teacher_basis: Literal["aligned", "random"] = "random",
    teacher_seed: int = 0,
) -> Problem:
    """Build M*, Sigma and the transformed teacher's eigen-decomposition (module docstring)."""
    lam_star = np.asarray(teacher_eigs, dtype=np.float64)
    d = lam_star.size
    if teacher_basis == "random":
        u = haar_orthogonal(d, np.random.default_rng([int(teacher_seed), _BASIS_STREAM]))
    else:
        u = np.eye(d)
    m_star = (u * lam_star[None, :]) @ u.T
    m_star = 0.5 * (m_star + m_star.T)
    cov = np.ones(d) if covariance is None else np.asarray(covariance, dtype=np.float64)
    lam, vecs = transformed(m_star, cov)
    r = int(width)
    if outer == "signed":
        signs = np.concatenate([np.ones(r - int(negative)), -np.ones(int(negative))])
    else:
        signs = np.ones(r)
    return Problem(m_star=m_star, cov=cov, lam=lam, vecs=vecs, width=r, outer=outer, signs=signs)


def transformed(m: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (decreasing) and eigenvectors of Sigma^(1/2) M Sigma^(1/2), Sigma = diag(cov)."""
    s = np.sqrt(cov)
    mt = s[:, None] * m * s[None, :]
    vals, vecs = np.linalg.eigh(0.5 * (mt + mt.T))
    order = np.argsort(vals)[::-1]
    return vals[order], vecs[:, order]


def student_matrix(w: np.ndarray, a: np.ndarray) -> np.ndarray:
    """M = W diag(a) W^T for W (..., d, r) and a (..., r)."""
    return (w * a[..., None, :]) @ np.swapaxes(w, -1, -2)


def matrix_loss(m: np.ndarray, problem: Problem) -> np.ndarray:
    """L(M) = 2 tr((D Sigma)^2) + (tr(D Sigma))^2, D = M - M* (batched over leading axes)."""
    s = problem.sqrt_cov
    dt = s[:, None] * (m - problem.m_star) * s[None, :]
    tr = np.trace(dt, axis1=-2, axis2=-1)
    return 2.0 * np.sum(dt * dt, axis=(-2, -1)) + tr * tr


def loss_and_grad(
    problem: Problem, w: np.ndarray, a: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Population loss (B,), dL/dW (B, d, r) and dL/da (B, r) for students W (B, d, r), a (B, r)."""
    cov = problem.cov
    wa = w * a[:, None, :]
    delta = wa @ np.swapaxes(w, 1, 2) - problem.m_star
    ds = delta * cov  # D Sigma
    tr = np.trace(ds, axis1=1, axis2=2)
    loss = 2.0 * np.sum(ds * np.swapaxes(ds, 1, 2), axis=(1, 2)) + tr * tr
    gm = 4.0 * cov[:, None] * ds
    gm[:, np.arange(problem.d), np.arange(problem.d)] += 2.0 * tr[:, None] * cov
    gw = 2.0 * (gm @ wa)
    ga = np.sum(w * (gm @ w), axis=1)
    return loss, gw, ga


def init_students(problem: Problem, seeds: list[int], init: float) -> tuple[np.ndarray, np.ndarray]:
    """W_ij ~ N(0, init^2) (and, ``free``, a_j ~ N(0, init^2)); one stream per seed.

    ``signed`` students carry their fixed signs as a (B, r)."""
    d, r = problem.d, problem.width
    ws, as_ = [], []
    for seed in seeds:
        rng = np.random.default_rng([int(seed), _INIT_STREAM])
        ws.append(float(init) * rng.standard_normal((d, r)))
        if problem.outer == "free":
            as_.append(float(init) * rng.standard_normal(r))
        else:
            as_.append(problem.signs.copy())
    return np.stack(ws), np.stack(as_)


def gd(
    problem: Problem, w: np.ndarray, a: np.ndarray, lr: float, steps: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``steps`` GD steps on the population loss for a batch; ``signed`` keeps a fixed.

    Returns (W, a, loss at the final point). A student whose loss turns non-finite or above
    1e12 x max(1, L(0)) is frozen with loss inf.
    """
    cap = 1e12 * max(1.0, problem.teacher_norm)
    train_a = problem.outer == "free"
    alive = np.ones(w.shape[0], dtype=bool)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(int(steps)):
            loss, gw, ga = loss_and_grad(problem, w, a)
            bad = ~(np.isfinite(loss) & (loss < cap))
            bad |= ~np.isfinite(gw).all(axis=(1, 2)) | ~np.isfinite(ga).all(axis=1)
            alive &= ~bad
            gw[~alive] = 0.0
            ga[~alive] = 0.0
            w = w - lr * gw
            if train_a:
                a = a - lr * ga
        loss = loss_and_grad(problem, w, a)[0]
    loss = np.where(alive & np.isfinite(loss), loss, np.inf)
    return w, a, loss


def monte_carlo_loss(
    problem: Problem, m: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[float, float]:
    """Monte Carlo E[(x^T (M - M*) x)^2], x ~ N(0, Sigma): (mean, standard error)."""
    x = rng.standard_normal((int(n), problem.d)) * problem.sqrt_cov[None, :]
    err = np.einsum("ni,ij,nj->n", x, m - problem.m_star, x)
    sq = err * err
    return float(sq.mean()), float(sq.std() / math.sqrt(int(n)))

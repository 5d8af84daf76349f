"""Max margin: GD on the logistic loss of separable data, and the hard-margin SVM it approaches.

Model (Soudry, Hoffer, Nacson, Gunasekar, Srebro 2018, "The implicit bias of gradient descent on
separable data", eq. (1)-(2)), homogeneous linear classifier, w(0) = 0, z_i = y_i x_i:

    L(w) = 1/n sum_i log(1 + exp(-z_i . w)),   grad L = -1/n sum_i sigma(-z_i . w) z_i.

Theory (ibid., Theorem 3; lecture "Implicit Bias II", 11/14): ||w(t)|| -> inf, L -> 0 and

    w(t) = w_hat log t + w_tilde + o(1),  so  w(t)/||w(t)|| = w_hat/||w_hat|| + O(1/log t),

with w_hat = argmin ||w||^2 s.t. z_i . w >= 1 (the hard-margin SVM). Writing the SVM dual
w_hat = sum_{i in S} a_i z_i over the support vectors S, matching the exp(-u) tail of the loss at
order 1/t gives z_i . w_tilde = log(eta / (n a_i)) for i in S (ibid., eq. (9) with the mean loss's
1/n folded into eta); when the support vectors span R^d this fixes w_tilde, hence the asymptotic
angle(t) = angle(w_hat log t + w_tilde, w_hat) ~ ||P_perp w_tilde|| / (||w_hat|| log t).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog, minimize
from scipy.special import expit


def make_data(d: int, n: int, gap: float, flip: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n points x ~ N(0, I_d) with |w* . x| >= gap (w* a random unit vector), y = sign(w* . x);
    then round(flip * n) labels flipped at random. Returns (x, y)."""
    rng = np.random.default_rng(seed)
    w_star = rng.standard_normal(d)
    w_star /= np.linalg.norm(w_star)
    kept: list[np.ndarray] = []
    while sum(len(k) for k in kept) < n:
        cand = rng.standard_normal((4 * n, d))
        kept.append(cand[np.abs(cand @ w_star) >= gap])
    x = np.concatenate(kept)[:n]
    y = np.sign(x @ w_star)
    n_flip = int(round(flip * n))
    if n_flip:
        idx = rng.choice(n, size=n_flip, replace=False)
        y[idx] = -y[idx]
    return x, y


def is_separable(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether some w has y_i w . x_i >= 1 for all i (an LP feasibility problem)."""
    z = y[:, None] * x
    res = linprog(
        np.zeros(x.shape[1]), A_ub=-z, b_ub=-np.ones(len(y)), bounds=(None, None), method="highs"
    )
    return bool(res.status == 0)


# -- the model ------------------------------------------------------------------------------------
def loss(w: np.ndarray, z: np.ndarray) -> float:
    """Mean logistic loss 1/n sum log(1 + exp(-z_i . w)) (stable via logaddexp)."""
    return float(np.mean(np.logaddexp(0.0, -(z @ w))))


def grad(w: np.ndarray, z: np.ndarray) -> np.ndarray:
    """grad L = -1/n sum_i sigma(-z_i . w) z_i."""
    return -(expit(-(z @ w)) @ z) / z.shape[0]


def gd_chunk(w: np.ndarray, z: np.ndarray, eta: float, steps: int) -> np.ndarray:
    """``steps`` GD steps w <- w - eta grad L."""
    c = eta / z.shape[0]
    zt = z.T
    for _ in range(steps):
        w = w + c * (zt @ expit(-(z @ w)))
    return w


def smoothness(z: np.ndarray) -> float:
    """beta = lambda_max(Z^T Z) / (4 n): the logistic loss's smoothness (GD is stable below 2/beta)."""
    return float(np.linalg.eigvalsh(z.T @ z / z.shape[0])[-1] / 4.0)


# -- the theory -----------------------------------------------------------------------------------
def svm(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hard-margin SVM through the origin: (w_hat, dual a) with w_hat = argmin ||w||^2/2 s.t.
    z_i . w >= 1, solved by SLSQP on the primal; a from the KKT system on the active set."""
    d = z.shape[1]
    w0 = np.linalg.lstsq(z, np.ones(len(z)), rcond=None)[0]
    w0 = w0 / max(float(np.min(z @ w0)), 1e-12) if np.min(z @ w0) > 0 else w0
    res = minimize(
        lambda w: 0.5 * float(w @ w),
        w0,
        jac=lambda w: w,
        constraints=[{"type": "ineq", "fun": lambda w: z @ w - 1.0, "jac": lambda w: z}],
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    w = np.asarray(res.x)
    active = np.flatnonzero(z @ w <= 1.0 + 1e-6)
    a = np.zeros(len(z))
    if active.size:
        a_s = np.linalg.lstsq(z[active].T, w, rcond=None)[0]  # w = Z_S^T a_S
        a[active] = a_s
        # polish: the SVM solution is w = Z_S^T a_S with Z_S w = 1 on the support
        gram = z[active] @ z[active].T
        if np.linalg.matrix_rank(gram) == active.size and np.all(a_s > 0):
            a_s = np.linalg.solve(gram, np.ones(active.size))
            a[active] = a_s
            w = z[active].T @ a_s
    del d
    return w, a


def w_tilde(z: np.ndarray, w_hat: np.ndarray, a: np.ndarray, eta: float) -> np.ndarray | None:
    """The bounded offset w_tilde of w(t) - w_hat log t when the support vectors span R^d:
    z_i . w_tilde = log(eta / (n a_i)), i in S (module doc); None otherwise."""
    support = np.flatnonzero(a > 1e-12)
    if support.size < z.shape[1]:
        return None
    zs = z[support]
    if np.linalg.matrix_rank(zs) < z.shape[1]:
        return None
    rhs = np.log(eta / (z.shape[0] * a[support]))
    return np.asarray(np.linalg.lstsq(zs, rhs, rcond=None)[0])


def angle(w: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Angle (radians) between each row of w (or w itself) and ref."""
    w = np.atleast_2d(w)
    norms = np.linalg.norm(w, axis=1) * np.linalg.norm(ref)
    cos = np.where(norms > 0, (w @ ref) / np.where(norms > 0, norms, 1.0), 0.0)
    return np.asarray(np.arccos(np.clip(cos, -1.0, 1.0)))


def predicted_angle(
    steps: np.ndarray, w_hat: np.ndarray, wt: np.ndarray | None
) -> np.ndarray | None:
    """angle(w_hat log t + w_tilde, w_hat) at each step t >= 2 (NaN before): Soudry et al. Thm 3."""
    if wt is None:
        return None
    t = np.asarray(steps, dtype=np.float64)
    logt = np.log(np.where(t >= 2, t, np.nan))
    return angle(logt[:, None] * w_hat[None, :] + wt[None, :], w_hat)

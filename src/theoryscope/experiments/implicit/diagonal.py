"""Diagonal linear networks: the model and its implicit bias side by side.

Model (Woodworth et al. 2020, "Kernel and rich regimes in overparametrized models", section 4):

    f(x) = <beta, x>,  beta = u*u - v*v,  u(0) = v(0) = alpha * 1,
    L(u, v) = 1/(2n) ||X beta - y||^2,   grad_u L = 2 u * g,  grad_v L = -2 v * g,  g = X^T r / n.

Theory (ibid., Theorem 1; lecture "Implicit Bias", 11/9): if gradient flow converges to a zero of
the loss, its limit is

    beta_alpha = argmin Q_alpha(beta)  s.t.  X beta = y,
    Q_alpha(beta) = sum_i alpha^2 q(beta_i / alpha^2),  q(z) = 2 - sqrt(4 + z^2) + z arcsinh(z/2),

with alpha -> 0 giving min ||beta||_1 and alpha -> inf giving min ||beta||_2. Since
Q_alpha'(b) = arcsinh(b / (2 alpha^2)), the convex conjugate is Q*(p) = 2 alpha^2 (cosh p - 1) and
the limit is beta = 2 alpha^2 sinh(X^T nu) with nu the minimiser of the smooth convex dual

    D(nu) = sum_i 2 alpha^2 (cosh((X^T nu)_i) - 1) - <nu, y>,  grad D = X beta(nu) - y,
    hess D = X diag(2 alpha^2 cosh(X^T nu)) X^T,

solved here by damped Newton (n unknowns, not d).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog


def make_data(
    d: int, n: int, sparsity: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X (n, d) with i.i.d. N(0, 1) entries, a planted beta* with ``sparsity`` entries +-1, y = X beta*."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    beta_star = np.zeros(d)
    support = rng.choice(d, size=sparsity, replace=False)
    beta_star[support] = rng.choice([-1.0, 1.0], size=sparsity)
    return x, x @ beta_star, beta_star


# -- the model ------------------------------------------------------------------------------------
def beta_of(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """beta = u*u - v*v (Woodworth et al. 2020, eq. (4))."""
    return u * u - v * v


def loss(u: np.ndarray, v: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """L = 1/(2n) ||X beta - y||^2 for each row of u, v (shape (..., d) -> (...))."""
    r = beta_of(u, v) @ x.T - y
    return 0.5 * np.mean(r * r, axis=-1)


def grads(
    u: np.ndarray, v: np.ndarray, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(dL/du, dL/dv) = (2 u * g, -2 v * g), g = X^T (X beta - y) / n (chain rule through beta)."""
    r = beta_of(u, v) @ x.T - y
    g = r @ x / x.shape[0]
    return 2.0 * u * g, -2.0 * v * g


def gd_chunk(
    u: np.ndarray,
    v: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    eta: np.ndarray,
    steps: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``steps`` GD steps on every row of (u, v) at once; eta has one step size per row."""
    e = eta[:, None]
    inv_n = 1.0 / x.shape[0]
    for _ in range(steps):
        r = (u * u - v * v) @ x.T - y
        g = (r @ x) * (2.0 * inv_n) * e
        u, v = u - u * g, v + v * g
    return u, v


# -- the theory -----------------------------------------------------------------------------------
def q(z: np.ndarray) -> np.ndarray:
    """q(z) = 2 - sqrt(4 + z^2) + z arcsinh(z/2) (Woodworth et al. 2020, Theorem 1)."""
    z = np.asarray(z, dtype=np.float64)
    # 2 - sqrt(4 + z^2) = -z^2 / (2 + sqrt(4 + z^2)): no cancellation near z = 0 (q ~ z^2 / 4)
    return z * np.arcsinh(z / 2.0) - z * z / (2.0 + np.sqrt(4.0 + z * z))


def q_alpha(beta: np.ndarray, alpha: float) -> float:
    """Q_alpha(beta) = sum_i alpha^2 q(beta_i / alpha^2) (ibid.)."""
    a2 = alpha * alpha
    return float(np.sum(a2 * q(np.asarray(beta) / a2)))


def min_l2(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """argmin ||beta||_2 s.t. X beta = y: the pseudo-inverse solution X^+ y (alpha -> inf)."""
    return np.linalg.lstsq(x, y, rcond=None)[0]


def min_l1(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """argmin ||beta||_1 s.t. X beta = y (alpha -> 0), as the LP over beta = p - m, p, m >= 0."""
    n, d = x.shape
    res = linprog(np.ones(2 * d), A_eq=np.hstack([x, -x]), b_eq=y, bounds=(0, None), method="highs")
    if not res.success:  # pragma: no cover - X has full row rank almost surely
        raise RuntimeError(f"min-L1 linear program failed: {res.message}")
    return np.asarray(res.x[:d] - res.x[d:])


def q_alpha_limit(
    x: np.ndarray, y: np.ndarray, alpha: float, *, tol: float = 1e-11, max_iter: int = 200
) -> np.ndarray:
    """argmin Q_alpha(beta) s.t. X beta = y by damped Newton on the dual D(nu) (module doc).

    beta(nu) = 2 alpha^2 sinh(X^T nu); Newton stops when ||X beta - y|| <= tol ||y||. Below
    alpha = 0.01 the dual is solved along alpha = 0.01, 0.01/sqrt(10), ... warm-started
    (continuation: at tiny alpha the Hessian at nu = 0 is ~alpha^2 and a cold Newton step
    overshoots far beyond where cosh is finite).
    """
    scale = max(float(np.linalg.norm(y)), 1e-300)
    path = [float(alpha)]
    while path[-1] < 1e-2:
        path.append(path[-1] * np.sqrt(10.0))
    nu = np.zeros(x.shape[0])
    with np.errstate(over="ignore", invalid="ignore"):
        for a in reversed(path):
            nu = _newton(x, y, 2.0 * a * a, nu, tol * scale, max_iter)
    beta = 2.0 * alpha * alpha * np.sinh(x.T @ nu)
    resid = float(np.linalg.norm(x @ beta - y))
    if not resid <= 1e-6 * scale:
        raise RuntimeError(
            f"Q_alpha dual Newton did not converge (alpha={alpha:g}, residual {resid:.3g})"
        )
    return np.asarray(beta)


def _newton(
    x: np.ndarray, y: np.ndarray, a2: float, nu: np.ndarray, tol: float, max_iter: int
) -> np.ndarray:
    """Damped Newton (Armijo backtracking) on D(nu) = sum a2 (cosh(X^T nu) - 1) - <nu, y>."""

    def dual(nu_: np.ndarray) -> float:
        half = np.sinh(0.5 * (x.T @ nu_))  # cosh p - 1 = 2 sinh(p/2)^2: exact for small p
        return float(np.sum(2.0 * a2 * half * half) - nu_ @ y)

    value = dual(nu)
    for _ in range(max_iter):
        p = x.T @ nu
        grad = x @ (a2 * np.sinh(p)) - y
        if np.linalg.norm(grad) <= tol:
            break
        hess = (x * (a2 * np.cosh(p))) @ x.T
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:  # tiny alpha, few large weights: H is rank-deficient
            step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        t = 1.0
        while t > 1e-12:
            trial = nu - t * step
            new = dual(trial)
            if np.isfinite(new) and new <= value - 0.25 * t * float(grad @ step):
                break
            t *= 0.5
        else:  # no decrease left at machine precision: this is the minimiser
            break
        stalled = value - new <= 1e-15 * abs(value)
        nu, value = trial, new
        if stalled:  # the decrease is at rounding level: more steps only shuffle noise
            break
    return nu


def rel_dist(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / ||b|| (or ||a|| when b = 0)."""
    nb = float(np.linalg.norm(b))
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / (nb if nb > 0 else 1.0))

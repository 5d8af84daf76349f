"""Deep linear networks: incremental, sigmoidal learning of the target's singular modes.

Model (Saxe, McClelland, Ganguli 2014, "Exact solutions to the nonlinear dynamics of learning in
deep linear neural networks", eq. (1)-(3)): with whitened inputs (Sigma_xx = I) the loss is

    L(W_1..W_L) = 1/2 ||S - W_L ... W_1||_F^2,   S = U diag(s) V^T,
    grad_{W_l} L = -(W_L..W_{l+1})^T (S - W_L..W_1) (W_{l-1}..W_1)^T.

Conserved quantity (Arora, Cohen, Hazan 2018, "On the optimization of deep networks", Thm 1;
Du, Hu, Lee 2018; lecture notes): under gradient flow the balancedness
B_l = W_{l+1}^T W_{l+1} - W_l W_l^T (l = 1..L-1) stays constant; GD with step eta moves it O(eta^2)
per step.

Closed form (Saxe et al. 2014, eq. (6)-(7)): from a balanced init aligned with the target's singular
vectors each mode strength u_i = u_i^T W_L..W_1 v_i evolves on its own; for L = 2, with time
t = eta * step (tau = 1),

    du/dt = 2 u (s - u),   u(t) = s e^{2st} / (e^{2st} - 1 + s/u_0),

a sigmoid whose rise time ~ log(s/u_0) / (2s) is shorter for larger s: incremental learning,
larger singular values first. For depth L, balanced layers a^L = u give du/dt = L u^{2-2/L} (s - u)
(Arora et al. 2018, eq. (9) specialised to one mode), integrated numerically.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.integrate import solve_ivp
from scipy.stats import ortho_group


def make_target(svals: Sequence[float], seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(S, U, V): S = U diag(s) V^T with U, V Haar-random orthogonal k x k (k = len(s))."""
    k = len(svals)
    rng = np.random.default_rng(seed)
    if k == 1:
        u = np.array([[rng.choice([-1.0, 1.0])]])
        v = np.array([[1.0]])
    else:
        u = ortho_group.rvs(k, random_state=rng)
        v = ortho_group.rvs(k, random_state=rng)
    return (u * np.asarray(svals, dtype=np.float64)) @ v.T, u, v


def init_weights(
    u: np.ndarray, v: np.ndarray, depth: int, width: int, scale: float, mode: str, seed: int
) -> list[np.ndarray]:
    """Layers W_1 (width x k), ..., W_L (k x width).

    ``balanced``: W_1 = a R_1 V^T, W_l = a R_l R_{l-1}^T, W_L = a U R_{L-1}^T with R_l the first
    k columns of random orthogonal matrices: every B_l = 0 and each mode starts at u_0 = a^L.
    ``random``: i.i.d. N(0, scale^2 / fan_in) entries (small, only approximately balanced).
    """
    k = u.shape[0]
    dims = [k] + [width] * (depth - 1) + [k]
    rng = np.random.default_rng(seed + 7919)
    if mode == "random":
        return [
            scale * rng.standard_normal((dims[i + 1], dims[i])) / np.sqrt(dims[i])
            for i in range(depth)
        ]
    frames = [
        (ortho_group.rvs(width, random_state=rng) if width > 1 else np.ones((1, 1)))[:, :k]
        for _ in range(depth - 1)
    ]
    layers = [scale * frames[0] @ v.T]
    for i in range(1, depth - 1):
        layers.append(scale * frames[i] @ frames[i - 1].T)
    layers.append(scale * u @ frames[-1].T)
    return layers


def product(ws: Sequence[np.ndarray]) -> np.ndarray:
    """W_L ... W_1."""
    out = ws[0]
    for w in ws[1:]:
        out = w @ out
    return out


def loss(ws: Sequence[np.ndarray], target: np.ndarray) -> float:
    """1/2 ||S - W_L..W_1||_F^2 (Saxe et al. 2014, eq. (3) with Sigma_xx = I)."""
    r = target - product(ws)
    return 0.5 * float(np.sum(r * r))


def grads(ws: Sequence[np.ndarray], target: np.ndarray) -> list[np.ndarray]:
    """grad_{W_l} L = -(W_L..W_{l+1})^T R (W_{l-1}..W_1)^T, R = S - W_L..W_1."""
    depth = len(ws)
    k_in = ws[0].shape[1]
    below = [np.eye(k_in)]
    for w in ws[:-1]:
        below.append(w @ below[-1])
    resid = target - ws[-1] @ below[-1]
    out: list[np.ndarray] = [np.zeros(0)] * depth
    above = np.eye(ws[-1].shape[0])
    for layer in range(depth - 1, -1, -1):
        out[layer] = -(above.T @ resid @ below[layer].T)
        above = above @ ws[layer]
    return out


def gd_chunk(ws: list[np.ndarray], target: np.ndarray, eta: float, steps: int) -> list[np.ndarray]:
    """``steps`` GD steps W_l <- W_l - eta grad_{W_l} L."""
    for _ in range(steps):
        g = grads(ws, target)
        ws = [w - eta * gw for w, gw in zip(ws, g, strict=True)]
    return ws


def balancedness(ws: Sequence[np.ndarray]) -> list[np.ndarray]:
    """B_l = W_{l+1}^T W_{l+1} - W_l W_l^T, l = 1..L-1 (conserved by gradient flow)."""
    return [ws[i + 1].T @ ws[i + 1] - ws[i] @ ws[i].T for i in range(len(ws) - 1)]


def mode_strengths(ws: Sequence[np.ndarray], u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """u_i = u_i^T (W_L..W_1) v_i, the product's strength on each target mode."""
    return np.asarray(np.einsum("ki,kl,li->i", u, product(ws), v))


def gradient_flow(
    ws: Sequence[np.ndarray], target: np.ndarray, t_end: float, *, rtol: float = 1e-10
) -> list[np.ndarray]:
    """Integrate dW_l/dt = -grad_{W_l} L to time t_end with an adaptive Runge-Kutta (DOP853)."""
    shapes = [w.shape for w in ws]
    sizes = [w.size for w in ws]

    def unpack(flat: np.ndarray) -> list[np.ndarray]:
        out, i = [], 0
        for shape, size in zip(shapes, sizes, strict=True):
            out.append(flat[i : i + size].reshape(shape))
            i += size
        return out

    def rhs(_: float, flat: np.ndarray) -> np.ndarray:
        return -np.concatenate([g.ravel() for g in grads(unpack(flat), target)])

    y0 = np.concatenate([w.ravel() for w in ws])
    sol = solve_ivp(rhs, (0.0, t_end), y0, method="DOP853", rtol=rtol, atol=rtol * 1e-3)
    return unpack(sol.y[:, -1])


# -- the theory -----------------------------------------------------------------------------------
def mode_curve(s: float, u0: float, t: np.ndarray, depth: int = 2) -> np.ndarray:
    """u(t) of one balanced mode. L = 2: Saxe et al. (2014) eq. (7),
    u = s e^{2st} / (e^{2st} - 1 + s/u0); L > 2: du/dt = L u^{2-2/L} (s - u) by solve_ivp."""
    t = np.asarray(t, dtype=np.float64)
    if depth == 2:
        # written as s / (1 + (s/u0 - 1) e^{-2st}) to stay finite for large t
        return np.asarray(s / (1.0 + (s / u0 - 1.0) * np.exp(-2.0 * s * t)))
    power = 2.0 - 2.0 / depth

    def rhs(_: float, y: np.ndarray) -> np.ndarray:
        return np.asarray(depth * np.abs(y) ** power * (s - y))

    order = np.argsort(t)
    sol = solve_ivp(
        rhs, (0.0, float(t.max()) if t.size else 0.0), [u0], t_eval=t[order],
        method="LSODA", rtol=1e-10, atol=1e-14 * max(u0, 1e-300),
    )  # fmt: skip
    out = np.empty_like(t)
    out[order] = sol.y[0]
    return out


def mode_curve_gd(
    svals: np.ndarray, a0: float, steps: np.ndarray, eta: float, depth: int
) -> np.ndarray:
    """Mode strengths of *discrete* GD from the balanced aligned init: every layer keeps the
    same scalar a on a mode, a <- a + eta a^{L-1} (s - a^L), u = a^L (the per-mode reduction of
    Saxe et al. 2014, eq. (6), taken one step at a time). Returns (len(steps), k)."""
    s = np.asarray(svals, dtype=np.float64)
    a = np.full_like(s, a0)
    out = np.empty((len(steps), len(s)))
    done = 0
    for i, target in enumerate(np.asarray(steps, dtype=np.int64)):
        for _ in range(int(target) - done):
            a = a + eta * a ** (depth - 1) * (s - a**depth)
        done = int(target)
        out[i] = a**depth
    return out


def rise_time(s: float, u0: float, depth: int = 2, frac: float = 0.5) -> float:
    """Time for a balanced mode to reach frac * s from u0 (L = 2: log((s/u0 - 1) frac/(1-frac))/(2s);
    L > 2: the integral of du / (L u^{2-2/L} (s - u)) by quadrature)."""
    if u0 >= frac * s:
        return 0.0
    if depth == 2:
        return float(np.log((s / u0 - 1.0) * frac / (1.0 - frac)) / (2.0 * s))
    from scipy.integrate import quad

    power = 2.0 - 2.0 / depth
    # substitute u = e^x to integrate over the many decades between u0 and frac * s
    val, _ = quad(
        lambda x: np.exp(x) / (depth * np.exp(power * x) * (s - np.exp(x))),
        np.log(u0), np.log(frac * s), limit=200,
    )  # fmt: skip
    return float(val)

"""Theory of the number of linear regions: worst case, depth one, average case.

Worst case (seed 002, lecture 12/5, Lemma): ``#regions <= 3^{#neurons}``; tighter, Serra,
Tjandraatmadja & Ramalingam (ICML 2018, Theorem 1):

    #regions <= sum_{(j_1..j_L) in J} prod_l C(n_l, j_l),
    J = {0 <= j_l <= min(n_0, n_1 - j_1, ..., n_{l-1} - j_{l-1}, n_l)}.

Depth one (lecture 12/5, Example 2; Zaslavsky 1975): n_1 hyperplanes in general position cut
R^{n_0} into ``sum_{i <= n_0} C(n_1, i)`` regions.

Average case (Hanin & Rolnick, ICML 2019, Theorem 3 with k = 1; lecture 12/5, Theorem B): along
``x(t) = x_0 + t u`` the expected number of breakpoints of neuron z is, by the co-area formula,

    E #{t in [0, 1]: z(x(t)) = 0} = int_0^1 E[ |d/dt z(x(t))| rho_{b_z}(-(z(x(t)) - b_z)) ] dt,

exact for any width (``z - b_z`` and its derivative do not depend on ``b_z``; :mod:`.coarea`
evaluates it by Monte Carlo). Here it is evaluated in closed form at infinite width: for ReLU
and symmetric weights, the weight part ``y = z - b`` of a layer-l neuron and its t-derivative are
jointly Gaussian with (exact second moments at any width)

    Kw_1 = C_w |x|^2 / n_0,      C_1 = C_w x.u / n_0,      D_1 = C_w |u|^2 / n_0,
    Kw_l = (C_w / 2)(Kw_{l-1} + C_b),  C_l = (C_w / 2) C_{l-1},  D_l = (C_w / 2) D_{l-1},

(``E[sigma(z)^2] = E[z^2]/2``, ``E[1{z>0} z z'] = E[z z']/2``, ``E[1{z>0} z'^2] = E[z'^2]/2`` by
the symmetry z -> -z), so with K = Kw + C_b, Rice's formula gives the breakpoint density per
neuron (per unit t)

    Gaussian bias:  rho_l = sqrt(D K - C^2) / (pi K),
    uniform bias on [-a, a]: rho_l = (1 / 2a) int_{-a}^{a} phi_{Kw}(y) E[|z'| | y] dy,
                    z' | y ~ N(C y / Kw, D - C^2 / Kw).

The expected number of activation regions on the segment is ``1 + sum_l n_l int_0^1 rho_l dt``:
linear in the number of neurons, whatever the depth (Hanin & Rolnick 2019, Corollary 5).

In a square Q of a plane (orthonormal E) the regions are counted by Euler's formula: each
neuron's zero set is a union of paths (ends on the boundary) and loops, so
``#regions = 1 + #paths + #crossings + Lambda`` with 0 <= Lambda <= #loops (a loop that no other
zero set crosses). At infinite width distinct neurons are independent Gaussian fields, so with
``g | z = 0 ~ N(0, D I - c c^T / K)`` (c = Cov(z, grad z)),

    E #crossings = sum_{pairs i<j} int_Q phi_{K_i}(0) phi_{K_j}(0) E|det(g_i, g_j)| ds,
    E #paths     = (1/2) sum_i int_{boundary of Q} rho_i,

exact at depth one (Gaussian biases), the infinite-width prediction beyond, Lambda neglected.
``E|det(g_i, g_j)| = (1/2pi) int_0^{2pi} sqrt(l_1 cos^2 + l_2 sin^2)`` with l_1, l_2 the
eigenvalues of ``Sigma_i R Sigma_j R^T`` (R the rotation by pi/2). Each crossing density scales
as ``N^2``, the paths as N: regions per unit area grow like N^2 (Hanin & Rolnick, NeurIPS 2019,
Theorem 1: ``#regions / vol <= (T #neurons)^{n_0} / n_0!``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import integrate, special

HANIN_ROLNICK = "Hanin & Rolnick, 'Complexity of linear regions in deep networks', ICML 2019"
HANIN_ROLNICK_2 = (
    "Hanin & Rolnick, 'Deep ReLU networks have surprisingly few activation patterns', NeurIPS 2019"
)
SERRA = "Serra, Tjandraatmadja & Ramalingam, ICML 2018, Theorem 1"
LECTURE = "seed 002, lecture 12/5 (Linear Regions)"

_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(64)
_THETA = np.linspace(0.0, 2.0 * np.pi, 64, endpoint=False)


# ------------------------------------------------------------------------------------------------
# worst case and depth one
# ------------------------------------------------------------------------------------------------
def zaslavsky(n1: int, n0: int) -> int:
    """Regions of n1 hyperplanes in general position in R^{n0}: sum_{i<=n0} C(n1, i)."""
    return sum(math.comb(int(n1), i) for i in range(min(int(n0), int(n1)) + 1))


def serra_bound(n0: int, widths: Sequence[int]) -> int:
    """Serra et al. 2018, Theorem 1 (exact integer, by dynamic programming over the running
    minimum m_l = min(n_0, n_1 - j_1, ..., n_{l-1} - j_{l-1}))."""
    states = {int(n0): 1}
    for n in widths:
        nxt: dict[int, int] = {}
        for m, count in states.items():
            for j in range(min(m, int(n)) + 1):
                key = min(m, int(n) - j)
                nxt[key] = nxt.get(key, 0) + count * math.comb(int(n), j)
        states = nxt
    return sum(states.values())


def log10_int(value: int) -> float:
    """log10 of a (possibly huge) positive integer."""
    if value <= 0:
        return float("-inf")
    digits = len(str(value))
    if digits < 300:
        return math.log10(value)
    return digits - 1 + math.log10(int(str(value)[:17]) / 1e16)


def bounds(n0: int, widths: Sequence[int]) -> dict[str, Any]:
    """log10 of the worst-case bounds (3^N and Serra's), and Zaslavsky's count at depth one."""
    neurons = int(sum(widths))
    out: dict[str, Any] = {
        "neurons": neurons,
        "log10_three_power": neurons * math.log10(3.0),
        "log10_serra": log10_int(serra_bound(n0, widths)),
    }
    out["zaslavsky"] = zaslavsky(widths[0], n0) if len(widths) == 1 else None
    return out


# ------------------------------------------------------------------------------------------------
# average case, infinite width
# ------------------------------------------------------------------------------------------------
def layer_moments(
    depth: int, n0: int, c_w: float, c_b: float, xx: Any, xu: Any, uu: Any
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(Kw_l, C_l, D_l) for l = 1..depth at points with |x|^2 = xx, x.u = xu, |u|^2 = uu."""
    kw = c_w * np.asarray(xx, dtype=np.float64) / n0
    c = c_w * np.asarray(xu, dtype=np.float64) / n0
    d = c_w * np.asarray(uu, dtype=np.float64) / n0 * np.ones_like(kw)
    out = [(kw, c, d)]
    for _ in range(depth - 1):
        kw = 0.5 * c_w * (kw + c_b)
        c = 0.5 * c_w * c
        d = 0.5 * c_w * d
        out.append((kw, c, d))
    return out


def _abs_normal_mean(mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """E|N(mean, std^2)|."""
    positive = std > 1e-150
    safe = np.where(positive, std, 1.0)
    r = mean / safe
    value = safe * math.sqrt(2.0 / math.pi) * np.exp(-0.5 * r * r) + mean * special.erf(
        r / math.sqrt(2.0)
    )
    return np.where(positive, value, np.abs(mean))


def crossing_density(
    kw: np.ndarray, c: np.ndarray, d: np.ndarray, c_b: float, bias: str
) -> np.ndarray:
    """Breakpoints per unit t of one neuron (Rice's formula at infinite width, see above)."""
    kw, c, d = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (kw, c, d)))
    if bias in ("gaussian", "zero"):
        k = kw + (c_b if bias == "gaussian" else 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.sqrt(np.maximum(d * k - c * c, 0.0)) / (math.pi * k)
        return np.where(k > 0, rho, 0.0)
    if bias == "uniform":
        half = math.sqrt(3.0 * c_b)
        if half == 0.0:
            return crossing_density(kw, c, d, 0.0, "zero")
        y = half * _GL_NODES  # nodes on [-a, a]
        wts = half * _GL_WEIGHTS
        kw_ = np.maximum(kw[..., None], 1e-300)
        phi = np.exp(-0.5 * y * y / kw_) / np.sqrt(2.0 * math.pi * kw_)
        mean = c[..., None] * y / kw_
        var = np.maximum(d[..., None] - c[..., None] ** 2 / kw_, 0.0)
        inner = phi * _abs_normal_mean(mean, np.sqrt(var))
        return np.sum(wts * inner, axis=-1) / (2.0 * half)
    raise ValueError(f"bias {bias!r}")


def segment_layer_counts(
    widths: Sequence[int],
    x0: Any,
    x1: Any,
    *,
    c_w: float,
    c_b: float,
    bias: str,
) -> np.ndarray:
    """Expected breakpoints made by each hidden layer on the segment [x0, x1] (infinite width).

    Bias-free nets with n_0 = 1 are exactly homogeneous: every breakpoint sits at x = 0.
    """
    start = np.asarray(x0, dtype=np.float64)
    u = np.asarray(x1, dtype=np.float64) - start
    n0 = len(start)
    depth = len(widths)
    if bias == "zero" or c_b == 0.0:
        if n0 == 1:
            inside = (start[0] < 0.0 < start[0] + u[0]) or (start[0] + u[0] < 0.0 < start[0])
            return np.array([1.0 if (inside and i == 0) else 0.0 for i in range(depth)])
        bias = "zero"

    def per_layer(t: float) -> np.ndarray:
        x = start + t * u
        moments = layer_moments(depth, n0, c_w, c_b, x @ x, x @ u, u @ u)
        return np.array([float(crossing_density(kw, c, d, c_b, bias)) for kw, c, d in moments])

    # the densities peak where the line passes closest to the origin: split the integral there
    uu = float(u @ u)
    closest = min(max(-float(start @ u) / uu, 0.0), 1.0) if uu > 0 else 0.0
    pieces = [(a, b) for a, b in ((0.0, closest), (closest, 1.0)) if b > a]
    out = np.zeros(depth)
    for a, b in pieces:
        value, _ = integrate.quad_vec(per_layer, a, b, epsabs=1e-10, epsrel=1e-8, limit=400)
        out += value
    return out * np.asarray(widths, dtype=np.float64)


def expected_segment_regions(widths: Sequence[int], x0: Any, x1: Any, **kw: Any) -> float:
    """Expected activation regions on the segment: ``1 + sum_l n_l int rho_l`` (see above)."""
    return 1.0 + float(np.sum(segment_layer_counts(widths, x0, x1, **kw)))


def _expected_abs_det(s1: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """E|det(g1, g2)| for independent g_i ~ N(0, S_i) (S_i (..., 2, 2))."""
    rot = np.array([[0.0, 1.0], [-1.0, 0.0]])
    prod = s1 @ (rot @ s2 @ rot.T)
    tr = np.trace(prod, axis1=-2, axis2=-1)
    det = np.linalg.det(prod)
    disc = np.sqrt(np.maximum(tr * tr / 4.0 - det, 0.0))
    l1 = np.maximum(tr / 2.0 + disc, 0.0)
    l2 = np.maximum(tr / 2.0 - disc, 0.0)
    cos2 = np.cos(_THETA) ** 2
    vals = np.sqrt(l1[..., None] * cos2 + l2[..., None] * (1.0 - cos2))
    return vals.mean(axis=-1)


@dataclass(frozen=True)
class SquareTheory:
    """Infinite-width prediction of the activation regions in a square of a plane."""

    paths: float
    crossings: float
    layer_paths: list[float] = field(default_factory=list)

    @property
    def regions(self) -> float:
        return 1.0 + self.paths + self.crossings


def expected_square(
    widths: Sequence[int],
    half: float,
    *,
    n0: int = 2,
    offset: float = 0.0,
    c_w: float,
    c_b: float,
    bias: str,
    nodes: int = 32,
) -> SquareTheory | None:
    """Expected regions in ``[-half, half]^2`` of the plane (coordinates 1, 2; shifted by
    ``offset`` along coordinate 3). Gaussian biases only (None otherwise)."""
    if bias != "gaussian" or c_b <= 0.0:
        return None
    depth = len(widths)
    corners = [(-half, -half), (half, -half), (half, half), (-half, half)]

    def embed(p: Sequence[float]) -> np.ndarray:
        x = np.zeros(n0)
        x[0], x[1] = p
        if n0 >= 3:
            x[2] = offset
        return x

    layer_paths = np.zeros(depth)
    for k in range(4):
        a, b = embed(corners[k]), embed(corners[(k + 1) % 4])
        layer_paths += segment_layer_counts(widths, a, b, c_w=c_w, c_b=c_b, bias=bias)
    paths = 0.5 * layer_paths
    # crossings: tensor Gauss-Legendre over the square
    g, wts = np.polynomial.legendre.leggauss(nodes)
    s1, s2 = np.meshgrid(half * g, half * g, indexing="ij")
    weight = np.outer(wts, wts) * half * half
    xx = s1**2 + s2**2 + (offset**2 if n0 >= 3 else 0.0)
    dens: list[np.ndarray] = []
    sig: list[np.ndarray] = []
    for l in range(depth):
        scale = c_w / n0 * (0.5 * c_w) ** l
        kw = c_w / n0 * xx
        for _ in range(l):
            kw = 0.5 * c_w * (kw + c_b)
        var = kw + c_b
        cvec = scale * np.stack([s1, s2], axis=-1)  # Cov(z, grad_s z)
        cov = scale * np.eye(2) - cvec[..., :, None] * cvec[..., None, :] / var[..., None, None]
        dens.append(1.0 / np.sqrt(2.0 * math.pi * var))
        sig.append(cov)
    crossings = 0.0
    for l in range(depth):
        for m in range(l, depth):
            pairs = math.comb(int(widths[l]), 2) if l == m else int(widths[l]) * int(widths[m])
            if pairs == 0:
                continue
            density = dens[l] * dens[m] * _expected_abs_det(sig[l], sig[m])
            crossings += pairs * float(np.sum(weight * density))
    return SquareTheory(paths=float(paths.sum()), crossings=crossings,
                        layer_paths=[float(v) for v in paths])  # fmt: skip

"""Limit spectra of random matrices met by deep linear nets: Marchenko-Pastur, Fuss-Catalan and
the Lyapunov spectrum of long products (pure NumPy/SciPy).

Marchenko-Pastur (lecture notes seed 002, 12/7 "Ex 1"; Marchenko & Pastur 1967): the eigenvalues
of ``(1/n_0) X X^T``, ``X in R^{P x n_0}`` with i.i.d. N(0, 1) entries, ``P/n_0 -> alpha``, have
the limit law

    rho_alpha(x) = sqrt((lambda_+ - x)(x - lambda_-)) / (2 pi alpha x)  on [lambda_-, lambda_+],
    lambda_+- = (1 +- sqrt(alpha))^2,     plus an atom (1 - 1/alpha) at 0 when alpha > 1.

(The notes print the prefactor ``1/(2 pi * 2x)``, which is the alpha = 2 case of ``1/(2 pi alpha
x)``; the continuous part has mass ``min(1, 1/alpha)``.) Its moments are the Narayana
polynomials ``int x^k d mu = sum_{j=1}^k N(k, j) alpha^{j-1}``, ``N(k, j) = C(k, j) C(k, j-1)/k``.

Fuss-Catalan (Penson & Zyczkowski 2011, "Product of Ginibre matrices: Fuss-Catalan and Raney
distributions", PRE 83, 061118; Haagerup & Moller 2013 parametrization): the squared singular
values of ``W_L ... W_1``, ``W_l`` i.i.d. n x n with N(0, 1/n) entries, converge as n -> infinity
at fixed L to the law with moments the Fuss-Catalan numbers ``FC_L(k) = C((L+1)k, k) / (Lk + 1)``.
Its density on ``(0, (L+1)^{L+1} / L^L]``, in the parameter ``phi in (0, pi/(L+1))``:

    x(phi)      = sin^{L+1}((L+1) phi) / (sin(phi) sin^L(L phi)),
    rho(x(phi)) = sin^2(phi) sin^{L-1}(L phi) / (pi sin^L((L+1) phi)).

(L = 1 gives Marchenko-Pastur at alpha = 1.) The generating function ``B(z) = sum FC_L(k) z^k``
solves ``B = 1 + z B^{L+1}``; :func:`fuss_catalan_density_algebraic` inverts the Stieltjes
transform ``G(x) = B(1/x)/x`` from that polynomial as an independent check.

Lyapunov spectrum (Newman 1986; Bartlett decomposition): for Gaussian W (n x n, N(0, 1/n)),
``W = Q R`` with ``R_ii^2 ~ chi^2_{n-i+1}/n`` independent, and ``W_l Q_{l-1}`` is again Gaussian
and independent of the past, so the QR iteration of the product has independent factors:

    sum_l log R^(l)_ii^2  ~  L [psi((n-i+1)/2) + log(2/n)]  +-  sqrt(L psi'((n-i+1)/2)),

which the log squared singular values ``log s_i^2`` of the product follow once ``L/n`` is large
(their spacing ``~ L/n`` beats their spread ``~ sqrt(L/n)``); ``sum_i log s_i^2 = log det`` equals
``sum_{i,l} log R^(l)_ii^2`` exactly at every L, n.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import quad
from scipy.special import comb, digamma, polygamma


# ------------------------------------------------------------------------------------------------
# Marchenko-Pastur
# ------------------------------------------------------------------------------------------------
def mp_edges(alpha: float) -> tuple[float, float]:
    """``lambda_+- = (1 +- sqrt(alpha))^2``."""
    r = math.sqrt(alpha)
    return (1.0 - r) ** 2, (1.0 + r) ** 2


def mp_atom(alpha: float) -> float:
    """Mass of the eigenvalue 0: ``max(0, 1 - 1/alpha)`` (rank n_0 < P)."""
    return max(0.0, 1.0 - 1.0 / alpha)


def mp_density(x: np.ndarray, alpha: float) -> np.ndarray:
    """The continuous part ``sqrt((l+ - x)(x - l-)) / (2 pi alpha x)`` (0 outside the edges)."""
    x = np.asarray(x, dtype=np.float64)
    lo, hi = mp_edges(alpha)
    inside = (x > lo) & (x < hi) & (x > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        val = np.sqrt(np.maximum((hi - x) * (x - lo), 0.0)) / (2.0 * np.pi * alpha * x)
    return np.where(inside, val, 0.0)


def narayana(k: int, j: int) -> float:
    """``N(k, j) = C(k, j) C(k, j - 1) / k``."""
    return float(comb(k, j, exact=True) * comb(k, j - 1, exact=True)) / k


def mp_moment(k: int, alpha: float) -> float:
    """``E x^k = sum_{j=1}^k N(k, j) alpha^{j-1}`` (the atom at 0 adds nothing for k >= 1)."""
    if k == 0:
        return 1.0
    return float(sum(narayana(k, j) * alpha ** (j - 1) for j in range(1, k + 1)))


def mp_moment_quadrature(k: int, alpha: float) -> float:
    """``int x^k rho_alpha(x) dx`` over the continuous part, substituting
    ``x = c + r cos(u)`` (c = 1 + alpha, r = 2 sqrt(alpha)) which removes the edge singularities."""
    c, r = 1.0 + alpha, 2.0 * math.sqrt(alpha)

    def f(u: float) -> float:
        x = c + r * math.cos(u)
        return x ** (k - 1) * (r * math.sin(u)) ** 2 / (2.0 * math.pi * alpha)

    return float(quad(f, 0.0, math.pi, epsabs=1e-14, epsrel=1e-13, limit=200)[0])


def _mp_angle_integrand(u: float, alpha: float) -> float:
    """``rho(x) |dx/du|`` at ``x = c + r cos u``: ``r^2 sin^2 u / (2 pi alpha x)``, written with
    ``x = (1 - sqrt a)^2 + 4 sqrt a cos^2(u/2)`` so that alpha = 1, u = pi stays finite."""
    sa = math.sqrt(alpha)
    half_c2 = math.cos(0.5 * u) ** 2
    den = (1.0 - sa) ** 2 + 4.0 * sa * half_c2
    ratio = 4.0 * half_c2 / den if den > 0 else 1.0 / sa
    return (2.0 * sa) ** 2 * math.sin(0.5 * u) ** 2 * ratio / (2.0 * math.pi * alpha)


def mp_cdf(x: np.ndarray, alpha: float, points: int = 20001) -> np.ndarray:
    """``P(eigenvalue <= x)``: the atom plus the continuous part, cumulated over the angle
    ``x = c + r cos u`` (c = 1 + alpha, r = 2 sqrt alpha; the integrand is smooth in u) on a
    fine grid by the trapezoid rule (error ~1e-9; tested against quadrature) and interpolated."""
    x = np.asarray(x, dtype=np.float64)
    sa = math.sqrt(alpha)
    u = np.linspace(0.0, math.pi, points)
    g = np.asarray([_mp_angle_integrand(float(t), alpha) for t in u])
    inc = 0.5 * (u[1] - u[0]) * (g[1:] + g[:-1])
    tail = np.concatenate([np.cumsum(inc[::-1])[::-1], [0.0]])  # mass below x(u)
    xs = (1.0 - sa) ** 2 + 4.0 * sa * np.cos(0.5 * u) ** 2  # decreasing in u
    cont = np.interp(x, xs[::-1], tail[::-1], left=0.0, right=min(1.0, 1.0 / alpha))
    return cont + np.where(x >= 0, mp_atom(alpha), 0.0)


def mp_cdf_quadrature(x: float, alpha: float) -> float:
    """The same at one point by adaptive quadrature (the reference of the tests)."""
    c, r = 1.0 + alpha, 2.0 * math.sqrt(alpha)
    lo, hi = mp_edges(alpha)
    if x <= lo:
        cont = 0.0
    elif x >= hi:
        cont = min(1.0, 1.0 / alpha)
    else:
        u0 = math.acos(min(1.0, max(-1.0, (x - c) / r)))
        cont = quad(_mp_angle_integrand, u0, math.pi, args=(alpha,), epsabs=1e-13, limit=200)[0]
    return cont + (mp_atom(alpha) if x >= 0 else 0.0)


# ------------------------------------------------------------------------------------------------
# Fuss-Catalan
# ------------------------------------------------------------------------------------------------
def fuss_catalan_number(depth: int, k: int) -> float:
    """``FC_L(k) = C((L+1) k, k) / (L k + 1)``."""
    return float(comb((depth + 1) * k, k, exact=True)) / (depth * k + 1)


def fuss_catalan_edge(depth: int) -> float:
    """Right edge of the support: ``(L+1)^{L+1} / L^L``."""
    return float((depth + 1) ** (depth + 1) / depth**depth)


def _fc_x(phi: np.ndarray, depth: int) -> np.ndarray:
    s = depth
    return np.exp(
        (s + 1) * np.log(np.sin((s + 1) * phi)) - np.log(np.sin(phi)) - s * np.log(np.sin(s * phi))
    )


def _fc_rho(phi: np.ndarray, depth: int) -> np.ndarray:
    s = depth
    return np.exp(
        2 * np.log(np.sin(phi)) + (s - 1) * np.log(np.sin(s * phi))
        - s * np.log(np.sin((s + 1) * phi))
    ) / np.pi  # fmt: skip


def fuss_catalan_density(x: np.ndarray, depth: int) -> np.ndarray:
    """Fuss-Catalan density of order L at x (parametrization in the module docstring; x(phi) is
    decreasing, inverted by vectorized bisection)."""
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    edge = fuss_catalan_edge(depth)
    inside = (x > 0) & (x < edge)
    lo = np.zeros_like(x)
    hi = np.full_like(x, math.pi / (depth + 1))
    target = np.where(inside, x, 1.0)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        big = _fc_x(mid, depth) > target  # x decreases in phi: go right
        lo = np.where(big, mid, lo)
        hi = np.where(big, hi, mid)
    phi = 0.5 * (lo + hi)
    return np.where(inside, _fc_rho(phi, depth), 0.0)


def fuss_catalan_moment_quadrature(depth: int, k: int) -> float:
    """``int x^k rho(x) dx`` in the parameter phi: ``x rho = sin((L+1)phi) sin(phi) / (pi
    sin(L phi))`` and ``dlog x/dphi = (L+1)^2 cot((L+1)phi) - cot(phi) - L^2 cot(L phi)``."""
    s = depth

    def f(phi: float) -> float:
        x = float(_fc_x(np.asarray(phi), s))
        x_rho = math.sin((s + 1) * phi) * math.sin(phi) / (math.pi * math.sin(s * phi))
        dlog = (
            (s + 1) ** 2 / math.tan((s + 1) * phi) - 1.0 / math.tan(phi) - s**2 / math.tan(s * phi)
        )
        return x**k * x_rho * abs(dlog)

    top = math.pi / (s + 1)
    return float(quad(f, 0.0, top, epsabs=1e-14, epsrel=1e-13, limit=400)[0])


def _fc_mass_integrand(phi: np.ndarray, depth: int) -> np.ndarray:
    """``x rho |d log x / d phi|``: the density of phi under the Fuss-Catalan law."""
    s = depth
    x_rho = np.sin((s + 1) * phi) * np.sin(phi) / (np.pi * np.sin(s * phi))
    dlog = (s + 1) ** 2 / np.tan((s + 1) * phi) - 1.0 / np.tan(phi) - s**2 / np.tan(s * phi)
    return x_rho * np.abs(dlog)


def fuss_catalan_cdf(x: np.ndarray, depth: int, points: int = 20001) -> np.ndarray:
    """``P(X <= x)``: ``int_{phi(x)}^{pi/(L+1)} x rho |dlog x/dphi| dphi`` cumulated on a fine
    phi grid (trapezoid rule; error ~1e-8, checked against quadrature) and interpolated in x."""
    x = np.asarray(x, dtype=np.float64)
    top = math.pi / (depth + 1)
    phi = np.linspace(0.0, top, points)[1:-1]
    g = _fc_mass_integrand(phi, depth)
    h = float(phi[1] - phi[0])
    # cumulative from the right end (x = 0) by the trapezoid rule with an end correction
    inc = 0.5 * h * (g[1:] + g[:-1])
    tail = np.concatenate([np.cumsum(inc[::-1])[::-1], [0.0]])
    tail = tail + 0.5 * h * (g[-1] + float(_fc_mass_integrand(np.asarray(top - 1e-12), depth)))
    mass = tail[0] + 0.5 * h * g[0]
    xs = _fc_x(phi, depth)  # decreasing
    cdf = np.clip(tail / mass, 0.0, 1.0)
    return np.interp(x, xs[::-1], cdf[::-1], left=0.0, right=1.0)


def fuss_catalan_density_algebraic(x: np.ndarray, depth: int, steps: int = 4000) -> np.ndarray:
    """The density from ``B = 1 + z B^{L+1}`` alone: ``rho(x) = -Im G(x + i0) / pi`` with
    ``G(x) = B(1/x) / x``. The physical root of ``z w^{L+1} - w + 1 = 0`` is followed by
    continuity from ``B ~ 1`` at large x (``z -> 0``) down a fine path ``x_j + i eps`` (an
    independent check of the parametrization; slow, for tests)."""
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    edge = fuss_catalan_edge(depth)
    lo = max(float(np.min(x[x > 0])) if np.any(x > 0) else edge, 1e-6)
    inside = x[(x > 0) & (x < edge)]
    real = np.unique(np.concatenate([np.geomspace(1e3 * edge, lo, steps), inside]))[::-1]
    path = real + 1e-12j * edge
    coeffs = np.zeros(depth + 2, dtype=np.complex128)
    coeffs[-2], coeffs[-1] = -1.0, 1.0
    root = 1.0 + 0j
    dens = np.empty(path.size)
    for j, xj in enumerate(path):
        coeffs[0] = 1.0 / xj
        roots = np.roots(coeffs)
        root = roots[np.argmin(np.abs(roots - root))]
        dens[j] = -root.imag / (np.pi * xj.real)
    out = np.interp(x, real[::-1], dens[::-1])  # exact at the points of x (on the path)
    return np.where((x > 0) & (x < edge), np.abs(out), 0.0)


# ------------------------------------------------------------------------------------------------
# Lyapunov spectrum of products of square Gaussian matrices
# ------------------------------------------------------------------------------------------------
def lyapunov_mean(n: int, depth: int) -> np.ndarray:
    """``E sum_l log R^(l)_ii^2 = L [psi((n-i+1)/2) + log(2/n)]``, i = 1..n (Bartlett)."""
    dof = n - np.arange(n, dtype=np.float64)
    return depth * (digamma(dof / 2.0) + math.log(2.0 / n))


def lyapunov_var(n: int, depth: int) -> np.ndarray:
    """``Var sum_l log R^(l)_ii^2 = L psi'((n-i+1)/2)``, i = 1..n."""
    dof = n - np.arange(n, dtype=np.float64)
    return depth * polygamma(1, dof / 2.0)


def log_det_moments(n: int, depth: int) -> tuple[float, float]:
    """Mean and variance of ``log det(M^T M) = sum_i log s_i^2`` (exact at every L, n)."""
    return float(np.sum(lyapunov_mean(n, depth))), float(np.sum(lyapunov_var(n, depth)))

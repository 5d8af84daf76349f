"""Zero-noise Bayesian interpolation with a deep linear prior, exactly (Hanin & Zlokapa, "Bayesian
interpolation with deep linear networks", PNAS 120 (2023) e2301345120, arXiv:2212.14457; lecture
notes seed 002, 12/7).

Model and prior (H&Z section 2): ``f(x) = W^(L+1) ... W^(1) x = theta . x`` with
``W^(1)_ij ~ N(0, sigma^2/N_0)``, ``W^(l)_ij ~ N(0, 1/N_{l-1})`` for l >= 2, hidden widths
``N_1..N_L``. Data ``X in R^{N_0 x P}`` (rank P <= N_0), ``Y in R^P``; the zero-noise posterior is
the prior conditioned on ``X^T theta = Y`` (the beta -> infinity limit of ``e^{-beta/2 ||X^T theta
- Y||^2}``).

What is implemented, and why it is exact. Given the layers above the first,
``v = (W^(L+1) ... W^(2))^T in R^{N_1}``, ``theta = W^(1)T v ~ N(0, s^2 I_{N_0})`` with

    s^2 = sigma^2 R^2 / N_0,    R^2 = ||v||^2 = prod_{l=1}^L chi^2_{N_l}/N_l = a y,
    a = prod_l 2/N_l,  y = prod_l G_l,  G_l ~ Gamma(N_l/2)          (the law of :mod:`.productlaw`)

so the prior on theta is a scale mixture of isotropic Gaussians. Write ``theta = theta_par +
theta_perp`` along ``col(X)`` and its complement. Conditioning on ``X^T theta = Y`` (derived here;
the notes' "claim" on 12/7):

    theta_par = theta_* = X (X^T X)^{-1} Y           (the minimum-norm interpolant, deterministic)
    p(s | D)  propto p(s) N(Y; 0, s^2 X^T X)  propto p(s) s^{-P} exp(-||theta_*||^2 / (2 s^2))
    theta_perp | s, D ~ N(0, s^2 P_perp)              (uniform direction, independent of its norm)
    f(x) | D = theta_* . x + s ||x_perp|| xi,   xi ~ N(0, 1),  s ~ p(s | D)

(``Y^T (X^T X)^{-1} Y = ||theta_*||^2``). Everything reduces to the one-dimensional posterior of
``v = log y``:

    w(v) propto p_V(v) exp(-m v - c e^{-v}),   m = P/2,  c = N_0 ||theta_*||^2 / (2 sigma^2 a),

with ``p_V`` the exact density of a sum of log-Gammas (:class:`.productlaw.LogGammaSum`, saddle
point inversion, full relative precision in the tails). The evidence is

    Z = (2 pi sigma^2 a / N_0)^{-P/2} det(X^T X)^{-1/2} int p_V(v) e^{-m v - c e^{-v}} dv,

and ``int p_V e^{-mv - c e^{-v}} = E[y^{-m} e^{-c/y}] = c^{1-m} G^{L+1,0}_{0,L+1}(c | m-1,
N_1/2-1, ..., N_L/2-1) / prod_l Gamma(N_l/2)``: the Meijer-G form of H&Z (Thm 1), because
``y^{-m} e^{-c/y}`` is, up to ``Gamma(m) c^{1-m}``, the density at c of ``G_0 y`` with ``G_0 ~
Gamma(m)``, and a product of Gammas has a Meijer-G density (Springer & Thompson 1970). The tests
check the quadrature against ``mpmath.meijerg``. Depth 0 (no hidden layer) is the Gaussian prior:
``s^2 = sigma^2/N_0`` fixed.

Evidence-optimal data-dependent prior (H&Z section 4): at depth 0, ``Z(sigma^2)`` is maximal at
``sigma_*^2 = N_0 ||theta_*||^2 / P``. Since a deep prior is a mixture over scales of depth-0
priors, ``Z(L, sigma^2) <= Z(0, sigma_*^2)`` exactly (tested). Large-P Gaussian approximation
(derived here, in ``u = log R^2`` with prior mean ``mu_u = sum psi(N_l/2) + log(2/N_l)``, variance
``v_u = sum psi'(N_l/2)``, likelihood peak ``Delta = log(sigma_*^2/sigma^2)``, curvature ``P/2``):

    log Z(L, sigma^2) - log Z(0, sigma_*^2) ~ -1/2 log(1 + lam) - (P/4)(Delta - mu_u)^2 / (1 + lam),
    E[u | D] ~ (mu_u + lam Delta) / (1 + lam),     lam = (P/2) v_u ~ P L / N  (effective depth),

so at fixed P the evidence rises with the effective depth ``lam = P sum_l 1/N_l`` while
``lam < P Delta^2/2 - 1`` and the posterior scale tends to the data-dependent optimum as
``lam -> infinity`` (H&Z: "the posterior of infinitely deep linear networks with data-agnostic
priors is the same as that of shallow networks with evidence-maximizing data-dependent priors").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy.special import digamma, log_ndtr, logsumexp, ndtr, polygamma

from theoryscope.experiments.deeplinear_init.productlaw import LogGammaSum

#: Points of the posterior grid in v = log y.
GRID_POINTS = 801


@dataclass(frozen=True)
class Data:
    """Inputs ``x`` (N_0, P), targets ``y`` (P,) and the projections the posterior needs."""

    x: np.ndarray
    y: np.ndarray

    @cached_property
    def gram(self) -> np.ndarray:
        return self.x.T @ self.x

    @cached_property
    def theta_star(self) -> np.ndarray:
        """Minimum-norm interpolant ``X (X^T X)^{-1} Y``."""
        return self.x @ np.linalg.solve(self.gram, self.y)

    @cached_property
    def basis(self) -> np.ndarray:
        """Orthonormal basis of col(X), (N_0, P)."""
        q, _ = np.linalg.qr(self.x)
        return q

    def split(self, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(theta_* . x, ||x_perp||)`` for test inputs (T, N_0)."""
        x_test = np.atleast_2d(x_test)
        par = x_test @ self.basis
        perp2 = np.maximum(np.sum(x_test * x_test, axis=1) - np.sum(par * par, axis=1), 0.0)
        return x_test @ self.theta_star, np.sqrt(perp2)

    @property
    def n0(self) -> int:
        return int(self.x.shape[0])

    @property
    def p(self) -> int:
        return int(self.x.shape[1])


def teacher_data(n0: int, p: int, norm2: float, seed: int) -> tuple[Data, np.ndarray]:
    """``x_i ~ N(0, I_{N_0})``, a teacher of squared norm ``norm2`` in a uniform direction,
    ``y = X^T theta_t`` (noise-free): ``(Data, theta_t)`` from ``default_rng(seed)``."""
    rng = np.random.default_rng(int(seed))
    x = rng.standard_normal((int(n0), int(p)))
    t = rng.standard_normal(int(n0))
    t *= math.sqrt(norm2) / np.linalg.norm(t)
    return Data(x=x, y=x.T @ t), t


@dataclass(frozen=True)
class Posterior:
    """The exact zero-noise posterior of the deep linear prior (module docstring)."""

    data: Data
    hidden: tuple[int, ...]
    sigma2: float = 1.0
    grid: tuple[np.ndarray, np.ndarray] = field(init=False, repr=False, compare=False)
    log_integral: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        v, logw, log_int = _posterior_grid(self.hidden, self.m, self.c)
        object.__setattr__(self, "grid", (v, logw))
        object.__setattr__(self, "log_integral", log_int)

    # -- constants ----------------------------------------------------------------------------
    @property
    def m(self) -> float:
        return self.data.p / 2.0

    @cached_property
    def log_a(self) -> float:
        return float(sum(math.log(2.0 / n) for n in self.hidden))

    @cached_property
    def theta_star_norm2(self) -> float:
        return float(self.data.theta_star @ self.data.theta_star)

    @cached_property
    def c(self) -> float:
        return self.data.n0 * self.theta_star_norm2 / (2.0 * self.sigma2 * math.exp(self.log_a))

    @cached_property
    def log_kappa(self) -> float:
        """``log(sigma^2 a / N_0)``: ``s^2 = kappa y``."""
        return math.log(self.sigma2) + self.log_a - math.log(self.data.n0)

    # -- the posterior of v = log y ------------------------------------------------------------
    @cached_property
    def log_weights(self) -> np.ndarray:
        """Log of the normalized quadrature weights of the posterior on ``grid[0]``."""
        _, logw = self.grid
        return logw - logsumexp(logw)

    @cached_property
    def weights(self) -> np.ndarray:
        return np.exp(self.log_weights)

    def expect(self, values: np.ndarray) -> float:
        return float(np.sum(self.weights * values))

    @cached_property
    def log_s2_grid(self) -> np.ndarray:
        return self.log_kappa + self.grid[0]

    @cached_property
    def s2_mean(self) -> float:
        """``E[s^2 | D]``: the posterior per-coordinate variance of theta_perp."""
        return self.expect(np.exp(self.log_s2_grid))

    @cached_property
    def s2_second(self) -> float:
        return self.expect(np.exp(2.0 * self.log_s2_grid))

    @cached_property
    def theta_perp_norm2(self) -> float:
        """``E[||theta_perp||^2 | D] = (N_0 - P) E[s^2 | D]``."""
        return (self.data.n0 - self.data.p) * self.s2_mean

    @cached_property
    def log_r2_mean(self) -> float:
        """``E[log R^2 | D]``, ``R^2 = a y``."""
        return self.log_a + self.expect(self.grid[0])

    @cached_property
    def log_evidence(self) -> float:
        """``log Z`` (module docstring)."""
        _, logdet = np.linalg.slogdet(self.data.gram)
        p = self.data.p
        return float(
            -0.5 * p * (math.log(2.0 * math.pi) + self.log_kappa) - 0.5 * logdet
            + self.log_integral
        )  # fmt: skip

    # -- prediction ----------------------------------------------------------------------------
    def predictive_moments(self, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean ``theta_* . x`` and variance ``||x_perp||^2 E[s^2 | D]`` of f(x) | D."""
        mean, perp = self.data.split(x_test)
        return mean, perp**2 * self.s2_mean

    def predictive_logpdf(self, x_test: np.ndarray, f: np.ndarray) -> np.ndarray:
        """``log p(f(x) = f | D)``: a scale mixture of Gaussians over the posterior grid."""
        mean, perp = self.data.split(x_test)
        f = np.asarray(f, dtype=np.float64).reshape(-1)
        var = perp[:, None] ** 2 * np.exp(self.log_s2_grid)[None, :]
        r = (f - mean)[:, None]
        logn = -0.5 * (np.log(2.0 * math.pi * var) + r * r / var)
        return logsumexp(logn + self.log_weights[None, :], axis=1)

    def predictive_cdf(self, x_test: np.ndarray, f: np.ndarray) -> np.ndarray:
        """``P(f(x) <= f | D)`` for one test input and an array of values f."""
        mean, perp = self.data.split(np.atleast_2d(x_test)[:1])
        f = np.asarray(f, dtype=np.float64)
        sd = perp[0] * np.exp(0.5 * self.log_s2_grid)
        z = (f[..., None] - mean[0]) / sd
        return np.sum(self.weights * ndtr(z), axis=-1)

    def nlpd(self, x_test: np.ndarray, y_test: np.ndarray) -> float:
        """Mean negative log predictive density of noise-free test targets."""
        return float(-np.mean(self.predictive_logpdf(x_test, y_test)))


def _posterior_grid(
    hidden: Sequence[int], m: float, c: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """``(v, log w(v) + log dv, log int p_V e^{-mv - c e^{-v}} dv)`` on a grid around the mode.

    The mode solves ``-eta(v) - m + c e^{-v} = 0`` (the saddle point gives ``d log p_V/dv ~
    -eta(v)``); the grid spans +-12 posterior standard deviations and is widened until both ends
    are below e^-40 of the peak. Depth 0: ``v = 0`` exactly."""
    if len(hidden) == 0:
        return np.zeros(1), np.zeros(1), -c
    law = LogGammaSum.of([n / 2.0 for n in hidden])

    def slope(v: float) -> float:  # d/dv [log p_V(v) - m v - c e^-v], saddle-point form
        return float(-law.saddle(np.asarray([v]))[0] - m + c * math.exp(min(-v, 700.0)))

    step = 10.0 * math.sqrt(law.var()) + 10.0
    lo, hi = law.mean() - step, law.mean() + step
    while slope(lo) <= 0:
        lo -= step
        step *= 2.0
    while slope(hi) >= 0:
        hi += step
        step *= 2.0
    while hi - lo > 1e-9 * (1.0 + abs(lo)):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if slope(mid) > 0 else (lo, mid)
    mode = 0.5 * (lo + hi)
    eta = law.saddle(np.asarray([mode]))
    curv = 1.0 / float(law.cgf2(eta)[0]) + c * math.exp(-mode)
    sd = 1.0 / math.sqrt(curv)
    left, right = 12.0 * sd, 12.0 * sd
    for _ in range(12):
        v = np.linspace(mode - left, mode + right, GRID_POINTS)
        logw = law.logpdf(v) - m * v - c * np.exp(-v)
        peak = float(np.max(logw))
        grow_left = logw[0] > peak - 40.0
        grow_right = logw[-1] > peak - 40.0
        if not (grow_left or grow_right):
            break
        left *= 2.0 if grow_left else 1.0
        right *= 2.0 if grow_right else 1.0
    dv = float(v[1] - v[0])
    logw = logw + math.log(dv)
    return v, logw, float(logsumexp(logw))


# ------------------------------------------------------------------------------------------------
# the large-P Gaussian approximation (effective depth)
# ------------------------------------------------------------------------------------------------
def effective_depth(hidden: Sequence[int], p: int) -> float:
    """``lam = (P/2) sum_l psi'(N_l/2)  ~  P sum_l 1/N_l`` (= P L / N at equal widths)."""
    if not hidden:
        return 0.0
    n = np.asarray(hidden, dtype=np.float64)
    return float(0.5 * p * np.sum(polygamma(1, n / 2.0)))


def gaussian_approximation(hidden: Sequence[int], data: Data, sigma2: float) -> dict[str, float]:
    """Large-P prediction of the evidence gap and the posterior log scale (module docstring)."""
    n = np.asarray(hidden, dtype=np.float64)
    mu = float(np.sum(digamma(n / 2.0) + np.log(2.0 / n))) if n.size else 0.0
    lam = effective_depth(hidden, data.p)
    t2 = float(data.theta_star @ data.theta_star)
    delta = math.log(data.n0 * t2 / (data.p * sigma2))
    return {
        "lam": lam,
        "delta": delta,
        "prior_log_r2_mean": mu,
        "log_evidence_gap": -0.5 * math.log1p(lam) - 0.25 * data.p * (delta - mu) ** 2 / (1 + lam),
        "log_r2_mean": (mu + lam * delta) / (1.0 + lam),
    }


def lognormal_approximation(
    hidden: Sequence[int], data: Data, sigma2: float, points: int = 4001
) -> dict[str, float]:
    """The evidence gap and posterior log scale with the exact likelihood in ``u = log R^2`` but
    the prior of u replaced by its log-normal limit ``N(mu_u, v_u)`` (the law that depends on
    the architecture only through ``sum 1/N_l``; :mod:`.productlaw`)::

        log Z(L, sigma^2) - log Z(0, sigma_*^2) = log int N(u; mu_u, v_u) e^{l(u) - l(Delta)} du,
        l(u) = -(P/2) u - C e^{-u},  C = N_0 ||theta_*||^2 / (2 sigma^2),  Delta = log(2C/P).
    """
    n = np.asarray(hidden, dtype=np.float64)
    mu = float(np.sum(digamma(n / 2.0) + np.log(2.0 / n))) if n.size else 0.0
    var = float(np.sum(polygamma(1, n / 2.0))) if n.size else 0.0
    p = data.p
    c = data.n0 * float(data.theta_star @ data.theta_star) / (2.0 * sigma2)
    delta = math.log(2.0 * c / p)

    def ell(u: np.ndarray) -> np.ndarray:
        return -0.5 * p * u - c * np.exp(-u) + 0.5 * p * (delta + 1.0)  # l(u) - l(Delta)

    if var == 0.0:
        return {"log_evidence_gap": float(ell(np.asarray(mu))), "log_r2_mean": mu}
    sd_prior, sd_lik = math.sqrt(var), math.sqrt(2.0 / p)
    lo = min(mu - 15 * sd_prior, delta - 15 * sd_lik)
    hi = max(mu + 15 * sd_prior, delta + 15 * sd_lik)
    u = np.linspace(lo, hi, points)
    logw = -0.5 * (u - mu) ** 2 / var - 0.5 * math.log(2 * math.pi * var) + ell(u)
    logw += math.log(float(u[1] - u[0]))
    total = float(logsumexp(logw))
    return {"log_evidence_gap": total, "log_r2_mean": float(np.sum(np.exp(logw - total) * u))}


def optimal_sigma2(data: Data) -> float:
    """``sigma_*^2 = N_0 ||theta_*||^2 / P``: the evidence-maximizing depth-0 prior scale."""
    return float(data.n0 * (data.theta_star @ data.theta_star) / data.p)


# ------------------------------------------------------------------------------------------------
# samplers over actual networks (the checks)
# ------------------------------------------------------------------------------------------------
def _upper_layers(rng: np.random.Generator, hidden: Sequence[int], count: int) -> np.ndarray:
    """``v = (W^(L+1) ... W^(2))^T`` (count, N_1) from Gaussian matrices, top down."""
    hidden = list(hidden)
    top = hidden[-1]
    v = rng.standard_normal((count, top)) / math.sqrt(top)
    for l in range(len(hidden) - 1, 0, -1):  # W^(l+1): N_{l+1} x N_l, entries N(0, 1/N_l)
        w = rng.standard_normal((count, hidden[l], hidden[l - 1])) / math.sqrt(hidden[l - 1])
        v = np.einsum("bi,bij->bj", v, w)
    return v


def importance_sampler(
    post: Posterior, x_test: np.ndarray, nets: int, seed: int, chunk: int = 20000
) -> dict[str, np.ndarray | float]:
    """Posterior samples of whole networks, exact at zero noise.

    For each net: the upper layers ``W^(2..L+1)`` from the prior (Gaussian matrices), weight
    ``N(Y; 0, sigma^2 ||v||^2 / N_0 X^T X)`` (the density of the data given them), and the first
    layer from its exact conditional given ``v^T W^(1) X = Y`` by Matheron's rule,
    ``W1 <- W1 + v (Y^T - v^T W1 X)(X^T X)^{-1} X^T / ||v||^2`` (W1 drawn from its prior). Returns
    the outputs ``f(x_test)`` (nets, T), ``||theta_perp||^2`` and ``s^2``-free weights."""
    data, hidden = post.data, post.hidden
    rng = np.random.default_rng(int(seed))
    n0, p = data.n0, data.p
    ginv_xt = np.linalg.solve(data.gram, data.x.T)  # (X^T X)^{-1} X^T, (P, N_0)
    _, logdet = np.linalg.slogdet(data.gram)
    t2 = post.theta_star_norm2
    x_test = np.atleast_2d(x_test)
    outs, logws, perps = [], [], []
    for start in range(0, int(nets), chunk):
        count = min(chunk, int(nets) - start)
        n1 = hidden[0] if hidden else 1
        v = _upper_layers(rng, hidden, count) if hidden else np.ones((count, 1))
        w1 = rng.standard_normal((count, n1, n0)) * math.sqrt(post.sigma2 / n0)
        r2 = np.sum(v * v, axis=1)
        s2 = post.sigma2 * r2 / n0
        logws.append(-0.5 * (p * np.log(2 * math.pi * s2) + logdet + t2 / s2))
        resid = data.y[None, :] - np.einsum("bi,bij,jk->bk", v, w1, data.x)
        w1 = w1 + np.einsum("bi,bk,kj->bij", v / r2[:, None], resid, ginv_xt)
        theta = np.einsum("bi,bij->bj", v, w1)
        outs.append(theta @ x_test.T)
        perp = theta - theta @ data.basis @ data.basis.T
        perps.append(np.sum(perp * perp, axis=1))
    logw = np.concatenate(logws)
    return {"f": np.concatenate(outs), "log_weights": logw,
            "theta_perp_norm2": np.concatenate(perps)}  # fmt: skip


def weighted_mean(values: np.ndarray, log_weights: np.ndarray) -> tuple[float, float]:
    """Self-normalized importance-sampling mean and its delta-method standard error."""
    w = np.exp(log_weights - np.max(log_weights))
    w /= np.sum(w)
    mean = float(np.sum(w * values))
    se = float(math.sqrt(np.sum(w * w * (values - mean) ** 2)))
    return mean, se


def log_mean_weight(log_weights: np.ndarray) -> tuple[float, float]:
    """``log mean e^{log w}`` (the evidence estimate) and its standard error on the log scale."""
    top = float(np.max(log_weights))
    w = np.exp(log_weights - top)
    mean = float(np.mean(w))
    se = float(np.std(w, ddof=1) / math.sqrt(w.size)) / mean
    return top + math.log(mean), se


def effective_sample_size(log_weights: np.ndarray) -> float:
    w = np.exp(log_weights - np.max(log_weights))
    return float(np.sum(w) ** 2 / np.sum(w * w))


def rejection_sampler(
    post: Posterior, x_test: np.ndarray, nets: int, eps: float, seed: int, chunk: int = 200_000
) -> dict[str, np.ndarray | float]:
    """Whole networks from the prior, kept when ``max_i |theta . x_i - y_i| <= eps``: samples of
    the posterior at noise ~ eps (box likelihood); ``P(accept) / (2 eps)^P -> Z``."""
    data, hidden = post.data, post.hidden
    rng = np.random.default_rng(int(seed))
    n0 = data.n0
    x_test = np.atleast_2d(x_test)
    kept = []
    for start in range(0, int(nets), chunk):
        count = min(chunk, int(nets) - start)
        n1 = hidden[0] if hidden else 1
        v = _upper_layers(rng, hidden, count) if hidden else np.ones((count, 1))
        w1 = rng.standard_normal((count, n1, n0)) * math.sqrt(post.sigma2 / n0)
        theta = np.einsum("bi,bij->bj", v, w1)
        ok = np.max(np.abs(theta @ data.x - data.y[None, :]), axis=1) <= eps
        kept.append(theta[ok] @ x_test.T)
    f = np.concatenate(kept)
    accept = f.shape[0] / int(nets)
    return {
        "f": f,
        "accepted": int(f.shape[0]),
        "log_evidence": math.log(max(accept, 1e-300)) - data.p * math.log(2.0 * eps),
        "log_evidence_se": 1.0 / math.sqrt(max(f.shape[0], 1)),
    }


def log_normal_cdf_mixture(post: Posterior, x_test: np.ndarray, f: np.ndarray) -> np.ndarray:
    """``log P(f(x) <= f | D)`` (stable in the far left tail)."""
    mean, perp = post.data.split(np.atleast_2d(x_test)[:1])
    sd = perp[0] * np.exp(0.5 * post.log_s2_grid)
    z = (np.asarray(f, dtype=np.float64)[..., None] - mean[0]) / sd
    return logsumexp(log_ndtr(z) + post.log_weights, axis=-1)

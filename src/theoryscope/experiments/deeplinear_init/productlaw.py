"""The exact finite-width law of a deep linear network's end-to-end vector, and its limits.

Network (lecture notes seed 002, 12/7 "Ex 2 / Deep Linear Network"): with weights
``W^(l) in R^{n_l x n_{l-1}}``, entries i.i.d. ``N(0, 1/n_{l-1})``, ``l = 1..L+1``, output width
``n_{L+1} = 1``, the map is ``z(x) = W^(L+1) ... W^(1) x = theta^T x`` with ``theta in R^{n_0}``.

Exact law (notes, same page; rotation invariance of Gaussian matrices): peel the layers from the
top. ``||W^(L+1)||^2 ~ chi^2_{n_L} / n_L``; given it, ``u^T W^(L)`` for the unit vector
``u = W^(L+1)/||W^(L+1)||`` is ``N(0, I_{n_{L-1}} / n_{L-1})`` independent of the past, and so on
down to ``W^(1)``. Hence, exactly and for every width,

    ||theta||^2  =d  prod_{l=0}^{L} chi^2_{n_l} / n_l       (L + 1 independent factors),

with ``theta / ||theta||`` uniform on the sphere and independent of the norm. (The notes write the
product over ``l = 1..L`` and say each factor has variance ``1/n``; the factor of the input layer
``n_0`` is there too, and ``Var chi^2_n / n = 2/n``: the formulas below use the exact version.)

Moments (``E (chi^2_n / n)^k = (2/n)^k Gamma(n/2 + k) / Gamma(n/2)``)::

    E ||theta||^{2k} = prod_l prod_{j=0}^{k-1} (1 + 2 j / n_l)      e.g. E||theta||^4 = prod (1 + 2/n_l)

and for ``log ||theta||^2 = sum_l log(chi^2_{n_l}/n_l)`` (``E log chi^2_n = psi(n/2) + log 2``)::

    E log ||theta||^2   = sum_l [psi(n_l/2) + log(2/n_l)]   = -sum_l [1/n_l + 1/(3 n_l^2) + O(n^-4)]
    Var log ||theta||^2 = sum_l psi'(n_l/2)                 =  sum_l [2/n_l + 2/n_l^2 + O(n^-3)]
    j-th cumulant (j >= 2) = sum_l psi^(j-1)(n_l/2)          = O(L / n^{j-1})

so with ``L/n -> tau`` fixed (all widths n) ``log ||theta||^2 -> N(-tau, 2 tau)``, i.e.
``log ||theta|| -> N(-tau/2, tau/2)``: the log-normal limit. (The notes' ``N(-L/4n, L/4n)`` for
``log ||theta||`` follows from their per-factor variance ``1/n``; with the true ``2/n`` it is
``N(-L/2n, L/2n)``; the Monte Carlo of the run and the ``norm-law`` study measure it.)
``n -> infinity`` first gives ``||theta|| -> 1``; ``L -> infinity`` first gives ``||theta|| -> 0``:
the limits do not commute, and only ``L/n`` matters between them.

Exact density and CDF: ``V = log prod_l G_l`` with ``G_l ~ Gamma(k_l, 1)`` independent has the
moment generating function ``M(z) = E e^{zV} = prod_l Gamma(k_l + z) / Gamma(k_l)`` (the Mellin
transform of the Meijer-G density of a product of Gammas, ``G^{m,0}_{0,m}``). Its density is the
inverse Fourier transform along any vertical line ``Re z = eta`` of the strip ``eta > -min k_l``:

    p_V(v) = M(eta) e^{-eta v} q_eta(v),
    q_eta(v) = (1/pi) int_0^inf Re[ M(eta + i t) / M(eta) e^{-i t v} ] dt,

where ``q_eta`` is the density at ``v`` of ``V_eta = sum_l log Gamma(k_l + eta)`` (the
exponentially tilted law). Choosing ``eta`` at the saddle point ``K'(eta) = sum_l psi(k_l + eta)
= v`` puts ``v`` at the mean of ``V_eta``, so ``q_eta(v) ~ (2 pi K''(eta))^{-1/2}`` is computed to
full relative precision by the trapezoid rule (spectrally accurate for such Fourier integrals):
no loss of precision in the far tails, which the Bayesian posterior of :mod:`.bayes` needs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.special import digamma, gammaln, loggamma, polygamma

#: Smallest tilted shape ``k_min + eta`` the saddle may reach (left tails beyond are clamped).
KAPPA_FLOOR = 0.05
#: The trapezoid rule's node count is capped here (the far left tail of chi^2_1 factors).
MAX_NODES = 1 << 15


# ------------------------------------------------------------------------------------------------
# moments
# ------------------------------------------------------------------------------------------------
def _widths(widths: Sequence[int]) -> np.ndarray:
    arr = np.asarray(list(widths), dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0 or np.any(arr < 1):
        raise ValueError("widths must be a non-empty list of integers >= 1")
    return arr


def norm_moment(widths: Sequence[int], k: int) -> float:
    """``E ||theta||^{2k} = prod_l prod_{j<k} (1 + 2j/n_l)`` (chi^2 moments; notes 12/7)."""
    n = _widths(widths)
    j = np.arange(int(k), dtype=np.float64)
    return float(np.exp(np.sum(np.log1p(2.0 * j[None, :] / n[:, None]))))


def log_norm_mean(widths: Sequence[int]) -> float:
    """``E log ||theta||^2 = sum_l [psi(n_l/2) + log(2/n_l)]`` (E log chi^2_n = psi(n/2) + log 2)."""
    n = _widths(widths)
    return float(np.sum(digamma(n / 2.0) + np.log(2.0 / n)))


def log_norm_var(widths: Sequence[int]) -> float:
    """``Var log ||theta||^2 = sum_l psi'(n_l/2)`` (trigamma: Var log Gamma(k) = psi'(k))."""
    n = _widths(widths)
    return float(np.sum(polygamma(1, n / 2.0)))


def log_norm_cumulant(widths: Sequence[int], order: int) -> float:
    """The ``order``-th cumulant of ``log ||theta||^2``: ``sum_l psi^(order-1)(n_l/2)`` (order >= 2)."""
    n = _widths(widths)
    return float(np.sum(polygamma(int(order) - 1, n / 2.0)))


def lognormal_limit(widths: Sequence[int]) -> tuple[float, float]:
    """First order in 1/n: ``log ||theta||^2 ~ N(-sum 1/n_l, sum 2/n_l)`` (-> N(-tau, 2 tau))."""
    n = _widths(widths)
    return float(-np.sum(1.0 / n)), float(np.sum(2.0 / n))


def lognormal_gap(widths: Sequence[int]) -> dict[str, float]:
    """Exact mean/variance of log||theta||^2 beside the log-normal limit's, and their ratios."""
    mean, var = log_norm_mean(widths), log_norm_var(widths)
    lim_mean, lim_var = lognormal_limit(widths)
    return {
        "mean": mean, "var": var, "limit_mean": lim_mean, "limit_var": lim_var,
        "mean_ratio": mean / lim_mean, "var_ratio": var / lim_var,
        "skewness": log_norm_cumulant(widths, 3) / var**1.5,
    }  # fmt: skip


# ------------------------------------------------------------------------------------------------
# the law of V = sum_l log G_l, G_l ~ Gamma(k_l): saddle-point Fourier inversion
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogGammaSum:
    """``V = sum_l log G_l`` with ``G_l ~ Gamma(shape_l, 1)`` independent (``counts`` repeats)."""

    shapes: tuple[float, ...]
    counts: tuple[int, ...]

    @classmethod
    def of(cls, shapes: Sequence[float]) -> LogGammaSum:
        uniq, counts = np.unique(np.asarray(list(shapes), dtype=np.float64), return_counts=True)
        return cls(tuple(float(s) for s in uniq), tuple(int(c) for c in counts))

    @property
    def size(self) -> int:
        return int(sum(self.counts))

    @cached_property
    def _k(self) -> np.ndarray:
        return np.asarray(self.shapes, dtype=np.float64)

    @cached_property
    def _c(self) -> np.ndarray:
        return np.asarray(self.counts, dtype=np.float64)

    @property
    def k_min(self) -> float:
        return float(np.min(self._k))

    def mean(self) -> float:
        return float(np.sum(self._c * digamma(self._k)))

    def var(self) -> float:
        return float(np.sum(self._c * polygamma(1, self._k)))

    def cgf(self, z: np.ndarray) -> np.ndarray:
        """``K(z) = log M(z) = sum c_l [log Gamma(k_l + z) - log Gamma(k_l)]`` (complex z ok)."""
        z = np.asarray(z)
        k, c = self._k, self._c
        shape = (1,) * z.ndim + (-1,)
        if np.iscomplexobj(z):
            terms = loggamma(z[..., None] + k.reshape(shape)) - gammaln(k).reshape(shape)
        else:
            terms = gammaln(z[..., None] + k.reshape(shape)) - gammaln(k).reshape(shape)
        return np.sum(c.reshape(shape) * terms, axis=-1)

    def cgf1(self, eta: np.ndarray) -> np.ndarray:
        k, c = self._k, self._c
        return np.sum(c * digamma(np.asarray(eta)[..., None] + k), axis=-1)

    def cgf2(self, eta: np.ndarray) -> np.ndarray:
        k, c = self._k, self._c
        return np.sum(c * polygamma(1, np.asarray(eta)[..., None] + k), axis=-1)

    def saddle(self, v: np.ndarray) -> np.ndarray:
        """``eta`` with ``K'(eta) = v`` (bisection in ``log(eta + k_min)``), clamped so that
        ``k_min + eta >= KAPPA_FLOOR``."""
        v = np.asarray(v, dtype=np.float64)
        kmin = self.k_min
        lo = np.full(v.shape, math.log(KAPPA_FLOOR))
        hi = np.full(v.shape, 60.0)
        for _ in range(34):  # bisection in x = log(k_min + eta) to ~1e-8, then Newton
            mid = 0.5 * (lo + hi)
            above = self.cgf1(np.exp(mid) - kmin) > v
            hi = np.where(above, mid, hi)
            lo = np.where(above, lo, mid)
        x = 0.5 * (lo + hi)
        for _ in range(4):  # d K'/dx = K''(eta) e^x; stays in the bracket
            e = np.exp(x)
            x = np.clip(x - (self.cgf1(e - kmin) - v) / (self.cgf2(e - kmin) * e), lo, hi)
        return np.exp(x) - kmin

    def logpdf(self, v: np.ndarray) -> np.ndarray:
        """``log p_V(v)`` to full relative precision (module docstring); -inf where the clamped
        tilt leaves no significant digit (far beyond ``KAPPA_FLOOR``'s left tail)."""
        v = np.atleast_1d(np.asarray(v, dtype=np.float64))
        eta = self.saddle(v)
        k2 = self.cgf2(eta)
        sd = np.sqrt(k2)
        kappa = self.k_min + eta
        # aliasing distance: the tilted density must be negligible 'reach' away from v
        reach = np.maximum(12.0 * sd, 40.0 / kappa)
        h = 2.0 * np.pi / reach
        # extent: |M(eta + iT)/M(eta)| < e^-40
        base_k = self.cgf(eta)
        t_end = np.sqrt(80.0) / sd
        for _ in range(40):
            big = np.real(self.cgf(eta + 1j * t_end)) - base_k > -40.0
            if not np.any(big):
                break
            t_end = np.where(big, 2.0 * t_end, t_end)
        nodes = np.minimum(np.ceil(t_end / h).astype(np.int64) + 1, MAX_NODES)
        h = np.maximum(h, t_end / (nodes - 1))  # at the cap: the extent wins over aliasing
        buckets = np.maximum(16, 1 << np.ceil(np.log2(nodes)).astype(np.int64))
        q = np.empty_like(v)
        for size in np.unique(buckets):
            idx = np.nonzero(buckets == size)[0]
            for part in np.array_split(idx, max(1, (idx.size * int(size)) // 400_000 + 1)):
                if part.size == 0:
                    continue
                t = h[part, None] * np.arange(int(size), dtype=np.float64)[None, :]
                z = eta[part, None] + 1j * t
                vals = np.real(np.exp(self.cgf(z) - base_k[part, None] - 1j * t * v[part, None]))
                vals[:, 0] *= 0.5
                q[part] = h[part] * np.sum(vals, axis=1) / np.pi
        with np.errstate(divide="ignore", invalid="ignore"):
            out = base_k - eta * v + np.log(np.where(q > 0, q, np.nan))
        return np.where(np.isfinite(out), out, -np.inf)

    def density_grid(self, lo: float, hi: float, points: int) -> tuple[np.ndarray, np.ndarray]:
        """``p_V`` on ``points`` equispaced values over ``[lo, hi]`` by one FFT of the trapezoid
        rule ``p(v) = (1/pi) int_0^inf Re[M(i t) e^{-i t v}] dt`` with ``dt = 2 pi / (points dv)``
        (absolute precision ~1e-16 of the peak: the CDF and histograms; :meth:`logpdf` for
        relative precision in the tails)."""
        v = np.linspace(lo, hi, points)
        dv = float(v[1] - v[0])
        dt = 2.0 * np.pi / (points * dv)
        t = dt * np.arange(points)
        phi = np.exp(self.cgf(1j * t) - 1j * t * lo)
        phi[0] *= 0.5
        dens = dt / np.pi * np.real(np.fft.fft(phi))
        return v, np.maximum(dens, 0.0)

    def span(self, width: float = 14.0) -> tuple[float, float]:
        """A range of v holding all but ~e^-40 of the mass: the mean -/+ ``width`` sd, widened on
        the left for the exponential tail ``e^{k_min v}`` of small shapes."""
        mean, sd = self.mean(), math.sqrt(self.var())
        left = max(width * sd, 46.0 / self.k_min)
        return mean - left, mean + width * sd


def _cumulative(y: np.ndarray, h: float) -> np.ndarray:
    """Cumulative integral of samples ``y`` on a uniform grid (third order per interval:
    ``int_{x_i}^{x_i+1} f = h/12 (5 f_i + 8 f_i+1 - f_i+2)``, mirrored on the last interval)."""
    inc = np.empty(y.size - 1)
    inc[:-1] = h / 12.0 * (5.0 * y[:-2] + 8.0 * y[1:-1] - y[2:])
    inc[-1] = h / 12.0 * (-y[-3] + 8.0 * y[-2] + 5.0 * y[-1])
    return np.concatenate([[0.0], np.cumsum(inc)])


# ------------------------------------------------------------------------------------------------
# the law of ||theta||^2
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NormLaw:
    """The exact law of ``||theta||^2 = prod_l chi^2_{n_l}/n_l`` for ``widths = (n_0, ..., n_L)``.

    Works in ``v = log ||theta||^2 = sum_l log G_l + sum_l log(2/n_l)``, ``G_l ~ Gamma(n_l/2)``.
    """

    widths: tuple[int, ...]
    grid_points: int = 4001

    @cached_property
    def gammas(self) -> LogGammaSum:
        return LogGammaSum.of([n / 2.0 for n in self.widths])

    @cached_property
    def offset(self) -> float:
        return float(sum(math.log(2.0 / n) for n in self.widths))

    def moment(self, k: int) -> float:
        return norm_moment(self.widths, k)

    def log_mean(self) -> float:
        return log_norm_mean(self.widths)

    def log_var(self) -> float:
        return log_norm_var(self.widths)

    def logpdf_log(self, v: np.ndarray) -> np.ndarray:
        """Log density of ``log ||theta||^2`` at ``v``."""
        return self.gammas.logpdf(np.asarray(v, dtype=np.float64) - self.offset)

    @cached_property
    def grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(v, pdf, cdf)`` of ``log ||theta||^2`` on a uniform grid over its span."""
        lo, hi = self.gammas.span()
        v, pdf = self.gammas.density_grid(lo, hi, self.grid_points)
        v = v + self.offset
        cdf = _cumulative(pdf, float(v[1] - v[0]))
        return v, pdf, cdf / cdf[-1]

    @cached_property
    def mass(self) -> float:
        """The integral of the computed density over the grid (1 up to quadrature error)."""
        v, pdf, _ = self.grid
        return float(_cumulative(pdf, float(v[1] - v[0]))[-1])

    def cdf_log(self, v: np.ndarray) -> np.ndarray:
        """``P(log ||theta||^2 <= v)`` by interpolating the grid (error < 1e-9 for the default grid)."""
        grid, _, cdf = self.grid
        return np.interp(np.asarray(v, dtype=np.float64), grid, cdf, left=0.0, right=1.0)

    def quantile_log(self, p: np.ndarray) -> np.ndarray:
        grid, _, cdf = self.grid
        return np.interp(np.asarray(p, dtype=np.float64), cdf, grid)

    def sample_log(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``log ||theta||^2`` of ``size`` nets from the product law (NumPy; the reference)."""
        n = np.asarray(self.widths, dtype=np.float64)
        return np.sum(np.log(rng.chisquare(n[None, :], size=(size, n.size)) / n[None, :]), axis=1)


def ks_statistic(samples: np.ndarray, cdf: np.ndarray) -> float:
    """One-sample Kolmogorov-Smirnov ``D = sup |F_m - F|`` given ``F`` at the sorted samples."""
    m = samples.size
    if m == 0:
        return float("nan")
    order = np.argsort(samples)
    f = np.asarray(cdf)[order]
    i = np.arange(1, m + 1)
    return float(max(np.max(i / m - f), np.max(f - (i - 1) / m)))


def ks_pvalue(d: float, m: int) -> float:
    """P(D_m >= d) under the null (scipy's exact/asymptotic Kolmogorov distribution)."""
    from scipy.stats import kstwo

    if m <= 0 or not math.isfinite(d):
        return float("nan")
    return float(kstwo.sf(d, m))


#: E sqrt(m) D_m -> sqrt(pi/2) log 2 (mean of the Kolmogorov distribution), and its 95% quantile.
KS_MEAN = math.sqrt(math.pi / 2.0) * math.log(2.0)
KS_95 = 1.3580986393225507

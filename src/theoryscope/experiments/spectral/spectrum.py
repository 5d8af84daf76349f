"""Conditioning of the ReLU Gram matrix: eigenvalue decay, condition number, numerical rank.

Theory (talk, slide "Spectral analysis for the Gram matrix of ReLU basis: 1D", Lemma; paper
arXiv:2306.17301): the eigenvalues of the kernel ``G(x, y) = int_D sigma(z - x) sigma(z - y) dz``
decay algebraically, ``mu_j = O(j^{-4})`` in 1-D (in R^d: ``j^{-(d+3)/d}``, d = 1 gives 4), with
eigenfunctions solving ``phi'''' = mu^{-1} phi`` -- asymptotically Fourier modes ordered from low
to high frequency. Theorem (same slide): for i.i.d. biases with a density bounded above and below,
``lambda_1 / lambda_n >= O(n^3 / log n)`` with probability ``1 - 1/n``.

Low-pass filtering in finite precision (slide "Low pass filter"): eigen-directions with
``lambda_j < eps * lambda_1`` are lost to rounding. With ``lambda_j ~ C j^{-p}`` the numerical
rank is therefore about ``(C / (eps lambda_1))^{1/p}``: independent of the width n once n is
larger, which is why float32 keeps far fewer modes than float64. The talk's count of Laplace
modes captured *accurately and stably* by the pseudo-inverse is ``eps^{-d/(2d+3)}``
(``eps^{-1/5}`` in 1-D: about 24 in single and 1351 in double precision); we report it beside
the measured rank, which is the (larger) count of eigenvalues above ``eps * lambda_1``.

``eps * lambda_1`` is the worst-case (norm-wise) perturbation of rounding G. Rounding entry by
entry perturbs the small eigenvalues less (random signs partly cancel), so we also report
``resolved_float32``: how many leading float32 eigenvalues agree with float64 within 10%.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from theoryscope.experiments.spectral.config import EPS
from theoryscope.experiments.spectral.gram import gram_matrix, relu_features

#: The talk's decay exponent in 1-D: mu_j = O(j^{-(d+3)/d}) with d = 1.
THEORY_EXPONENT = 4.0
#: The talk's condition-number lower bound exponent for i.i.d. biases (n^3 / log n).
THEORY_COND_EXPONENT = 3.0


@dataclass
class PowerFit:
    """A least-squares line ``log y = log C - p log x`` over ``x in [lo, hi]``."""

    exponent: float
    constant: float
    lo: int
    hi: int


@dataclass
class Spectrum:
    """Everything the ``gram`` command prints (arrays as NumPy, descending eigenvalues)."""

    neurons: int
    bias: str
    weights: str
    seed: int
    eigenvalues: np.ndarray  # float64 eigenvalues of G = Gram / n, descending
    eigenvalues_float32: np.ndarray  # same matrix rounded to float32, float32 eigensolver
    fit: PowerFit | None
    condition_number: float  # lambda_1 / lambda_n in float64 (meaningless above ~1/eps64)
    numerical_rank: dict[str, int]  # #{j : lambda_j > eps * lambda_1}, eigenvalues in that dtype
    predicted_rank: dict[str, float | None]  # (C / (eps lambda_1))^{1/p} from the fit, <= n
    talk_stable_modes: dict[str, float]  # eps^{-1/5}: the talk's d = 1 count
    resolved_float32: int = 0  # leading j whose float32 eigenvalue is within 10% of float64's
    condition_growth: list[dict[str, float]] = field(default_factory=list)
    condition_exponent: float | None = None

    def to_dict(self, *, with_eigenvalues: bool = True) -> dict[str, Any]:
        out = asdict(self)
        out["eigenvalues"] = self.eigenvalues.tolist() if with_eigenvalues else None
        out["eigenvalues_float32"] = self.eigenvalues_float32.tolist() if with_eigenvalues else None
        out["theory_exponent"] = THEORY_EXPONENT
        out["theory_condition_exponent"] = THEORY_COND_EXPONENT
        out["eps"] = dict(EPS)
        return out


def gram_eigenvalues(w: np.ndarray, b: np.ndarray, dtype: str = "float64") -> np.ndarray:
    """Eigenvalues (descending) of ``G = Gram / n``, built exactly in float64 then rounded."""
    n = len(w)
    g = gram_matrix(w, b) / n
    return np.linalg.eigvalsh(g.astype(dtype))[::-1].astype(np.float64)


def fit_power_law(values: np.ndarray, *, lo: int = 4, hi: int | None = None) -> PowerFit | None:
    """Fit ``values[j-1] ~ C j^{-p}`` over ``j in [lo, hi]`` (positive values only).

    Default ``hi = n // 4``: the leading quarter, where the eigenvalues of G/n follow the
    continuous operator's (the tail feels the finite n and, deeper, rounding).
    """
    n = len(values)
    hi = n // 4 if hi is None else min(hi, n)
    j = np.arange(1, n + 1)
    floor = 1e3 * EPS["float64"] * float(values[0]) if n else 0.0
    sel = (j >= lo) & (j <= hi) & (values > floor)
    if sel.sum() < 3:
        return None
    slope, intercept = np.polyfit(np.log(j[sel]), np.log(values[sel]), 1)
    return PowerFit(float(-slope), float(math.exp(intercept)), int(j[sel][0]), int(j[sel][-1]))


def numerical_rank(eigenvalues: np.ndarray, dtype: str) -> int:
    """``#{j : lambda_j > eps_dtype * lambda_1}`` (the talk's truncation threshold)."""
    return int(np.sum(eigenvalues > EPS[dtype] * eigenvalues[0]))


def analyze(
    neurons: int, *, bias: str = "uniform", weights: str = "plus", seed: int = 0,
    growth: bool = True,
) -> Spectrum:  # fmt: skip
    """Eigenvalues, decay fit, condition number (and its growth over n/8..n), numerical ranks."""
    w, b = relu_features(neurons, bias=bias, weights=weights, seed=seed)
    lam = gram_eigenvalues(w, b)
    lam32 = gram_eigenvalues(w, b, "float32")
    fit = fit_power_law(lam)
    lam1 = float(lam[0])
    predicted: dict[str, float | None] = {}
    for name, eps in EPS.items():
        if fit is None:
            predicted[name] = None
        else:
            predicted[name] = float(
                min(neurons, (fit.constant / (eps * lam1)) ** (1.0 / fit.exponent))
            )
    spectrum = Spectrum(
        neurons=neurons,
        bias=bias,
        weights=weights,
        seed=seed,
        eigenvalues=lam,
        eigenvalues_float32=lam32,
        fit=fit,
        condition_number=_cond(lam),
        numerical_rank={
            "float32": numerical_rank(lam32, "float32"),
            "float64": numerical_rank(lam, "float64"),
        },  # fmt: skip
        predicted_rank=predicted,
        talk_stable_modes={name: eps ** (-1.0 / 5.0) for name, eps in EPS.items()},
        resolved_float32=resolved_count(lam, lam32),
    )
    if growth:
        widths = sorted({m for m in (neurons // 8, neurons // 4, neurons // 2, neurons) if m >= 8})
        rows = []
        for m in widths:
            wm, bm = relu_features(m, bias=bias, weights=weights, seed=seed)
            rows.append({"neurons": m, "condition_number": _cond(gram_eigenvalues(wm, bm))})
        spectrum.condition_growth = rows
        ok = [r for r in rows if 0 < r["condition_number"] < 0.01 / EPS["float64"]]
        if len(ok) >= 2:
            x = np.log([r["neurons"] for r in ok])
            y = np.log([r["condition_number"] for r in ok])
            spectrum.condition_exponent = float(np.polyfit(x, y, 1)[0])
    return spectrum


def resolved_count(reference: np.ndarray, rounded: np.ndarray, rtol: float = 0.1) -> int:
    """How many leading eigenvalues ``rounded`` reproduces within ``rtol`` of ``reference``."""
    bad = np.nonzero(np.abs(rounded - reference) > rtol * np.abs(reference))[0]
    return int(bad[0]) if bad.size else len(reference)


def _cond(lam: np.ndarray) -> float:
    """lambda_1 / lambda_n, or inf when rounding made lambda_n <= 0."""
    return float(lam[0] / lam[-1]) if lam[-1] > 0 else math.inf

"""Fluctuation-dissipation relations of SGD and the statistics that measure them (pure NumPy).

SGD with step eta, theta' = theta - eta g_B(theta), E_B g_B = grad L. If theta is distributed by a
stationary law P_ss, then for every observable O (Yaida 2019, master equation; seed 002, 11/16)

    < O(theta) > = < E_B O(theta - eta g_B(theta)) >.

O = |theta|^2 / 2 gives, exactly (Yaida's FDR1, the lecture's Lemma (ii)):

    FDR1    < theta . grad L >  =  (eta / 2) < E_B |g_B|^2 >                  (O_L = O_R)

O = L itself, Taylor-expanded to second order in eta (exact when L is quadratic):

    FDR2    < |grad L|^2 >  =  (eta / 2) < E_B g_B . H g_B >  + O(eta^2)      (F_L = F_R)

with H = hess L (one Hessian-vector product per step). Expanding E_B g H g = grad L . H grad L +
tr(H C), C the minibatch covariance, FDR2 is Yaida's < |grad L|^2 > = (eta/2) < tr H C > at
leading order; the O(eta^2) remainder is the anharmonicity (third derivatives of L).

Measurement. Each observable is averaged over equal blocks of steps (block means); the
half-running average at block J is the mean over blocks floor(J/2)+1 .. J, i.e. over steps
[t/2, t] (Yaida's half-running average), and the FDR ratio is O_L / O_R of those means. Its error
bar is the delta-method standard error of a ratio of means, z_j = a_j - R b_j, with the variance
of mean(z) inflated by the integrated autocorrelation time of the block series (Sokal's
automatic window, c = 5; floored at 1: never smaller than the independent-blocks error).
Stationarity detector: the first record at which |R - 1| <= tol ("enters") and the first from
which it stays there ("settles").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Sokal's window constant: the smallest W with W >= C * tau(W).
SOKAL_C = 5.0


def integrated_time(z: np.ndarray, c: float = SOKAL_C) -> float:
    """Integrated autocorrelation time tau = 1 + 2 sum_{k=1}^{W} rho(k) of a 1-D series, with
    Sokal's automatic window (the smallest W >= c tau(W)); 1 for a constant or tiny series."""
    x = np.asarray(z, dtype=np.float64)
    n = len(x)
    if n < 4:
        return 1.0
    x = x - x.mean()
    var = float(np.dot(x, x)) / n
    if not var > 0:
        return 1.0
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(x, size)
    acov = np.fft.irfft(f * np.conj(f), size)[:n] / n
    rho = acov / acov[0]
    tau = 1.0
    for w in range(1, n):
        tau += 2.0 * float(rho[w])
        if w >= c * tau:
            break
    return float(tau)


def mean_se(z: np.ndarray) -> tuple[float, float]:
    """Mean of a series and its standard error sqrt(tau var / n) (tau floored at 1; NaN below 2
    points)."""
    x = np.asarray(z, dtype=np.float64)
    n = len(x)
    if n == 0:
        return math.nan, math.nan
    mean = float(x.mean())
    if n < 2:
        return mean, math.nan
    tau = max(1.0, integrated_time(x))
    var = float(np.var(x, ddof=1))
    return mean, math.sqrt(tau * var / n)


def ratio_se(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """R = mean(a) / mean(b) and its delta-method standard error from the paired series:
    SE(R) = SE(mean(a - R b)) / |mean(b)| (autocorrelation-corrected, :func:`mean_se`)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    mb = float(b.mean()) if len(b) else math.nan
    if not (len(a) and mb != 0 and math.isfinite(mb)):
        return math.nan, math.nan
    r = float(a.mean()) / mb
    _, se = mean_se(a - r * b)
    return r, se / abs(mb)


def window(j: int) -> slice:
    """Blocks of the half-running average after ``j`` blocks: floor(j/2) .. j-1 (0-based)."""
    return slice(j // 2, j)


@dataclass
class HalfRunning:
    """Half-running averages of paired observables (a = left side, b = right side) after each
    block: ``a``, ``b`` the window means, ``a_se``, ``b_se`` their standard errors, ``ratio`` a/b
    and ``ratio_se``."""

    a: np.ndarray
    b: np.ndarray
    a_se: np.ndarray
    b_se: np.ndarray
    ratio: np.ndarray
    ratio_se: np.ndarray


def half_running(a_blocks: np.ndarray, b_blocks: np.ndarray, start: int = 0) -> HalfRunning:
    """Half-running statistics after blocks ``start+1 .. n`` of the block-mean series."""
    a_blocks = np.asarray(a_blocks, dtype=np.float64)
    b_blocks = np.asarray(b_blocks, dtype=np.float64)
    rows = []
    for j in range(start + 1, len(a_blocks) + 1):
        sl = window(j)
        ma, sa = mean_se(a_blocks[sl])
        mb, sb = mean_se(b_blocks[sl])
        r, sr = ratio_se(a_blocks[sl], b_blocks[sl])
        rows.append((ma, mb, sa, sb, r, sr))
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
    return HalfRunning(*(arr[:, i] for i in range(6)))


def equilibration(
    steps: np.ndarray, ratio: np.ndarray, tol: float
) -> tuple[float | None, float | None]:
    """(enters, settles): the first step at which |ratio - 1| <= tol, and the first step from
    which it stays so until the end (None when never / not at the end)."""
    steps = np.asarray(steps, dtype=np.float64)
    inside = np.abs(np.asarray(ratio, dtype=np.float64) - 1.0) <= tol
    if not inside.any():
        return None, None
    enters = float(steps[int(np.argmax(inside))])
    if not inside[-1]:
        return enters, None
    outside = np.flatnonzero(~inside)
    settles = float(steps[0] if outside.size == 0 else steps[int(outside[-1]) + 1])
    return enters, settles


# -- the exactly solvable check: a 1-D quadratic with Gaussian gradient noise ---------------------
def ar1_fdr(h: float, sigma: float, eta: float) -> dict[str, float]:
    """L = h theta^2 / 2, g = h theta + sigma xi (xi ~ N(0, 1)): theta' = (1 - eta h) theta -
    eta sigma xi is an AR(1) process with stationary variance eta sigma^2 / (h (2 - eta h))
    (stable for 0 < eta h < 2), and both FDR pairs hold exactly:

        <theta L'> = (eta/2) <g^2> = eta sigma^2 / (2 - eta h),
        <L'^2> = (eta/2) <g h g> = eta h sigma^2 / (2 - eta h).
    """
    if not 0.0 < eta * h < 2.0:
        raise ValueError(f"eta h = {eta * h:g} outside (0, 2): no stationary law")
    var = eta * sigma**2 / (h * (2.0 - eta * h))
    fdr1 = eta * sigma**2 / (2.0 - eta * h)
    fdr2 = eta * h * sigma**2 / (2.0 - eta * h)
    return {"variance": var, "fdr1": fdr1, "fdr2": fdr2, "g2": 2.0 * sigma**2 / (2.0 - eta * h)}

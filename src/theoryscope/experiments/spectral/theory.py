"""Kernel-regime theory of spectral bias: each Gram eigen-component decays at its own rate.

Source: talk (seed 004), slide "Learning dynamics based on gradient flow: linear". For
``h(x, t) = n^{-1/2} sum_i a_i(t) sigma_i(x)`` trained on ``E = 1/2 ||h - f||^2_{L2(D)}``, the
gradient is ``grad_a E = G a - F`` with ``G = <sigma_i, sigma_j>/n`` and ``F_i = <sigma_i, f>/sqrt n``.
With eigenpairs ``(lambda_j, g_j)`` of G and hatted components ``v_j = g_j . v``:

    gradient flow    d a_j/dt = -lambda_j a_j + F_j  =>  a_j(t) = (a_j(0) - F_j/lambda_j) e^{-lambda_j t}
                                                                 + F_j / lambda_j        (talk)
    gradient descent a_j(s+1) = (1 - eta lambda_j) a_j(s) + eta F_j
                     => (G a - F)_j(s) = (1 - eta lambda_j)^s (G a - F)_j(0)    exactly,

the discrete form of the talk's ``e^{-lambda_j t}`` with ``t = eta s``. ``(G a - F)_j`` is the
residual ``r = h - f`` tested against the j-th eigenfunction ``psi_j = sum_i g_ji sigma_i``:
``(G a - F)_j = <psi_j, r> / sqrt n``. It takes ``s ~ 1/(eta lambda_j)`` steps for mode j to
converge, and ``lambda_j ~ j^{-4}`` (see :mod:`.spectrum`) with eigenfunctions ordered from low
to high frequency, so a Fourier mode ``sin(pi k x)`` is learned in a time growing like ``k^4``
(talk, slide "Learning dynamics ... nonlinear", Remark 3: "With fixed biases, the time step
bound is O(m^4)"; with trained biases the talk proves a lower bound O(m) and O(m^2) under mild
conditions).

The per-frequency prediction: with ``a(0) = 0``, ``a_j(s) = F_j (1 - (1 - eta lambda_j)^s) /
lambda_j``, and the residual's Fourier amplitude is ``c_k(s) = <r, sin(pi k x)> = a(s) . P_k /
sqrt n - A_k`` with the closed-form projections ``P_ik`` of :func:`.gram.fourier_projection`.
The predicted half time of frequency k is the first s with ``|c_k(s)| = |A_k| / 2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from theoryscope.core.recording import log_steps
from theoryscope.experiments.spectral.config import Config
from theoryscope.experiments.spectral.gram import fourier_projection, gram_matrix, relu_features
from theoryscope.experiments.spectral.spectrum import Spectrum, analyze

#: How many leading eigen-components of the residual a run records.
EIG_RECORDED = 16
#: Half-time search horizon in steps (predictions may lie far beyond the run).
HORIZON = 1e16


@dataclass
class Problem:
    """The linear problem of a config: features, G, F, projections (float64 NumPy)."""

    w: np.ndarray
    b: np.ndarray
    gram: np.ndarray  # G = <sigma_i, sigma_j> / n
    target_grad: np.ndarray  # F = P A / sqrt(n)
    proj: np.ndarray  # P / sqrt(n), shape (n, K): c_k = a . proj[:, k] - A_k
    amplitudes: np.ndarray  # A_k (all 1)
    eigenvalues: np.ndarray  # descending
    eigenvectors: np.ndarray  # columns, same order


def build_problem(config: Config) -> Problem:
    """Features from ``config.feature_seed`` and the exact G, F, P of the L2 problem."""
    n = config.neurons
    w, b = relu_features(n, bias=config.bias, weights=config.weights, seed=config.feature_seed)
    gram = gram_matrix(w, b) / n
    freqs = np.asarray(config.freqs, dtype=np.float64)
    proj = fourier_projection(w, b, freqs) / math.sqrt(n)
    amplitudes = np.ones(len(freqs))
    lam, vec = np.linalg.eigh(gram)
    order = np.argsort(lam)[::-1]
    return Problem(
        w=w,
        b=b,
        gram=gram,
        target_grad=proj @ amplitudes,
        proj=proj,
        amplitudes=amplitudes,
        eigenvalues=lam[order],
        eigenvectors=vec[:, order],
    )


def record_steps(steps: int, records: int) -> np.ndarray:
    """Recorded steps: 0, then log-spaced integers up to ``steps`` (the shared schedule)."""
    return log_steps(steps, records)


@dataclass
class Theory:
    """The kernel-regime prediction for one config (arrays as NumPy)."""

    config: dict[str, Any]
    spectrum: Spectrum
    lambda_max: float
    lr_stable_max: float  # 2 / lambda_max: GD diverges above it
    step: np.ndarray  # record steps
    residual: np.ndarray  # (records, K) predicted c_k / A_k
    eig_index: np.ndarray  # (m,) recorded eigen indices 1..m
    eig_lambda: np.ndarray  # (m,)
    eig_residual: np.ndarray  # (records, m) predicted (G a - F)_j
    t_half: list[float | None]  # predicted half time (steps) per frequency
    dominant_eig: list[int]  # eigen index carrying most of sin(pi k x)'s weight
    t_half_exponent: float | None  # fitted d log t_half / d log k over freqs


def _growth(lam: np.ndarray, lr: float, t: np.ndarray) -> np.ndarray:
    """``(1 - (1 - lr lam)^t) / lam`` for t >= 0 (-> lr t as lam -> 0), shape (len(t), n)."""
    lam = np.asarray(lam, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)[:, None]
    x = lr * lam[None, :]
    out = np.empty((t.shape[0], lam.shape[0]))
    small = x <= 0.0
    stable = (x > 0.0) & (x < 1.0)
    big = x >= 1.0
    safe = np.where(stable, x, 0.5)
    val = -np.expm1(t * np.log1p(-safe)) / np.where(stable, lam[None, :], 1.0)
    out = np.where(stable, val, out)
    with np.errstate(over="ignore", invalid="ignore"):
        power = (1.0 - np.where(big, x, 0.0)) ** t
        val_big = (1.0 - power) / np.where(big, lam[None, :], 1.0)
    out = np.where(big, val_big, out)
    out = np.where(small, lr * t, out)
    return out


def predicted_residual(problem: Problem, lr: float, t: np.ndarray) -> np.ndarray:
    """``c_k(t) / A_k`` for a(0) = 0 at (real) steps t, shape (len(t), K)."""
    fhat = problem.eigenvectors.T @ problem.target_grad  # F_j
    phat = problem.eigenvectors.T @ problem.proj  # (n, K): g_j . P_k / sqrt n
    coef = _growth(problem.eigenvalues, lr, t) * fhat[None, :]  # a_j(t)
    return (coef @ phat - problem.amplitudes[None, :]) / problem.amplitudes[None, :]


def predicted_eig_residual(problem: Problem, lr: float, t: np.ndarray, m: int) -> np.ndarray:
    """``(G a - F)_j(t) = -(1 - eta lambda_j)^t F_j`` for the leading m modes (a(0) = 0)."""
    lam = problem.eigenvalues[:m]
    fhat = problem.eigenvectors[:, :m].T @ problem.target_grad
    with np.errstate(over="ignore", invalid="ignore"):
        q = (1.0 - lr * lam)[None, :] ** np.asarray(t, dtype=np.float64)[:, None]
    return -q * fhat[None, :]


def half_time(problem: Problem, lr: float, k: int) -> float | None:
    """First integer step s with ``|c_k(s)| <= |A_k| / 2`` (log grid, then bisection), or None.

    Integer steps only: for ``eta lambda_j > 1`` the factor ``(1 - eta lambda_j)^s`` alternates.
    """
    grid = np.unique(np.round(np.concatenate([[0.0], np.geomspace(1.0, HORIZON, 1200)])))
    amp = np.abs(predicted_residual(problem, lr, grid)[:, k])
    below = np.nonzero(amp <= 0.5)[0]
    if below.size == 0 or below[0] == 0:
        return None
    lo, hi = int(grid[below[0] - 1]), int(grid[below[0]])
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if abs(predicted_residual(problem, lr, np.array([float(mid)]))[0, k]) <= 0.5:
            hi = mid
        else:
            lo = mid
    return float(hi)


def slope(x: list[float], y: list[float | None]) -> float | None:
    """Least-squares slope of log y against log x over the pairs with a finite positive y."""
    pairs = [
        (a, b) for a, b in zip(x, y, strict=True) if b is not None and b > 0 and math.isfinite(b)
    ]
    if len(pairs) < 2:
        return None
    lx = np.log([p[0] for p in pairs])
    ly = np.log([p[1] for p in pairs])
    return float(np.polyfit(lx, ly, 1)[0])


def predict(config: Config) -> Theory:
    """The kernel-regime prediction: spectrum, per-frequency residual curves and half times."""
    problem = build_problem(config)
    spectrum = analyze(
        config.neurons, bias=config.bias, weights=config.weights, seed=config.feature_seed,
        growth=False,
    )  # fmt: skip
    steps = record_steps(config.steps, config.records)
    m = min(EIG_RECORDED, config.neurons)
    lam_max = float(problem.eigenvalues[0])
    # overlap of sin(pi k x) with the unit eigenfunction psi_j / ||psi_j||, ||psi_j||^2 = n lambda_j
    phat = problem.eigenvectors.T @ problem.proj
    keep = problem.eigenvalues > 1e-12 * lam_max
    weight = np.where(keep[:, None], phat**2 / np.where(keep, problem.eigenvalues, 1.0)[:, None], 0)
    dominant = [int(np.argmax(weight[:, k])) + 1 for k in range(len(config.freqs))]
    t_half = [half_time(problem, config.lr, k) for k in range(len(config.freqs))]
    return Theory(
        config=config.to_dict(),
        spectrum=spectrum,
        lambda_max=lam_max,
        lr_stable_max=2.0 / lam_max if lam_max > 0 else math.inf,
        step=steps,
        residual=predicted_residual(problem, config.lr, steps),
        eig_index=np.arange(1, m + 1),
        eig_lambda=problem.eigenvalues[:m].copy(),
        eig_residual=predicted_eig_residual(problem, config.lr, steps, m),
        t_half=t_half,
        dominant_eig=dominant,
        t_half_exponent=slope([float(k) for k in config.freqs], t_half),
    )


def theory_to_dict(theory: Theory) -> dict[str, Any]:
    """JSON form of a Theory (arrays as lists; non-finite values become null in the store)."""
    return {
        "config": theory.config,
        "spectrum": theory.spectrum.to_dict(with_eigenvalues=True),
        "lambda_max": theory.lambda_max,
        "lr_stable_max": theory.lr_stable_max,
        "step": theory.step.tolist(),
        "residual": theory.residual.tolist(),
        "eig_index": theory.eig_index.tolist(),
        "eig_lambda": theory.eig_lambda.tolist(),
        "eig_residual": theory.eig_residual.tolist(),
        "t_half": theory.t_half,
        "dominant_eig": theory.dominant_eig,
        "t_half_exponent": theory.t_half_exponent,
    }

"""Least-squares fits in finite precision, as the talk computes them.

Talk (seed 004), slide "Least square approximation": ``alpha* = argmin ||sum a_i psi_i - f||^2 =
G^dagger f`` with the Gram matrix ``G`` and ``f_i = <f, psi_i>``; slide "Low pass filter": the
Moore-Penrose pseudo-inverse (MATLAB) keeps only the eigen-directions above the rounding level.
Three solvers, each run entirely in the working precision (float32 or float64):

    solve     G a = F by LU with partial pivoting (MATLAB ``G\\f``), G and F exact then rounded
    pinv      a = G^+ F, MATLAB's default tolerance ``max(size) * eps * sigma_1``
    samples   a = A^+ y with ``A_mj = psi_j(s_m)`` on M equispaced samples s_m and y = f(s_m),
              the same tolerance (``max(M, n) * eps * sigma_1``): least squares from data

The fit is then evaluated in the same precision on a test grid (the talk's Table 1 errors are
reproduced with ``linspace(-1, 1, 10000)``: docs/fem.md), and
``MAX = max |h - f|``, ``MSE = mean (h - f)^2`` over it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from theoryscope.experiments.fem import bases
from theoryscope.experiments.fem.config import EPS
from theoryscope.experiments.fem.targets import Target

__all__ = ["Fit", "errors", "fit", "pinv_solve", "samples_solve", "test_grid"]

#: The talk's test grid for Table 1 (reproduces its FE rows to the digits printed).
TEST_POINTS = 10_000
SOLVERS = ("solve", "pinv", "samples")


def test_grid(points: int = TEST_POINTS) -> np.ndarray:
    return np.linspace(-1.0, 1.0, points)


def pinv_solve(a: np.ndarray, y: np.ndarray, dtype: str) -> tuple[np.ndarray, int]:
    """``A^+ y`` in ``dtype`` by the SVD, dropping singular values at or below
    ``max(A.shape) * eps * sigma_1`` (MATLAB ``pinv``); returns the solution and the rank kept."""
    dt = np.dtype(dtype)
    u, s, vt = np.linalg.svd(np.asarray(a).astype(dt), full_matrices=False)
    keep = s > max(a.shape) * EPS[dtype] * s[0]
    coef = (u[:, keep].T @ np.asarray(y).astype(dt)) / s[keep]
    return (vt[keep].T @ coef).astype(dt), int(keep.sum())


def lu_solve(g: np.ndarray, f: np.ndarray, dtype: str) -> np.ndarray:
    """``G \\ F`` by LU in ``dtype`` (NaN when the rounded G is exactly singular)."""
    dt = np.dtype(dtype)
    try:
        return np.linalg.solve(g.astype(dt), f.astype(dt))
    except np.linalg.LinAlgError:
        return np.full(len(f), np.nan, dtype=dt)


def samples_solve(
    basis: str, nodes: np.ndarray, x: np.ndarray, y: np.ndarray, dtype: str
) -> tuple[np.ndarray, int]:
    """Least squares from samples ``(x_m, y_m)``: the pseudo-inverse of the design matrix."""
    return pinv_solve(bases.features(basis, x, nodes), y, dtype)


def errors(h: np.ndarray, f: np.ndarray) -> tuple[float, float]:
    """``(MAX, MSE)`` of ``h - f`` (float64)."""
    e = np.asarray(h, dtype=np.float64) - np.asarray(f, dtype=np.float64)
    return float(np.max(np.abs(e))), float(np.mean(e * e))


@dataclass
class Fit:
    """One least-squares fit and its errors on the test grid."""

    basis: str
    dtype: str
    solver: str
    n: int
    max_error: float
    mse: float
    rank: int | None
    seconds: float
    coefficients: np.ndarray

    def row(self) -> dict[str, Any]:
        return {"basis": self.basis, "dtype": self.dtype, "solver": self.solver, "n": self.n,
                "max": self.max_error, "mse": self.mse, "rank": self.rank,
                "seconds": self.seconds}  # fmt: skip


def fit(
    basis: str,
    nodes: np.ndarray,
    target: Target,
    dtype: str,
    solver: str,
    *,
    samples: int = 10_000,
    test: np.ndarray | None = None,
    fe_load: np.ndarray | None = None,
    noise: np.ndarray | None = None,
) -> Fit:
    """Fit ``target`` in ``basis`` on ``nodes`` with ``solver`` in ``dtype`` (module docstring).

    ``fe_load`` reuses the FE loads; ``noise`` (length ``samples``) is added to the sampled data.
    """
    started = time.perf_counter()
    test = test_grid() if test is None else test
    rank: int | None = None
    if solver == "samples":
        xs = np.linspace(-1.0, 1.0, samples)
        ys = target.f(xs) + (0.0 if noise is None else noise)
        a, rank = samples_solve(basis, nodes, xs, ys, dtype)
    else:
        load = bases.loads(target, nodes).fe if fe_load is None else fe_load
        g = bases.gram(basis, nodes)
        f = bases.basis_load(basis, nodes, load)
        if solver == "pinv":
            a, rank = pinv_solve(g, f, dtype)
        else:
            a = lu_solve(g, f, dtype)
    h = bases.evaluate(basis, nodes, a, test, dtype)
    big, mse = errors(h, target.f(test)) if np.all(np.isfinite(h)) else (np.inf, np.inf)
    return Fit(basis=basis, dtype=dtype, solver=solver, n=len(nodes), max_error=big, mse=mse,
               rank=rank, seconds=time.perf_counter() - started,
               coefficients=np.asarray(a, dtype=np.float64))  # fmt: skip

"""A stiff ODE integrator whose Newton systems are solved by a caller-supplied linear solver.

The method is the variable-order (1 to 5), quasi-constant step size family of numerical
differentiation formulas (NDF) of Shampine & Reichelt, "The MATLAB ODE Suite" (SIAM J. Sci.
Comput. 18, 1997), section 2.3, the same formulas SciPy's ``BDF`` integrates with. For order q,
with backward differences of the solution and predictor y0 = sum_{m<=q} nabla^m y_n, the step
solves for the correction d = y_{n+1} - y0:

    (1 - kappa_q) gamma_q d - h f(t_{n+1}, y0 + d) + sum_{m=1}^{q} gamma_m nabla^m y_n = 0,
    gamma_m = sum_{j<=m} 1/j,  kappa = (0, -0.1850, -1/9, -0.0823, -0.0415, 0),

by modified Newton iterations d <- d + (I - c J)^{-1} (c f - psi - d), c = h / alpha_q,
alpha_q = (1 - kappa_q) gamma_q, psi = sum gamma_m nabla^m y_n / alpha_q. The local error
estimate is (kappa_q gamma_q + 1/(q+1)) d, kept below 1 in the RMS norm scaled by
atol + rtol |y|.

What differs from SciPy's ``BDF`` is only who solves the Newton systems: ``jac(t, y)`` returns
any object with ``factor(c)`` giving an object with ``solve(b)`` that applies (I - c W)^{-1} for
some approximation W of the Jacobian. The converged step is the NDF solution whatever W is
(W sets only how fast Newton converges), so a structured, cheap W (for Expander Nets: exact
W1 rows and columns, a low-rank W2 block, see ``population_dynamics``) keeps the integration
exact to the stated tolerances without ever forming or factorizing an n x n matrix. As in SciPy,
W is re-evaluated only when Newton fails to converge with the current one.

Dense output between the last two accepted steps is the NDF's interpolating polynomial.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

MAX_ORDER = 5
NEWTON_MAXITER = 4
MIN_FACTOR = 0.2
MAX_FACTOR = 10.0
_KAPPA = np.array([0.0, -0.1850, -1.0 / 9.0, -0.0823, -0.0415, 0.0])
_GAMMA = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, MAX_ORDER + 1))])
_ALPHA = (1.0 - _KAPPA) * _GAMMA
_ERROR_CONST = _KAPPA * _GAMMA + 1.0 / np.arange(1, MAX_ORDER + 2)


class Factorization(Protocol):
    def solve(self, b: np.ndarray) -> np.ndarray: ...


class Jacobian(Protocol):
    def factor(self, c: float) -> Factorization: ...


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x * x))) if x.size else 0.0


def _difference_change(order: int, factor: float) -> np.ndarray:
    """Matrix T with D_new[:order+1] = T^T D[:order+1] when the step is multiplied by ``factor``.

    Row m, column j (1 <= m, j <= order) of R(rho) is prod_{i=1}^{m} (i - 1 - rho j) / i (the
    interpolating polynomial's m-th backward difference at spacing rho h, Shampine & Reichelt
    eq. 2.4); row 0 keeps the value. T = R(factor) R(1).
    """

    def r_matrix(rho: float) -> np.ndarray:
        i = np.arange(1, order + 1)[:, None]
        j = np.arange(1, order + 1)[None, :]
        m = np.zeros((order + 1, order + 1))
        m[1:, 1:] = (i - 1 - rho * j) / i
        m[0] = 1.0
        return np.cumprod(m, axis=0)

    return r_matrix(factor) @ r_matrix(1.0)


class NDF:
    """Integrate y' = fun(t, y) from t0 towards t_end one step at a time (``step``).

    Attributes after a step: ``t``, ``y``, ``t_old``, ``status`` ("running", "finished",
    "failed"), counters ``nfev``, ``njev``, ``nfactor``, ``n_steps``.
    """

    def __init__(
        self,
        fun: Callable[[float, np.ndarray], np.ndarray],
        t0: float,
        y0: np.ndarray,
        t_end: float,
        *,
        jac: Callable[[float, np.ndarray], Jacobian],
        rtol: float,
        atol: float,
        first_step: float | None = None,
    ) -> None:
        self._fun = fun
        self._jac = jac
        self.t = float(t0)
        self.t_old = float(t0)
        self.t_end = float(t_end)
        self.y = np.asarray(y0, dtype=np.float64).copy()
        self.rtol, self.atol = float(rtol), float(atol)
        self.newton_tol = max(10 * np.finfo(float).eps / rtol, min(0.03, rtol**0.5))
        self.nfev = self.njev = self.nfactor = self.n_steps = 0
        self.status = "running" if t_end > t0 else "finished"
        f0 = self.fun(self.t, self.y)
        self.h = first_step if first_step is not None else self._initial_step(f0)
        self.order = 1
        self.D = np.zeros((MAX_ORDER + 3, self.y.size))
        self.D[0] = self.y
        self.D[1] = f0 * self.h
        self.n_equal_steps = 0
        self.J: Jacobian | None = None
        self._last = _Interpolant(self.t, self.h, 0, self.D[:1].copy())
        self.current_jac = False
        self._solver: Factorization | None = None

    def fun(self, t: float, y: np.ndarray) -> np.ndarray:
        self.nfev += 1
        return np.asarray(self._fun(t, y), dtype=np.float64)

    def _initial_step(self, f0: np.ndarray) -> float:
        """Hairer, Norsett & Wanner (1993), II.4: a first step of about the error tolerance."""
        scale = self.atol + self.rtol * np.abs(self.y)
        d0, d1 = _rms(self.y / scale), _rms(f0 / scale)
        h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
        h0 = min(h0, self.t_end - self.t)
        f1 = self.fun(self.t + h0, self.y + h0 * f0)
        d2 = _rms((f1 - f0) / scale) / h0
        h1 = max(1e-6, h0 * 1e-3) if max(d1, d2) <= 1e-15 else (0.01 / max(d1, d2)) ** 0.5
        return float(min(100 * h0, h1, self.t_end - self.t))

    def _rescale(self, factor: float) -> None:
        q = self.order
        self.D[: q + 1] = _difference_change(q, factor).T @ self.D[: q + 1]
        self.h *= factor
        self.n_equal_steps = 0
        self._solver = None

    def _newton(
        self, t_new: float, y_pred: np.ndarray, c: float, psi: np.ndarray, scale: np.ndarray
    ) -> tuple[bool, int, np.ndarray, np.ndarray]:
        assert self._solver is not None
        d = np.zeros_like(y_pred)
        y = y_pred.copy()
        old_norm: float | None = None
        for it in range(NEWTON_MAXITER):
            f = self.fun(t_new, y)
            if not np.all(np.isfinite(f)):
                return False, it + 1, y, d
            dy = self._solver.solve(c * f - psi - d)
            norm = _rms(dy / scale)
            rate = None if old_norm is None else norm / old_norm
            if rate is not None and (
                rate >= 1 or rate ** (NEWTON_MAXITER - it) / (1 - rate) * norm > self.newton_tol
            ):
                return False, it + 1, y, d
            y += dy
            d += dy
            if norm == 0 or (rate is not None and rate / (1 - rate) * norm < self.newton_tol):
                return True, it + 1, y, d
            old_norm = norm
        return False, NEWTON_MAXITER, y, d

    def step(self) -> None:
        """Advance one accepted step (or set ``status`` to "failed")."""
        if self.status != "running":
            raise RuntimeError("step() on a finished integration")
        t, q = self.t, self.order
        min_step = 10 * np.abs(np.nextafter(t, np.inf) - t)
        if self.h > self.t_end - t:
            self._rescale((self.t_end - t) / self.h)
        while True:
            q = self.order
            if self.h < min_step:
                self.status = "failed"
                return
            t_new = t + self.h
            if t_new >= self.t_end or self.t_end - t_new < min_step:
                t_new = self.t_end
                self._rescale((t_new - t) / self.h)
            y_pred = self.D[: q + 1].sum(axis=0)
            scale = self.atol + self.rtol * np.abs(y_pred)
            psi = self.D[1 : q + 1].T @ _GAMMA[1 : q + 1] / _ALPHA[q]
            c = self.h / _ALPHA[q]
            if self.J is None:
                self.J = self._jac(t_new, y_pred)
                self.njev += 1
                self.current_jac = True
            if self._solver is None:
                self._solver = self.J.factor(c)
                self.nfactor += 1
            ok, n_iter, y_new, d = self._newton(t_new, y_pred, c, psi, scale)
            if not ok:
                if not self.current_jac:
                    self.J = self._jac(t_new, y_pred)
                    self.njev += 1
                    self.current_jac = True
                    self._solver = None
                    continue
                self._rescale(0.5)
                continue
            safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter)
            scale = self.atol + self.rtol * np.abs(y_new)
            error_norm = _rms(_ERROR_CONST[q] * d / scale)
            if error_norm > 1:
                self._rescale(max(MIN_FACTOR, safety * error_norm ** (-1 / (q + 1))))
                continue
            break
        self.n_steps += 1
        self.current_jac = False
        self.n_equal_steps += 1
        self.t_old, self.t, self.y = t, t_new, y_new
        D = self.D
        D[q + 2] = d - D[q + 1]
        D[q + 1] = d
        for i in range(q, -1, -1):
            D[i] += D[i + 1]
        self._last = _Interpolant(self.t, self.h, q, D[: q + 1].copy())
        if self.t >= self.t_end:
            self.status = "finished"
            return
        if self.n_equal_steps < q + 1:
            return
        # order and step selection after q + 1 steps of one size (Shampine & Reichelt 2.3)
        norms = [np.inf, error_norm, np.inf]
        if q > 1:
            norms[0] = _rms(_ERROR_CONST[q - 1] * D[q] / scale)
        if q < MAX_ORDER:
            norms[2] = _rms(_ERROR_CONST[q + 1] * D[q + 2] / scale)
        with np.errstate(divide="ignore"):
            factors = np.array(norms) ** (-1.0 / (q + np.arange(3)))
        best = int(np.argmax(factors))
        self.order = q + best - 1
        self._rescale(min(MAX_FACTOR, safety * float(factors[best])))

    def dense_output(self) -> _Interpolant:
        """y(s) for s in [t_old, t]: the interpolating polynomial of the last accepted step."""
        return self._last


class _Interpolant:
    """y(s) = D_0 + sum_{j=1}^{q} D_j prod_{i<j} (s - t + i h) / ((i + 1) h) (backward
    differences D of the solution at t, t - h, ..., t - q h)."""

    def __init__(self, t: float, h: float, order: int, D: np.ndarray) -> None:
        self.t, self.h, self.order, self.D = t, h, order, D

    def __call__(self, s: float) -> np.ndarray:
        i = np.arange(self.order)
        p = np.cumprod((s - (self.t - i * self.h)) / ((i + 1) * self.h))
        return self.D[0] + p @ self.D[1:]

"""Shared helpers for the wide-network tests."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from scipy import integrate


def _phi(z: float) -> float:
    return math.exp(-z * z / 2.0) / math.sqrt(2.0 * math.pi)


def gauss_pair_reference(
    f: Callable[[float], float], q1: float, q2: float, c: float, tol: float = 1e-13
) -> float:
    """E[f(u) f(v)] for Var u = q1, Var v = q2, Cov = c by nested scipy.integrate.quad.

    Cartesian coordinates u = sqrt(q1) z1, v = sqrt(q2) (rho z1 + sqrt(1 - rho^2) z2), with
    breakpoints where u or v changes sign: a different coordinate system and algorithm from
    the polar Gauss rule of the library. |z| > 12 carries less than 1e-32 of the Gaussian mass.
    """
    a, b = math.sqrt(q1), math.sqrt(q2)
    rho = max(-1.0, min(1.0, c / (a * b)))
    s = math.sqrt(max(0.0, (1.0 - rho) * (1.0 + rho)))

    def inner(z1: float) -> float:
        m, sd = b * rho * z1, b * s
        if sd == 0.0:
            return f(m)
        pts = [p for p in sorted({-m / sd, 0.0}) if -12.0 < p < 12.0]
        val, _ = integrate.quad(
            lambda z2: _phi(z2) * f(m + sd * z2),
            -12,
            12,
            points=pts,
            epsabs=tol,
            epsrel=tol,
            limit=400,
        )
        return val

    val, _ = integrate.quad(
        lambda z1: _phi(z1) * f(a * z1) * inner(z1),
        -12,
        12,
        points=[0.0],
        epsabs=tol,
        epsrel=tol,
        limit=400,
    )
    return val


@pytest.fixture
def gauss_reference() -> Callable[..., float]:
    return gauss_pair_reference

"""The adaptive quadrature rules against an independent reference at large variances (spec 2).

The reference (``gauss_reference``, tests/widenets/conftest.py) is nested adaptive quadrature
(``scipy.integrate.quad`` at 1e-13) in Cartesian coordinates with breakpoints where u or v
changes sign: a different coordinate system and a different algorithm from the polar Gauss rule
under test. Its own accuracy is checked on erf, whose maps are known exactly.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

from theoryscope.experiments.widenets.activations import get_activation
from theoryscope.experiments.widenets.closed_forms import erf_maps
from theoryscope.experiments.widenets.quadrature import (
    line_expect,
    line_maps,
    polar_maps,
    polar_rule,
)


def _phi(z: float) -> float:
    return math.exp(-z * z / 2.0) / math.sqrt(2.0 * math.pi)


def _sech2(z: float) -> float:
    return 1.0 / math.cosh(z) ** 2 if abs(z) < 300 else 0.0


def _softplus(z: float) -> float:
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


SCALAR = {"tanh": (math.tanh, _sech2), "softplus": (_softplus, _sigmoid)}


def _polar(name, q1, q2, c):
    act = get_activation(name)
    with jax.enable_x64(True):
        f, g = polar_maps(act.fn, act.d1, np.asarray(q1), np.asarray(q2), np.asarray(c))
        return np.asarray(f), np.asarray(g)


def test_reference_reproduces_the_erf_closed_form_at_large_variance(gauss_reference):
    for q1, q2, rho in ((1e4, 6e3, 0.3), (1e4, 200.0, 0.9999), (3e3, 2e3, -0.7)):
        c = rho * math.sqrt(q1 * q2)
        with jax.enable_x64(True):
            f, g = (float(v) for v in erf_maps(jnp.asarray(q1), jnp.asarray(q2), jnp.asarray(c)))
        assert abs(gauss_reference(math.erf, q1, q2, c) - f) < 1e-12
        deriv = lambda z: 2.0 / math.sqrt(math.pi) * math.exp(-z * z)  # noqa: E731
        assert abs(gauss_reference(deriv, q1, q2, c) - g) < 1e-12


@pytest.mark.parametrize(
    ("name", "q"), [("tanh", 4.0), ("tanh", 30.0), ("tanh", 1e4), ("softplus", 1e3)]
)
def test_polar_rule_matches_the_reference_at_large_variance(name, q, gauss_reference):
    # the old fixed rule was off by 1e-6 (tanh G, q = 4) to 1e-3 (q = 100)
    rng = np.random.default_rng(int(q))
    f_ref, g_ref = SCALAR[name]
    cases = []
    for rho in (0.3, -0.7, 0.9999):
        q1, q2 = q * rng.uniform(0.5, 1.0), q * rng.uniform(0.05, 1.0)
        cases.append((q1, q2, rho * math.sqrt(q1 * q2)))
    q1, q2, c = (np.array(v) for v in zip(*cases, strict=True))
    f, g = _polar(name, q1, q2, c)
    scale = max(1.0, q) if name == "softplus" else 1.0  # softplus^2 grows like q
    for i, (a, b, cc) in enumerate(cases):
        assert abs(f[i] - gauss_reference(f_ref, a, b, cc)) < 1e-10 * scale, (name, q, i)
        assert abs(g[i] - gauss_reference(g_ref, a, b, cc)) < 1e-10, (name, q, i)


def test_polar_rule_is_exact_for_relu_at_any_variance():
    act = get_activation("relu")
    rng = np.random.default_rng(0)
    q1, q2 = rng.uniform(0.01, 1e5, 10), rng.uniform(0.01, 1e5, 10)
    c = rng.uniform(-1, 1, 10) * np.sqrt(q1 * q2)
    with jax.enable_x64(True):
        f, g = polar_maps(act.fn, act.d1, q1, q2, c)
        fe, ge = act.maps(q1, q2, c)
    assert np.max(np.abs(np.asarray(f) - np.asarray(fe)) / np.sqrt(q1 * q2)) < 1e-12
    assert np.max(np.abs(np.asarray(g) - np.asarray(ge))) < 1e-12


def test_line_rule_and_rho_one_pairs_match_the_reference():
    for q in (0.3, 4.0, 1e3, 1e5):
        with jax.enable_x64(True):
            e = float(line_expect(lambda z: jnp.tanh(z) ** 2, np.asarray(q)))
        ref, _ = integrate.quad(
            lambda z, q=q: _phi(z) * math.tanh(math.sqrt(q) * z) ** 2,
            -12,
            12,
            points=[0.0],
            epsabs=1e-14,
            limit=400,
        )
        assert abs(e - ref) < 1e-12, q
    act = get_activation("tanh")
    q1, q2 = np.array([3.0, 500.0]), np.array([0.5, 20.0])
    with jax.enable_x64(True):
        f, _ = line_maps(act.fn, act.d1, q1, q2, np.array([1.0, -1.0]))
    for i, sgn in enumerate((1.0, -1.0)):
        a, b = math.sqrt(q1[i]), sgn * math.sqrt(q2[i])
        ref, _ = integrate.quad(
            lambda z, a=a, b=b: _phi(z) * math.tanh(a * z) * math.tanh(b * z),
            -12,
            12,
            points=[0.0],
            epsabs=1e-14,
            limit=400,
        )
        assert abs(float(f[i]) - ref) < 1e-12


def test_node_counts_grow_with_the_variance_bound():
    rules = [polar_rule(q) for q in (0.1, 4.0, 5.0, 32.0, 100.0, 1e4, 1e6, math.inf)]
    points = [r.points for r in rules]
    assert points == sorted(points)
    assert rules[0] == rules[1] and rules[0].points <= 6144  # no dearer than the old fixed rule

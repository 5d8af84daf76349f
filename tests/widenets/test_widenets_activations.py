"""Closed-form kernel maps against quadrature and Monte Carlo; NaN safety (spec 2)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from theoryscope.errors import ConfigError
from theoryscope.experiments.widenets.activations import (
    ACTIVATIONS,
    CLOSED_FORM,
    abrelu,
    fast_arccos,
    fast_arcsin,
    get_activation,
    leaky_relu,
    monomial,
    polynomial,
    rectified_monomial,
)

#: Closed forms besides the built-ins: Python-API names and parametrized families (built once:
#: equal parameters give one object).
FAMILIES = {
    "abs": get_activation("abs"),
    "leaky_relu": get_activation("leaky_relu"),
    "exp": get_activation("exp"),
    "gaussian": get_activation("gaussian"),
    "leaky_relu(0.2)": leaky_relu(0.2),
    "abrelu(-0.3,1.7)": abrelu(-0.3, 1.7),
    "monomial(3)": monomial(3),
    "polynomial": polynomial([0.5, -1.0, 0.3, 0.2]),
    "rectified_monomial(2)": rectified_monomial(2),
    "rectified_monomial(3)": rectified_monomial(3),
}
CLOSED = [get_activation(n) for n in CLOSED_FORM] + list(FAMILIES.values())


def _maps(act, q1, q2, c, method="auto", qmax=None):
    """act.maps under one jit (eager JAX compiles every small op separately: slow)."""
    if qmax is None:
        qmax = float(max(np.max(q1), np.max(q2)))
    return jax.jit(lambda a, b, d: act.maps(a, b, d, method=method, qmax=qmax))(q1, q2, c)


def _pairs(qmax: float, n: int = 200, seed: int = 0):
    rng = np.random.default_rng(seed)
    q1, q2 = rng.uniform(0.01, qmax, n), rng.uniform(0.01, qmax, n)
    rho = rng.uniform(-1, 1, n)
    rho[:6] = [1.0, -1.0, 1 - 1e-12, -1 + 1e-12, 0.0, 1e-9]
    return q1, q2, rho * np.sqrt(q1 * q2)


@pytest.mark.parametrize("act", CLOSED, ids=lambda a: a.name)
def test_closed_form_matches_quadrature_to_1e10(act):
    # relative to max(1, |F|): exp and the polynomials reach F ~ 1e3 at these variances
    q1, q2, c = _pairs(2.0)
    with jax.enable_x64(True):
        f, g = (np.asarray(v) for v in _maps(act, q1, q2, c, "closed"))
        fq, gq = (np.asarray(v) for v in _maps(act, q1, q2, c, "quadrature"))
    assert np.max(np.abs(f - fq) / np.maximum(1.0, np.abs(f))) < 1e-10
    assert np.max(np.abs(g - gq) / np.maximum(1.0, np.abs(g))) < 1e-10


def test_gelu_closed_form_matches_quadrature_up_to_large_variance():
    # the published GELU kernel (Tsuchida et al.) against the adaptive rule for q up to 1e3
    rng = np.random.default_rng(7)
    q1, q2 = 10 ** rng.uniform(-2, 3, 300), 10 ** rng.uniform(-2, 3, 300)
    c = rng.uniform(-1, 1, 300) * np.sqrt(q1 * q2)
    c[:3] = [np.sqrt(q1[0] * q2[0]), -np.sqrt(q1[1] * q2[1]), 0.0]
    act = get_activation("gelu")
    with jax.enable_x64(True):
        f, g = (np.asarray(v) for v in _maps(act, q1, q2, c, "closed"))
        fq, gq = (np.asarray(v) for v in _maps(act, q1, q2, c, "quadrature"))
    assert np.max(np.abs(f - fq) / np.maximum(1.0, np.sqrt(q1 * q2))) < 1e-10
    assert np.max(np.abs(g - gq)) < 1e-10


def test_sin_maps_by_quadrature_match_the_characteristic_function():
    # E[sin u sin v] = exp(-(q1+q2)/2) sinh c, E[cos u cos v] = exp(-(q1+q2)/2) cosh c
    q1, q2, c = _pairs(4.0, seed=1)
    with jax.enable_x64(True):
        f, g = _maps(get_activation("sin"), q1, q2, c, "quadrature")
    e = np.exp(-(q1 + q2) / 2)
    assert np.max(np.abs(np.asarray(f) - e * np.sinh(c))) < 1e-10
    assert np.max(np.abs(np.asarray(g) - e * np.cosh(c))) < 1e-10


def test_the_built_in_names_are_unchanged_and_extra_names_are_python_only():
    # the CLI and the web pages validate against ACTIVATIONS; the extra names are for the API
    assert ACTIVATIONS == (
        "relu", "erf", "identity", "sqrt2cos", "cos", "tanh", "gelu", "softplus", "sin", "swish",
    )  # fmt: skip
    assert set(CLOSED_FORM) == {"relu", "erf", "identity", "sqrt2cos", "cos", "gelu", "sin"}
    assert all(get_activation(n).closed_form for n in ("abs", "leaky_relu", "exp", "gaussian"))


def test_families_are_cached_validated_and_consistent():
    assert leaky_relu(0.2) is leaky_relu(0.2) and abrelu(-1, 1).name == "abrelu(-1,1)"
    assert leaky_relu() == get_activation("leaky_relu")
    assert monomial(1).closed_form and rectified_monomial(1).closed_form
    q1, q2, c = _pairs(2.0, n=30, seed=5)
    with jax.enable_x64(True):
        for a, b in (
            (monomial(1), get_activation("identity")),
            (rectified_monomial(1), get_activation("relu")),
            (abrelu(-1.0, 1.0), get_activation("abs")),
            (polynomial([0.0, 0.0, 1.0, 0.0]), monomial(2)),
        ):
            fa, ga = a.maps(q1, q2, c)
            fb, gb = b.maps(q1, q2, c)
            assert np.allclose(fa, fb, rtol=1e-13, atol=1e-13), a.name
            assert np.allclose(ga, gb, rtol=1e-13, atol=1e-13), a.name
    with pytest.raises(ConfigError, match="degree: got 0; allowed"):
        rectified_monomial(0)
    with pytest.raises(ConfigError, match="coefficients: is empty"):
        polynomial([])


@pytest.mark.parametrize("act", CLOSED, ids=lambda a: a.name)
def test_closed_form_matches_monte_carlo(act):
    rng = np.random.default_rng(42)
    n = 400_000
    for q1, q2, rho in ((1.0, 0.5, 0.3), (2.0, 1.5, -0.8), (0.7, 0.7, 0.999)):
        z1, z2 = rng.standard_normal(n), rng.standard_normal(n)
        u = np.sqrt(q1) * z1
        v = np.sqrt(q2) * (rho * z1 + np.sqrt(1 - rho**2) * z2)
        c = rho * np.sqrt(q1 * q2)
        with jax.enable_x64(True):
            f, g = (float(a) for a in act.maps(np.array(q1), np.array(q2), np.array(c)))
            su, sv = np.asarray(act.fn(u)), np.asarray(act.fn(v))
            du, dv = np.asarray(act.d1(u)), np.asarray(act.d1(v))
        for est, exact in ((su * sv, f), (du * dv, g)):
            se = est.std() / np.sqrt(n)
            assert abs(est.mean() - exact) < 5 * se + 1e-12, (act.name, q1, q2, rho)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "name", ["relu", "erf", "cos", "sqrt2cos", "identity", "tanh", "gelu", "abs", "gaussian", "sin"]
)
def test_no_nan_at_theta_0_and_pi_and_zero_variance(name, dtype):
    q = np.array([1.0, 1.0, 1.0, 1.0, 0.0, 3.0, 1e-30], dtype)
    # c slightly beyond +-sqrt(q1 q2), as rounding produces; zero variance; tiny variance
    c = np.array([1.0 + 1e-7, -1.0 - 1e-7, 1.0, -1.0, 0.0, 3.0 * (1 - 1e-7), 1e-30], dtype)
    with jax.enable_x64(dtype == "float64"):
        f, g = _maps(get_activation(name), q, q, c)
    assert np.all(np.isfinite(np.asarray(f))) and np.all(np.isfinite(np.asarray(g)))


def test_relu_exact_at_theta_0_and_pi():
    with jax.enable_x64(True):
        f, g = get_activation("relu").maps(
            np.array([2.0, 2.0]), np.array([2.0, 2.0]), np.array([2.0, -2.0])
        )
    assert np.allclose(np.asarray(f), [1.0, 0.0], atol=1e-15)  # q/2 at theta = 0, 0 at pi
    assert np.allclose(np.asarray(g), [0.5, 0.0], atol=1e-15)


def test_fast_inverse_trig_matches_numpy():
    x = np.concatenate([np.linspace(-1, 1, 20001), 1 - np.logspace(-16, -1, 50), [1e-300]])
    with jax.enable_x64(True):
        assert np.max(np.abs(np.asarray(fast_arccos(x)) - np.arccos(x))) < 1e-14
        assert np.max(np.abs(np.asarray(fast_arcsin(x)) - np.arcsin(x))) < 1e-14


def test_unknown_activation_is_one_clear_error():
    with pytest.raises(ConfigError, match="activation: unknown 'swishy'; allowed: relu, .*, abs"):
        get_activation("swishy")


def test_user_function_goes_through_quadrature():
    import jax.numpy as jnp

    def leaky(z):
        return jnp.where(z > 0, z, 0.1 * z)

    act = get_activation(leaky)
    assert act.name == "custom:leaky" and not act.closed_form
    # leaky relu = 0.55 z + 0.45 |z|: E = 0.55^2 c + 0.45^2 E|u||v| (E|u||v| = 4 x relu F - c)
    q1, q2, c = _pairs(2.0, n=20, seed=3)
    with jax.enable_x64(True):
        f, _ = _maps(act, q1, q2, c)
        fr, _ = _maps(get_activation("relu"), q1, q2, c)
    expected = 0.55**2 * c + 0.45**2 * (4 * np.asarray(fr) - c)
    assert np.max(np.abs(np.asarray(f) - expected)) < 1e-10

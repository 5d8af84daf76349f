"""Label-noise SGD on f = ab: the implicit regulariser's projected flow (autodiff against the
closed form), the exact one-step identity, the drift's sign and rate against simulation."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from theoryscope.experiments.sgdnoise import manifold
from theoryscope.experiments.sgdnoise.config import Config
from theoryscope.experiments.sgdnoise.theory import compare, predict

Y = 1.5


def _loss(theta):
    return 0.5 * (theta[0] * theta[1] - Y) ** 2


@pytest.mark.parametrize("s", [-0.8, 0.3, 1.2])
def test_projected_gradient_of_trace_h_is_the_closed_form(s):
    """grad tr H (autodiff of the trace of the autodiff Hessian) projected on the tangent of
    ab = y is 2 tanh(2s) t with t = (a, -b), and tr H = 2y cosh 2s on the manifold."""
    a, b = manifold.start(Y, s)
    with jax.enable_x64(True):
        theta = jnp.array([a, b])
        trace = lambda t: jnp.trace(jax.hessian(_loss)(t))  # noqa: E731
        grad = np.asarray(jax.grad(trace)(theta))
        assert float(trace(theta)) == pytest.approx(2 * Y * math.cosh(2 * s))
        normal = np.array(jax.grad(lambda t: t[0] * t[1])(theta))
    normal /= np.linalg.norm(normal)
    projected = grad - (grad @ normal) * normal
    np.testing.assert_allclose(projected, 2 * math.tanh(2 * s) * np.array([a, -b]), rtol=1e-10)
    assert float(manifold.trace_hessian(a, b)) == pytest.approx(2 * Y * math.cosh(2 * s))


def test_projected_flow_integrates_to_the_exponential_decay_of_zeta():
    eta, sigma, s0 = 0.05, 0.8, 1.0
    sol = solve_ivp(lambda k, s: -(eta**2) * sigma**2 / 2 * np.tanh(2 * s), (0, 5000), [s0],
                    t_eval=np.linspace(0, 5000, 11), rtol=1e-11, atol=1e-12)  # fmt: skip
    zeta = np.sinh(2 * sol.y[0])
    np.testing.assert_allclose(
        zeta, manifold.drift_leading(math.sinh(2 * s0), eta, sigma, sol.t), rtol=1e-7
    )


def test_one_label_noise_step_multiplies_a2_minus_b2_by_one_minus_eta2_r2():
    rng = np.random.default_rng(0)
    a, b, eta = rng.standard_normal(100), rng.standard_normal(100), 0.07
    r = a * b - Y - rng.standard_normal(100)
    a1, b1 = a - eta * r * b, b - eta * r * a
    np.testing.assert_allclose(a1**2 - b1**2, (a**2 - b**2) * (1 - eta**2 * r**2), rtol=1e-10)


def test_stationary_trace_matches_a_direct_simulation_at_the_balanced_point():
    rng = np.random.default_rng(1)
    eta, sigma = 0.05, 1.0
    a = b = np.full(20_000, math.sqrt(Y))
    for _ in range(2000):
        r = a * b - Y - sigma * rng.standard_normal(len(a))
        a, b = a - eta * r * b, b - eta * r * a
    measured = float(np.mean(a * a + b * b))
    se = float(np.std(a * a + b * b)) / math.sqrt(len(a))
    predicted = float(manifold.trace_h_stationary(0.0, eta, sigma, Y))
    assert predicted < 2 * Y  # inside the hyperbola on average
    assert abs(measured - predicted) < 4 * se + 2e-3


def test_finite_eta_rate_tends_to_eta2_sigma2():
    for eta in (0.1, 0.01, 0.001):
        rate = float(manifold.drift_rate(2.0, eta, 0.7, Y))
        assert rate / (eta**2 * 0.7**2) == pytest.approx(1.0, abs=12 * eta)
    assert manifold.drift_rate(2.0, 0.05, 0.7, Y) > 0.05**2 * 0.7**2  # normal spread adds


def test_label_noise_drifts_to_the_flat_balanced_point_and_matches_the_theory():
    cfg = Config(mode="manifold", lr=0.05, noise=1.0, target=Y, s0=0.6, steps=3000,
                 records=30, chains=512, dtype="float64")  # fmt: skip
    run = manifold.simulate_manifold(cfg, seed=2)
    assert run.status == "finished"
    agreement = compare(run, predict(cfg))
    zeta, se = run.series["zeta"], run.series["zeta_se"]
    assert agreement["drift_towards_flat"]
    assert np.all(np.diff(zeta) < 0) and np.all(zeta > 0)  # monotone towards zeta = 0
    trace = run.series["trace_h"]
    assert trace[-1] < trace[0] < agreement["trace_h_start"]
    assert agreement["trace_h_final"] == pytest.approx(agreement["trace_h_final_predicted"],
                                                       rel=0.01)  # fmt: skip
    assert abs(agreement["zeta_z_refined"]) < 4 and se[-1] > 0
    assert agreement["rate_measured"] == pytest.approx(agreement["rate_predicted"], rel=0.15)
    # without label noise the point stays on the manifold where it started
    still = manifold.simulate_manifold(cfg.replace(noise=0.0, chains=2), seed=2)
    np.testing.assert_allclose(still.series["zeta"], agreement["zeta0"], rtol=1e-10)

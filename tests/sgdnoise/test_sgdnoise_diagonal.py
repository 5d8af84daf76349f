"""SGD vs GD on the diagonal net: Pesme et al.'s alpha_inf (its limits), the exact per-coordinate
gain of SGD against it, the vector-alpha Q interpolator and the alpha_eff fit."""

from __future__ import annotations

import numpy as np
import pytest

from theoryscope.experiments.implicit import diagonal as idiag
from theoryscope.experiments.sgdnoise import diagonal as dg
from theoryscope.experiments.sgdnoise.config import Config
from theoryscope.experiments.sgdnoise.theory import compare, predict


@pytest.fixture(scope="module")
def problem():
    x, y, _ = idiag.make_data(30, 12, 2, seed=4)
    return x, y


def test_pesme_alpha_limits():
    """alpha_inf -> alpha as eta -> 0 (fixed int L dt) and as |B| -> m (p -> 1, GD); it shrinks as
    eta grows, as the batch shrinks and as the loss integral grows (Pesme et al. 2021, Thm 1)."""
    diag = np.array([0.8, 1.0, 1.3])
    alpha, m = 0.1, 40
    small = dg.pesme_alpha(alpha, 1e-9, 1 / m, 1.0, diag, 2.0)
    np.testing.assert_allclose(small, alpha, rtol=1e-7)
    full = dg.pesme_alpha(alpha, 0.05, 1.0, float(m), diag, 2.0)
    np.testing.assert_allclose(full, alpha)
    etas = [dg.pesme_alpha(alpha, e, 1 / m, 1.0, diag, 2.0)[1] for e in (0.01, 0.02, 0.05)]
    assert etas[0] > etas[1] > etas[2] and etas[0] < alpha
    batches = [dg.pesme_alpha(alpha, 0.02, b / m, float(b), diag, 2.0)[1] for b in (1, 4, 16)]
    assert batches[0] < batches[1] < batches[2] < alpha
    assert dg.pesme_alpha(alpha, 0.02, 1 / m, 1.0, diag, 4.0)[1] < etas[1]
    # exactly the stated exponent: log(alpha_inf / alpha) = -4 eta (1-p)/|B| diag int L
    got = np.log(dg.pesme_alpha(alpha, 0.02, 0.1, 4.0, diag, 3.0) / alpha)
    np.testing.assert_allclose(got, -4 * 0.02 * 0.9 / 4 * diag * 3.0)


def test_vector_q_limit_is_the_scalar_one_for_a_constant_scale(problem):
    x, y = problem
    for alpha in (0.003, 0.1, 2.0):
        np.testing.assert_allclose(dg.q_limit_vector(x, y, np.full(30, alpha)),
                                   idiag.q_alpha_limit(x, y, alpha), rtol=1e-6, atol=1e-9)  # fmt: skip


def test_vector_q_limit_is_feasible_and_minimises_its_potential(problem):
    x, y = problem
    alphas = np.geomspace(0.01, 0.5, 30)
    beta = dg.q_limit_vector(x, y, alphas)
    np.testing.assert_allclose(x @ beta, y, atol=1e-8)

    def potential(b):
        return float(np.sum(alphas**2 * idiag.q(b / alphas**2)))

    null = np.linalg.svd(x)[2][12:].T  # directions keeping X beta = y
    rng = np.random.default_rng(0)
    for _ in range(20):
        step = null @ rng.standard_normal(18) * 1e-3
        assert potential(beta + step) >= potential(beta) - 1e-12


def test_fit_alpha_recovers_the_scale_of_a_q_interpolator(problem):
    x, y = problem
    for alpha in (0.02, 0.3):
        fit = dg.fit_alpha(x, y, idiag.q_alpha_limit(x, y, alpha), 0.1)
        assert fit["alpha"] == pytest.approx(alpha, rel=1e-3) and fit["distance"] < 1e-5


def test_gradient_flow_ends_at_the_q_alpha_limit_keeping_its_scale(problem):
    x, y = problem
    flow = dg.flow_loss_integral(x, y, 0.1, 200.0)
    assert flow["success"] and idiag.rel_dist(flow["beta"], idiag.q_alpha_limit(x, y, 0.1)) < 1e-4
    np.testing.assert_allclose(flow["alpha"], 0.1, rtol=1e-6)  # u v is conserved by the flow
    # the loss integral against a fine Euler discretisation of the same flow
    m, d = x.shape
    u = v = np.full(d, 0.1)
    total, dt = 0.0, 1e-3
    for _ in range(int(20.0 / dt)):
        r = x @ (u * u - v * v) - y
        total += dt * 0.5 * float(r @ r) / m
        g = (r @ x) / m
        u, v = u * np.exp(-2 * dt * g), v * np.exp(2 * dt * g)
    short = dg.flow_loss_integral(x, y, 0.1, 20.0)
    assert short["integral"] == pytest.approx(total, rel=2e-3)


def test_sgd_acts_as_a_smaller_scale_than_gd_and_pesme_predicts_it():
    """Small eta: the exact per-coordinate scale sqrt(u v) of SGD is below alpha and matches
    Pesme's alpha_inf (run's own loss integral) and the second-order expected gain; the fitted
    alpha_eff of the SGD end point agrees with the fit to Pesme's interpolator; SGD ends nearer
    min-L1 than GD; GD's fit is alpha."""
    cfg = Config(mode="diagonal", d=30, m=12, sparsity=2, alpha=0.1, lr=0.02, batch=1,
                 steps=8000, records=40, chains=2, dtype="float64", data_seed=4)  # fmt: skip
    run = dg.simulate_diagonal(cfg, seed=1)
    assert run.status == "finished" and run.series["loss_sgd"][-1] < 1e-8
    agreement = compare(run, predict(cfg))
    assert agreement["alpha_gain_geo"] < 0.095
    assert agreement["alpha_gain_geo"] == pytest.approx(agreement["alpha_pesme_geo"], rel=0.05)
    assert agreement["alpha_gain_geo"] == pytest.approx(agreement["alpha_second_order_geo"],
                                                        rel=0.02)  # fmt: skip
    assert agreement["alpha_fit"] == pytest.approx(agreement["alpha_pesme_fit"], rel=0.1)
    assert agreement["alpha_fit_gd"] == pytest.approx(0.1, rel=0.03)
    assert agreement["sgd_closer_to_l1"]
    # the series: SGD's scale falls over training while GD's stays put
    assert run.series["alpha_sgd"][-1] < run.series["alpha_sgd"][0] < 0.1
    assert run.series["alpha_gd"][-1] > 0.099
    integral = np.asarray(run.summary["integral_sgd"])
    np.testing.assert_allclose(run.series["integral_sgd"][-1], integral.mean())

"""The exact moment theory of SGD on least squares: against Monte Carlo over many chains, its
fixed point (both FDRs exact), the small-eta Lyapunov limit, and a whole linreg run."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theoryscope.experiments.sgdnoise import chains, linreg_theory, problems
from theoryscope.experiments.sgdnoise.config import Config
from theoryscope.experiments.sgdnoise.theory import compare, predict

D, M, NOISE = 3, 16, 0.5


@pytest.fixture(scope="module")
def data():
    x, y, _ = problems.linreg_data(D, M, NOISE, seed=11)
    return x, y


def test_power_and_sum_by_doubling_equals_the_plain_loop():
    op = np.random.default_rng(0).standard_normal((5, 5)) * 0.4
    for n in (1, 2, 7, 64):
        power, total = linreg_theory.power_and_sum(op, n)
        expect_p, expect_s, acc = np.eye(5), np.zeros((5, 5)), np.eye(5)
        for _ in range(n):
            expect_s += acc
            acc = acc @ op
        expect_p = acc
        np.testing.assert_allclose(power, expect_p, atol=1e-12)
        np.testing.assert_allclose(total, expect_s, atol=1e-12)


@pytest.mark.parametrize("centered", [False, True])
def test_both_fdrs_hold_exactly_at_the_stationary_moments(data, centered):
    x, y = data
    mom = linreg_theory.moment_operator(x, y, 0.05, 0.2, 0.25, centered)
    assert linreg_theory.second_moment_radius(mom) < 1
    cov = linreg_theory.stationary_covariance(mom)
    values = linreg_theory.stationary_values(mom, cov)
    assert values["o_l"] == pytest.approx(values["o_r"], rel=1e-10)
    assert values["f_l"] == pytest.approx(values["f_r"], rel=1e-10)
    assert values["sq"] == pytest.approx(np.trace(cov))
    # a fixed point of the recursion: M = P M P + eta^2 kappa sum_k E[r_k^2] x_k x_k^T
    s = np.concatenate([cov.ravel(), np.zeros(D), [1.0]])
    np.testing.assert_allclose((mom.operator @ s)[: D * D], cov.ravel(), rtol=1e-10)


def test_small_eta_lyapunov_is_the_eta_to_zero_limit(data):
    x, y = data
    errors = []
    for eta in (0.1, 0.01, 0.001):
        mom = linreg_theory.moment_operator(x, y, 0.0, eta, 0.25)
        exact = linreg_theory.stationary_covariance(mom)
        small = linreg_theory.small_eta_covariance(mom, eta)
        errors.append(np.linalg.norm(small - exact) / np.linalg.norm(exact))
    assert errors[0] > errors[1] > errors[2]
    assert errors[1] / errors[2] == pytest.approx(10.0, rel=0.1)  # first order in eta


def test_moment_recursion_matches_monte_carlo_over_many_chains(data):
    """4096 chains of Bernoulli-batch SGD from theta = 0 for 40 steps: the sample moments and
    the four FDR observables at step 40 agree with the exact recursion within 4 standard errors."""
    x, y = data
    eta, p, steps, n = 0.15, 0.25, 40, 4096
    mom = linreg_theory.moment_operator(x, y, 0.0, eta, p)
    power, _ = linreg_theory.power_and_sum(mom.operator, steps)
    expected = mom.functionals @ (power @ mom.s0)
    with jax.enable_x64(True):
        problem = problems.linreg_problem(x, y, 0.0, jnp.float64)

        def chain(key):
            def step(th, k):
                return th - eta * problem.batch_grad(th, k, jnp.float64(p)), None

            th, _ = jax.lax.scan(step, jnp.zeros(D), jax.random.split(key, steps))
            k_last = jax.random.fold_in(key, 10_000)
            gb = problem.batch_grad(th, k_last, jnp.float64(p))
            g, hg = problems.hvp(problem.loss, th, gb)
            dev = th - jnp.asarray(mom.theta_star)
            return jnp.stack([th @ g, 0.5 * eta * gb @ gb, g @ g, 0.5 * eta * gb @ hg,
                              problem.loss(th), dev @ dev])  # fmt: skip

        obs = np.asarray(jax.jit(jax.vmap(chain))(jax.random.split(jax.random.PRNGKey(1), n)))
    for i, name in enumerate(linreg_theory.FUNCTIONALS):
        se = obs[:, i].std() / np.sqrt(n)
        assert abs(obs[:, i].mean() - expected[i]) < 4 * se, (name, obs[:, i].mean(), expected[i])


def test_a_linreg_run_matches_the_exact_theory(store_path):
    cfg = Config(mode="linreg", d=3, m=16, batch=4, lr=0.1, steps=20_000, records=100, chains=8,
                 center="minimum", dtype="float64")  # fmt: skip
    run = chains.simulate_fdr(cfg, seed=5)
    theory = predict(cfg)
    agreement = compare(run, theory)
    assert run.status == "finished" and len(run.series["step"]) == 100
    for pair in ("1", "2"):
        assert abs(agreement[f"ratio{pair}"] - 1) < 4 * agreement[f"ratio{pair}_se"]
        assert agreement[f"ratio{pair}_se"] < 0.02
    assert abs(agreement["sq_z"]) < 4
    assert agreement["cov_error_exact"] < 0.1
    # the half-running sides follow the exact expected ones, transient included
    v = theory.values
    for name in ("fdr1_rhs", "fdr2_lhs", "fdr2_rhs"):
        np.testing.assert_allclose(run.series[name][10:], v[name][10:], rtol=0.15)
        assert run.series[name][-1] == pytest.approx(v[name][-1], rel=0.05)
    # the first block is far from stationary: dissipation exceeds fluctuation, as predicted
    assert run.series["ratio1"][0] > 1.5 and v["ratio1"][0] > 1.5
    assert agreement["equilibrated_step_predicted"] is not None

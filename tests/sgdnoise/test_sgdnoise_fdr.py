"""The FDR statistics (half-running averages, autocorrelation-corrected error bars, the
stationarity detector) and both FDR sides on the exactly solvable AR(1) chain."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theoryscope.experiments.sgdnoise import chains, fdr, problems


def _ar1(phi: float, n: int, rng: np.random.Generator) -> np.ndarray:
    z = np.empty(n)
    z[0] = rng.standard_normal() / np.sqrt(1 - phi * phi)
    noise = rng.standard_normal(n)
    for t in range(1, n):
        z[t] = phi * z[t - 1] + noise[t]
    return z


def test_integrated_time_of_an_ar1_series_is_one_plus_phi_over_one_minus_phi():
    rng = np.random.default_rng(0)
    for phi in (0.0, 0.5, 0.8):
        tau = fdr.integrated_time(_ar1(phi, 100_000, rng))
        assert tau == pytest.approx((1 + phi) / (1 - phi), rel=0.12), phi


def test_mean_se_covers_the_spread_of_means_of_correlated_series():
    rng = np.random.default_rng(1)
    means, ses = [], []
    for _ in range(200):
        m, se = fdr.mean_se(_ar1(0.7, 2000, rng))
        means.append(m)
        ses.append(se)
    # the standard error predicted from one series matches the spread over 200 series (~10 %)
    assert np.mean(ses) == pytest.approx(np.std(means), rel=0.15)


def test_ratio_se_matches_the_spread_of_ratios():
    rng = np.random.default_rng(2)
    ratios, ses = [], []
    for _ in range(300):
        common = rng.standard_normal(400)
        a = 2.0 + 0.5 * common + 0.3 * rng.standard_normal(400)
        b = 1.0 + 0.2 * common + 0.3 * rng.standard_normal(400)
        r, se = fdr.ratio_se(a, b)
        ratios.append(r)
        ses.append(se)
    assert np.mean(ratios) == pytest.approx(2.0, abs=0.01)
    assert np.mean(ses) == pytest.approx(np.std(ratios), rel=0.15)


def test_half_running_windows_are_the_last_half_of_the_blocks():
    a = np.arange(1.0, 11.0)
    b = np.ones(10)
    hr = fdr.half_running(a, b)
    for j in range(1, 11):
        assert hr.a[j - 1] == pytest.approx(a[j // 2 : j].mean())
        assert hr.ratio[j - 1] == pytest.approx(a[j // 2 : j].mean())
    later = fdr.half_running(a, b, start=6)  # only the records of blocks 7..10
    np.testing.assert_allclose(later.ratio, hr.ratio[6:])


def test_equilibration_enters_and_settles():
    steps = np.arange(1.0, 9.0)
    ratio = np.array([3.0, 1.5, 1.02, 1.2, 0.995, 1.005, 1.0, 0.97])
    assert fdr.equilibration(steps, ratio, 0.05) == (3.0, 5.0)
    assert fdr.equilibration(steps, ratio, 0.01) == (5.0, None)  # 0.97 at the end is outside
    assert fdr.equilibration(steps, np.full(8, 2.0), 0.05) == (None, None)


def test_ar1_closed_form_matches_its_own_recursion():
    h, sigma, eta = 2.0, 0.7, 0.3
    exact = fdr.ar1_fdr(h, sigma, eta)
    a = 1 - eta * h
    var = eta**2 * sigma**2 / (1 - a * a)  # the AR(1) variance from the recursion
    assert exact["variance"] == pytest.approx(var)
    assert exact["fdr1"] == pytest.approx(h * var)  # <theta L'> = h <theta^2>
    assert exact["fdr2"] == pytest.approx(h * h * var)  # <L'^2> = h^2 <theta^2>
    assert exact["g2"] == pytest.approx(h * h * var + sigma**2)
    with pytest.raises(ValueError):
        fdr.ar1_fdr(h, sigma, 1.0)  # eta h = 2: no stationary law


def test_both_fdr_sides_on_the_quadratic_match_the_exact_stationary_law():
    """1-D quadratic with Gaussian gradient noise: every measured side (half-running over the
    second half) equals its exact stationary value within 4 standard errors, and the ratios are 1."""
    h, sigma, eta = 2.0, 1.0, 0.3
    exact = fdr.ar1_fdr(h, sigma, eta)
    problem = problems.quadratic_problem(h, sigma, theta0=1.0)
    with jax.enable_x64(True):
        stream, raw = chains.run_chains(
            problem, eta=eta, p=1.0, steps=40_000, records=100, chains=8, seed=3,
            dtype=jnp.float64,
        )  # fmt: skip
    blocks = raw["blocks"]
    late = slice(50, 100)
    for i, key in ((0, "fdr1"), (1, "fdr1"), (2, "fdr2"), (3, "fdr2")):
        mean, se = fdr.mean_se(blocks[late, i])
        assert abs(mean - exact[key]) < 4 * se, (chains.OBS[i], mean, exact[key], se)
    var, se = fdr.mean_se(blocks[late, chains.OBS.index("sq")])
    assert abs(var - exact["variance"]) < 4 * se
    series = stream.series(chains.KEYS, {})
    for pair in ("1", "2"):
        r, se = series[f"ratio{pair}"][-1], series[f"ratio{pair}_se"][-1]
        assert abs(r - 1.0) < 4 * se and se < 0.01

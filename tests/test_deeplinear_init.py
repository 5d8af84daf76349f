"""The maths of deeplinear_init: the exact product law against closed forms, quadrature, mpmath
and Monte Carlo over Gaussian-matrix nets; Marchenko-Pastur and Fuss-Catalan against their
moments; the stable product SVD against high precision; the exact deep-linear posterior against
Meijer-G and samplers of whole networks."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import gammaln, kve
from scipy.stats import chi2, ks_2samp, multivariate_normal

from theoryscope.experiments.deeplinear_init import bayes, products, spectra
from theoryscope.experiments.deeplinear_init.productlaw import (
    LogGammaSum,
    NormLaw,
    ks_pvalue,
    ks_statistic,
    log_norm_cumulant,
    log_norm_mean,
    log_norm_var,
    lognormal_gap,
    norm_moment,
)
from theoryscope.experiments.deeplinear_init.sampling import (
    batch_key,
    batch_rng,
    log_norm2_exact,
    log_norm2_matrices,
    log_norm2_naive,
)


# ------------------------------------------------------------------------------------------------
# the product law
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("widths", [(3,), (2, 5, 9), (16,) * 6])
def test_moments_are_chi_square_moments(widths):
    for k in range(1, 6):
        direct = math.exp(sum(k * math.log(2 / n) + gammaln(n / 2 + k) - gammaln(n / 2)
                              for n in widths))  # fmt: skip
        assert norm_moment(widths, k) == pytest.approx(direct, rel=1e-12)
    assert norm_moment(widths, 1) == pytest.approx(1.0, rel=1e-14)
    assert norm_moment(widths, 2) == pytest.approx(np.prod([1 + 2 / n for n in widths]), rel=1e-14)


def test_exact_moments_against_monte_carlo_of_the_product_law():
    widths = (4, 6, 9)
    x = np.exp(log_norm2_exact(np.random.default_rng(1), widths, 400_000))
    for k in (1, 2, 3):
        mc = x**k
        z = (mc.mean() - norm_moment(widths, k)) / (mc.std() / math.sqrt(mc.size))
        assert abs(z) < 5, (k, z)
    v = np.log(x)
    assert abs(v.mean() - log_norm_mean(widths)) < 5 * math.sqrt(log_norm_var(widths) / v.size)
    assert v.var() == pytest.approx(log_norm_var(widths), rel=0.02)


@pytest.mark.parametrize("k", [0.5, 1.0, 3.5, 40.0, 2000.0])
def test_saddle_point_density_of_one_log_gamma(k):
    law = LogGammaSum.of([k])
    lo, hi = law.span()
    v = np.linspace(lo, law.mean() + 8 * math.sqrt(law.var()), 25)
    exact = k * v - np.exp(v) - gammaln(k)
    err = np.abs(law.logpdf(v) - exact) / (1 + np.abs(exact))
    assert np.max(err) < 1e-9


def test_saddle_point_density_of_two_factors_is_the_bessel_k_law():
    """log of G1 G2 (Gammas a, b): p(y) = 2 y^{(a+b)/2-1} K_{a-b}(2 sqrt y) / (G(a) G(b))."""
    a, b = 1.5, 4.0
    law = LogGammaSum.of([a, b])
    lo, hi = law.span()
    v = np.linspace(lo, hi - 4, 40)
    y = np.exp(v)
    ref = (math.log(2) + (a + b) / 2 * v + np.log(kve(a - b, 2 * np.sqrt(y))) - 2 * np.sqrt(y)
           - gammaln(a) - gammaln(b))  # fmt: skip
    np.testing.assert_allclose(law.logpdf(v), ref, rtol=1e-11, atol=1e-11)


def test_density_of_three_factors_against_mpmath_meijer_g():
    shapes = [0.5, 2.0, 3.5]
    law = LogGammaSum.of(shapes)
    mpmath.mp.dps = 30
    for v in (-6.0, -1.0, 1.0, 2.5):
        y = math.exp(v)
        g = mpmath.meijerg([[], []], [[s - 1 for s in shapes], []], y)
        ref = float(mpmath.log(g)) + v - sum(math.lgamma(s) for s in shapes)
        assert law.logpdf(np.asarray([v]))[0] == pytest.approx(ref, rel=1e-11, abs=1e-11)


def test_fft_grid_and_saddle_point_agree_and_the_cdf_is_chi_square():
    law = NormLaw((7,))
    v, pdf, cdf = law.grid
    x = np.exp(v)
    assert law.mass == pytest.approx(1.0, abs=1e-10)
    np.testing.assert_allclose(cdf, chi2.cdf(7 * x, 7), atol=1e-7)
    bulk = pdf > 1e-6 * pdf.max()
    np.testing.assert_allclose(pdf[bulk], np.exp(law.logpdf_log(v[bulk])), rtol=1e-8)
    deep = NormLaw((16,) * 33)
    grid, pdf2, _ = deep.grid
    step = grid[1] - grid[0]
    assert np.sum(grid * pdf2) * step == pytest.approx(deep.log_mean(), abs=1e-8)
    assert np.sum((grid - deep.log_mean()) ** 2 * pdf2) * step == pytest.approx(
        deep.log_var(), rel=1e-7
    )


def test_log_moments_converge_to_the_log_normal_limit_like_one_over_n():
    """At L/n = tau fixed: E = -tau(1 + 1/(3n)) + ..., Var = 2 tau (1 + 1/n) + ...,
    skewness and the KS distance to N(-tau, 2 tau) vanish like 1/n."""
    tau = 1.0
    gaps, ks = [], []
    for n in (8, 32, 128):
        widths = (n,) * n
        gap = lognormal_gap(widths)
        assert gap["mean"] == pytest.approx(-tau * (1 + 1 / (3 * n)), rel=2 / n**2)
        assert gap["var"] == pytest.approx(2 * tau * (1 + 1 / n), rel=2 / n**2)
        gaps.append(gap["var_ratio"] - 1)
        law = NormLaw(widths)
        grid, _, cdf = law.grid
        from scipy.special import ndtr

        ks.append(
            np.max(np.abs(cdf - ndtr((grid - gap["limit_mean"]) / math.sqrt(gap["limit_var"]))))
        )
    assert gaps[0] / gaps[1] == pytest.approx(4, rel=0.1) and gaps[1] / gaps[2] == pytest.approx(
        4, rel=0.1
    )
    assert ks[0] / ks[1] == pytest.approx(4, rel=0.25) and ks[1] / ks[2] == pytest.approx(
        4, rel=0.25
    )
    assert log_norm_cumulant((128,) * 128, 3) == pytest.approx(-4 * 128 / 128**2, rel=0.05)


# ------------------------------------------------------------------------------------------------
# samplers: Gaussian matrices against the exact law, seeds
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("widths", [(6, 5, 5, 5, 5), (5, 3, 7, 2)])
def test_gaussian_matrix_products_follow_the_product_law_and_reproduce(widths):
    law = NormLaw(widths)
    v = log_norm2_matrices(batch_key(3, 0), widths, 20_000)
    assert ks_pvalue(ks_statistic(v, law.cdf_log(v)), v.size) > 1e-3
    assert np.mean(np.exp(v)) == pytest.approx(1.0, abs=5 * math.sqrt(law.moment(2) - 1) / 141)
    assert np.array_equal(v, log_norm2_matrices(batch_key(3, 0), widths, 20_000))  # bit for bit
    assert not np.array_equal(v, log_norm2_matrices(batch_key(3, 1), widths, 20_000))
    exact = log_norm2_exact(batch_rng(3, 0), widths, 20_000)  # the two samplers: one law
    assert ks_2samp(v, exact).pvalue > 1e-3


def test_naive_loop_and_exact_sampler_follow_the_product_law():
    widths = (4, 3, 6)
    law = NormLaw(widths)
    for v in (log_norm2_naive(np.random.default_rng(0), widths, 3000),
              log_norm2_exact(batch_rng(0, 0), widths, 20_000)):  # fmt: skip
        assert ks_pvalue(ks_statistic(v, law.cdf_log(v)), v.size) > 1e-3
    e1 = log_norm2_exact(batch_rng(7, 2), widths, 300)
    assert np.array_equal(e1, log_norm2_exact(batch_rng(7, 2), widths, 300))
    assert not np.array_equal(e1, log_norm2_exact(batch_rng(8, 2), widths, 300))


# ------------------------------------------------------------------------------------------------
# Marchenko-Pastur and Fuss-Catalan
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.1, 0.5, 1.0, 2.0, 5.0])
def test_mp_density_mass_and_narayana_moments(alpha):
    mass = spectra.mp_moment_quadrature(0, alpha)
    assert mass == pytest.approx(min(1.0, 1.0 / alpha), abs=1e-10)
    assert mass + spectra.mp_atom(alpha) == pytest.approx(1.0, abs=1e-10)
    for k in range(1, 7):
        assert spectra.mp_moment_quadrature(k, alpha) == pytest.approx(
            spectra.mp_moment(k, alpha), rel=1e-10
        )
    assert spectra.mp_moment(2, alpha) == pytest.approx(1 + alpha)
    assert spectra.mp_moment(3, alpha) == pytest.approx(1 + 3 * alpha + alpha**2)
    lo, hi = spectra.mp_edges(alpha)
    x = np.linspace(lo, hi, 7)
    np.testing.assert_allclose(
        spectra.mp_cdf(x, alpha), [spectra.mp_cdf_quadrature(t, alpha) for t in x], atol=1e-8
    )


def test_mp_eigenvalues_of_sample_covariances():
    rng = np.random.default_rng(0)
    n0 = 200
    for alpha in (0.5, 2.0):
        p = int(alpha * n0)
        x = rng.standard_normal((p, n0))
        ev = np.linalg.eigvalsh(x @ x.T / n0)
        for k in (1, 2, 3):
            assert np.mean(ev**k) == pytest.approx(spectra.mp_moment(k, alpha), rel=0.05)
        assert np.mean(ev < 1e-9) == pytest.approx(spectra.mp_atom(alpha), abs=1e-12)
        assert ev.max() == pytest.approx(spectra.mp_edges(alpha)[1], rel=0.05)


@pytest.mark.parametrize("depth", [1, 2, 3, 5, 8])
def test_fuss_catalan_density_has_fuss_catalan_moments(depth):
    assert spectra.fuss_catalan_moment_quadrature(depth, 0) == pytest.approx(1.0, abs=1e-10)
    for k in range(1, 6):
        got = spectra.fuss_catalan_moment_quadrature(depth, k)
        assert got == pytest.approx(spectra.fuss_catalan_number(depth, k), rel=1e-8)
    edge = spectra.fuss_catalan_edge(depth)
    xs = np.asarray([0.05, 0.5, 1.0, 0.7 * edge])

    def smooth(t: float) -> float:  # x = t^(L+1) removes the x^(-L/(L+1)) singularity at 0
        return (
            (depth + 1)
            * t**depth
            * spectra.fuss_catalan_density(np.asarray([t ** (depth + 1)]), depth)[0]
        )

    ref = [quad(smooth, 0, b ** (1 / (depth + 1)), limit=200, epsabs=1e-12)[0] for b in xs]
    np.testing.assert_allclose(spectra.fuss_catalan_cdf(xs, depth), ref, atol=1e-7)


@pytest.mark.parametrize("depth", [2, 5])
def test_fuss_catalan_parametrization_solves_the_algebraic_equation(depth):
    """rho from the parametrization = -Im G / pi with G from B = 1 + z B^(L+1)."""
    edge = spectra.fuss_catalan_edge(depth)
    x = np.linspace(0.05, edge - 0.05, 5)
    np.testing.assert_allclose(spectra.fuss_catalan_density(x, depth),
                               spectra.fuss_catalan_density_algebraic(x, depth, steps=1500),
                               rtol=1e-8)  # fmt: skip


def test_fuss_catalan_of_order_one_is_marchenko_pastur_at_alpha_one():
    x = np.linspace(0.05, 3.95, 20)
    np.testing.assert_allclose(spectra.fuss_catalan_density(x, 1), spectra.mp_density(x, 1.0),
                               rtol=1e-12)  # fmt: skip
    assert [spectra.fuss_catalan_number(2, k) for k in range(5)] == [1, 1, 3, 12, 55]


def test_products_of_gaussian_matrices_have_fuss_catalan_moments():
    s2 = products.squared_singular_values(np.random.default_rng(0), 200, 2, 3).ravel()
    for k in (1, 2):
        assert np.mean(s2**k) == pytest.approx(spectra.fuss_catalan_number(2, k), rel=0.06)


# ------------------------------------------------------------------------------------------------
# long products: stable singular values, Bartlett/QR law
# ------------------------------------------------------------------------------------------------
def test_stable_product_svd_matches_direct_svd_and_high_precision():
    n, depth = 6, 3
    logs, diag = products.log_singular_values(np.random.default_rng(1), n, depth, 3)
    rng = np.random.default_rng(1)
    mats = [products.gaussian_layers(rng, 3, n) for _ in range(depth)]
    prod = mats[0]
    for w in mats[1:]:
        prod = w @ prod
    ref = np.log(np.linalg.svd(prod, compute_uv=False) ** 2)
    np.testing.assert_allclose(logs, ref, atol=1e-10)
    np.testing.assert_allclose(logs.sum(1), diag.sum(1), atol=1e-10)  # log det, exactly
    # graded: the smallest singular value is e^-80 below the largest
    n, depth = 5, 50
    logs, diag = products.log_singular_values(np.random.default_rng(2), n, depth, 1)
    rng = np.random.default_rng(2)
    mats = [products.gaussian_layers(rng, 1, n)[0] for _ in range(depth)]
    mpmath.mp.dps = 100
    prod = mpmath.matrix(mats[0].tolist())
    for w in mats[1:]:
        prod = mpmath.matrix(w.tolist()) * prod
    sv = mpmath.svd_r(prod, compute_uv=False)
    ref = sorted((float(2 * mpmath.log(s)) for s in sv), reverse=True)
    assert ref[0] - ref[-1] > 80
    np.testing.assert_allclose(logs[0], ref, atol=1e-9)


def test_qr_diagonals_follow_the_bartlett_law():
    n, depth, count = 6, 5, 400
    _, diag = products.log_singular_values(np.random.default_rng(3), n, depth, count)
    mean, var = spectra.lyapunov_mean(n, depth), spectra.lyapunov_var(n, depth)
    z = (diag.mean(0) - mean) / np.sqrt(var / count)
    assert np.max(np.abs(z)) < 4.5
    np.testing.assert_allclose(diag.var(0, ddof=1), var, rtol=0.3)


# ------------------------------------------------------------------------------------------------
# Bayesian interpolation
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("hidden", [(3,), (4, 5), (2, 3, 6)])
def test_evidence_integral_is_the_meijer_g_function(hidden):
    data, _ = bayes.teacher_data(7, 3, 2.0, 0)
    post = bayes.Posterior(data, hidden, 1.3)
    mpmath.mp.dps = 30
    ks = [n / 2 for n in hidden]
    g = mpmath.meijerg([[], []], [[post.m - 1] + [k - 1 for k in ks], []], post.c)
    ref = (1 - post.m) * math.log(post.c) + float(mpmath.log(g)) - sum(math.lgamma(k) for k in ks)
    assert post.log_integral == pytest.approx(ref, abs=1e-10)
    assert post.weights.sum() == pytest.approx(1.0, abs=1e-12)


def test_depth_zero_is_the_gaussian_prior_and_bounds_every_deep_evidence():
    data, _ = bayes.teacher_data(6, 3, 3.0, 1)
    shallow = bayes.Posterior(data, (), 0.7)
    ref = multivariate_normal(mean=np.zeros(3), cov=0.7 / 6 * data.gram).logpdf(data.y)
    assert shallow.log_evidence == pytest.approx(ref, rel=1e-12)
    best = bayes.Posterior(data, (), bayes.optimal_sigma2(data))
    for s2 in (0.1, 0.7, 3.0, 30.0):
        assert bayes.Posterior(data, (), s2).log_evidence <= best.log_evidence + 1e-12
        for hidden in ((2,), (8, 8), (30,) * 5):
            assert bayes.Posterior(data, hidden, s2).log_evidence < best.log_evidence


def test_posterior_interpolates_and_its_predictive_is_a_normalized_mixture():
    data, _ = bayes.teacher_data(6, 3, 2.0, 2)
    post = bayes.Posterior(data, (4, 4), 1.0)
    mean, var = post.predictive_moments(data.x.T)
    np.testing.assert_allclose(mean, data.y, atol=1e-10)
    np.testing.assert_allclose(var, 0.0, atol=1e-20)
    x = np.random.default_rng(0).standard_normal((1, 6))
    m, v = post.predictive_moments(x)
    sd = math.sqrt(v[0])

    def dens(f: float) -> float:
        return float(np.exp(post.predictive_logpdf(x, np.asarray([f]))[0]))

    assert quad(dens, m[0] - 40 * sd, m[0] + 40 * sd, limit=400, points=[m[0]])[0] == pytest.approx(
        1.0, abs=1e-7
    )
    second = quad(lambda f: (f - m[0]) ** 2 * dens(f), m[0] - 60 * sd, m[0] + 60 * sd,
                  limit=400, points=[m[0]])[0]  # fmt: skip
    assert second == pytest.approx(v[0], rel=1e-6)
    cdf = post.predictive_cdf(x, np.asarray([m[0] - 50 * sd, m[0], m[0] + 50 * sd]))
    np.testing.assert_allclose(cdf, [0.0, 0.5, 1.0], atol=1e-9)


def test_posterior_against_importance_sampling_of_whole_networks():
    data, _ = bayes.teacher_data(5, 2, 1.5, 3)
    post = bayes.Posterior(data, (3, 4), 1.0)
    x = np.random.default_rng(9).standard_normal((1, 5))
    res = bayes.importance_sampler(post, x, 60_000, seed=4)
    logw = res["log_weights"]
    log_z, se = bayes.log_mean_weight(logw)
    assert abs(log_z - post.log_evidence) < 5 * se
    m, v = post.predictive_moments(x)
    est, est_se = bayes.weighted_mean(res["f"][:, 0], logw)
    assert abs(est - m[0]) < 5 * est_se
    est, est_se = bayes.weighted_mean((res["f"][:, 0] - m[0]) ** 2, logw)
    assert abs(est - v[0]) < 5 * est_se
    est, est_se = bayes.weighted_mean(res["theta_perp_norm2"], logw)
    assert abs(est - post.theta_perp_norm2) < 5 * est_se
    q = m[0] + math.sqrt(v[0]) * np.asarray([-1.0, 0.3])
    for qi, p in zip(q, post.predictive_cdf(x, q), strict=True):
        est, est_se = bayes.weighted_mean((res["f"][:, 0] <= qi).astype(float), logw)
        assert abs(est - p) < 5 * est_se


def test_posterior_against_rejection_sampling_at_small_noise():
    data, _ = bayes.teacher_data(4, 2, 1.0, 0)
    post = bayes.Posterior(data, (3, 3), 1.0)
    x = np.random.default_rng([0, 1]).standard_normal((1, 4))
    rej = bayes.rejection_sampler(post, x, 1_500_000, eps=0.025, seed=11)
    f = np.sort(rej["f"][:, 0])
    assert f.size > 500
    assert ks_pvalue(ks_statistic(f, post.predictive_cdf(x, f)), f.size) > 1e-3
    assert abs(rej["log_evidence"] - post.log_evidence) < 5 * rej["log_evidence_se"] + 0.02


def test_effective_depth_governs_the_posterior_at_large_width():
    """At equal P L / N the log-normal approximation (a function of sum 1/N alone) approaches
    the exact evidence and posterior scale as N grows."""
    data, _ = bayes.teacher_data(64, 32, 4.0, 0)
    errors = []
    for n in (8, 32, 128):
        hidden = (n,) * (n // 4)  # P L / N = 8
        post = bayes.Posterior(data, hidden, 1.0)
        approx = bayes.lognormal_approximation(hidden, data, 1.0)
        best = bayes.Posterior(data, (), bayes.optimal_sigma2(data))
        errors.append(abs(post.log_evidence - best.log_evidence - approx["log_evidence_gap"]))
        assert post.log_r2_mean == pytest.approx(approx["log_r2_mean"], abs=0.1)
    assert errors[0] > errors[1] > errors[2] and errors[2] < 0.02

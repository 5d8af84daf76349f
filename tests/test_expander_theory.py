"""Tests of the Expander Nets theory (spec ``expander-nets.md`` section 6)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import integrate, special

from theoryscope.experiments.expander.config import Config
from theoryscope.experiments.expander.theory import (
    TermReadout,
    Theory,
    ode_gradient,
    ode_loss,
    predict,
    readouts,
    readouts_for_config,
    shape_integral,
    solve_ode,
    theory_to_dict,
)

B0 = 1e-10


# -- hand-computed readouts ------------------------------------------------------------------------
def test_readouts_alpha_1():
    # alpha = (1,), gamma = 0.01: ell = 2, c = sqrt(0.01) = 0.1, kappa = 1^(1/2) = 1,
    # beta = (1/sqrt(1) + b0) / (1 + 1) = 0.5 (+ b0/2), r = 1/beta^2 = 4, r_b = b0^2/beta^2 = 4e-20.
    # t_rise = -(1/(kappa c)) ln(sqrt(kappa c) beta) = -10 ln(0.5 sqrt(0.1)) = 10 (ln 2 + ln(10)/2)
    #        = 10 (0.693147 + 1.151293) = 18.44440
    r = readouts((1,), 0.01, b0=B0)
    assert (r["d_rel"], r["order"], r["ell"]) == (1, 1, 2)
    assert r["c"] == pytest.approx(0.1, rel=1e-14)
    assert r["kappa"] == 1.0
    assert r["beta"] == pytest.approx(0.5, rel=1e-9)
    assert r["r"][0] == pytest.approx(4.0, rel=1e-9)
    assert r["r_b"] == pytest.approx(4e-20, rel=1e-6)
    assert math.isnan(r["F"])
    assert r["t_rise"] == pytest.approx(10 * (math.log(2) + 0.5 * math.log(10)), rel=1e-8)
    assert r["t_rise"] == pytest.approx(18.4444, abs=1e-4)


def test_readouts_alpha_11():
    # alpha = (1, 1), gamma = 0.01: ell = 3, c = sqrt(0.01^2) = 0.01, kappa = 1,
    # beta = (1 + 1 + b0)/3 = 2/3, r = (1/beta^2, 1/beta^2) = (9/4, 9/4), r_b = b0^2 / beta^2 ~ 2e-20.
    # F = (1/2) int_0^inf s^{-1/2} (s + r)^{-1} ds = (1/2) pi / sqrt(r) = (pi/2) beta = pi/3
    # (at r_b = 0; the r_b correction is O(sqrt(r_b)) ~ 1e-10).
    # t_rise = F / ((ell - 2) kappa c beta) = (pi/2) / c = 50 pi = 157.0796
    r = readouts((1, 1), 0.01, b0=B0)
    assert (r["d_rel"], r["order"], r["ell"]) == (2, 2, 3)
    assert r["c"] == pytest.approx(0.01, rel=1e-14)
    assert r["kappa"] == 1.0
    assert r["beta"] == pytest.approx(2 / 3, rel=1e-9)
    assert r["r"] == pytest.approx((2.25, 2.25), rel=1e-9)
    assert r["F"] == pytest.approx(math.pi / 3, rel=1e-8)
    assert r["t_rise"] == pytest.approx(50 * math.pi, rel=1e-8)


def test_readouts_alpha_21():
    # alpha = (2, 1), gamma = 0.01: ell = 4, c = sqrt(0.01^2 * 0.01) = 1e-3, kappa = 2^(2/2) 1^(1/2) = 2,
    # beta = (1/sqrt 2 + 1 + b0)/3 = 0.5690356, r1 = 1/(2 beta^2) = p, r2 = 1/beta^2 = 2p.
    # F = 1 * int_0^inf s^{-1/2} (s + p)^{-1} (s + 2p)^{-1/2} ds; with s = q tan^2(th), u = sin(th):
    # int_0^inf ds / (sqrt(s) sqrt(s+q) (s+p)) = 2/sqrt(p(q-p)) arctan(sqrt((q-p)/p)), q = 2p:
    # = (2/p)(pi/4) = pi/(2p) = pi beta^2 = 1.017252.
    # t_rise = F / (2 kappa c beta^2) = pi / (4 c) = 250 pi = 785.398
    r = readouts((2, 1), 0.01, b0=B0)
    beta = (1 / math.sqrt(2) + 1) / 3
    assert (r["d_rel"], r["order"], r["ell"]) == (2, 3, 4)
    assert r["c"] == pytest.approx(1e-3, rel=1e-13)
    assert r["kappa"] == pytest.approx(2.0, rel=1e-15)
    assert r["beta"] == pytest.approx(beta, rel=1e-9)
    assert r["r"] == pytest.approx((1 / (2 * beta**2), 1 / beta**2), rel=1e-9)
    assert r["F"] == pytest.approx(math.pi * beta**2, rel=1e-8)
    assert r["F"] == pytest.approx(1.017252, rel=1e-6)
    assert r["t_rise"] == pytest.approx(250 * math.pi, rel=1e-8)


def test_readouts_spec_corrections():
    # kappa is included: alpha = (3,) has kappa = 3^(3/2) ~ 5.196 (the page omits it).
    r3 = readouts((3,), 0.01, b0=B0)
    assert r3["kappa"] == pytest.approx(3**1.5, rel=1e-14)
    # single-index alpha = (n,): beta = 1/(2 sqrt n), r = 4, F = ((n-1)/2) 4^{-(n-1)/2} B(1/2, (n-1)/2)
    # -> n = 3: F = (1/4) B(1/2, 1) = 1/2; t_rise = F / (2 kappa c beta^2) = (1/2)/(2 * 3^1.5 * c / 12)
    assert r3["F"] == pytest.approx(0.5, rel=1e-8)
    assert r3["t_rise"] == pytest.approx(3.0 / (3**1.5 * 1e-3), rel=1e-8)
    # d_rel + 1, not d + 1: zero alphas do not change beta, so (1,1,0,0) == (1,1)
    r = readouts((1, 1, 0, 0), 0.01, b0=B0)
    assert r["d_rel"] == 2
    assert r["beta"] == pytest.approx(readouts((1, 1), 0.01, b0=B0)["beta"], rel=1e-15)
    assert r["t_rise"] == pytest.approx(50 * math.pi, rel=1e-8)
    # all alphas zero: d_rel = 0, beta = |b0| / 1 is finite, ell = 1, t_rise = 1/c^2 = 1
    r0 = readouts((0, 0, 0), 0.1, b0=B0)
    assert r0["d_rel"] == 0 and r0["ell"] == 1
    assert r0["beta"] == pytest.approx(B0) and math.isfinite(r0["beta"])
    assert r0["t_rise"] == pytest.approx(1.0)
    # ell = 2 uses ln(sqrt(kappa c) beta), not ln(c beta)
    r1 = readouts((1, 0), 0.04, b0=0.0)
    assert r1["t_rise"] == pytest.approx(-math.log(math.sqrt(0.2) * 0.5) / 0.2, rel=1e-12)
    # r_b = 0 is fine (finite integral)
    assert math.isfinite(readouts((1, 1), 0.01, b0=0.0)["F"])


def test_readouts_fast():
    # many calls: 5 terms well under the 50 ms budget each (no timing assertion, just exercised)
    for alpha in [(1, 1, 0), (2, 1, 0), (3, 0, 0), (1, 1, 1), (2, 2, 1)]:
        assert math.isfinite(readouts(alpha, 0.01)["t_rise"])


# -- F against independent methods ------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 4, 7])
def test_shape_integral_beta_function(n):
    # all r equal, r_b = 0: int_0^inf s^{-1/2} (s + r)^{-(ell-1)/2} ds = r^{-(ell-2)/2} B(1/2, (ell-2)/2)
    for alpha, r in [((n,), 4.0), ((1,) * n, 2.5), ((n, 1), 0.7)]:
        ell = sum(alpha) + 1
        want = (ell / 2 - 1) * r ** (-(ell - 2) / 2) * special.beta(0.5, (ell - 2) / 2)
        got = shape_integral([r] * len(alpha), alpha, 0.0)
        assert got == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize(
    "r,alpha,r_b",
    [
        ((2.25, 2.25), (1, 1), 0.3),
        ((0.01, 50.0), (2, 1), 1e-6),
        ((4.0,), (5,), 2.0),
        ((1.3,), (2,), 0),
    ],
)
def test_shape_integral_log_substitution(r, alpha, r_b):
    # independent quadrature: s = e^v over the whole real line
    ell = sum(alpha) + 1

    def f(v):
        s = math.exp(v)
        val = s / math.sqrt(s + r_b)
        for ri, ai in zip(r, alpha, strict=True):
            val *= (s + ri) ** (-ai / 2)
        return val

    ref = sum(
        integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-12, limit=500)[0]
        for lo, hi in [(-80, -10), (-10, 0), (0, 10), (10, 200)]
    )
    assert shape_integral(r, alpha, r_b) == pytest.approx((ell / 2 - 1) * ref, rel=1e-8)


# -- the ODE --------------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha,gamma", [((1, 1, 0), 0.01), ((2, 1, 0), 0.05), ((3, 0, 0), 0.01)])
def test_single_term_conserved_quantity(alpha, gamma):
    # one term: a_i^2 / alpha_i - b^2 is constant for every i with alpha_i > 0 (spec 6)
    sol = solve_ode(alphas=[alpha], gamma=gamma, b0=B0)
    al = np.array(alpha)
    rel = al > 0
    q = sol.a[:, rel] ** 2 / al[rel] - sol.b[:, :1] ** 2
    assert np.abs(q - q[0]).max() < 1e-6
    assert sol.b.max() > 1.0  # the solution really moved
    # a_i with alpha_i = 0 never moves
    assert np.allclose(sol.a[:, ~rel], 1.0)


@pytest.mark.parametrize(
    "alpha,gamma", [((1, 1), 0.01), ((1, 1), 1e-3), ((2, 1), 0.01), ((3,), 0.01), ((2, 2), 0.001)]
)
def test_half_time_near_t_rise(alpha, gamma):
    # spec 6: for ell > 2 the ODE's loss halves at 0.8 to 1.0 times t_rise
    sol = solve_ode(alphas=[alpha], gamma=gamma, b0=B0)
    ratio = sol.t_half[0] / readouts(alpha, gamma, b0=B0)["t_rise"]
    assert 0.8 <= ratio <= 1.0


def test_half_time_is_a_root():
    sol = solve_ode(alphas=[(1, 1)], gamma=0.01, b0=B0)
    th = sol.t_half[0]
    # the dense-grid loss straddles half the initial loss at t_half
    before = sol.term_loss[sol.t < th * (1 - 1e-3), 0]
    after = sol.term_loss[sol.t > th * (1 + 1e-3), 0]
    half = 0.5 * sol.term_loss[0, 0]
    assert before[-1] > half > after[0]
    # a tighter solve agrees to many digits
    tight = solve_ode(alphas=[(1, 1)], gamma=0.01, b0=B0, rtol=1e-12, atol=1e-16)
    assert tight.t_half[0] == pytest.approx(th, rel=1e-7)


def test_tiny_gamma_horizon_is_automatic():
    # gamma = 1e-4: t_rise ~ 1.6e4 (alpha=(1,1)) and ~ 1.6e12 (alpha=(2,2,1)): no fixed cap (the
    # page stops at 50000)
    for alpha in [(1, 1, 0), (2, 2, 1)]:
        t_rise = readouts(alpha, 1e-4, b0=B0)["t_rise"]
        sol = solve_ode(alphas=[alpha], gamma=1e-4, b0=B0)
        assert sol.converged and not sol.capped
        assert sol.t_end > t_rise
        assert sol.term_loss[-1, 0] < 1e-3 * sol.term_loss[0, 0]
        assert 0.8 * t_rise <= sol.t_half[0] <= 1.0 * t_rise


def test_grid_shape_and_outputs():
    cfg = Config.create(d=3, gamma=0.01, alpha=[(1, 1, 0), (0, 0, 1)], coef=[1.0, -0.5])
    sol = solve_ode(cfg, n_points=500)
    n = sol.t.size
    assert n == 500 and sol.t[0] == 0.0 and np.all(np.diff(sol.t) > 0)
    assert sol.a.shape == (n, 3) and sol.b.shape == (n, 2) and sol.term_loss.shape == (n, 2)
    assert np.allclose(sol.loss, sol.term_loss.sum(axis=1))
    assert np.allclose(sol.b_norm, np.sqrt((sol.b**2).sum(axis=1)))
    assert sol.term_loss[0] == pytest.approx(
        [0.5 * (1 - 1e-2 * B0) ** 2, 0.5 * (0.5 + 0.1 * B0) ** 2]
    )
    # log-spaced after t = 0
    ratios = sol.t[2:] / sol.t[1:-1]
    assert np.allclose(ratios, ratios[0])


def test_multi_term_ode():
    cfg = Config.create(
        d=3,
        gamma=[0.01, 0.05, 0.001],
        alpha=[(1, 0, 0), (1, 1, 0), (0, 2, 1), (0, 0, 0)],
        coef=[1.0, -0.5, 2.0, 0.3],
    )
    sol = solve_ode(cfg)
    assert sol.converged
    assert np.all(sol.term_loss[-1] < 1e-3 * sol.term_loss[0])
    assert np.all(np.isfinite(sol.t_half))
    # negative coefficient: that term's b goes negative
    assert sol.b[-1, 1] < 0 and sol.b[-1, 0] > 0
    # total loss is non-increasing along gradient flow
    assert np.all(np.diff(sol.loss) <= 1e-12 * sol.loss[0])


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    alphas = np.array([[1, 2, 0], [0, 1, 1], [3, 0, 0]])
    coefs = np.array([1.0, -0.7, 0.4])
    cs = np.array([0.3, 0.2, 0.5])
    y = rng.uniform(0.5, 1.5, size=6) * np.array([1, -1, 1, 1, -1, 1])
    g = ode_gradient(y, alphas, coefs, cs)
    h = 1e-6
    fd = np.array(
        [
            (ode_loss(y + h * e, alphas, coefs, cs) - ode_loss(y - h * e, alphas, coefs, cs))
            / (2 * h)
            for e in np.eye(6)
        ]
    )
    assert g == pytest.approx(fd, rel=1e-6, abs=1e-9)


# -- protocol pieces ------------------------------------------------------------------------------
def test_predict_and_json():
    cfg = Config.create(d=3, gamma=0.01, alpha=[(1, 1, 0), (0, 0, 0)])
    th = predict(cfg)
    assert isinstance(th, Theory)
    assert all(isinstance(t, TermReadout) for t in th.terms)
    d = theory_to_dict(th)
    text = json.dumps(d, allow_nan=False)  # no NaN anywhere
    back = json.loads(text)
    keys = ["alpha", "coef", "d_rel", "order", "ell", "c", "kappa", "beta", "r", "r_b", "F"]
    assert list(back["terms"][0]) == [*keys, "t_rise", "t_half_ode"]
    assert back["terms"][1]["F"] is None  # ell = 1
    for k in ("t", "a", "b", "loss", "term_loss", "b_norm"):
        assert len(back["ode"][k]) == th.ode.t.size
    assert back["terms"][0]["t_half_ode"] == pytest.approx(th.ode.t_half[0])
    ro = readouts_for_config(cfg.to_dict())
    assert ro[0].t_half_ode == pytest.approx(th.terms[0].t_half_ode, rel=1e-12)
    assert ro[0].t_rise == pytest.approx(50 * math.pi, rel=1e-8)


def test_jacobian_matches_finite_differences():
    from theoryscope.experiments.expander.theory import _Model

    rng = np.random.default_rng(1)
    alphas = np.array([[1, 2, 0, 0], [0, 1, 1, 0], [3, 0, 0, 0], [0, 0, 0, 0]])
    model = _Model(alphas, np.array([1.0, -0.7, 0.4, 0.2]), np.array([0.3, 0.2, 0.5, 1.0]))
    y = rng.uniform(0.5, 1.5, size=8)
    jac = model.jac(0.0, y)
    h = 1e-6
    fd = np.stack(
        [(model.rhs(0.0, y + h * e) - model.rhs(0.0, y - h * e)) / (2 * h) for e in np.eye(8)],
        axis=1,
    )
    assert jac == pytest.approx(fd, rel=1e-5, abs=1e-8)
    assert np.allclose(jac, jac.T)  # minus a Hessian

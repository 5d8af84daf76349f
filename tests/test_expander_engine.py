"""Expander Nets online SGD engine (spec expander-nets.md sections 1-4)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from theoryscope.experiments.expander.compare import compare
from theoryscope.experiments.expander.config import Config
from theoryscope.experiments.expander.engine import (
    SERIES,
    _t_half_from_records,
    batch_loss,
    loss_and_grads,
    record_steps,
    simulate,
)
from theoryscope.experiments.expander.nonlinearities import (
    fast_sincos,
    reference_pair,
    sigma_pair,
)

BASE = Config.create(
    d=3,
    k=64,
    batch=32,
    gamma=0.05,
    alpha=[(1, 1, 0), (2, 0, 0)],
    coef=[1.0, 0.5],
    lr=0.05,
    steps=300,
    records=30,
    ema_window=10,
)


@pytest.fixture(scope="module")
def base_run():
    return simulate(BASE, seed=0)


# -- nonlinearities -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype,tol", [("float32", 2e-7), ("float64", 1e-15)])
def test_fast_sincos_accuracy_wide_range(dtype, tol):
    z = np.concatenate([np.linspace(-1e3, 1e3, 400_001), np.linspace(-7, 7, 10_001)])
    with jax.enable_x64(dtype == "float64"):
        zj = jnp.asarray(z, dtype)
        s, c = jax.jit(fast_sincos)(zj)
        zr = np.asarray(zj, np.float64)  # the rounded inputs are the reference points
    assert np.abs(np.asarray(s, np.float64) - np.sin(zr)).max() < tol
    assert np.abs(np.asarray(c, np.float64) - np.cos(zr)).max() < tol


@pytest.mark.parametrize("name", ["sqrt2cos", "relu", "tanh", "erf"])
def test_sigma_pairs_match_reference(name):
    z = np.linspace(-6, 6, 1201) + 1e-3  # avoid the relu kink at 0
    with jax.enable_x64(True):
        s, ds = jax.jit(sigma_pair(name))(jnp.asarray(z))
    rs, rds = reference_pair(name, z)
    np.testing.assert_allclose(np.asarray(s), rs, atol=1e-13)
    np.testing.assert_allclose(np.asarray(ds), rds, atol=1e-13)


def test_custom_pair_derivative_by_jvp():
    with jax.enable_x64(True):
        s, ds = sigma_pair(lambda z: jnp.sin(z) * z)(jnp.linspace(-3.0, 3.0, 7))
    z = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(np.asarray(s), np.sin(z) * z, atol=1e-14)
    np.testing.assert_allclose(np.asarray(ds), np.cos(z) * z + np.sin(z), atol=1e-14)


def test_sqrt2cos_is_shifted_cosine():
    z = np.linspace(-20, 20, 101)
    with jax.enable_x64(True):
        s, ds = sigma_pair("sqrt2cos")(jnp.asarray(z))
    np.testing.assert_allclose(np.asarray(s), np.sqrt(2) * np.cos(z + np.pi / 4), atol=1e-14)
    np.testing.assert_allclose(np.asarray(ds), -np.sqrt(2) * np.sin(z + np.pi / 4), atol=1e-14)


# -- hand-written gradient ------------------------------------------------------------------------


@pytest.mark.parametrize("d,name", [(3, "sqrt2cos"), (10, "sqrt2cos"), (3, "tanh")])
def test_hand_gradient_equals_jax_grad_and_finite_differences(d, name):
    rng = np.random.default_rng(d)
    k, B = 17, 9
    with jax.enable_x64(True):
        W1 = jnp.asarray(np.eye(d) + 0.3 * rng.standard_normal((d, d)))
        W2 = jnp.asarray(rng.standard_normal(k))
        Wf = jnp.asarray(rng.standard_normal((k, d)))
        X = jnp.asarray(rng.standard_normal((B, d)) * 0.5)
        y = jnp.asarray(rng.standard_normal(B))
        pair = sigma_pair(name)
        sig = lambda z: pair(z)[0]  # noqa: E731
        fused = jax.jit(loss_and_grads, static_argnums=5)
        plain = jax.jit(batch_loss, static_argnums=5)
        plain_grad = jax.jit(jax.grad(batch_loss, argnums=(0, 1)), static_argnums=5)
        loss, g1, g2 = fused(W1, W2, Wf, X, y, pair)
        ref = plain(W1, W2, Wf, X, y, sig)
        r1, r2 = plain_grad(W1, W2, Wf, X, y, sig)
        assert abs(float(loss) - float(ref)) < 1e-12
        np.testing.assert_allclose(np.asarray(g1), np.asarray(r1), atol=1e-12)
        np.testing.assert_allclose(np.asarray(g2), np.asarray(r2), atol=1e-12)
        h = 1e-6
        for i, j in [(0, 0), (1, 0), (d - 1, 1)]:
            E = np.zeros((d, d))
            E[i, j] = h
            fd = (plain(W1 + E, W2, Wf, X, y, sig) - plain(W1 - E, W2, Wf, X, y, sig)) / (2 * h)
            assert abs(float(fd) - float(g1[i, j])) < 1e-7
        e = np.zeros(k)
        e[5] = h
        fd = (plain(W1, W2 + e, Wf, X, y, sig) - plain(W1, W2 - e, Wf, X, y, sig)) / (2 * h)
        assert abs(float(fd) - float(g2[5])) < 1e-7


def test_batch_tiles_equal_one_pass(monkeypatch):
    from theoryscope.experiments.expander import engine

    rng = np.random.default_rng(7)
    d, k, B = 3, 20, 23
    with jax.enable_x64(True):
        args = [
            jnp.asarray(np.eye(d) + 0.2 * rng.standard_normal((d, d))),
            jnp.asarray(rng.standard_normal(k)),
            jnp.asarray(rng.standard_normal((k, d))),
            jnp.asarray(rng.standard_normal((B, d))),
            jnp.asarray(rng.standard_normal(B)),
        ]
        pair = sigma_pair("sqrt2cos")
        one = jax.jit(loss_and_grads, static_argnums=5)(*args, pair)
        monkeypatch.setattr(engine, "TILE_ENTRIES", 5 * k)  # 5 rows a tile, last one padded
        tiled = jax.jit(loss_and_grads, static_argnums=5)(*args, pair)
    for a, b in zip(one, tiled, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-13)


# -- records --------------------------------------------------------------------------------------


def test_record_schedule():
    s = record_steps(20000, 400)
    assert s[0] == 0 and s[-1] == 20000
    assert np.all(np.diff(s) > 0)
    assert len(s) <= 401
    assert list(s[:6]) == [0, 1, 2, 3, 4, 5]  # dense early
    assert s[-1] - s[-2] > 100  # sparse late
    assert list(record_steps(5, 100)) == [0, 1, 2, 3, 4, 5]


def test_series_names_shapes_and_initial_state(base_run):
    run = base_run
    assert run.status == "finished" and run.experiment == "expander" and run.seed == 0
    assert run.config == BASE.to_dict()
    assert set(run.series) == set(SERIES)
    n = len(run.series["step"])
    d, m = BASE.d, len(BASE.terms)
    shapes = {"W1": (n, d, d), "overlap": (n, m), "term_loss": (n, m)}
    for key, v in run.series.items():
        assert v.shape == shapes.get(key, (n,)), key
        assert np.all(np.isfinite(v)), key
    assert run.series["step"].dtype == np.int64
    assert run.series["t_eff"].dtype == np.float64
    np.testing.assert_array_equal(run.series["step"], record_steps(BASE.steps, BASE.records))
    np.testing.assert_allclose(run.series["t_eff"], BASE.lr * run.series["step"])
    np.testing.assert_array_equal(run.series["W1"][0], np.eye(d))
    assert run.series["w2_scaled_norm"][0] == 0
    np.testing.assert_array_equal(run.series["overlap"][0], 0.0)
    np.testing.assert_allclose(run.series["term_loss"][0], 0.5 * np.square(BASE.coefs))
    np.testing.assert_allclose(run.series["loss_population"][0], 0.5 * sum(np.square(BASE.coefs)))
    assert run.series["loss_ema"][0] == run.series["loss_batch"][0]
    # the term losses add up to the population loss when f_hat lies in their span ... not here;
    # but the population loss is never below the sum of term losses (orthogonal decomposition)
    assert np.all(run.series["loss_population"] >= run.series["term_loss"].sum(axis=1) - 1e-5)
    assert run.summary["steps"] == BASE.steps
    assert len(run.summary["t_half_sim"]) == m
    assert run.summary["steps_per_second"] > 0
    assert "compile_seconds" in run.timings


def test_training_learns(base_run):
    lp = base_run.series["loss_population"]
    assert lp[-1] < 0.8 * lp[0]
    assert base_run.series["w2_scaled_norm"][-1] > 0.1


def test_ema_runs_over_every_step():
    cfg = BASE.replace(steps=40, records=40)  # a record at every step
    run = simulate(cfg, seed=3)
    x, s = run.series["loss_batch"], run.series["loss_ema"]
    np.testing.assert_array_equal(run.series["step"], np.arange(41))
    want = np.empty_like(x)
    want[0] = x[0]
    for i in range(1, len(x)):
        want[i] = x[i] / 10 + (1 - 1 / 10) * want[i - 1]
    np.testing.assert_allclose(s, want, rtol=1e-5)
    off = simulate(cfg.replace(ema_window=0), seed=3)
    np.testing.assert_array_equal(off.series["loss_ema"], off.series["loss_batch"])


def test_same_seed_bit_identical_and_seeds_differ(base_run):
    again = simulate(BASE, seed=0)
    for key in SERIES:
        assert np.array_equal(base_run.series[key], again.series[key]), key
    assert base_run.summary["t_half_sim"] == again.summary["t_half_sim"]
    other = simulate(BASE, seed=1)
    assert not np.array_equal(base_run.series["loss_batch"], other.series["loss_batch"])
    assert not np.array_equal(base_run.series["W1"][-1], other.series["W1"][-1])


def test_on_chunk_streams_exactly_the_series(base_run):
    chunks = []
    run = simulate(BASE, seed=0, on_chunk=chunks.append)
    assert len(chunks) == len(run.series["step"])
    for key in SERIES:
        np.testing.assert_array_equal(np.concatenate([c[key] for c in chunks]), run.series[key])


def test_diverging_run_stops_with_finite_records():
    run = simulate(BASE.replace(lr=3000.0, steps=2000), seed=0)
    assert run.status == "diverged"
    at = run.summary["diverged_at_step"]
    assert 0 < at < 2000 and str(at) in run.message
    assert len(run.series["step"]) >= 1
    for key, v in run.series.items():
        assert np.all(np.isfinite(v)), key
    assert run.series["step"][-1] < at


def test_should_stop_interrupts_with_data_so_far():
    calls = []

    def stop():
        calls.append(1)
        return len(calls) >= 5

    run = simulate(BASE, seed=0, should_stop=stop)
    assert run.status == "interrupted"
    assert 0 < run.summary["steps"] < BASE.steps
    assert len(run.series["step"]) >= 2
    assert run.series["step"][-1] == run.summary["steps"]


def test_keyboard_interrupt_returns_interrupted():
    seen = []

    def on_chunk(chunk):
        seen.append(chunk)
        if len(seen) == 3:
            raise KeyboardInterrupt

    run = simulate(BASE, seed=0, on_chunk=on_chunk)
    assert run.status == "interrupted"
    assert run.summary["keyboard_interrupt"] is True
    assert len(run.series["step"]) == 3


# -- other nonlinearities, dimensions, dtypes -----------------------------------------------------


@pytest.mark.parametrize("name", ["relu", "erf"])  # tanh: see the gradient test
def test_other_nonlinearities_run_with_monte_carlo_population(name):
    cfg = BASE.replace(nonlinearity=name, steps=100, records=10, holdout=4096)
    run = simulate(cfg, seed=0)
    assert run.status == "finished"
    assert run.summary["exact_population"] is False
    for key, v in run.series.items():
        assert np.all(np.isfinite(v)), key
    # W2(0) = 0: the held-out estimate is 1/2 mean f_*^2, close to 1/2 sum coef^2 = 0.625
    assert abs(run.series["loss_population"][0] - 0.625) < 0.1
    assert run.series["loss_population"][-1] < run.series["loss_population"][0]
    assert len(run.summary["t_half_sim"]) == 2


def test_custom_callable_equals_default_sigma():
    """cos z - sin z given as a JAX function: same trajectory, Monte Carlo ~ exact population."""
    cfg = BASE.replace(nonlinearity=lambda z: jnp.cos(z) - jnp.sin(z), holdout=20000)
    assert not cfg.uses_default_nonlinearity
    custom = simulate(cfg, seed=0)
    exact = simulate(BASE, seed=0)
    assert custom.status == "finished"
    assert custom.config["nonlinearity"].startswith("custom:")
    np.testing.assert_allclose(
        custom.series["loss_batch"], exact.series["loss_batch"], rtol=1e-3, atol=1e-5
    )
    np.testing.assert_allclose(custom.series["W1"], exact.series["W1"], atol=1e-4)
    np.testing.assert_allclose(
        custom.series["loss_population"], exact.series["loss_population"], rtol=0.05
    )
    np.testing.assert_allclose(custom.series["overlap"], exact.series["overlap"], atol=0.03)


def test_d8_float64_run():
    cfg = Config.create(
        d=8, k=48, batch=16, gamma=0.1, alpha=[(1, 0, 0, 0, 0, 0, 0, 1)], lr=0.05,
        steps=60, records=8, dtype="float64",
    )  # fmt: skip
    run = simulate(cfg, seed=2)
    assert run.status == "finished"
    assert run.series["W1"].shape[1:] == (8, 8)
    assert all(np.all(np.isfinite(v)) for v in run.series.values())
    assert run.series["loss_population"][0] == pytest.approx(0.5, abs=1e-12)


# -- agreement with the modeling ODE (spec 6) -----------------------------------------------------


def _ode_half_time(alpha, gamma, b0=1e-10):
    """t at which 1/2 (1 - c prod a_i^alpha_i b)^2 falls to half its initial value."""
    alpha = np.asarray(alpha, float)
    c = math.sqrt(float(np.prod(np.asarray(gamma) ** alpha)))

    def rhs(_t, y):
        a, b = y[:-1], y[-1]
        P = float(np.prod(a**alpha))
        r = 1 - c * P * b
        da = np.where(alpha > 0, r * c * b * alpha * P / a, 0.0)
        return np.append(da, r * c * P)

    L0 = 0.5 * (1 - c * b0) ** 2

    def event(_t, y):
        return 0.5 * (1 - c * float(np.prod(y[:-1] ** alpha)) * y[-1]) ** 2 - L0 / 2

    event.terminal = True
    y0 = np.append(np.ones(len(alpha)), b0)
    sol = solve_ivp(rhs, (0, 1e5), y0, events=event, rtol=1e-9, atol=1e-14, method="LSODA")
    return float(sol.t_events[0][0])


def _reference_t_half(cfg):
    try:
        from theoryscope.experiments.expander.theory import predict

        value = predict(cfg).terms[0].t_half_ode
        if value is not None and math.isfinite(float(value)):
            return float(value)
    except Exception:  # the colleague's module may be absent or unfinished
        pass
    return _ode_half_time(cfg.terms[0].alpha, cfg.gamma, cfg.b0)


@pytest.mark.parametrize("alpha,t_end", [((1, 0, 0), 40.0), ((1, 1, 0), 250.0)])
def test_half_time_agrees_with_modeling_ode(alpha, t_end):
    cfg = Config.create(
        d=3, k=300, batch=100, gamma=0.01, alpha=[alpha], lr=0.05, t_eff=t_end, records=40
    )
    run = simulate(cfg, seed=0)
    t_sim = run.summary["t_half_sim"][0]
    t_ode = _reference_t_half(cfg)
    assert abs(t_ode - _ode_half_time(alpha, cfg.gamma)) < 0.02 * t_ode  # the reference itself
    assert t_sim is not None
    assert abs(t_sim / t_ode - 1) < 0.35, (t_sim, t_ode)
    # exact tracking at step resolution: t_half is a multiple of lr, and the recorded term loss
    # is above half before it and at or below half at the next record after it
    assert abs(t_sim / cfg.lr - round(t_sim / cfg.lr)) < 1e-6
    t, tl = run.series["t_eff"], run.series["term_loss"][:, 0]
    assert np.all(tl[t < t_sim - 1e-9] > tl[0] / 2)
    assert tl[np.argmax(t >= t_sim)] <= tl[0] / 2 + 0.05


def test_interpolated_half_time_between_records():
    t = np.array([0.0, 1.0, 2.0, 3.0])
    term_loss = np.array([[0.5, 2.0], [0.4, 2.0], [0.2, 1.5], [0.1, 1.2]])
    got = _t_half_from_records(t, term_loss)
    assert got[0] == pytest.approx(1.0 + (0.4 - 0.25) / (0.4 - 0.2))
    assert got[1] is None


def test_interpolated_half_time_used_without_tracking():
    cfg = BASE.replace(steps=40, records=40)  # compiled already (test_ema_runs_over_every_step)
    tracked = simulate(cfg, seed=3)
    assert tracked.summary["t_half_sim"] == [None, None]  # nothing learned in 40 steps
    run = simulate(cfg.replace(lr=0.5, steps=200, records=200), seed=3)
    exact = run.summary["t_half_sim"]
    interp = _t_half_from_records(run.series["t_eff"], run.series["term_loss"])
    for a, b in zip(exact, interp, strict=True):  # a record every step: within one step
        assert (a is None) == (b is None)
        if a is not None:
            assert b <= a + 1e-9 and a - b <= 0.5 + 1e-9


# -- compare --------------------------------------------------------------------------------------


def test_compare_ratios_and_missing_values(base_run):
    theory = SimpleNamespace(
        terms=(
            SimpleNamespace(alpha=(1, 1, 0), coef=1.0, t_rise=10.0, t_half_ode=8.0),
            SimpleNamespace(alpha=(2, 0, 0), coef=0.5, t_rise=20.0, t_half_ode=float("nan")),
        )
    )
    run = base_run
    saved = run.summary["t_half_sim"]
    run.summary["t_half_sim"] = [4.0, None]
    try:
        out = compare(run, theory)
    finally:
        run.summary["t_half_sim"] = saved
    a, b = out["terms"]
    assert a == {
        "alpha": [1, 1, 0], "coef": 1.0, "t_half_sim": 4.0, "t_half_ode": 8.0, "t_rise": 10.0,
        "ratio_sim_ode": 0.5, "ratio_sim_rise": 0.4,
    }  # fmt: skip
    assert b["t_half_ode"] is None and b["ratio_sim_ode"] is None and b["ratio_sim_rise"] is None
    assert out["loss_population_final"] == pytest.approx(run.series["loss_population"][-1])
    import json

    json.dumps(out)

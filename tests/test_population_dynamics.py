"""Exact population dynamics (spec 4): the hand-written gradient, the flow and full-batch GD."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theoryscope.errors import ConfigError
from theoryscope.experiments.expander import population as pop
from theoryscope.experiments.expander.config import Config
from theoryscope.experiments.expander.population_dynamics import (
    flow_jacobian,
    frozen_weights,
    population_gradient,
    simulate_population,
)
from theoryscope.experiments.expander.theory import predict


def _random_state(k: int = 40, d: int = 3, seed: int = 1):
    rng = np.random.default_rng(seed)
    W1 = np.eye(d) + 0.4 * rng.standard_normal((d, d))
    W2 = rng.standard_normal(k)
    W_froz = rng.standard_normal((k, d))
    gamma = np.array([0.3, 0.15, 0.6])[:d]
    alphas = np.array([[2, 1, 0], [0, 0, 1], [1, 1, 1]])[:, :d]
    coefs = np.array([1.0, -0.5, 0.7])
    return W1, W2, W_froz, gamma, alphas, coefs


def test_gradient_matches_finite_differences_and_autodiff():
    W1, W2, W_froz, gamma, alphas, coefs = _random_state()
    with jax.enable_x64(True):
        args = (jnp.asarray(W_froz), jnp.asarray(gamma), alphas, jnp.asarray(coefs))
        loss, g1, g2 = (
            np.asarray(v)
            for v in jax.jit(lambda a, b: population_gradient(a, b, *args))(
                jnp.asarray(W1), jnp.asarray(W2)
            )
        )

        loss_fn = jax.jit(lambda a, b: pop.population_loss(a, b, *args))

        def L(a, b):
            return float(loss_fn(jnp.asarray(a), jnp.asarray(b)))

        assert loss == pytest.approx(L(W1, W2), rel=1e-12)
        h = 1e-6
        fd1 = np.zeros_like(W1)
        for i in range(W1.shape[0]):
            for j in range(W1.shape[1]):
                e = np.zeros_like(W1)
                e[i, j] = h
                fd1[i, j] = (L(W1 + e, W2) - L(W1 - e, W2)) / (2 * h)
        fd2 = np.array(
            [(L(W1, W2 + h * e) - L(W1, W2 - h * e)) / (2 * h) for e in np.eye(len(W2))[:12]]
        )
        scale = max(np.abs(g1).max(), 1.0)
        np.testing.assert_allclose(g1, fd1, atol=1e-6 * scale)
        np.testing.assert_allclose(g2[:12], fd2, atol=1e-6 * max(np.abs(g2).max(), 1.0))
        r1, r2 = jax.jit(lambda a, b: pop.population_grad(a, b, *args))(
            jnp.asarray(W1), jnp.asarray(W2)
        )
        np.testing.assert_allclose(g1, np.asarray(r1), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(g2, np.asarray(r2), rtol=1e-10, atol=1e-12)


def test_flow_jacobian_matches_autodiff_of_the_right_hand_side():
    W1, W2, W_froz, gamma, alphas, coefs = _random_state(k=15)
    k, d = len(W2), W1.shape[0]
    with jax.enable_x64(True):
        args = (jnp.asarray(W_froz), jnp.asarray(gamma), alphas, jnp.asarray(coefs))

        def rhs(y):
            _, g1, g2 = population_gradient(y[: d * d].reshape(d, d), y[d * d :], *args)
            return -jnp.concatenate([g1.reshape(-1), g2 / k])

        y = jnp.concatenate([jnp.asarray(W1).reshape(-1), jnp.asarray(W2)])
        expected = np.asarray(jax.jit(jax.jacfwd(rhs))(y))
        jac = jax.jit(lambda a, b: flow_jacobian(a, b, *args))
        got = np.asarray(jac(jnp.asarray(W1), jnp.asarray(W2)))
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-11)


def test_flow_loss_is_non_increasing_and_records_line_up_with_sgd_schedule():
    cfg = Config.create(
        k=150, gamma=0.05, alpha=[(2, 1, 0), (0, 0, 1)], mode="flow", t_eff=120, records=80
    )
    chunks = []
    run = simulate_population(cfg, seed=3, on_chunk=chunks.append)
    assert run.status == "finished"
    loss = run.series["loss_population"]
    assert loss[0] == pytest.approx(0.5 * (1 + 1))  # W2(0) = 0: L = E[f*^2]/2
    assert np.all(np.diff(loss) <= 1e-12 * loss[0])
    assert loss[-1] < 0.8 * loss[0]  # it actually moved
    from theoryscope.experiments.expander.engine import record_steps

    np.testing.assert_array_equal(run.series["step"], record_steps(cfg.steps, cfg.records))
    np.testing.assert_allclose(run.series["t_eff"], cfg.lr * run.series["step"])
    assert sum(len(c["step"]) for c in chunks) == len(run.series["step"])
    tl = run.series["term_loss"]
    np.testing.assert_allclose(tl.sum(axis=1) <= loss + 1e-12, True)
    # the reported half time is where the term loss crosses half its initial value
    t_half = run.summary["t_half_sim"][1]
    t = run.series["t_eff"]
    assert t_half is not None
    assert np.all(tl[t < t_half, 1] > 0.25) and np.all(tl[t > t_half, 1] <= 0.25)


def test_flow_half_time_matches_modeling_ode_at_small_gamma():
    cfg = Config.create(k=300, gamma=0.001, alpha=[(1, 1, 0)], mode="flow", t_eff=2000, records=60)
    run = simulate_population(cfg, seed=0)
    t_half_ode = predict(cfg).terms[0].t_half_ode
    t_half = run.summary["t_half_sim"][0]
    assert t_half is not None
    assert abs(t_half / t_half_ode - 1) < 0.15, (t_half, t_half_ode)


def test_sgd_mean_over_seeds_agrees_with_flow_within_seed_spread():
    from theoryscope.experiments.expander.engine import simulate as simulate_sgd

    base = dict(k=100, d=2, gamma=0.1, alpha=[(1, 1)], lr=0.01, batch=100, t_eff=30, records=40)
    seeds = range(6)
    sgd = np.stack(
        [simulate_sgd(Config.create(**base), s).series["loss_population"] for s in seeds]
    )
    flow = np.stack(
        [
            simulate_population(Config.create(mode="flow", **base), s).series["loss_population"]
            for s in seeds
        ]
    )
    assert sgd.shape == flow.shape
    assert flow[:, -1].mean() < 0.5 * flow[:, 0].mean()  # the rise happens inside the window
    spread = sgd.std(axis=0, ddof=1)
    gap = np.abs(sgd.mean(axis=0) - flow.mean(axis=0))
    assert np.all(gap <= 2 * spread + 2e-3), np.max(gap - 2 * spread)


def test_gd_at_small_step_tracks_the_flow_and_reports_half_time():
    base = dict(k=80, d=2, gamma=0.1, alpha=[(1, 1)], t_eff=30, records=30, dtype="float64")
    gd = simulate_population(Config.create(mode="gd", lr=0.01, **base), seed=1)
    flow = simulate_population(Config.create(mode="flow", lr=0.01, **base), seed=1)
    assert gd.status == "finished"
    np.testing.assert_array_equal(gd.series["step"], flow.series["step"])
    np.testing.assert_allclose(
        gd.series["loss_population"], flow.series["loss_population"], atol=5e-3
    )
    th_gd, th_flow = gd.summary["t_half_sim"][0], flow.summary["t_half_sim"][0]
    assert th_gd == pytest.approx(th_flow, rel=0.03)
    assert gd.summary["steps"] == 3000


def test_gd_diverges_cleanly_with_a_huge_step():
    cfg = Config.create(
        k=50, d=2, gamma=0.5, alpha=[(1, 0)], mode="gd", lr=1e4, steps=200, records=20
    )
    run = simulate_population(cfg, seed=0)
    assert run.status == "diverged"
    assert np.all(np.isfinite(run.series["loss_population"]))


def test_flow_uses_the_sgd_engines_frozen_layer_and_rejects_other_nonlinearities():
    cfg = Config.create(k=20, d=2, alpha=[(1, 0)], mode="flow", t_eff=1)
    a, b = frozen_weights(cfg, 4), frozen_weights(cfg, 4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, frozen_weights(cfg, 5))
    with pytest.raises(ConfigError, match="sqrt2cos"):
        simulate_population(cfg.replace(nonlinearity="tanh"), seed=0)

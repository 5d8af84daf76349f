"""Lazy training (spec 6, 7): H^inf, the Du et al. bound, movement vs width, linearization."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from theoryscope.errors import ConfigError
from theoryscope.experiments.widenets.config import LazyConfig
from theoryscope.experiments.widenets.lazy import (
    compare,
    gram,
    h_infinity,
    lazy_rich,
    lr_boundary,
    make_data,
    predict,
    simulate,
    width_scaling,
)

SMALL = LazyConfig(n=10, d=5, width=4000, lr=0.5, steps=150, n_test=20, chunk=50)


def test_h_infinity_closed_form_against_monte_carlo():
    x, _, _ = make_data(SMALL)
    m = 400_000
    w = jax.random.normal(jax.random.PRNGKey(3), (m, SMALL.d))
    h = np.asarray(gram(w, jax.numpy.asarray(x, jax.numpy.float32)), dtype=float)
    # per entry, H_ij is a mean of m iid terms x_i.x_j 1{.}1{.}: se <= |x_i.x_j| / (2 sqrt m)
    g = np.abs(x @ x.T)
    assert np.all(np.abs(h - h_infinity(x)) < 4 * g * 0.5 / np.sqrt(m) + 1e-6)
    lam = np.linalg.eigvalsh(h_infinity(x))
    assert lam[0] > 0.01  # lambda_0 > 0: no two inputs are parallel


def test_gd_residual_stays_under_the_du_et_al_bound_and_follows_the_eigen_prediction():
    cfg = SMALL.replace(width=16000)
    th = predict(cfg)
    assert th.in_theorem_regime  # eta lambda_max <= 1
    run = simulate(cfg, seed=1)
    assert run.status == "finished"
    assert len(run.series["step"]) == SMALL.steps + 1
    assert run.series["residual"][-1] < 1e-3 * run.series["residual"][0]
    ag = compare(run, th)
    assert ag["bound_holds"] and ag["max_residual_over_bound"] <= 1.0 + 1e-6
    assert ag["max_rel_dev_residual"] < 0.15  # first decade of decay; 0.07 at m = 16000
    assert ag["test_rel_dev_linearized"] < 0.08  # O(m^-1/2) off its linearization (0.03 here)


def test_weight_movement_and_kernel_drift_shrink_like_one_over_sqrt_width():
    res = width_scaling(SMALL.replace(steps=60), widths=(1000, 16000), seed=0)
    assert -0.75 < res["slope_weight_move"] < -0.3
    assert -0.9 < res["slope_kernel_drift"] < -0.25


def test_lazy_to_rich_kernel_moves_more_as_alpha_shrinks():
    res = lazy_rich(SMALL.replace(width=1000, steps=100), alphas=(0.1, 1.0, 10.0), seed=0)
    drift = [r["rel_kernel_drift"] for r in res["rows"]]
    move = [r["rel_weight_move"] for r in res["rows"]]
    assert drift[0] > drift[1] > drift[2]
    assert move[0] > 5 * move[2]


def test_learning_rate_boundary_two_over_lambda_max():
    res = lr_boundary(SMALL.replace(steps=60), factors=(0.9, 1.1), seed=0)
    below, above = res["runs"]
    assert below["final_over_initial"] < 0.05 and below["status"] == "finished"
    assert above["linearized"][-1] > 10 * above["linearized"][0]  # linear model diverges
    assert above["max_over_initial"] > 1.0  # the network leaves the kernel description


def test_config_validation_one_line():
    with pytest.raises(ConfigError, match="lr: got 0; allowed: a number > 0"):
        LazyConfig(lr=0)
    with pytest.raises(ConfigError, match="width: got 0"):
        LazyConfig(width=0)
    with pytest.raises(ConfigError, match="bogus: unknown setting"):
        LazyConfig.from_dict({"bogus": 1})
    assert LazyConfig.from_dict(SMALL.to_dict()) == SMALL


def test_protocol_run_is_stored(store_path):
    import theoryscope.experiments.widenets  # noqa: F401
    from theoryscope.runner import execute
    from theoryscope.store import RunStore

    store = RunStore(store_path)
    cfg = SMALL.replace(steps=20, width=500)
    res = execute("widenets", cfg, 0, store=store)
    stored = store.get_run(res.run_id)
    assert stored.status == "finished"
    series = store.get_series(res.run_id)
    assert set(series) == {"step", "residual", "kernel_drift", "weight_move"}
    assert len(series["residual"]) == 21
    assert np.allclose(series["residual"], res.run.series["residual"])
    # same seed, same run, bit for bit
    again = execute("widenets", cfg, 0, store=None)
    assert np.array_equal(again.run.series["residual"], res.run.series["residual"])

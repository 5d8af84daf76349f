"""Spectral experiment, learning side: GD on the exact L2 loss against the kernel theory."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theoryscope.experiments import spectral
from theoryscope.experiments.spectral.compare import measured_half_time
from theoryscope.experiments.spectral.engine import loss_fast, loss_full
from theoryscope.experiments.spectral.gram import relu_features
from theoryscope.runner import execute
from theoryscope.store import RunStore


def test_closed_form_losses_are_the_l2_error_and_gradients_match_finite_differences():
    w, b = relu_features(6, bias="uniform", weights="sign", seed=5)
    rng = np.random.default_rng(0)
    a = rng.normal(size=6)
    freqs = np.array([1.0, 3.0])
    amps = np.array([1.0, -0.5])
    x = np.linspace(-1, 1, 200_001)
    h = np.maximum(w[None, :] * x[:, None] - b[None, :], 0) @ a / np.sqrt(6)
    f = np.sin(np.pi * np.outer(x, freqs)) @ amps
    direct = 0.5 * np.trapezoid((h - f) ** 2, x)
    with jax.enable_x64(True):
        loss = jax.jit(loss_fast)  # what the engine differentiates
        args = [jnp.asarray(v) for v in (a, b, w, freqs, amps)]
        assert float(loss(*args)) == pytest.approx(direct, rel=1e-7)
        assert float(jax.jit(loss_full)(*args)) == pytest.approx(float(loss(*args)), rel=1e-13)
        ga, gb = jax.jit(jax.grad(loss_fast, argnums=(0, 1)))(*args)
        eps = 1e-6
        for grad, idx in ((ga, 0), (gb, 1)):
            base = np.asarray(args[idx])
            for i in range(6):
                shift = np.zeros(6)
                shift[i] = eps
                plus, minus = list(args), list(args)
                plus[idx] = jnp.asarray(base + shift)
                minus[idx] = jnp.asarray(base - shift)
                fd = (float(loss(*plus)) - float(loss(*minus))) / (2 * eps)
                assert float(grad[i]) == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_fixed_feature_gd_decays_each_eigen_component_as_one_minus_eta_lambda_to_the_t():
    config = spectral.Config(
        neurons=30, freqs=(1, 2, 5), lr=2.5, steps=400, dtype="float64", records=40
    )
    run = spectral.simulate(config)
    theory = spectral.predict(config)
    assert run.status == "finished"
    measured = run.series["eig_residual"]
    q = (1.0 - config.lr * theory.eig_lambda)[None, :] ** run.series["step"][:, None]
    predicted = q * measured[0][None, :]
    scale = np.abs(measured[0]).max()
    assert np.max(np.abs(measured - predicted)) < 1e-12 * scale
    assert np.max(np.abs(measured - theory.eig_residual)) < 1e-12 * scale
    # the top mode (eta lambda_1 > 1) oscillates in sign: the test would see a sign error
    assert config.lr * theory.eig_lambda[0] > 1.0
    assert np.max(np.abs(run.series["residual"] - theory.residual)) < 1e-11


def test_low_frequencies_are_learned_first_and_half_times_match_the_theory():
    config = spectral.Config(
        neurons=30, freqs=(4, 1, 2), lr=3.0, steps=3000, records=300, dtype="float64"
    )
    result = execute("spectral", config, 0, store=None)
    agreement = result.agreement
    rows = {row["freq"]: row for row in agreement["freqs"]}
    t1, t2, t4 = (rows[k]["t_half_measured"] for k in (1, 2, 4))
    assert t1 is not None and t2 is not None and t1 < t2
    assert t4 is None or t2 < t4
    assert agreement["low_frequencies_first"] is True
    for k in (1, 2):
        assert rows[k]["ratio"] == pytest.approx(1.0, abs=0.02)
    assert rows[4]["t_half_predicted"] > rows[2]["t_half_predicted"] > rows[1]["t_half_predicted"]


def test_measured_half_time_interpolates_between_records():
    step = np.array([0, 10, 100])
    assert measured_half_time(step, np.array([-1.0, -0.8, -0.2])) == pytest.approx(
        np.exp(np.log(10) + np.log(0.8 / 0.5) / np.log(0.8 / 0.2) * np.log(10))
    )
    assert measured_half_time(step, np.array([-1.0, -0.9, -0.6])) is None


def test_full_mode_starts_in_the_kernel_regime_and_moves_the_biases():
    config = spectral.Config(
        neurons=12, freqs=(1, 3), lr=0.5, steps=120, mode="full", records=15, dtype="float64"
    )
    run = spectral.simulate(config)
    theory = spectral.predict(config)
    assert run.status == "finished"
    # a(0) = 0, so the first step moves a only: exactly the fixed-feature (kernel) step
    early = run.series["step"] <= 1
    assert np.allclose(run.series["residual"][early], theory.residual[early], atol=1e-12)
    # then the biases move and the run leaves the kernel prediction
    assert run.summary["bias_shift_max"] > 1e-3
    assert np.max(np.abs(run.series["residual"][-1] - theory.residual[-1])) > 1e-3
    assert run.series["loss"][-1] < run.series["loss"][0]


def test_a_stop_request_ends_the_run_as_interrupted_with_its_data():
    config = spectral.Config(neurons=24, freqs=(1, 2), steps=100, records=20)
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 5

    run = spectral.simulate(config, should_stop=stop)
    assert run.status == "interrupted" and len(run.series["step"]) == 5


def test_diverging_run_is_stored_as_diverged_with_finite_data(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    config = spectral.Config(neurons=24, freqs=(1, 2), lr=50.0, steps=2000, records=100)
    result = execute("spectral", config, 0, store=store)
    assert result.run.status == "diverged"
    stored = store.get_run(result.run_id)
    series = store.get_series(result.run_id)
    assert stored.status == "diverged" and "non-finite" in (stored.message or "")
    assert len(series["loss"]) >= 2 and np.all(np.isfinite(series["loss"]))
    assert np.all(np.isfinite(series["residual"]))


def test_full_mode_with_frozen_biases_is_features_mode():
    base = dict(neurons=12, freqs=(1, 3), lr=1.0, steps=50, records=10, dtype="float64")
    full = spectral.simulate(spectral.Config(**base, mode="full", bias_lr=0.0))
    feat = spectral.simulate(spectral.Config(**base, mode="features"))
    assert full.summary["bias_shift_max"] == 0.0
    assert np.allclose(full.series["residual"], feat.series["residual"], rtol=1e-12, atol=1e-13)

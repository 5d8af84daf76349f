"""Spectral experiment, representation side: exact Gram matrix, decay exponent, numerical rank."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from theoryscope.errors import ConfigError
from theoryscope.experiments.spectral.config import Config
from theoryscope.experiments.spectral.gram import (
    fourier_projection,
    gram_matrix,
    relu_features,
    talk_kernel,
)
from theoryscope.experiments.spectral.spectrum import analyze, fit_power_law


def _ramp(w: float, b: float):
    return lambda x: max(w * x - b, 0.0)


def test_closed_form_gram_matches_quadrature_for_any_weights_and_biases():
    rng = np.random.default_rng(1)
    w = rng.choice([-1.0, 1.0], 7) * rng.uniform(0.3, 2.0, 7)
    b = rng.uniform(-1.6, 1.6, 7)  # some kinks outside D: dead or fully active ramps
    g = gram_matrix(w, b)
    for i in range(7):
        for j in range(7):
            kinks = [float(np.clip(b[i] / w[i], -1, 1)), float(np.clip(b[j] / w[j], -1, 1))]
            ref = quad(
                lambda x, i=i, j=j: _ramp(w[i], b[i])(x) * _ramp(w[j], b[j])(x),
                -1, 1, points=kinks, epsabs=1e-14, epsrel=1e-13,
            )[0]  # fmt: skip
            assert g[i, j] == pytest.approx(ref, rel=1e-11, abs=1e-13)
    assert np.allclose(g, g.T)


def test_gram_equals_the_talks_piecewise_cubic_kernel():
    x = np.linspace(-0.97, 0.95, 9)
    g = gram_matrix(np.ones_like(x), x)
    assert np.max(np.abs(g - talk_kernel(x[:, None], x[None, :]))) < 1e-14
    assert talk_kernel(0.2, 0.2) == pytest.approx(0.8**3 / 3)


def test_fourier_projection_matches_quadrature():
    rng = np.random.default_rng(2)
    w = rng.choice([-1.0, 1.0], 5)
    b = rng.uniform(-1, 1, 5)
    freqs = np.array([1.0, 3.0, 16.0])
    p = fourier_projection(w, b, freqs)
    for i in range(5):
        for k, freq in enumerate(freqs):
            ref = quad(
                lambda x, i=i, freq=freq: _ramp(w[i], b[i])(x) * np.sin(np.pi * freq * x),
                -1, 1, points=[b[i] / w[i]], limit=400, epsabs=1e-14,
            )[0]  # fmt: skip
            assert p[i, k] == pytest.approx(ref, abs=1e-12)


def test_fitted_decay_exponent_is_the_talks_four():
    for bias in ("grid", "uniform"):
        spectrum = analyze(200, bias=bias, growth=False)
        assert spectrum.fit is not None
        assert abs(spectrum.fit.exponent - 4.0) < 0.3, (bias, spectrum.fit)


def test_power_law_fit_recovers_a_known_exponent():
    j = np.arange(1, 201, dtype=float)
    fit = fit_power_law(2.5 * j**-3.0)
    assert fit is not None and fit.exponent == pytest.approx(3.0, abs=1e-9)
    assert fit.constant == pytest.approx(2.5, rel=1e-9)


def test_float32_keeps_fewer_eigen_directions_than_float64():
    spectrum = analyze(400, bias="grid", growth=False)
    r32, r64 = spectrum.numerical_rank["float32"], spectrum.numerical_rank["float64"]
    assert r32 < r64 and r32 < 100 and r64 == 400
    # the decay law predicts the float32 rank: (C / (eps lambda_1))^(1/p)
    assert abs(spectrum.predicted_rank["float32"] - r32) <= 4
    assert spectrum.resolved_float32 < 400


def test_condition_number_grows_like_a_power_of_n():
    spectrum = analyze(160, bias="grid")
    conds = [row["condition_number"] for row in spectrum.condition_growth]
    assert conds == sorted(conds) and len(conds) == 4
    assert spectrum.condition_exponent is not None and spectrum.condition_exponent > 3.0


def test_features_are_reproducible_and_seeded():
    w1, b1 = relu_features(10, bias="uniform", weights="sign", seed=3)
    w2, b2 = relu_features(10, bias="uniform", weights="sign", seed=3)
    _, b3 = relu_features(10, bias="uniform", weights="sign", seed=4)
    assert np.array_equal(b1, b2) and np.array_equal(w1, w2) and not np.array_equal(b1, b3)
    assert set(np.unique(w1)) <= {-1.0, 1.0}


def test_config_round_trip_and_errors():
    config = Config(neurons=12, freqs="1,3", lr=0.5, steps=7, mode="full")
    assert Config.from_dict(config.to_dict()) == config
    assert config.config_hash() == Config.from_dict(config.to_dict()).config_hash()
    assert Config.from_dict({"lr": 0.5, "t_eff": 10}).steps == 20
    for bad in ({"neurons": 0}, {"lr": 0}, {"steps": 0}, {"freqs": "1,-2"}, {"mode": "adam"},
                {"freqs": "3,3"}, {"colour": 1}):  # fmt: skip
        with pytest.raises(ConfigError):
            Config.from_dict(bad)

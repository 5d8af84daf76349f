"""Neural-collapse metrics on constructed configurations with known values, and on training."""

from __future__ import annotations

import numpy as np
import pytest

from theoryscope.experiments.hessian.collapse import collapse_metrics, simplex_etf
from theoryscope.experiments.hessian.config import Config
from theoryscope.experiments.hessian.engine import simulate


@pytest.mark.parametrize("classes", [2, 3, 5, 10])
def test_an_exact_simplex_etf_gives_the_predicted_limits(classes):
    dim, per_class = 12, 4
    means = simplex_etf(classes, dim, scale=2.5, seed=classes)
    offset = np.linspace(-1.0, 1.0, dim)  # a global mean, removed by centring
    h = np.repeat(means + offset, per_class, axis=0)
    y = np.repeat(np.arange(classes), per_class)
    w = 0.7 * means.T  # classifier proportional to the centred means
    b = -(offset @ w)  # so W^T h + b = 0.7 <mu_c - mu_G, mu_c' - mu_G>, maximal at c' = c
    m = collapse_metrics(h, y, w, b, classes)
    assert m["nc1"] == pytest.approx(0.0, abs=1e-20)
    assert m["nc2_equinorm"] == pytest.approx(0.0, abs=1e-12)
    assert m["nc2_cos_mean"] == pytest.approx(-1.0 / (classes - 1), abs=1e-12)
    assert m["nc2_cos_std"] == pytest.approx(0.0, abs=1e-12)
    assert m["nc2_cos_dev"] == pytest.approx(0.0, abs=1e-12)
    assert m["nc3"] == pytest.approx(0.0, abs=1e-12)
    assert m["nc4"] == 0.0


def test_nc1_closed_form_for_isotropic_within_class_scatter():
    """h = mu_c +- s sqrt(m) e_j (j = 1..m): Sigma_W = s^2 I exactly, Sigma_B has C-1 equal
    eigenvalues r^2/(C-1) for an ETF of norm r, so NC1 = s^2 (C-1)^2 / (r^2 C)."""
    classes, dim, r, s = 4, 6, 3.0, 0.4
    means = simplex_etf(classes, dim, scale=r, seed=1)
    pattern = np.concatenate([np.eye(dim), -np.eye(dim)]) * s * np.sqrt(dim)
    h = np.concatenate([mu + pattern for mu in means])
    y = np.repeat(np.arange(classes), 2 * dim)
    m = collapse_metrics(h, y, means.T, np.zeros(classes), classes)
    assert m["nc1"] == pytest.approx(s**2 * (classes - 1) ** 2 / (r**2 * classes), rel=1e-12)


def test_a_wrong_classifier_shows_in_nc3_and_nc4():
    classes, dim = 3, 5
    means = simplex_etf(classes, dim, scale=1.0, seed=2)
    h = np.repeat(means, 3, axis=0)
    y = np.repeat(np.arange(classes), 3)
    w = means[[1, 2, 0]].T  # rows permuted: predicts the next class
    m = collapse_metrics(h, y, w, np.zeros(classes), classes)
    assert m["nc4"] == 1.0
    assert m["nc3"] == pytest.approx(2 - 2 * (-1 / (classes - 1)), rel=1e-12)


def test_nc1_decreases_on_a_tiny_training_run():
    cfg = Config(classes=3, dim=4, per_class=10, width=8, depth=1, steps=300, records=8,
                 hessian_every=100, lr=0.5)  # fmt: skip
    run = simulate(cfg, 0)
    nc1 = run.series["nc1"]
    assert run.status == "finished" and run.series["accuracy"][-1] == 1.0
    assert nc1[-1] < 0.5 * nc1[0]
    assert np.all(np.diff(nc1[2:]) < 0)  # monotone once the fit starts

"""The Hermite-series (Mehler) path: its pieces and its second stage (spec 2, 4)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theoryscope.experiments.widenets import mehler
from theoryscope.experiments.widenets.activations import get_activation
from theoryscope.experiments.widenets.kernels import kernels
from theoryscope.experiments.widenets.quadrature import line_levels


@pytest.mark.parametrize("k", [48, 256])
def test_series_loop_is_the_polynomial(k):
    # k = 256 runs the blocked fori_loop, k = 48 the unrolled one; both are Horner's rule
    rng = np.random.default_rng(k)
    n1, n2 = 5, 4
    a1, a2 = rng.standard_normal((k, n1, 1)), rng.standard_normal((k, 1, n2))
    b1, b2 = rng.standard_normal((k, n1, 1)), rng.standard_normal((k, 1, n2))
    q1, q2 = rng.uniform(0.5, 2, (n1, 1)), rng.uniform(0.5, 2, (1, n2))
    rho = rng.uniform(-0.95, 0.95, (n1, n2))
    c = rho * np.sqrt(q1 * q2)
    zeros1, zeros2 = np.zeros((n1, 1)), np.zeros((1, n2))
    with jax.enable_x64(True):
        f, g, ok = mehler._layer(
            *(jnp.asarray(v) for v in (a1, a2, b1, b2, zeros1, zeros2, q1, q2, c)), -30.0, k, 0
        )
    powers = rho[None] ** np.arange(k)[:, None, None]
    assert np.allclose(np.asarray(f), np.sum(a1 * a2 * powers, axis=0), rtol=1e-12, atol=1e-12)
    assert np.allclose(np.asarray(g), np.sum(b1 * b2 * powers, axis=0), rtol=1e-12, atol=1e-12)
    assert np.asarray(ok).dtype == bool


@pytest.mark.parametrize("t", [2.0, 8.0, 30.0])
def test_hermite_coefficients_of_cos_are_exact_to_degree_1024(t):
    # E[cos(t z) He_k(z)] = Re(i^k) t^k exp(-t^2/2): for t = 30 the mass sits at k ~ 900
    act = get_activation("cos")
    with jax.enable_x64(True):
        alpha, beta, _, e_f, _ = mehler.coefficients(
            act, jnp.asarray([t * t]), line_levels(t * t), 1024
        )
    k = np.arange(1024)
    log_mag = -t * t / 2 + k * math.log(t) - 0.5 * np.array([math.lgamma(j + 1) for j in k])
    exact_a = np.exp(log_mag) * np.real(1j**k)
    exact_b = -np.exp(log_mag) * np.imag(1j**k)  # sigma' = -sin
    assert np.max(np.abs(np.asarray(alpha)[0] - exact_a)) < 2e-13
    assert np.max(np.abs(np.asarray(beta)[0] - exact_b)) < 2e-13
    assert abs(float(e_f[0]) - (1 + math.exp(-2 * t * t)) / 2) < 1e-14  # E[cos^2]


def test_cost_model_prefers_short_series_unless_pairs_would_be_left_over():
    fails = np.zeros(len(mehler.K_CHOICES))
    assert mehler.choose_k(fails, 100, 10_000) == 0
    fails[:3] = [50, 10, 1]  # in a sample of 100 out of 1e6 pairs
    assert mehler.K_CHOICES[mehler.choose_k(fails, 100, 1_000_000)] == 64


def test_second_stage_matches_per_pair_quadrature(monkeypatch):
    # softplus at large variance near criticality: correlations approach 1 and the Hermite
    # coefficients decay slowly, so degree 128 is not enough and the second stage runs
    monkeypatch.setattr(mehler, "STAGE2_PAIRS", 0)
    seen = []
    original = mehler.choose_k

    def spy(fails, sample, total):
        seen.append(fails.size)
        return original(fails, sample, total)

    monkeypatch.setattr(mehler, "choose_k", spy)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 3))
    x = np.concatenate([x, 1.01 * x[:2] + 0.02]) * rng.uniform(2, 6, (10, 1))
    kw = dict(activation="softplus", depth=4, cw=2.0, cb=0.0, dtype="float64")
    a = kernels(x, method="mehler", **kw)
    b = kernels(x, method="quadrature", **kw)
    assert max(seen) == len(mehler.K_CHOICES)
    assert np.max(np.abs(a.nngp - b.nngp) / np.abs(b.nngp).max()) < 1e-11
    assert np.max(np.abs(a.ntk - b.ntk) / np.abs(b.ntk).max()) < 1e-11

"""Normalized Hermite polynomials (spec expander-nets.md section 2)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss, hermeval

from theoryscope.core.hermite import (
    hermite_h,
    hermite_he,
    hermite_product,
    hermite_table,
    hermite_terms,
    target_function,
)


def test_he_matches_numpy_hermite_e():
    z = np.linspace(-4, 4, 41)
    for n in range(11):
        coef = np.zeros(n + 1)
        coef[n] = 1
        np.testing.assert_allclose(hermite_he(n, z), hermeval(z, coef), rtol=1e-12, atol=1e-9)


def test_first_polynomials_by_hand():
    z = np.array([-1.5, 0.0, 0.7, 2.0])
    np.testing.assert_allclose(hermite_h(0, z), 1.0)
    np.testing.assert_allclose(hermite_h(1, z), z)
    np.testing.assert_allclose(hermite_h(2, z), (z**2 - 1) / math.sqrt(2))
    np.testing.assert_allclose(hermite_h(3, z), (z**3 - 3 * z) / math.sqrt(6))


def test_orthonormal_by_gauss_hermite_quadrature():
    nodes, weights = hermegauss(30)  # exact for degree <= 59 under exp(-z^2/2)
    weights = weights / math.sqrt(2 * math.pi)
    table = np.array(hermite_table(10, nodes))  # (11, 30)
    gram = (table * weights) @ table.T
    np.testing.assert_allclose(gram, np.eye(11), atol=1e-10)


def test_table_equals_he_over_sqrt_factorial():
    z = np.linspace(-3, 3, 13)
    for n, h in enumerate(hermite_table(10, z)):
        np.testing.assert_allclose(h, hermite_he(n, z) / math.sqrt(math.factorial(n)), atol=1e-9)


def test_product_and_terms_agree_numpy_and_jax():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((50, 3))
    alphas = np.array([[1, 1, 0], [2, 0, 3], [0, 0, 0]])
    want = np.stack([hermite_product(a, z) for a in alphas], axis=-1)
    np.testing.assert_allclose(want[:, 0], z[:, 0] * z[:, 1])
    np.testing.assert_allclose(want[:, 2], 1.0)
    np.testing.assert_allclose(hermite_terms(alphas, z), want, rtol=1e-12)
    with jax.enable_x64(True):
        got = jax.jit(lambda x: hermite_terms(alphas, x))(jnp.asarray(z))
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12)


def test_multi_index_orthonormal_2d_quadrature():
    nodes, weights = hermegauss(20)
    weights = weights / math.sqrt(2 * math.pi)
    zz = np.stack(np.meshgrid(nodes, nodes, indexing="ij"), -1).reshape(-1, 2)
    ww = np.outer(weights, weights).reshape(-1)
    alphas = np.array([[i, j] for i in range(4) for j in range(4)])
    H = hermite_terms(alphas, zz)
    np.testing.assert_allclose((H * ww[:, None]).T @ H, np.eye(len(alphas)), atol=1e-10)


def test_target_scales_by_gamma():
    x = np.array([[0.1, 0.2], [-0.3, 0.05]])
    gamma = np.array([0.01, 0.04])
    got = target_function([[1, 1]], [2.0], x, gamma)
    np.testing.assert_allclose(got, 2.0 * (x[:, 0] / 0.1) * (x[:, 1] / 0.2))


def test_negative_degree_rejected():
    with pytest.raises(ValueError):
        hermite_he(-1, np.zeros(2))

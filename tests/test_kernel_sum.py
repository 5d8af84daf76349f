"""Kernel sums by Taylor moments with a proven bound vs the direct sum (kernel_sum, spec 4)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theoryscope.experiments.expander import kernel_sum as ks


def _points(k: int, spread: float, d: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((k, d)) * spread, rng.standard_normal(k)


def _dense_K(V: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * ((V[:, None, :] - V[None, :, :]) ** 2).sum(-1))


def test_features_reproduce_exp_of_inner_products():
    V, _ = _points(40, 0.4)
    with jax.enable_x64(True):
        F = np.asarray(ks.features(jnp.asarray(V), 20))
    assert F.shape == (ks.n_features(3, 20), 40)
    np.testing.assert_allclose(F.T @ F, np.exp(V @ V.T), rtol=1e-13)


@pytest.mark.parametrize("k,spread", [(600, 0.1), (1500, 0.2)])
def test_taylor_quadratic_and_products_match_direct_to_1e10(k, spread):
    V, w = _points(k, spread)
    M = np.stack([w, w * V[:, 0], w * V[:, 1], w * V[:, 2]], axis=1)
    K = _dense_K(V)
    q_ref, P_ref = w @ K @ w, K @ M
    deg_q, deg_p = ks.choose_degree(V, w), ks.choose_degree(V, M)
    assert deg_q is not None and deg_p is not None
    with jax.enable_x64(True):
        Vj = jnp.asarray(V)
        q, ok_q = ks.taylor_quadratic(jnp.asarray(w), Vj, deg_q)
        P, ok_p = ks.taylor_products(Vj, jnp.asarray(M), deg_p)
        qd = ks.direct_quadratic(Vj, jnp.asarray(w))
        Pd = ks.direct_products(Vj, jnp.asarray(M))
    assert bool(ok_q) and bool(ok_p)
    assert abs(float(q) - q_ref) <= 1e-10 * abs(q_ref)
    rel = np.abs(np.asarray(P) - P_ref).max(axis=0) / np.abs(P_ref).max(axis=0)
    assert np.all(rel <= 1e-10)
    assert float(qd) == pytest.approx(q_ref, rel=1e-12)
    np.testing.assert_allclose(np.asarray(Pd), P_ref, rtol=1e-12, atol=1e-12)


def test_bound_is_honest_and_fails_when_the_degree_is_too_low():
    """The reported bound covers the actual error; a too-low degree reports failure."""
    k = 400
    V, w = _points(k, 0.6)
    q_ref = w @ _dense_K(V) @ w
    r = np.sqrt((V * V).sum(1))
    with jax.enable_x64(True):
        for n in (2, 4, 8, 14):
            q, ok = ks.taylor_quadratic(jnp.asarray(w), jnp.asarray(V), n)
            bound = (np.abs(w) @ r ** (n + 1)) ** 2 / math.factorial(n + 1)
            assert abs(float(q) - q_ref) <= bound * (1 + 1e-9) + 1e-12 * abs(q_ref)
            assert bool(ok) == (bound <= ks.TAYLOR_RTOL * float(q))
        q, ok = ks.taylor_quadratic(jnp.asarray(w), jnp.asarray(V), 2)
    assert not bool(ok)


def test_direct_quadratic_upper_triangle_blocks_equal_full_sum(monkeypatch):
    V, w = _points(157, 0.8)
    monkeypatch.setattr(ks, "DIRECT_BLOCK_ENTRIES", 30 * 30)  # 6 x 6 blocks, last one padded
    with jax.enable_x64(True):
        q = float(ks.direct_quadratic(jnp.asarray(V), jnp.asarray(w)))
    assert q == pytest.approx(w @ _dense_K(V) @ w, rel=1e-12)


def test_choose_degree_offers_taylor_only_where_cheaper_and_valid():
    V, w = _points(2000, 0.1)
    assert ks.choose_degree(V, w) in ks.TIERS
    wide, _ = _points(2000, 3.0)
    assert ks.choose_degree(wide, w) is None  # spread too large for any offered degree
    small, ws = _points(50, 0.1)
    assert ks.choose_degree(small, ws) is None  # F > k: the direct sum is cheaper
    assert ks.tiers(50, 3) == ()

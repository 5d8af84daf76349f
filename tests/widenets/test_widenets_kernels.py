"""NNGP/NTK recursions (spec 2, 4): exact cases, the three paths, empirical NTK of wide nets."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theoryscope.errors import ConfigError
from theoryscope.experiments.widenets.activations import get_activation
from theoryscope.experiments.widenets.kernels import kernels, propagate_correlation
from theoryscope.experiments.widenets.montecarlo import (
    convergence,
    empirical_ntk,
    init_params,
    network_output,
    sample_networks,
)


def _sphere(n, d, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, d))
    return x * np.sqrt(d) / np.linalg.norm(x, axis=1, keepdims=True)


def test_identity_network_is_linear():
    # identity, C_b = 0: K^(l) = C_w^l x.x'/n0, Theta^(l) = l C_w^(l-1) ... = l K^(l) (spec 4)
    x = np.random.default_rng(1).standard_normal((5, 3))
    res = kernels(x, activation="identity", depth=4, cw=1.3, cb=0.0, dtype="float64")
    k1 = x @ x.T / 3
    assert np.allclose(res.nngp, 1.3**4 * k1, rtol=1e-12)
    assert np.allclose(res.ntk, 4 * 1.3**4 * k1, rtol=1e-12)


def test_relu_he_keeps_variance_and_maps_orthogonal_to_one_over_pi():
    layers = propagate_correlation(1.7, 0.0, activation="relu", cw=2.0, cb=0.0, depth=3)
    assert [r["l"] for r in layers] == [1, 2, 3]
    assert all(abs(r["q"] - 1.7) < 1e-12 for r in layers)
    assert layers[0]["rho"] == 0.0
    assert abs(layers[1]["rho"] - 1 / np.pi) < 1e-12


def test_relu_ntk_diagonal_is_depth_times_nngp():
    x = _sphere(4, 3)
    res = kernels(x, activation="relu", depth=5, cw=2.0, cb=0.0, dtype="float64")
    assert np.allclose(np.diag(res.ntk), 5 * np.diag(res.nngp), rtol=1e-12)


@pytest.mark.parametrize("name", ["relu", "erf"])
def test_closed_and_quadrature_paths_agree(name):
    x = np.random.default_rng(2).standard_normal((5, 3)) * 0.6
    kw = dict(
        activation=name, depth=4, cw=[1.6, 1.2, 1.9, 1.4], cb=[0.1, 0.0, 0.2, 0.05], dtype="float64"
    )
    a = kernels(x, method="closed", **kw)
    b = kernels(x, method="quadrature", **kw)
    assert np.max(np.abs(a.nngp - b.nngp)) < 1e-10
    assert np.max(np.abs(a.ntk - b.ntk)) < 1e-10


def test_table_path_matches_direct_quadrature():
    x = _sphere(6, 4, seed=3)
    kw = dict(activation="tanh", depth=6, cw=1.8, cb=0.1, dtype="float64")
    a = kernels(x, method="table", **kw)
    b = kernels(x, method="quadrature", **kw)
    assert np.max(np.abs(a.nngp - b.nngp)) < 1e-10
    assert np.max(np.abs(a.ntk - b.ntk)) < 1e-10


def test_per_layer_variances_and_their_validation():
    x = _sphere(3, 3)
    a = kernels(x, activation="relu", depth=3, cw=[2.0, 2.0, 2.0], cb=0.0)
    b = kernels(x, activation="relu", depth=3, cw=2.0, cb=[0.0])
    assert np.allclose(a.nngp, b.nngp)
    with pytest.raises(ConfigError, match="cw: has 2 values; allowed: 1 or depth = 3"):
        kernels(x, activation="relu", depth=3, cw=[2.0, 2.0])
    with pytest.raises(ConfigError, match="cb: got -0.1"):
        kernels(x, activation="relu", depth=3, cb=-0.1)
    with pytest.raises(ConfigError, match="depth: got 0"):
        kernels(x, activation="relu", depth=0)
    with pytest.raises(ConfigError, match="rho0"):
        propagate_correlation(1.0, 1.5)


def test_float32_duplicate_and_antipodal_inputs_give_no_nan():
    x = _sphere(3, 5)
    x = np.concatenate([x, x[:1], -x[:1]])  # theta = 0 and theta = pi pairs
    for name in ("relu", "erf", "tanh"):
        res = kernels(x, activation=name, depth=8, cw=2.0 if name == "relu" else 1.5, cb=0.0)
        assert res.nngp.dtype == np.float32
        assert np.all(np.isfinite(res.nngp)) and np.all(np.isfinite(res.ntk))


def test_empirical_ntk_formula_equals_jacobian_product():
    act = get_activation("tanh")
    with jax.enable_x64(True):
        cws, cbs = jnp.asarray([1.5, 1.2, 2.0]), jnp.asarray([0.1, 0.2, 0.3])
        x = jnp.asarray(np.random.default_rng(0).standard_normal((4, 3)))

        @jax.jit
        def both(key):
            p = init_params(key, (3, 7, 5, 1), jnp.float64)
            th = empirical_ntk(p, x, act, cws, cbs)
            jac = jax.jacrev(lambda q: network_output(q, x, act, cws, cbs))(p)
            flat = jnp.concatenate(
                [v.reshape(4, -1) for v in jax.tree_util.tree_leaves(jac)], axis=1
            )
            return th, flat @ flat.T

        th, jj = both(jax.random.PRNGKey(0))
        assert float(jnp.max(jnp.abs(th - jj))) < 1e-12


def test_output_covariance_of_random_nets_matches_nngp():
    x = _sphere(3, 3, seed=4)
    s = sample_networks(
        x, activation="erf", depth=2, width=64, nets=2000, cw=1.5, cb=0.1, seed=1, with_ntk=False
    )
    k = kernels(x, activation="erf", depth=2, cw=1.5, cb=0.1, dtype="float64").nngp
    f = s["outputs"]
    prod = f[:, :, None] * f[:, None, :]
    se = prod.std(axis=0) / np.sqrt(len(f))
    # Monte Carlo noise (4 se) plus an O(1/width) finite-width bias allowance
    assert np.all(np.abs(prod.mean(axis=0) - k) < 4 * se + 0.03 * np.abs(k).max())


def test_empirical_ntk_converges_to_the_ntk_recursion_like_one_over_sqrt_width():
    x = _sphere(3, 3, seed=5)
    res = convergence(
        x, activation="relu", depth=2, widths=(32, 512), nets=8, cw=2.0, cb=0.1, seed=0
    )
    rows = res["rows"]
    assert rows[-1]["ntk_dev"] < 0.1  # width 512: a few percent from Theta^(L)
    assert -0.8 < res["slope_ntk"] < -0.25
    assert -0.8 < res["slope_nngp"] < -0.25

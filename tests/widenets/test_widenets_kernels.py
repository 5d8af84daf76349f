"""NNGP/NTK recursions (spec 2, 4): exact cases, the three paths, empirical NTK of wide nets."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theoryscope.errors import ConfigError
from theoryscope.experiments.widenets.activations import get_activation, rectified_monomial
from theoryscope.experiments.widenets.kernels import (
    kernels,
    propagate_correlation,
    propagate_pairs,
)
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


def _unequal(n, d, seed=0, low=0.3, high=3.0):
    rng = np.random.default_rng(seed)
    return _sphere(n, d, seed) * rng.uniform(low, high, (n, 1))


@pytest.mark.parametrize(
    ("name", "cw", "cb"), [("tanh", 1.5, 0.05), ("softplus", 1.2, 0.1), ("swish", 1.7, 0.0)]
)
def test_series_path_matches_per_pair_quadrature_for_unequal_norms(name, cw, cb):
    # a near-duplicate pair (rho ~ 0.9999) and the diagonal exercise the exact fallback
    x = _unequal(7, 4, seed=11)
    x = np.concatenate([x, 1.3 * x[:1] + 1e-3])
    kw = dict(activation=name, depth=5, cw=cw, cb=cb, dtype="float64", all_layers=True)
    a = kernels(x, method="mehler", **kw)
    b = kernels(x, method="quadrature", **kw)
    assert a.method == "mehler"
    assert np.max(np.abs(a.nngp - b.nngp)) < 1e-10
    assert np.max(np.abs(a.ntk - b.ntk)) < 1e-10


def test_series_path_between_two_sets_and_in_float32():
    x1, x2 = _unequal(6, 3, seed=1), _unequal(4, 3, seed=2, low=0.1, high=5.0)
    kw = dict(activation="tanh", depth=4, cw=2.5, cb=0.2)
    a = kernels(x1, x2, method="mehler", dtype="float64", **kw)
    b = kernels(x1, x2, method="quadrature", dtype="float64", **kw)
    assert a.nngp.shape == (6, 4)
    assert np.max(np.abs(a.ntk - b.ntk)) < 1e-10
    c = kernels(x1, x2, method="mehler", dtype="float32", **kw)
    assert c.ntk.dtype == np.float32
    assert np.max(np.abs(c.ntk - b.ntk)) < 1e-5


def test_auto_picks_the_series_path_for_many_pairs_of_unequal_norms():
    x = _unequal(100, 5, seed=4)  # 10,000 pairs
    res = kernels(x, activation="tanh", depth=3, cw=1.5, cb=0.05, dtype="float64")
    assert res.method == "mehler"
    idx = [0, 17, 42, 99]
    sub = kernels(x[idx], activation="tanh", depth=3, cw=1.5, cb=0.05, dtype="float64")
    assert sub.method == "quadrature"
    assert np.max(np.abs(res.ntk[np.ix_(idx, idx)] - sub.ntk)) < 1e-10
    with pytest.raises(ConfigError, match="method: table needs inputs of equal norm"):
        kernels(x, activation="tanh", depth=3, method="table")


def test_large_variances_against_an_independent_reference(gauss_reference):
    # one layer of spec 2 at variances ~ 1e2 to 1e4: K^(2) = C_b + C_w E[tanh(u) tanh(v)]
    reference = gauss_reference

    q1 = np.array([150.0, 4000.0, 9000.0])
    q2 = np.array([90.0, 7000.0, 30.0])
    c = np.array([0.4, -0.8, 0.999]) * np.sqrt(q1 * q2)
    for method in ("quadrature", "mehler"):
        k, t, _ = propagate_pairs(
            q1,
            q2,
            c,
            activation="tanh",
            cw=[1.0, 2.0],
            cb=[0.0, 0.1],
            depth=2,
            method=method,
            dtype="float64",
        )
        for i in range(3):
            f = reference(math.tanh, q1[i], q2[i], c[i])
            g = reference(
                lambda z: 1.0 / math.cosh(z) ** 2 if abs(z) < 300 else 0.0, q1[i], q2[i], c[i]
            )
            assert abs(k[i] - (0.1 + 2.0 * f)) < 1e-10, (method, i)
            assert abs(t[i] - (0.1 + 2.0 * f + 2.0 * g * c[i])) < 1e-10 * max(1.0, abs(c[i])), (
                method,
                i,
            )


@pytest.mark.parametrize("method", ["closed", "quadrature", "mehler"])
def test_kernel_matrices_of_one_set_are_exactly_symmetric(method):
    x = _unequal(9, 6, seed=8)
    name = "relu" if method == "closed" else "tanh"
    for dtype in ("float32", "float64"):
        res = kernels(x, activation=name, depth=6, cw=2.0, cb=0.1, method=method, dtype=dtype)
        assert np.array_equal(res.nngp, res.nngp.T) and np.array_equal(res.ntk, res.ntk.T)
    again = kernels(x, x.copy(), activation=name, depth=6, cw=2.0, cb=0.1, method=method)
    assert np.array_equal(again.ntk, again.ntk.T)


def test_float32_relu_kernel_of_many_inputs_is_exactly_symmetric():
    x = np.random.default_rng(3).standard_normal((300, 20)).astype(np.float32)
    res = kernels(x, activation="relu", depth=10, cw=2.0, cb=0.05, all_layers=True)
    assert res.ntk.dtype == np.float32
    assert np.array_equal(res.nngp, np.swapaxes(res.nngp, 1, 2))
    assert np.array_equal(res.ntk, np.swapaxes(res.ntk, 1, 2))


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


@pytest.mark.parametrize(
    "act", ["gelu", "abs", rectified_monomial(2)], ids=["gelu", "abs", "relu^2"]
)
def test_new_closed_forms_match_random_finite_width_networks(act):
    # output covariance (NNGP) and mean empirical NTK of many width-512 nets against the closed forms
    x = _sphere(3, 3, seed=6)
    cw = 1.0 if act != "abs" else 0.9
    s = sample_networks(x, activation=act, depth=3, width=512, nets=400, cw=cw, cb=0.1, seed=2)
    inf = kernels(x, activation=act, depth=3, cw=cw, cb=0.1, dtype="float64")
    assert inf.method == "closed"
    f = s["outputs"]
    prod = f[:, :, None] * f[:, None, :]
    se = prod.std(axis=0) / np.sqrt(len(f))
    assert np.all(np.abs(prod.mean(axis=0) - inf.nngp) < 4 * se + 0.03 * np.abs(inf.nngp).max())
    nt = s["ntk"]
    se_t = nt.std(axis=0) / np.sqrt(len(nt))
    assert np.all(np.abs(nt.mean(axis=0) - inf.ntk) < 4 * se_t + 0.03 * np.abs(inf.ntk).max())


def test_empirical_ntk_converges_to_the_ntk_recursion_like_one_over_sqrt_width():
    x = _sphere(3, 3, seed=5)
    res = convergence(
        x, activation="relu", depth=2, widths=(32, 512), nets=8, cw=2.0, cb=0.1, seed=0
    )
    rows = res["rows"]
    assert rows[-1]["ntk_dev"] < 0.1  # width 512: a few percent from Theta^(L)
    assert -0.8 < res["slope_ntk"] < -0.25
    assert -0.8 < res["slope_nngp"] < -0.25

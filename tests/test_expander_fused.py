"""The SGD step's one-pass sigma/sigma' (nonlinearities.sqrt2cos_pair, engine.activations)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theoryscope.experiments.expander import engine
from theoryscope.experiments.expander.nonlinearities import (
    complex_pair,
    shares_work,
    sigma_pair,
    sqrt2cos_pair,
)


@pytest.mark.parametrize("dtype,tol", [("float32", 2.5e-7), ("float64", 1e-15)])
def test_fused_pair_equals_reference_to_rounding(dtype, tol):
    z = np.concatenate([np.linspace(-1e3, 1e3, 200_001), np.linspace(-7, 7, 10_001), [0.0]])
    z = np.concatenate([z, np.arange(-40, 41) * np.pi / 4])  # quadrant boundaries
    with jax.enable_x64(dtype == "float64"):
        zj = jnp.asarray(z, dtype)
        s, ds = jax.jit(sqrt2cos_pair)(zj)
        zr = np.asarray(zj, np.float64)
    assert np.abs(np.asarray(s, np.float64) - (np.cos(zr) - np.sin(zr))).max() < tol
    assert np.abs(np.asarray(ds, np.float64) + (np.cos(zr) + np.sin(zr))).max() < tol


def test_fused_pair_propagates_non_finite_inputs():
    with jax.enable_x64(True):
        s, ds = sqrt2cos_pair(jnp.asarray([np.nan, np.inf, -np.inf]))
    assert np.all(np.isnan(np.asarray(s))) and np.all(np.isnan(np.asarray(ds)))


def test_fused_pair_derivative_is_the_second_derivative():
    with jax.enable_x64(True):
        z = jnp.linspace(-5.0, 5.0, 11)
        d1 = jax.vmap(jax.grad(lambda x: sqrt2cos_pair(x)[0]))(z)
        d2 = jax.vmap(jax.grad(lambda x: sqrt2cos_pair(x)[1]))(z)
        s, ds = sqrt2cos_pair(z)
    np.testing.assert_allclose(np.asarray(d1), np.asarray(ds), atol=1e-15)
    np.testing.assert_allclose(np.asarray(d2), -np.asarray(s), atol=1e-15)  # sigma'' = -sigma


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_one_pass_activations_equal_the_plain_pair(dtype):
    rng = np.random.default_rng(0)
    with jax.enable_x64(dtype == "float64"):
        X = jnp.asarray(rng.standard_normal((13, 3)), dtype)
        UT = jnp.asarray(rng.standard_normal((3, 37)), dtype)
        pair = sigma_pair("sqrt2cos")
        assert shares_work(pair) and not shares_work(sigma_pair("tanh"))
        s, ds = jax.jit(engine.activations, static_argnums=2)(X, UT, pair, jnp.asarray(True))
        s_ref, ds_ref = jax.jit(lambda a, b: sqrt2cos_pair(engine.preactivations(a, b)))(X, UT)
        E = jax.jit(lambda a, b: complex_pair(pair, engine.preactivations(a, b)))(X, UT)
    tol = 1e-6 if dtype == "float32" else 1e-15  # compiled separately: rounding may differ
    for got, ref in ((s, s_ref), (ds, ds_ref), (E.real, s_ref), (E.imag, ds_ref)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(ref), rtol=0, atol=tol)


def test_gate_value_does_not_change_the_step():
    """Both branches of the fusion boundary are the same function: the gate is only a barrier."""
    rng = np.random.default_rng(1)
    with jax.enable_x64(True):
        args = [jnp.asarray(a) for a in (
            np.eye(3) + 0.2 * rng.standard_normal((3, 3)), rng.standard_normal(20),
            rng.standard_normal((20, 3)), 0.4 * rng.standard_normal((9, 3)),
            rng.standard_normal(9),
        )]  # fmt: skip
        f = jax.jit(engine.loss_and_grads, static_argnums=5)
        a = f(*args, sqrt2cos_pair, jnp.asarray(True))
        b = f(*args, sqrt2cos_pair, jnp.asarray(False))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_sgd_records_by_taylor_equal_direct_records_and_are_reported():
    """The engine's record takes W2 K W2^T by Taylor moments at small spread (reported in the
    summary) and its loss equals the direct record's to 1e-10 relative."""
    from theoryscope.experiments.expander.config import Config

    cfg = Config.create(
        k=1200, d=3, batch=20, steps=30, records=5, gamma=0.02, lr=0.05, dtype="float64"
    )
    run = engine.simulate(cfg, seed=0)
    assert run.summary["record_methods"] == {"taylor": len(run.series["step"]), "direct": 0}
    sim = engine._Simulation(cfg, 0, None)
    with jax.enable_x64(True):
        make, advance, record = sim._compiled()
        consts = make(sim._scalars())
        carry = advance(sim._initial_carry(), np.asarray(30, np.int32), consts)
        auto = record(carry, consts)
        direct = record._get(None)(carry, consts)
    a, b = float(auto["loss_population"]), float(direct["loss_population"])
    assert a == pytest.approx(float(run.series["loss_population"][-1]), rel=1e-12)
    assert abs(a - b) <= 1e-10 * abs(b)

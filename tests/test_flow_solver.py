"""The flow's NDF integrator and its structured Newton matrix (flow_solver, population_dynamics)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg as sl
from scipy.integrate import BDF, solve_ivp

from theoryscope.experiments.expander import population_dynamics as pdm
from theoryscope.experiments.expander.config import Config
from theoryscope.experiments.expander.flow_solver import NDF


class _Dense:
    """(I - c J)^{-1} by LU of a dense Jacobian (the classical Newton matrix)."""

    def __init__(self, J: np.ndarray) -> None:
        self.J = J

    def factor(self, c: float):
        lu = sl.lu_factor(np.eye(len(self.J)) - c * self.J)

        class Solve:
            def solve(self, b):
                return sl.lu_solve(lu, b)

        return Solve()


def _robertson(t, y):
    return np.array(
        [
            -0.04 * y[0] + 1e4 * y[1] * y[2],
            0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
            3e7 * y[1] ** 2,
        ]
    )


def _robertson_jac(t, y):
    return np.array(
        [
            [-0.04, 1e4 * y[2], 1e4 * y[1]],
            [0.04, -1e4 * y[2] - 6e7 * y[1], -1e4 * y[1]],
            [0.0, 6e7 * y[1], 0.0],
        ]
    )


def test_ndf_takes_scipy_bdf_steps_and_its_dense_output_is_accurate():
    y0 = np.array([1.0, 0.0, 0.0])
    ours = NDF(
        _robertson, 0.0, y0, 1e4, jac=lambda t, y: _Dense(_robertson_jac(t, y)), rtol=1e-6,
        atol=1e-10,
    )  # fmt: skip
    ts = np.geomspace(1e-4, 1e4, 40)
    got, i = [], 0
    while ours.status == "running":
        ours.step()
        dense = ours.dense_output()
        while i < len(ts) and ts[i] <= ours.t:
            got.append(dense(ts[i]))
            i += 1
    ref = BDF(_robertson, 0.0, y0, 1e4, jac=_robertson_jac, rtol=1e-6, atol=1e-10)
    while ref.status == "running":
        ref.step()
    assert ours.status == "finished"
    np.testing.assert_allclose(ours.y, ref.y, rtol=1e-9, atol=1e-14)  # the same NDF steps
    assert ours.nfev == ref.nfev
    exact = solve_ivp(
        _robertson, (0, 1e4), y0, method="Radau", rtol=1e-11, atol=1e-15, t_eval=ts,
        jac=_robertson_jac,
    ).y.T  # fmt: skip
    err = np.abs(np.array(got) - exact) / (1e-10 + 1e-6 * np.abs(exact))
    assert err.max() < 30  # dense output within a few tolerances everywhere


def test_structured_newton_matrix_solves_like_the_dense_one_when_nystrom_is_exact():
    """With as many Nystrom probes as points the low-rank K is exact; the structured solve of
    (I - c W) then equals the dense LU solve with the true Jacobian (up to the forward
    differences of the W1 columns)."""
    cfg = Config.create(k=30, d=2, gamma=0.3, alpha=[(1, 1)], mode="flow", t_eff=1.0)
    with jax.enable_x64(True):
        flow = pdm._Flow(cfg, 0)
        rng = np.random.default_rng(0)
        W1 = np.eye(2) + 0.3 * rng.standard_normal((2, 2))
        W2 = 0.5 * rng.standard_normal(30)
        y = np.concatenate([W1.reshape(-1), W2])
        p = flow.p
        J = np.asarray(
            pdm.flow_jacobian(jnp.asarray(W1), jnp.asarray(W2), p.W_froz, p.gamma, p.alphas,
                              p.coefs)
        )  # fmt: skip
        W = flow.jac(y)
    b = rng.standard_normal(len(y))
    for c in (0.1, 10.0, 1e3):
        x = W.factor(c).solve(b)
        ref = np.linalg.solve(np.eye(len(y)) - c * J, b)
        np.testing.assert_allclose(x, ref, rtol=1e-5, atol=1e-6 * np.abs(ref).max())


def test_structured_flow_equals_dense_bdf_flow_on_a_small_case():
    """The new flow (NDF + structured Newton + Taylor/direct kernel sums) against SciPy's BDF with
    the dense exact Jacobian on the same right-hand side: same trajectory within tolerance."""
    cfg = Config.create(k=40, d=2, gamma=0.2, alpha=[(1, 1)], mode="flow", t_eff=40.0, records=25)
    run = pdm.simulate_population(cfg, seed=2)
    t = run.series["t_eff"]
    with jax.enable_x64(True):
        p = pdm._Problem(cfg, 2, jnp.float64)

        def fun(_, y):
            return np.asarray(pdm._flow_rhs(y, *p.consts, alphas=p.key)[0])

        def jac(_, y):
            W1, W2 = y[:4].reshape(2, 2), y[4:]
            return np.asarray(
                pdm.flow_jacobian(jnp.asarray(W1), jnp.asarray(W2), p.W_froz, p.gamma,
                                  p.alphas, p.coefs)
            )  # fmt: skip

        y0 = np.concatenate([np.eye(2).reshape(-1), np.zeros(40)])
        ref = solve_ivp(fun, (0, t[-1]), y0, method="BDF", jac=jac, rtol=1e-9, atol=1e-12,
                        t_eval=t)  # fmt: skip
        losses = [float(p.row(0, jnp.asarray(y[:4].reshape(2, 2)), jnp.asarray(y[4:]))
                        ["loss_population"]) for y in ref.y.T]  # fmt: skip
    np.testing.assert_allclose(run.series["loss_population"], losses, rtol=2e-4, atol=1e-6)
    np.testing.assert_allclose(
        run.series["W1"][-1], ref.y[:4, -1].reshape(2, 2), rtol=1e-3, atol=1e-5
    )
    assert run.summary["solver"].startswith("NDF")


@pytest.mark.parametrize("k", [200])
def test_flow_records_by_taylor_equal_direct_records(k):
    """A record's loss by Taylor moments equals the direct one to 1e-10 relative."""
    cfg = Config.create(k=k, d=3, gamma=0.02, alpha=[(1, 0, 0)], mode="flow", t_eff=1.0)
    with jax.enable_x64(True):
        p = pdm._Problem(cfg, 0, jnp.float64)
        rng = np.random.default_rng(1)
        W1 = jnp.asarray(np.eye(3) + 0.1 * rng.standard_normal((3, 3)))
        W2 = jnp.asarray(rng.standard_normal(k) / k)
        args = (W1, W2, *p.consts)
        direct = pdm._record(*args, alphas=p.key, degree=None)
        taylor = pdm._record(*args, alphas=p.key, degree=14)
    assert bool(taylor["taylor_ok"])
    a, b = float(direct["loss_population"]), float(taylor["loss_population"])
    assert abs(a - b) <= 1e-10 * abs(a)

"""The problems' gradients and Hessian-vector products against finite differences, and the
Bernoulli batch gradient's mean and covariance against the lecture's formulas."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theoryscope.experiments.sgdnoise import problems


@pytest.fixture(scope="module")
def mlp():
    x, y = problems.mlp_data(3, 20, 0.3, seed=0)
    theta0 = problems.mlp_init(np.random.default_rng(1), 3, 5)
    with jax.enable_x64(True):
        yield problems.mlp_problem(x, y, 5, 0.01, theta0, jnp.float64), theta0


def test_mlp_gradient_and_hvp_match_finite_differences(mlp):
    problem, theta0 = mlp
    rng = np.random.default_rng(2)
    v = rng.standard_normal(len(theta0))
    eps = 1e-5
    with jax.enable_x64(True):
        theta = jnp.asarray(theta0 + 0.1 * rng.standard_normal(len(theta0)))
        grad, hv = problems.hvp(problem.loss, theta, jnp.asarray(v))
        jitted = jax.jit(problem.loss)
        loss = lambda t: float(jitted(jnp.asarray(t)))  # noqa: E731
        grad_fd = np.array([(loss(theta + eps * e) - loss(theta - eps * e)) / (2 * eps)
                            for e in np.eye(len(theta0))])  # fmt: skip
        g = jax.grad(problem.loss)
        hv_fd = (g(theta + eps * v) - g(theta - eps * v)) / (2 * eps)
    np.testing.assert_allclose(np.asarray(grad), grad_fd, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(np.asarray(hv), np.asarray(hv_fd), rtol=1e-6, atol=1e-8)


def test_linreg_hvp_is_the_exact_hessian_times_v():
    x, y, _ = problems.linreg_data(5, 30, 0.5, seed=3)
    lam = 0.1
    v = np.random.default_rng(4).standard_normal(5)
    with jax.enable_x64(True):
        problem = problems.linreg_problem(x, y, lam, jnp.float64)
        theta = jnp.asarray(np.random.default_rng(5).standard_normal(5))
        grad, hv = problems.hvp(problem.loss, theta, jnp.asarray(v))
    a = x.T @ x / 30 + lam * np.eye(5)
    np.testing.assert_allclose(np.asarray(hv), a @ v, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(grad), a @ np.asarray(theta) - x.T @ y / 30, rtol=1e-12)
    theta_star = problems.linreg_minimizer(x, y, lam)
    np.testing.assert_allclose(a @ theta_star, x.T @ y / 30, rtol=1e-12)


def test_bernoulli_batch_gradient_mean_and_covariance():
    """E_B g_B = grad L and Cov_B g_B = ((1 - p)/(|B| m)) sum_k r_k^2 x_k x_k^T (lecture 11/16:
    each example in B independently with probability p = |B|/m, L_B = (1/|B|) sum_{k in B} l_k)."""
    m, d, p = 24, 3, 0.25
    x, y, _ = problems.linreg_data(d, m, 0.5, seed=6)
    with jax.enable_x64(True):
        problem = problems.linreg_problem(x, y, 0.0, jnp.float64)
        theta = jnp.asarray(np.random.default_rng(7).standard_normal(d))
        keys = jax.random.split(jax.random.PRNGKey(8), 200_000)
        g = np.asarray(jax.vmap(lambda k: problem.batch_grad(theta, k, jnp.float64(p)))(keys))
    r = x @ np.asarray(theta) - y
    grad = x.T @ r / m
    cov = (1 - p) / (p * m * m) * (x.T * r**2) @ x
    se = np.sqrt(np.diag(cov) / len(g))
    assert np.all(np.abs(g.mean(axis=0) - grad) < 4 * se)
    np.testing.assert_allclose(np.cov(g.T), cov, rtol=0.03, atol=0.03 * np.abs(cov).max())


def test_mlp_minimum_has_zero_gradient(mlp):
    problem, theta0 = mlp
    x, y = problems.mlp_data(3, 20, 0.3, seed=0)
    theta_min = problems.mlp_minimum(x, y, 5, 0.01, theta0)
    with jax.enable_x64(True):
        grad = np.asarray(jax.grad(problem.loss)(jnp.asarray(theta_min)))
    assert np.linalg.norm(grad) < 1e-7

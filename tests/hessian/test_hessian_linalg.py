"""HVPs against finite differences and the dense Hessian; Lanczos and SLQ against eigh."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hessian_helpers import tiny_problem
from scipy.integrate import trapezoid
from scipy.stats import wasserstein_distance

from theoryscope.experiments.hessian import linalg, model


@pytest.fixture(scope="module")
def problem():
    with jax.enable_x64(True):
        theta, x, onehot, y, dims = tiny_problem("ce")
        loss = model.make_loss(x, onehot, dims, "tanh", "ce")
        dense = linalg.dense_hessian(loss, theta)
        yield theta, loss, dense


def test_hvp_matches_central_differences_and_the_dense_hessian(problem):
    theta, loss, dense = problem
    with jax.enable_x64(True):
        rng = np.random.default_rng(0)
        v = jnp.asarray(linalg.random_unit(rng, theta.shape[0]))
        hv = np.asarray(linalg.hvp(loss, theta, v))
        grad = jax.grad(loss)
        eps = 1e-5
        fd = (np.asarray(grad(theta + eps * v)) - np.asarray(grad(theta - eps * v))) / (2 * eps)
    scale = np.linalg.norm(hv)
    assert np.linalg.norm(hv - fd) / scale < 1e-7  # central differences: O(eps^2) + round-off
    assert np.linalg.norm(hv - dense @ np.asarray(v)) / scale < 1e-12


def test_lanczos_top_eigenvalues_match_dense_to_1e_minus_6(problem):
    theta, loss, dense = problem
    exact = np.linalg.eigvalsh(dense)[::-1]
    p = theta.shape[0]
    with jax.enable_x64(True):
        v0 = jnp.asarray(linalg.random_unit(np.random.default_rng(1), p))
        run = jax.jit(
            lambda v: linalg.top_eigenpairs(lambda u: linalg.hvp(loss, theta, u), v, 40, 5)
        )
        vals, vecs = run(v0)
    vals, vecs = np.asarray(vals), np.asarray(vecs)
    assert p > 40  # a genuine Krylov truncation, not the full space
    np.testing.assert_allclose(vals, exact[:5], rtol=1e-6)
    # Ritz vectors are eigenvectors: ||H u - lambda u|| small
    residual = np.linalg.norm(dense @ vecs - vecs * vals, axis=0) / np.abs(vals)
    assert np.all(residual < 1e-4)


def test_lanczos_survives_a_low_rank_operator():
    """rank 3 in R^40: the Krylov space breaks down after 3 steps; restarts keep T exact."""
    rng = np.random.default_rng(2)
    with jax.enable_x64(True):
        f = rng.standard_normal((40, 3))
        a = f @ f.T
        alphas, betas, basis = jax.jit(
            lambda v: linalg.lanczos(lambda u: jnp.asarray(a) @ u, v, 40)
        )(jnp.asarray(linalg.random_unit(rng, 40)))
    t = np.diag(alphas) + np.diag(betas[:-1], 1) + np.diag(betas[:-1], -1)
    ritz = np.sort(np.linalg.eigvalsh(t))
    assert np.all(np.isfinite(ritz))
    np.testing.assert_allclose(ritz, np.sort(np.linalg.eigvalsh(a)), atol=1e-10)
    b = np.asarray(basis)
    np.testing.assert_allclose(b @ b.T, np.eye(40), atol=1e-10)


def test_slq_density_integrates_to_one_and_matches_the_dense_spectrum(problem):
    theta, loss, dense = problem
    exact = np.linalg.eigvalsh(dense)
    p = theta.shape[0]
    rng = np.random.default_rng(3)
    probes = np.stack([linalg.random_unit(rng, p) for _ in range(10)])
    with jax.enable_x64(True):
        density = linalg.slq(lambda u: linalg.hvp(loss, theta, u), probes, 30, dtype=jnp.float64)
    np.testing.assert_allclose(density.weights.sum(axis=1), 1.0, rtol=1e-12)
    assert trapezoid(density.density, density.grid) == pytest.approx(1.0, abs=1e-3)
    span = exact[-1] - exact[0]
    w1 = wasserstein_distance(density.nodes.ravel(), exact, u_weights=density.weights.ravel())
    assert w1 / span < 0.02  # the docs' tolerance (measured ~0.005 here)
    # the quadrature's first moment is tr(H)/P exactly in expectation; within sampling error
    mean = float(np.sum(density.nodes * density.weights) / len(probes))
    assert mean == pytest.approx(exact.mean(), abs=0.3 * exact.std())


def test_subspace_overlap_is_one_for_the_same_span_and_zero_for_orthogonal_spans():
    rng = np.random.default_rng(4)
    q, _ = np.linalg.qr(rng.standard_normal((30, 6)))
    a, b = q[:, :3], q[:, 3:]
    mix = a @ rng.standard_normal((3, 3))
    assert linalg.subspace_overlap(a, mix) == pytest.approx(1.0, abs=1e-12)
    assert linalg.subspace_overlap(a, b) == pytest.approx(0.0, abs=1e-12)
    assert linalg.subspace_overlap(a, np.concatenate([a[:, :1], b[:, :2]], axis=1)) == (
        pytest.approx(1.0 / 3.0, abs=1e-12)
    )

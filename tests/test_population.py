"""Exact population quantities (spec expander-nets.md section 4) against Monte Carlo."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theoryscope.core.hermite import hermite_terms
from theoryscope.experiments.expander import population as pop

N_MC = 2_000_000
GAMMA = np.array([0.3, 0.5, 0.2])


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(1)
    d, k = 3, 12
    W1 = np.eye(d) + 0.4 * rng.standard_normal((d, d))
    W_froz = rng.standard_normal((k, d))
    W2 = rng.standard_normal(k) / np.sqrt(k)
    alphas = np.array([[1, 1, 0], [2, 0, 1], [0, 3, 0], [0, 0, 0]])
    coefs = np.array([1.0, 0.5, -0.7, 0.3])
    X = rng.standard_normal((N_MC, d)) * np.sqrt(GAMMA)
    U = W_froz @ W1
    Z = X @ U.T
    S = np.cos(Z) - np.sin(Z)  # (N, k)
    H = hermite_terms(alphas, X / np.sqrt(GAMMA))  # (N, m)
    return dict(W1=W1, W_froz=W_froz, W2=W2, alphas=alphas, coefs=coefs, U=U, S=S, H=H)


def _close_to_mc(exact, samples, n_se=4.5):
    mean = samples.mean(axis=0)
    se = samples.std(axis=0) / np.sqrt(samples.shape[0])
    assert np.all(np.abs(np.asarray(exact) - mean) <= n_se * se + 1e-12), (exact, mean, se)


def test_kernel_matches_monte_carlo(problem):
    with jax.enable_x64(True):
        K = np.asarray(pop.kernel_matrix(jnp.asarray(problem["U"]), GAMMA))
    S = problem["S"]
    for j, jj in [(0, 1), (2, 5), (3, 3), (7, 11)]:
        _close_to_mc(K[j, jj], S[:, j] * S[:, jj])
    np.testing.assert_allclose(np.diag(K), 1.0)


def test_term_overlaps_match_monte_carlo(problem):
    with jax.enable_x64(True):
        b = np.asarray(pop.term_overlaps(jnp.asarray(problem["U"]), problem["alphas"], GAMMA))
    assert b.shape == (4, 12)
    S, H = problem["S"], problem["H"]
    for j in range(4):
        for col in (0, 5, 11):
            _close_to_mc(b[j, col], H[:, j] * S[:, col])


def test_term_overlap_signs_by_order():
    # u along a single axis: b = s_n v^n / sqrt(n!) exp(-v^2/2) for alpha = (n,)
    v = 0.8
    with jax.enable_x64(True):
        for n, sign in zip(range(8), [1, -1, -1, 1, 1, -1, -1, 1], strict=True):
            b = pop.term_overlaps(jnp.asarray([[v]]), np.array([[n]]), np.array([1.0]))
            expected = (
                sign * v**n / np.sqrt(float(np.prod(np.arange(1, n + 1)))) * np.exp(-v * v / 2)
            )
            np.testing.assert_allclose(float(b[0, 0]), expected, rtol=1e-12)


def test_population_loss_matches_monte_carlo(problem):
    p = problem
    with jax.enable_x64(True):
        L = float(
            pop.population_loss(p["W1"], p["W2"], p["W_froz"], GAMMA, p["alphas"], p["coefs"])
        )
    f = p["S"] @ p["W2"]
    y = p["H"] @ p["coefs"]
    _close_to_mc(L, 0.5 * (y - f) ** 2)


class StaticAlphas(np.ndarray):
    """A hashable NumPy array, so alphas can be a static jit argument (static degrees)."""

    def __new__(cls, a):
        return np.asarray(a).view(cls)

    def __hash__(self):
        return hash(self.tobytes())

    def __eq__(self, other):
        return np.array_equal(np.asarray(self), np.asarray(other))


def test_blocked_equals_unblocked_loss_and_grad(problem, monkeypatch):
    p = problem
    rng = np.random.default_rng(3)
    k = 37
    W_froz = rng.standard_normal((k, 3))
    W2 = rng.standard_normal(k) / k
    args = (p["W1"], W2, W_froz, GAMMA, p["alphas"], p["coefs"])

    def unblocked(W1, W2, W_froz, gamma, alphas, coefs):
        U = W_froz @ W1
        b = coefs @ pop.term_overlaps(U, alphas, gamma)
        K = pop.kernel_matrix(U, gamma)
        return 0.5 * (jnp.sum(coefs**2) - 2 * W2 @ b + W2 @ K @ W2)

    with jax.enable_x64(True):
        vg = jax.jit(jax.value_and_grad(unblocked, argnums=(0, 1)), static_argnums=4)
        want, gw = vg(*args[:4], StaticAlphas(p["alphas"]), args[5])
        monkeypatch.setattr(pop, "BLOCK_ENTRIES", 5 * k)  # 5 rows a block, last one padded
        assert pop.block_size(k) == 5
        vg = jax.jit(jax.value_and_grad(pop.population_loss, argnums=(0, 1)), static_argnums=4)
        got, gg = vg(*args[:4], StaticAlphas(p["alphas"]), args[5])
    assert abs(float(got) - float(want)) < 1e-12
    np.testing.assert_allclose(np.asarray(gg[0]), np.asarray(gw[0]), atol=1e-12)
    np.testing.assert_allclose(np.asarray(gg[1]), np.asarray(gw[1]), atol=1e-12)


def test_traced_alphas_equal_static(problem):
    p = problem
    with jax.enable_x64(True):
        f = jax.jit(pop.population_loss)
        traced = float(f(p["W1"], p["W2"], p["W_froz"], GAMMA, p["alphas"], p["coefs"]))
        fs = jax.jit(pop.population_loss, static_argnums=4)
        static = float(
            fs(p["W1"], p["W2"], p["W_froz"], GAMMA, StaticAlphas(p["alphas"]), p["coefs"])
        )
        g = jax.jit(pop.population_grad)(
            p["W1"], p["W2"], p["W_froz"], GAMMA, jnp.asarray(p["alphas"]), p["coefs"]
        )
    assert abs(traced - static) < 1e-12
    assert all(np.all(np.isfinite(np.asarray(x))) for x in g)


def test_gradient_matches_finite_differences(problem):
    p = problem
    with jax.enable_x64(True):
        args = [jnp.asarray(p[n]) for n in ("W1", "W2", "W_froz")]
        g1, g2 = jax.jit(pop.population_grad)(*args, GAMMA, p["alphas"], p["coefs"])
        jl = jax.jit(pop.population_loss)
        loss = lambda W1, W2: float(jl(W1, W2, args[2], GAMMA, p["alphas"], p["coefs"]))  # noqa: E731
        h = 1e-6
        E = np.zeros((3, 3))
        E[1, 2] = h
        fd = (loss(args[0] + E, args[1]) - loss(args[0] - E, args[1])) / (2 * h)
        assert abs(fd - float(g1[1, 2])) < 1e-7
        e = np.zeros(12)
        e[4] = h
        fd = (loss(args[0], args[1] + e) - loss(args[0], args[1] - e)) / (2 * h)
        assert abs(fd - float(g2[4])) < 1e-7


def test_monte_carlo_fallback_approximates_exact(problem):
    p = problem
    with jax.enable_x64(True):
        key = jax.random.key(0)
        X = pop.holdout_sample(key, 200_000, GAMMA, jnp.float64)
        y, H = pop.holdout_targets(X, GAMMA, p["alphas"], p["coefs"])
        sig = lambda z: jnp.cos(z) - jnp.sin(z)  # noqa: E731
        mc = jax.jit(pop.mc_population, static_argnums=6)
        L_mc, ov_mc = mc(p["W1"], p["W2"], p["W_froz"], X, y, H, sig)
        L = float(
            pop.population_loss(p["W1"], p["W2"], p["W_froz"], GAMMA, p["alphas"], p["coefs"])
        )
        ov = np.asarray(pop.population_overlaps(p["W1"], p["W2"], p["W_froz"], GAMMA, p["alphas"]))
    assert abs(float(L_mc) - L) < 0.02 * L
    np.testing.assert_allclose(np.asarray(ov_mc), ov, atol=0.01)


def test_mc_predictions_blocked_equal_direct(monkeypatch):
    rng = np.random.default_rng(5)
    W1, W_froz, W2 = np.eye(2), rng.standard_normal((7, 2)), rng.standard_normal(7)
    X = rng.standard_normal((23, 2))
    want = np.tanh(X @ (W_froz @ W1).T) @ W2
    monkeypatch.setattr(pop, "BLOCK_ENTRIES", 4 * 7)
    with jax.enable_x64(True):
        got = np.asarray(pop.mc_predictions(W1, W2, W_froz, X, jnp.tanh))
    np.testing.assert_allclose(got, want, rtol=1e-12)

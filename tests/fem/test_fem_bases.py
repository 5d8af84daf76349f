"""The two bases of V_h: exact Gram matrices against quadrature, the tridiagonal mass matrix,
the change of basis, the FE condition-number bounds and the accurate ReLU conditioning."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from theoryscope.experiments.fem import bases
from theoryscope.experiments.fem.mesh import make_nodes
from theoryscope.experiments.fem.quadrature import mesh_rule
from theoryscope.experiments.fem.targets import get_target
from theoryscope.experiments.spectral.gram import talk_kernel


def _psi(basis, nodes, i):
    return lambda s: float(bases.features(basis, np.array([s]), nodes)[0, i])


@pytest.mark.parametrize("basis", ["relu", "fe"])
def test_gram_closed_form_matches_adaptive_quadrature(basis):
    nodes = make_nodes("random", 9, seed=11)
    g = bases.gram(basis, nodes)
    for i, j in [(0, 0), (0, 8), (2, 5), (4, 4), (7, 8), (8, 8), (3, 4)]:
        pi, pj = _psi(basis, nodes, i), _psi(basis, nodes, j)
        val = quad(lambda s, pi=pi, pj=pj: pi(s) * pj(s), -1.0, 1.0, points=nodes[1:-1], epsabs=1e-14,
                   epsrel=1e-13, limit=200)[0]  # fmt: skip
        assert abs(g[i, j] - val) <= 1e-12 * max(1.0, abs(val)), (i, j)


@pytest.mark.parametrize("basis", ["relu", "fe"])
def test_gram_closed_form_matches_gauss_rule_on_every_entry(basis):
    # per element the product of two basis functions is a quadratic: 3 Gauss points are exact
    nodes = make_nodes("random", 40, seed=5)
    rule = mesh_rule(nodes, order=3)
    a = bases.features(basis, rule.x, nodes)
    gq = (a * rule.w[:, None]).T @ a
    g = bases.gram(basis, nodes)
    assert np.max(np.abs(g - gq)) <= 1e-12 * np.max(np.abs(g))


def test_hat_gram_is_the_tridiagonal_mass_matrix():
    nodes = make_nodes("random", 12, seed=2)
    h = np.diff(nodes)
    m = bases.gram("fe", nodes)
    assert np.allclose(np.diag(m), np.r_[h, 0] / 3 + np.r_[0, h] / 3, rtol=0, atol=1e-15)
    assert np.allclose(np.diag(m, 1), h / 6, rtol=0, atol=1e-15)
    assert np.all(np.triu(m, 2) == 0) and np.all(np.tril(m, -2) == 0)
    # uniform mesh: (h/6) tridiag(1, 4, 1) inside, h/3 at the two ends
    u = bases.mass_matrix(np.linspace(-1, 1, 6))
    step = 0.4
    assert np.allclose(u[2, 1:4], [step / 6, 4 * step / 6, step / 6], atol=1e-15)
    assert u[0, 0] == pytest.approx(step / 3) and u[-1, -1] == pytest.approx(step / 3)
    ab = bases.mass_banded(nodes)
    assert np.allclose(ab[1], np.diag(m)) and np.allclose(ab[0, 1:], np.diag(m, 1))


def test_relu_gram_is_the_talks_kernel_and_factors_through_the_mass_matrix():
    nodes = make_nodes("uniform", 11)
    g = bases.gram("relu", nodes)
    # the ramps sigma(x - b_i), i < n, have the talk's kernel G(b_i, b_j)
    b = nodes[:-1]
    assert np.allclose(g[:-1, :-1], talk_kernel(b[:, None], b[None, :]), rtol=1e-13, atol=1e-15)
    t = bases.change_of_basis(nodes)
    m = bases.mass_matrix(nodes)
    assert np.max(np.abs(g - t.T @ m @ t)) <= 1e-13 * np.max(np.abs(g))


def test_both_bases_span_the_same_space():
    nodes = make_nodes("random", 15, seed=9)
    x = np.random.default_rng(0).uniform(-1, 1, 500)
    relu = bases.features("relu", x, nodes)
    hats = bases.features("fe", x, nodes)
    # psi_i = sum_k T_ki phi_k exactly, and T is invertible
    assert np.max(np.abs(relu - hats @ bases.change_of_basis(nodes))) < 1e-14
    assert np.linalg.matrix_rank(bases.change_of_basis(nodes)) == 15


@pytest.mark.parametrize("kind, seed", [("uniform", 0), ("adaptive", 0), ("random", 1),
                                        ("random", 2), ("random", 3)])  # fmt: skip
def test_fe_condition_number_lies_in_its_two_sided_bound(kind, seed):
    nodes = make_nodes(kind, 60, seed=seed)
    lo, hi = bases.fe_bounds(nodes)
    cond = np.linalg.cond(bases.mass_matrix(nodes))
    h = np.diff(nodes)
    assert lo * (1 - 1e-12) <= cond <= hi * (1 + 1e-12)
    assert cond <= 6 * h.max() / h.min()
    assert bases.condition_number("fe", nodes) == pytest.approx(cond, rel=1e-10)


def test_accurate_relu_spectrum_matches_dense_eigenvalues_where_those_are_accurate():
    nodes = make_nodes("random", 20, seed=4)
    g = bases.gram("relu", nodes)
    lam = np.linalg.eigvalsh(g)[::-1]
    spec = bases.spectrum("relu", nodes)
    assert lam[0] / lam[-1] < 1e9  # dense eigvalsh is accurate here
    assert np.allclose(spec.eigenvalues, lam, rtol=1e-6)
    assert bases.condition_number("relu", nodes) == pytest.approx(lam[0] / lam[-1], rel=1e-6)
    # beyond 1/eps the factor still resolves it: cond grows past 1e16 smoothly on a grid
    c1 = bases.condition_number("relu", make_nodes("uniform", 2048 // 8))
    c2 = bases.condition_number("relu", make_nodes("uniform", 2048 // 4))
    assert 15.5 < c2 / c1 < 16.5  # n^4 doubling


def test_fe_loads_and_norm_match_adaptive_quadrature():
    target = get_target("arctan")
    nodes = make_nodes("adaptive", 30)
    loads = bases.loads(target, nodes)
    for k in (0, 7, 15, 29):
        phi = _psi("fe", nodes, k)
        lo, hi = nodes[max(k - 1, 0)], nodes[min(k + 1, 29)]
        val = quad(lambda s, phi=phi: np.arctan(25 * s) * phi(s), lo, hi, points=[nodes[k]],
                   epsabs=1e-15, epsrel=1e-13)[0]  # fmt: skip
        assert loads.fe[k] == pytest.approx(val, rel=1e-11, abs=1e-14)
    # ||arctan(25 x)||^2 = 2 int_0^1 (even integrand), split where it bends
    ref = 2 * sum(quad(lambda s: np.arctan(25 * s) ** 2, a, b, epsabs=1e-14, epsrel=1e-13)[0]
                  for a, b in ((0, 0.1), (0.1, 1)))  # fmt: skip
    assert loads.norm2 == pytest.approx(ref, rel=1e-12)


def test_relu_loads_are_the_change_of_basis_of_the_fe_loads():
    target = get_target("gauss")
    nodes = make_nodes("random", 25, seed=8)
    fe = bases.loads(target, nodes).fe
    rule = mesh_rule(nodes)
    direct = bases.features("relu", rule.x, nodes).T @ (rule.w * target.f(rule.x))
    assert np.allclose(bases.basis_load("relu", nodes, fe), direct, rtol=1e-12, atol=1e-15)


def test_evaluate_agrees_with_the_feature_matrix_and_rounds_in_float32():
    nodes = make_nodes("uniform", 9)
    a = np.random.default_rng(1).normal(size=9)
    x = np.linspace(-1, 1, 101)
    for basis in ("relu", "fe"):
        exact = bases.features(basis, x, nodes) @ a
        assert np.allclose(bases.evaluate(basis, nodes, a, x), exact, atol=1e-14)
        h32 = bases.evaluate(basis, nodes, a, x, "float32")
        assert 0 < np.max(np.abs(h32 - exact)) < 1e-5

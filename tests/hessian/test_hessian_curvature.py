"""The Gauss-Newton split H = G + E and Papyan's class / cross-class decomposition of G."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hessian_helpers import tiny_problem

from theoryscope.experiments.hessian import curvature as cv
from theoryscope.experiments.hessian import linalg, model


@pytest.fixture(scope="module", params=["ce", "mse"])
def parts(request):
    kind = request.param
    with jax.enable_x64(True):
        theta, x, onehot, y, dims = tiny_problem(kind)
        loss = model.make_loss(x, onehot, dims, "tanh", kind)
        logit_fn = model.make_logit_fn(x, dims, "tanh")
        h = linalg.dense_hessian(loss, theta)
        g_jhj = cv.dense_gauss_newton(logit_fn, theta, kind)
        g_lin = linalg.dense_hessian(cv.linearized_loss(logit_fn, theta, onehot, kind), theta)
        e = linalg.dense_hessian(cv.residual_loss(logit_fn, theta, onehot, kind), theta)
        pieces = cv.dense_parts(logit_fn, theta, onehot, kind)
        structure = cv.class_structure(logit_fn, theta, onehot, kind)
        yield {"kind": kind, "theta": theta, "x": x, "onehot": onehot, "y": y, "dims": dims,
               "loss": loss, "logit_fn": logit_fn, "h": h, "g_jhj": g_jhj, "g_lin": g_lin,
               "e": e, "pieces": pieces, "structure": structure}  # fmt: skip


def _rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def test_gauss_newton_two_ways_agree(parts):
    """J^T H_out J (explicit Jacobian) = Hessian of the linearized model's loss."""
    assert _rel(parts["g_jhj"], parts["g_lin"]) < 1e-12


def test_g_plus_e_is_the_hessian(parts):
    """E from the residual term alone (independent of G and H) closes the split."""
    assert _rel(parts["g_lin"] + parts["e"], parts["h"]) < 1e-12
    # G is positive semidefinite (a second moment); E is not in general
    assert np.linalg.eigvalsh(parts["g_lin"])[0] > -1e-12 * np.abs(parts["g_lin"]).max()


def test_matrix_free_products_match_the_dense_matrices(parts):
    with jax.enable_x64(True):
        theta, logit_fn, onehot, kind = (parts[k] for k in ("theta", "logit_fn", "onehot", "kind"))
        v = jnp.asarray(linalg.random_unit(np.random.default_rng(0), theta.shape[0]))
        vn = np.asarray(v)
        gv = np.asarray(cv.gn_matvec(logit_fn, theta, kind)(v))
        gv_lin = np.asarray(cv.gn_matvec_linearized(logit_fn, theta, onehot, kind)(v))
        ev = np.asarray(cv.e_matvec(logit_fn, theta, onehot, kind)(v))
        within = np.asarray(cv.within_matvec(logit_fn, theta, onehot, kind,
                                             parts["structure"].g_ck)(v))  # fmt: skip
        same = np.asarray(cv.same_matvec(logit_fn, theta, onehot, kind)(v))
    assert _rel(gv, parts["g_jhj"] @ vn) < 1e-12
    assert _rel(gv_lin, parts["g_jhj"] @ vn) < 1e-12
    assert _rel(ev, parts["e"] @ vn) < 1e-10
    assert _rel(within, parts["pieces"]["within"] @ vn) < 1e-12
    assert _rel(same, parts["pieces"]["same"] @ vn) < 1e-12


def test_the_four_parts_sum_to_g_and_the_grams_give_their_spectra(parts):
    pieces, structure = parts["pieces"], parts["structure"]
    total = sum(pieces.values())
    assert _rel(total, parts["g_jhj"]) < 1e-12
    for name, eigs in (("class", structure.class_eigenvalues()),
                       ("cross", structure.cross_eigenvalues())):  # fmt: skip
        dense = np.linalg.eigvalsh(pieces[name])[::-1][: len(eigs)]
        np.testing.assert_allclose(eigs, dense, atol=1e-12 * max(dense[0], 1e-300))


def test_cross_term_has_rank_at_most_c_times_c_minus_2(parts):
    """For every class the weighted deviations sum to zero: rank G_cross <= C(C-2)."""
    s = parts["structure"]
    c = s.classes
    for cls in range(c):
        dev = sum(s.w_ck[cls, k] * (s.g_ck[cls, k] - s.g_c[cls]) for k in range(c) if k != cls)
        assert np.linalg.norm(dev) < 1e-12 * np.linalg.norm(s.g_c)
    eigs = np.linalg.eigvalsh(parts["pieces"]["cross"])
    assert np.sum(eigs > 1e-10 * eigs.max()) <= c * (c - 2)


def test_ce_class_means_are_weighted_class_means_of_the_loss_gradients(parts):
    """sum_k p_ik (p_i - e_k) = 0  =>  w_c g_c = -(1/N) sum_{i in c} p_{i y_i} grad l_i."""
    if parts["kind"] != "ce":
        pytest.skip("an identity of the softmax cross-entropy")
    with jax.enable_x64(True):
        theta, x, onehot, dims = (parts[k] for k in ("theta", "x", "onehot", "dims"))
        y = parts["y"]
        z = np.asarray(model.logits(theta, x, dims, "tanh"))
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        jac = cv.dense_jacobian(parts["logit_fn"], theta)
    n = len(y)
    grads = np.einsum("ic,icp->ip", p - np.eye(3)[y], jac)  # grad l_i
    s = parts["structure"]
    for cls in range(3):
        rows = y == cls
        expected = -np.sum(p[rows, cls][:, None] * grads[rows], axis=0) / n
        np.testing.assert_allclose(s.w_c[cls] * s.g_c[cls], expected, atol=1e-12)
        np.testing.assert_allclose(s.loss_grad_means[cls], grads[rows].mean(axis=0), atol=1e-12)


def test_rank_of_g_is_at_most_n_times_c_minus_1_for_ce():
    """Each diag(p) - p p^T has rank C-1, so rank G <= N (C-1) < P here."""
    with jax.enable_x64(True):
        theta, x, onehot, y, dims = tiny_problem("ce", per_class=2, width=10)
        g = cv.dense_gauss_newton(model.make_logit_fn(x, dims, "tanh"), theta, "ce")
    n, c = len(y), 3
    assert n * (c - 1) < g.shape[0]
    eigs = np.linalg.eigvalsh(g)
    assert np.sum(eigs > 1e-10 * eigs.max()) == n * (c - 1)

"""Structured networks: the divide-and-conquer identity and the talk's compositions are exact,
the network's initial layer is the exact divide step, gradients agree with finite differences,
and training is reproducible bit for bit."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theoryscope.experiments.fem import structured as st
from theoryscope.experiments.fem.targets import get_target

X = np.linspace(-1.0, 1.0, 4001)


@pytest.mark.parametrize("name", ["arctan", "gauss", "cosine", "sine"])
@pytest.mark.parametrize("pieces", [1, 3, 8, 16])
def test_divide_and_conquer_reproduces_the_target_exactly(name, pieces):
    target = get_target(name, 4)
    c = st.construction(target.f, pieces)
    assert np.max(np.abs(c(X) - target.f(X))) < 1e-13
    # each psi_i maps its piece onto [-1, 1] and is constant outside it
    psi = c.psi(X)
    for i in range(pieces):
        xl, xr = c.partition[i], c.partition[i + 1]
        assert np.allclose(psi[X <= xl, i], -1.0) and np.allclose(psi[X >= xr, i], 1.0)


def test_unequal_partition_is_exact_too():
    target = get_target("sine")
    c = st.Construction(partition=np.array([-1.0, -0.7, -0.1, 0.05, 0.6, 1.0]), f=target.f)
    assert np.max(np.abs(c(X) - target.f(X))) < 1e-13


def test_the_talks_two_fold_compositions_are_exact():
    f, f1, f2 = st.example_one()
    assert np.max(np.abs(f2(f1(X)) - f(X))) < 1e-13
    # f_1 is the talk's three-piece linear map
    assert np.allclose(f1(np.array([-1.0, -0.1, 0.1, 1.0])), [-1.0, -0.9, 0.9, 1.0])
    for k in (1, 2, 5):
        f, f1, f2 = st.example_two(k)
        assert np.max(np.abs(f2(f1(X)) - f(X))) < 1e-13
        # each half carries half the oscillations: f_1 is linear on [0, 1], f_2 on [-1, 0)
        assert np.allclose(f1(X[X >= 0]), X[X >= 0]) and np.allclose(f2(X[X < 0]), X[X < 0])


def test_initial_structured_layer_is_the_exact_divide_step_and_dof_counts():
    with jax.enable_x64(True):
        p = st.init_structured(jax.random.key(0), 5, 7)
        p = jax.tree_util.tree_map(lambda v: jnp.asarray(v, jnp.float64), p)
        psi = np.asarray(jax.jit(st.structured_psi)(p, jnp.asarray(X)))
    assert np.max(np.abs(psi - st.construction(np.sin, 5).psi(X))) < 1e-12
    assert st.dof(p) == 3 * 5 * (7 + 1) + 2
    assert st.dof(st.init_shallow(jax.random.key(1), 9)) == 3 * 9 + 1


@pytest.mark.parametrize("kind", ["structured", "shallow"])
def test_loss_gradient_matches_central_differences(kind):
    with jax.enable_x64(True):
        key = jax.random.key(2)
        if kind == "structured":
            p, apply = st.init_structured(key, 3, 4), st.structured_apply
        else:
            p, apply = st.init_shallow(key, 10), st.shallow_apply
        p = jax.tree_util.tree_map(lambda v: jnp.asarray(v, jnp.float64), p)
        rng = np.random.default_rng(0)
        p = {k: v + 0.3 * jnp.asarray(rng.normal(size=np.shape(v))) for k, v in p.items()}
        x = jnp.linspace(-0.95, 0.95, 57)
        y = jnp.sin(3 * x)
        grad = jax.jit(jax.grad(lambda q: st._loss(apply, q, x, y)))(p)
        step = 1e-6
        for name in p:
            flat = np.asarray(p[name]).ravel()
            for idx in range(0, flat.size, max(1, flat.size // 3)):
                e = np.zeros_like(flat)
                e[idx] = step
                up = dict(p, **{name: jnp.asarray((flat + e).reshape(np.shape(p[name])))})
                dn = dict(p, **{name: jnp.asarray((flat - e).reshape(np.shape(p[name])))})
                fd = (st._loss_jit(apply, up, x, y) - st._loss_jit(apply, dn, x, y)) / (2 * step)
                assert float(np.asarray(grad[name]).ravel()[idx]) == pytest.approx(
                    float(fd), rel=1e-5, abs=1e-8
                ), (name, idx)


def test_training_is_reproducible_and_learns():
    target = get_target("gauss")
    xs = np.linspace(-1, 1, 200)
    test = np.linspace(-1, 1, 500)

    def run(seed):
        p = st.init_structured(jax.random.key(seed), 4, 6)
        return st.train(st.structured_apply, p, xs, target.f(xs), test, target.f(test),
                        steps=200, lr=1e-2, records=10)  # fmt: skip

    a, b, c = run(0), run(0), run(1)
    assert np.array_equal(a.loss, b.loss) and a.max_error == b.max_error
    assert not np.array_equal(a.loss, c.loss)
    assert a.status == "finished" and a.loss[-1] < 0.2 * a.loss[0]
    assert list(a.step)[0] == 0 and list(a.step)[-1] == 200


def test_frozen_least_squares_fits_the_outer_layer():
    target = get_target("gauss")
    xs = np.linspace(-1, 1, 400)
    p = st.init_structured(jax.random.key(0), 8, 16)
    phi = st.structured_features(p)
    h = st.frozen_least_squares(phi, xs, target.f(xs))
    r = h(xs) - target.f(xs)
    # least squares: the residual is orthogonal to every feature and to the constant
    design = np.concatenate([phi(xs), np.ones((len(xs), 1))], axis=1)
    assert np.max(np.abs(design.T @ r)) < 1e-10 * np.linalg.norm(design) * np.linalg.norm(r)
    # the features at init are the exact divide step: each piece fits a smooth zoomed f_i
    assert np.max(np.abs(r)) < 0.03

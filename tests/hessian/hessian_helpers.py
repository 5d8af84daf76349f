"""A tiny classifier problem in float64 shared by the hessian tests (P = 67 or so)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.experiments.hessian import model
from theoryscope.experiments.hessian.data import gaussian_mixture


def tiny_problem(kind: str = "ce", classes: int = 3, per_class: int = 8, dim: int = 4,
                 width: int = 6, seed: int = 0, train_steps: int = 30):  # fmt: skip
    """(theta, x, onehot, y, dims) in float64 after a few GD steps (a generic, non-initial point).

    Call inside ``jax.enable_x64(True)``."""
    x, y = gaussian_mixture(classes, per_class, dim, 3.0, 1.0, seed)
    dims = (dim, width, classes)
    xj = jnp.asarray(x)
    onehot = jnp.asarray(np.eye(classes)[y])
    theta = jnp.asarray(model.init_params(seed, dims))
    loss = model.make_loss(xj, onehot, dims, "tanh", kind)
    grad = jax.jit(jax.grad(loss))
    for _ in range(train_steps):
        theta = theta - 0.3 * grad(theta)
    return theta, xj, onehot, y, dims

"""The classifier: a fully connected net on a flat parameter vector, its losses and features.

    h_0 = x,   h_l = phi(h_{l-1} W_l + b_l)  (l = 1..L),   f(x) = h_L W + b  in R^C

standard parametrization, ``W_l ~ N(0, 1/fan_in)``, ``b_l = 0`` (drawn by NumPy's PCG64 from the
run seed). The losses, averaged over the N training examples:

    ce    L = (1/N) sum_i -log softmax(f(x_i))_{y_i}
    mse   L = (1/N) sum_i 1/2 ||f(x_i) - e_{y_i}||^2

and their output Hessians ``H_i = d^2 l / df^2`` (used by the Gauss-Newton term, :mod:`.curvature`):
``diag(p_i) - p_i p_i^T`` with ``p_i = softmax(f(x_i))`` for ce, the identity for mse.
``h_L`` is the penultimate feature of neural collapse (Papyan, Han, Donoho 2020).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

Array = Any
ACTIVATIONS: dict[str, Callable[[Array], Array]] = {"tanh": jnp.tanh, "relu": jax.nn.relu}


def param_count(dims: tuple[int, ...]) -> int:
    return sum(a * b + b for a, b in zip(dims[:-1], dims[1:], strict=True))


def init_params(seed: int, dims: tuple[int, ...]) -> np.ndarray:
    """theta_0 as one float64 vector: each layer's W (fan_in x fan_out, row-major) then its b."""
    rng = np.random.default_rng([seed, 21])
    parts = []
    for fan_in, fan_out in zip(dims[:-1], dims[1:], strict=True):
        parts.append(rng.standard_normal(fan_in * fan_out) / np.sqrt(fan_in))
        parts.append(np.zeros(fan_out))
    return np.concatenate(parts)


def unflatten(theta: Array, dims: tuple[int, ...]) -> list[tuple[Array, Array]]:
    """The layers ``[(W_1, b_1), ..., (W, b)]`` of a flat vector (static slices, jit-friendly)."""
    layers = []
    at = 0
    for fan_in, fan_out in zip(dims[:-1], dims[1:], strict=True):
        w = theta[at : at + fan_in * fan_out].reshape(fan_in, fan_out)
        at += fan_in * fan_out
        layers.append((w, theta[at : at + fan_out]))
        at += fan_out
    return layers


def features(theta: Array, x: Array, dims: tuple[int, ...], activation: str) -> Array:
    """The penultimate features ``h_L(x)``, shape (N, m)."""
    phi = ACTIVATIONS[activation]
    h = x
    for w, b in unflatten(theta, dims)[:-1]:
        h = phi(h @ w + b)
    return h


def logits(theta: Array, x: Array, dims: tuple[int, ...], activation: str) -> Array:
    """``f(x)`` for every row of x, shape (N, C)."""
    w, b = unflatten(theta, dims)[-1]
    return features(theta, x, dims, activation) @ w + b


def classifier(theta: Array, dims: tuple[int, ...]) -> tuple[Array, Array]:
    """The last layer ``(W (m, C), b (C,))``."""
    return unflatten(theta, dims)[-1]


def loss_of_logits(z: Array, onehot: Array, kind: str) -> Array:
    """Mean loss of logits z (N, C) against one-hot labels (see module docstring)."""
    if kind == "ce":
        return -jnp.mean(jnp.sum(onehot * jax.nn.log_softmax(z, axis=-1), axis=-1))
    return 0.5 * jnp.mean(jnp.sum((z - onehot) ** 2, axis=-1))


def loss_grad_of_logits(z: Array, onehot: Array, kind: str) -> Array:
    """``d L / d z`` (N, C): ``(p - e_y) / N`` for ce, ``(z - e_y) / N`` for mse."""
    n = z.shape[0]
    if kind == "ce":
        return (jax.nn.softmax(z, axis=-1) - onehot) / n
    return (z - onehot) / n


def make_loss(
    x: Array, onehot: Array, dims: tuple[int, ...], activation: str, kind: str
) -> Callable[[Array], Array]:
    """theta -> L(theta) on the given examples."""

    def loss_fn(theta: Array) -> Array:
        return loss_of_logits(logits(theta, x, dims, activation), onehot, kind)

    return loss_fn


def make_logit_fn(x: Array, dims: tuple[int, ...], activation: str) -> Callable[[Array], Array]:
    """theta -> f(X; theta) (N, C) on the given examples."""

    def logit_fn(theta: Array) -> Array:
        return logits(theta, x, dims, activation)

    return logit_fn

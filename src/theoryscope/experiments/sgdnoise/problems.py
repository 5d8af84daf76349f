"""The problems SGD runs on, as JAX functions of a flat parameter vector theta.

A :class:`Problem` gives the full loss L(theta) (weight decay included) and an unbiased minibatch
gradient g_B(theta; key, p). For the data problems the batch follows the lecture notes (seed 002,
11/16): each example k is in B independently with probability p = |B|/m and

    L_B(theta) = (1/|B|) sum_k 1[k in B] l_k(theta) + lambda/2 |theta|^2,   E_B L_B = L,

so E_B g_B = grad L exactly and Cov_B g_B = ((1 - p)/(|B| m)) sum_k grad l_k grad l_k^T.

    linreg    l_k = (x_k . theta - y_k)^2 / 2, y = X w* + noise                (quadratic L)
    mlp       l_k = (f(x_k; theta) - y_k)^2 / 2, f = w2 . tanh(W1 x + b1) + b2, y a random
              width-4 teacher plus label noise; lambda > 0 keeps the law stationary; the
              reference point is 0 or a minimiser reached by L-BFGS from the init
    quadratic L = h theta^2 / 2, g_B = h theta + sigma xi: the AR(1) chain whose stationary law
              is known exactly (:func:`.fdr.ar1_fdr`)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

#: Width of the MLP mode's random teacher.
TEACHER_WIDTH = 4

Array = jax.Array


@dataclass(frozen=True)
class Problem:
    """``loss(theta)`` the full loss; ``batch_grad(theta, key, p)`` an unbiased minibatch
    gradient; ``theta0`` the start; ``reference`` the point whose squared distance is recorded
    (theta* in linreg, 0 otherwise)."""

    name: str
    loss: Callable[[Array], Array]
    batch_grad: Callable[[Array, Array, Array], Array]
    theta0: np.ndarray
    reference: np.ndarray


def hvp(loss: Callable[[Array], Array], theta: Array, v: Array) -> tuple[Array, Array]:
    """(grad L(theta), H(theta) v) in one forward-over-reverse pass: jvp of grad L along v."""
    out: tuple[Array, Array] = jax.jvp(jax.grad(loss), (theta,), (v,))
    return out


def bernoulli_mask(key: Array, p: Array, m: int, dtype: jnp.dtype) -> Array:
    """1[k in B] for k = 1..m, each independently with probability p (lecture 11/16)."""
    return jax.random.bernoulli(key, p, (m,)).astype(dtype)


def _data_problem(
    name: str,
    losses: Callable[[Array], Array],
    m: int,
    weight_decay: float,
    theta0: np.ndarray,
    reference: np.ndarray,
    dtype: jnp.dtype,
) -> Problem:
    """L = mean_k l_k + lambda/2 |theta|^2 and g_B = grad of the Bernoulli-batch loss L_B."""
    lam = float(weight_decay)

    def loss(theta: Array) -> Array:
        return jnp.mean(losses(theta)) + 0.5 * lam * jnp.dot(theta, theta)

    def batch_loss(theta: Array, mask: Array, p: Array) -> Array:
        # (1/|B|) sum_{k in B} l_k with |B| = p m the expected batch size (lecture 11/16)
        return jnp.dot(mask, losses(theta)) / (p * m) + 0.5 * lam * jnp.dot(theta, theta)

    grad_batch = jax.grad(batch_loss)

    def batch_grad(theta: Array, key: Array, p: Array) -> Array:
        return grad_batch(theta, bernoulli_mask(key, p, m, dtype), p)

    return Problem(name, loss, batch_grad, theta0, reference)


# -- noisy linear regression ----------------------------------------------------------------------
def linreg_data(
    d: int, m: int, noise: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X (m, d) i.i.d. N(0, 1), w* ~ N(0, I/d), y = X w* + noise N(0, 1) (float64)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((m, d))
    w_star = rng.standard_normal(d) / np.sqrt(d)
    y = x @ w_star + noise * rng.standard_normal(m)
    return x, y, w_star


def linreg_minimizer(x: np.ndarray, y: np.ndarray, weight_decay: float) -> np.ndarray:
    """theta* = (X^T X / m + lambda I)^{-1} X^T y / m, the unique zero of grad L."""
    m, d = x.shape
    return np.linalg.solve(x.T @ x / m + weight_decay * np.eye(d), x.T @ y / m)


def linreg_problem(x: np.ndarray, y: np.ndarray, weight_decay: float, dtype: jnp.dtype) -> Problem:
    """Least squares from theta = 0; the reference point is theta*."""
    xs, ys = jnp.asarray(x, dtype=dtype), jnp.asarray(y, dtype=dtype)

    def losses(theta: Array) -> Array:
        r = xs @ theta - ys
        return 0.5 * r * r

    theta_star = linreg_minimizer(x, y, weight_decay)
    return _data_problem("linreg", losses, x.shape[0], weight_decay, np.zeros(x.shape[1]),
                         theta_star, dtype)  # fmt: skip


# -- a small tanh MLP with label noise and weight decay ---------------------------------------------
def mlp_unpack(theta: Array, d: int, width: int) -> tuple[Array, Array, Array, Array]:
    """(W1 (h, d), b1 (h,), w2 (h,), b2 ()) from the flat vector."""
    hd = width * d
    return (theta[:hd].reshape(width, d), theta[hd : hd + width],
            theta[hd + width : hd + 2 * width], theta[hd + 2 * width])  # fmt: skip


def mlp_forward(theta: Array, x: Array, d: int, width: int) -> Array:
    """f(x) = w2 . tanh(W1 x + b1) + b2 for every row of x."""
    w1, b1, w2, b2 = mlp_unpack(theta, d, width)
    return jnp.tanh(x @ w1.T + b1) @ w2 + b2


def mlp_init(rng: np.random.Generator, d: int, width: int) -> np.ndarray:
    """W1 ~ N(0, 1/d), w2 ~ N(0, 1/h), biases 0 (flat, float64)."""
    w1 = rng.standard_normal((width, d)) / np.sqrt(d)
    w2 = rng.standard_normal(width) / np.sqrt(width)
    return np.concatenate([w1.ravel(), np.zeros(width), w2, [0.0]])


def mlp_data(d: int, m: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """x ~ N(0, I_d); y = teacher(x) + noise N(0, 1), the teacher a random width-4 tanh MLP
    with output weights N(0, 1) (so y is O(1))."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((m, d))
    w1 = rng.standard_normal((TEACHER_WIDTH, d)) / np.sqrt(d)
    w2 = rng.standard_normal(TEACHER_WIDTH)
    y = np.tanh(x @ w1.T) @ w2 + noise * rng.standard_normal(m)
    return x, y


def mlp_problem(
    x: np.ndarray,
    y: np.ndarray,
    width: int,
    weight_decay: float,
    theta0: np.ndarray,
    dtype: jnp.dtype,
    reference: np.ndarray | None = None,
) -> Problem:
    """Squared loss of the tanh MLP plus weight decay; the reference point is 0 (|theta|^2)
    unless given (a minimiser, :func:`mlp_minimum`)."""
    d = x.shape[1]
    xs, ys = jnp.asarray(x, dtype=dtype), jnp.asarray(y, dtype=dtype)

    def losses(theta: Array) -> Array:
        r = mlp_forward(theta, xs, d, width) - ys
        return 0.5 * r * r

    ref = np.zeros_like(theta0) if reference is None else np.asarray(reference)
    return _data_problem("mlp", losses, x.shape[0], weight_decay, theta0, ref, dtype)


def mlp_minimum(
    x: np.ndarray, y: np.ndarray, width: int, weight_decay: float, theta0: np.ndarray
) -> np.ndarray:
    """A minimiser of the MLP loss reached from ``theta0`` (L-BFGS in float64, deterministic):
    a fixed centre c for the FDR1 observable |theta - c|^2/2 near SGD's stationary mean."""
    from scipy.optimize import minimize

    with jax.enable_x64(True):
        problem = mlp_problem(x, y, width, weight_decay, theta0, jnp.float64)
        value_and_grad = jax.jit(jax.value_and_grad(problem.loss))

        def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
            value, grad = value_and_grad(jnp.asarray(theta))
            return float(value), np.asarray(grad, dtype=np.float64)

        res = minimize(fun, np.asarray(theta0, dtype=np.float64), jac=True, method="L-BFGS-B",
                       options={"maxiter": 20_000, "gtol": 1e-10, "ftol": 1e-16, "maxcor": 30})  # fmt: skip
    return np.asarray(res.x, dtype=np.float64)


# -- the 1-D quadratic with Gaussian gradient noise (exact stationary law) --------------------------
def quadratic_problem(h: float, sigma: float, theta0: float = 0.0) -> Problem:
    """L = h theta^2 / 2 on theta in R^1; g_B = h theta + sigma N(0, 1) (``p`` is ignored)."""

    def loss(theta: Array) -> Array:
        return 0.5 * h * jnp.dot(theta, theta)

    def batch_grad(theta: Array, key: Array, p: Array) -> Array:
        del p
        return h * theta + sigma * jax.random.normal(key, theta.shape, theta.dtype)

    return Problem("quadratic", loss, batch_grad, np.array([theta0]), np.zeros(1))

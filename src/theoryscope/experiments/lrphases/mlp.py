"""The edge-of-stability model: a small fully connected net, full-batch GD, and its sharpness.

Model (standard parametrization, as in Cohen, Kaur, Li, Kolter, Talwalkar 2021)::

    h_0 = x,  h_l = phi(h_{l-1} W_l + b_l)  (l = 1..depth),   f(x) = h_depth W_out + b_out
    W_l ~ N(0, 1 / fan_in),  b_l = 0,     L(theta) = (1 / 2n) sum_a (f(x_a) - y_a)^2

Sharpness S(theta) = lambda_max(nabla^2 L(theta)). GD on a quadratic with curvature S is stable
iff eta < 2 / S (Cohen et al. 2021, section 2); their observation is *progressive sharpening*
(S rises) until S ~ 2 / eta, then S hovers at 2 / eta while L keeps falling non-monotonically.
S is estimated by Lanczos (or, for reference, power iteration) on Hessian-vector products
H v = d/de grad L(theta + e v) (forward-over-reverse, Pearlmutter 1994), warm-started from the
previous top Ritz vector so a few iterations per record suffice.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

Array = Any
Params = list[tuple[Array, Array]]

ACTIVATION_FNS: dict[str, Callable[[Array], Array]] = {"tanh": jnp.tanh, "relu": jax.nn.relu}


def init_flat(seed: int, dims: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """theta_0 (the layers' W ~ N(0, 1 / fan_in) then b = 0, flattened as :func:`flatten` does)
    and a random unit start vector for power iteration, drawn by NumPy's PCG64 from ``seed``
    (compiling JAX's threefry sampler costs seconds on a CPU)."""
    rng = np.random.default_rng([seed, 2])
    parts = []
    for fan_in, fan_out in zip(dims[:-1], dims[1:], strict=True):
        parts.append(rng.standard_normal(fan_in * fan_out) / np.sqrt(fan_in))
        parts.append(np.zeros(fan_out))
    theta = np.concatenate(parts)
    vec = rng.standard_normal(theta.shape)
    return theta, vec / np.linalg.norm(vec)


def forward(params: Params, x: Array, activation: str) -> Array:
    """f(x_a) for every row of x."""
    phi = ACTIVATION_FNS[activation]
    h = x
    for w, b in params[:-1]:
        h = phi(h @ w + b)
    w, b = params[-1]
    return (h @ w + b)[:, 0]


def layer_dims(d: int, width: int, depth: int) -> list[int]:
    """[d] + [width] * depth + [1]."""
    return [d] + [width] * depth + [1]


def flatten(params: Params) -> Array:
    """All weights then biases of each layer, concatenated into one vector theta."""
    return jnp.concatenate([jnp.concatenate([w.ravel(), b.ravel()]) for w, b in params])


def unflatten(theta: Array, dims: tuple[int, ...]) -> Params:
    """Inverse of :func:`flatten` for layer sizes ``dims`` (static slicing, jit-friendly)."""
    params: Params = []
    at = 0
    for fan_in, fan_out in zip(dims[:-1], dims[1:], strict=True):
        w = theta[at : at + fan_in * fan_out].reshape(fan_in, fan_out)
        at += fan_in * fan_out
        b = theta[at : at + fan_out]
        at += fan_out
        params.append((w, b))
    return params


def make_loss(
    x: Array, y: Array, activation: str, dims: tuple[int, ...]
) -> Callable[[Array], Array]:
    """theta -> L(theta) = (1 / 2n) sum_a (f(x_a) - y_a)^2 on the flat parameter vector."""

    def loss_fn(theta: Array) -> Array:
        r = forward(unflatten(theta, dims), x, activation) - y
        return 0.5 * jnp.mean(r * r)

    return loss_fn


def hvp(loss_fn: Callable[[Array], Array], theta: Array, vec: Array) -> Array:
    """Hessian-vector product H(theta) vec = jvp of grad L (forward-over-reverse)."""
    return jax.jvp(jax.grad(loss_fn), (theta,), (vec,))[1]


def power_iteration(
    loss_fn: Callable[[Array], Array], theta: Array, vec: Array, iters: int
) -> tuple[Array, Array]:
    """Top-|eigenvalue| of the Hessian by ``iters`` power steps from ``vec``: (Rayleigh quotient,
    unit eigenvector estimate). Near GD minima of MSE the largest-magnitude eigenvalue is the top
    positive one (the Gauss-Newton term J^T J / n dominates), which is the sharpness."""

    def body(w: Array, _: Any) -> tuple[Array, None]:
        hw = hvp(loss_fn, theta, w)
        return hw / (jnp.linalg.norm(hw) + jnp.finfo(hw.dtype).tiny), None

    w = vec / jnp.linalg.norm(vec)
    w, _ = jax.lax.scan(body, w, None, length=iters)
    return w @ hvp(loss_fn, theta, w), w


def lanczos_top(
    loss_fn: Callable[[Array], Array], theta: Array, vec: Array, iters: int
) -> tuple[Array, Array]:
    """Largest (algebraic) Hessian eigenvalue by ``iters`` Lanczos steps from ``vec`` with full
    reorthogonalization: (top Ritz value, its unit Ritz vector, used to warm-start the next call).

    Unlike power iteration it is not captured by a negative eigenvalue of larger magnitude
    (common at initialization, where the residual term of the Hessian is large), and it
    converges to the extreme eigenvalue much faster (Golub & Van Loan, section 10.1).
    """
    p = theta.shape[0]
    tiny = jnp.finfo(theta.dtype).tiny
    v0 = vec / jnp.linalg.norm(vec)
    basis0 = jnp.zeros((iters, p), dtype=theta.dtype)

    def body(carry: tuple[Array, Array, Array, Array], j: Array) -> tuple[Any, Any]:
        basis, v, v_prev, beta_prev = carry
        basis = basis.at[j].set(v)
        w = hvp(loss_fn, theta, v)
        alpha = w @ v
        w = w - alpha * v - beta_prev * v_prev
        w = w - basis.T @ (basis @ w)  # full reorthogonalization against all previous vectors
        w = w - basis.T @ (basis @ w)  # twice is enough (Parlett)
        beta = jnp.linalg.norm(w)
        return (basis, w / (beta + tiny), v, beta), (alpha, beta)

    init = (basis0, v0, jnp.zeros_like(v0), jnp.zeros((), dtype=theta.dtype))
    (basis, _, _, _), (alphas, betas) = jax.lax.scan(body, init, jnp.arange(iters))
    tri = jnp.diag(alphas) + jnp.diag(betas[:-1], 1) + jnp.diag(betas[:-1], -1)
    evals, evecs = jnp.linalg.eigh(tri)
    ritz = basis.T @ evecs[:, -1]
    return evals[-1], ritz / jnp.linalg.norm(ritz)


def dense_hessian_top(loss_fn: Callable[[Array], Array], theta: Array) -> float:
    """lambda_max of the dense Hessian (tests only: O(P^2) memory)."""
    h = np.asarray(jax.jit(jax.hessian(loss_fn))(theta), dtype=np.float64)
    return float(np.linalg.eigvalsh(0.5 * (h + h.T))[-1])


@functools.partial(jax.jit, static_argnames=("activation", "every", "iters", "length", "dims"))
def chunk(
    theta: Array,
    vec: Array,
    x: Array,
    y: Array,
    eta: Array,
    *,
    activation: str,
    every: int,
    iters: int,
    length: int,
    dims: tuple[int, ...],
) -> tuple[tuple[Array, Array], dict[str, Array]]:
    """``length`` records: each measures loss and sharpness at theta, then takes ``every`` steps."""

    loss_fn = make_loss(x, y, activation, dims)
    grad_fn = jax.grad(loss_fn)

    def gd(th: Array, _: Any) -> tuple[Array, None]:
        return th - eta * grad_fn(th), None

    def body(carry: tuple[Array, Array], _: Any) -> tuple[tuple[Array, Array], dict[str, Array]]:
        th, v = carry
        cur = loss_fn(th)
        sharp, v = lanczos_top(loss_fn, th, v, iters)
        rec = {"loss": cur, "sharpness": sharp}
        th, _ = jax.lax.scan(gd, th, None, length=every)
        return (th, v), rec

    return jax.lax.scan(body, (theta, vec), None, length=length)

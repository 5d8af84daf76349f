"""Structured and balanced multilayer networks: divide and conquer with ReLU maps (talk, seed 004,
slides "Structured Decomposition and Approximation by Multi-layer Networks" to "Structured and
balanced multi-layer networks").

Divide. A partition ``-1 = x_0 < x_1 < ... < x_P = 1`` and, for each piece, the clamped ramp

    psi_i(x) = s_i sigma(x - x_{i-1}) - s_i sigma(x - x_i) + a_i,   s_i = (b_i - a_i)/(x_i - x_{i-1}),

equal to a_i left of the piece, linear from a_i to b_i on it, b_i right of it. Conquer. With
``L_i : [a_i, b_i] -> [x_{i-1}, x_i]`` linear and ``f_i = f o L_i`` (f zoomed onto the piece,
hence smoother on [a_i, b_i]),

    f(x) = sum_{i=1}^P f_i(psi_i(x)) - sum_{i=1}^{P-1} f(x_i)                (exact)

because at x in piece k the pieces left of k sit at their right ends f(x_i), those right of k
at their left ends f(x_{i-1}), and piece k gives f(x). Here ``[a_i, b_i] = [-1, 1]``.

The talk's two explicit compositions ``f = f_2 o f_1`` (slide "Examples") are also exact:
Example 1, ``exp(-(10x)^2)`` with a three-piece linear ``f_1`` (four ReLUs) and a wider
``f_2``; Example 2, ``(cos(2 k pi x) - 1)/2`` with ``f_1``, ``f_2`` each carrying half the
oscillations (:func:`example_one`, :func:`example_two`).

The trained networks (JAX, full-batch Adam on samples of f, same steps and step size):

    structured   layer 1: hidden sigma(x - t_k), k = 0..P (P + 1 knots), outputs
                 psi_i = s_i u_{i-1} - s_i u_i + o_i (rank P); layer 2: per piece i, m units
                 sigma(w_ij psi_i - beta_ij) read coordinate i only (block W^2), output
                 sum_ij alpha_ij (...) + c. In the talk's form h^l = A^l sigma(W^l x + B^l) + c^l
                 with (width, rank) = (P + 1, P) then (P m, 1). Initialised at the exact
                 divide step (t = partition, s_i = 2/(x_i - x_{i-1}), o_i = -1) with random
                 features on [-1, 1] and alpha = 0. Trainable: 3 P (m + 1) + 2 numbers.
    shallow      h(x) = sum_j a_j sigma(w_j x - b_j) + c with N = (dof - 1) // 3 units (the same
                 number of trainable parameters), kinks uniform in [-1, 1], a = 0.

Random features: ``w = +-1`` with equal probability, kinks ``u ~ U(-1, 1)``, ``b = w u``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.core.recording import log_steps

__all__ = [
    "Construction",
    "construction",
    "example_one",
    "example_two",
    "init_shallow",
    "init_structured",
    "shallow_apply",
    "structured_apply",
    "train",
]

Fn = Callable[[np.ndarray], np.ndarray]
BETA1, BETA2, ADAM_EPS = 0.9, 0.999, 1e-8


# ------------------------------------------------------------------------------------------------
# the exact constructions
# ------------------------------------------------------------------------------------------------
def relu(x: Any) -> Any:
    return np.maximum(x, 0.0)


@dataclass(frozen=True)
class Construction:
    """The divide-and-conquer identity for one partition: ``psi`` and the zoomed ``f_i``."""

    partition: np.ndarray
    f: Fn

    def psi(self, x: np.ndarray) -> np.ndarray:
        """``psi_i(x)`` for all pieces, shape (len(x), P), mapping piece i onto [-1, 1]."""
        xl, xr = self.partition[:-1], self.partition[1:]
        s = 2.0 / (xr - xl)
        x = np.asarray(x, float)[:, None]
        return s * relu(x - xl) - s * relu(x - xr) - 1.0

    def zoom(self, y: np.ndarray) -> np.ndarray:
        """``f_i(y) = f(L_i y)`` with ``L_i y = x_{i-1} + (y + 1)(x_i - x_{i-1})/2``, shape of y
        (columns = pieces)."""
        xl, xr = self.partition[:-1], self.partition[1:]
        return self.f(xl + (np.asarray(y, float) + 1.0) * (xr - xl) / 2.0)

    @property
    def constant(self) -> float:
        """``sum_{i=1}^{P-1} f(x_i)``."""
        return float(np.sum(self.f(self.partition[1:-1])))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """``sum_i f_i(psi_i(x)) - sum f(x_i)``: equal to f(x) on [-1, 1] (module docstring)."""
        return np.sum(self.zoom(self.psi(x)), axis=1) - self.constant


def construction(f: Fn, pieces: int) -> Construction:
    """The identity on ``pieces`` equal pieces of [-1, 1]."""
    return Construction(partition=np.linspace(-1.0, 1.0, pieces + 1), f=f)


def example_one() -> tuple[Fn, Fn, Fn]:
    """Talk, Example 1: ``f = exp(-(10x)^2) = f_2(f_1(x))`` with f_1 piecewise linear (slopes
    1/9, 9, 1/9 on [-1, -0.1], [-0.1, 0.1], [0.1, 1]; four ReLUs) and f_2 of width ~1 in the
    middle. Returns (f, f_1, f_2)."""

    def f(x: np.ndarray) -> np.ndarray:
        return np.exp(-((10.0 * np.asarray(x, float)) ** 2))

    def f1(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float)
        # (x - 8)/9 + (9 - 1/9) relu(x + 0.1) - (9 - 1/9) relu(x - 0.1): the talk's three pieces
        return (x - 8.0) / 9.0 + (9.0 - 1.0 / 9.0) * (relu(x + 0.1) - relu(x - 0.1))

    def f2(y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, float)
        return np.where(y < -0.9, np.exp(-((10.0 * (9.0 * y + 8.0)) ** 2)),
                        np.where(y > 0.9, np.exp(-((10.0 * (9.0 * y - 8.0)) ** 2)),
                                 np.exp(-((10.0 * y / 9.0) ** 2))))  # fmt: skip

    return f, f1, f2


def example_two(k: int) -> tuple[Fn, Fn, Fn]:
    """Talk, Example 2: ``f = (cos(2 k pi x) - 1)/2 = f_2(f_1(x))``, ``f_1 = f`` on [-1, 0) and x
    on [0, 1]; ``f_2 = y`` on [-1, 0) and f on [0, 1] (f maps into [-1, 0]). Returns (f, f_1,
    f_2)."""

    def f(x: np.ndarray) -> np.ndarray:
        return (np.cos(2.0 * np.pi * k * np.asarray(x, float)) - 1.0) / 2.0

    def f1(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float)
        return np.where(x < 0.0, f(x), x)

    def f2(y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, float)
        return np.where(y < 0.0, y, f(y))

    return f, f1, f2


# ------------------------------------------------------------------------------------------------
# the trained networks
# ------------------------------------------------------------------------------------------------
def _features(key: Any, shape: tuple[int, ...]) -> tuple[Any, Any]:
    """Random ReLU features on [-1, 1]: signs w = +-1, kinks u ~ U(-1, 1), b = w u."""
    k_sign, k_kink = jax.random.split(key)
    w = jnp.where(jax.random.bernoulli(k_sign, 0.5, shape), 1.0, -1.0)
    u = jax.random.uniform(k_kink, shape, minval=-1.0, maxval=1.0)
    return w, w * u


def init_shallow(key: Any, width: int) -> dict[str, Any]:
    w, b = _features(key, (width,))
    return {"w": w, "b": b, "a": jnp.zeros(width), "c": jnp.zeros(())}


def shallow_apply(p: dict[str, Any], x: Any) -> Any:
    return jax.nn.relu(x[:, None] * p["w"] - p["b"]) @ p["a"] + p["c"]


def init_structured(key: Any, pieces: int, units: int) -> dict[str, Any]:
    """The divide step exactly (knots at the equal partition, psi_i onto [-1, 1]), random
    features per piece, zero output weights."""
    knots = jnp.linspace(-1.0, 1.0, pieces + 1)
    w, b = _features(key, (pieces, units))
    return {"knots": knots, "slopes": 2.0 / jnp.diff(knots), "offsets": -jnp.ones(pieces),
            "w": w, "b": b, "a": jnp.zeros((pieces, units)), "c": jnp.zeros(())}  # fmt: skip


def structured_psi(p: dict[str, Any], x: Any) -> Any:
    """Layer 1: ``psi_i = s_i sigma(x - t_{i-1}) - s_i sigma(x - t_i) + o_i``, shape (M, P)."""
    u = jax.nn.relu(x[:, None] - p["knots"][None, :])
    return p["slopes"] * (u[:, :-1] - u[:, 1:]) + p["offsets"]


def structured_apply(p: dict[str, Any], x: Any) -> Any:
    """Layer 2 on layer 1: ``sum_ij a_ij sigma(w_ij psi_i - b_ij) + c``."""
    y = structured_psi(p, x)
    return jnp.einsum("mpj,pj->m", jax.nn.relu(y[:, :, None] * p["w"] - p["b"]), p["a"]) + p["c"]


def dof(params: dict[str, Any]) -> int:
    """Trainable numbers of a parameter pytree."""
    return int(sum(np.size(v) for v in jax.tree_util.tree_leaves(params)))


@dataclass
class Trained:
    """A trained net: its final parameters, loss curve, test errors and wall time."""

    params: dict[str, Any]
    step: np.ndarray
    loss: np.ndarray
    max_error: float
    mse: float
    seconds: float
    compile_seconds: float
    status: str


def _loss(apply: Callable[[dict[str, Any], Any], Any], q: Any, xs: Any, ys: Any) -> Any:
    r = apply(q, xs) - ys
    return 0.5 * jnp.mean(r * r)


@partial(jax.jit, static_argnames=("apply",))
def _advance(apply: Callable[..., Any], state: Any, xs: Any, ys: Any, lr: Any, k: Any) -> Any:
    """k full-batch Adam steps (Kingma & Ba 2015, Algorithm 1); state = (params, m, v, t).
    One compile per network kind, shapes and dtype (k and lr traced)."""
    grad = jax.grad(lambda q: _loss(apply, q, xs, ys))

    def body(_: Any, st: Any) -> Any:
        q, m, v, t = st
        g = grad(q)
        t = t + 1
        m = jax.tree_util.tree_map(lambda a, b: BETA1 * a + (1 - BETA1) * b, m, g)
        v = jax.tree_util.tree_map(lambda a, b: BETA2 * a + (1 - BETA2) * b * b, v, g)
        c1, c2 = 1 - BETA1**t, 1 - BETA2**t
        q = jax.tree_util.tree_map(
            lambda a, mm, vv: a - lr * (mm / c1) / (jnp.sqrt(vv / c2) + ADAM_EPS), q, m, v
        )
        return q, m, v, t

    return jax.lax.fori_loop(0, k, body, state)


_loss_jit = jax.jit(_loss, static_argnames=("apply",))


def train(
    apply: Callable[[dict[str, Any], Any], Any],
    params: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    test: np.ndarray,
    f_test: np.ndarray,
    *,
    steps: int,
    lr: float,
    records: int = 40,
    dtype: str = "float32",
    should_stop: Callable[[], bool] | None = None,
) -> Trained:
    """Full-batch Adam on ``1/2 mean (h(x) - y)^2``, recorded at log-spaced steps. ``seconds``
    is the training wall time after compilation (``compile_seconds``: the first call)."""
    with jax.enable_x64(dtype == "float64"):
        dt = jnp.float64 if dtype == "float64" else jnp.float32
        p = jax.tree_util.tree_map(lambda v: jnp.asarray(v, dt), params)
        xs, ys = jnp.asarray(x, dt), jnp.asarray(y, dt)
        rate = jnp.asarray(lr, dt)
        zeros = jax.tree_util.tree_map(jnp.zeros_like, p)
        state = (p, zeros, zeros, jnp.asarray(0.0, dt))
        t0 = time.perf_counter()
        state = jax.block_until_ready(_advance(apply, state, xs, ys, rate, 0))  # compile
        loss0 = float(_loss_jit(apply, state[0], xs, ys))
        compile_seconds = time.perf_counter() - t0
        marks = log_steps(steps, records)
        rec_step, rec_loss = [0], [loss0]
        status, done, seconds = "finished", 0, 0.0
        for target in marks[1:].tolist():
            if should_stop is not None and should_stop():
                status = "interrupted"
                break
            t1 = time.perf_counter()
            state = jax.block_until_ready(_advance(apply, state, xs, ys, rate, int(target - done)))
            seconds += time.perf_counter() - t1
            value = float(_loss_jit(apply, state[0], xs, ys))
            done = int(target)
            if not np.isfinite(value):
                status = "diverged"
                break
            rec_step.append(done)
            rec_loss.append(value)
        final = state[0]
        h = np.asarray(apply(final, jnp.asarray(test, dt)), dtype=np.float64)
    err = h - f_test
    finite = bool(np.all(np.isfinite(err)))
    return Trained(
        params=jax.tree_util.tree_map(lambda v: np.asarray(v, dtype=np.float64), final),
        step=np.asarray(rec_step), loss=np.asarray(rec_loss),
        max_error=float(np.max(np.abs(err))) if finite else float("inf"),
        mse=float(np.mean(err * err)) if finite else float("inf"),
        seconds=seconds, compile_seconds=compile_seconds, status=status,
    )  # fmt: skip


def frozen_least_squares(
    apply_features: Callable[[np.ndarray], np.ndarray], x: np.ndarray, y: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    """The outer layer by least squares (float64, ``lstsq``) with the inner features frozen:
    ``h = Phi(x) alpha + c``. Returns h as a function."""
    phi = np.concatenate([apply_features(x), np.ones((len(x), 1))], axis=1)
    coef = np.linalg.lstsq(phi, y, rcond=None)[0]

    def h(z: np.ndarray) -> np.ndarray:
        return np.concatenate([apply_features(z), np.ones((len(z), 1))], axis=1) @ coef

    return h


def shallow_features(params: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    w, b = np.asarray(params["w"], float), np.asarray(params["b"], float)
    return lambda x: relu(np.asarray(x, float)[:, None] * w - b)


def structured_features(params: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    """Layer 2's features of the structured net at given parameters, flattened (M, P m)."""
    knots = np.asarray(params["knots"], float)
    s, o = np.asarray(params["slopes"], float), np.asarray(params["offsets"], float)
    w, b = np.asarray(params["w"], float), np.asarray(params["b"], float)

    def phi(x: np.ndarray) -> np.ndarray:
        u = relu(np.asarray(x, float)[:, None] - knots[None, :])
        y = s * (u[:, :-1] - u[:, 1:]) + o
        return relu(y[:, :, None] * w - b).reshape(len(x), -1)

    return phi

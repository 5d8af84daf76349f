"""The wide two-layer ReLU network of the catapult experiments, its NTK and GD in JAX.

Model (NTK parametrization, as the uv model of :mod:`.uv` but with a ReLU between the layers;
Lewkowycz, Bahri, Dyer, Sohl-Dickstein, Gur-Ari 2020, section 3 trains such networks)::

    f(x) = (1 / sqrt(m)) sum_i v_i relu(u_i . x),      u_i in R^d,  u_i ~ N(0, I_d),  v_i ~ N(0, 1)
    L    = (1 / 2n) sum_a (f(x_a) - y_a)^2              (MSE, full batch)

With A_ai = relu(u_i . x_a) and D_ai = 1[u_i . x_a > 0] the NTK (both layers) is

    Theta_ab = (1 / m) sum_i [A_ai A_bi + v_i^2 D_ai D_bi x_a . x_b],   lambda = lambda_max(Theta / n)

and, as m -> inf, with |x| |x'| cos(theta) = x . x' (Cho & Saul 2009, the arc-cosine kernels of
degree 1 and 0; Jacot, Gabriel, Hongler 2018 for the NTK as their sum)::

    Theta_inf(x, x') = |x| |x'| kappa_1(theta) + (x . x') kappa_0(theta)
    kappa_1 = (sin theta + (pi - theta) cos theta) / (2 pi),   kappa_0 = (pi - theta) / (2 pi)

(so Theta_inf(x, x) = |x|^2: lambda_0 = 1 for one unit-norm sample, against 2 for the uv model).

Active units obey the uv model's exact map as long as no unit switches (the quadratic model of
Zhu et al. 2022, lecture 11/7 of the seed-002 notes: boundaries 2 and 4 again). A unit whose
pre-activation is negative on every training input gets no gradient in either layer (A = D = 0)
and stays dead for good under full-batch GD; :func:`alive_fraction` counts the others.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.experiments.lrphases.uv import kernel_top

Array = Any

#: The catapult's growth: the top-mode loss exceeds this multiple of max(its t = 0 value, L_0 / n)
#: (L_0 / n: the loss per mode, so that other modes' residual leaking into e0 as the NTK moves by
#: O(1/sqrt(m)) does not count). The unstable mode grows by (1 - eta lambda_0)^2 a step, but at
#: finite width lambda falls within a few steps once the loss has grown, so near eta lambda_0 = 2
#: the growth is small: the measured lower boundary sits a little above 2 (2.05 - 2.15 at
#: m = 256 - 512) and comes down with width.
RISE_FACTOR = 2.0


def init_params(seed: int, width: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """U (m, d) and v (m,) with i.i.d. N(0, 1) entries, drawn by NumPy's PCG64 from
    ``[seed, 3]`` (the uv model uses ``[seed, 1]``, the eos MLP ``[seed, 2]``)."""
    rng = np.random.default_rng([seed, 3])
    return rng.standard_normal((width, d)), rng.standard_normal(width)


def _scale(u: Array) -> Array:
    return jnp.sqrt(jnp.asarray(u.shape[0], dtype=u.dtype))


def outputs(u: Array, v: Array, x: Array) -> Array:
    """f(x_a) = sum_i v_i relu(u_i . x_a) / sqrt(m) for every row x_a of x."""
    return jax.nn.relu(x @ u.T) @ v / _scale(u)


def loss(u: Array, v: Array, x: Array, y: Array) -> Array:
    """L = (1 / 2n) sum_a (f(x_a) - y_a)^2."""
    r = outputs(u, v, x) - y
    return 0.5 * jnp.mean(r * r)


def grads(u: Array, v: Array, x: Array, y: Array) -> tuple[Array, Array]:
    """Analytic gradient of :func:`loss`: with r_a = (f_a - y_a) / n (chain rule, relu' = D),

    dL/du_i = v_i sum_a r_a D_ai x_a / sqrt(m),   dL/dv_i = sum_a r_a A_ai / sqrt(m).
    """
    pre = x @ u.T  # (n, m)
    act = jax.nn.relu(pre)
    on = (pre > 0).astype(u.dtype)
    s = _scale(u)
    r = (act @ v / s - y) / x.shape[0]
    return ((on * r[:, None]).T @ x) * v[:, None] / s, act.T @ r / s


def gd_step(u: Array, v: Array, x: Array, y: Array, eta: Array) -> tuple[Array, Array]:
    """One full-batch GD step theta' = theta - eta grad L(theta)."""
    gu, gv = grads(u, v, x, y)
    return u - eta * gu, v - eta * gv


def ntk_matrix(u: Array, v: Array, x: Array) -> Array:
    """Theta_ab = (1 / m) sum_i [A_ai A_bi + v_i^2 D_ai D_bi x_a . x_b] (module docstring)."""
    pre = x @ u.T
    act = jax.nn.relu(pre)
    on = (pre > 0).astype(u.dtype)
    return (act @ act.T + ((on * (v * v)) @ on.T) * (x @ x.T)) / u.shape[0]


def ntk_top(u: Array, v: Array, x: Array) -> Array:
    """lambda_t of the ReLU network: GD on L is stable near a minimum iff eta < 2 / lambda."""
    return kernel_top(ntk_matrix(u, v, x))


def alive_fraction(u: Array, x: Array) -> Array:
    """Fraction of units active (u_i . x_a > 0) on at least one training input."""
    return jnp.mean(jnp.any(x @ u.T > 0, axis=0).astype(u.dtype))


def infinite_width_ntk(x: np.ndarray) -> np.ndarray:
    """Theta_inf(x_a, x_b) by the arc-cosine closed form (module docstring), float64 NumPy."""
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1)
    outer = np.outer(norms, norms)
    dot = x @ x.T
    cos = np.clip(dot / np.where(outer > 0, outer, 1.0), -1.0, 1.0)
    theta = np.arccos(cos)
    kappa1 = (np.sin(theta) + (math.pi - theta) * cos) / (2.0 * math.pi)
    kappa0 = (math.pi - theta) / (2.0 * math.pi)
    return outer * kappa1 + dot * kappa0


def infinite_width_top(x: np.ndarray) -> float:
    """lambda_max(Theta_inf / n): the lambda_0 of an infinitely wide ReLU net on these inputs."""
    n = x.shape[0]
    return float(np.linalg.eigvalsh(infinite_width_ntk(x) / n)[-1])


# ------------------------------------------------------------------------------------------------
# one run: a record per step
# ------------------------------------------------------------------------------------------------
def _record(u: Array, v: Array, x: Array, y: Array, e0: Array) -> dict[str, Array]:
    """loss, lambda_t, the loss along the initial top eigenvector e0 of Theta_0 / n
    ((e0 . g)^2 / 2n, g = f - y) and the alive fraction."""
    g = outputs(u, v, x) - y
    return {
        "loss": 0.5 * jnp.mean(g * g),
        "ntk": ntk_top(u, v, x),
        "top_loss": 0.5 * (e0 @ g) ** 2 / x.shape[0],
        "alive": alive_fraction(u, x),
    }


def _chunk(
    state: tuple[Array, Array], x: Array, y: Array, e0: Array, eta: Array, length: int
) -> tuple[tuple[Array, Array], dict[str, Array]]:
    """``length`` GD steps; records the state *before* each step."""

    def body(carry: tuple[Array, Array], _: Any) -> tuple[tuple[Array, Array], dict[str, Array]]:
        u, v = carry
        rec = _record(u, v, x, y, e0)
        return gd_step(u, v, x, y, eta), rec

    return jax.lax.scan(body, state, None, length=length)


chunk = jax.jit(_chunk, static_argnames=("length",))
record = jax.jit(_record)


@jax.jit
def init_state(u: Array, v: Array, x: Array, y: Array) -> dict[str, Array]:
    """At init: the eigenvalues (ascending) and eigenvectors of Theta_0 / n, the residual
    g_0 = f_0 - y and L_0, in one compiled call."""
    evals, evecs = jnp.linalg.eigh(ntk_matrix(u, v, x) / x.shape[0])
    g = outputs(u, v, x) - y
    return {"evals": evals, "evecs": evecs, "residual": g, "loss": 0.5 * jnp.mean(g * g)}


# ------------------------------------------------------------------------------------------------
# many runs at once: the boundary search (vmap over seeds and step sizes)
# ------------------------------------------------------------------------------------------------
def outcome(
    u: Array, v: Array, x: Array, y: Array, e0: Array, eta: Array, cap: Array, steps: int
) -> dict[str, Array]:
    """GD for ``steps`` at one eta, reduced to what classifies the run.

    ``top_rise``: max over t >= 1 of the top-mode loss (e0 . g_t)^2 / 2n over max(its t = 0
    value, L_0 / n) (> :data:`RISE_FACTOR`: the mode the linear theory calls unstable for
    eta lambda_0 > 2 grew); ``loss_rise``: max over t >= 1 of L_t / L_0; ``final_loss`` (inf once a loss was
    non-finite or reached ``cap``: a blow-up); ``final_ntk`` (lambda_T) and ``alive``.
    """

    n = x.shape[0]

    def top_loss(g: Array) -> Array:
        return 0.5 * (e0 @ g) ** 2 / n

    def body(
        carry: tuple[Array, Array, Array, Array, Array], _: Any
    ) -> tuple[tuple[Array, Array, Array, Array, Array], None]:
        uu, vv, peak, peak_loss, bad = carry
        uu, vv = gd_step(uu, vv, x, y, eta)
        g = outputs(uu, vv, x) - y
        cur = 0.5 * jnp.mean(g * g)
        bad = bad | ~jnp.isfinite(cur) | (cur >= cap)
        peak = jnp.maximum(peak, jnp.where(jnp.isfinite(cur), top_loss(g), jnp.inf))
        peak_loss = jnp.maximum(peak_loss, jnp.where(jnp.isfinite(cur), cur, jnp.inf))
        return (uu, vv, peak, peak_loss, bad), None

    g0 = outputs(u, v, x) - y
    zero = jnp.zeros((), dtype=u.dtype)
    init = (u, v, zero, zero, jnp.zeros((), dtype=bool))
    (uf, vf, peak, peak_loss, bad), _ = jax.lax.scan(body, init, None, length=steps)
    last = loss(uf, vf, x, y)
    bad = bad | ~jnp.isfinite(last)
    loss0 = 0.5 * jnp.mean(g0 * g0)
    scale = jnp.maximum(jnp.maximum(top_loss(g0), loss0 / n), jnp.finfo(u.dtype).tiny)
    tiny = jnp.finfo(u.dtype).tiny
    return {
        "initial_loss": loss0,
        "top_rise": jnp.where(bad, jnp.inf, peak / scale),
        "loss_rise": jnp.where(bad, jnp.inf, peak_loss / jnp.maximum(loss0, tiny)),
        "final_loss": jnp.where(bad, jnp.inf, last),
        "final_ntk": jnp.where(bad, jnp.nan, ntk_top(uf, vf, x)),
        "alive": alive_fraction(uf, x),
        "blew_up": bad,
    }


@functools.partial(jax.jit, static_argnames=("steps",))
def outcomes(
    u: Array, v: Array, x: Array, y: Array, e0: Array, etas: Array, cap: Array, steps: int
) -> dict[str, Array]:
    """:func:`outcome` for a batch of seeds (leading axis of u, v, e0, cap) and, per seed, a row
    of step sizes ``etas`` (S, K): one compiled call, vmapped over both axes."""

    def per_seed(uu: Array, vv: Array, ee: Array, cc: Array, row: Array) -> dict[str, Array]:
        return jax.vmap(lambda eta: outcome(uu, vv, x, y, ee, eta, cc, steps))(row)

    return jax.vmap(per_seed)(u, v, e0, cap, etas)

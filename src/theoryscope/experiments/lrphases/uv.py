"""The two-layer linear "uv" model of the catapult mechanism and its exact 2-D map.

Model (Lewkowycz, Bahri, Dyer, Sohl-Dickstein, Gur-Ari 2020, section 2; NTK parametrization)::

    f(x) = v^T U x / sqrt(m),     U in R^{m x d},  v in R^m,  U_ij, v_i ~ N(0, 1)
    L    = (1 / 2n) sum_a (f(x_a) - y_a)^2                 (MSE, full batch)
    Theta(x_a, x_b) = (|v|^2 x_a.x_b + (U x_a).(U x_b)) / m  (the NTK; sum over both layers)
    lambda_t = lambda_max(Theta_t / n)                        (the curvature GD sees)

For one sample with |x| = 1 write u = U x; then f = v.u / sqrt(m), lambda = (|u|^2 + |v|^2) / m
and GD with step eta closes exactly on (f, lambda) (paper eq. 3 with y = 0; derived here for any
label y, with g = f - y)::

    u' = u - eta g v / sqrt(m),   v' = v - eta g u / sqrt(m)
    f'      = f - eta lambda g + eta^2 g^2 f / m
    lambda' = lambda - 4 eta g f / m + eta^2 g^2 lambda / m

With y = 0 (paper eq. 3): f' = f (1 - eta lambda + eta^2 f^2 / m) and
lambda' = lambda + eta f^2 (eta lambda - 4) / m,
so lambda grows for eta lambda > 4 (divergence) and shrinks for eta lambda < 4; for
2 < eta lambda_0 < 4 the loss first grows like (1 - eta lambda_0)^(2t) until f^2 = O(m), and
lambda falls below 2 / eta, after which the loss converges (the catapult).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

Array = Any


def init_params(seed: int, width: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """U (m, d) and v (m,) with i.i.d. N(0, 1) entries (NTK parametrization, paper section 2).

    Drawn by NumPy's PCG64 from ``seed`` (reproducible bit for bit): compiling JAX's threefry
    sampler costs seconds on a CPU, the draw itself microseconds.
    """
    rng = np.random.default_rng([seed, 1])
    return rng.standard_normal((width, d)), rng.standard_normal(width)


def outputs(u: Array, v: Array, x: Array) -> Array:
    """f(x_a) = v^T U x_a / sqrt(m) for every row x_a of x."""
    m = u.shape[0]
    return (x @ u.T) @ v / jnp.sqrt(jnp.asarray(m, dtype=u.dtype))


def loss(u: Array, v: Array, x: Array, y: Array) -> Array:
    """L = (1 / 2n) sum_a (f(x_a) - y_a)^2."""
    r = outputs(u, v, x) - y
    return 0.5 * jnp.mean(r * r)


def grads(u: Array, v: Array, x: Array, y: Array) -> tuple[Array, Array]:
    """Analytic gradient of :func:`loss`: with r_a = (f_a - y_a) / n,

    dL/dU = v (X^T r)^T / sqrt(m),  dL/dv = U X^T r / sqrt(m)  (chain rule on f = v^T U x / sqrt m).
    """
    m = u.shape[0]
    n = x.shape[0]
    r = (outputs(u, v, x) - y) / n
    s = jnp.sqrt(jnp.asarray(m, dtype=u.dtype))
    xr = x.T @ r  # (d,)
    return jnp.outer(v, xr) / s, u @ xr / s


def ntk_matrix(u: Array, v: Array, x: Array) -> Array:
    """Theta_ab = (|v|^2 x_a.x_b + (U x_a).(U x_b)) / m (paper section 2, both layers)."""
    m = u.shape[0]
    ux = x @ u.T  # (n, m)
    return ((v @ v) * (x @ x.T) + ux @ ux.T) / m


def kernel_top(theta: Array) -> Array:
    """lambda_max(Theta / n) of an n x n NTK, exactly (one sample: Theta_11; else ``eigvalsh``);
    the ReLU net's :func:`.relu.ntk_top` uses it too."""
    n = theta.shape[0]
    if n == 1:
        return theta[0, 0]
    return jnp.linalg.eigvalsh(theta / n)[-1]


def ntk_top(u: Array, v: Array, x: Array) -> Array:
    """lambda = lambda_max(Theta / n): GD on L is stable near a minimum iff eta < 2 / lambda."""
    return kernel_top(ntk_matrix(u, v, x))


def gd_step(u: Array, v: Array, x: Array, y: Array, eta: Array) -> tuple[Array, Array]:
    """One full-batch GD step theta' = theta - eta grad L(theta)."""
    gu, gv = grads(u, v, x, y)
    return u - eta * gu, v - eta * gv


def exact_map(f: float, lam: float, y: float, eta: float, m: int) -> tuple[float, float]:
    """One step of the closed (f, lambda) map of the single-sample uv model (module docstring)."""
    g = f - y
    f_next = f - eta * lam * g + eta * eta * g * g * f / m
    lam_next = lam - 4.0 * eta * g * f / m + eta * eta * g * g * lam / m
    return f_next, lam_next


def exact_trajectory(
    f0: float, lam0: float, y: float, eta: float, m: int, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Iterate :func:`exact_map` in float64: arrays f_t, lambda_t for t = 0..steps."""
    f = np.empty(steps + 1)
    lam = np.empty(steps + 1)
    f[0], lam[0] = f0, lam0
    for t in range(steps):
        f[t + 1], lam[t + 1] = exact_map(float(f[t]), float(lam[t]), y, eta, m)
        if not (math.isfinite(f[t + 1]) and math.isfinite(lam[t + 1])):
            f[t + 1 :], lam[t + 1 :] = np.nan, np.nan
            break
    return f, lam


def _record(u: Array, v: Array, x: Array, y: Array) -> dict[str, Array]:
    return {"loss": loss(u, v, x, y), "ntk": ntk_top(u, v, x), "output": outputs(u, v, x)[0]}


def _chunk(
    state: tuple[Array, Array], x: Array, y: Array, eta: Array, length: int
) -> tuple[tuple[Array, Array], dict[str, Array]]:
    """``length`` GD steps; records the metrics of the state *before* each step."""

    def body(carry: tuple[Array, Array], _: Any) -> tuple[tuple[Array, Array], dict[str, Array]]:
        u, v = carry
        rec = _record(u, v, x, y)
        return gd_step(u, v, x, y, eta), rec

    return jax.lax.scan(body, state, None, length=length)


chunk = jax.jit(_chunk, static_argnames=("length",))
record = jax.jit(_record)


@jax.jit
def init_state(u: Array, v: Array, x: Array, y: Array) -> dict[str, Array]:
    """lambda_0 and the t = 0 record, in one compiled call."""
    return {"lambda0": ntk_top(u, v, x), "record": _record(u, v, x, y)}


def _sweep_one(
    u: Array, v: Array, x: Array, y: Array, eta: Array, steps: int, cap: Array
) -> dict[str, Array]:
    """GD for ``steps`` at one eta: the initial loss, the largest loss over t >= 1, and the
    final loss and lambda (all from the same compiled code, so comparisons are exact)."""

    def clean(value: Array) -> Array:
        return jnp.where(jnp.isfinite(value) & (value < cap), value, jnp.inf)

    def body(carry: tuple[Array, Array, Array], _: Any) -> tuple[tuple[Array, Array, Array], None]:
        uu, vv, peak = carry
        uu, vv = gd_step(uu, vv, x, y, eta)
        return (uu, vv, jnp.maximum(peak, clean(loss(uu, vv, x, y)))), None

    first = loss(u, v, x, y)
    peak0 = jnp.asarray(0.0, dtype=u.dtype)
    (uf, vf, peak), _ = jax.lax.scan(body, (u, v, peak0), None, length=steps)
    last = clean(loss(uf, vf, x, y))
    bad = ~jnp.isfinite(last) | ~jnp.isfinite(peak)
    return {
        "initial_loss": first,
        "final_loss": jnp.where(bad, jnp.inf, last),
        "max_loss_after_start": jnp.where(bad, jnp.inf, peak),
        "final_ntk": jnp.where(bad, jnp.nan, ntk_top(uf, vf, x)),
    }


@functools.partial(jax.jit, static_argnames=("steps",))
def sweep(
    u: Array, v: Array, x: Array, y: Array, etas: Array, cap: Array, steps: int
) -> dict[str, Array]:
    """vmap over eta of GD from one shared initialization (the phase diagram); a loss that is
    not finite or reaches ``cap`` counts as diverged (final/max loss inf, final lambda NaN)."""
    return jax.vmap(lambda eta: _sweep_one(u, v, x, y, eta, steps, cap))(etas)

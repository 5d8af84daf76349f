"""Monte Carlo evaluation of Hanin & Rolnick's co-area formula for the breakpoint density (JAX).

Hanin & Rolnick (ICML 2019, Theorem 3, k = 1): for a neuron z with bias b_z whose conditional
density given all other parameters is rho_b, and the line ``x(t) = x_0 + t u``,

    E #{t in [0, 1]: z(x(t)) = 0} = int_0^1 E[ |y_z'(t)| rho_b(-y_z(t)) ] dt,
    y_z(t) = z(x(t)) - b_z   (the weight part; it and its derivative do not depend on b_z).

This module estimates the right side independently of the exact counter: draw t ~ U[0, 1] (M
points per net), run the net forward with a JVP along u (plain ``jax.jvp``), and average
``sum_z |y_z'| rho_b(-y_z)`` per hidden layer. The estimate per net is unbiased for the expected
number of breakpoints of nets drawn from the same law; its mean over nets is compared with the
exact counts of the same nets (paired) in :mod:`.studies`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.experiments.linregions.network import Net


def stack(nets: Sequence[Net]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Hidden layers of same-shaped nets stacked on a leading net axis."""
    depth = len(nets[0].hidden)
    return [
        (np.stack([n.hidden[l][0] for n in nets]), np.stack([n.hidden[l][1] for n in nets]))
        for l in range(depth)
    ]


def _bias_density(y: jnp.ndarray, c_b: float, bias: str) -> jnp.ndarray:
    if bias == "gaussian":
        return jnp.exp(-0.5 * y * y / c_b) / math.sqrt(2.0 * math.pi * c_b)
    if bias == "uniform":
        half = math.sqrt(3.0 * c_b)
        return jnp.where(jnp.abs(y) <= half, 1.0 / (2.0 * half), 0.0)
    raise ValueError(f"the co-area formula needs a bias density; got bias {bias!r}")


def coarea_layers(
    nets: Sequence[Net],
    x0: np.ndarray,
    x1: np.ndarray,
    *,
    c_b: float,
    bias: str,
    points: int,
    key: jax.Array,
) -> np.ndarray:
    """Per net and hidden layer, the Monte Carlo estimate of
    ``int_0^1 sum_{z in layer} |y_z'(t)| rho_b(-y_z(t)) dt`` (shape (nets, depth))."""
    if bias not in ("gaussian", "uniform") or c_b <= 0.0:
        raise ValueError("the co-area formula needs biases with a density (C_b > 0)")
    layers = stack(nets)
    with jax.enable_x64(True):
        x0j = jnp.asarray(x0, jnp.float64)
        uj = jnp.asarray(x1, jnp.float64) - x0j
        params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in layers]
        t = jax.random.uniform(key, (len(nets), int(points)), dtype=jnp.float64)

        def weight_parts(p: list[tuple[jnp.ndarray, jnp.ndarray]], x: jnp.ndarray) -> list:
            h, ys = x, []
            for w, b in p:
                y = w @ h
                ys.append(y)
                h = jax.nn.relu(y + b)
            return ys

        def one_point(p: list[tuple[jnp.ndarray, jnp.ndarray]], s: jnp.ndarray) -> jnp.ndarray:
            ys, dys = jax.jvp(lambda x: weight_parts(p, x), (x0j + s * uj,), (uj,))
            return jnp.stack([jnp.sum(jnp.abs(dy) * _bias_density(-y, c_b, bias))
                              for y, dy in zip(ys, dys, strict=True)])  # fmt: skip

        per_net = jax.vmap(lambda p, ts: jnp.mean(jax.vmap(lambda s: one_point(p, s))(ts), 0))
        return np.asarray(jax.jit(per_net)(params, t))

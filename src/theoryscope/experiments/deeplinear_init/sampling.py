"""Monte Carlo over random deep linear networks (JAX): ``log ||theta||^2`` of many nets at once.

Two samplers of the same law (:mod:`.productlaw`):

``matrices``  the honest simulation. Each net draws every weight matrix ``W^(l)`` (entries
              ``N(0, 1/n_{l-1})``) and the row vector ``theta^T = W^(L+1) ... W^(1)`` is built
              from the top, one vector-matrix product per layer, renormalized after each layer
              (``log ||theta||^2`` accumulates the log norms, so no under/overflow at large L/n).
              Nets are ``vmap``-ed; layers go through a ``fori_loop`` with the depth traced when
              the hidden widths are equal (one compilation for every depth), else a
              ``lax.scan`` with the hidden widths padded to their max.
              Every net has its own key ``split(fold_in(PRNGKey(seed), batch), nets)[i]`` and each
              layer ``fold_in(net_key, l)``: a net's weights do not depend on how nets are
              grouped into vmapped calls (its value may, by one rounding, through XLA's
              vectorization; the grouping is fixed by the config, so runs reproduce bit for bit).
``exact``     the product law itself: ``log ||theta||^2 = sum_l log(2 G_l / n_l)``, ``G_l ~
              Gamma(n_l/2)``, drawn by NumPy (float64) from ``default_rng([seed, batch])``
              (``jax.random.loggamma`` would cost seconds of compilation per shape).

:func:`log_norm2_naive` is the benchmark's baseline: a NumPy loop over nets multiplying the full
matrices ``W^(L+1) (W^(L) (... W^(1)))``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

#: Bound on (nets in one vmapped call) x (entries of one weight matrix).
CALL_ENTRIES = 1 << 22


def batch_key(seed: int, batch: int) -> jax.Array:
    """The key of record ``batch`` (never reused: one ``fold_in`` per batch)."""
    return jax.random.fold_in(jax.random.PRNGKey(int(seed)), int(batch))


def batch_rng(seed: int, batch: int) -> np.random.Generator:
    """The NumPy stream of record ``batch``: ``default_rng(SeedSequence([seed, batch]))``."""
    return np.random.default_rng([int(seed), int(batch)])


@partial(jax.jit, static_argnames=("widths", "hidden", "dtype"))
def _matrices_call(keys: jax.Array, widths: tuple[int, ...], hidden: int, dtype: Any) -> jax.Array:
    """log ||theta||^2 of one net per key (module docstring); ``hidden`` = max hidden width."""
    n0, depth = widths[0], len(widths) - 1

    def one(key: jax.Array) -> jax.Array:
        if depth == 0:  # theta = W^(1), a 1 x n_0 Gaussian row
            r = jax.random.normal(jax.random.fold_in(key, 1), (n0,), dtype) / math.sqrt(n0)
            return jnp.log(jnp.sum(r * r))
        top = widths[-1]
        z = jax.random.normal(jax.random.fold_in(key, depth + 1), (hidden,), dtype)
        r = jnp.where(jnp.arange(hidden) < top, z, 0.0) / math.sqrt(top)
        s2 = jnp.sum(r * r)
        acc, r = jnp.log(s2), r / jnp.sqrt(s2)
        if depth > 1:
            layers = jnp.arange(depth, 1, -1)  # l = L .. 2: R^{n_l} -> R^{n_{l-1}}
            fan_in = jnp.asarray([widths[l - 1] for l in range(depth, 1, -1)], dtype)
            cols = jnp.arange(hidden)

            def step(carry: Any, xs: Any) -> Any:
                r, acc = carry
                l, n_in = xs
                w = jax.random.normal(jax.random.fold_in(key, l), (hidden, hidden), dtype)
                w = jnp.where(cols[None, :] < n_in, w, 0.0) / jnp.sqrt(n_in)
                r = r @ w
                s2 = jnp.sum(r * r)
                return (r / jnp.sqrt(s2), acc + jnp.log(s2)), None

            (r, acc), _ = jax.lax.scan(step, (r, acc), (layers, fan_in))
        w1 = jax.random.normal(jax.random.fold_in(key, 1), (hidden, n0), dtype) / math.sqrt(n0)
        theta = r @ w1
        return acc + jnp.log(jnp.sum(theta * theta))

    return jax.vmap(one)(keys)


@partial(jax.jit, static_argnames=("n0", "n", "dtype"))
def _uniform_call(keys: jax.Array, depth: jax.Array, n0: int, n: int, dtype: Any) -> jax.Array:
    """The same for equal hidden widths n and depth >= 1, with the depth traced (a
    ``fori_loop``): one compilation serves every depth."""

    def one(key: jax.Array) -> jax.Array:
        z = jax.random.normal(jax.random.fold_in(key, depth + 1), (n,), dtype)
        r = z / math.sqrt(n)
        s2 = jnp.sum(r * r)
        acc, r = jnp.log(s2), r / jnp.sqrt(s2)

        def step(i: Any, carry: Any) -> Any:  # layer l = L - i: R^n -> R^n
            r, acc = carry
            w = jax.random.normal(jax.random.fold_in(key, depth - i), (n, n), dtype)
            r = r @ w / math.sqrt(n)
            s2 = jnp.sum(r * r)
            return r / jnp.sqrt(s2), acc + jnp.log(s2)

        r, acc = jax.lax.fori_loop(0, depth - 1, step, (r, acc))
        w1 = jax.random.normal(jax.random.fold_in(key, 1), (n, n0), dtype) / math.sqrt(n0)
        theta = r @ w1
        return acc + jnp.log(jnp.sum(theta * theta))

    return jax.vmap(one)(keys)


def log_norm2_matrices(
    key: jax.Array, widths: Sequence[int], nets: int, dtype: str = "float32"
) -> np.ndarray:
    """``log ||theta||^2`` of ``nets`` networks built from Gaussian weight matrices."""
    widths = tuple(int(n) for n in widths)
    hidden = max(widths[1:], default=1)
    uniform = len(widths) > 1 and len(set(widths[1:])) == 1
    per_call = max(1, min(int(nets), CALL_ENTRIES // max(1, hidden * max(hidden, widths[0]))))
    keys = jax.random.split(key, int(nets))
    out = []
    with jax.enable_x64(dtype == "float64"):
        dt = jnp.float64 if dtype == "float64" else jnp.float32
        for start in range(0, int(nets), per_call):
            part = keys[start : start + per_call]
            take = part.shape[0]
            if take < per_call:  # pad to one compiled shape
                part = jnp.concatenate([part, keys[: per_call - take]])
            if uniform:
                depth = jnp.asarray(len(widths) - 1, jnp.int32)
                vals = _uniform_call(part, depth, widths[0], hidden, dt)
            else:
                vals = _matrices_call(part, widths, hidden, dt)
            out.append(np.asarray(vals, np.float64)[:take])
    return np.concatenate(out)


def log_norm2_exact(rng: np.random.Generator, widths: Sequence[int], nets: int) -> np.ndarray:
    """``log ||theta||^2`` of ``nets`` draws of the product law ``prod chi^2_{n_l}/n_l`` (NumPy
    float64: ``sum_l log(2 G_l / n_l)``, ``G_l ~ Gamma(n_l/2)``)."""
    n = np.asarray(list(widths), dtype=np.float64)
    g = rng.standard_gamma(n[None, :] / 2.0, size=(int(nets), n.size))
    return np.sum(np.log(g), axis=1) + float(np.sum(np.log(2.0 / n)))


def log_norm2_naive(rng: np.random.Generator, widths: Sequence[int], nets: int) -> np.ndarray:
    """The baseline: per net, multiply the full matrices ``W^(L+1) ... W^(1)`` (NumPy, float64)."""
    widths = list(int(n) for n in widths) + [1]
    out = np.empty(int(nets))
    for i in range(int(nets)):
        prod = rng.standard_normal((widths[1], widths[0])) / math.sqrt(widths[0])
        for l in range(2, len(widths)):
            w = rng.standard_normal((widths[l], widths[l - 1])) / math.sqrt(widths[l - 1])
            prod = w @ prod
        out[i] = math.log(float(np.sum(prod * prod)))
    return out


def sample_log_norm2(
    sampler: str, seed: int, batch: int, widths: Sequence[int], nets: int, dtype: str = "float32"
) -> np.ndarray:
    """Record ``batch`` of a run: ``nets`` values of ``log ||theta||^2`` from ``sampler``."""
    if sampler == "exact":
        return log_norm2_exact(batch_rng(seed, batch), widths, nets)
    return log_norm2_matrices(batch_key(seed, batch), widths, nets, dtype)

"""Finite-width Monte Carlo: output covariance and empirical NTK of many random nets (spec 1, 4).

The network is written in the NTK parametrization of spec 4,

    z^(1) = sqrt(C_w / n_0) W^(1) x + sqrt(C_b) b^(1),
    z^(l+1) = sqrt(C_w / n_l) W^(l+1) sigma(z^(l)) + sqrt(C_b) b^(l+1),   W, b ~ N(0, 1),

which has the same forward distribution as the standard parametrization of spec 1, so
E[z^(L)(x) z^(L)(x')] = K^(L)(x, x') at infinite width. Networks are sampled many at once
(``vmap`` over PRNG keys, in batches bounding memory).

The empirical NTK, Theta(x, x') = sum_theta df(x)/dtheta df(x')/dtheta, is computed from
forward activations a^(l) = sigma(z^(l)) (a^(0) = x) and backward vectors
delta^(l) = df/dz^(l) (delta^(L) = 1, delta^(l) = sigma'(z^(l)) * sqrt(C_w/n_l) W^(l+1)^T delta^(l+1)):

    Theta(x, x') = sum_l (delta^(l)(x) . delta^(l)(x')) (C_w / n_{l-1} a^(l-1)(x) . a^(l-1)(x') + C_b)

(the test checks it against ``jax.jacrev``). It converges to Theta^(L) of spec 4 with
fluctuations ~ 1/sqrt(width); the per-network feature kernel
C_b + C_w / n_{L-1} a^(L-1)(x) . a^(L-1)(x') converges to K^(L) the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.core.validation import as_choice, as_int
from theoryscope.experiments.widenets.activations import Activation, get_activation
from theoryscope.experiments.widenets.kernels import kernels, layer_variances

#: Upper bound on (nets in a batch) x (weights per net), to bound memory.
BATCH_WEIGHTS = 2**24


def init_params(key: jax.Array, widths: Sequence[int], dtype: Any = jnp.float32) -> list[dict]:
    """Standard-normal weights and biases for widths (n_0, n_1, ..., n_L).

    One ``jax.random.normal`` draw, sliced: a single threefry kernel keeps compilation short.
    """
    sizes = [(widths[l], widths[l - 1]) for l in range(1, len(widths))]
    total = sum(a * b + a for a, b in sizes)
    flat = jax.random.normal(key, (total,), dtype)
    params, at = [], 0
    for a, b in sizes:
        w = flat[at : at + a * b].reshape(a, b)
        at += a * b
        params.append({"w": w, "b": flat[at : at + a]})
        at += a
    return params


def forward(params: list[dict], x: jax.Array, act: Activation, cws: Any, cbs: Any) -> list:
    """Pre-activations z^(1..L) for inputs x (P, n_0) in the NTK parametrization (spec 4)."""
    zs = []
    a = x
    for l, p in enumerate(params):
        n_in = a.shape[-1]
        z = jnp.sqrt(cws[l] / n_in) * a @ p["w"].T + jnp.sqrt(cbs[l]) * p["b"]
        zs.append(z)
        a = act.fn(z)
    return zs


def network_output(
    params: list[dict], x: jax.Array, act: Activation, cws: Any, cbs: Any
) -> jax.Array:
    """The scalar output f(x) = z^(L)(x)[0] for each input row."""
    return forward(params, x, act, cws, cbs)[-1][:, 0]


def empirical_ntk(
    params: list[dict], x: jax.Array, act: Activation, cws: Any, cbs: Any
) -> jax.Array:
    """J J^T of the scalar output by forward/backward vectors (module docstring)."""
    zs = forward(params, x, act, cws, cbs)
    acts = [x] + [act.fn(z) for z in zs[:-1]]
    delta = jnp.zeros_like(zs[-1]).at[:, 0].set(1.0)
    theta = jnp.zeros((x.shape[0], x.shape[0]), x.dtype)
    for l in range(len(params) - 1, -1, -1):
        a = acts[l]
        n_in = a.shape[-1]
        theta = theta + (delta @ delta.T) * (cws[l] / n_in * (a @ a.T) + cbs[l])
        if l > 0:
            back = jnp.sqrt(cws[l] / n_in) * delta @ params[l]["w"]
            delta = back * act.d1(zs[l - 1])
    return theta


def feature_kernel(
    params: list[dict], x: jax.Array, act: Activation, cws: Any, cbs: Any
) -> jax.Array:
    """C_b + C_w / n_{L-1} sigma(z^(L-1)) . sigma(z^(L-1)): the output covariance given the net below."""
    zs = forward(params, x, act, cws, cbs)
    a = x if len(zs) == 1 else act.fn(zs[-2])
    return cbs[-1] + cws[-1] / a.shape[-1] * (a @ a.T)


@partial(jax.jit, static_argnames=("widths", "act", "with_ntk"))
def _batch(keys, x, widths, act, cws, cbs, with_ntk):
    def one(key):
        p = init_params(key, widths, x.dtype)
        out = network_output(p, x, act, cws, cbs)
        fk = feature_kernel(p, x, act, cws, cbs)
        nt = empirical_ntk(p, x, act, cws, cbs) if with_ntk else fk
        return out, fk, nt

    return jax.vmap(one)(keys)


def sample_networks(
    x: Any,
    *,
    activation: Any = "relu",
    depth: int = 2,
    width: int = 256,
    nets: int = 256,
    cw: float | Sequence[float] = 1.0,
    cb: float | Sequence[float] = 0.0,
    seed: int = 0,
    dtype: str = "float32",
    with_ntk: bool = True,
) -> dict[str, np.ndarray]:
    """Outputs (nets, P), feature kernels and empirical NTKs (nets, P, P) of random networks.

    Hidden widths are all ``width``; the output width is 1; ``depth`` counts weight layers.
    """
    act = get_activation(activation)
    depth = as_int("depth", depth, low=1)
    width = as_int("width", width, low=1)
    nets = as_int("nets", nets, low=2)
    as_choice("dtype", dtype, ("float32", "float64"))
    cws, cbs = layer_variances(cw, cb, depth)
    x = np.atleast_2d(np.asarray(x, dtype=float))
    widths = (x.shape[1],) + (width,) * (depth - 1) + (1,)
    per_net = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
    batch = int(max(1, min(nets, BATCH_WEIGHTS // max(per_net, 1))))
    keys = jax.random.split(jax.random.PRNGKey(int(seed)), nets)
    outs, fks, nts = [], [], []
    with jax.enable_x64(dtype == "float64"):
        jd = jnp.float64 if dtype == "float64" else jnp.float32
        xj = jnp.asarray(x, jd)
        cw_j, cb_j = jnp.asarray(cws, jd), jnp.asarray(cbs, jd)
        for start in range(0, nets, batch):
            kb = keys[start : start + batch]
            if kb.shape[0] < batch:  # pad to a fixed batch shape (one compilation)
                kb = jnp.concatenate([kb, keys[: batch - kb.shape[0]]])
            o, f, t = _batch(kb, xj, widths, act, cw_j, cb_j, with_ntk)
            take = min(batch, nets - start)
            outs.append(np.asarray(o[:take], float))
            fks.append(np.asarray(f[:take], float))
            nts.append(np.asarray(t[:take], float))
    return {
        "outputs": np.concatenate(outs),
        "feature_kernel": np.concatenate(fks),
        "ntk": np.concatenate(nts) if with_ntk else np.empty(0),
    }


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    ok = (x > 0) & (y > 0) & np.isfinite(y)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


def convergence(
    x: Any,
    *,
    activation: Any = "relu",
    depth: int = 3,
    widths: Sequence[int] = (16, 32, 64, 128, 256, 512),
    nets: int = 64,
    cw: float | Sequence[float] = 2.0,
    cb: float | Sequence[float] = 0.0,
    seed: int = 0,
    dtype: str = "float32",
    progress: Callable[[float, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Finite-width kernels against K^(L) and Theta^(L) as the width grows (spec 2, 4).

    For each width: the mean over nets of the relative Frobenius deviation of the empirical NTK
    and of the feature kernel from the infinite-width kernels (with standard errors), and the
    output covariance over nets (E f f^T) with its deviation. The fitted log-log slopes of the
    first two are about -1/2. ``progress(fraction, message)`` is told before each width;
    ``should_stop`` is polled between widths (the rows done so far are returned).
    """
    widths = tuple(as_int("widths", w, low=1) for w in widths)
    if len(widths) < 2:
        from theoryscope.errors import ConfigError

        raise ConfigError("widths", "needs at least 2 widths; allowed: a list like 16,32,64")
    x = np.atleast_2d(np.asarray(x, dtype=float))
    inf = kernels(x, activation=activation, depth=depth, cw=cw, cb=cb, dtype="float64")
    k_norm, t_norm = np.linalg.norm(inf.nngp), np.linalg.norm(inf.ntk)
    rows = []
    for i, w in enumerate(widths):
        if should_stop is not None and should_stop():
            break
        if progress is not None:
            progress(i / len(widths), f"width {w}")
        s = sample_networks(
            x,
            activation=activation,
            depth=depth,
            width=w,
            nets=nets,
            cw=cw,
            cb=cb,
            seed=seed + 7919 * i,
            dtype=dtype,
        )
        dn = np.linalg.norm(s["ntk"] - inf.ntk, axis=(1, 2)) / t_norm
        dk = np.linalg.norm(s["feature_kernel"] - inf.nngp, axis=(1, 2)) / k_norm
        f = s["outputs"]
        cov = f.T @ f / f.shape[0]
        rows.append(
            {
                "width": w,
                "ntk_dev": float(dn.mean()),
                "ntk_dev_se": float(dn.std(ddof=1) / np.sqrt(nets)),
                "nngp_dev": float(dk.mean()),
                "nngp_dev_se": float(dk.std(ddof=1) / np.sqrt(nets)),
                "cov_dev": float(np.linalg.norm(cov - inf.nngp) / k_norm),
            }
        )
    w_arr = np.asarray([r["width"] for r in rows], float)
    return {
        "rows": rows,
        "slope_ntk": _slope(w_arr, np.asarray([r["ntk_dev"] for r in rows])),
        "slope_nngp": _slope(w_arr, np.asarray([r["nngp_dev"] for r in rows])),
        "nngp": inf.nngp,
        "ntk": inf.ntk,
    }

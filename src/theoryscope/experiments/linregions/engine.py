"""The run: train a random ReLU net on a 1-D regression and count its linear regions exactly.

Model and loss (JAX): ``f(x) = W^(L+1) sigma(... sigma(W^(1) x + b^(1)) ...) + b^(L+1)`` on the
grid ``x_i = -1 + 2 i / (P - 1)``, ``L(theta) = 1/2 mean_i (f(x_i) - sin(pi k x_i))^2``, full-batch
Adam (Kingma & Ba 2015: beta_1 = 0.9, beta_2 = 0.999, eps = 1e-8, bias-corrected) or GD.

At step 0 and then at log-spaced steps the parameters are copied to float64 and the linear
regions of f on [lo, hi] are counted exactly (:func:`.count1d.count_segment`). Recorded series:
``step``, ``loss``, ``regions`` (linear regions of f), ``activation_regions`` (pieces of constant
activation pattern), ``density`` (breakpoints per unit length). Hanin & Rolnick (ICML 2019,
Sec. 6) report that the count stays of the order of its value at initialisation during training.

The run is seeded: the net is drawn from ``net_rng(seed)``; the data are deterministic. A
non-finite loss or parameter stops the run as ``diverged`` with the records before it.
"""

from __future__ import annotations

import math
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.experiments.linregions.config import Config, segment
from theoryscope.experiments.linregions.count1d import count_segment
from theoryscope.experiments.linregions.network import Net, net_rng, random_net
from theoryscope.protocol import ChunkCallback, Run, StopPredicate

#: Records per streamed chunk.
CHUNK_RECORDS = 5
ADAM = (0.9, 0.999, 1e-8)

Params = list[tuple[Any, Any]]


def record_steps(steps: int, records: int) -> np.ndarray:
    """0, then log-spaced integers up to ``steps`` (distinct, at most ``records``)."""
    if steps <= 1 or records <= 2:
        return np.unique(np.array([0, steps], dtype=np.int64))
    inner = np.geomspace(1.0, float(steps), records - 1)
    return np.unique(np.concatenate([[0], np.round(inner).astype(np.int64), [steps]]))


def training_data(config: Config) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (P, 1) on an equispaced grid of [-1, 1] and targets sin(pi k x) (P, 1)."""
    x = np.linspace(-1.0, 1.0, config.train_points)[:, None]
    return x, np.sin(math.pi * config.freq * x)


def init_net(config: Config, seed: int) -> Net:
    return random_net(net_rng(seed, 0), 1, config.widths, c_w=config.c_w, c_b=config.c_b,
                      bias=config.bias)  # fmt: skip


def forward(params: Params, x: Any) -> Any:
    """f(x) for inputs x (P, n_0)."""
    h = x
    for w, b in params[:-1]:
        h = jax.nn.relu(h @ w.T + b)
    w, b = params[-1]
    return h @ w.T + b


def loss_fn(params: Params, x: Any, y: Any) -> Any:
    """1/2 mean (f(x) - y)^2."""
    r = forward(params, x) - y
    return 0.5 * jnp.mean(r * r)


def _adam_chunk(params: Params, m: Params, v: Params, count: Any, x: Any, y: Any, lr: Any,
                k: Any) -> Any:  # fmt: skip
    b1, b2, eps = ADAM
    grad = jax.grad(loss_fn)

    def body(_: Any, state: Any) -> Any:
        p, m_, v_, c = state
        g = grad(p, x, y)
        c = c + 1
        m_ = jax.tree_util.tree_map(lambda a, gi: b1 * a + (1 - b1) * gi, m_, g)
        v_ = jax.tree_util.tree_map(lambda a, gi: b2 * a + (1 - b2) * gi * gi, v_, g)
        cf = c.astype(x.dtype)
        c1, c2 = 1 - b1**cf, 1 - b2**cf  # bias corrections (Kingma & Ba 2015, Algorithm 1)
        p = jax.tree_util.tree_map(
            lambda a, mi, vi: a - lr * (mi / c1) / (jnp.sqrt(vi / c2) + eps), p, m_, v_
        )
        return p, m_, v_, c

    return jax.lax.fori_loop(0, k, body, (params, m, v, count))


def _gd_chunk(params: Params, x: Any, y: Any, lr: Any, k: Any) -> Any:
    grad = jax.grad(loss_fn)

    def body(_: Any, p: Any) -> Any:
        g = grad(p, x, y)
        return jax.tree_util.tree_map(lambda a, gi: a - lr * gi, p, g)

    return jax.lax.fori_loop(0, k, body, params)


_adam = jax.jit(_adam_chunk)
_gd = jax.jit(_gd_chunk)
_loss = jax.jit(loss_fn)


def to_net(params: Params) -> Net:
    """JAX parameters -> a float64 NumPy net for the exact counter."""
    return Net(tuple((np.asarray(w, np.float64), np.asarray(b, np.float64)) for w, b in params))


def _finite(params: Params) -> bool:
    return all(bool(np.all(np.isfinite(np.asarray(a)))) for pair in params for a in pair)


def simulate(
    config: Config,
    seed: int = 0,
    *,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
) -> Run:
    """Train and count; see the module docstring."""
    x0, x1 = segment(config)
    length = float(config.hi - config.lo)
    steps = record_steps(config.steps, config.records)
    status, message = "finished", None
    keys = ("step", "loss", "regions", "activation_regions", "density")
    rows: dict[str, list[Any]] = {k: [] for k in keys}
    pending: dict[str, list[Any]] = {k: [] for k in keys}
    summary: dict[str, Any] = {}

    def flush() -> None:
        if pending["step"] and on_chunk is not None:
            on_chunk(_stack(pending))
        for key in pending:
            pending[key].clear()

    started = time.perf_counter()
    count_seconds = 0.0
    net = init_net(config, seed)
    xs, ys = training_data(config)
    with jax.enable_x64(config.dtype == "float64"):
        dt = jnp.float64 if config.dtype == "float64" else jnp.float32
        params: Params = [(jnp.asarray(w, dt), jnp.asarray(b, dt)) for w, b in net.layers]
        x, y = jnp.asarray(xs, dt), jnp.asarray(ys, dt)
        lr = jnp.asarray(config.lr, dt)
        m = jax.tree_util.tree_map(jnp.zeros_like, params)
        v = jax.tree_util.tree_map(jnp.zeros_like, params)
        count = jnp.asarray(0, jnp.int32)
        done = 0
        for target in steps.tolist():
            if should_stop is not None and should_stop():
                status, message = "interrupted", f"stopped at step {done}"
                break
            k = int(target - done)
            if k:
                if config.optimizer == "adam":
                    params, m, v, count = _adam(params, m, v, count, x, y, lr, k)
                else:
                    params = _gd(params, x, y, lr, k)
            loss = float(_loss(params, x, y))
            if not (math.isfinite(loss) and _finite(params)):
                status = "diverged"
                message = f"non-finite loss or parameters by step {target} (last finite {done})"
                summary["diverged_at_step"] = int(target)
                break
            done = int(target)
            tic = time.perf_counter()
            counted = count_segment(to_net(params), np.array(x0), np.array(x1))
            count_seconds += time.perf_counter() - tic
            record = {"step": done, "loss": loss, "regions": counted.regions,
                      "activation_regions": counted.activation_regions,
                      "density": (counted.activation_regions - 1) / length}  # fmt: skip
            for key, value in record.items():
                rows[key].append(value)
                pending[key].append(value)
            if len(pending["step"]) >= CHUNK_RECORDS:
                flush()
        flush()
    wall = time.perf_counter() - started
    series = _stack(rows)
    summary["steps"] = done
    summary["neurons"] = int(sum(config.widths))
    if len(series["step"]):
        summary["initial_regions"] = int(series["regions"][0])
        summary["final_regions"] = int(series["regions"][-1])
        summary["max_regions"] = int(series["regions"].max())
        summary["final_loss"] = float(series["loss"][-1])
    return Run(
        experiment="linregions",
        config=config.to_dict(),
        seed=int(seed),
        status=status,
        series=series,
        summary=summary,
        message=message,
        timings={"simulate_seconds": wall, "count_seconds": count_seconds},
    )


def _stack(rows: dict[str, list[Any]]) -> dict[str, np.ndarray]:
    return {
        "step": np.asarray(rows["step"], dtype=np.int64),
        "loss": np.asarray(rows["loss"], dtype=np.float64),
        "regions": np.asarray(rows["regions"], dtype=np.int64),
        "activation_regions": np.asarray(rows["activation_regions"], dtype=np.int64),
        "density": np.asarray(rows["density"], dtype=np.float64),
    }

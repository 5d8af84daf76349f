"""Simulations of the learning-rate-phases experiment: jit-compiled chunks of GD steps.

``simulate_catapult`` records every step of the uv model (step, loss, ntk = lambda_t, output
f_t on the first sample); ``simulate_relu`` every step of the two-layer ReLU net (step, loss,
ntk, top_loss = the loss along the initial top NTK eigenvector, alive = the fraction of units
active on some input); ``simulate_eos`` records every ``sharpness_every`` steps of the MLP
(step, loss, sharpness). Both stream chunks to ``on_chunk``, poll ``should_stop``
between chunks (-> ``interrupted``) and stop at the first non-finite value or a loss beyond
:func:`divergence_cap` (-> ``diverged``), keeping the finite records before it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.experiments.lrphases import mlp, relu, uv
from theoryscope.experiments.lrphases.config import Config
from theoryscope.experiments.lrphases.data import make_data
from theoryscope.protocol import ChunkCallback, Run, StopPredicate

#: Records per compiled chunk (catapult: steps; eos: sharpness records).
CATAPULT_CHUNK = 500
RELU_CHUNK = 500
EOS_CHUNK = 50


def divergence_cap(initial_loss: float, width: int) -> float:
    """A loss this large counts as divergence: 1e10 x max(1, m, L_0).

    In the catapult phase the loss peaks at O(m) (f^2 ~ m when lambda starts to fall,
    Lewkowycz et al. 2020 section 2), far below the cap.
    """
    return 1e10 * max(1.0, float(width), float(initial_loss))


def _dtype(config: Config) -> Any:
    return jnp.float64 if config.dtype == "float64" else jnp.float32


def _first_bad(chunk: dict[str, np.ndarray], cap: float) -> int | None:
    """Index of the first record with a non-finite value or loss >= cap (None if all fine)."""
    bad = np.zeros(len(chunk["step"]), dtype=bool)
    for value in chunk.values():
        bad |= ~np.isfinite(value)
    bad |= chunk["loss"] >= cap
    idx = np.flatnonzero(bad)
    return int(idx[0]) if idx.size else None


class _Recorder:
    """Collects chunks, streams them, and detects divergence."""

    def __init__(self, on_chunk: ChunkCallback | None) -> None:
        self.parts: list[dict[str, np.ndarray]] = []
        self.on_chunk = on_chunk
        self.diverged_at: int | None = None

    def add(self, chunk: dict[str, np.ndarray], cap: float) -> bool:
        """Store (the finite part of) a chunk; True when the run must stop (diverged)."""
        bad = _first_bad(chunk, cap)
        if bad is not None:
            self.diverged_at = int(chunk["step"][bad])
            chunk = {k: v[:bad] for k, v in chunk.items()}
        if len(chunk["step"]):
            self.parts.append(chunk)
            if self.on_chunk is not None:
                self.on_chunk(chunk)
        return bad is not None

    def series(self, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
        if not self.parts:
            return {k: np.zeros(0) for k in keys}
        return {k: np.concatenate([p[k] for p in self.parts]) for k in keys}


def _finish(
    config: Config,
    seed: int,
    rec: _Recorder,
    keys: tuple[str, ...],
    summary: dict[str, Any],
    stopped: bool,
    started: float,
) -> Run:
    series = rec.series(keys)
    status, message = "finished", None
    if rec.diverged_at is not None:
        status = "diverged"
        message = f"loss diverged at step {rec.diverged_at} (non-finite or above the cap)"
        summary["diverged_at_step"] = rec.diverged_at
    elif stopped:
        status, message = "interrupted", "stopped on request"
    seconds = time.perf_counter() - started
    summary["records"] = int(len(series["step"]))
    summary["steps"] = int(series["step"][-1]) if len(series["step"]) else 0
    return Run(
        experiment="lrphases",
        config=config.to_dict(),
        seed=seed,
        status=status,
        series=series,
        summary=summary,
        message=message,
        timings={"simulate_seconds": seconds},
    )


def init_seed(config: Config, seed: int) -> int:
    """The seed of the network init: ``config.init_seed`` when given (the CLI sets it to the run
    seed, so :func:`~.theory.predict` sees the same init), else the run seed."""
    return int(config.init_seed) if config.init_seed is not None else int(seed)


def catapult_init(config: Config, seed: int) -> dict[str, Any]:
    """Data, initial parameters, lambda_0 and the step eta (lr, or lr_scale / lambda_0).

    Call inside ``jax.enable_x64(config.dtype == "float64")`` (as :func:`initial_state` does).
    """
    dt = _dtype(config)
    x_np, y_np = make_data(config)
    x, y = jnp.asarray(x_np, dtype=dt), jnp.asarray(y_np, dtype=dt)
    u_np, v_np = uv.init_params(init_seed(config, seed), int(config.width or 1), x.shape[1])
    u, v = jnp.asarray(u_np, dtype=dt), jnp.asarray(v_np, dtype=dt)
    st = uv.init_state(u, v, x, y)
    lam0 = float(st["lambda0"])
    eta = float(config.lr) if config.lr is not None else float(config.lr_scale or 0.0) / lam0
    first = {k: float(val) for k, val in st["record"].items()}
    return {"x": x, "y": y, "u": u, "v": v, "lambda0": lam0, "eta": eta, "first": first}


def initial_state(config: Config, seed: int) -> dict[str, float]:
    """lambda_0, eta and the initial loss of the initialized uv network, computed exactly as
    :func:`simulate_catapult` computes them (same code, dtype and init): the theory's source."""
    with jax.enable_x64(config.dtype == "float64"):
        init = catapult_init(config, seed)
    return {"lambda0": init["lambda0"], "eta": init["eta"], "initial_loss": init["first"]["loss"]}


def simulate_catapult(
    config: Config,
    seed: int,
    *,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
) -> Run:
    """GD on the uv model, one record per step (t = 0..steps), lambda_t from the exact NTK."""
    started = time.perf_counter()
    keys = ("step", "loss", "ntk", "output")
    with jax.enable_x64(config.dtype == "float64"):
        init = catapult_init(config, seed)
        x, y = init["x"], init["y"]
        state = (init["u"], init["v"])
        eta = jnp.asarray(init["eta"], dtype=_dtype(config))
        first = init["first"]
        cap = divergence_cap(first["loss"], int(config.width or 1))
        rec = _Recorder(on_chunk)
        steps = int(config.steps or 1)
        done, stopped = 0, False
        while done < steps + 1:
            if should_stop is not None and should_stop():
                stopped = True
                break
            if done == steps:  # the final state, after the last step
                vals = uv.record(state[0], state[1], x, y)
                part = {k: np.asarray(val, dtype=np.float64)[None] for k, val in vals.items()}
                length = 1
            else:
                length = min(CATAPULT_CHUNK, steps - done)
                state, vals = uv.chunk(state, x, y, eta, length=length)
                part = {k: np.asarray(val, dtype=np.float64) for k, val in vals.items()}
            part["step"] = np.arange(done, done + length, dtype=np.float64)
            done += length
            if rec.add(part, cap):
                break
    summary = {
        "mode": "catapult",
        "lambda0": init["lambda0"],
        "eta": init["eta"],
        "eta_lambda0": init["eta"] * init["lambda0"],
        "initial_loss": first["loss"],
        "init_seed": init_seed(config, seed),
    }
    return _finish(config, seed, rec, keys, summary, stopped, started)


def relu_init(config: Config, seed: int) -> dict[str, Any]:
    """Data, the ReLU net's initial parameters, the NTK's eigen-decomposition at init (lambda_0
    its top eigenvalue, e0 its eigenvector), the residual g_0 and the step eta.

    Call inside ``jax.enable_x64(config.dtype == "float64")`` (as :func:`relu_initial_state`
    does).
    """
    dt = _dtype(config)
    x_np, y_np = make_data(config)
    x, y = jnp.asarray(x_np, dtype=dt), jnp.asarray(y_np, dtype=dt)
    u_np, v_np = relu.init_params(init_seed(config, seed), int(config.width or 1), x.shape[1])
    u, v = jnp.asarray(u_np, dtype=dt), jnp.asarray(v_np, dtype=dt)
    st = relu.init_state(u, v, x, y)
    evals = np.asarray(st["evals"], dtype=np.float64)
    lam0 = float(evals[-1])
    eta = float(config.lr) if config.lr is not None else float(config.lr_scale or 0.0) / lam0
    return {
        "x": x, "y": y, "u": u, "v": v, "e0": st["evecs"][:, -1], "lambda0": lam0, "eta": eta,
        "evals": evals, "evecs": np.asarray(st["evecs"], dtype=np.float64),
        "residual": np.asarray(st["residual"], dtype=np.float64),
        "initial_loss": float(st["loss"]),
    }  # fmt: skip


def relu_initial_state(config: Config, seed: int) -> dict[str, Any]:
    """lambda_0, eta, L_0 and the NTK eigen-decomposition of the initialized ReLU net, computed
    exactly as :func:`simulate_relu` computes them: the theory's source."""
    with jax.enable_x64(config.dtype == "float64"):
        init = relu_init(config, seed)
    keys = ("lambda0", "eta", "initial_loss", "evals", "evecs", "residual")
    return {k: init[k] for k in keys}


def simulate_relu(
    config: Config,
    seed: int,
    *,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
) -> Run:
    """GD on the two-layer ReLU net, one record per step (t = 0..steps), lambda_t exact."""
    started = time.perf_counter()
    keys = ("step", "loss", "ntk", "top_loss", "alive")
    with jax.enable_x64(config.dtype == "float64"):
        init = relu_init(config, seed)
        x, y, e0 = init["x"], init["y"], init["e0"]
        state = (init["u"], init["v"])
        eta = jnp.asarray(init["eta"], dtype=_dtype(config))
        width = int(config.width or 1)
        cap = divergence_cap(init["initial_loss"], width)
        rec = _Recorder(on_chunk)
        steps = int(config.steps or 1)
        done, stopped = 0, False
        while done < steps + 1:
            if should_stop is not None and should_stop():
                stopped = True
                break
            if done == steps:  # the final state, after the last step
                vals = relu.record(state[0], state[1], x, y, e0)
                part = {k: np.asarray(val, dtype=np.float64)[None] for k, val in vals.items()}
                length = 1
            else:
                length = min(RELU_CHUNK, steps - done)
                state, vals = relu.chunk(state, x, y, e0, eta, length=length)
                part = {k: np.asarray(val, dtype=np.float64) for k, val in vals.items()}
            part["step"] = np.arange(done, done + length, dtype=np.float64)
            done += length
            if rec.add(part, cap):
                break
    summary = {
        "mode": "relu",
        "lambda0": init["lambda0"],
        "eta": init["eta"],
        "eta_lambda0": init["eta"] * init["lambda0"],
        "initial_loss": init["initial_loss"],
        "init_seed": init_seed(config, seed),
        "n_params": width * (x.shape[1] + 1),
    }
    return _finish(config, seed, rec, keys, summary, stopped, started)


def simulate_eos(
    config: Config,
    seed: int,
    *,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
) -> Run:
    """Full-batch GD on the MLP; every ``sharpness_every`` steps record loss and sharpness.

    Records sit at steps 0, k, 2k, ... (k = sharpness_every) up to the last multiple of k that
    is <= steps; the sharpness is a warm-started Lanczos estimate (``lanczos_iters`` HVPs).
    """
    started = time.perf_counter()
    keys = ("step", "loss", "sharpness")
    dt = _dtype(config)
    with jax.enable_x64(config.dtype == "float64"):
        x_np, y_np = make_data(config)
        x, y = jnp.asarray(x_np, dtype=dt), jnp.asarray(y_np, dtype=dt)
        width, depth = int(config.width or 1), int(config.depth or 1)
        dims = tuple(mlp.layer_dims(x.shape[1], width, depth))
        theta_np, vec_np = mlp.init_flat(init_seed(config, seed), dims)
        theta, vec = jnp.asarray(theta_np, dtype=dt), jnp.asarray(vec_np, dtype=dt)
        eta = jnp.asarray(config.lr, dtype=dt)
        every = int(config.sharpness_every)
        n_records = int(config.steps or 1) // every + 1
        loss0 = math.nan  # read from the first record (no separate compile)
        cap = math.inf
        rec = _Recorder(on_chunk)
        done, stopped = 0, False
        step_fn: Callable[..., Any] = mlp.chunk
        # one compiled chunk length for the whole run (compiling dominates short runs): the last
        # chunk is computed in full and its records beyond n_records are dropped
        length = min(EOS_CHUNK, n_records)
        while done < n_records:
            if should_stop is not None and should_stop():
                stopped = True
                break
            (theta, vec), vals = step_fn(
                theta, vec, x, y, eta,
                activation=config.activation, every=every, iters=int(config.lanczos_iters),
                length=length, dims=dims,
            )  # fmt: skip
            keep = min(length, n_records - done)
            part = {k: np.asarray(val, dtype=np.float64)[:keep] for k, val in vals.items()}
            if done == 0:
                loss0 = float(part["loss"][0])
                cap = divergence_cap(loss0 if math.isfinite(loss0) else 0.0, 1)
            length_done = keep
            part["step"] = every * np.arange(done, done + length_done, dtype=np.float64)
            done += length_done
            if rec.add(part, cap):
                break
    summary = {
        "mode": "eos",
        "eta": float(config.lr or 0.0),
        "two_over_eta": 2.0 / float(config.lr or 1.0),
        "initial_loss": loss0,
        "n_params": int(theta.shape[0]),
        "init_seed": init_seed(config, seed),
    }
    return _finish(config, seed, rec, keys, summary, stopped, started)

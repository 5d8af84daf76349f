"""GD or Adam on the exact L2 loss of one basis of V_h (JAX), recorded against the exact LS fit.

    E(a) = 1/2 a^T G a - a^T F + 1/2 ||f||^2,      grad E = G a - F,

with G and F exact (:mod:`.bases`) and rounded to the working precision; a starts at 0.

    gd     a <- a - eta (G a - F),   eta = lr / lambda_max(G)
    adam   Kingma & Ba (2015), Algorithm 1 (beta1 0.9, beta2 0.999, eps 1e-8) on grad E

At log-spaced steps the iterate is read back in float64 and measured exactly through the FE
basis (:class:`.theory.Problem`): ``excess = E(a) - E* = 1/2 ||h - Pi f||^2``, ``loss =
E* + excess``, ``max_error = max |h - f|`` on the talk's 10,000-point test grid (h is piecewise
linear: interpolation of its nodal values), and ``mode_residual``, the residual along the 8
leading eigen-directions of G. A non-finite iterate, or a loss above 1e12 x the initial one,
stops the run as ``diverged`` with the records before it.
"""

from __future__ import annotations

import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.core.recording import Recorder
from theoryscope.experiments.fem.config import Config
from theoryscope.experiments.fem.theory import (
    MODES_RECORDED,
    Problem,
    build_problem,
    record_steps,
)
from theoryscope.protocol import ChunkCallback, Run, StopPredicate

__all__ = ["simulate"]

#: Records per streamed chunk.
CHUNK_RECORDS = 20
BETA1, BETA2, ADAM_EPS = 0.9, 0.999, 1e-8


@jax.jit
def _gd(a: Any, g: Any, f: Any, eta: Any, k: Any) -> Any:
    """k steps of ``a <- a - eta (G a - F)`` (k traced: one compile per shape and dtype)."""
    return jax.lax.fori_loop(0, k, lambda _, x: x - eta * (g @ x - f), a)


@jax.jit
def _adam(state: Any, g: Any, f: Any, lr: Any, k: Any) -> Any:
    """k Adam steps on ``grad E = G a - F``; state = (a, m, v, t)."""

    def body(_: Any, st: Any) -> Any:
        a, m, v, t = st
        grad = g @ a - f
        t = t + 1
        m = BETA1 * m + (1 - BETA1) * grad
        v = BETA2 * v + (1 - BETA2) * grad * grad
        mhat = m / (1 - BETA1**t)
        vhat = v / (1 - BETA2**t)
        return a - lr * mhat / (jnp.sqrt(vhat) + ADAM_EPS), m, v, t

    return jax.lax.fori_loop(0, k, body, state)


def simulate(
    config: Config,
    seed: int = 0,
    *,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
    problem: Problem | None = None,
) -> Run:
    """Train from a = 0 and record (module docstring). ``seed`` is recorded only: a run is fixed
    by its config (the random nodes come from ``config.node_seed``)."""
    problem = problem if problem is not None else build_problem(config)
    steps = record_steps(config)
    m = min(MODES_RECORDED, config.n)
    cap = 1e12 * (0.5 * problem.norm2 + 1.0)
    recorder = Recorder(on_chunk, chunk_records=CHUNK_RECORDS, cap=cap)
    summary: dict[str, Any] = {"steps": 0, "mode": config.mode, "eta": problem.eta}
    started = time.perf_counter()
    done = 0
    with jax.enable_x64(config.dtype == "float64"):
        dt = jnp.float64 if config.dtype == "float64" else jnp.float32
        g = jnp.asarray(problem.gram, dt)
        f = jnp.asarray(problem.load, dt)
        a = jnp.zeros(config.n, dt)
        state = (a, jnp.zeros_like(a), jnp.zeros_like(a), jnp.asarray(0.0, dt))
        eta = jnp.asarray(problem.eta, dt)
        lr = jnp.asarray(config.adam_lr, dt)
        for target in steps.tolist():
            if should_stop is not None and should_stop():
                recorder.interrupt(f"stopped at step {done}")
                break
            k = int(target - done)
            if k:
                if config.mode == "gd":
                    a = _gd(a, g, f, eta, k)
                else:
                    state = _adam(state, g, f, lr, k)
                    a = state[0]
            coef = np.asarray(a, dtype=np.float64)
            if not np.all(np.isfinite(coef)):
                record = {"step": int(target), "loss": np.nan}
            else:
                v = problem.nodal(coef)
                excess = problem.excess(v)
                record = {
                    "step": int(target),
                    "loss": problem.e_star + excess,
                    "excess": excess,
                    "max_error": float(np.max(np.abs(np.interp(problem.test, problem.nodes, v)
                                                     - problem.f_test))),
                    "mode_residual": np.abs(problem.mode_residual(v, m)),
                }  # fmt: skip
            if not recorder.add(record):
                summary["diverged_at_step"] = int(target)
                break
            done = int(target)
        recorder.flush()
    wall = time.perf_counter() - started
    summary["steps"] = done
    summary["steps_per_second"] = done / wall if wall > 0 else None
    series = _stack(recorder.rows, m)
    if len(series["loss"]):
        summary["final_loss"] = float(series["loss"][-1])
        summary["final_excess"] = float(series["excess"][-1])
        summary["final_max_error"] = float(series["max_error"][-1])
    return Run(experiment="fem", config=config.to_dict(), seed=int(seed), status=recorder.status,
               series=series, summary=summary, message=recorder.message,
               timings={"simulate_seconds": wall})  # fmt: skip


def _stack(rows: dict[str, list[Any]], m: int) -> dict[str, np.ndarray]:
    """Lists of records -> arrays sharing the record axis."""
    return {
        "step": np.asarray(rows.get("step", []), dtype=np.int64),
        "loss": np.asarray(rows.get("loss", []), dtype=np.float64),
        "excess": np.asarray(rows.get("excess", []), dtype=np.float64),
        "max_error": np.asarray(rows.get("max_error", []), dtype=np.float64),
        "mode_residual": np.asarray(rows.get("mode_residual", []), dtype=np.float64).reshape(-1, m),
    }

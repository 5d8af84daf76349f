"""Gradient descent on the exact L2 loss of a shallow ReLU network on [-1, 1] (JAX).

    h(x) = n^{-1/2} sum_i a_i relu(w_i x - b_i),    E = 1/2 ||h - f||^2_{L2[-1,1]},
    f = sum_k A_k sin(pi k x)

Since every integral is closed form (:mod:`.gram`),

    E(a, b) = 1/2 a^T G(b) a - a^T F(b) + 1/2 sum_k A_k^2,
    G(b) = <sigma_i, sigma_j>/n,  F(b) = P(b) A / sqrt(n),

with no sampling error (the training loop evaluates it in O(n log n) by :func:`loss_fast`). ``features`` mode trains a only (G, F fixed: the talk's linear dynamics,
``a <- a - eta (G a - F)``); ``full`` mode trains a (step eta) and the biases b (step
``bias_lr * eta``) by ``jax.grad`` of the closed form (the talk's nonlinear dynamics ``da_i/dt = -int r sigma_i``, ``db_i/dt = a_i int r sigma_i'``,
slide "Learning dynamics based on gradient flow: nonlinear"). Both start from ``a = 0`` (so
``h = 0`` and every Fourier residual starts at ``-A_k``).

Recorded at log-spaced steps: ``step``, ``time = eta * step``, ``loss``, ``residual`` (K,) =
``c_k / A_k`` with ``c_k = <h - f, sin(pi k x)>``, and ``eig_residual`` (m,) = ``<psi_j, h - f> /
sqrt n`` for the m leading eigenfunctions ``psi_j`` of the *initial* Gram matrix. A non-finite
loss or parameter stops the run as ``diverged`` keeping the finite records before it.
"""

from __future__ import annotations

import math
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.core.recording import Recorder
from theoryscope.experiments.spectral.config import Config
from theoryscope.experiments.spectral.gram import fourier_projection, gram_matrix
from theoryscope.experiments.spectral.theory import (
    EIG_RECORDED,
    Problem,
    build_problem,
    record_steps,
)
from theoryscope.protocol import ChunkCallback, Run, StopPredicate

#: Records per streamed chunk.
CHUNK_RECORDS = 25


def loss_full(a: Any, b: Any, w: Any, freqs: Any, amps: Any) -> Any:
    """Exact ``E(a, b)`` through the Gram matrix, O(n^2) (the reference for the fast form)."""
    n = a.shape[0]
    g = gram_matrix(w, b, xp=jnp) / n
    f = fourier_projection(w, b, freqs, xp=jnp) @ amps / jnp.sqrt(n)
    return 0.5 * a @ g @ a - a @ f + 0.5 * jnp.sum(amps**2)


def loss_fast(a: Any, b: Any, w: Any, freqs: Any, amps: Any) -> Any:
    """The same exact ``E(a, b)`` in O(n log n + n K): h is piecewise linear between the sorted
    kinks ``b_i / w_i``, so ``||h||^2`` is a sum over n + 1 intervals.

    On the interval between consecutive kinks, the active ramps are those with w > 0 whose kink
    lies to the left and those with w < 0 whose kink lies to the right, so
    ``h(x) = S1 x - S0`` with ``S1 = sum c_i w_i``, ``S0 = sum c_i b_i`` over them (c = a / sqrt n):
    exclusive prefix sums (w > 0) and suffix sums (w < 0) in kink order. Each interval adds
    ``L/3 (h_l^2 + h_l h_r + h_r^2)`` (exact for a linear h). The kinks' own derivative vanishes
    because every ramp is zero at its kink, so autodiff through the sort is exact.
    """
    n = a.shape[0]
    c = a / jnp.sqrt(n)
    edge = jnp.clip(b / w, -1.0, 1.0)
    order = jnp.argsort(edge)
    e, cs, ws, bs = edge[order], c[order], w[order], b[order]
    pos = ws > 0
    u_pos, v_pos = jnp.where(pos, cs * ws, 0.0), jnp.where(pos, cs * bs, 0.0)
    u_neg, v_neg = jnp.where(pos, 0.0, cs * ws), jnp.where(pos, 0.0, cs * bs)
    zero = jnp.zeros(1, dtype=c.dtype)

    def prefix(x: Any) -> Any:  # sum over sorted positions < m, m = 0..n
        return jnp.concatenate([zero, jnp.cumsum(x)])

    def suffix(x: Any) -> Any:  # sum over sorted positions >= m, m = 0..n
        return jnp.concatenate([jnp.cumsum(x[::-1])[::-1], zero])

    s1 = prefix(u_pos) + suffix(u_neg)
    s0 = prefix(v_pos) + suffix(v_neg)
    one = jnp.ones(1, dtype=c.dtype)
    knots = jnp.concatenate([-one, e, one])
    xl, xr = knots[:-1], knots[1:]
    hl, hr = s1 * xl - s0, s1 * xr - s0
    norm2 = jnp.sum((xr - xl) / 3.0 * (hl * hl + hl * hr + hr * hr))
    f = fourier_projection(w, b, freqs, xp=jnp) @ amps
    return 0.5 * norm2 - c @ f + 0.5 * jnp.sum(amps**2)


@jax.jit
def _advance_features(a: Any, g: Any, f: Any, lr: Any, k: Any) -> Any:
    """k GD steps of ``a <- a - lr (G a - F)`` (k traced: one compile per shape)."""
    return jax.lax.fori_loop(0, k, lambda _, x: x - lr * (g @ x - f), a)


@jax.jit
def _metrics_features(a: Any, g: Any, f: Any, proj: Any, amps: Any, vecs: Any) -> Any:
    grad = g @ a - f
    loss = 0.5 * a @ g @ a - a @ f + 0.5 * jnp.sum(amps**2)
    return loss, (a @ proj - amps) / amps, vecs.T @ grad, jnp.all(jnp.isfinite(a))


@jax.jit
def _advance_full(a: Any, b: Any, w: Any, freqs: Any, amps: Any, lr: Any, lr_b: Any, k: Any) -> Any:
    grad = jax.grad(loss_fast, argnums=(0, 1))

    def body(_: Any, state: Any) -> Any:
        x, y = state
        ga, gb = grad(x, y, w, freqs, amps)
        return x - lr * ga, y - lr_b * gb

    return jax.lax.fori_loop(0, k, body, (a, b))


@jax.jit
def _metrics_full(
    a: Any, b: Any, w: Any, freqs: Any, amps: Any, w0: Any, b0: Any, f0: Any, vecs: Any
) -> Any:
    n = a.shape[0]
    loss = loss_full(a, b, w, freqs, amps)
    proj = fourier_projection(w, b, freqs, xp=jnp) / jnp.sqrt(n)
    cross = gram_matrix(w0, b0, w, b, xp=jnp) / n  # <sigma_i(0), sigma_j(t)> / n
    finite = jnp.all(jnp.isfinite(a)) & jnp.all(jnp.isfinite(b))
    return loss, (a @ proj - amps) / amps, vecs.T @ (cross @ a - f0), finite


def simulate(
    config: Config,
    seed: int = 0,
    *,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
    problem: Problem | None = None,
) -> Run:
    """Run GD and record the series above. ``seed`` is recorded only: the features come from
    ``config.feature_seed`` and a(0) = 0, so a run is fully determined by its config."""
    problem = problem if problem is not None else build_problem(config)
    steps = record_steps(config.steps, config.records)
    m = min(EIG_RECORDED, config.neurons)
    k_count = len(config.freqs)
    summary: dict[str, Any] = {"steps": 0, "mode": config.mode}
    recorder = Recorder(on_chunk, chunk_records=CHUNK_RECORDS)
    started = time.perf_counter()
    with jax.enable_x64(config.dtype == "float64"):
        dt = jnp.float64 if config.dtype == "float64" else jnp.float32
        lr = jnp.asarray(config.lr, dt)
        lr_b = jnp.asarray(config.lr * config.bias_lr, dt)
        amps = jnp.asarray(problem.amplitudes, dt)
        vecs = jnp.asarray(problem.eigenvectors[:, :m], dt)
        a = jnp.zeros(config.neurons, dt)
        freqs = jnp.asarray(np.asarray(config.freqs, dtype=np.float64), dt)
        w = jnp.asarray(problem.w, dt)
        b0 = jnp.asarray(problem.b, dt)
        b = b0
        g = jnp.asarray(problem.gram, dt)
        f = jnp.asarray(problem.target_grad, dt)
        proj = jnp.asarray(problem.proj, dt)
        done = 0
        for target in steps.tolist():
            if should_stop is not None and should_stop():
                recorder.interrupt(f"stopped at step {done}")
                break
            k = int(target - done)
            if config.mode == "features":
                if k:
                    a = _advance_features(a, g, f, lr, k)
                out = _metrics_features(a, g, f, proj, amps, vecs)
            else:
                if k:
                    a, b = _advance_full(a, b, w, freqs, amps, lr, lr_b, k)
                out = _metrics_full(a, b, w, freqs, amps, w, b0, f, vecs)
            loss, resid, eig, finite = (np.asarray(x) for x in out)
            record = {"step": int(target), "time": config.lr * int(target),
                      "loss": float(loss) if bool(finite) else math.nan,
                      "residual": resid, "eig_residual": eig}  # fmt: skip
            if not recorder.add(record):
                recorder.message = (
                    f"non-finite loss or parameters by step {target} (last finite {done})"
                )
                summary["diverged_at_step"] = int(target)
                break
            done = int(target)
        recorder.flush()
    wall = time.perf_counter() - started
    summary["steps"] = done
    summary["steps_per_second"] = done / wall if wall > 0 else None
    if config.mode == "full":
        summary["bias_shift_max"] = float(np.max(np.abs(np.asarray(b) - problem.b))) if (
            recorder.status != "diverged") else None  # fmt: skip
    series = _stack(recorder.rows, k_count, m)
    if len(series["loss"]):
        summary["final_loss"] = float(series["loss"][-1])
        summary["final_residual"] = series["residual"][-1].tolist()
    return Run(
        experiment="spectral",
        config=config.to_dict(),
        seed=int(seed),
        status=recorder.status,
        series=series,
        summary=summary,
        message=recorder.message,
        timings={"simulate_seconds": wall},
    )


def _stack(rows: dict[str, list[Any]], k_count: int, m: int) -> dict[str, np.ndarray]:
    """Lists of records -> arrays sharing the first (record) axis."""
    return {
        "step": np.asarray(rows.get("step", []), dtype=np.int64),
        "time": np.asarray(rows.get("time", []), dtype=np.float64),
        "loss": np.asarray(rows.get("loss", []), dtype=np.float64),
        "residual": np.asarray(rows.get("residual", []), dtype=np.float64).reshape(-1, k_count),
        "eig_residual": np.asarray(rows.get("eig_residual", []), dtype=np.float64).reshape(-1, m),
    }

"""Simulation of the polynomial-network teacher-student experiment: GD in NumPy (float64).

The problem is tiny (r x d weights), so plain batched NumPy beats compiling: ``gd`` advances a
batch of students (B, r, d) on the exact population loss (population.py) or on a fixed training
set. ``simulate`` records every ``config.every`` steps (step, time = eta * step, the training
loss, the population loss and, for p = 2, the top eigenvalues of M = W^T W and the projections
u_j^T M u_j on the teacher's eigenvectors), streams chunks to ``on_chunk``, polls
``should_stop`` between chunks and stops at the first non-finite value or loss above
:func:`divergence_cap` (-> ``diverged``, keeping the finite records before it).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from theoryscope.experiments.polynets.config import Config
from theoryscope.experiments.polynets.model import (
    init_students,
    make_samples,
    make_teacher,
    teacher_spectrum,
)
from theoryscope.experiments.polynets.population import loss_and_grad, sample_loss_and_grad
from theoryscope.experiments.polynets.theory import MAX_TRACKED
from theoryscope.protocol import ChunkCallback, Run, StopPredicate

#: Records per streamed chunk.
CHUNK_RECORDS = 50


def divergence_cap(initial_loss: float) -> float:
    """A loss this large counts as divergence: 1e10 x max(1, L_0)."""
    return 1e10 * max(1.0, float(initial_loss) if math.isfinite(initial_loss) else 1.0)


def record_schedule(config: Config) -> list[int]:
    """Steps at which a run records: every ``config.every`` steps plus the last one and, when
    ``record_every`` is left as None, about 300 log-spaced steps (early learning events are
    fast compared with the run, so they need the finer grid)."""
    steps = int(config.steps)
    grid = set(range(0, steps + 1, config.every)) | {steps}
    if config.record_every is None:
        grid |= {int(s) for s in np.unique(np.geomspace(1, steps, 300).astype(int))}
    return sorted(grid)


def objective(
    config: Config, w: np.ndarray, w_star: np.ndarray, x: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Training loss (B,) and gradient: population (closed form) or empirical on x."""
    p = int(config.degree)
    if x is None:
        loss, grad = loss_and_grad(p, w, w_star)
        assert grad is not None
        return loss, grad
    return sample_loss_and_grad(p, w, w_star, x)


def gd(
    config: Config, w: np.ndarray, w_star: np.ndarray, x: np.ndarray | None, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """``steps`` GD steps W <- W - eta dL/dW on a batch; returns (W, loss before the last step).

    Students whose loss turns non-finite are frozen (their loss stays non-finite).
    """
    eta = float(config.lr)
    loss = np.full(w.shape[0], np.nan)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            loss, grad = objective(config, w, w_star, x)
            bad = ~np.isfinite(loss) | ~np.isfinite(grad).all(axis=(1, 2))
            grad[bad] = 0.0
            w = w - eta * grad
    return w, loss


def _record(
    config: Config, w: np.ndarray, w_star: np.ndarray, x: np.ndarray | None, vecs: np.ndarray | None
) -> dict[str, float]:
    """One record of a single student w (1, r, d)."""
    with np.errstate(over="ignore", invalid="ignore"):
        train = float(objective(config, w, w_star, x)[0][0])
        pop = train if x is None else float(loss_and_grad(int(config.degree), w, w_star,
                                                           grad=False)[0][0])  # fmt: skip
        out = {"loss": train, "population_loss": pop}
        if vecs is not None:
            m = w[0].T @ w[0]
            if np.isfinite(m).all():
                eig = np.sort(np.linalg.eigvalsh(m))[::-1]
                proj = np.einsum("ij,ik,kj->j", vecs, m, vecs)
            else:
                eig = proj = np.full(m.shape[0], np.nan)
            for i in range(min(int(config.width), int(config.d), MAX_TRACKED)):
                out[f"eig_{i + 1}"] = float(eig[i])
            for j in range(vecs.shape[1]):
                out[f"proj_{j + 1}"] = float(proj[j])
    return out


def simulate(
    config: Config,
    seed: int = 0,
    *,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
) -> Run:
    """GD for one student (seed = its init), recording every ``config.every`` steps."""
    started = time.perf_counter()
    w_star = make_teacher(config)
    x = make_samples(config)
    w = init_students(config, [seed])
    vecs = None
    if config.degree == 2:
        lam, u = teacher_spectrum(w_star)
        tracked = min(int(np.sum(lam > 1e-10 * max(float(lam[0]), 1e-300))), MAX_TRACKED)
        vecs = u[:, :tracked]
    record_steps = record_schedule(config)
    parts: list[dict[str, np.ndarray]] = []
    rows: list[dict[str, float]] = []
    diverged_at: int | None = None
    stopped = False
    cap = math.inf
    done = 0

    def flush() -> None:
        if rows:
            chunk = {k: np.asarray([row[k] for row in rows]) for k in rows[0]}
            parts.append(chunk)
            if on_chunk is not None:
                on_chunk(chunk)
            rows.clear()

    for step in record_steps:
        w, _ = gd(config, w, w_star, x, step - done)
        done = step
        row = {"step": float(step), "time": float(config.lr) * step}
        row.update(_record(config, w, w_star, x, vecs))
        if step == 0:
            cap = divergence_cap(row["loss"])
        values = np.asarray(list(row.values()))
        if not np.isfinite(values).all() or row["loss"] >= cap:
            diverged_at = step
            break
        rows.append(row)
        if len(rows) >= CHUNK_RECORDS:
            flush()
            if should_stop is not None and should_stop():
                stopped = True
                break
    flush()
    keys = list(parts[0]) if parts else ["step", "time", "loss", "population_loss"]
    series = {k: np.concatenate([p[k] for p in parts]) if parts else np.zeros(0) for k in keys}
    status, message = "finished", None
    summary: dict[str, Any] = {
        "degree": int(config.degree),
        "population": config.population,
        "initial_loss": float(series["loss"][0]) if len(series["loss"]) else None,
        "final_loss": float(series["loss"][-1]) if len(series["loss"]) else None,
        "final_population_loss": float(series["population_loss"][-1])
        if len(series["population_loss"])
        else None,
    }
    if diverged_at is not None:
        status = "diverged"
        message = f"loss diverged by step {diverged_at} (non-finite or above the cap); lower --lr"
        summary["diverged_at_step"] = diverged_at
    elif stopped:
        status, message = "interrupted", "stopped on request"
    summary["records"] = int(len(series["step"]))
    summary["steps"] = int(series["step"][-1]) if len(series["step"]) else 0
    return Run(
        experiment="polynets",
        config=config.to_dict(),
        seed=int(seed),
        status=status,
        series=series,
        summary=summary,
        message=message,
        timings={"simulate_seconds": time.perf_counter() - started},
    )


#: GD steps between two polls of ``should_stop`` (and progress reports) in :func:`landscape`.
LANDSCAPE_CHUNK = 500


def landscape(
    config: Config,
    widths: list[int],
    seeds: list[int],
    *,
    progress: Callable[[float, str], None] | None = None,
    should_stop: StopPredicate | None = None,
) -> dict[str, Any]:
    """Success rate and final / optimal loss per student width, all seeds batched together.

    Each width runs ``config.steps`` GD steps on the configured loss from init ``config.init``;
    success = final population loss within SUCCESS_TOL x E[f*^2] of the predicted optimum.
    ``progress(fraction, message)`` is told every :data:`LANDSCAPE_CHUNK` steps, when
    ``should_stop()`` is also polled: a stopped landscape returns the widths it finished
    (``"stopped": True``).
    """
    from theoryscope.experiments.polynets.theory import predict, success

    started = time.perf_counter()
    w_star = make_teacher(config)
    x = make_samples(config)
    rows: list[dict[str, Any]] = []
    total = max(1, len(widths) * int(config.steps))
    stopped = False
    for index, r in enumerate(widths):
        cfg = config.replace(width=r)
        theory = predict(cfg)
        w = init_students(cfg, seeds)
        done = 0
        while done < int(cfg.steps):
            if should_stop is not None and should_stop():
                stopped = True
                break
            length = min(LANDSCAPE_CHUNK, int(cfg.steps) - done)
            w, _ = gd(cfg, w, w_star, x, length)
            done += length
            if progress is not None:
                progress((index * int(cfg.steps) + done) / total, f"width {r}: step {done}")
        if stopped:
            break
        with np.errstate(over="ignore", invalid="ignore"):
            final = loss_and_grad(int(cfg.degree), w, w_star, grad=False)[0]
        ok = [success(float(f), theory.optimal_loss, theory.teacher_norm) for f in final]
        finite = final[np.isfinite(final)]
        rows.append({
            "width": r,
            "regime": theory.regime,
            "optimal_loss": theory.optimal_loss,
            "final_loss_min": float(finite.min()) if finite.size else None,
            "final_loss_median": float(np.median(finite)) if finite.size else None,
            "final_loss_max": float(finite.max()) if finite.size else None,
            "final_losses": [float(f) if math.isfinite(f) else None for f in final],
            "median_final_over_optimal": float(np.median(finite)) / theory.optimal_loss
            if theory.optimal_loss and finite.size
            else None,
            "success_rate": float(np.mean([bool(o) for o in ok])) if ok[0] is not None else None,
            "diverged": int(np.sum(~np.isfinite(final))),
        })  # fmt: skip
    return {
        "d": int(config.d),
        "teacher_width": int(config.teacher_width),
        "degree": int(config.degree),
        "init": float(config.init),
        "lr": float(config.lr),
        "steps": int(config.steps),
        "samples": config.samples,
        "seeds": list(seeds),
        "teacher_norm": predict(config).teacher_norm,
        "rows": rows,
        "diverged": int(sum(row["diverged"] for row in rows)),
        "stopped": stopped,
        "seconds": time.perf_counter() - started,
    }

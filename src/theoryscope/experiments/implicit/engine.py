"""Simulations of the implicit-bias experiment: full-batch GD in float64 NumPy, recorded on a grid.

The problems are tiny (d ~ 100, n ~ 50, k ~ 3), so each GD step is a few microseconds of NumPy
and no compile is paid. Records sit at log-spaced steps (diagonal, margin: the dynamics span
decades of time) or evenly spaced steps (deeplinear: sigmoids in linear time). Each run streams
chunks of records to ``on_chunk``, polls ``should_stop`` between chunks (-> ``interrupted``), and
stops at the first non-finite record or a loss above 1e10 x max(1, L_0) (-> ``diverged``),
keeping the finite records before it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from theoryscope.core.recording import linear_steps, log_steps
from theoryscope.errors import ConfigError
from theoryscope.experiments.implicit import deeplinear, diagonal, margin
from theoryscope.experiments.implicit.config import Config
from theoryscope.protocol import ChunkCallback, Run, StopPredicate

#: Records per streamed chunk.
CHUNK_RECORDS = 25


def log_grid(steps: int, records: int) -> np.ndarray:
    """0 and about ``records - 1`` log-spaced integer steps from 1 to ``steps`` (the shared
    schedule of :mod:`theoryscope.core.recording`)."""
    return log_steps(max(int(steps), 1), records)


def lin_grid(steps: int, records: int) -> np.ndarray:
    """``records`` evenly spaced integer steps from 0 to ``steps`` (unique)."""
    return linear_steps(steps, records)


def diagonal_data(config: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, beta*) of the config (fixed by ``data_seed``)."""
    return diagonal.make_data(
        int(config.d or 1), int(config.n or 1), int(config.sparsity), int(config.data_seed)
    )


def diagonal_etas(config: Config) -> np.ndarray:
    """Step per alpha: lr / max(1, alpha^2) (the curvature in u, v grows like alpha^2)."""
    alphas = np.asarray(config.alphas)
    return float(config.lr or 0.0) / np.maximum(1.0, alphas**2)


def margin_data(config: Config) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) of the config; raises ConfigError when the data are not linearly separable."""
    x, y = margin.make_data(
        int(config.d or 1), int(config.n or 1), float(config.gap), float(config.flip),
        int(config.data_seed),
    )  # fmt: skip
    if not margin.is_separable(x, y):
        raise ConfigError(
            "flip",
            f"got {config.flip:g}: the data with flipped labels are not linearly separable; "
            "allowed: a flip fraction that keeps them separable (0 always does)",
        )
    return x, y


def deeplinear_steps(config: Config) -> int:
    """``steps``, or (when 0) 1.5 x the balanced theory's time for the weakest mode to reach 99 %
    of its value, divided by lr (at least 100, at most 10^6)."""
    if int(config.steps or 0) > 0:
        return int(config.steps or 0)
    s_min = min(config.singular_values)
    u0 = float(config.init) ** int(config.depth)
    t99 = deeplinear.rise_time(s_min, u0, int(config.depth), 0.99)
    return int(min(max(math.ceil(1.5 * t99 / float(config.lr or 1.0)), 100), 1_000_000))


class _Recorder:
    """Collects chunks of records, streams them, and detects divergence."""

    def __init__(self, on_chunk: ChunkCallback | None, keys: tuple[str, ...]) -> None:
        self.parts: list[dict[str, Any]] = []
        self.on_chunk = on_chunk
        self.keys = keys
        self.diverged_at: int | None = None
        self.cap = math.inf

    def add(self, rows: list[dict[str, Any]]) -> bool:
        """Store (the finite part of) a list of records; True when the run must stop."""
        if not rows:
            return False
        chunk = {k: np.stack([np.asarray(r[k], dtype=np.float64) for r in rows]) for k in self.keys}
        bad = np.zeros(len(rows), dtype=bool)
        for value in chunk.values():
            bad |= ~np.isfinite(value.reshape(len(rows), -1)).all(axis=1)
        bad |= (chunk["loss"].reshape(len(rows), -1) >= self.cap).any(axis=1)
        idx = np.flatnonzero(bad)
        if idx.size:
            self.diverged_at = int(chunk["step"][idx[0]])
            chunk = {k: v[: idx[0]] for k, v in chunk.items()}
        if len(chunk["step"]):
            self.parts.append(chunk)
            if self.on_chunk is not None:
                self.on_chunk(chunk)
        return bool(idx.size)

    def series(self) -> dict[str, Any]:
        if not self.parts:
            return {k: np.zeros(0) for k in self.keys}
        return {k: np.concatenate([p[k] for p in self.parts]) for k in self.keys}


def _row_ok(row: dict[str, np.ndarray], cap: float) -> bool:
    finite = all(np.isfinite(np.asarray(v)).all() for v in row.values())
    return finite and bool(np.all(np.asarray(row["loss"]) < cap))


def _drive(
    grid: np.ndarray,
    state: Any,
    advance: Callable[[Any, int], Any],
    measure: Callable[[Any], dict[str, Any]],
    rec: _Recorder,
    should_stop: StopPredicate | None,
) -> tuple[Any, bool]:
    """Advance ``state`` through the record grid, measuring at each grid step; records go to
    ``rec`` in chunks. Returns (the last state whose record was finite, stopped on request)."""
    rows: list[dict[str, Any]] = []
    done, stopped, good = 0, False, state
    for target in grid:
        if should_stop is not None and should_stop():
            stopped = True
            break
        if target > done:
            with np.errstate(all="ignore"):
                state = advance(state, int(target - done))
            done = int(target)
        with np.errstate(all="ignore"):
            row = measure(state)
        row["step"] = np.float64(done)
        if not rows and not rec.parts and math.isfinite(float(np.max(row["loss"]))):
            rec.cap = 1e10 * max(1.0, float(np.max(row["loss"])))
        rows.append(row)
        ok = _row_ok(row, rec.cap)
        if ok:
            good = state
        if len(rows) >= CHUNK_RECORDS or not ok:
            if rec.add(rows):
                return good, stopped
            rows = []
    rec.add(rows)
    return good, stopped


def _finish(
    config: Config, seed: int, rec: _Recorder, summary: dict[str, Any], stopped: bool, t0: float
) -> Run:
    series = rec.series()
    status, message = "finished", None
    if rec.diverged_at is not None:
        status = "diverged"
        message = (
            f"loss diverged at step {rec.diverged_at} (non-finite or above 1e10 x initial); "
            "lower --lr"
        )
        summary["diverged_at_step"] = rec.diverged_at
    elif stopped:
        status, message = "interrupted", "stopped on request"
    summary["records"] = int(len(series["step"]))
    summary["steps"] = int(series["step"][-1]) if len(series["step"]) else 0
    return Run(
        experiment="implicit",
        config=config.to_dict(),
        seed=seed,
        status=status,
        series=series,
        summary=summary,
        message=message,
        timings={"simulate_seconds": time.perf_counter() - t0},
    )


def simulate_diagonal(
    config: Config,
    seed: int,
    *,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
) -> Run:
    """GD on beta = u*u - v*v from u = v = alpha 1, every alpha of the config side by side.

    Series: step (R,), loss (R, A), recovery ||beta - beta*|| / ||beta*|| (R, A), l1 (R, A).
    The init is deterministic, so ``seed`` only labels the run (the data follow ``data_seed``).
    """
    t0 = time.perf_counter()
    x, y, beta_star = diagonal_data(config)
    alphas = np.asarray(config.alphas)
    etas = diagonal_etas(config)
    u = np.repeat(alphas[:, None], x.shape[1], axis=1)
    v = u.copy()
    norm_star = float(np.linalg.norm(beta_star))

    def advance(state: tuple[np.ndarray, np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
        return diagonal.gd_chunk(state[0], state[1], x, y, etas, k)

    def measure(state: tuple[np.ndarray, np.ndarray]) -> dict[str, Any]:
        beta = diagonal.beta_of(*state)
        return {
            "loss": diagonal.loss(state[0], state[1], x, y),
            "recovery": np.linalg.norm(beta - beta_star, axis=1) / norm_star,
            "l1": np.sum(np.abs(beta), axis=1),
        }

    rec = _Recorder(on_chunk, ("step", "loss", "recovery", "l1"))
    grid = log_grid(int(config.steps or 1), int(config.records))
    good, stopped = _drive(grid, (u, v), advance, measure, rec, should_stop)
    final_beta = diagonal.beta_of(*good)
    summary = {
        "mode": "diagonal",
        "alphas": [float(a) for a in alphas],
        "etas": [float(e) for e in etas],
        "final_beta": final_beta.tolist() if np.isfinite(final_beta).all() else None,
    }
    return _finish(config, seed, rec, summary, stopped, t0)


def simulate_margin(
    config: Config,
    seed: int,
    *,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
) -> Run:
    """GD on the mean logistic loss from w = 0.

    Series: step, loss, w (R, d), norm ||w||, margin min_i z_i . w / ||w|| (0 at w = 0).
    """
    t0 = time.perf_counter()
    x, y = margin_data(config)
    z = y[:, None] * x
    eta = float(config.lr or 0.0)

    def measure(w: np.ndarray) -> dict[str, Any]:
        nw = float(np.linalg.norm(w))
        return {
            "loss": np.float64(margin.loss(w, z)),
            "w": w.copy(),
            "norm": np.float64(nw),
            "margin": np.float64(float(np.min(z @ w)) / nw if nw > 0 else 0.0),
        }

    rec = _Recorder(on_chunk, ("step", "loss", "w", "norm", "margin"))
    grid = log_grid(int(config.steps or 1), int(config.records))
    good, stopped = _drive(
        grid, np.zeros(x.shape[1]), lambda w, k: margin.gd_chunk(w, z, eta, k), measure, rec,
        should_stop,
    )  # fmt: skip
    summary = {
        "mode": "margin",
        "eta": eta,
        "smoothness": margin.smoothness(z),
        "final_w": good.tolist() if np.isfinite(good).all() else None,
    }
    return _finish(config, seed, rec, summary, stopped, t0)


def simulate_deeplinear(
    config: Config,
    seed: int,
    *,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
) -> Run:
    """GD on 1/2 ||S - W_L..W_1||_F^2 (whitened inputs).

    Series: step, time t = eta * step, loss, modes u_i^T W v_i (R, k), offdiag (the product's
    Frobenius norm off the target's modes), balance_drift max_l ||B_l(t) - B_l(0)||_F.
    The run ``seed`` draws the hidden frames (balanced) or the Gaussian layers (random).
    """
    t0 = time.perf_counter()
    svals = config.singular_values
    target, uu, vv = deeplinear.make_target(svals, int(config.data_seed))
    ws = deeplinear.init_weights(
        uu, vv, int(config.depth), config.hidden, float(config.init), config.init_mode, seed
    )
    b0 = deeplinear.balancedness(ws)
    eta = float(config.lr or 0.0)
    steps = deeplinear_steps(config)

    def measure(state: list[np.ndarray]) -> dict[str, Any]:
        p = uu.T @ deeplinear.product(state) @ vv
        diag = np.diag(p).copy()
        drift = max(
            float(np.linalg.norm(b - c)) for b, c in zip(deeplinear.balancedness(state), b0,
                                                         strict=True)
        )  # fmt: skip
        return {
            "loss": np.float64(deeplinear.loss(state, target)),
            "modes": diag,
            "offdiag": np.float64(np.linalg.norm(p - np.diag(diag))),
            "balance_drift": np.float64(drift),
        }

    rec = _Recorder(on_chunk, ("step", "loss", "modes", "offdiag", "balance_drift"))
    grid = lin_grid(steps, int(config.records))
    _, stopped = _drive(
        grid, ws, lambda w, k: deeplinear.gd_chunk(w, target, eta, k), measure, rec,
        should_stop,
    )  # fmt: skip
    summary = {
        "mode": "deeplinear",
        "eta": eta,
        "steps_planned": steps,
        "u0": float(config.init) ** int(config.depth),
        "initial_modes": np.diag(uu.T @ deeplinear.product(ws) @ vv).tolist(),
    }
    return _finish(config, seed, rec, summary, stopped, t0)

"""The ReLU net's phase boundaries in eta lambda_0, measured by K-section search per width and seed.

For one width, every seed's network is initialized (its own lambda_0, e0, L_0), then two
searches run side by side in eta lambda_0:

    lower  lazy | catapult      predicate: the top mode's loss grew (top_rise > RISE_FACTOR)
    upper  catapult | divergent predicate: the run did not converge (blown up or stalled)

Each starts from a bracket [lo, hi] whose ends are checked (the predicate false at lo, true at hi;
otherwise the boundary is reported as not bracketed) and shrinks it ``points + 1``-fold a round by
evaluating ``points`` interior step sizes: the new bracket is the last point where the predicate
is false and the first where it is true. Every round is one compiled call,
:func:`.relu.outcomes`, vmapped over all seeds and all points of both searches. The search
assumes one crossing per bracket; every evaluated point is kept (``probes``), so a second
crossing shows up as an inversion (counted in ``inversions``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.experiments.lrphases import relu
from theoryscope.experiments.lrphases.config import Config
from theoryscope.experiments.lrphases.engine import _dtype, divergence_cap, relu_init
from theoryscope.experiments.lrphases.relu_theory import (
    LAZY_BOUNDARY,
    PAPER_MAX,
    UV_MAX,
    classify,
)

#: Brackets in eta lambda_0: lower search, and the low end of the upper one (the top end is
#: the study's ``max_scale``).
LOWER_BRACKET = (1.0, 3.0)
UPPER_LOW = 1.5

Evaluate = Callable[[np.ndarray], dict[str, np.ndarray]]


def ksection(
    evaluate: Evaluate,
    predicates: list[Callable[[dict[str, np.ndarray]], np.ndarray]],
    brackets: list[tuple[np.ndarray, np.ndarray]],
    *,
    points: int,
    tol: float,
    on_round: Callable[[int], None] | None = None,
) -> list[dict[str, np.ndarray]]:
    """Shrink several brackets at once, all seeds and all searches in each ``evaluate`` call.

    ``evaluate(scales)`` takes an (S, P) array of eta lambda_0 values and returns arrays of
    shape (S, P); ``predicates[j](outcomes)`` is the (S, P) boolean of search j; ``brackets[j]``
    is (lo, hi), each of shape (S,). A bracket is done once hi - lo <= tol hi. Returns, per
    search, ``boundary`` (the final bracket's midpoint, NaN if the ends were not a false / true
    pair), ``lo``, ``hi``, ``bracketed``.
    """
    n_search = len(brackets)
    lo = [np.asarray(b[0], dtype=np.float64).copy() for b in brackets]
    hi = [np.asarray(b[1], dtype=np.float64).copy() for b in brackets]
    ends = evaluate(np.concatenate([np.stack([lo[j], hi[j]], axis=1) for j in range(n_search)], 1))
    ok = []
    for j in range(n_search):
        p = predicates[j]({k: v[:, 2 * j : 2 * j + 2] for k, v in ends.items()})
        ok.append(~p[:, 0] & p[:, 1])
    frac = np.arange(1, points + 1) / (points + 1)
    rounds = 0
    while True:
        active = [ok[j] & (hi[j] - lo[j] > tol * hi[j]) for j in range(n_search)]
        if not any(a.any() for a in active):
            break
        grids = [lo[j][:, None] + (hi[j] - lo[j])[:, None] * frac for j in range(n_search)]
        out = evaluate(np.concatenate(grids, axis=1))
        for j in range(n_search):
            part = {k: v[:, j * points : (j + 1) * points] for k, v in out.items()}
            p = predicates[j](part)
            first = np.where(p.any(axis=1), np.argmax(p, axis=1), points)
            rows = np.arange(len(first))
            new_hi = np.where(first < points, grids[j][rows, np.minimum(first, points - 1)], hi[j])
            new_lo = np.where(first > 0, grids[j][rows, np.maximum(first - 1, 0)], lo[j])
            hi[j] = np.where(active[j], new_hi, hi[j])
            lo[j] = np.where(active[j], new_lo, lo[j])
        rounds += 1
        if on_round is not None:
            on_round(rounds)
    return [
        {
            "boundary": np.where(ok[j], 0.5 * (lo[j] + hi[j]), np.nan),
            "lo": lo[j],
            "hi": hi[j],
            "bracketed": ok[j],
        }
        for j in range(n_search)
    ]


def _phase_arrays(out: dict[str, np.ndarray], tol: float) -> tuple[np.ndarray, np.ndarray]:
    shape = out["final_loss"].shape
    phase = np.empty(shape, dtype=object)
    kind = np.empty(shape, dtype=object)
    for idx in np.ndindex(shape):
        phase[idx], kind[idx] = classify(
            float(out["initial_loss"][idx]), float(out["final_loss"][idx]),
            float(out["top_rise"][idx]), tol,
        )  # fmt: skip
    return phase, kind


def search_width(
    config: Config,
    seeds: list[int],
    *,
    max_scale: float,
    points: int,
    tol: float,
    on_round: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Both boundaries of every seed at the width of ``config`` (a relu config; its lr fields
    are ignored), with every probe kept."""
    started = time.perf_counter()
    with jax.enable_x64(config.dtype == "float64"):
        inits = [relu_init(config, seed) for seed in seeds]
        dt = _dtype(config)
        x, y = inits[0]["x"], inits[0]["y"]
        u = jnp.stack([i["u"] for i in inits])
        v = jnp.stack([i["v"] for i in inits])
        e0 = jnp.stack([i["e0"] for i in inits])
        lam0 = np.array([i["lambda0"] for i in inits])
        loss0 = np.array([i["initial_loss"] for i in inits])
        width = int(config.width or 1)
        cap = jnp.asarray([divergence_cap(float(l0), width) for l0 in loss0], dtype=dt)
        steps = int(config.steps or 1)
        probes: list[dict[str, Any]] = []

        def evaluate(scales: np.ndarray) -> dict[str, np.ndarray]:
            etas = jnp.asarray(scales / lam0[:, None], dtype=dt)
            raw = relu.outcomes(u, v, x, y, e0, etas, cap, steps=steps)
            out: dict[str, Any] = {k: np.asarray(val, dtype=np.float64) for k, val in raw.items()}
            phase, kind = _phase_arrays(out, float(config.converge_tol))
            eta_np = np.asarray(etas, dtype=np.float64)
            for s_i, seed in enumerate(seeds):
                for p_i, a in enumerate(scales[s_i]):
                    ratio = out["final_ntk"][s_i, p_i] * eta_np[s_i, p_i] / 2.0
                    rel = out["final_loss"][s_i, p_i] / out["initial_loss"][s_i, p_i]
                    probes.append({
                        "seed": seed, "eta_lambda0": float(a), "phase": str(phase[s_i, p_i]),
                        "outcome": str(kind[s_i, p_i]),
                        "final_ntk_ratio": float(ratio) if math.isfinite(ratio) else None,
                        "alive": float(out["alive"][s_i, p_i]),
                        "final_loss_ratio": float(rel) if math.isfinite(rel) else None,
                    })  # fmt: skip
            out["rose"] = out["top_rise"] > relu.RISE_FACTOR
            out["failed"] = (phase == "divergent").astype(bool)
            return out

        n_seeds = len(seeds)
        lower, upper = ksection(
            evaluate,
            [lambda o: o["rose"], lambda o: o["failed"]],
            [
                (np.full(n_seeds, LOWER_BRACKET[0]), np.full(n_seeds, LOWER_BRACKET[1])),
                (np.full(n_seeds, UPPER_LOW), np.full(n_seeds, float(max_scale))),
            ],
            points=points,
            tol=tol,
            on_round=on_round,
        )
    return {
        "width": width,
        "seeds": list(seeds),
        "lambda0": lam0.tolist(),
        "initial_loss": loss0.tolist(),
        "lower": _listed(lower["boundary"]),
        "upper": _listed(upper["boundary"]),
        "upper_bracket": [
            [float(a), float(b)] for a, b in zip(upper["lo"], upper["hi"], strict=True)
        ],  # fmt: skip
        "upper_outcome": [
            _outcome_at(probes, seed, float(hi))
            for seed, hi in zip(seeds, upper["hi"], strict=True)
        ],  # fmt: skip
        "probes": probes,
        "inversions": inversions(probes),
        "seconds": time.perf_counter() - started,
    }


def _listed(values: np.ndarray) -> list[float | None]:
    return [float(v) if math.isfinite(float(v)) else None for v in values]


def _outcome_at(probes: list[dict[str, Any]], seed: int, scale: float) -> str | None:
    """The outcome (blown up / stalled) of the probe at the failing end of the upper bracket."""
    for p in probes:
        if p["seed"] == seed and p["eta_lambda0"] == scale:
            return str(p["outcome"])
    return None


def inversions(probes: list[dict[str, Any]]) -> int:
    """Pairs (per seed) of a converged probe above a failed one: a second crossing the search
    cannot see."""
    count = 0
    for seed in {p["seed"] for p in probes}:
        mine = sorted((p["eta_lambda0"], p["phase"] == "divergent") for p in probes
                      if p["seed"] == seed)  # fmt: skip
        first_fail = next((a for a, failed in mine if failed), math.inf)
        count += sum(1 for a, failed in mine if not failed and a > first_fail)
    return count


def _stats(values: list[float | None]) -> dict[str, float | int | None]:
    arr = np.array([v for v in values if v is not None], dtype=np.float64)
    if arr.size == 0:
        return {"mean": None, "std": None, "min": None, "max": None, "count": 0}
    return {"mean": float(arr.mean()), "std": float(arr.std(ddof=1)) if arr.size > 1 else 0.0,
            "min": float(arr.min()), "max": float(arr.max()), "count": int(arr.size)}  # fmt: skip


def summarize(per_width: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean, std (ddof 1), min and max over seeds of each boundary per width, the paper's and
    the uv model's numbers beside them, the largest final lambda eta / 2 of a catapult, and how
    many catapults ended above 2 / eta (with the largest final loss / L_0 among those)."""
    rows = []
    for w in per_width:
        lower, upper = _stats(w["lower"]), _stats(w["upper"])
        cat = [p for p in w["probes"]
               if p["phase"] == "catapult" and p["final_ntk_ratio"] is not None]  # fmt: skip
        catapults = [p["final_ntk_ratio"] for p in cat]
        # catapults that ended above 2 / eta: how far they had converged (at the edge of
        # stability the loss oscillates down slowly)
        above = [p["final_loss_ratio"] for p in cat if p["final_ntk_ratio"] > 1.0]
        alive = [p["alive"] for p in w["probes"] if p["phase"] != "divergent"]
        rows.append({
            "width": w["width"],
            "lower_mean": lower["mean"], "lower_std": lower["std"],
            "lower_min": lower["min"], "lower_max": lower["max"],
            "upper_mean": upper["mean"], "upper_std": upper["std"],
            "upper_min": upper["min"], "upper_max": upper["max"],
            "bracketed": upper["count"], "seeds": len(w["seeds"]),
            "lazy_boundary": LAZY_BOUNDARY, "uv_upper": UV_MAX, "paper_upper": PAPER_MAX,
            "catapult_final_ratio_max": max(catapults) if catapults else None,
            "catapults": len(catapults),
            "catapults_above_edge": len(above),
            "above_edge_final_loss_max": max(above) if above else None,
            "min_alive_converged": min(alive) if alive else None,
            "inversions": w["inversions"],
        })  # fmt: skip
    return {"per_width": rows}

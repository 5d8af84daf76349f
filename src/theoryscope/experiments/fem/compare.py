"""Agreement of a fem run with its theory (all JSON numbers).

final_excess / _predicted     E(a) - E* at the last record against the exact GD curve (gd);
                              their ratio only while the prediction is above rounding
excess_max_rel_error          largest |measured - predicted| / predicted over the records (gd;
                              records where the prediction is below 1e-13 of the start are
                              left out: there float64 rounding is the whole signal)
steps_to_fraction / _pred.    first step with excess <= 1% of its start (measured: log-log
                              interpolated between records; predicted: the exact curve)
final_max_error / ls_max_error  the fit's max error against the exact LS solution's
final_loss / loss_floor       against E* = 1/2 ||f - Pi f||^2
condition_number, fe_bounds, h_ratio   the conditioning of G (cond(M) in fe_bounds' range)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theoryscope.experiments.fem.theory import FRACTION, Theory
from theoryscope.protocol import Run

#: Records whose predicted excess is below this fraction of the initial one are not compared.
REL_FLOOR = 1e-13


def _first_below(step: np.ndarray, values: np.ndarray, goal: float) -> float | None:
    """First step where ``values <= goal``, log-log interpolated between the two records around
    the crossing (linear in the step across step 0); None if never reached."""
    hit = np.nonzero(values <= goal)[0]
    if not hit.size:
        return None
    i = int(hit[0])
    if i == 0:
        return float(step[0])
    s0, s1, y0, y1 = float(step[i - 1]), float(step[i]), float(values[i - 1]), float(values[i])
    if s0 <= 0 or y1 <= 0:
        return s0 + (y0 - goal) / (y0 - y1) * (s1 - s0)
    frac = (np.log(y0) - np.log(goal)) / (np.log(y0) - np.log(y1))
    return float(np.exp(np.log(s0) + frac * (np.log(s1) - np.log(s0))))


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b not in (None, 0.0) else None


def compare(run: Run, theory: Theory) -> dict[str, Any]:
    """The numbers that say how well run and theory agree (module docstring)."""
    series = run.series
    count = len(series.get("step", []))
    out: dict[str, Any] = {
        "records": count,
        "zero": 0.0,
        "condition_number": theory.condition_number,
        "fe_bounds": list(theory.fe_bounds),
        "h_ratio": theory.h_ratio,
        "lambda_max": float(theory.eigenvalues[0]),
        "lambda_min": float(theory.eigenvalues[-1]),
        "loss_floor": theory.loss_floor,
        "ls_max_error": theory.ls_max_error,
        "ls_mse": theory.ls_mse,
        "steps_to_fraction_predicted": theory.steps_to_fraction,
    }
    if count:
        excess = np.asarray(series["excess"], dtype=float)
        out["final_loss"] = float(series["loss"][-1])
        out["final_excess"] = float(excess[-1])
        out["final_max_error"] = float(series["max_error"][-1])
        out["steps_to_fraction"] = _first_below(series["step"], excess,
                                                FRACTION * theory.initial_excess)  # fmt: skip
    else:
        for key in ("final_loss", "final_excess", "final_max_error", "steps_to_fraction"):
            out[key] = None
    if theory.excess is not None and count:
        pred = np.asarray(theory.excess[:count], dtype=float)
        out["final_excess_predicted"] = float(pred[-1])
        keep = pred > REL_FLOOR * theory.initial_excess
        rel = np.abs(excess[keep] - pred[keep]) / pred[keep]
        out["excess_max_rel_error"] = float(rel.max()) if rel.size else None
    else:
        out["final_excess_predicted"] = None
        out["excess_max_rel_error"] = None
    above = (out["final_excess_predicted"] or 0.0) > REL_FLOOR * theory.initial_excess
    out["excess_ratio"] = (_ratio(out["final_excess"], out["final_excess_predicted"])
                           if above else None)  # fmt: skip
    return out

"""Agreement of a spectral-bias run with its kernel-regime theory.

Reports (all JSON numbers): the fitted eigenvalue-decay exponent against the talk's 4; the float32
and float64 numerical ranks against ``(C/(eps lambda_1))^{1/p}``; per frequency the measured half
time (first step with ``|c_k| <= |A_k|/2``, log-log interpolated between records) against the
predicted one, and their ratio; the largest deviation of the recorded residual eigen-components
from ``(1 - eta lambda_j)^s`` decay; whether low frequencies were learned first.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theoryscope.experiments.spectral.spectrum import THEORY_EXPONENT
from theoryscope.experiments.spectral.theory import Theory, slope
from theoryscope.protocol import Run


def measured_half_time(step: np.ndarray, residual: np.ndarray) -> float | None:
    """First step where ``|residual| <= 1/2`` (interpolated), None if never within the run."""
    amp = np.abs(np.asarray(residual, dtype=float))
    below = np.nonzero(amp <= 0.5)[0]
    if below.size == 0:
        return None
    i = int(below[0])
    if i == 0:
        return float(step[0])
    s0, s1, y0, y1 = float(step[i - 1]), float(step[i]), amp[i - 1], amp[i]
    if s0 <= 0 or y1 <= 0:  # linear in the step across s = 0 (or an exact zero)
        return s0 + (y0 - 0.5) / (y0 - y1) * (s1 - s0)
    frac = (math.log(y0) - math.log(0.5)) / (math.log(y0) - math.log(y1))
    return math.exp(math.log(s0) + frac * (math.log(s1) - math.log(s0)))


def compare(run: Run, theory: Theory) -> dict[str, Any]:
    """The numbers that say how well run and theory agree (see module docstring)."""
    spectrum = theory.spectrum
    fit = spectrum.fit
    out: dict[str, Any] = {
        "decay_exponent": fit.exponent if fit else None,
        "decay_exponent_theory": THEORY_EXPONENT,
        "decay_fit_range": [fit.lo, fit.hi] if fit else None,
        "condition_number": spectrum.condition_number,
        "numerical_rank": dict(spectrum.numerical_rank),
        "numerical_rank_predicted": dict(spectrum.predicted_rank),
        "lambda_max": theory.lambda_max,
        "lr_stable_max": theory.lr_stable_max,
    }
    series = run.series
    step = np.asarray(series.get("step", np.zeros(0)))
    count = len(step)
    freqs = list(run.config.get("freqs", theory.config["freqs"]))
    measured: list[float | None] = []
    rows = []
    for k, freq in enumerate(freqs):
        t_meas = measured_half_time(step, series["residual"][:, k]) if count else None
        t_pred = theory.t_half[k]
        measured.append(t_meas)
        ratio = t_meas / t_pred if t_meas is not None and t_pred else None
        rows.append({
            "freq": int(freq),
            "t_half_measured": t_meas,
            "t_half_predicted": t_pred,
            "ratio": ratio,
            "dominant_eig": theory.dominant_eig[k],
            "final_residual_measured": float(series["residual"][-1, k]) if count else None,
            "final_residual_predicted": float(theory.residual[count - 1, k]) if count else None,
        })  # fmt: skip
    out["freqs"] = rows
    out["t_half_exponent_measured"] = slope([float(f) for f in freqs], measured)
    out["t_half_exponent_predicted"] = theory.t_half_exponent
    # the prediction's exponent over the same frequencies the run reached (like for like)
    out["t_half_exponent_predicted_reached"] = slope(
        [float(f) for f, t in zip(freqs, measured, strict=True) if t is not None],
        [p for p, t in zip(theory.t_half, measured, strict=True) if t is not None],
    )
    reached = [math.inf if t is None else t for t in measured]
    order = np.argsort(freqs)
    ordered = [reached[i] for i in order]
    out["low_frequencies_first"] = bool(
        all(x <= y for x, y in zip(ordered, ordered[1:], strict=False))
    )
    if count:
        pred = theory.eig_residual[:count]
        # relative to the larger of the record's and the initial prediction (diverging runs grow)
        scale = np.maximum(np.max(np.abs(pred), axis=1), np.max(np.abs(pred[0])))
        scale = np.where(scale > 0, scale, 1.0)
        with np.errstate(invalid="ignore"):
            err = np.max(np.abs(series["eig_residual"] - pred), axis=1) / scale
        out["eig_residual_max_error"] = float(np.max(err))
        out["residual_max_error"] = float(
            np.max(np.abs(series["residual"] - theory.residual[:count]))
        )
    else:
        out["eig_residual_max_error"] = None
        out["residual_max_error"] = None
    return out

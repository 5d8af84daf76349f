"""Agreement of a loss-Hessian run with its theory: JSON numbers only.

collapse     first and last NC1 and their ratio, the last cosine mean against -1/(C-1), the
             equinorm, NC3, NC4 (all predicted to vanish), the step of zero training error
outliers     n_class and n_cross at the final point against C and C(C-1), the top-C Hessian
             eigenvalues against the spectrum of G_class, the overlaps of the top-C eigenspace
             with the class-mean gradients (predicted 1)
tiny subspace  the gradient's mean fraction in the top-C eigenspace over the second half of
             the Hessian records, and the first recorded step after which the top-C eigenspace
             keeps an overlap >= 0.9 with the final one (Gur-Ari et al. 2018, figures 1-2)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theoryscope.experiments.hessian.theory import Theory
from theoryscope.protocol import Run

#: Overlap with the final top-C eigenspace that counts as "stabilised".
STABLE_OVERLAP = 0.9


def _finite(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def _last(series: dict[str, np.ndarray], key: str) -> float | None:
    values = _finite(series.get(key, np.zeros(0)))
    return float(values[-1]) if values.size else None


def compare(run: Run, theory: Theory) -> dict[str, Any]:
    s = run.series
    summary = run.summary
    out: dict[str, Any] = {"classes": theory.classes, "cos_limit": theory.cos_limit}
    nc1 = _finite(s.get("nc1", np.zeros(0)))
    out["nc1_first"] = float(nc1[0]) if nc1.size else None
    out["nc1_last"] = float(nc1[-1]) if nc1.size else None
    out["nc1_reduction"] = float(nc1[-1] / nc1[0]) if nc1.size >= 2 and nc1[0] > 0 else None
    for key in ("nc2_equinorm", "nc2_cos_mean", "nc2_cos_std", "nc2_cos_dev", "nc3", "nc4",
                "accuracy", "loss"):  # fmt: skip
        out[f"{key}_last"] = _last(s, key)
    acc = np.asarray(s.get("accuracy", np.zeros(0)), dtype=float)
    step = np.asarray(s.get("step", np.zeros(0)), dtype=float)
    perfect = np.nonzero(acc >= 1.0)[0]
    out["zero_error_step"] = float(step[perfect[0]]) if perfect.size else None
    final = summary.get("final") or {}
    out["n_class"] = final.get("n_class")
    out["n_cross"] = final.get("n_cross")
    out["n_outliers"] = final.get("n_outliers")
    out["predicted_class"] = theory.outliers_class
    out["predicted_cross"] = theory.outliers_cross
    out["predicted_cross_rank"] = theory.cross_rank
    out["predicted_outliers"] = theory.outliers_total
    out["overlap_class_means"] = final.get("overlap_class_means")
    out["overlap_loss_grad_means"] = final.get("overlap_loss_grad_means")
    h_top = final.get("h_top") or []
    class_eigs = final.get("class_eigs") or []
    out["outliers"] = [
        {"i": i + 1, "hessian": float(h_top[i]), "g_class": float(class_eigs[i])}
        for i in range(min(len(h_top), len(class_eigs)))
    ]
    out["bulk_edge"] = final.get("bulk_edge")
    # Gur-Ari et al.: the gradient in the top subspace, the subspace settling early
    frac = _finite(s.get("grad_frac", np.zeros(0)))
    half = frac[len(frac) // 2 :]
    out["grad_frac_late_mean"] = float(np.mean(half)) if half.size else None
    ov = summary.get("overlap_final") or {}
    steps_h, values = list(ov.get("step", [])), list(ov.get("value", []))
    out["overlap_final"] = {"step": steps_h, "value": values}
    stable = None
    for i in range(len(values)):
        if all(v is not None and math.isfinite(v) and v >= STABLE_OVERLAP for v in values[i:]):
            stable = float(steps_h[i])
            break
    out["stable_step"] = stable
    out["stable_fraction"] = (
        stable / float(step[-1]) if stable is not None and step.size and step[-1] > 0 else None
    )
    out["one"] = 1.0
    return out

"""Agreement of a Monte Carlo run with the exact law: final moments (with z-scores), log-moments,
the KS distance and its p-value, and how far the exact law is from its log-normal limit."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theoryscope.experiments.deeplinear_init.productlaw import KS_MEAN
from theoryscope.experiments.deeplinear_init.theory import MOMENTS, Theory
from theoryscope.protocol import Run


def compare(run: Run, theory: Theory) -> dict[str, Any]:
    series = run.series
    count = len(series.get("step", []))
    out: dict[str, Any] = {
        "nets": int(series["step"][-1]) if count else 0,
        "tau": sum(1.0 / n for n in theory.widths),
        "lognormal_mean_ratio": theory.log_mean / theory.lognormal_mean,
        "lognormal_var_ratio": theory.log_var / theory.lognormal_var,
    }
    rows = []
    for k in range(MOMENTS):
        exact = float(theory.moments[k])
        if count:
            ratio = float(series["moment_ratio"][-1, k])
            se = float(series["moment_se"][-1, k])
            z = (ratio - 1.0) / se if se > 0 else None
        else:
            ratio = se = z = None  # type: ignore[assignment]
        rows.append({"k": k + 1, "exact": exact, "mc": exact * ratio if ratio is not None
                     else None, "ratio": ratio, "se": se, "z": z})  # fmt: skip
    out["moments"] = rows
    if count:
        m = int(series["step"][-1])
        out.update({
            "log_mean": float(series["log_mean"][-1]),
            "log_var": float(series["log_var"][-1]),
            "log_mean_se": math.sqrt(theory.log_var / m),
            "log_mean_z": (float(series["log_mean"][-1]) - theory.log_mean)
            / math.sqrt(theory.log_var / m),
            "ks": float(series["ks"][-1]),
            "ks_null_mean": KS_MEAN / math.sqrt(m),
            "ks_pvalue": float(series["ks_pvalue"][-1]),
            "max_abs_z": float(np.max(np.abs([r["z"] for r in rows if r["z"] is not None])))
            if rows else None,
        })  # fmt: skip
    return out

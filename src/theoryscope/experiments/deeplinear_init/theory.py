"""The run's theory: exact moments, log-moments, density and CDF of ``||theta||^2``, the
log-normal limit, and the null behaviour of the KS distance (see :mod:`.productlaw`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from theoryscope.experiments.deeplinear_init.config import Config
from theoryscope.experiments.deeplinear_init.productlaw import KS_95, KS_MEAN, NormLaw

#: Moments E||theta||^{2k} recorded and predicted, k = 1..MOMENTS.
MOMENTS = 4
#: Points of the drawn density curve.
CURVE_POINTS = 400


@dataclass
class Theory:
    config: dict[str, Any]
    widths: tuple[int, ...]
    law: NormLaw
    moments: np.ndarray  # (MOMENTS,)
    log_mean: float
    log_var: float
    lognormal_mean: float
    lognormal_var: float
    nets_axis: np.ndarray  # cumulative nets at each record


def predict(config: Config) -> Theory:
    """Exact law of the config's ``||theta||^2`` (pure; the density grid is one FFT)."""
    widths = config.all_widths()
    law = NormLaw(widths)
    mean_lim, var_lim = -sum(1.0 / n for n in widths), sum(2.0 / n for n in widths)
    return Theory(
        config=config.to_dict(),
        widths=widths,
        law=law,
        moments=np.asarray([law.moment(k) for k in range(1, MOMENTS + 1)]),
        log_mean=law.log_mean(),
        log_var=law.log_var(),
        lognormal_mean=mean_lim,
        lognormal_var=var_lim,
        nets_axis=config.nets * np.arange(1, config.records + 1, dtype=np.float64),
    )


def density_curve(theory: Theory) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(v, exact density, log-normal density)`` of ``log ||theta||^2`` between the 1e-6 and
    1 - 1e-6 quantiles."""
    lo, hi = theory.law.quantile_log(np.asarray([1e-6, 1.0 - 1e-6]))
    v = np.linspace(float(lo), float(hi), CURVE_POINTS)
    grid, pdf, _ = theory.law.grid
    exact = np.interp(v, grid, pdf)
    m, s2 = theory.lognormal_mean, theory.lognormal_var
    normal = np.exp(-0.5 * (v - m) ** 2 / s2) / math.sqrt(2.0 * math.pi * s2)
    return v, exact, normal


def theory_to_dict(theory: Theory) -> dict[str, Any]:
    v, exact, normal = density_curve(theory)
    nets = theory.nets_axis
    count = nets.size
    tau = sum(1.0 / n for n in theory.widths)
    return {
        "widths": list(theory.widths),
        "tau": tau,
        "moment_orders": list(range(1, MOMENTS + 1)),
        "moments": theory.moments.tolist(),
        "log_mean": theory.log_mean,
        "log_var": theory.log_var,
        "lognormal_mean": theory.lognormal_mean,
        "lognormal_var": theory.lognormal_var,
        "log_norm_mean": 0.5 * theory.log_mean,  # of log ||theta|| (the notes' variable)
        "log_norm_var": 0.25 * theory.log_var,
        "nets": nets.tolist(),
        "ones": np.ones((count, MOMENTS)).tolist(),
        "log_mean_curve": np.full(count, theory.log_mean).tolist(),
        "log_var_curve": np.full(count, theory.log_var).tolist(),
        "ks_mean": (KS_MEAN / np.sqrt(nets)).tolist(),
        "ks_95": (KS_95 / np.sqrt(nets)).tolist(),
        "density_v": v.tolist(),
        "density": exact.tolist(),
        "lognormal_density": normal.tolist(),
        "density_mass": theory.law.mass,
    }

"""The phase diagram of the uv model: GD at many step sizes from one initialization (vmap over eta).

For eta lambda_0 on a grid, run ``steps`` GD steps and report the final and the largest loss and
the final lambda; the theory draws the boundaries eta lambda_0 = 2 (lazy | catapult) and 4
(catapult | divergent) (Lewkowycz et al. 2020, section 2, figure 2).
"""

from __future__ import annotations

import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.core.validation import as_float, as_int
from theoryscope.errors import ConfigError
from theoryscope.experiments.lrphases import uv
from theoryscope.experiments.lrphases.config import Config
from theoryscope.experiments.lrphases.data import infinite_width_ntk
from theoryscope.experiments.lrphases.engine import _dtype, catapult_init, divergence_cap
from theoryscope.experiments.lrphases.theory import (
    DIVERGENT_BOUNDARY,
    LAZY_BOUNDARY,
    classify,
    phase_of,
)


def phase_diagram(
    config: Config,
    seed: int = 0,
    *,
    scales: Any = None,
    points: int = 60,
    min_scale: float = 0.1,
    max_scale: float = 6.0,
) -> dict[str, Any]:
    """Final loss, max loss and final lambda against eta lambda_0 (the uv model of ``config``).

    ``scales`` (eta lambda_0 values) defaults to ``points`` values evenly spaced in
    [min_scale, max_scale]. Measured phase per point: divergent (non-finite / above the cap, or
    final loss >= L_0), catapult (max loss > L_0), lazy otherwise.
    """
    if config.mode != "catapult":
        raise ConfigError("mode", f"got {config.mode!r}; allowed: catapult (the uv model)")
    if scales is None:
        points = as_int("points", points, low=2, high=10_000)
        lo = as_float("min_scale", min_scale, low=0.0, low_open=True)
        hi = as_float("max_scale", max_scale, low=lo, low_open=True)
        scales = np.linspace(lo, hi, points)
    scales = np.asarray(scales, dtype=np.float64)
    started = time.perf_counter()
    with jax.enable_x64(config.dtype == "float64"):
        init = catapult_init(config, seed)
        lam0 = init["lambda0"]
        dt = _dtype(config)
        cap = divergence_cap(init["first"]["loss"], int(config.width or 1))
        out = uv.sweep(
            init["u"], init["v"], init["x"], init["y"],
            jnp.asarray(scales / lam0, dtype=dt), jnp.asarray(cap, dtype=dt),
            steps=int(config.steps or 1),
        )  # fmt: skip
        res = {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}
    l0 = float(res["initial_loss"][0])
    measured = [
        classify(l0, float(final), float(peak))
        for final, peak in zip(res["final_loss"], res["max_loss_after_start"], strict=True)
    ]
    predicted = [phase_of(float(a)) for a in scales]
    return {
        "lambda0_infinite_width": infinite_width_ntk(np.asarray(init["x"], dtype=np.float64)),
        "dtype": config.dtype,
        "boundaries_measured": [
            measured_boundary(scales, measured, "lazy", "catapult"),
            measured_boundary(scales, measured, "catapult", "divergent"),
        ],
        "width": int(config.width or 1),
        "steps": int(config.steps or 1),
        "seed": seed,
        "lambda0": lam0,
        "initial_loss": l0,
        "eta_lambda0": scales,
        "eta": scales / lam0,
        "final_loss": res["final_loss"],
        "max_loss": np.maximum(res["max_loss_after_start"], l0),
        "final_ntk": res["final_ntk"],
        "phase_measured": measured,
        "phase_predicted": predicted,
        "agreement": float(np.mean([m == p for m, p in zip(measured, predicted, strict=True)])),
        "boundaries": [LAZY_BOUNDARY, DIVERGENT_BOUNDARY],
        "seconds": time.perf_counter() - started,
    }


def measured_boundary(
    scales: np.ndarray, phases: list[str], below: str, above: str
) -> float | None:
    """Where the measured phase changes from ``below`` to ``above`` along the eta lambda_0 grid:
    the midpoint between the last ``below`` point and the first ``above`` point after it
    (None when the grid does not show both)."""
    last_below = None
    for a, phase in zip(scales, phases, strict=True):
        if phase == below:
            last_below = float(a)
        elif phase == above and last_below is not None:
            return 0.5 * (last_below + float(a))
    return None

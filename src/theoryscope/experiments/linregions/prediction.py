"""predict / compare for the run (training a net and counting its regions along [lo, hi]).

The prediction is the infinite-width expectation of the activation regions on [lo, hi] at
initialisation (:func:`.theory.segment_layer_counts`, Hanin & Rolnick ICML 2019, Theorem 3 by
Rice's formula), per layer and in all, drawn as a flat dashed line over the training steps, with
the worst-case bounds (3^N, Serra et al.) and, at depth one, Zaslavsky's global count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from theoryscope.experiments.linregions import theory as th
from theoryscope.experiments.linregions.config import Config, segment
from theoryscope.protocol import Run


@dataclass(frozen=True)
class Theory:
    config: dict[str, Any]
    expected_regions: float
    layer_breakpoints: list[float]
    bounds: dict[str, Any]
    steps: int


def predict(config: Config) -> Theory:
    x0, x1 = segment(config)
    layers = th.segment_layer_counts(config.widths, x0, x1, c_w=config.c_w, c_b=config.c_b,
                                     bias=config.bias)  # fmt: skip
    return Theory(
        config=config.to_dict(),
        expected_regions=1.0 + float(np.sum(layers)),
        layer_breakpoints=[float(v) for v in layers],
        bounds=th.bounds(1, config.widths),
        steps=int(config.steps),
    )


def theory_to_dict(theory: Theory) -> dict[str, Any]:
    last = max(theory.steps, 1)
    return {
        "expected_regions": theory.expected_regions,
        "layer_breakpoints": theory.layer_breakpoints,
        "bounds": theory.bounds,
        # the initial expectation as a flat line over the recorded steps (x axis is log)
        "step": [1, last],
        "regions": [theory.expected_regions, theory.expected_regions],
        "cite": th.HANIN_ROLNICK,
    }


def compare(run: Run, theory: Theory) -> dict[str, Any]:
    """Initial count against the expectation; how the count moves during training."""
    series = run.series
    regions = np.asarray(series.get("regions", []), dtype=np.float64)
    active = np.asarray(series.get("activation_regions", []), dtype=np.float64)
    if len(regions) == 0:
        return {"records": 0}
    initial, final = float(regions[0]), float(regions[-1])
    log10_serra = float(theory.bounds["log10_serra"])
    return {
        "records": int(len(regions)),
        "initial_activation_regions": float(active[0]),
        "initial_regions": initial,
        "expected_regions": theory.expected_regions,
        "initial_over_expected": float(active[0]) / theory.expected_regions,
        "final_regions": final,
        "max_regions": float(regions.max()),
        "final_over_initial": final / initial,
        "max_over_initial": float(regions.max()) / initial,
        "log10_max_over_serra": float(np.log10(regions.max())) - log10_serra,
        "final_loss": float(series["loss"][-1]),
    }

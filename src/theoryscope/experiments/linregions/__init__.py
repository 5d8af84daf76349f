"""Linear regions of random ReLU networks, counted exactly (seed 002, lectures 11/30 and 12/5).

A ReLU net is piecewise linear; its *linear regions* (maximal sets of constant input gradient)
measure its complexity. This experiment counts them exactly -- along a segment by following the
piecewise-linear path layer by layer (:mod:`.count1d`), in a 2-D square by refining convex
polygons layer by layer (:mod:`.count2d`) -- and lays the counts against the theory: Zaslavsky's
count at depth one, the 3^N and Serra et al. worst-case bounds, Telgarsky's 2^L sawtooth, and the
average case of Hanin & Rolnick (co-area formula: the expected count along a line grows like the
number of neurons, not exponentially with depth; like N^2 per unit area in 2-D).

The run trains a net on sin(pi k x) and counts its regions on [lo, hi] at log-spaced steps (the
count stays of the order of its value at init); studies cover the rest (``depth``, ``bias``,
``coarea``, ``map``, ``area``, ``telgarsky``, ``zaslavsky``).

Python API::

    from theoryscope.experiments import linregions
    from theoryscope.experiments.linregions.network import random_net, net_rng
    from theoryscope.experiments.linregions.count1d import count_segment
    net = random_net(net_rng(0), 1, [32, 32, 32])
    count_segment(net, [-1.0], [1.0]).regions
    run = linregions.simulate(linregions.Config(widths=(16, 16)), seed=0)
"""

from __future__ import annotations

from typing import Any

from theoryscope.experiments.linregions import declaration
from theoryscope.experiments.linregions.config import Config
from theoryscope.protocol import ChunkCallback, Experiment, Hooks, Run, StopPredicate, register

__all__ = ["Config", "compare", "predict", "simulate", "theory_to_dict"]


def simulate(
    config: Config,
    seed: int = 0,
    *,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
) -> Run:
    """Train the net drawn from ``seed`` and count its regions at log-spaced steps."""
    from theoryscope.experiments.linregions.engine import simulate as train

    return train(config, seed, on_chunk=on_chunk, should_stop=should_stop)


def predict(config: Config) -> Any:
    """Infinite-width expectation of the regions on [lo, hi] at init, and the bounds."""
    from theoryscope.experiments.linregions.prediction import predict as expect

    return expect(config)


def compare(run: Run, theory: Any) -> dict[str, Any]:
    from theoryscope.experiments.linregions.prediction import compare as agree

    return agree(run, theory)


def theory_to_dict(theory: Any) -> dict[str, Any]:
    from theoryscope.experiments.linregions.prediction import theory_to_dict as to_dict

    return to_dict(theory)


EXPERIMENT = register(
    Experiment(
        name="linregions",
        title="Linear regions of random ReLU networks",
        summary="Exact counts of a ReLU net's linear regions along a segment and in a 2-D square: "
        "Zaslavsky at depth one, Telgarsky's 2^L, and on average ~N per unit length (co-area "
        "formula), not exponential in depth; the count during training.",
        config_from_dict=Config.from_dict,
        simulate=simulate,
        predict=predict,
        compare=compare,
        theory_to_dict=theory_to_dict,
        config=Config,
        figures=declaration.FIGURES,
        metrics=declaration.METRICS,
        studies=declaration.STUDIES,
        presets=declaration.PRESETS,
        estimate=declaration.estimate,
        hooks=Hooks(describe=declaration.describe),
        commands={"train": {}},
        cite=declaration.PAPER,
        order=70,
    )
)

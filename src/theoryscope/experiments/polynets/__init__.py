"""Shallow polynomial networks: teacher-student training against the exact Gaussian landscape.

    f_W(x) = sum_{i<=r} (w_i . x)^p, x ~ N(0, I_d), teacher of width r*, student of width r
    (Arjevani, Bruna, Kileel, Polak, Trager 2025, arXiv 2501.06074)

    population  exact loss E[(f_W - f*)^2] through the Hermite kernel; p = 2: 2||D||_F^2 + tr(D)^2
    landscape   r >= r*: loss 0 is reachable; no spurious minima is proven for r >= d
                (Soltanolkotabi, Javanmard & Lee 2019) or with weight decay (Du & Lee 2018), and
                observed here for r* <= r < d; r < r*: GD reaches the best rank-r loss
                2 sum_{j>r} lambda_j^2 + 2 T_r^2 / (r + 2)
    incremental small init: the teacher's eigen-directions are learned one by one, largest
                first, at t_j ~ log(1 / init^2) / (16 lambda_j + trace term)
    critical    p = 2 with signed or trained outer weights and x ~ N(0, Sigma): every critical
                point (subsets S of the transformed teacher's eigen-directions, eigenvalues
                lifted by T_S / (|S| + 2)) with its Hessian index and nullity (studies
                critical-points, gd-endpoints, discriminant; quadratic.py, critical.py)

Python API::

    from theoryscope.experiments import polynets
    cfg = polynets.Config(d=10, teacher_width=3, width=5, init=1e-3, lr=0.01, steps=5000)
    run = polynets.simulate(cfg, seed=0)      # series: loss, population_loss, eig_i, proj_j
    theory = polynets.predict(cfg)            # optimal loss, regime, learning times
    agreement = polynets.compare(run, theory) # final vs optimal loss, measured vs predicted times
    table = polynets.landscape(cfg, widths=[1, 2, 3, 4], seeds=range(10))

Matplotlib loads on first use, so importing this package is cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from theoryscope.experiments.polynets import declaration
from theoryscope.experiments.polynets.config import DEGREES, PAPER, TEACHERS, Config
from theoryscope.protocol import ChunkCallback, Experiment, Run, StopPredicate, register

__all__ = [
    "DEGREES",
    "TEACHERS",
    "Config",
    "compare",
    "landscape",
    "plot",
    "predict",
    "simulate",
]


def simulate(
    config: Config,
    seed: int = 0,
    *,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
) -> Run:
    """GD of one student (init from ``seed``) on the population or the sampled loss."""
    from theoryscope.experiments.polynets import engine

    return engine.simulate(config, seed, on_chunk=on_chunk, should_stop=should_stop)


def predict(config: Config) -> Any:
    """Regime, best reachable loss and (p = 2) incremental-learning times."""
    from theoryscope.experiments.polynets.theory import predict as predict_theory

    return predict_theory(config)


def compare(run: Run, theory: Any) -> dict[str, Any]:
    """Final vs predicted optimal loss, success, measured vs predicted learning times."""
    from theoryscope.experiments.polynets.theory import compare as compare_run

    return compare_run(run, theory)


def theory_to_dict(theory: Any) -> dict[str, Any]:
    from theoryscope.experiments.polynets.theory import theory_to_dict as to_dict

    return to_dict(theory)


def landscape(
    config: Config, widths: Iterable[int], seeds: Iterable[int], **kwargs: Any
) -> dict[str, Any]:
    """Success rate and final / optimal loss per student width (seeds batched); ``progress``
    and ``should_stop`` as in :func:`.engine.landscape`."""
    from theoryscope.experiments.polynets.engine import landscape as run_landscape

    return run_landscape(config, [int(w) for w in widths], [int(s) for s in seeds], **kwargs)


def plot(run: Run, theory: Any = None, **kwargs: Any) -> Any:
    """Loss against time with the predicted optimum dashed; eigenvalues of M(t) vs the teacher's."""
    from theoryscope.experiments.polynets.plots import plot_run

    return plot_run(run, theory, **kwargs)


EXPERIMENT = register(
    Experiment(
        name="polynets",
        title="Shallow polynomial networks: teacher-student landscape and incremental learning",
        summary="f_W(x) = sum_i (w_i . x)^p on Gaussian inputs: a width-r student of a width-r* "
        "teacher reaches loss 0 (r >= r*) or the best rank-r loss (r < r*), learning the "
        "teacher's directions one by one from a small init; for quadratic nets every critical "
        "point and its Hessian signature.",
        config_from_dict=Config.from_dict,
        simulate=simulate,
        predict=predict,
        compare=compare,
        theory_to_dict=theory_to_dict,
        plot=plot,
        config=Config,
        figures=declaration.FIGURES,
        metrics=declaration.METRICS,
        studies=declaration.STUDIES,
        presets=declaration.PRESETS,
        estimate=declaration.estimate,
        commands={"train": {}},
        cite=PAPER,
        order=70,
    )
)

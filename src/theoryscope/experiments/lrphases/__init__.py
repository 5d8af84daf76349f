"""Learning-rate phases: the catapult of the uv model and of a wide ReLU net, and the edge of
stability of a small MLP.

    catapult  f(x) = v^T U x / sqrt(m), GD with eta = lr_scale / lambda_0: lazy (eta lambda_0 < 2),
              catapult (2..4), divergent (> 4)          (Lewkowycz et al. 2020, section 2)
    relu      f(x) = v^T relu(U x) / sqrt(m): lazy below 2, catapult up to a boundary the paper
              puts near 12 (section 3); study relu-boundaries measures it against width
    eos       MLP, full-batch GD: the sharpness rises to 2 / eta and hovers there
                                                         (Cohen et al. 2021)

Python API::

    from theoryscope.experiments import lrphases
    cfg = lrphases.Config(mode="catapult", width=1000, lr_scale=3.0, steps=200)
    run = lrphases.simulate(cfg, seed=0)       # run.series["loss"], ["ntk"], ["output"]
    theory = lrphases.predict(cfg)             # phase, boundaries, 2 / eta, peak step (give
                                               # init_seed for the run's own lambda_0)
    agreement = lrphases.compare(run, theory)  # final lambda vs 2 / eta; phase vs predicted
    diagram = lrphases.phase_diagram(cfg)      # final / max loss against eta lambda_0

JAX and matplotlib load on first use, so importing this package is cheap.
"""

from __future__ import annotations

from typing import Any

from theoryscope.experiments.lrphases import declaration
from theoryscope.experiments.lrphases.config import ACTIVATIONS, MODES, TARGETS, Config
from theoryscope.protocol import ChunkCallback, Experiment, Run, StopPredicate, register

__all__ = [
    "ACTIVATIONS",
    "MODES",
    "TARGETS",
    "Config",
    "compare",
    "phase_diagram",
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
    """Run GD in the config's mode (catapult: uv model; relu: two-layer ReLU net; eos: MLP with
    sharpness tracking)."""
    from theoryscope.experiments.lrphases import engine

    fns = {"catapult": engine.simulate_catapult, "relu": engine.simulate_relu,
           "eos": engine.simulate_eos}  # fmt: skip
    return fns[config.mode](config, seed, on_chunk=on_chunk, should_stop=should_stop)


def predict(config: Config) -> Any:
    """Phase from eta lambda_0, boundaries 2 / lambda_0 and 4 / lambda_0, 2 / eta, peak step."""
    from theoryscope.experiments.lrphases.theory import predict as predict_theory

    return predict_theory(config)


def compare(run: Run, theory: Any) -> dict[str, Any]:
    """Final lambda vs 2 / eta and phase (catapult); late sharpness / (2 / eta) (eos)."""
    from theoryscope.experiments.lrphases.theory import compare as compare_run

    return compare_run(run, theory)


def theory_to_dict(theory: Any) -> dict[str, Any]:
    from theoryscope.experiments.lrphases.theory import theory_to_dict as to_dict

    return to_dict(theory)


def phase_diagram(config: Config, seed: int = 0, **kwargs: Any) -> dict[str, Any]:
    """Final and max loss against eta lambda_0 for the uv model (vmap over eta)."""
    from theoryscope.experiments.lrphases.phase import phase_diagram as diagram

    return diagram(config, seed, **kwargs)


def plot(run: Run, theory: Any = None, **kwargs: Any) -> Any:
    """Loss and NTK / sharpness against step with 2 / eta marked; returns the Figure."""
    from theoryscope.experiments.lrphases.plots import plot_run

    return plot_run(run, theory, **kwargs)


EXPERIMENT = register(
    Experiment(
        name="lrphases",
        title="Learning-rate phases: catapult and edge of stability",
        summary="The uv model is lazy below eta lambda_0 = 2, catapults between 2 and 4 and "
        "diverges above; a wide ReLU net catapults further; a small MLP sharpens until its "
        "sharpness sits at 2 / eta.",
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
        commands={
            "catapult": {"mode": "catapult"},
            "eos": {"mode": "eos"},
            "relu": {"mode": "relu"},
        },  # fmt: skip
        cite=declaration.CITE,
        order=50,
    )
)

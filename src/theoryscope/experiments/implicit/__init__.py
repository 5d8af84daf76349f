"""Implicit bias: which zero of the loss gradient descent picks, and the theory that says so.

    diagonal    beta = u*u - v*v from u = v = alpha 1 on underdetermined least squares: the limit
                minimises Q_alpha (L1 as alpha -> 0, L2 as alpha -> inf)   (Woodworth et al. 2020)
    margin      GD on the logistic loss of separable data turns toward the hard-margin SVM,
                angle = O(1/log t)                                          (Soudry et al. 2018)
    deeplinear  W_L..W_1 learns the target's singular modes one by one along sigmoids, the
                balancedness W_{l+1}^T W_{l+1} - W_l W_l^T staying put
                                                 (Saxe et al. 2014; Arora, Cohen, Hazan 2018)

Python API::

    from theoryscope.experiments import implicit
    cfg = implicit.Config(mode="diagonal", alpha=0.01)
    run = implicit.simulate(cfg, seed=0)       # run.series["loss"], ["recovery"]; summary final_beta
    theory = implicit.predict(cfg)             # Q_alpha limit, min-L1 / min-L2 solutions
    agreement = implicit.compare(run, theory)  # relative distances of the trained beta to each

matplotlib loads on first use, so importing this package is cheap.
"""

from __future__ import annotations

from typing import Any

from theoryscope.experiments.implicit import declaration
from theoryscope.experiments.implicit.config import INITS, MODES, Config
from theoryscope.protocol import ChunkCallback, Experiment, Run, StopPredicate, register

__all__ = ["INITS", "MODES", "Config", "compare", "plot", "predict", "simulate"]


def simulate(
    config: Config,
    seed: int = 0,
    *,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
) -> Run:
    """Full-batch GD in the config's mode (diagonal net, logistic regression, deep linear net)."""
    from theoryscope.experiments.implicit import engine

    fn = {
        "diagonal": engine.simulate_diagonal,
        "margin": engine.simulate_margin,
        "deeplinear": engine.simulate_deeplinear,
    }[config.mode]
    return fn(config, seed, on_chunk=on_chunk, should_stop=should_stop)


def predict(config: Config) -> Any:
    """Q_alpha limits (diagonal), the SVM direction (margin), the mode sigmoids (deeplinear)."""
    from theoryscope.experiments.implicit.theory import predict as predict_theory

    return predict_theory(config)


def compare(run: Run, theory: Any) -> dict[str, Any]:
    """Distances to the predicted limit / SVM angle and its 1/log t fit / mode errors."""
    from theoryscope.experiments.implicit.theory import compare as compare_run

    return compare_run(run, theory)


def theory_to_dict(theory: Any) -> dict[str, Any]:
    from theoryscope.experiments.implicit.theory import theory_to_dict as to_dict

    return to_dict(theory)


def plot(run: Run, theory: Any = None, **kwargs: Any) -> Any:
    """The mode's figure (see :mod:`theoryscope.experiments.implicit.plots`); returns the Figure."""
    from theoryscope.experiments.implicit.plots import plot_run

    return plot_run(run, theory, **kwargs)


EXPERIMENT = register(
    Experiment(
        name="implicit",
        title="Implicit bias: diagonal nets, max margin, deep linear nets",
        summary="Which zero of the loss gradient descent picks: min-L1 to min-L2 with the init "
        "scale of a diagonal net, the hard-margin SVM for logistic regression, the singular "
        "modes one by one in a deep linear net.",
        config_from_dict=Config.from_dict,
        simulate=simulate,
        predict=predict,
        compare=compare,
        theory_to_dict=theory_to_dict,
        plot=plot,
        config=Config,
        figures=declaration.FIGURES,
        metrics=declaration.METRICS,
        presets=declaration.PRESETS,
        hooks=declaration.HOOKS,
        estimate=declaration.estimate,
        commands={
            "diagonal": {"mode": "diagonal"},
            "margin": {"mode": "margin"},
            "deeplinear": {"mode": "deeplinear"},
        },
        cite=declaration.CITE,
        order=60,
    )
)

"""Expander Nets: a network with a frozen random layer learning a Hermite-product target.

    f_hat(x) = W2 . sigma(W_froz W1 x)          (spec expander-nets.md section 1)

Python API (each returns typed results holding NumPy arrays)::

    from theoryscope.experiments import expander
    cfg = expander.Config.create(d=3, gamma=0.01, alpha=[(1, 1, 0)], lr=0.01, t_eff=300)
    run = expander.simulate(cfg, seed=0)        # Run: run.series["loss_population"], ...
    theory = expander.predict(cfg)              # Theory: readouts per term and the modeling ODE
    agreement = expander.compare(run, theory)   # t_half_sim next to t_half_ode and t_rise
    fig = expander.plot(run, theory)            # matplotlib Figure

The heavy modules (JAX, SciPy) load on first use, so importing this package is cheap.
"""

from __future__ import annotations

from typing import Any

from theoryscope.experiments.expander import declaration
from theoryscope.experiments.expander.config import (
    DEFAULT_NONLINEARITY,
    EMA_WINDOWS,
    NONLINEARITIES,
    Config,
    Term,
)
from theoryscope.protocol import ChunkCallback, Experiment, Run, StopPredicate, register

__all__ = [
    "DEFAULT_NONLINEARITY",
    "EMA_WINDOWS",
    "NONLINEARITIES",
    "Config",
    "Term",
    "compare",
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
    """Train the network (online SGD, or the exact population flow / GD for ``mode`` flow / gd)."""
    if config.mode == "sgd":
        from theoryscope.experiments.expander.engine import simulate as simulate_sgd

        return simulate_sgd(config, seed, on_chunk=on_chunk, should_stop=should_stop)
    from theoryscope.experiments.expander.population_dynamics import simulate_population

    return simulate_population(config, seed, on_chunk=on_chunk, should_stop=should_stop)


def predict(config: Config) -> Any:
    """The modeling ODE and its per-term readouts (spec section 6)."""
    from theoryscope.experiments.expander.theory import predict as predict_theory

    return predict_theory(config)


def compare(run: Run, theory: Any) -> dict[str, Any]:
    """Measured half-loss time of every term next to the ODE's half time and t_rise."""
    from theoryscope.experiments.expander.compare import compare as compare_run

    return compare_run(run, theory)


def theory_to_dict(theory: Any) -> dict[str, Any]:
    from theoryscope.experiments.expander.theory import theory_to_dict as to_dict

    return to_dict(theory)


def plot(run: Run, theory: Any = None, **kwargs: Any) -> Any:
    """The page's two panels (loss; parameter sizes) with the theory dashed; returns the Figure."""
    from theoryscope.experiments.expander.plots import plot_run

    return plot_run(run, theory, **kwargs)


EXPERIMENT = register(
    Experiment(
        name="expander",
        title="Expander Nets",
        config_from_dict=Config.from_dict,
        simulate=simulate,
        predict=predict,
        compare=compare,
        theory_to_dict=theory_to_dict,
        plot=plot,
        summary="A network with a frozen random layer learns a Hermite-product target; the "
        "modeling ODE predicts when each term is learned (its rise time).",
        config=Config,
        figures=declaration.FIGURES,
        metrics=declaration.METRICS,
        presets=declaration.PRESETS,
        estimate=declaration.estimate,
        hooks=declaration.HOOKS,
        sweeps=declaration.SWEEPS,
        reports=declaration.REPORTS,
        views={"x": ("t_eff", "step")},
        cite="spec expander-nets.md; the Expander Nets page (seed 000)",
        order=0,
    )
)

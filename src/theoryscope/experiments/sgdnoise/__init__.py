"""What SGD's noise does: fluctuation-dissipation relations, a smaller effective init scale,
and a drift towards flatter minima.

    linreg, mlp  at stationarity <theta . grad L> = (eta/2) <|g_B|^2> exactly and
                 <|grad L|^2> = (eta/2) <g_B . H g_B> + O(eta^2): both sides measured with error
                 bars, their ratio used as a stationarity detector             (Yaida 2019)
    diagonal     SGD on a diagonal linear net ends at the Q interpolator of a smaller scale
                 alpha_inf < alpha (nearer min-L1) than GD from the same init (Pesme et al. 2021)
    manifold     label-noise SGD on f = ab drifts along the minima ab = y to smaller tr H
                                                       (Blanc et al. 2020; Damian et al. 2021)

Python API::

    from theoryscope.experiments import sgdnoise
    cfg = sgdnoise.Config(mode="linreg", lr=0.05, batch=4, steps=20_000)
    run = sgdnoise.simulate(cfg, seed=0)       # run.series["ratio1"], ["fdr1_lhs"], ...
    theory = sgdnoise.predict(cfg)             # exact expected FDR sides, stationary covariance
    agreement = sgdnoise.compare(run, theory)

JAX and matplotlib load on first use, so importing this package is cheap.
"""

from __future__ import annotations

from typing import Any

from theoryscope.experiments.sgdnoise import declaration
from theoryscope.experiments.sgdnoise.config import MODES, Config
from theoryscope.protocol import ChunkCallback, Experiment, Run, StopPredicate, register

__all__ = ["MODES", "Config", "compare", "predict", "simulate"]


def simulate(
    config: Config,
    seed: int = 0,
    *,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
) -> Run:
    """SGD in the config's mode (FDR chains, diagonal SGD vs GD, label-noise chains)."""
    if config.mode in ("linreg", "mlp"):
        from theoryscope.experiments.sgdnoise.chains import simulate_fdr as fn
    elif config.mode == "diagonal":
        from theoryscope.experiments.sgdnoise.diagonal import simulate_diagonal as fn
    else:
        from theoryscope.experiments.sgdnoise.manifold import simulate_manifold as fn
    return fn(config, seed, on_chunk=on_chunk, should_stop=should_stop)


def predict(config: Config) -> Any:
    """The mode's predictions (see :mod:`theoryscope.experiments.sgdnoise.theory`)."""
    from theoryscope.experiments.sgdnoise.theory import predict as predict_theory

    return predict_theory(config)


def compare(run: Run, theory: Any) -> dict[str, Any]:
    """FDR ratios and sides against the theory / alpha_eff fits / the drift along ab = y."""
    from theoryscope.experiments.sgdnoise.theory import compare as compare_run

    return compare_run(run, theory)


def theory_to_dict(theory: Any) -> dict[str, Any]:
    from theoryscope.experiments.sgdnoise.theory import theory_to_dict as to_dict

    return to_dict(theory)


EXPERIMENT = register(
    Experiment(
        name="sgdnoise",
        title="What SGD's noise does: fluctuation-dissipation, effective scale, flat minima",
        summary="SGD at stationarity obeys <theta . grad L> = (eta/2)<|g_B|^2> (a stationarity "
        "detector); on a diagonal net it acts as a smaller init scale (nearer min-L1); label "
        "noise drifts it along the minima to smaller tr H.",
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
        commands={
            "linreg": {"mode": "linreg"},
            "mlp": {"mode": "mlp"},
            "diagonal": {"mode": "diagonal"},
            "manifold": {"mode": "manifold"},
        },
        cite=declaration.CITE,
        order=100,
    )
)

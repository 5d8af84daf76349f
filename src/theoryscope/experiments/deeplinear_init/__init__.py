"""Deep linear networks at initialization, at finite depth-to-width ratio.

Sources: lecture notes (seed 002), 12/7 "Bayesian Interpolation w/ Linear Nets" and the notes on
networks at initialization; Hanin & Zlokapa, "Bayesian interpolation with deep linear networks",
PNAS 2023 (arXiv:2212.14457); Marchenko & Pastur 1967; Penson & Zyczkowski 2011 (Fuss-Catalan).

``theta^T = W^(L+1) ... W^(1)`` with ``W^(l)_ij ~ N(0, 1/n_{l-1})`` has exactly
``||theta||^2 ~ prod_{l=0}^{L} chi^2_{n_l}/n_l`` (:mod:`.productlaw`); ``log ||theta||^2 ->
N(-L/n, 2L/n)`` at fixed L/n, so n -> infinity and L -> infinity do not commute. The protocol
run is Monte Carlo over nets (records = batches of nets, running moments and KS distance to the
exact law); the studies cover the log-normal limit, the collapse onto L/n, Marchenko-Pastur,
Fuss-Catalan, the Lyapunov regime of long products and exact Bayesian interpolation.

Python API::

    from theoryscope.experiments import deeplinear_init as dl
    cfg = dl.Config(depth=16, width=32, input_dim=32, nets=1000, records=20)
    run = dl.simulate(cfg, seed=0)
    theory = dl.predict(cfg)
    dl.compare(run, theory)
    dl.NormLaw((32,) * 17).moment(2)                    # E||theta||^4 = (1 + 2/32)^17
    dl.Posterior(data, hidden=(16,) * 8).log_evidence   # exact zero-noise evidence
"""

from __future__ import annotations

from typing import Any

from theoryscope.experiments.deeplinear_init import declaration
from theoryscope.experiments.deeplinear_init.config import Config
from theoryscope.protocol import ChunkCallback, Experiment, Run, StopPredicate, register

__all__ = ["Config", "NormLaw", "Posterior", "compare", "predict", "simulate", "theory_to_dict"]


def simulate(
    config: Config,
    seed: int = 0,
    *,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
) -> Run:
    """Monte Carlo over random deep linear nets (see :mod:`.engine`)."""
    from theoryscope.experiments.deeplinear_init.engine import simulate as run_mc

    return run_mc(config, seed, on_chunk=on_chunk, should_stop=should_stop)


def predict(config: Config) -> Any:
    """The exact law of ``||theta||^2`` for the config (see :mod:`.theory`)."""
    from theoryscope.experiments.deeplinear_init.theory import predict as predict_theory

    return predict_theory(config)


def compare(run: Run, theory: Any) -> dict[str, Any]:
    from theoryscope.experiments.deeplinear_init.compare import compare as compare_run

    return compare_run(run, theory)


def theory_to_dict(theory: Any) -> dict[str, Any]:
    from theoryscope.experiments.deeplinear_init.theory import theory_to_dict as to_dict

    return to_dict(theory)


def __getattr__(name: str) -> Any:
    """``NormLaw`` and ``Posterior`` on first use (they import SciPy)."""
    if name == "NormLaw":
        from theoryscope.experiments.deeplinear_init.productlaw import NormLaw

        return NormLaw
    if name == "Posterior":
        from theoryscope.experiments.deeplinear_init.bayes import Posterior

        return Posterior
    raise AttributeError(name)


EXPERIMENT = register(
    Experiment(
        name="deeplinear_init",
        title="Deep linear nets at initialization: finite depth-to-width ratio",
        summary="||W^(L+1)...W^(1)||^2 is exactly a product of chi^2_n/n laws: log-normal with "
        "variance 2L/n when L/n is fixed; Marchenko-Pastur, Fuss-Catalan, Lyapunov spectra and "
        "exact Bayesian interpolation with deep linear priors as studies.",
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
        commands={"montecarlo": {}},
        cite=declaration.PAPER,
        order=80,
    )
)

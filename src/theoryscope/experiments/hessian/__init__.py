"""The loss Hessian of small classifiers: bulk and outliers, the Gauss-Newton class structure,
the tiny subspace of gradient descent, and neural collapse.

Sources: seed 002, lectures "Loss Hessian" (10/3) and "Classifiers" (10/5); Sagun et al. 2017
(bulk + outliers); Papyan 2019 and 2020 (the Gauss-Newton term's class / cross-class structure,
the three-level hierarchy); Gur-Ari, Roberts, Dyer 2018 (the top eigenspace settles early and
holds the gradient); Papyan, Han, Donoho 2020 (neural collapse NC1-NC4).

Python API::

    from theoryscope.experiments import hessian
    cfg = hessian.Config(classes=4, dim=64, per_class=100, separation=6, noise=0.5, width=64,
                         depth=1, lr=0.1, steps=200)
    run = hessian.simulate(cfg, seed=0)   # series: loss, accuracy, nc1..nc4, top_eigs, grad_frac...
    theory = hessian.predict(cfg)         # limits: NC1 -> 0, cos -> -1/(C-1), outlier counts
    agreement = hessian.compare(run, theory)
"""

from __future__ import annotations

from typing import Any

from theoryscope.experiments.hessian import declaration
from theoryscope.experiments.hessian.config import Config
from theoryscope.protocol import ChunkCallback, Experiment, Run, StopPredicate, register

__all__ = ["Config", "compare", "predict", "simulate", "theory_to_dict"]


def simulate(
    config: Config,
    seed: int = 0,
    *,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
) -> Run:
    """Train the classifier and record loss, collapse metrics and Hessian spectra."""
    from theoryscope.experiments.hessian.engine import simulate as run_training

    return run_training(config, seed, on_chunk=on_chunk, should_stop=should_stop)


def predict(config: Config) -> Any:
    """The limits the theory predicts (NC1 -> 0, cos -> -1/(C-1), outlier counts, rank bounds)."""
    from theoryscope.experiments.hessian.theory import predict as predict_theory

    return predict_theory(config)


def compare(run: Run, theory: Any) -> dict[str, Any]:
    from theoryscope.experiments.hessian.compare import compare as compare_run

    return compare_run(run, theory)


def theory_to_dict(theory: Any) -> dict[str, Any]:
    from theoryscope.experiments.hessian.theory import theory_to_dict as to_dict

    return to_dict(theory)


EXPERIMENT = register(
    Experiment(
        name="hessian",
        title="Loss Hessian: bulk, outliers and neural collapse",
        summary="Small MLP classifiers: the Hessian's bulk and C class / C(C-2) cross-class "
        "outliers from the Gauss-Newton term, the gradient in the top-C eigenspace, and neural "
        "collapse (NC1-NC4) past zero training error.",
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
        commands={"train": {}},
        cite=declaration.PAPER,
        order=90,
    )
)

"""Wide networks: NNGP/NTK kernels at initialization, criticality, random ReLU nets, lazy training.

Spec: ``wide-networks.md``; guide: ``docs/widenets.md``.

The protocol experiment ``widenets`` is the lazy-training run (spec 6): ``simulate`` trains the
finite two-layer network by GD, ``predict`` gives H^inf, lambda_0, the bound and the expected
residual curve, ``compare`` the agreement numbers. Its Config (:class:`LazyConfig`), figure,
metrics, presets and cost are declared in :mod:`.config` and :mod:`.declaration`; the other
computations are declared studies (``theoryscope widenets propagate|kernels|convergence|
critical|phase|jacobian|lazy-width|lazy-rich|lr-boundary``), stored as runs of ``widenets``
with their study name. The pure functions below are the Python API.
"""

from typing import Any

from theoryscope.experiments.widenets import declaration
from theoryscope.experiments.widenets.activations import (
    ACTIVATIONS,
    CLOSED_FORM,
    Activation,
    get_activation,
)
from theoryscope.experiments.widenets.config import Config, LazyConfig
from theoryscope.experiments.widenets.criticality import (
    Critical,
    chi_perp_curve,
    critical_point,
    fixed_point,
    phase_diagram,
    susceptibilities,
    tanh_decay,
)
from theoryscope.experiments.widenets.jacobian import (
    fourth_moment_growth,
    jacobian_moments,
    jacobian_theory,
    ntk_diagonal,
)
from theoryscope.experiments.widenets.kernels import (
    KernelResult,
    kernels,
    propagate_correlation,
    propagate_pairs,
)
from theoryscope.experiments.widenets.lazy import (
    LazyTheory,
    compare,
    h_infinity,
    lazy_report,
    lazy_rich,
    lr_boundary,
    predict,
    simulate,
    theory_to_dict,
    train,
    width_scaling,
)
from theoryscope.experiments.widenets.montecarlo import convergence, sample_networks
from theoryscope.protocol import Experiment, Run, register


def plot(run: Run, theory: Any, agreement: Any = None, path: Any = None) -> Any:
    """The hand-drawn figure of a lazy run: residual over its predictions, movement, drift."""
    from theoryscope.experiments.widenets.plots import protocol_plot

    return protocol_plot(run, theory, agreement, path)


EXPERIMENT = register(
    Experiment(
        name="widenets",
        title="Wide networks: lazy training against the NTK",
        summary="GD on a wide two-layer ReLU net follows its NTK: the residual decays mode by "
        "mode at rates eta lambda_i of H(0), weights and kernel move by O(m^-1/2); plus the "
        "NNGP/NTK recursions, criticality and random ReLU nets as studies.",
        config_from_dict=LazyConfig.from_dict,
        simulate=simulate,
        predict=predict,
        compare=compare,
        theory_to_dict=theory_to_dict,
        config=LazyConfig,
        figures=declaration.FIGURES,
        metrics=declaration.METRICS,
        studies=declaration.STUDIES,
        presets=declaration.PRESETS,
        estimate=declaration.estimate,
        commands={"lazy": {}},
        cite=declaration.DU,
        order=30,
    )
)

__all__ = [
    "ACTIVATIONS",
    "CLOSED_FORM",
    "EXPERIMENT",
    "Config",
    "Activation",
    "Critical",
    "KernelResult",
    "LazyConfig",
    "LazyTheory",
    "chi_perp_curve",
    "compare",
    "convergence",
    "critical_point",
    "fixed_point",
    "fourth_moment_growth",
    "get_activation",
    "h_infinity",
    "jacobian_moments",
    "jacobian_theory",
    "kernels",
    "lazy_report",
    "lazy_rich",
    "lr_boundary",
    "ntk_diagonal",
    "phase_diagram",
    "plot",
    "predict",
    "propagate_correlation",
    "propagate_pairs",
    "sample_networks",
    "simulate",
    "susceptibilities",
    "tanh_decay",
    "theory_to_dict",
    "train",
    "width_scaling",
]

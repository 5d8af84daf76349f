"""Wide networks: NNGP/NTK kernels at initialization, criticality, random ReLU nets, lazy training.

Spec: ``wide-networks.md``; guide: ``docs/widenets.md``.

The protocol experiment ``widenets`` is the lazy-training run (spec 6): ``simulate`` trains the
finite two-layer network by GD, ``predict`` gives H^inf, lambda_0, the bound and the expected
residual curve, ``compare`` the agreement numbers. The other studies are pure functions below;
the CLI stores their results as runs named ``widenets.kernels``, ``widenets.propagate``,
``widenets.critical``, ``widenets.phase``, ``widenets.convergence``, ``widenets.jacobian``,
``widenets.lazy_width``, ``widenets.lazy_rich`` and ``widenets.lr_boundary``.
"""

from theoryscope.experiments.widenets.activations import (
    ACTIVATIONS,
    CLOSED_FORM,
    Activation,
    get_activation,
)
from theoryscope.experiments.widenets.config import LazyConfig
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
from theoryscope.protocol import Experiment, register


def _plot(run, theory, agreement=None, path=None):  # imported lazily: matplotlib is heavy
    from theoryscope.experiments.widenets.plots import protocol_plot

    return protocol_plot(run, theory, agreement, path)


EXPERIMENT = register(
    Experiment(
        name="widenets",
        title="Wide networks: lazy training of a two-layer ReLU net against its NTK theory",
        config_from_dict=LazyConfig.from_dict,
        simulate=simulate,
        predict=predict,
        compare=compare,
        theory_to_dict=theory_to_dict,
        plot=_plot,
    )
)

__all__ = [
    "ACTIVATIONS",
    "CLOSED_FORM",
    "EXPERIMENT",
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

"""Wide networks: NNGP/NTK kernels at initialization, criticality, random ReLU nets, lazy training.

Spec: ``wide-networks.md``. See ``docs/widenets.md`` for the API, the CLI and what is stored.
"""

from theoryscope.experiments.widenets.activations import ACTIVATIONS, CLOSED_FORM, get_activation
from theoryscope.experiments.widenets.kernels import (
    KernelResult,
    kernels,
    propagate_correlation,
    propagate_pairs,
)

__all__ = [
    "ACTIVATIONS",
    "CLOSED_FORM",
    "KernelResult",
    "get_activation",
    "kernels",
    "propagate_correlation",
    "propagate_pairs",
]

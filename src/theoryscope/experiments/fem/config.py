"""Configuration of a fem run: least squares of a 1-D target in the space of continuous
piecewise-linear functions on nodes -1 = x_1 < ... < x_n = 1, written in one of two bases of that
space (ReLU features or P1 hat functions), trained by GD or Adam on the exact L2 loss.

Declared with :func:`~theoryscope.spec.param` (bounds, help, TeX, citation); a bad value raises
:class:`~theoryscope.errors.ConfigError` naming the field.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from theoryscope.spec import CliInput, ExperimentConfig, Float, Int, param

TALK = "Zhao, 'Numerical understanding of neural networks' (seed 004)"
PAPER = "Zhang, Zhao, Zhong, Zhou, arXiv:2306.17301"
MAX_N = 4096
MAX_STEPS = 10**8
TARGETS = ("arctan", "gauss", "cosine", "sine")
NODES = ("uniform", "adaptive", "random")
BASES = ("relu", "fe")
DTYPES = ("float32", "float64")

#: Machine epsilon of each working precision: 2^-23 and 2^-52 (the talk's single/double eps).
EPS = {"float32": math.ldexp(1.0, -23), "float64": math.ldexp(1.0, -52)}


def target_field(default: str = "arctan") -> Any:
    return param(
        default, help="Target f on [-1, 1]: arctan(25x) (the talk's Table 1), exp(-(10x)^2), "
        "(cos(2 k pi x) - 1)/2, sin(16 pi x).", tex="f", cite=TALK, group="data",
    )  # fmt: skip


def freq_field() -> Any:
    return param(
        4, ge=1, le=64, help="k of the cosine target (cos(2 k pi x) - 1)/2.", tex="k", cite=TALK,
        group="data",
    )  # fmt: skip


class Config(ExperimentConfig):
    """One run: the exact L2 loss ``E(a) = 1/2 ||sum_i a_i psi_i - f||^2_{L2(-1,1)} = 1/2 a^T G a
    - a^T F + 1/2 ||f||^2`` in the chosen basis ``psi``, minimised from ``a = 0`` by gradient
    descent (step ``lr / lambda_max(G)``) or Adam. The exact least-squares solution ``a* = G^-1 F``
    is the theory the run approaches."""

    cli_inputs: ClassVar[tuple[CliInput, ...]] = (
        CliInput("float64", "Train in float64 (default float32).", flag=True,
                 sets={"dtype": "float64"}),
    )  # fmt: skip
    #: Random nodes follow the run seed unless given (``predict`` must see the same mesh).
    follows_seed: ClassVar[tuple[str, ...]] = ("node_seed",)

    basis: Literal["relu", "fe"] = param(
        "relu", help="relu: sigma(x - x_i) for i < n and sigma(1 - x); fe: P1 hat functions. "
        "Both span the same space.", tex=r"\psi_i", cite=TALK, group="model",
    )  # fmt: skip
    nodes: Literal["uniform", "adaptive", "random"] = param(
        "uniform", help="Nodes: equispaced, adaptive (F(x_i) = (i-1)/(n-1), F the normalized "
        "integral of |f'|), or sorted i.i.d. U(-1, 1) between the two ends.", tex="x_i",
        cite=TALK, group="model",
    )  # fmt: skip
    n: Int = param(
        100, ge=3, le=MAX_N, help="Number of nodes = basis functions = degrees of freedom.",
        tex="n", cite=TALK, web_max=2048, group="model", widget="log-slider",
    )  # fmt: skip
    target: Literal["arctan", "gauss", "cosine", "sine"] = target_field()
    freq: Int = freq_field()
    mode: Literal["gd", "adam"] = param(
        "gd", help="Gradient descent on the exact quadratic loss, or Adam.", group="training",
    )  # fmt: skip
    lr: Float = param(
        1.0, gt=0, le=4.0, help="gd: step eta = lr / lambda_max(G) (stable below 2).",
        tex=r"\eta \lambda_{max}", group="training", modes=("gd",),
    )  # fmt: skip
    adam_lr: Float = param(
        1e-3, gt=0, le=10.0, help="adam: the step size (beta1 0.9, beta2 0.999, eps 1e-8).",
        tex=r"\eta", group="training", modes=("adam",), widget="log-slider",
    )  # fmt: skip
    steps: Int = param(
        10_000, ge=1, le=MAX_STEPS, help="Number of GD or Adam steps.", tex="s",
        web_max=2_000_000, group="training", widget="log-slider",
    )  # fmt: skip
    records: Int = param(
        100, ge=2, le=10_000, help="Recorded points (log-spaced in the step).", web_max=2000,
        group="recording", advanced=True,
    )  # fmt: skip
    dtype: Literal["float32", "float64"] = param(
        "float32", help="Arithmetic of the training loop (G, F and a).", group="numerics",
    )  # fmt: skip
    node_seed: Int = param(
        0, ge=0, le=2**31 - 1, help="Seed of random nodes (follows --seed unless given).",
        group="model", advanced=True,
    )  # fmt: skip

"""Configuration of a linregions run: a random ReLU net on [-1, 1] trained on sin(pi k x), its
linear regions counted exactly along a segment at log-spaced steps.

Declared with :func:`~theoryscope.spec.param` (bounds, help, TeX, citation); a bad value raises
:class:`~theoryscope.errors.ConfigError` naming the field.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import model_validator

from theoryscope.errors import ConfigError
from theoryscope.spec import CliInput, ExperimentConfig, Float, Int, IntTuple, param

MAX_WIDTH = 4096
MAX_DEPTH = 32
MAX_NEURONS = 16384
MAX_STEPS = 10**7
HR = "Hanin & Rolnick, ICML 2019"
LECTURE = "seed 002, lecture 12/5"


class Config(ExperimentConfig):
    """One training run: ``f(x) = W^(L+1) sigma(... sigma(W^(1) x + b^(1)) ...)`` on inputs in
    [-1, 1], loss ``1/2 mean_i (f(x_i) - sin(pi k x_i))^2`` on an equispaced grid, Adam or GD;
    at each recorded step the linear regions of f on [lo, hi] are counted exactly."""

    cli_inputs: ClassVar[tuple[CliInput, ...]] = (
        CliInput("float64", "Train in float64 (default float32; counting is always float64).",
                 flag=True, sets={"dtype": "float64"}),
    )  # fmt: skip

    widths: IntTuple = param(
        (32, 32, 32), item_ge=1, item_le=MAX_WIDTH, min_items=1, max_items=MAX_DEPTH,
        help="Hidden widths n_1,...,n_L.", tex="n_l", cite=LECTURE, group="model",
    )  # fmt: skip
    c_w: Float = param(
        2.0, gt=0, le=16.0, help="Weight variance: W_ij ~ N(0, C_w / fan_in) (2 = He).",
        tex="C_w", cite=HR, group="model",
    )  # fmt: skip
    c_b: Float = param(
        0.1, ge=0, le=100.0, help="Bias variance C_b (0 with bias=zero).", tex="C_b", cite=HR,
        group="model",
    )  # fmt: skip
    bias: Literal["gaussian", "uniform", "zero"] = param(
        "gaussian", help="Bias law: N(0, C_b), uniform with variance C_b, or zero.",
        tex="b", group="model",
    )  # fmt: skip
    freq: Int = param(
        2, ge=1, le=64, help="Target sin(pi k x) on [-1, 1].", tex="k", group="data",
    )  # fmt: skip
    train_points: Int = param(
        64, ge=2, le=100_000, help="Training inputs: an equispaced grid on [-1, 1].", tex="P",
        web_max=4096, group="data",
    )  # fmt: skip
    optimizer: Literal["adam", "gd"] = param(
        "adam", help="Full-batch Adam (beta 0.9, 0.999) or gradient descent.", group="training",
    )  # fmt: skip
    lr: Float = param(
        1e-3, gt=0, cap=1e3, help="Step size.", tex=r"\eta", group="training",
        widget="log-slider",
    )  # fmt: skip
    steps: Int = param(
        5000, ge=0, le=MAX_STEPS, help="Training steps.", web_max=200_000, group="training",
        widget="log-slider",
    )  # fmt: skip
    records: Int = param(
        40, ge=2, le=2000, help="Recorded steps (0, then log-spaced), each with an exact count.",
        web_max=400, group="recording",
    )  # fmt: skip
    lo: Float = param(
        -1.0, ge=-1e3, le=1e3, help="Start of the counting segment in input space.",
        group="recording",
    )  # fmt: skip
    hi: Float = param(
        1.0, ge=-1e3, le=1e3, help="End of the counting segment in input space.",
        group="recording",
    )  # fmt: skip
    dtype: Literal["float32", "float64"] = param(
        "float32", help="Arithmetic of the training loop.", group="numerics", advanced=True,
    )  # fmt: skip

    @model_validator(mode="before")
    @classmethod
    def _zero_bias_default(cls, data: Any) -> Any:
        """``bias=zero`` sets C_b = 0 unless C_b is given."""
        return zero_bias_default(data)

    @model_validator(mode="after")
    def _rules(self) -> Config:
        if self.hi <= self.lo:
            raise ConfigError("hi", f"got {self.hi:g} <= lo = {self.lo:g}; allowed: hi > lo")
        if sum(self.widths) > MAX_NEURONS:
            raise ConfigError("widths", f"has {sum(self.widths)} neurons; allowed: at most "
                              f"{MAX_NEURONS} in all")  # fmt: skip
        check_bias(self.bias, self.c_b)
        return self


def zero_bias_default(data: Any) -> Any:
    """``bias=zero`` without ``c_b``: C_b = 0."""
    if isinstance(data, dict) and data.get("bias") == "zero" and data.get("c_b") is None:
        data = dict(data)
        data["c_b"] = 0.0
    return data


def check_bias(bias: str, c_b: float, field: str = "c_b") -> None:
    """C_b = 0 exactly when the biases are zero."""
    if bias == "zero" and c_b != 0.0:
        raise ConfigError(field, f"got {c_b:g} with bias=zero; allowed: 0 (or bias gaussian or "
                          "uniform)")  # fmt: skip
    if bias != "zero" and c_b == 0.0:
        raise ConfigError(field, "got 0; allowed: > 0 for bias gaussian or uniform (or "
                          "bias=zero)")  # fmt: skip


def segment(config: Any) -> tuple[list[float], list[float]]:
    """The counting segment's ends in input space (n_0 = 1)."""
    return [float(config.lo)], [float(config.hi)]

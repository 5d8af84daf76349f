"""Spectral-bias configuration: a shallow ReLU network on [-1, 1] fitting Fourier modes.

Declared with :func:`~theoryscope.spec.param`: every field's bounds, help, TeX symbol and source
live here, and validation, the CLI options and the web form are derived from them. A bad value
raises :class:`~theoryscope.errors.ConfigError` naming the field and the range.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import model_validator

from theoryscope.core.validation import as_float
from theoryscope.errors import ConfigError
from theoryscope.spec import CliInput, ExperimentConfig, Float, Int, IntTuple, param

MODES = ("features", "full")
BIASES = ("uniform", "grid")
WEIGHTS = ("plus", "sign")
DTYPES = ("float32", "float64")
MAX_NEURONS = 4096
MAX_FREQ = 1024
MAX_STEPS = 10**9

TALK = "Zhao, 'Numerical understanding of neural networks' (seed 004)"


class Config(ExperimentConfig):
    """Everything that defines one spectral-bias run: ``h(x) = n^{-1/2} sum_i a_i relu(w_i x - b_i)``
    trained by gradient descent on ``f = sum_k sin(pi k x)`` with the exact L2 loss on [-1, 1]."""

    cli_inputs: ClassVar[tuple[CliInput, ...]] = (
        CliInput("t_eff", "Gradient-flow time t = lr * steps (sets steps).", tex="t"),
        CliInput("float64", "Train in float64 (default float32).", flag=True,
                 sets={"dtype": "float64"}),
    )  # fmt: skip
    #: Fields that follow the run seed unless given (``predict`` must see the very features the
    #: run trains, so the features' seed is part of the config, not of the run).
    follows_seed: ClassVar[tuple[str, ...]] = ("feature_seed",)

    neurons: Int = param(
        200, ge=1, le=MAX_NEURONS, help="Width n of h(x) = n^-1/2 sum_i a_i relu(w_i x - b_i).",
        tex="n", cite=TALK, web_max=2048, group="model", widget="log-slider",
    )  # fmt: skip
    freqs: IntTuple = param(
        (1, 4, 16), item_ge=1, item_le=MAX_FREQ, min_items=1, max_items=16, distinct=True,
        help="Target frequencies k of f(x) = sum_k sin(pi k x).", tex="k", cite=TALK,
        group="data", sweepable=True,
    )  # fmt: skip
    lr: Float = param(
        1.0, gt=0, cap=1e6, help="Gradient-descent step eta (stable below 2/lambda_max(G)).",
        tex=r"\eta", cite=TALK, group="training", widget="log-slider",
    )  # fmt: skip
    steps: Int = param(
        10000, ge=1, le=MAX_STEPS, help="Number of gradient-descent steps.", tex="s",
        web_max=2_000_000, group="training", widget="log-slider",
    )  # fmt: skip
    mode: Literal["features", "full"] = param(
        "features", help="features: train a only (linear least squares); full: train a and the "
        "biases b (the talk's nonlinear dynamics).", cite=TALK, group="training",
    )  # fmt: skip
    bias: Literal["uniform", "grid"] = param(
        "uniform", help="Biases b_i: i.i.d. U(-1, 1) or an equispaced grid.", tex="b_i",
        group="model",
    )  # fmt: skip
    weights: Literal["plus", "sign"] = param(
        "plus", help="Weights w_i: all +1 (the talk's 1-D slides) or random signs.", tex="w_i",
        group="model",
    )  # fmt: skip
    feature_seed: Int = param(
        0, ge=0, le=2**31 - 1, help="Seed of the random features (follows --seed unless given).",
        group="model", advanced=True,
    )  # fmt: skip
    dtype: Literal["float32", "float64"] = param(
        "float32", help="Arithmetic of the training loop.", group="numerics",
    )  # fmt: skip
    records: Int = param(
        200, ge=2, le=100_000, help="Recorded points (log-spaced in the step).",
        web_max=20_000, group="recording", advanced=True,
    )  # fmt: skip
    bias_lr: Float = param(
        1.0, ge=0, cap=1e6, help="full mode: the biases step with bias_lr * lr (0 freezes them).",
        group="training", modes=("full",), advanced=True,
    )  # fmt: skip

    @model_validator(mode="before")
    @classmethod
    def _time_to_steps(cls, data: Any) -> Any:
        """``t_eff`` (gradient-flow time) sets ``steps = ceil(t_eff / lr)``: time t = lr * step."""
        if not isinstance(data, dict) or data.get("t_eff") is None:
            if isinstance(data, dict):
                data.pop("t_eff", None)
            return data
        data = dict(data)
        t_eff = data.pop("t_eff")
        if data.get("steps") is not None:
            raise ConfigError("t_eff", "given together with steps; allowed: one of them")
        lr = as_float("lr", data.get("lr", 1.0), low=0.0, low_open=True)
        t = as_float("t_eff", t_eff, low=0.0, low_open=True)
        data["steps"] = max(1, math.ceil(t / lr - 1e-9))
        return data


def parse_freqs(text: str) -> tuple[int, ...]:
    """``"1,4,16"`` -> (1, 4, 16), with the same one-line errors as the config."""
    return tuple(Config.from_dict({"freqs": text}).freqs)


#: float machine epsilon of each dtype (unit roundoff times 2): 2^-23 and 2^-52.
EPS = {"float32": math.ldexp(1.0, -23), "float64": math.ldexp(1.0, -52)}

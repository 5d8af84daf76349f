"""What the learning-rate-phases experiment shows: one figure per mode, metrics, the phase
diagram study, presets, cost. Read by every surface (CLI, web page, sweeps, reports); nothing
here runs at import."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import model_validator

from theoryscope.core.validation import as_float
from theoryscope.errors import ConfigError
from theoryscope.experiments.lrphases.config import (
    COHEN,
    LECTURES,
    LEWKOWYCZ,
    MAX_D,
    MAX_N,
    MAX_WIDTH,
    Config,
)
from theoryscope.spec import (
    CliInput,
    Curve,
    Estimate,
    ExperimentConfig,
    Figure,
    Float,
    Int,
    Marker,
    Metric,
    Panel,
    Preset,
    Study,
    StudyContext,
    param,
)

CATAPULT = {"mode": ["catapult"]}
EOS = {"mode": ["eos"]}

FIGURES = (
    Figure(
        name="catapult",
        title="uv model: lazy / catapult / divergent in eta lambda_0",
        panels=(
            Panel(
                title="Training loss (lazy prediction dashed, predicted peak dotted)",
                x_label="GD step",
                y_label="loss",
                y_log=True,
                curves=(
                    Curve(y="series.loss", x="series.step", label="loss", when=CATAPULT),
                    Curve(y="theory.lazy_curve_loss", x="theory.lazy_curve_step",
                          label="L_0 (1 - eta lambda_0)^(2t)", style="dashed", when=CATAPULT),
                ),
                markers=(Marker(at="theory.peak_step", label="predicted peak step"),),
            ),
            Panel(
                title="NTK curvature lambda_t (2/eta and 4/eta dotted)",
                x_label="GD step",
                y_label="lambda_t",
                curves=(Curve(y="series.ntk", x="series.step", label="lambda_t", color=3,
                              when=CATAPULT),),
                markers=(
                    Marker(at="agreement.two_over_eta", label="2 / eta", axis="y"),
                    Marker(at="agreement.four_over_eta", label="4 / eta", axis="y"),
                ),
            ),
        ),
    ),
    Figure(
        name="eos",
        title="MLP under full-batch GD: the sharpness rises to 2 / eta and stays",
        panels=(
            Panel(
                title="Training loss",
                x_label="GD step",
                y_label="loss",
                y_log=True,
                curves=(Curve(y="series.loss", x="series.step", label="loss", when=EOS),),
            ),
            Panel(
                title="Sharpness (2/eta dotted)",
                x_label="GD step",
                y_label="lambda_max(Hessian)",
                curves=(Curve(y="series.sharpness", x="series.step", label="sharpness",
                              color=3, when=EOS),),
                markers=(Marker(at="agreement.two_over_eta", label="2 / eta", axis="y"),),
            ),
        ),
    ),
)  # fmt: skip

#: Catapult metrics read as empty rows in an eos run and the other way round.
METRICS = (
    Metric("peak_step", "step of the loss peak (catapult)", "agreement.peak_step_measured",
           "agreement.peak_step_predicted", cite=LEWKOWYCZ, good=0.25),
    Metric("final_ntk", "final lambda vs 2/eta (< 1: converged)", "agreement.final_ntk",
           "agreement.two_over_eta", tex=r"\lambda_T \eta / 2", cite=LEWKOWYCZ),
    Metric("lambda0", "lambda_0 vs its infinite-width value", "agreement.lambda0",
           "agreement.lambda0_infinite_width", tex=r"\lambda_0", cite=LEWKOWYCZ),
    Metric("lazy_loss", "lazy loss: max rel. error vs L0 (1 - eta lambda0)^(2t)",
           "agreement.lazy_loss_max_rel_err", cite=LECTURES),
    Metric("late_sharpness", "late sharpness vs 2/eta (eos)", "agreement.late_sharpness_mean",
           "agreement.two_over_eta", tex="S", cite=COHEN, good=0.1),
    Metric("max_sharpness", "largest sharpness vs 2/eta (eos)", "agreement.max_sharpness",
           "agreement.two_over_eta", tex="S", cite=COHEN),
)  # fmt: skip

PRESETS = (
    Preset("tiny", "A run of about a second: uv model, width 100, 30 steps at eta lambda_0 = 3",
           {"mode": "catapult", "width": 100, "steps": 30, "lr_scale": 3.0}),
    Preset("lazy", "eta lambda_0 = 1: lambda stays put, the loss decays at the linear rate",
           {"mode": "catapult", "width": 1000, "lr_scale": 1.0, "steps": 200}, cite=LEWKOWYCZ),
    Preset("catapult", "eta lambda_0 = 3: the loss shoots up, lambda falls below 2/eta",
           {"mode": "catapult", "width": 1000, "lr_scale": 3.0, "steps": 200}, cite=LEWKOWYCZ),
    Preset("divergent", "eta lambda_0 = 5: lambda grows and the run diverges",
           {"mode": "catapult", "width": 1000, "lr_scale": 5.0, "steps": 200}, cite=LEWKOWYCZ),
    Preset("lazy-rate", "Width 1e5 in float64: the linearized rate to 1.9e-5",
           {"mode": "catapult", "width": 100_000, "lr_scale": 0.5, "steps": 30,
            "dtype": "float64"}, cite=LECTURES),
    Preset("edge-of-stability", "Depth-3 tanh MLP on random labels, eta = 0.02 (2/eta = 100)",
           {"mode": "eos", "lr": 0.02, "steps": 3000, "width": 64}, cite=COHEN),
    Preset("edge-of-stability-small", "Width 32, n = 32, eta = 0.06, 600 steps (the tests' run)",
           {"mode": "eos", "lr": 0.06, "steps": 600, "n": 32, "width": 32}, cite=COHEN),
)  # fmt: skip

#: Measured on this 2-core machine: XLA compiles a chunk in about a second.
COMPILE_SECONDS = 1.5


def estimate(config: Config) -> Estimate:
    """uv model: the init (NumPy, float64) and its device copies, ~1e-5 s + 3 ns per m d n per
    step; MLP: ~6 P n flop per gradient and ~4 gradients per Hessian-vector product, at ~3e9
    flop/s (P parameters)."""
    width, d, n = int(config.width or 1), int(config.d or 1), int(config.n or 1)
    steps = int(config.steps or 1)
    if config.mode == "catapult":
        memory = 8.0 * (4 * width * d + 4 * width + n * n) + 64e6
        # two compiles: the theory's init (lambda_0) and the run's chunk
        seconds = 2 * COMPILE_SECONDS + steps * (1e-5 + 3e-9 * width * d * n)
        return Estimate(memory_bytes=memory, seconds=seconds, fields=("width", "d", "n", "steps"))
    depth = int(config.depth or 1)
    params = d * width + (depth - 1) * width * width + width + depth * width + 1
    grads = steps * (1.0 + 4.0 * config.lanczos_iters / config.sharpness_every)
    seconds = 2 * COMPILE_SECONDS + grads * 6.0 * params * n / 3e9
    memory = 8.0 * (params * (config.lanczos_iters + 12) + 4 * n * width * depth) + 64e6
    return Estimate(memory_bytes=memory, seconds=seconds,
                    fields=("width", "depth", "n", "steps", "lanczos_iters"))  # fmt: skip


# ------------------------------------------------------------------------------------------------
# the phase diagram study: GD at many eta lambda_0 from one init (vmap over eta)
# ------------------------------------------------------------------------------------------------
class PhaseDiagramParams(ExperimentConfig):
    """Parameters of the phase diagram (the uv model; --seed draws the shared init)."""

    cli_inputs: ClassVar[tuple[CliInput, ...]] = (
        CliInput("float64", "Compute in float64 (default float32).", flag=True,
                 sets={"dtype": "float64"}),
        CliInput("min", "The same as --min-scale (its short name)."),
        CliInput("max", "The same as --max-scale (its short name)."),
    )  # fmt: skip

    width: Int = param(1000, ge=1, le=MAX_WIDTH, help="Hidden width m of the uv model.",
                       tex="m", cite=LEWKOWYCZ, web_max=100_000)  # fmt: skip
    steps: Int = param(200, ge=1, le=1_000_000, help="GD steps per learning rate.",
                       web_max=20_000)  # fmt: skip
    points: Int = param(60, ge=2, le=10_000, help="Number of eta lambda_0 values.",
                        web_max=500)  # fmt: skip
    min_scale: Float = param(0.1, gt=0, cap=100.0, help="Smallest eta lambda_0.",
                             tex=r"\eta\lambda_0")  # fmt: skip
    max_scale: Float = param(6.0, gt=0, cap=100.0, help="Largest eta lambda_0 (> min_scale).",
                             tex=r"\eta\lambda_0")  # fmt: skip
    d: Int = param(4, ge=1, le=MAX_D, help="Input dimension.", tex="d", web_max=256)
    n: Int = param(1, ge=1, le=MAX_N, help="Training samples (1: the exact 2-D map).", tex="n",
                   web_max=1024)  # fmt: skip
    data_seed: Int = param(0, ge=0, le=2**31 - 1, help="Seed of the data.", advanced=True)
    dtype: Literal["float32", "float64"] = param("float32", help="Arithmetic of the runs.")

    @model_validator(mode="before")
    @classmethod
    def _short_names(cls, data: Any) -> Any:
        """``min``/``max`` (the old option names) are ``min_scale``/``max_scale``; an error
        about them names what was given."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        names = {"min_scale": "min_scale", "max_scale": "max_scale"}
        for short, full in (("min", "min_scale"), ("max", "max_scale")):
            value = data.pop(short, None)
            if value is None:
                continue
            if data.get(full) is not None:
                raise ConfigError(short, f"given together with {full}; allowed: one of them")
            data[full] = as_float(short, value, low=0.0, low_open=True, high=100.0)
            names[full] = short
        lo, hi = data.get("min_scale", 0.1), data.get("max_scale", 6.0)
        try:
            ordered = float(hi) > float(lo)
        except (TypeError, ValueError):
            return data  # the field checks name the bad value
        if not ordered:
            raise ConfigError(
                names["max_scale"],
                f"got {float(hi):g}; allowed: a number > {names['min_scale']} = {float(lo):g}",
            )
        return data

    def config(self) -> Config:
        return Config(mode="catapult", width=self.width, steps=self.steps, d=self.d, n=self.n,
                      data_seed=self.data_seed, dtype=self.dtype)  # fmt: skip


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def run_phase_diagram(
    params: PhaseDiagramParams, seed: int, context: StudyContext
) -> dict[str, Any]:
    """Final loss, max loss and final lambda at ``points`` values of eta lambda_0, one vmapped
    GD from the init of ``seed``; measured phases beside the predicted ones (boundaries 2, 4)."""
    from theoryscope.experiments.lrphases.phase import phase_diagram

    context.progress(0.02, f"compiling and running {params.points} learning rates")
    diagram = phase_diagram(params.config(), seed, points=params.points,
                            min_scale=params.min_scale, max_scale=params.max_scale)  # fmt: skip
    context.progress(1.0, "done")
    return {k: _jsonable(v) for k, v in diagram.items()}


def phase_figure(result: Mapping[str, Any]) -> Any:
    from theoryscope.experiments.lrphases.plots import plot_phase_diagram

    return plot_phase_diagram(result)


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def phase_lines(result: Mapping[str, Any]) -> list[str]:
    lines = [
        f"uv model width {result['width']}, {result['steps']} steps, {result['dtype']}, lambda0 "
        f"{result['lambda0']:.4g}, L0 {result['initial_loss']:.4g}",
        "eta*lambda0   final loss   max loss     final lambda*eta/2  measured   predicted",
    ]
    for i, a in enumerate(result["eta_lambda0"]):
        final_ntk = result["final_ntk"][i]
        ratio = None if final_ntk is None else float(final_ntk) * result["eta"][i] / 2.0
        lines.append(
            f"{a:<12.3g} {_fmt(result['final_loss'][i]):<12} {_fmt(result['max_loss'][i]):<12} "
            f"{_fmt(ratio):<19} {result['phase_measured'][i]:<10} {result['phase_predicted'][i]}"
        )
    lines.append(f"measured phase = predicted phase for {result['agreement']:.0%} of the points")
    return lines


def phase_estimate(params: PhaseDiagramParams) -> Estimate:
    memory = 8.0 * (4 * params.width * params.d + 8 * params.points * params.width) + 64e6
    seconds = COMPILE_SECONDS + params.points * params.steps * (
        2e-6 + 3e-9 * params.width * params.d * params.n
    )
    return Estimate(memory_bytes=memory, seconds=seconds, fields=("width", "points", "steps"))


STUDIES = (
    Study(
        name="phase-diagram",
        tiny={"width": 8, "steps": 5, "points": 3},
        title="Phase diagram of the uv model",
        summary="final and largest loss against eta lambda_0 from one init, boundaries 2 and 4",
        params=PhaseDiagramParams,
        run=run_phase_diagram,
        figure=phase_figure,
        summary_lines=phase_lines,
        estimate=phase_estimate,
        metrics=(
            Metric("lazy_boundary", "lazy | catapult boundary in eta lambda_0",
                   "result.boundaries_measured.0", "result.boundaries.0", cite=LEWKOWYCZ,
                   good=0.05),
            Metric("divergent_boundary", "catapult | divergent boundary in eta lambda_0",
                   "result.boundaries_measured.1", "result.boundaries.1", cite=LEWKOWYCZ,
                   good=0.05),
            Metric("phase_agreement", "fraction of points whose phase is predicted",
                   "result.agreement", cite=LEWKOWYCZ),
        ),
        cite=LEWKOWYCZ,
    ),
)  # fmt: skip

CITE = f"{LEWKOWYCZ}; {COHEN}; {LECTURES}"

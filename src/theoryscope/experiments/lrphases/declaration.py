"""What the learning-rate-phases experiment shows: one figure per mode, metrics, the phase
diagram study of the uv model and the boundary study of the ReLU net, presets, cost. Read by
every surface (CLI, web page, sweeps, reports); nothing here runs at import."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import model_validator

from theoryscope.core.validation import as_float
from theoryscope.errors import ConfigError
from theoryscope.experiments.lrphases.config import (
    ARCCOS,
    COHEN,
    LECTURES,
    LEWKOWYCZ,
    LEWKOWYCZ_RELU,
    MAX_D,
    MAX_N,
    MAX_RELU_N,
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
    IntTuple,
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
RELU = {"mode": ["relu"]}

FIGURES = (
    Figure(
        name="catapult",
        title="uv model: lazy / catapult / divergent in eta lambda_0",
        when=CATAPULT,
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
        when=EOS,
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
    Figure(
        name="relu",
        title="Two-layer ReLU net: lazy below eta lambda_0 = 2, catapult, divergent",
        when=RELU,
        panels=(
            Panel(
                title="Training loss (linearized prediction dashed)",
                x_label="GD step",
                y_label="loss",
                y_log=True,
                curves=(
                    Curve(y="series.loss", x="series.step", label="loss", when=RELU),
                    Curve(y="series.top_loss", x="series.step", label="loss along top NTK mode",
                          color=1, when=RELU),
                    Curve(y="theory.lazy_curve_loss", x="theory.lazy_curve_step",
                          label="linearized: sum_k c_k^2 (1 - eta lambda_k)^(2t) / 2n",
                          style="dashed", when=RELU),
                ),
            ),
            Panel(
                title="NTK lambda_t (2/eta, 4/eta uv model, 12/eta paper)",
                x_label="GD step",
                y_label="lambda_t",
                curves=(Curve(y="series.ntk", x="series.step", label="lambda_t", color=3,
                              when=RELU),),
                markers=(
                    Marker(at="agreement.two_over_eta", label="2 / eta", axis="y"),
                    Marker(at="agreement.four_over_eta", label="4 / eta (uv)", axis="y"),
                    Marker(at="agreement.paper_max_over_eta", label="12 / eta (paper)",
                           axis="y"),
                ),
            ),
            Panel(
                title="Units active on some input",
                x_label="GD step",
                y_label="alive fraction",
                curves=(Curve(y="series.alive", x="series.step", label="alive", color=2,
                              when=RELU),),
            ),
        ),
    ),
)  # fmt: skip

#: Catapult metrics read as empty rows in an eos run and the other way round; relu runs have
#: their own rows (their agreement shares some keys with catapult's).
NOT_RELU = {"mode": ["catapult", "eos"]}
METRICS = (
    Metric("peak_step", "step of the loss peak (catapult)", "agreement.peak_step_measured",
           "agreement.peak_step_predicted", cite=LEWKOWYCZ, good=0.25, when=NOT_RELU),
    Metric("final_ntk", "final lambda vs 2/eta (< 1: converged)", "agreement.final_ntk",
           "agreement.two_over_eta", tex=r"\lambda_T \eta / 2", cite=LEWKOWYCZ, when=NOT_RELU),
    Metric("lambda0", "lambda_0 vs its infinite-width value", "agreement.lambda0",
           "agreement.lambda0_infinite_width", tex=r"\lambda_0", cite=LEWKOWYCZ, when=NOT_RELU),
    Metric("lazy_loss", "lazy loss: max rel. error vs L0 (1 - eta lambda0)^(2t)",
           "agreement.lazy_loss_max_rel_err", cite=LECTURES, when=NOT_RELU),
    Metric("late_sharpness", "late sharpness vs 2/eta (eos)", "agreement.late_sharpness_mean",
           "agreement.two_over_eta", tex="S", cite=COHEN, good=0.1, when=EOS),
    Metric("max_sharpness", "largest sharpness vs 2/eta (eos)", "agreement.max_sharpness",
           "agreement.two_over_eta", tex="S", cite=COHEN, when=EOS),
    Metric("relu_final_ntk", "final lambda vs 2/eta (<= 1: settled where GD is stable)",
           "agreement.final_ntk", "agreement.two_over_eta", tex=r"\lambda_T \eta / 2",
           cite=LEWKOWYCZ, when=RELU),
    Metric("relu_lambda0", "lambda_0 vs its infinite-width (arc-cosine) value",
           "agreement.lambda0", "agreement.lambda0_infinite_width", tex=r"\lambda_0",
           cite=ARCCOS, when=RELU),
    Metric("relu_paper_max", "eta lambda_0 of this run vs the paper's largest catapult 12",
           "agreement.eta_lambda0", "agreement.paper_max", tex=r"\eta \lambda_0",
           cite=LEWKOWYCZ_RELU, when=RELU),
    Metric("relu_alive", "final fraction of units active on some input", "agreement.final_alive",
           cite=LEWKOWYCZ_RELU, when=RELU),
    Metric("relu_lazy_loss", "lazy loss: max rel. error vs the linearized modes "
           "sum_k c_k^2 (1 - eta lambda_k)^(2t) / 2n", "agreement.lazy_loss_max_rel_err",
           cite=LECTURES, when=RELU),
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
    Preset("relu-tiny", "A run of about a second: ReLU net width 128, n = 8, d = 8, 100 steps "
           "at eta lambda_0 = 3", {"mode": "relu", "width": 128, "n": 8, "d": 8, "steps": 100,
                                   "lr_scale": 3.0}, cite=LEWKOWYCZ_RELU),
    Preset("relu-catapult", "ReLU net width 1024 on 16 isotropic inputs, eta lambda_0 = 4.5: "
           "past the uv model's 4, it still converges", {"mode": "relu", "lr_scale": 4.5},
           cite=LEWKOWYCZ_RELU),
    Preset("relu-correlated", "The same on inputs with a common component (input_mean 1), "
           "eta lambda_0 = 10: units die, lambda falls, it converges",
           {"mode": "relu", "lr_scale": 10.0, "input_mean": 1.0}, cite=LEWKOWYCZ_RELU),
)  # fmt: skip

#: Measured on this 2-core machine: XLA compiles a chunk in about a second.
COMPILE_SECONDS = 1.5


def estimate(config: Config) -> Estimate:
    """uv model: the init (NumPy, float64) and its device copies, ~1e-5 s + 3 ns per m d n per
    step; MLP: ~6 P n flop per gradient and ~4 gradients per Hessian-vector product, at ~3e9
    flop/s (P parameters)."""
    width, d, n = int(config.width or 1), int(config.d or 1), int(config.n or 1)
    steps = int(config.steps or 1)
    if config.mode == "relu":
        # per step: X U^T, the backward pass and the n x n NTK (n^2 m) with its eigenvalues
        memory = 8.0 * (6 * width * d + 6 * n * width + 4 * n * n) + 64e6
        per_step = 4e-6 + 1.5e-9 * (6 * n * width * d + 2 * n * n * width) + 5e-9 * n**3
        return Estimate(memory_bytes=memory, seconds=2 * COMPILE_SECONDS + steps * per_step,
                        fields=("width", "d", "n", "steps"))  # fmt: skip
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


# ------------------------------------------------------------------------------------------------
# the ReLU net's boundaries against width: K-section search per width and seed (vmap over seeds)
# ------------------------------------------------------------------------------------------------
#: Widths the study allows (the exact NTK is n x n, the GD step O(n m d)).
MAX_STUDY_WIDTH = 65_536


class ReluBoundaryParams(ExperimentConfig):
    """Parameters of the ReLU boundary study (--seed is the first of ``seeds`` init seeds). The
    defaults are a quick look (seconds); docs/lrphases.md measures with widths 256,1024,4096, 4
    seeds and 1000 steps."""

    cli_inputs: ClassVar[tuple[CliInput, ...]] = (
        CliInput("float64", "Compute in float64 (default float32).", flag=True,
                 sets={"dtype": "float64"}),
    )  # fmt: skip

    widths: IntTuple = param((128, 256), item_ge=1, item_le=MAX_STUDY_WIDTH, min_items=1,
                             max_items=8, distinct=True, help="Hidden widths m of the ReLU net.",
                             tex="m", cite=LEWKOWYCZ_RELU)  # fmt: skip
    seeds: Int = param(2, ge=1, le=64, help="Init seeds per width (--seed .. --seed + seeds - "
                       "1): the error bands.", web_max=16)  # fmt: skip
    steps: Int = param(300, ge=1, le=100_000, help="GD steps of every probe run (the docs' "
                       "numbers use 1000).", web_max=20_000)  # fmt: skip
    d: Int = param(32, ge=1, le=MAX_D, help="Input dimension.", tex="d", web_max=256)
    n: Int = param(16, ge=1, le=MAX_RELU_N, help="Training samples.", tex="n", web_max=256)
    input_mean: Float = param(0.0, ge=0, cap=100.0, help="Common component of the inputs "
                              "(0: isotropic; 1: image-like, a dominant top NTK mode).",
                              tex=r"\mu")  # fmt: skip
    target: Literal["zero", "random", "teacher"] = param("random", help="Labels (zero makes a "
                                                         "dead network a perfect fit).")  # fmt: skip
    target_scale: Float = param(1.0, ge=0, cap=1e3, help="Size of the labels.")
    max_scale: Float = param(64.0, gt=3, cap=1000.0, help="Top of the upper search's bracket in "
                             "eta lambda_0 (its bottom is 1.5).", tex=r"\eta\lambda_0")  # fmt: skip
    points: Int = param(3, ge=1, le=64, help="Step sizes per search per round (the bracket "
                        "shrinks points + 1 fold a round; 1: bisection).")  # fmt: skip
    tol: Float = param(0.01, gt=0, lt=1, help="Stop when a bracket's width is below tol x its "
                       "top.")  # fmt: skip
    converge_tol: Float = param(0.01, gt=0, lt=1, help="A probe converged when its final loss "
                                "is below converge_tol x L_0.", advanced=True)  # fmt: skip
    data_seed: Int = param(0, ge=0, le=2**31 - 1, help="Seed of the data.", advanced=True)
    dtype: Literal["float32", "float64"] = param("float32", help="Arithmetic of the runs.")

    def config(self, width: int) -> Config:
        return Config(mode="relu", width=width, steps=self.steps, d=self.d, n=self.n,
                      input_mean=self.input_mean, target=self.target,
                      target_scale=self.target_scale, data_seed=self.data_seed,
                      converge_tol=self.converge_tol, dtype=self.dtype)  # fmt: skip


def run_relu_boundaries(
    params: ReluBoundaryParams, seed: int, context: StudyContext
) -> dict[str, Any]:
    """For each width, both boundaries of each seed by K-section (one vmapped call a round over
    all seeds), every probe kept; mean, std, min, max over seeds beside 2, the uv model's 4 and
    the paper's 12."""
    from theoryscope.experiments.lrphases.boundaries import search_width, summarize
    from theoryscope.experiments.lrphases.relu_theory import LAZY_BOUNDARY, PAPER_MAX, UV_MAX

    seeds = list(range(seed, seed + params.seeds))
    widths = list(params.widths)
    # cost grows with the width: weight the progress bar by it
    weights = np.array(widths, dtype=np.float64) / float(sum(widths))
    done = 0.0
    runs: list[dict[str, Any]] = []
    for i, width in enumerate(widths):
        if context.should_stop():
            break
        context.progress(done, f"width {width}: initializing {len(seeds)} seeds")

        def on_round(k: int, width: int = width, i: int = i, start: float = done) -> None:
            context.progress(start + weights[i] * min(k / 8.0, 0.95), f"width {width}: round {k}")

        runs.append(search_width(params.config(width), seeds, max_scale=params.max_scale,
                                 points=params.points, tol=params.tol,
                                 on_round=on_round))  # fmt: skip
        done += weights[i]
    context.progress(1.0, "done")
    summary = summarize(runs)
    rows = summary["per_width"]
    ratios = [p["final_ntk_ratio"] for r in runs for p in r["probes"]
              if p["phase"] == "catapult" and p["final_ntk_ratio"] is not None]  # fmt: skip
    for row in rows:
        row["stability_bound"] = 1.0
    return {
        "widths": [r["width"] for r in runs],
        "seeds": seeds,
        "steps": params.steps,
        "n": params.n,
        "d": params.d,
        "input_mean": params.input_mean,
        "dtype": params.dtype,
        "per_width": rows,
        "widest": rows[-1] if rows else None,
        "runs": runs,
        "lazy_boundary": LAZY_BOUNDARY,
        "uv_upper": UV_MAX,
        "paper_upper": PAPER_MAX,
        "paper": "Lewkowycz et al. 2020, section 3: eta_max ~ 12 / lambda_0 for wide ReLU nets",
        "catapult_final_ratio_max": max(ratios) if ratios else None,
        "catapult_final_ratio_fraction_below_1": float(np.mean(np.array(ratios) <= 1.0))
        if ratios
        else None,
        "catapult_probes": len(ratios),
        "seconds": float(sum(r["seconds"] for r in runs)),
    }


def relu_boundary_figure(result: Mapping[str, Any]) -> Any:
    from theoryscope.experiments.lrphases.plots import plot_relu_boundaries

    return plot_relu_boundaries(result)


def _band(mean: Any, std: Any) -> str:
    if mean is None:
        return "not bracketed"
    return f"{mean:.3f} +- {std:.3f}"


def relu_boundary_lines(result: Mapping[str, Any]) -> list[str]:
    lines = [
        f"ReLU net, n {result['n']}, d {result['d']}, input_mean {result['input_mean']:g}, "
        f"{result['steps']} steps, {result['dtype']}, seeds {result['seeds'][0]}.."
        f"{result['seeds'][-1]}",
        "width    lazy|catapult (mean +- std)   catapult|divergent (mean +- std)  [min, max]"
        "       fails by          max final lambda*eta/2  inversions",
    ]
    for row, run in zip(result["per_width"], result["runs"], strict=True):
        kinds = sorted({k for k in run["upper_outcome"] if k})
        span = (f"[{row['upper_min']:.2f}, {row['upper_max']:.2f}]" if row["upper_min"]
                is not None else "")  # fmt: skip
        lines.append(
            f"{row['width']:<8} {_band(row['lower_mean'], row['lower_std']):<29} "
            f"{_band(row['upper_mean'], row['upper_std']):<33} {span:<16} "
            f"{', '.join(kinds) or '-':<17} {_fmt(row['catapult_final_ratio_max']):<23} "
            f"{row['inversions']}"
        )
    lines.append(
        f"theory: lazy|catapult 2 (linear stability); catapult|divergent 4 for the uv model; "
        f"the paper reports ~{result['paper_upper']:g} for wide ReLU nets (section 3)"
    )
    if result.get("catapult_probes"):
        lines.append(
            f"after a catapult, final lambda*eta/2 <= 1 in "
            f"{result['catapult_final_ratio_fraction_below_1']:.0%} of "
            f"{result['catapult_probes']} probes (largest {result['catapult_final_ratio_max']:.4g})"
        )
    for row in result["per_width"]:
        if row.get("catapults_above_edge"):
            lines.append(
                f"  width {row['width']}: {row['catapults_above_edge']} of {row['catapults']} "
                f"catapults ended above 2/eta, their final loss <= "
                f"{row['above_edge_final_loss_max']:.2g} L_0 (at the edge, still converging)"
            )
    return lines


def relu_boundary_estimate(params: ReluBoundaryParams) -> Estimate:
    """~ (4 + 2 points x rounds) probes per seed, each ``steps`` GD steps of ~6 n m d flop at
    ~3e9 flop/s, rounds ~ log(bracket / tol) / log(points + 1); one compile per width and
    shape."""
    ratio = max(params.max_scale / (params.tol * 2.0), 2.0)
    rounds = int(np.ceil(np.log(ratio) / np.log(params.points + 1)))
    probes = params.seeds * (4 + 2 * params.points * rounds)
    flop = sum(probes * params.steps * 6.0 * params.n * w * params.d for w in params.widths)
    seconds = 2 * COMPILE_SECONDS * len(params.widths) + flop / 3e9
    widest = max(params.widths)
    lanes = params.seeds * 2 * params.points
    memory = 8.0 * lanes * (3 * widest * params.d + 4 * params.n * widest) + 64e6
    return Estimate(memory_bytes=memory, seconds=seconds,
                    fields=("widths", "seeds", "steps", "n", "d"))  # fmt: skip


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
    Study(
        name="relu-boundaries",
        tiny={"widths": (16,), "seeds": 1, "steps": 20, "d": 4, "n": 4, "tol": 0.2},
        title="Phase boundaries of a wide two-layer ReLU net against width",
        summary="lazy | catapult and catapult | divergent in eta lambda_0 per width and seed "
        "(K-section search, vmapped over seeds), beside 2, the uv model's 4 and the paper's 12",
        params=ReluBoundaryParams,
        run=run_relu_boundaries,
        figure=relu_boundary_figure,
        summary_lines=relu_boundary_lines,
        estimate=relu_boundary_estimate,
        metrics=(
            Metric("relu_lazy_boundary", "lazy | catapult boundary at width {width}",
                   "result.per_width.*.lower_mean", "result.per_width.*.lazy_boundary",
                   tex=r"\eta\lambda_0", cite=LEWKOWYCZ, good=0.05),
            Metric("relu_upper_vs_paper",
                   "catapult | divergent at width {width} vs the paper's 12",
                   "result.per_width.*.upper_mean", "result.per_width.*.paper_upper",
                   tex=r"\eta_{max}\lambda_0", cite=LEWKOWYCZ_RELU),
            Metric("relu_upper_vs_uv", "catapult | divergent at width {width} vs the uv model's 4",
                   "result.per_width.*.upper_mean", "result.per_width.*.uv_upper",
                   tex=r"\eta_{max}\lambda_0", cite=LEWKOWYCZ),
            Metric("relu_catapult_final_ntk",
                   "largest final lambda*eta/2 after a catapult at width {width} (<= 1: below "
                   "2/eta)", "result.per_width.*.catapult_final_ratio_max",
                   "result.per_width.*.stability_bound", tex=r"\lambda_T \eta / 2",
                   cite=LEWKOWYCZ),
        ),
        cite=LEWKOWYCZ_RELU,
    ),
)  # fmt: skip

CITE = f"{LEWKOWYCZ}; {LEWKOWYCZ_RELU}; {COHEN}; {LECTURES}; {ARCCOS}"

"""What the polynomial-network experiment shows: its figure, metrics, the landscape study, the
quadratic-network landscape studies (critical-points, gd-endpoints, discriminant), presets and
cost. Read by every surface (CLI, web page, sweeps, reports); nothing here runs at
import."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import field_validator

from theoryscope.experiments.polynets.config import (
    MAX_D,
    MAX_SAMPLES,
    MAX_STEPS,
    MAX_WIDTH,
    PAPER,
    Config,
)
from theoryscope.experiments.polynets.studies_critical import (
    DISC,
    EY,
    CriticalParams,
    DiscriminantParams,
    EndpointParams,
    critical_estimate,
    critical_lines,
    discriminant_estimate,
    discriminant_lines,
    endpoint_estimate,
    endpoint_lines,
    read_seeds,
    run_critical,
    run_discriminant,
    run_endpoints,
)
from theoryscope.spec import (
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

SAXE = "Saxe, McClelland, Ganguli 2014; Jacot et al. 2021 (saddle to saddle)"
#: Eigen-directions drawn in the figure (the engine tracks up to MAX_TRACKED = 16).
DRAWN = 8

FIGURES = (
    Figure(
        name="run",
        title="Polynomial network: loss against the best rank-r loss, spectrum of M = W^T W",
        panels=(
            Panel(
                title="Loss (best rank-r loss dotted)",
                x_label="time t = eta * step",
                y_label="loss",
                x_log=True,
                y_log=True,
                curves=(
                    Curve(y="series.loss", x="series.time", label="training loss", color=1),
                    Curve(y="series.population_loss", x="series.time", label="population loss"),
                ),
                markers=(Marker(at="theory.optimal_loss", label="best rank-r loss", axis="y"),),
            ),
            Panel(
                title="Eigenvalues of M(t) (teacher and optimal dotted)",
                x_label="time t = eta * step",
                y_label="eigenvalue",
                x_log=True,
                curves=tuple(
                    Curve(y=f"series.eig_{i}", x="series.time", label=f"eig {i}", color=i - 1)
                    for i in range(1, DRAWN + 1)
                ),
                markers=(
                    Marker(at="theory.teacher_eigs", label="teacher eigenvalues", axis="y",
                           each=True),
                    Marker(at="theory.optimal_eigs", label="optimal rank-r eigenvalues", axis="y",
                           each=True),
                ),
            ),
            Panel(
                title="u_j^T M u_j (predicted learning times dotted)",
                x_label="time t = eta * step",
                y_label="u_j^T M u_j",
                x_log=True,
                y_log=True,
                curves=tuple(
                    Curve(y=f"series.proj_{j}", x="series.time", label=f"direction {j}",
                          color=j - 1)
                    for j in range(1, DRAWN + 1)
                ),
                markers=(
                    Marker(at="theory.learn_times", label="predicted learning times", each=True),
                ),
            ),
        ),
    ),
)  # fmt: skip

METRICS = (
    Metric("final_loss", "final population loss vs best rank-r loss", "agreement.final_loss",
           "theory.optimal_loss", tex=r"L(T) / L_r", cite=PAPER, good=0.01),
    Metric("learn_time", "learning time, direction {j}", "agreement.directions.*.t_measured",
           "theory.learn_times.*", tex=r"t_j", cite=SAXE, good=0.3),
    Metric("final_eig", "final eigenvalue {j} of M", "agreement.directions.*.final_eig",
           "theory.optimal_eigs.*", tex=r"\mu_j", cite=PAPER, good=0.05),
    Metric("excess", "excess loss / E[f*^2]", "agreement.excess_over_teacher_norm", cite=PAPER),
)  # fmt: skip

PRESETS = (
    Preset("tiny", "A run of about a second: d = 4, r* = 2, r = 3, 300 steps",
           {"d": 4, "teacher_width": 2, "width": 3, "init": 0.1, "steps": 300}),
    Preset("incremental", "Saddle to saddle: r = 5 > r* = 3 from init 1e-3 (docs, measured)",
           {"d": 10, "teacher_width": 3, "width": 5, "init": 1e-3, "lr": 0.01, "steps": 5000},
           cite=SAXE),
    Preset("incremental-small-init", "The same from init 1e-6: longer plateaus, closer times",
           {"d": 10, "teacher_width": 3, "width": 5, "init": 1e-6, "lr": 0.01, "steps": 5000},
           cite=SAXE),
    Preset("under-parameterized", "r = 2 < r* = 3: GD reaches the best rank-2 loss (Eckart-Young "
           "variant)", {"d": 10, "teacher_width": 3, "width": 2, "init": 1e-3, "lr": 0.01,
                        "steps": 5000}, cite=PAPER),
    Preset("finite-samples", "n = 200 fixed samples instead of the population loss",
           {"d": 10, "teacher_width": 3, "width": 5, "init": 1e-3, "lr": 0.01, "steps": 5000,
            "samples": 200}, cite=PAPER),
    Preset("cubic", "Degree 3: a width-3 student learns a width-2 teacher",
           {"d": 4, "teacher_width": 2, "width": 3, "degree": 3, "init": 0.3, "lr": 0.002,
            "steps": 3000}, cite=PAPER),
)  # fmt: skip


def _step_seconds(degree: int, batch: int, width: int, teacher_width: int, d: int,
                  samples: int | None) -> float:  # fmt: skip
    """Seconds per GD step, fitted on this 2-core machine (NumPy float64, population.py):
    ~80 us overhead (x3 for p >= 3) plus ~5 ns (p = 2) / ~20 ns (p >= 3) per B (r + r*) r d,
    or ~30 ns per B n (r + r*) d on n samples."""
    factor = 1.0 if degree == 2 else 3.0
    seconds = factor * (80e-6 + 10e-6 * batch)
    seconds += (5e-9 if degree == 2 else 20e-9) * batch * (width + teacher_width) * width * d
    if samples is not None:
        seconds += 30e-9 * batch * samples * (width + teacher_width) * d
    return seconds


def _memory(batch: int, width: int, teacher_width: int, d: int, samples: int | None) -> float:
    """The samples and the per-sample activations (B n (r + r*) floats, a few copies)."""
    n = samples or 0
    return 64e6 + 8.0 * (n * d + 6 * batch * n * (width + teacher_width)
                         + 16 * batch * (width + teacher_width) ** 2 + 8 * batch * width * d)  # fmt: skip


def estimate(config: Config) -> Estimate:
    """GD steps at the fitted per-step cost, plus an eigendecomposition of M per record."""
    step = _step_seconds(config.degree, 1, config.width, config.teacher_width, config.d,
                         config.samples)  # fmt: skip
    records = min(config.steps, 500 + 300)
    seconds = config.steps * step + records * (5e-4 + 1e-9 * config.d**3)
    memory = _memory(1, config.width, config.teacher_width, config.d, config.samples)
    return Estimate(memory_bytes=memory, seconds=seconds,
                    fields=("steps", "width", "d", "samples"))  # fmt: skip


# ------------------------------------------------------------------------------------------------
# the landscape study: success rate per student width over init seeds
# ------------------------------------------------------------------------------------------------
MAX_SEEDS = 1000
SEEDS_ALLOWED = (
    "a range like 0-9 (low <= high) or a list like 0,2,5 of distinct integers from 0 to 2^31-1, "
    f"at most {MAX_SEEDS}"
)


class LandscapeParams(ExperimentConfig):
    """Parameters of the landscape study (one teacher, many student widths and init seeds)."""

    d: Int = param(6, ge=1, le=MAX_D, help="Input dimension d.", tex="d", cite=PAPER,
                   web_max=32)  # fmt: skip
    teacher_width: Int = param(3, ge=1, le=MAX_WIDTH, help="Teacher width r*.", tex="r^*",
                               cite=PAPER, web_max=32)  # fmt: skip
    widths: IntTuple = param(
        (1, 2, 3, 4, 6), item_ge=1, item_le=MAX_WIDTH, min_items=1, max_items=32, distinct=True,
        help="Student widths r, e.g. 1,2,3,4,6.", tex="r", cite=PAPER, sweepable=False,
    )  # fmt: skip
    seeds: IntTuple = param(
        tuple(range(10)), item_ge=0, item_le=2**31 - 1, min_items=1, max_items=MAX_SEEDS,
        distinct=True, help="Init seeds: a range like 0-9 or a list like 0,2,5.",
        allowed=SEEDS_ALLOWED, sweepable=False,
    )  # fmt: skip
    degree: Int = param(2, ge=2, le=4, help="Degree p of the activation.", tex="p", cite=PAPER)
    init: Float = param(0.5, gt=0, le=100.0, help="Init scale: W_ij ~ N(0, init^2).",
                        tex=r"\sigma_0")  # fmt: skip
    lr: Float = param(0.01, gt=0, cap=1e6, help="GD step size eta.", tex=r"\eta")
    steps: Int = param(5000, ge=1, le=MAX_STEPS, help="GD steps per run.", web_max=50_000)
    samples: Int | None = param(None, ge=1, le=MAX_SAMPLES, help="Train on n fixed samples "
                                "(none: the population loss).", tex="n", web_max=2000)  # fmt: skip
    teacher: Literal["orthogonal", "gaussian"] = param("orthogonal", help="Teacher kind.")
    teacher_decay: Float = param(0.5, gt=0, le=1.0, help="Orthogonal teacher: lambda_j = "
                                 "decay^(j-1).", tex=r"\lambda_j")  # fmt: skip
    data_seed: Int = param(0, ge=0, le=2**31 - 1, help="Seed of the teacher and the samples.",
                           advanced=True)  # fmt: skip

    @field_validator("seeds", mode="before")
    @classmethod
    def _seed_range(cls, value: Any) -> Any:
        """``"0-9"`` is the inclusive range 0..9 (``"5-2"``, ``"-3"`` are refused)."""
        return read_seeds(value)

    def base_config(self) -> Config:
        """The run config of the first width (what the landscape varies is ``width``)."""
        return Config(d=self.d, teacher_width=self.teacher_width, width=self.widths[0],
                      degree=self.degree, init=self.init, lr=self.lr, steps=self.steps,
                      samples=self.samples, teacher=self.teacher,
                      teacher_decay=self.teacher_decay, data_seed=self.data_seed)  # fmt: skip


def run_landscape(params: LandscapeParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """GD from every init seed at every width (seeds batched); success rate and final loss
    against the predicted optimum per width (the seeds are ``params.seeds``, not ``seed``)."""
    from theoryscope.experiments.polynets.engine import landscape

    return landscape(params.base_config(), list(params.widths), list(params.seeds),
                     progress=context.progress, should_stop=context.should_stop)  # fmt: skip


def landscape_figure(result: Mapping[str, Any]) -> Any:
    from theoryscope.experiments.polynets.plots import plot_landscape

    return plot_landscape(result)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def landscape_lines(result: Mapping[str, Any]) -> list[str]:
    lines = [
        f"p={result['degree']} d={result['d']} r*={result['teacher_width']} "
        f"init={result['init']:g} lr={result['lr']:g} steps={result['steps']} "
        f"seeds {len(result['seeds'])}  E[f*^2]={result['teacher_norm']:.4g}",
        "width  regime               success  optimal loss  median final  final/optimal",
    ]
    for row in result["rows"]:
        lines.append(
            f"{row['width']:<6} {row['regime']:<20} {_fmt(row['success_rate']):<8} "
            f"{_fmt(row['optimal_loss']):<13} {_fmt(row['final_loss_median']):<13} "
            f"{_fmt(row['median_final_over_optimal'])}"
        )
    if result.get("diverged"):
        lines.append(f"warning: {result['diverged']} runs diverged (non-finite loss); lower --lr")
    return lines


def landscape_estimate(params: LandscapeParams) -> Estimate:
    batch = len(params.seeds)
    per_step = [
        _step_seconds(params.degree, batch, r, params.teacher_width, params.d, params.samples)
        for r in params.widths
    ]
    seconds = params.steps * sum(per_step)
    memory = _memory(batch, max(params.widths), params.teacher_width, params.d, params.samples)
    return Estimate(memory_bytes=memory, seconds=seconds,
                    fields=("seeds", "widths", "steps", "samples"))  # fmt: skip


def critical_figure(result: Mapping[str, Any]) -> Any:
    from theoryscope.experiments.polynets.plots_critical import plot_critical

    return plot_critical(result)


def endpoint_figure(result: Mapping[str, Any]) -> Any:
    from theoryscope.experiments.polynets.plots_critical import plot_endpoints

    return plot_endpoints(result)


def discriminant_figure(result: Mapping[str, Any]) -> Any:
    from theoryscope.experiments.polynets.plots_critical import plot_discriminant

    return plot_discriminant(result)


STUDIES = (
    Study(
        name="landscape",
        tiny={"d": 2, "teacher_width": 1, "widths": (1, 2), "seeds": '0-1', "steps": 5},
        title="Teacher-student landscape",
        summary="success rate and final / optimal loss per student width over init seeds",
        params=LandscapeParams,
        run=run_landscape,
        figure=landscape_figure,
        summary_lines=landscape_lines,
        estimate=landscape_estimate,
        metrics=(
            Metric("final_loss", "median final / best rank-r loss, width {width}",
                   "result.rows.*.final_loss_median", "result.rows.*.optimal_loss", cite=PAPER,
                   good=0.01),
            Metric("success_rate", "success rate, width {width}", "result.rows.*.success_rate",
                   cite=PAPER),
        ),
        seeded=False,
        cite=PAPER,
    ),
    Study(
        name="critical-points",
        tiny={"teacher_eigs": (1.0, -0.5), "covariance": None, "width": 1, "max_checks": 8},
        title="Quadratic network: every critical point and its Hessian signature",
        summary="the predicted critical sets (Eckart-Young for the Gaussian metric) with their "
        "index and nullity, checked in float64 with jax.hessian",
        params=CriticalParams,
        run=run_critical,
        figure=critical_figure,
        summary_lines=critical_lines,
        estimate=critical_estimate,
        metrics=(
            Metric("signature", "Hessian signatures as predicted (fraction)",
                   "result.match_fraction", "result.one", cite=EY, good=0.0),
            Metric("grad", "max |grad L| at the predicted critical points", "result.max_grad_norm",
                   "result.zero", cite=EY, good_abs=1e-10),
            Metric("loss", "max |L(W) - L_S| / L(0) at the critical points",
                   "result.max_loss_error", "result.zero", cite=EY, good_abs=1e-12),
            Metric("count", "number of critical sets vs the closed-form count", "result.count",
                   "result.count_formula", cite=EY, good=0.0),
        ),
        cite=EY,
    ),
    Study(
        name="gd-endpoints",
        tiny={"teacher_eigs": (1.0, -0.5), "covariance": None, "width": 1, "seeds": '0-1', "steps": 50},
        title="Quadratic network: where GD from random inits ends",
        summary="GD end points matched to the predicted critical sets; final-loss histogram "
        "against the critical values",
        params=EndpointParams,
        run=run_endpoints,
        figure=endpoint_figure,
        summary_lines=endpoint_lines,
        estimate=endpoint_estimate,
        metrics=(
            Metric("in_set", "GD end points in a predicted critical set (fraction)",
                   "result.matched_fraction", "result.one", cite=EY, good=0.0),
            Metric("stable", "GD end points at sets holding local minima (fraction)",
                   "result.stable_fraction", "result.one", cite=EY, good=0.0),
            Metric("hits", "GD end points at {label} (loss {loss})", "result.rows.*.hits",
                   cite=EY),
        ),
        seeded=False,
        cite=EY,
    ),
    Study(
        name="discriminant",
        tiny={"points": 11, "gd_values": (1.0,), "seeds": '0-1', "steps": 50},
        title="Quadratic network: crossing the teacher-metric discriminant",
        summary="the variance of one input coordinate swept: where the critical structure "
        "changes, and where GD ends on both sides",
        params=DiscriminantParams,
        run=run_discriminant,
        figure=discriminant_figure,
        summary_lines=discriminant_lines,
        estimate=discriminant_estimate,
        metrics=(
            Metric("in_set", "GD end points in a predicted set at s = {s} (fraction)",
                   "result.gd.*.matched_fraction", "result.gd.*.one", cite=DISC, good=0.0),
            Metric("spurious", "GD end points at a spurious minimum at s = {s} (fraction)",
                   "result.gd.*.spurious_fraction", cite=DISC),
            Metric("crossing", "crossing s*: where the structure changes vs the factor's root",
                   "result.events.*.s", "result.events.*.root", cite=DISC, good=1e-6),
        ),
        seeded=False,
        cite=DISC,
    ),
)  # fmt: skip

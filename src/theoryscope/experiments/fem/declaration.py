"""What the fem experiment shows: the run's figure and metrics, the studies, presets and costs.
Read by every surface (CLI, web page, sweeps, reports); nothing heavy runs at import."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from theoryscope.experiments.fem.config import (
    MAX_N,
    PAPER,
    TALK,
    Config,
    freq_field,
    target_field,
)
from theoryscope.spec import (
    Curve,
    Estimate,
    ExperimentConfig,
    Figure,
    Float,
    FloatTuple,
    Int,
    IntTuple,
    Marker,
    Metric,
    Panel,
    Preset,
    Study,
    param,
)

GD = {"mode": ["gd"]}
GD64 = {"mode": ["gd"], "dtype": ["float64"]}

FIGURES = (
    Figure(
        name="training",
        title="Least squares in the ReLU or the FE basis: training against the exact solution",
        panels=(
            Panel(
                title="Excess loss E(a) - E* (exact GD curve dashed)",
                x_label="step",
                y_label="1/2 ||h - Pi f||^2",
                x_log=True,
                y_log=True,
                curves=(
                    Curve(y="series.excess", x="series.step", label="measured"),
                    Curve(y="theory.excess", x="theory.step", label="exact GD", style="dashed",
                          when=GD),
                ),
                markers=(Marker(at="theory.steps_to_fraction", label="1% of the start"),),
            ),
            Panel(
                title="Max error on the test grid (exact LS solution dotted)",
                x_label="step",
                y_label="max |h - f|",
                x_log=True,
                y_log=True,
                curves=(Curve(y="series.max_error", x="series.step", label="measured"),),
                markers=(Marker(at="theory.ls_max_error", label="least squares", axis="y"),),
            ),
            Panel(
                title="Residual along the leading eigen-directions of G",
                x_label="step",
                y_label="|r_j|",
                x_log=True,
                y_log=True,
                curves=(
                    Curve(y="series.mode_residual", x="series.step", label="j={i}",
                          columns=True),
                    Curve(y="theory.mode_residual", x="theory.step", label="j={i} exact GD",
                          style="dashed", columns=True, when=GD),
                ),
            ),
            Panel(
                title="Spectrum of G (eps * lambda_1 dotted: float32, float64)",
                x_label="j",
                y_label="lambda_j",
                x_log=True,
                y_log=True,
                curves=(Curve(y="theory.eigenvalues", x="theory.index", label="eigenvalues",
                              style="dashed"),),
                markers=(Marker(at="theory.eps_lines", label="eps lambda_1", axis="y",
                                each=True),),
            ),
        ),
    ),
)  # fmt: skip

METRICS = (
    Metric("excess", "final excess loss vs exact GD", "agreement.final_excess",
           "agreement.final_excess_predicted", tex=r"E(a_s) - E^*", cite=TALK, when=GD),
    Metric("excess_curve", "largest relative deviation from the exact GD curve (float64)",
           "agreement.excess_max_rel_error", "agreement.zero", cite=TALK, good_abs=1e-6,
           when=GD64),
    Metric("excess_curve32", "largest relative deviation from the exact GD curve (float32)",
           "agreement.excess_max_rel_error", "agreement.zero", cite=TALK,
           when={"mode": ["gd"], "dtype": ["float32"]}),
    Metric("steps_to_fraction", "steps to 1% of the initial excess",
           "agreement.steps_to_fraction", "agreement.steps_to_fraction_predicted",
           tex=r"s_{1\%}", cite=TALK, good=0.05, when=GD),
    Metric("max_error", "final max error vs the exact LS solution's",
           "agreement.final_max_error", "agreement.ls_max_error", tex=r"\max|h - f|", cite=TALK),
    Metric("loss", "final loss vs the LS floor E*", "agreement.final_loss",
           "agreement.loss_floor", tex=r"E^*", cite=TALK),
    Metric("condition", "cond(G)", "agreement.condition_number", tex=r"\kappa(G)", cite=TALK),
    Metric("h_ratio", "h_max / h_min", "agreement.h_ratio", tex=r"h_{max}/h_{min}", cite=TALK),
)  # fmt: skip

PRESETS = (
    Preset("tiny", "A run of a second: 16 ReLU features, 200 GD steps",
           {"n": 16, "steps": 200, "records": 20}),
    Preset("fe-gd", "The FE basis: GD reaches the least-squares fit in a few steps",
           {"basis": "fe", "n": 100, "steps": 100, "records": 60, "dtype": "float64"},
           cite=TALK),
    Preset("relu-gd", "The ReLU basis on the same nodes: GD crawls (cond ~ n^4)",
           {"basis": "relu", "n": 100, "steps": 100_000, "records": 100, "dtype": "float64"},
           cite=TALK),
    Preset("relu-adaptive-float32", "Adaptive nodes for arctan(25x), ReLU basis, float32",
           {"basis": "relu", "nodes": "adaptive", "n": 100, "steps": 100_000, "records": 100},
           cite=TALK),
    Preset("relu-adam", "Adam on the ReLU basis", {"basis": "relu", "n": 100, "mode": "adam",
           "adam_lr": 1e-3, "steps": 20_000, "records": 100}, cite=TALK),
)  # fmt: skip


def estimate(config: Config) -> Estimate:
    """The SVD of B (~20 n^3 flops), G in the loop (2 n^2 per step), T a per record (2 n^2), at
    ~1e9 flop/s (2-core machine)."""
    n = config.n
    flops = 20.0 * n**3 + 2.0 * n * n * config.steps + 2.0 * n * n * config.records
    memory = 10 * 8.0 * n * n + 64e6
    return Estimate(memory_bytes=memory, seconds=2.0 + flops / 1e9,
                    fields=("n", "steps"))  # fmt: skip


# ------------------------------------------------------------------------------------------------
# study parameters
# ------------------------------------------------------------------------------------------------
def _ns(default: tuple[int, ...], most: int = MAX_N) -> Any:
    return param(default, item_ge=3, item_le=most, min_items=1, max_items=16, distinct=True,
                 help="Numbers of nodes n.", tex="n", cite=TALK)  # fmt: skip


def _test_points() -> Any:
    return param(10_000, ge=10, le=1_000_000, help="Points of the test grid linspace(-1, 1, .) "
                 "(the talk's Table 1: 10,000).", web_max=100_000)  # fmt: skip


class ConditioningParams(ExperimentConfig):
    """cond(G) against n in both bases on uniform, adaptive and random nodes."""

    ns: IntTuple = _ns((16, 32, 64, 128, 256, 512, 1024))
    draws: Int = param(5, ge=1, le=100, help="Random node sets per n (median reported).",
                       web_max=20)  # fmt: skip
    target: Literal["arctan", "gauss", "cosine", "sine"] = target_field()
    freq: Int = freq_field()


class TableParams(ExperimentConfig):
    """The talk's Table 1."""

    ns: IntTuple = _ns((100, 1000))
    solver: Literal["solve", "pinv", "samples"] = param(
        "solve", help="solve: G a = F by LU; pinv: G^+ F (MATLAB tolerance); samples: pinv of "
        "the sample matrix.", cite=TALK,
    )  # fmt: skip
    samples: Int = param(10_000, ge=2, le=200_000, help="Equispaced samples (solver=samples).",
                         tex="M", web_max=20_000)  # fmt: skip
    test_points: Int = _test_points()
    target: Literal["arctan", "gauss", "cosine", "sine"] = target_field()
    freq: Int = freq_field()


class NoiseParams(ExperimentConfig):
    """Noisy and over-parametrized least squares from samples."""

    follows_seed: ClassVar[tuple[str, ...]] = ("noise_seed",)

    ns: IntTuple = _ns((100, 1500))
    samples: Int = param(1000, ge=2, le=100_000, help="Equispaced samples M.", tex="M",
                         cite=TALK, web_max=10_000)  # fmt: skip
    levels: FloatTuple = param((0.0, 0.001, 0.01, 0.1), item_ge=0.0, item_le=10.0, min_items=1,
                               max_items=12, distinct=True, help="Noise levels sigma.",
                               tex=r"\sigma")  # fmt: skip
    draws: Int = param(4, ge=1, le=100, help="Noise draws per level (errors averaged).",
                       web_max=20)  # fmt: skip
    nodes: Literal["uniform", "adaptive", "random"] = param("uniform", help="Node set.")
    test_points: Int = _test_points()
    target: Literal["arctan", "gauss", "cosine", "sine"] = target_field()
    freq: Int = freq_field()
    noise_seed: Int = param(0, ge=0, le=2**31 - 1, help="Seed of the noise (follows --seed).",
                            advanced=True)  # fmt: skip


class StructuredParams(ExperimentConfig):
    """Divide-and-conquer network against a shallow network of the same size."""

    target: Literal["all", "gauss", "cosine", "sine", "arctan"] = param(
        "all", help="Target: all = the talk's three (gauss, cosine, sine).", cite=TALK,
    )  # fmt: skip
    freq: Int = freq_field()
    pieces: Int = param(16, ge=1, le=256, help="Pieces P of the partition (rank of layer 1).",
                        tex="P", cite=TALK)  # fmt: skip
    units: Int = param(16, ge=1, le=256, help="Units m per piece in layer 2.", tex="m",
                       cite=TALK)  # fmt: skip
    samples: Int = param(1000, ge=2, le=100_000, help="Equispaced training samples.", tex="M",
                         web_max=20_000)  # fmt: skip
    steps: Int = param(1500, ge=1, le=10**6, help="Adam steps (both networks).", tex="s",
                       web_max=100_000)  # fmt: skip
    lr: Float = param(3e-3, gt=0, le=1.0, help="Adam step size (both networks).", tex=r"\eta")
    records: Int = param(30, ge=2, le=1000, help="Recorded losses per network.", advanced=True)
    dtype: Literal["float32", "float64"] = param("float32", help="Training precision.")
    test_points: Int = _test_points()


# ------------------------------------------------------------------------------------------------
# study costs (fitted on the shared 2-core machine with one BLAS thread: docs/fem.md)
# ------------------------------------------------------------------------------------------------
def conditioning_estimate(p: ConditioningParams) -> Estimate:
    seconds = sum(1e-9 * n**3 * (2 + p.draws) for n in p.ns) + 1.0
    return Estimate(memory_bytes=64e6 + 6 * 8.0 * max(p.ns) ** 2, seconds=seconds,
                    fields=("ns", "draws"))  # fmt: skip


def table_estimate(p: TableParams) -> Estimate:
    per = {
        "solve": lambda n: 5e-10 * n**3 + 4e-9 * n * p.test_points,
        "pinv": lambda n: 1.5e-9 * n**3 + 4e-9 * n * p.test_points,
        "samples": lambda n: 1e-9 * p.samples * n * n + 4e-9 * n * p.test_points,
    }[p.solver]
    seconds = 1.0 + sum(8 * per(n) for n in p.ns)
    memory = 64e6 + 8.0 * max(p.ns) * (
        max(p.ns) * 6 + min(p.test_points, 4096) + (3 * p.samples if p.solver == "samples" else 0)
    )
    return Estimate(memory_bytes=memory, seconds=seconds, fields=("ns", "solver", "samples"))


def noise_estimate(p: NoiseParams) -> Estimate:
    seconds = 1.0 + sum(4 * (2e-9 * p.samples * n * min(n, p.samples)
                             + len(p.levels) * p.draws * 4e-9 * n * p.test_points)
                        for n in p.ns)  # fmt: skip
    memory = 64e6 + 8.0 * max(p.ns) * (4 * p.samples + min(p.test_points, 4096))
    return Estimate(memory_bytes=memory, seconds=seconds, fields=("ns", "samples", "levels"))


def structured_estimate(p: StructuredParams) -> Estimate:
    count = 3 if p.target == "all" else 1
    hidden = p.pieces * (p.units + 1)
    seconds = count * (6.0 + 2 * p.steps * p.samples * hidden * 4e-9)
    memory = 64e6 + 8.0 * 12 * p.samples * hidden
    return Estimate(memory_bytes=memory, seconds=seconds,
                    fields=("steps", "samples", "pieces", "units"))  # fmt: skip


# ------------------------------------------------------------------------------------------------
# study wiring (imports deferred)
# ------------------------------------------------------------------------------------------------
def _lazy(module: str, name: str) -> Any:
    def call(*args: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args)

    call.__name__ = name
    return call


_S = "theoryscope.experiments.fem.studies"
_P = "theoryscope.experiments.fem.plots"

STUDIES = (
    Study(
        name="conditioning", tiny={"ns": (8, 16), "draws": 1}, title="Conditioning of ReLU features against finite elements",
        summary="cond(G) against n for the ReLU basis and the P1 hat basis on the same nodes "
        "(uniform, adaptive, random): n^4 on a grid and at least n^3/log n for random nodes "
        "against O(h_max/h_min)",
        params=ConditioningParams, run=_lazy(_S, "run_conditioning"),
        figure=_lazy(_P, "conditioning_figure"), summary_lines=_lazy(_S, "conditioning_lines"),
        estimate=conditioning_estimate,
        metrics=(
            Metric("relu_exponent", "ReLU cond exponent, {kind} nodes",
                   "result.exponents.*.relu", "result.exponents.*.relu_theory", cite=TALK),
            Metric("relu_grid_exponent", "ReLU cond exponent, uniform nodes",
                   "result.exponents.0.relu", "result.exponents.0.relu_theory", cite=TALK,
                   good=0.05),
            Metric("fe_grid_exponent", "FE cond exponent, uniform nodes",
                   "result.exponents.0.fe", "result.exponents.0.fe_theory", cite=TALK,
                   good_abs=0.05),
            Metric("fe_bounds", "FE cond outside [maxP/minP, 3 maxP/minP]",
                   "result.fe_bound_violations", "result.zero", cite=TALK, good_abs=0.0),
            Metric("talk_bound", "random nodes with cond < n^3/log n",
                   "result.talk_bound_failures", "result.zero", cite=PAPER, good_abs=0.0),
        ),
        cite=TALK,
    ),
    Study(
        name="table", tiny={"ns": (10, 20)}, title="The talk's Table 1: arctan(25x) in float32 and float64",
        summary="least squares in the ReLU and the FE basis, n = 100 and 1000, uniform and "
        "adaptive nodes, MAX and MSE beside the talk's numbers",
        params=TableParams, run=_lazy(_S, "run_table"), figure=_lazy(_P, "table_figure"),
        summary_lines=_lazy(_S, "table_lines"), estimate=table_estimate,
        metrics=(
            Metric("fe_max", "{label} MAX", "result.fe_rows.*.max", "result.fe_rows.*.talk_max",
                   cite=TALK, good=0.01),
            Metric("fe_mse", "{label} MSE", "result.fe_rows.*.mse", "result.fe_rows.*.talk_mse",
                   cite=TALK, good=0.01),
            Metric("nn_max", "{label} MAX", "result.relu_rows.*.max",
                   "result.relu_rows.*.talk_max", cite=TALK),
            Metric("nn_mse", "{label} MSE", "result.relu_rows.*.mse",
                   "result.relu_rows.*.talk_mse", cite=TALK),
        ),
        cite=TALK,
    ),
    Study(
        name="noise", tiny={"ns": (10, 20), "samples": 100, "levels": (0.0, 0.01), "draws": 1}, title="Noise and over-parametrization",
        summary="least squares from 1000 noisy samples with n = 100 and n = 1500 (over-"
        "parametrized) in both bases: errors against the clean target, noise kept vs "
        "sigma^2 r / M",
        params=NoiseParams, run=_lazy(_S, "run_noise"), figure=_lazy(_P, "noise_figure"),
        summary_lines=_lazy(_S, "noise_lines"), estimate=noise_estimate,
        metrics=(
            Metric("noise_kept", "{label}: noise kept at the samples",
                   "result.noisy_rows.*.noise_kept", "result.noisy_rows.*.noise_kept_predicted",
                   cite=TALK),
            Metric("mse", "{label}: MSE", "result.rows.*.mse", cite=TALK),
        ),
        cite=TALK,
    ),
    Study(
        name="structured", tiny={"pieces": 2, "units": 2, "samples": 50, "steps": 20, "records": 4, "target": "gauss"}, title="Structured (divide and conquer) vs shallow networks",
        summary="the talk's f = sum_i f_i(psi_i(x)) - const and f_2(f_1(x)) exactly, then a "
        "structured and a shallow net of the same size trained by Adam with the same budget",
        params=StructuredParams, run=_lazy(_S, "run_structured"),
        figure=_lazy(_P, "structured_figure"), summary_lines=_lazy(_S, "structured_lines"),
        estimate=structured_estimate,
        metrics=(
            Metric("construction", "{label}: construction error",
                   "result.targets.*.construction_error", "result.targets.*.zero", cite=TALK,
                   good_abs=1e-12),
            Metric("structured_mse", "{label}: structured MSE vs shallow MSE",
                   "result.targets.*.structured_mse", "result.targets.*.shallow_mse", cite=TALK),
            Metric("seconds", "{label}: structured vs shallow training seconds",
                   "result.targets.*.structured_seconds", "result.targets.*.shallow_seconds"),
        ),
        cite=TALK,
    ),
)  # fmt: skip


def describe(config: Mapping[str, Any]) -> dict[str, Any]:
    """Short columns for tables."""
    return {k: config.get(k) for k in ("basis", "nodes", "n", "target", "mode", "dtype", "steps")}

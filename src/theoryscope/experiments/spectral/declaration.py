"""What the spectral-bias experiment shows: its figures, metrics, the Gram study, presets and
cost. Read by every surface (CLI, web page, sweeps, reports); nothing here runs at import."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from theoryscope.experiments.spectral.config import MAX_NEURONS, TALK, Config
from theoryscope.spec import (
    Curve,
    Estimate,
    ExperimentConfig,
    Figure,
    Int,
    Marker,
    Metric,
    Panel,
    Preset,
    Study,
    StudyContext,
    param,
)

PAPER = "Zhang, Zhao, Zhong, Zhou, arXiv:2306.17301"

FIGURES = (
    Figure(
        name="residuals",
        title="Spectral bias: the residual of each frequency, measured and predicted",
        panels=(
            Panel(
                title="Fourier residual |c_k| / |A_k|",
                x_label="GD step",
                y_label="|c_k| / |A_k|",
                x_log=True,
                y_log=True,
                curves=(
                    Curve(y="series.residual", x="series.step", label="k={value}", columns=True,
                          column_labels="config.freqs", transform="abs"),
                    Curve(y="theory.residual", x="theory.step", label="k={value} theory",
                          style="dashed", columns=True, column_labels="config.freqs",
                          transform="abs"),
                ),
                markers=(Marker(at="theory.t_half", label="predicted half times", each=True),),
            ),
            Panel(
                title="Residual along Gram eigenvectors",
                x_label="GD step",
                y_label="|<psi_j, r>|",
                x_log=True,
                y_log=True,
                curves=(
                    Curve(y="series.eig_residual", x="series.step", label="j={i}", columns=True,
                          transform="abs"),
                    Curve(y="theory.eig_residual", x="theory.step", label="j={i} theory",
                          style="dashed", columns=True, transform="abs"),
                ),
            ),
            Panel(
                title="Loss",
                x_label="GD step",
                y_label="1/2 ||h - f||^2",
                x_log=True,
                y_log=True,
                curves=(Curve(y="series.loss", x="series.step", label="loss"),),
            ),
        ),
    ),
)  # fmt: skip

METRICS = (
    Metric("t_half", "t_half, k={freq}", "agreement.freqs.*.t_half_measured",
           "agreement.freqs.*.t_half_predicted", tex=r"t_{1/2}(k)", cite=TALK, good=0.05),
    Metric("final_residual", "final residual, k={freq}",
           "agreement.freqs.*.final_residual_measured",
           "agreement.freqs.*.final_residual_predicted", cite=TALK),
    Metric("decay_exponent", "eigenvalue decay exponent p", "agreement.decay_exponent",
           "agreement.decay_exponent_theory", tex=r"\lambda_j \sim j^{-p}", cite=PAPER, good=0.1),
    Metric("rank_float32", "float32 numerical rank", "agreement.numerical_rank.float32",
           "agreement.numerical_rank_predicted.float32", cite=TALK),
    Metric("t_half_exponent", "half-time exponent in k", "agreement.t_half_exponent_measured",
           "agreement.t_half_exponent_predicted_reached", tex=r"t_{1/2} \sim k^{q}", cite=TALK),
    Metric("condition_number", "condition number of G", "agreement.condition_number", cite=TALK),
)  # fmt: skip

PRESETS = (
    Preset("tiny", "A run of a second: 20 neurons, k = 1, 2", {"neurons": 20, "freqs": (1, 2),
           "lr": 3.0, "steps": 200, "records": 20}),
    Preset("talk-features", "The talk's fixed-bias run: 200 uniform biases, k = 1, 4, 16",
           {"neurons": 200, "freqs": (1, 4, 16), "lr": 3.0, "steps": 100_000, "mode": "features"},
           cite=TALK),
    Preset("talk-full", "Trained biases (the talk's nonlinear dynamics)",
           {"neurons": 200, "freqs": (1, 4, 16), "lr": 3.0, "steps": 100_000, "mode": "full"},
           cite=TALK),
    Preset("float32-low-pass", "Finite precision as a low-pass filter: n = 1000 in float32",
           {"neurons": 1000, "freqs": (1, 8, 32), "lr": 3.0, "steps": 20_000,
            "dtype": "float32"}, cite=PAPER),
)  # fmt: skip


def estimate(config: Config) -> Estimate:
    """Memory: the n x n Gram matrix and its eigenvectors in float64 (a few copies); time: the
    eigendecomposition (n^3) plus n^2 per GD step (measured on the 2-core machine: ~1e9 flop/s)."""
    n = config.neurons
    memory = 6 * 8.0 * n * n + 64e6
    flops = 10.0 * n**3 + 2.0 * n * n * config.steps * (4 if config.mode == "full" else 1)
    return Estimate(memory_bytes=memory, seconds=flops / 1e9, fields=("neurons", "steps"))


# ------------------------------------------------------------------------------------------------
# the Gram study: the spectrum alone
# ------------------------------------------------------------------------------------------------
class GramParams(ExperimentConfig):
    """Parameters of the Gram-spectrum study."""

    follows_seed: ClassVar[tuple[str, ...]] = ("feature_seed",)

    neurons: Int = param(200, ge=2, le=MAX_NEURONS, help="Width n of the ReLU features.",
                         tex="n", cite=TALK, web_max=2048)  # fmt: skip
    bias: Literal["uniform", "grid"] = param("uniform", help="Biases: i.i.d. U(-1, 1) or a grid.")
    weights: Literal["plus", "sign"] = param("plus", help="Weights: all +1 or random signs.")
    feature_seed: Int = param(0, ge=0, le=2**31 - 1, help="Seed of the random features "
                              "(follows --seed unless given).", advanced=True)  # fmt: skip


def run_gram(params: GramParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """Eigenvalues of the exact ReLU Gram matrix, the fitted decay exponent (talk: 4), the
    condition number and its growth with n, float32/float64 numerical ranks."""
    from theoryscope.experiments.spectral.spectrum import analyze

    context.progress(0.05, "eigenvalues")
    spectrum = analyze(params.neurons, bias=params.bias, weights=params.weights,
                       seed=params.feature_seed)  # fmt: skip
    context.progress(1.0, "done")
    return spectrum.to_dict()


def gram_figure(result: Mapping[str, Any]) -> Any:
    from theoryscope.experiments.spectral.plots import plot_spectrum

    return plot_spectrum(result)


def gram_lines(result: Mapping[str, Any]) -> list[str]:
    fit = result.get("fit") or {}
    ranks = result.get("numerical_rank") or {}
    predicted = result.get("predicted_rank") or {}
    lines = [
        f"n={result['neurons']} biases {result['bias']} weights {result['weights']}: "
        f"lambda_1 {result['eigenvalues'][0]:.4g}, cond {result.get('condition_number') or 0:.4g}",
    ]
    if fit:
        lines.append(f"decay lambda_j ~ C j^-p: p = {fit['exponent']:.3f} "
                     f"(fit j={fit['lo']}..{fit['hi']}); talk: p = 4")  # fmt: skip
    for row in result.get("condition_growth") or []:
        lines.append(f"n={row['neurons']:<6} cond {row['condition_number']:.4g}")
    for name in ("float32", "float64"):
        lines.append(f"{name}: numerical rank {ranks.get(name)} (fit predicts "
                     f"{predicted.get(name) or 0:.1f})")  # fmt: skip
    return lines


def gram_estimate(params: GramParams) -> Estimate:
    n = params.neurons
    return Estimate(memory_bytes=8 * 8.0 * n * n + 64e6, seconds=20.0 * n**3 / 1e9,
                    fields=("neurons",))  # fmt: skip


STUDIES = (
    Study(
        name="gram",
        tiny={"neurons": 8},
        title="ReLU Gram spectrum",
        summary="eigenvalue decay, condition number and numerical ranks of the exact Gram matrix",
        params=GramParams,
        run=run_gram,
        figure=gram_figure,
        summary_lines=gram_lines,
        estimate=gram_estimate,
        metrics=(
            Metric("decay_exponent", "decay exponent p", "result.fit.exponent",
                   "result.theory_exponent", cite=PAPER, good=0.1),
            Metric("condition_exponent", "condition-number growth exponent",
                   "result.condition_exponent", "result.theory_condition_exponent", cite=TALK),
            Metric("rank_float32", "float32 numerical rank", "result.numerical_rank.float32",
                   "result.predicted_rank.float32", cite=TALK),
        ),
        cite=TALK,
    ),
)  # fmt: skip

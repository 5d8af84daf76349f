"""What the loss-Hessian experiment shows: figures, metrics, studies, presets and cost. Read by
every surface (CLI, web page, sweeps, reports); nothing heavy runs at import."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from theoryscope.experiments.hessian.config import (
    GURARI,
    NOTES,
    PAPYAN19,
    PHD,
    SAGUN,
    Config,
)
from theoryscope.experiments.hessian.studies import (
    ClassesParams,
    DigitsParams,
    SpectrumParams,
    run_classes,
    run_spectrum,
)
from theoryscope.spec import Curve, Estimate, Figure, Marker, Metric, Panel, Preset, Study

PAPER = f"{PAPYAN19}; {PHD}; {GURARI}"

FIGURES = (
    Figure(
        name="hessian",
        title="Loss Hessian and neural collapse over training",
        panels=(
            Panel(
                title="Training loss and accuracy",
                x_label="step",
                y_label="loss / accuracy",
                x_log=True,
                y_log=True,
                curves=(
                    Curve(y="series.loss", x="series.step", label="loss"),
                    Curve(y="series.accuracy", x="series.step", label="accuracy", color=1),
                ),
            ),
            Panel(
                title="Neural collapse (all -> 0)",
                x_label="step",
                y_label="metric",
                x_log=True,
                y_log=True,
                curves=(
                    Curve(y="series.nc1", x="series.step", label="NC1 tr(S_W S_B^+)/C"),
                    Curve(y="series.nc2_equinorm", x="series.step", label="NC2 norm std/mean",
                          color=1),
                    Curve(y="series.nc2_cos_dev", x="series.step",
                          label="NC2 mean |cos + 1/(C-1)|", color=2),
                    Curve(y="series.nc3", x="series.step", label="NC3 ||W - M||^2", color=3),
                    Curve(y="series.nc4", x="series.step", label="NC4 NCC mismatch", color=4),
                ),
            ),
            Panel(
                title="Class-mean cosines -> -1/(C-1)",
                x_label="step",
                y_label="cos(mu_c - mu_G, mu_c' - mu_G)",
                x_log=True,
                curves=(
                    Curve(y="series.nc2_cos_mean", x="series.step", label="mean cosine"),
                    Curve(y="series.nc2_cos_std", x="series.step", label="std of cosines",
                          color=1),
                    Curve(y="theory.cos_limit_curve", x="theory.step", label="-1/(C-1) (simplex ETF)",
                          style="dashed"),
                ),
            ),
            Panel(
                title="Top Hessian eigenvalues (Lanczos) and eig G_class",
                x_label="step",
                y_label="eigenvalue",
                x_log=True,
                y_log=True,
                curves=(
                    Curve(y="series.top_eigs", x="series.step", label="lambda_{i}", columns=True),
                    Curve(y="series.class_eigs", x="series.step", label="G_class {i}",
                          columns=True, style="dashed"),
                ),
            ),
            Panel(
                title="Gradient in the top-C eigenspace (Gur-Ari et al.)",
                x_label="step",
                y_label="fraction / overlap",
                x_log=True,
                curves=(
                    Curve(y="series.grad_frac", x="series.step", label="|P_C g|^2 / |g|^2"),
                    Curve(y="agreement.overlap_final.value", x="agreement.overlap_final.step",
                          label="overlap with final top-C", color=1),
                    Curve(y="series.overlap_class", x="series.step",
                          label="overlap with span{g_c}", color=2),
                ),
                markers=(Marker(at="agreement.zero_error_step", label="zero training error"),),
            ),
        ),
    ),
)  # fmt: skip

METRICS = (
    Metric("nc1", "NC1 at the end", "agreement.nc1_last", "theory.nc1_limit",
           tex=r"\mathrm{tr}(\Sigma_W \Sigma_B^+)/C", cite=PHD),
    Metric("nc1_reduction", "NC1 last / first", "agreement.nc1_reduction", cite=PHD),
    Metric("cos", "class-mean cosine", "agreement.nc2_cos_mean_last", "agreement.cos_limit",
           tex=r"-1/(C-1)", cite=PHD, good=0.1),
    Metric("cos_dev", "mean |cos + 1/(C-1)|", "agreement.nc2_cos_dev_last", cite=PHD),
    Metric("equinorm", "class-mean norms std/mean", "agreement.nc2_equinorm_last",
           "theory.nc2_equinorm_limit", cite=PHD),
    Metric("nc3", "NC3 classifier vs means", "agreement.nc3_last", "theory.nc3_limit", cite=PHD),
    Metric("nc4", "NC4 nearest-centre mismatch", "agreement.nc4_last", "theory.nc4_limit",
           cite=PHD),
    Metric("n_class", "class outliers", "agreement.n_class", "agreement.predicted_class",
           tex="C", cite=PAPYAN19),
    Metric("n_cross", "cross-class outliers vs rank C(C-2)", "agreement.n_cross",
           "agreement.predicted_cross_rank", tex="C(C-2)", cite=PAPYAN19),
    Metric("outlier", "lambda_{i}(H) vs eig_{i}(G_class)", "agreement.outliers.*.hessian",
           "agreement.outliers.*.g_class", cite=PAPYAN19),
    Metric("overlap_class", "top-C eigenspace vs span{g_c}", "agreement.overlap_class_means",
           "agreement.one", cite=PAPYAN19),
    Metric("grad_frac", "gradient fraction in top-C (late)", "agreement.grad_frac_late_mean",
           "agreement.one", cite=GURARI),
    Metric("stable", "top-C eigenspace stable from (fraction of run)",
           "agreement.stable_fraction", cite=GURARI),
)  # fmt: skip

_OUTLIERS = {"classes": 4, "dim": 64, "per_class": 100, "separation": 6.0, "noise": 0.5,
             "width": 64, "depth": 1, "lr": 0.1}  # fmt: skip

PRESETS = (
    Preset("tiny", "A run of seconds: 3 classes, 8 hidden units",
           {"classes": 3, "dim": 4, "per_class": 10, "width": 8, "depth": 1, "steps": 40,
            "records": 6, "hessian_every": 2, "lr": 0.5}),
    Preset("outliers", "C = 4 well-separated clusters: C class and C(C-2) cross-class outliers",
           {**_OUTLIERS, "steps": 200, "records": 30, "hessian_every": 3}, cite=PAPYAN19),
    Preset("outliers-mse", "The same under MSE",
           {**_OUTLIERS, "loss": "mse", "steps": 200, "records": 30, "hessian_every": 3},
           cite=PAPYAN19),
    Preset("collapse", "Long training past zero error: neural collapse (weight decay 5e-4)",
           {"classes": 4, "dim": 32, "per_class": 50, "separation": 3.0, "width": 64,
            "depth": 2, "lr": 0.1, "weight_decay": 5e-4, "steps": 30000, "records": 50,
            "hessian_every": 10}, cite=PHD),
    Preset("tiny-subspace", "SGD: the gradient lives in the top-C eigenspace",
           {**_OUTLIERS, "optimizer": "sgd", "batch": 32, "steps": 2000, "records": 40,
            "hessian_every": 2}, cite=GURARI),
    Preset("digits", "scikit-learn's digits, 10 classes x 30 images, one hidden layer",
           {"data": "digits", "classes": 10, "per_class": 30, "width": 32, "depth": 1,
            "lr": 0.1, "steps": 2000, "records": 30, "hessian_every": 5}, cite=NOTES),
    Preset("sagun", "Two clusters with growing variance (the lectures' figure; raise noise)",
           {"classes": 2, "dim": 2, "per_class": 100, "separation": 2.0, "noise": 0.3,
            "width": 16, "depth": 2, "lr": 0.2, "steps": 2000, "records": 30}, cite=SAGUN),
)  # fmt: skip

#: Throughput of the dense ops on this 2-core machine, flop per CPU second, with a margin of
#: ~3x: measured 6.7e10 for float32 training steps (n = 800, P = 17,668: `hessian run` at 5,000
#: against 20,000 steps) and 4.8e10 for eigvalsh at P = 2,500 (counted as 30 P^3 below).
FLOPS = 2e10
#: Fixed cost of one step or one Hessian-vector product (dispatch, the loop): measured ~15 us
#: a step on the tiny preset (20,000 steps in 0.3 s).
STEP_SECONDS = 3e-5
#: XLA compiles a trained configuration (step, measurement, Lanczos): measured 3.5-4 s of CPU
#: (`hessian run --preset tiny`, JAX cache off); the spectrum study's dense Hessians, SLQ and
#: eigendecompositions add ~2.5 s (`hessian spectrum`, tiny).
COMPILE_SECONDS = 5.0
ANALYSIS_COMPILE_SECONDS = 3.0


def _step_flops(config: Config, batch: int) -> float:
    return 6.0 * batch * config.params


def _ops_seconds(count: float, flops_each: float) -> float:
    return count * (flops_each / FLOPS + STEP_SECONDS)


def estimate(config: Config) -> Estimate:
    """Memory: the Lanczos basis (iters x P), the recorded top-C subspaces, the data and the
    Jacobian-sized temporaries of the class sums (C^2 P); time: the steps (6 B P flops each),
    the Lanczos records (each step an HVP, ~2 gradients), and the compilation."""
    p, n = config.params, config.examples
    hessian_records = config.records // config.hessian_every + 2
    memory = 8.0 * (4 * config.iters * p + hessian_records * config.classes * p
                    + 4 * config.classes**2 * p + 4 * n * config.width * config.depth) + 64e6  # fmt: skip
    batch = n if config.optimizer == "gd" else config.batch
    seconds = (_ops_seconds(config.steps, _step_flops(config, batch))
               + _ops_seconds((hessian_records + 8) * config.iters, 2 * _step_flops(config, n))
               + COMPILE_SECONDS)  # fmt: skip
    return Estimate(memory_bytes=memory, seconds=seconds, fields=("width", "per_class", "steps"))


def spectrum_estimate(params: SpectrumParams) -> Estimate:
    """Dense: H, G, E and eigh workspaces (~6 P^2 doubles), P HVPs each for three Hessians and
    three eigvalsh (~10 P^3 each); both: the probes' SLQ (probes x iters HVPs, twice for slq)."""
    p, n = params.params, params.examples
    base = estimate(params)
    slq_iters = min(params.slq_iters, p)
    hvp = 2 * _step_flops(params, n)
    if params.use_dense:
        memory = 8.0 * 6 * p * p + base.memory_bytes
        extra = _ops_seconds(3 * p, hvp) + 30.0 * p**3 / FLOPS
        extra += _ops_seconds(params.probes * slq_iters, hvp)
    else:
        memory = 8.0 * 4 * slq_iters * p + base.memory_bytes
        extra = _ops_seconds(2 * params.probes * slq_iters, hvp)
    seconds = base.seconds + extra + ANALYSIS_COMPILE_SECONDS
    return Estimate(memory_bytes=memory, seconds=seconds, fields=("width", "per_class"))


def classes_estimate(params: ClassesParams) -> Estimate:
    """One trained configuration (and its compilation) per number of classes."""
    total = 0.0
    memory = 0.0
    base = {k: v for k, v in params.to_dict().items() if k != "class_list"}
    for c in params.class_list:
        one = estimate(Config.from_dict({**base, "classes": c}))
        total += one.seconds
        memory = max(memory, one.memory_bytes)
    return Estimate(memory_bytes=memory, seconds=total, fields=("class_list", "width"))


def spectrum_lines(result: Mapping[str, Any]) -> list[str]:
    hier = result.get("hierarchy") or {}
    lines = [f"P = {result.get('P')}, N = {result.get('N')}, C = {result.get('C')}: "
             f"loss {result.get('loss', float('nan')):.4g}, accuracy {result.get('accuracy', 0):.3f}"]  # fmt: skip
    if hier:
        lines.append(f"outliers: {hier['n_class']} class (C = {hier['classes']}), {hier['n_cross']}"
                     f" cross-class (rank bound C(C-2) = {hier['classes'] * (hier['classes'] - 2)},"
                     f" Papyan C(C-1) = {hier['predicted_cross']})")  # fmt: skip
        lines.append(f"bulk edge {hier['bulk_edge']:.4g}; top H {hier['h_top'][:3]}; "
                     f"eig G_class {[round(v, 6) for v in hier['class_eigs']]}")  # fmt: skip
        lines.append(f"overlap of the top-C eigenspace with span{{g_c}}: "
                     f"{hier['overlap_class_means']:.4f}")  # fmt: skip
    if result.get("method") == "dense":
        lines.append(f"dense: |G + E - H|/|H| = {result['ge_residual']:.2e}, rank G = "
                     f"{result['g_rank']} (bound {result['g_rank_bound']}), Lanczos top-C rel. "
                     f"error {result['lanczos_rel_error']:.2e}")  # fmt: skip
        lines.append(f"SLQ: integral {result['slq_integral']:.6f}, W1 / range "
                     f"{result['slq_w1']:.4f}")  # fmt: skip
    elif result.get("method") == "slq":
        lines.append(f"SLQ: integral {result['slq_integral']:.6f}")
    if result.get("status") not in (None, "finished"):
        lines.append(f"{result['status']}: {result.get('message')}")
    return lines


def classes_lines(result: Mapping[str, Any]) -> list[str]:
    return [f"C = {r['classes']:<3} outliers: class {r['n_class']} (C), cross {r['n_cross']} "
            f"(rank C(C-2) = {r['rank_cross']}, Papyan C(C-1) = {r['papyan_cross']}), overlap "
            f"{r['overlap_class_means']:.3f}" for r in result.get("rows") or []]  # fmt: skip


def _spectrum_figure(result: Mapping[str, Any]) -> Any:
    from theoryscope.experiments.hessian.plots import plot_spectrum

    return plot_spectrum(result)


def _classes_figure(result: Mapping[str, Any]) -> Any:
    from theoryscope.experiments.hessian.plots import plot_classes

    return plot_classes(result)


_SPECTRUM_METRICS = (
    Metric("lanczos", "Lanczos top-C vs dense (rel. error)", "result.lanczos_rel_error",
           cite="Golub & Van Loan 10.1"),
    Metric("slq_integral", "SLQ density integral", "result.slq_integral", "result.one",
           good=1e-3, cite="Ubaru, Chen, Saad 2017"),
    Metric("slq_w1", "SLQ vs dense, W1 / range", "result.slq_w1", cite="Ghorbani et al. 2019"),
    Metric("ge", "|G + E - H| / |H|", "result.ge_residual", cite=NOTES),
    Metric("g_rank", "rank G vs bound", "result.g_rank", "result.g_rank_bound", cite=NOTES),
    Metric("n_class", "class outliers", "result.hierarchy.n_class", "result.C", cite=PAPYAN19),
    Metric("overlap", "top-C eigenspace vs span{g_c}", "result.hierarchy.overlap_class_means",
           cite=PAPYAN19),
)  # fmt: skip

STUDIES = (
    Study(
        name="spectrum",
        tiny={"classes": 2, "per_class": 5, "dim": 3, "width": 4, "depth": 1, "steps": 10, "records": 2, "hessian_every": 1},
        title="Hessian spectrum at a checkpoint",
        summary="dense eigh (small nets) or SLQ density; bulk + outliers, G vs E, the three-level "
        "hierarchy, Lanczos and SLQ against the dense spectrum",
        params=SpectrumParams,
        run=run_spectrum,
        figure=_spectrum_figure,
        summary_lines=spectrum_lines,
        estimate=spectrum_estimate,
        metrics=_SPECTRUM_METRICS,
        cite=PAPYAN19,
    ),
    Study(
        name="classes",
        tiny={"class_list": (2, 3), "per_class": 5, "dim": 4, "width": 4, "depth": 1, "steps": 10, "records": 2, "hessian_every": 1},
        title="Outliers against the number of classes",
        summary="class and cross-class outlier counts for C in a list, against C and C(C-2)",
        params=ClassesParams,
        run=run_classes,
        figure=_classes_figure,
        summary_lines=classes_lines,
        estimate=classes_estimate,
        metrics=(
            Metric("n_class", "class outliers, C={classes}", "result.rows.*.n_class",
                   "result.rows.*.predicted_class", cite=PAPYAN19),
            Metric("n_cross", "cross-class outliers, C={classes}", "result.rows.*.n_cross",
                   "result.rows.*.rank_cross", cite=PAPYAN19),
        ),
        cite=PAPYAN19,
    ),
    Study(
        name="digits",
        tiny={"classes": 3, "per_class": 5, "width": 4, "steps": 10, "records": 2, "hessian_every": 1},
        title="Hessian spectrum on scikit-learn's digits",
        summary="the spectrum study on 8x8 digits (10 classes, shipped with scikit-learn)",
        params=DigitsParams,
        run=run_spectrum,
        figure=_spectrum_figure,
        summary_lines=spectrum_lines,
        estimate=spectrum_estimate,
        metrics=_SPECTRUM_METRICS,
        cite=NOTES,
    ),
)  # fmt: skip

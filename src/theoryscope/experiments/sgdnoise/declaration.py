"""What the SGD-noise experiment shows: one figure per mode, metrics, presets, the three studies,
cost estimates. Read by every surface (CLI, web page, sweeps, reports); nothing heavy runs or
loads at import."""

from __future__ import annotations

from dataclasses import replace

from theoryscope.experiments.sgdnoise import studies
from theoryscope.experiments.sgdnoise.config import (
    BLANC,
    DAMIAN,
    LECTURE,
    PESME,
    YAIDA,
    Config,
    mlp_parameters,
)
from theoryscope.spec import Curve, Estimate, Figure, Marker, Metric, Panel, Preset, Study

FDR = {"mode": ["linreg", "mlp"]}
LINREG = {"mode": ["linreg"]}
MLP = {"mode": ["mlp"]}
DIAGONAL = {"mode": ["diagonal"]}
MANIFOLD = {"mode": ["manifold"]}

_FIGURES = (
    Figure(
        name="fdr",
        title="Fluctuation-dissipation relations of SGD (half-running averages; exact linreg "
        "theory dashed)",
        when=FDR,
        panels=(
            Panel(
                title="FDR1: <theta . grad L> = (eta/2) <|g_B|^2>",
                x_label="SGD step",
                y_label="half-running average",
                x_log=True,
                y_log=True,
                curves=(
                    Curve(y="series.fdr1_lhs", x="series.step", label="<theta . grad L>"),
                    Curve(y="series.fdr1_rhs", x="series.step", label="(eta/2) <|g_B|^2>",
                          color=1),
                    Curve(y="theory.fdr1_lhs", x="theory.step", label="exact", style="dashed",
                          when=LINREG),
                    Curve(y="theory.fdr1_rhs", x="theory.step", label="exact", style="dashed",
                          color=1, when=LINREG),
                ),
            ),
            Panel(
                title="FDR2: <|grad L|^2> = (eta/2) <g_B . H g_B>",
                x_label="SGD step",
                y_label="half-running average",
                x_log=True,
                y_log=True,
                curves=(
                    Curve(y="series.fdr2_lhs", x="series.step", label="<|grad L|^2>"),
                    Curve(y="series.fdr2_rhs", x="series.step", label="(eta/2) <g_B . H g_B>",
                          color=1),
                    Curve(y="theory.fdr2_lhs", x="theory.step", label="exact", style="dashed",
                          when=LINREG),
                    Curve(y="theory.fdr2_rhs", x="theory.step", label="exact", style="dashed",
                          color=1, when=LINREG),
                ),
            ),
            Panel(
                title="Stationarity detector: the ratios (+-2 SE) -> 1",
                x_label="SGD step",
                y_label="left / right",
                x_log=True,
                y_log=True,
                curves=(
                    Curve(y="series.ratio1_lo", y2="series.ratio1_hi", x="series.step",
                          label="FDR1 +-2 SE", style="band"),
                    Curve(y="series.ratio1", x="series.step", label="FDR1 ratio"),
                    Curve(y="series.ratio2", x="series.step", label="FDR2 ratio", color=1),
                    Curve(y="theory.ratio1", x="theory.step", label="FDR1 exact",
                          style="dashed", when=LINREG),
                    Curve(y="theory.ratio2", x="theory.step", label="FDR2 exact",
                          style="dashed", color=1, when=LINREG),
                ),
                markers=(
                    Marker(at="theory.one", label="stationary: 1", axis="y"),
                    Marker(at="agreement.equilibrated_step", label="enters 1 +- tol"),
                ),
            ),
            Panel(
                title="Loss and |theta - theta_ref|^2 (block means)",
                x_label="SGD step",
                y_label="block mean",
                x_log=True,
                y_log=True,
                curves=(
                    Curve(y="series.loss", x="series.step", label="L"),
                    Curve(y="theory.loss", x="theory.step", label="E L exact", style="dashed",
                          when=LINREG),
                    Curve(y="series.sq", x="series.step", label="|theta - theta*|^2 (mlp: "
                          "|theta|^2)", color=2),
                    Curve(y="theory.sq", x="theory.step", label="tr E[dd^T] exact",
                          style="dashed", color=2, when=LINREG),
                ),
            ),
        ),
    ),
    Figure(
        name="diagonal",
        title="Diagonal net: SGD acts as a smaller init scale than GD (Pesme et al. 2021)",
        when=DIAGONAL,
        panels=(
            Panel(
                title="Training loss (block means)",
                x_label="step",
                y_label="L",
                x_log=True,
                y_log=True,
                curves=(
                    Curve(y="series.loss_sgd", x="series.step", label="SGD"),
                    Curve(y="series.loss_gd", x="series.step", label="GD", color=1),
                ),
            ),
            Panel(
                title="Effective scale sqrt(u v) (geometric mean; Pesme dotted)",
                x_label="step",
                y_label="alpha_t",
                x_log=True,
                curves=(
                    Curve(y="series.alpha_sgd", x="series.step", label="SGD"),
                    Curve(y="series.alpha_gd", x="series.step", label="GD", color=1),
                ),
                markers=(
                    Marker(at="agreement.alpha_pesme_geo", label="Pesme alpha_inf", axis="y"),
                ),
            ),
            Panel(
                title="Per coordinate: exact sqrt(u v) vs Pesme's alpha_inf (chain 0)",
                x_label="coordinate i",
                y_label="alpha_i",
                curves=(
                    Curve(y="agreement.alpha_gain", x="agreement.coordinate",
                          label="SGD sqrt(u_i v_i)", style="markers"),
                    Curve(y="agreement.alpha_pesme", x="agreement.coordinate",
                          label="Pesme alpha_inf,i", style="dashed"),
                ),
                markers=(Marker(at="theory.alpha", label="alpha (GD)", axis="y"),),
            ),
            Panel(
                title="Distance to min-L1 (GD's Q_alpha limit dotted)",
                x_label="step",
                y_label="||beta - beta_L1|| / ||beta_L1||",
                x_log=True,
                y_log=True,
                curves=(
                    Curve(y="series.to_l1_sgd", x="series.step", label="SGD"),
                    Curve(y="series.to_l1_gd", x="series.step", label="GD", color=1),
                ),
                markers=(Marker(at="theory.limit_to_l1", label="Q_alpha limit", axis="y"),),
            ),
        ),
    ),
    Figure(
        name="manifold",
        title="Label-noise SGD on f = ab: drift along ab = y to smaller tr H (theory dashed)",
        when=MANIFOLD,
        panels=(
            Panel(
                title="zeta = (a^2 - b^2)/(2y) (chain mean, +-2 SE)",
                x_label="step",
                y_label="zeta",
                y_log=True,
                curves=(
                    Curve(y="series.zeta_lo", y2="series.zeta_hi", x="series.step",
                          label="+-2 SE", style="band"),
                    Curve(y="series.zeta", x="series.step", label="measured"),
                    Curve(y="theory.zeta", x="theory.step", label="zeta_0 exp(-eta^2 sigma^2 k)",
                          style="dashed"),
                    Curve(y="theory.zeta_refined", x="theory.step", label="finite-eta rate",
                          style="dashed", color=1),
                ),
            ),
            Panel(
                title="tr H = a^2 + b^2 (chain mean)",
                x_label="step",
                y_label="tr H",
                curves=(
                    Curve(y="series.trace_h", x="series.step", label="measured"),
                    Curve(y="theory.trace_h", x="theory.step", label="leading order",
                          style="dashed"),
                    Curve(y="theory.trace_h_refined", x="theory.step", label="finite eta",
                          style="dashed", color=1),
                ),
                markers=(Marker(at="theory.trace_h_min", label="flattest: 2y", axis="y"),),
            ),
            Panel(
                title="Path of chain 0 in the (a, b) plane",
                x_label="a",
                y_label="b",
                curves=(
                    Curve(y="series.b", x="series.a", label="chain 0"),
                    Curve(y="theory.manifold_b", x="theory.manifold_a", label="minima ab = y",
                          style="dashed", color=2),
                    Curve(y="theory.path_b", x="theory.path_a", label="predicted flow",
                          style="dashed", color=1),
                ),
            ),
        ),
    ),
)  # fmt: skip


def _only(figure: Figure) -> Figure:
    """The figure with its ``when`` on every curve too (drawn for another mode, it stays empty)."""
    when = figure.when
    panels = tuple(
        replace(panel, curves=tuple(c if c.when else replace(c, when=when) for c in panel.curves))
        for panel in figure.panels
    )
    return replace(figure, panels=panels)


FIGURES: tuple[Figure, ...] = tuple(_only(f) for f in _FIGURES)

METRICS = (
    Metric("ratio1", "FDR1 ratio (half-running, final)", "agreement.ratio1",
           "agreement.ratio1_predicted", tex=r"\langle\theta\cdot\nabla L\rangle / "
           r"\tfrac{\eta}{2}\langle|g_B|^2\rangle", cite=YAIDA, good=0.1, when=LINREG),
    Metric("ratio2", "FDR2 ratio (half-running, final)", "agreement.ratio2",
           "agreement.ratio2_predicted", tex=r"\langle|\nabla L|^2\rangle / \tfrac{\eta}{2}"
           r"\langle g_B H g_B\rangle", cite=YAIDA, good=0.05, when=LINREG),
    Metric("fdr1_rhs", "(eta/2) <|g_B|^2> (half-running)", "agreement.fdr1_rhs",
           "agreement.fdr1_rhs_predicted", cite=YAIDA, good=0.05, when=LINREG),
    Metric("fdr2_lhs", "<|grad L|^2> (half-running)", "agreement.fdr2_lhs",
           "agreement.fdr2_lhs_predicted", cite=YAIDA, good=0.05, when=LINREG),
    Metric("sq", "stationary E|theta - theta*|^2 (exact)", "agreement.sq_stationary",
           "agreement.sq_stationary_predicted", tex=r"\mathrm{tr}\,\Sigma", cite=YAIDA,
           good=0.05, when=LINREG),
    Metric("cov_small_eta", "stationary tr Cov vs small-eta Lyapunov", "agreement.trace_cov_measured",
           "agreement.trace_cov_small_eta", tex=r"A\Sigma + \Sigma A = \eta C", cite=LECTURE,
           when=LINREG),
    Metric("equilibration", "step the FDR1 ratio enters 1 +- tol", "agreement.equilibrated_step",
           "agreement.equilibrated_step_predicted", cite=YAIDA, when=LINREG),
    Metric("mlp_ratio1", "FDR1 ratio (half-running, final)", "agreement.ratio1", "agreement.one",
           cite=YAIDA, good=0.1, when=MLP),
    Metric("mlp_ratio2", "FDR2 ratio (harmonic: 1 + O(eta^2))", "agreement.ratio2",
           "agreement.one", cite=YAIDA, when=MLP),
    Metric("mlp_equilibration", "step the FDR1 ratio enters 1 +- tol",
           "agreement.equilibrated_step", cite=YAIDA, when=MLP),
    Metric("alpha_eff", "alpha_eff fitted to SGD vs Pesme alpha_inf", "agreement.alpha_fit",
           "agreement.alpha_pesme_fit", tex=r"\alpha_\infty", cite=PESME, good=0.1,
           when=DIAGONAL),
    Metric("alpha_gain", "exact sqrt(u v) vs Pesme alpha_inf (geometric means)",
           "agreement.alpha_gain_geo", "agreement.alpha_pesme_geo", cite=PESME, good=0.05,
           when=DIAGONAL),
    Metric("alpha_gd", "alpha fitted to GD's end point vs alpha", "agreement.alpha_fit_gd",
           "agreement.alpha", cite=PESME, good=0.05, when=DIAGONAL),
    Metric("to_l1", "distance to min-L1: SGD vs GD", "agreement.to_l1_sgd", "agreement.to_l1_gd",
           cite=PESME, when=DIAGONAL),
    Metric("zeta", "final zeta vs finite-eta drift", "agreement.zeta_final",
           "agreement.zeta_final_refined", tex=r"\zeta", cite=DAMIAN, good=0.05, when=MANIFOLD),
    Metric("rate", "drift rate of zeta vs eta^2 sigma^2", "agreement.rate_measured",
           "agreement.rate_predicted", tex=r"\eta^2\sigma^2", cite=BLANC, good=0.15,
           when=MANIFOLD),
    Metric("trace_h", "final tr H vs finite-eta drift", "agreement.trace_h_final",
           "agreement.trace_h_final_predicted", cite=DAMIAN, good=0.02, when=MANIFOLD),
)  # fmt: skip

PRESETS = (
    Preset("tiny", "A run of about a second: linreg, d = 4, m = 32, 2000 steps",
           {"mode": "linreg", "d": 4, "m": 32, "batch": 4, "lr": 0.05, "steps": 2000,
            "records": 20}),
    Preset("tiny-diagonal", "The diagonal command's run of about a second: d = 12, m = 6, "
           "2000 steps", {"mode": "diagonal", "d": 12, "m": 6, "sparsity": 2, "batch": 1,
                          "lr": 0.02, "steps": 2000, "records": 20}),
    Preset("yaida-linreg", "Noisy least squares, d = 8, m = 64, |B| = 4: both FDRs against the "
           "exact moments, 8 chains", {"mode": "linreg", "d": 8, "m": 64, "batch": 4, "lr": 0.05,
           "noise": 0.5, "steps": 40_000, "records": 200, "chains": 8}, cite=YAIDA),
    Preset("linreg-large-step", "The same at eta = 0.3: the small-eta covariance is off, the "
           "exact one is not", {"mode": "linreg", "d": 8, "m": 64, "batch": 4, "lr": 0.3,
           "noise": 0.5, "steps": 40_000, "records": 200, "chains": 8}, cite=YAIDA),
    Preset("mlp-weight-decay", "A tanh MLP (4-16-1) with label noise 0.3 and weight decay 0.01",
           {"mode": "mlp", "d": 4, "width": 16, "m": 128, "batch": 8, "lr": 0.05, "noise": 0.3,
            "weight_decay": 0.01, "steps": 40_000, "records": 200}, cite=YAIDA),
    Preset("pesme", "Diagonal net d = 100, m = 40, alpha = 0.1, |B| = 1, eta = 0.02: SGD acts as "
           "alpha_inf < alpha", {"mode": "diagonal", "d": 100, "m": 40, "sparsity": 5,
           "alpha": 0.1, "lr": 0.02, "batch": 1, "steps": 20_000, "records": 200, "chains": 2,
           "dtype": "float64"}, cite=PESME),
    Preset("pesme-large-step", "The same at eta = 0.05: much nearer min-L1, beyond the "
           "small-step formula", {"mode": "diagonal", "d": 100, "m": 40, "sparsity": 5,
           "alpha": 0.1, "lr": 0.05, "batch": 1, "steps": 20_000, "records": 200, "chains": 2,
           "dtype": "float64"}, cite=PESME),
    Preset("label-noise", "f = ab from s0 = 1 with label noise 1: drift to the balanced a = b",
           {"mode": "manifold", "lr": 0.05, "noise": 1.0, "target": 1.0, "s0": 1.0,
            "steps": 3_000, "records": 30, "chains": 256, "dtype": "float64"}, cite=DAMIAN),
)  # fmt: skip


def step_seconds(config: Config) -> float:
    """Seconds per SGD step of one chain, fitted on the shared 2-core machine (float32, vmapped
    chains, loaded): a fixed ~2 us plus the flops of a full gradient, a batch gradient and an HVP
    (~6 passes over m x parameters) at ~1 Gflop/s."""
    m, d = int(config.m or 1), int(config.d or 1)
    if config.mode == "linreg":
        work = 6.0 * m * d + 2.0 * d * d
    elif config.mode == "mlp":
        work = 6.0 * m * mlp_parameters(d, int(config.width))
    elif config.mode == "diagonal":
        work = 6.0 * m * d
    else:
        work = 10.0
    return 2e-6 + 1e-9 * work


def estimate(config: Config) -> Estimate:
    """Compile (~2 s per run) plus steps x chains x :func:`step_seconds` (SGD and GD side by side
    in diagonal); the diagonal theory adds the gradient-flow loss integral (~1 s) and the
    comparison the alpha fits (~0.5 s each)."""
    steps, chains = int(config.steps or 0), int(config.chains or 1)
    seconds = 2.0 + steps * chains * step_seconds(config)
    d = int(config.d or 1)
    memory = 64e6 + 8.0 * int(config.records) * 64
    if config.mode == "linreg":
        memory += 8.0 * chains * 10 * (d * d + d) + 8.0 * (d * d + d + 1) ** 2 * 4
        seconds += 1e-9 * (d * d + d + 1) ** 3 * 40
    if config.mode == "diagonal":
        seconds += 1.0 + 0.5 * (2 * min(chains, 8) + 2)  # the flow's loss integral, the fits
        memory += 8.0 * chains * d * 64
    return Estimate(memory_bytes=memory, seconds=seconds, fields=("steps", "chains", "d", "m"))


STUDIES = (
    Study(
        name="fdr-scan",
        tiny={
            "lrs": (0.05,),
            "batches": (4,),
            "steps": 500,
            "records": 10,
            "chains": 2,
            "d": 3,
            "m": 16,
        },
        title="FDR ratios over eta and |B|",
        summary="both fluctuation-dissipation ratios at the end of a run over a grid of eta and "
        "|B| (linreg: against the exact stationary values)",
        params=studies.FdrScanParams,
        run=studies.run_fdr_scan,
        figure=studies.fdr_scan_figure,
        summary_lines=studies.fdr_scan_lines,
        estimate=studies.fdr_scan_estimate,
        metrics=(
            Metric(
                "ratio1",
                "FDR1 ratio, eta={eta:g} |B|={batch}",
                "result.points.*.ratio1",
                "result.points.*.one",
                cite=YAIDA,
                good=0.1,
            ),
            Metric(
                "ratio2",
                "FDR2 ratio, eta={eta:g} |B|={batch}",
                "result.points.*.ratio2",
                "result.points.*.one",
                cite=YAIDA,
            ),
        ),
        cite=YAIDA,
    ),
    Study(
        name="alpha-eff",
        tiny={
            "lrs": (0.02,),
            "batches": (1,),
            "steps": 500,
            "records": 10,
            "chains": 1,
            "d": 12,
            "m": 6,
            "sparsity": 2,
        },
        title="Effective init scale of SGD on a diagonal net",
        summary="alpha_eff fitted to SGD's end point against Pesme et al.'s alpha_inf, over eta "
        "and |B|, with the distance to min-L1 of SGD and GD",
        params=studies.AlphaEffParams,
        run=studies.run_alpha_eff,
        figure=studies.alpha_eff_figure,
        summary_lines=studies.alpha_eff_lines,
        estimate=studies.alpha_eff_estimate,
        metrics=(
            Metric(
                "alpha_eff",
                "alpha_eff, eta={eta:g} |B|={batch}",
                "result.points.*.alpha_fit",
                "result.points.*.alpha_pesme_fit",
                cite=PESME,
                good=0.1,
            ),
            Metric(
                "to_l1",
                "SGD vs GD distance to min-L1, eta={eta:g} |B|={batch}",
                "result.points.*.to_l1_sgd",
                "result.points.*.to_l1_gd",
                cite=PESME,
            ),
        ),
        cite=PESME,
    ),
    Study(
        name="manifold-drift",
        tiny={"lrs": (0.05,), "sigmas": (1.0,), "steps": 500, "records": 10, "chains": 32},
        title="Label-noise drift along a manifold of minima",
        summary="decay rate of zeta = (a^2 - b^2)/(2y) on f = ab against eta^2 sigma^2, over eta "
        "and sigma",
        params=studies.DriftParams,
        run=studies.run_drift,
        figure=studies.drift_figure,
        summary_lines=studies.drift_lines,
        estimate=studies.drift_estimate,
        metrics=(
            Metric(
                "rate",
                "drift rate, eta={eta:g} sigma={sigma:g}",
                "result.points.*.rate_measured",
                "result.points.*.rate_predicted",
                cite=BLANC,
                good=0.15,
            ),
            Metric(
                "zeta",
                "final zeta, eta={eta:g} sigma={sigma:g}",
                "result.points.*.zeta_final",
                "result.points.*.zeta_final_refined",
                cite=DAMIAN,
                good=0.05,
            ),
        ),
        cite=DAMIAN,
    ),
)

CITE = f"{YAIDA}; {PESME}; {BLANC}; {DAMIAN}; {LECTURE}"

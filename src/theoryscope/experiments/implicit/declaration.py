"""What the implicit-bias experiment shows: one figure per mode, metrics, presets, cost and the
progress hook. Read by every surface (CLI, web page, sweeps, reports); nothing here runs at
import.

Implicit has no study: its three commands (``diagonal``, ``margin``, ``deeplinear``) are ``run``
with the mode fixed, and the alpha sweep is a field of the diagonal run (``--alpha-sweep``:
every alpha trained side by side in one batched GD, stored as one run).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from theoryscope.experiments.implicit.config import (
    ARORA,
    LECTURES,
    SAXE,
    SOUDRY,
    WOODWORTH,
    Config,
)
from theoryscope.spec import Curve, Estimate, Figure, Hooks, Marker, Metric, Panel, Preset

DIAGONAL = {"mode": ["diagonal"]}
MARGIN = {"mode": ["margin"]}
DEEPLINEAR = {"mode": ["deeplinear"]}

FIGURES = (
    Figure(
        name="diagonal",
        title="Diagonal linear network: which interpolator GD picks (Q_alpha limit dashed)",
        panels=(
            Panel(
                title="Loss per alpha",
                x_label="GD step",
                y_label="1/(2n) ||X beta - y||^2",
                x_log=True,
                y_log=True,
                curves=(
                    Curve(y="series.loss", x="series.step", label="alpha[{i}]", columns=True,
                          when=DIAGONAL),
                ),
            ),
            Panel(
                title="Recovery error of beta* (the Q_alpha limit's dotted)",
                x_label="GD step",
                y_label="||beta - beta*|| / ||beta*||",
                x_log=True,
                y_log=True,
                curves=(
                    Curve(y="series.recovery", x="series.step", label="alpha[{i}]",
                          columns=True, when=DIAGONAL),
                ),
                markers=(
                    Marker(at="theory.limit_recovery", label="Q_alpha limit", axis="y",
                           each=True),
                ),
            ),
            Panel(
                title="Distance to min-L1 and min-L2 against alpha",
                x_label="init scale alpha",
                y_label="relative distance",
                x_log=True,
                y_log=True,
                curves=(
                    Curve(y="agreement.to_l1", x="agreement.alphas", label="trained to min-L1",
                          style="markers", when=DIAGONAL),
                    Curve(y="theory.limit_to_l1", x="theory.alphas", label="Q_alpha limit to "
                          "min-L1", style="dashed", when=DIAGONAL),
                    Curve(y="agreement.to_l2", x="agreement.alphas", label="trained to min-L2",
                          style="markers", color=1, when=DIAGONAL),
                    Curve(y="theory.limit_to_l2", x="theory.alphas", label="Q_alpha limit to "
                          "min-L2", style="dashed", color=1, when=DIAGONAL),
                ),
            ),
        ),
    ),
    Figure(
        name="margin",
        title="Logistic GD on separable data: the direction turns toward the hard-margin SVM",
        panels=(
            Panel(
                title="Angle to the SVM direction (w_tilde asymptote dashed)",
                x_label="GD step",
                y_label="angle (rad)",
                x_log=True,
                y_log=True,
                curves=(
                    Curve(y="agreement.angle", x="series.step", label="angle(w(t), SVM)",
                          when=MARGIN),
                    Curve(y="theory.angle", x="theory.step", label="angle(w_hat log t + "
                          "w_tilde, w_hat)", style="dashed", when=MARGIN),
                ),
            ),
            Panel(
                title="Normalized margin (SVM margin dotted)",
                x_label="GD step",
                y_label="min_i y_i w.x_i / ||w||",
                x_log=True,
                curves=(Curve(y="series.margin", x="series.step", label="GD", when=MARGIN),),
                markers=(Marker(at="theory.svm_margin", label="SVM margin", axis="y"),),
            ),
            Panel(
                title="Logistic loss",
                x_label="GD step",
                y_label="loss",
                x_log=True,
                y_log=True,
                curves=(Curve(y="series.loss", x="series.step", label="loss", when=MARGIN),),
            ),
        ),
    ),
    Figure(
        name="deeplinear",
        title="Deep linear network: modes learned one by one along sigmoids",
        panels=(
            Panel(
                title="Mode strengths u_i^T W v_i (closed form dashed)",
                x_label="GD step",
                y_label="mode strength",
                curves=(
                    Curve(y="series.modes", x="series.step", label="s={value}", columns=True,
                          column_labels="config.singular_values", when=DEEPLINEAR),
                    Curve(y="theory.modes", x="theory.step", label="s={value} theory",
                          style="dashed", columns=True, column_labels="config.singular_values",
                          when=DEEPLINEAR),
                ),
            ),
            Panel(
                title="Balancedness drift and loss",
                x_label="GD step",
                y_label="value",
                y_log=True,
                curves=(
                    Curve(y="series.balance_drift", x="series.step",
                          label="max_l ||B_l(t) - B_l(0)||_F", when=DEEPLINEAR),
                    Curve(y="series.loss", x="series.step", label="loss", color=1,
                          when=DEEPLINEAR),
                ),
            ),
        ),
    ),
)  # fmt: skip

#: Per-alpha and per-mode metrics expand over lists that exist only in their mode; the margin
#: metrics are scalars (they read as empty rows in the other modes).
METRICS = (
    Metric("to_limit", "trained beta to the Q_alpha limit, alpha[{i}]",
           "agreement.to_limit.*", tex=r"\|\beta - \beta_\alpha\| / \|\beta_\alpha\|",
           cite=WOODWORTH),
    Metric("to_l1", "distance to min-L1, alpha[{i}]", "agreement.to_l1.*",
           "theory.limit_to_l1.*", cite=WOODWORTH, good=0.25),
    Metric("to_l2", "distance to min-L2, alpha[{i}]", "agreement.to_l2.*",
           "theory.limit_to_l2.*", cite=WOODWORTH, good=0.25),
    Metric("recovery", "recovery error of beta*, alpha[{i}]", "agreement.recovery.*",
           "theory.limit_recovery.*", cite=WOODWORTH, good=0.25),
    Metric("final_angle", "final angle to the SVM direction", "agreement.final_angle",
           "agreement.predicted_final_angle", tex=r"\angle(w, \hat w)", cite=SOUDRY),
    Metric("margin", "normalized margin vs SVM margin", "agreement.final_margin",
           "theory.svm_margin", tex=r"\gamma", cite=SOUDRY, good=0.1),
    Metric("half_time", "half time, s[{i}]", "agreement.half_time_measured.*",
           "theory.half_time.*", tex=r"t_{1/2}", cite=SAXE, good=0.05),
    Metric("final_mode", "final strength, s[{i}]", "agreement.final_modes.*",
           "theory.singular_values.*", tex="s_i", cite=SAXE, good=1e-3),
    Metric("flow_error", "max |u - closed form| / s, s[{i}]",
           "agreement.max_abs_error_over_s.*", cite=SAXE),
    Metric("map_error", "max |u - GD map| / s, s[{i}]", "agreement.max_abs_error_over_s_gd.*",
           cite=ARORA),
)  # fmt: skip

PRESETS = (
    Preset("tiny", "A run of a fraction of a second: diagonal, d = 30, n = 12, 500 steps",
           {"mode": "diagonal", "d": 30, "n": 12, "sparsity": 2, "alpha": 0.1, "steps": 500,
            "records": 40}),
    Preset("rich", "Diagonal net at alpha = 0.01: GD lands near min-L1 (Woodworth et al.)",
           {"mode": "diagonal", "d": 100, "n": 40, "sparsity": 5, "alpha": 0.01}, cite=WOODWORTH),
    Preset("kernel", "Diagonal net at alpha = 10: GD lands on min-L2",
           {"mode": "diagonal", "d": 100, "n": 40, "sparsity": 5, "alpha": 10.0}, cite=WOODWORTH),
    Preset("alpha-sweep", "Nine alphas from 1e-3 to 10 side by side: the rich-to-kernel crossover",
           {"mode": "diagonal", "alpha_sweep": True, "sweep_min": 1e-3, "sweep_max": 10.0,
            "sweep_points": 9}, cite=WOODWORTH),
    Preset("max-margin", "Logistic GD on 50 separable points in 2-D, 1e5 steps (Soudry et al.)",
           {"mode": "margin", "n": 50, "d": 2}, cite=SOUDRY),
    Preset("max-margin-5d", "The same in 5-D (5 support vectors)",
           {"mode": "margin", "n": 50, "d": 5, "data_seed": 1}, cite=SOUDRY),
    Preset("saxe", "Depth 2, singular values 3, 2, 1 from init 1e-3: sigmoids, largest first",
           {"mode": "deeplinear", "depth": 2, "singular_values": (3.0, 2.0, 1.0),
            "init": 1e-3}, cite=SAXE),
    Preset("saxe-depth3", "Depth 3 from init 0.1 (the balanced mode ODE)",
           {"mode": "deeplinear", "depth": 3, "singular_values": (3.0, 2.0, 1.0), "init": 0.1},
           cite=SAXE),
    Preset("random-init", "Depth 2 from small Gaussian layers, width 8 (approximate sigmoids)",
           {"mode": "deeplinear", "init_mode": "random", "width": 8, "init": 0.01},
           cite=ARORA),
)  # fmt: skip


def _steps(config: Config) -> int:
    if config.mode == "deeplinear":
        from theoryscope.experiments.implicit.engine import deeplinear_steps

        return deeplinear_steps(config)
    return int(config.steps or 1)


def estimate(config: Config) -> Estimate:
    """Seconds per GD step and of the theory, fitted on this 2-core machine (float64 NumPy):
    diagonal ~1e-5 + 2.5e-9 n d A per step (A alphas) plus the min-L1 LP and a Newton solve
    per alpha (~1e3 n^2 d flop at the rich end); margin ~8e-6 + 3e-9 n d per step plus the SVM
    (SLSQP, ~1e-7 n d (n + d)); deeplinear ~L (4e-5 + 4e-9 h^3) per step."""
    steps = _steps(config)
    n, d = int(config.n or 0), int(config.d or 0)
    if config.mode == "diagonal":
        a = len(config.alphas)
        seconds = steps * (1e-5 + 2.5e-9 * n * d * a)
        seconds += 1e-8 * n * d * min(n, d) + a * 1e-6 * n * n * d
        memory = 8.0 * (6 * n * d + 4 * n * n + 8 * a * d + 4 * config.records * a)
        fields: tuple[str, ...] = ("n", "d", "steps", "sweep_points")
    elif config.mode == "margin":
        seconds = steps * (8e-6 + 3e-9 * n * d) + 1e-7 * n * d * (n + d)
        memory = 8.0 * (8 * n * d + 4 * d * d + 2 * config.records * d)
        fields = ("n", "d", "steps")
    else:
        h, depth = config.hidden, int(config.depth)
        seconds = steps * depth * (4e-5 + 4e-9 * h**3)
        memory = 8.0 * (8 * depth * h * h + 4 * config.records * len(config.singular_values))
        fields = ("width", "depth", "steps")
    # ~0.3 s of fixed cost: SciPy's solvers (HiGHS, SLSQP) and the first records
    return Estimate(memory_bytes=64e6 + memory, seconds=0.3 + seconds, fields=fields)


def progress(config: Config, chunk: Mapping[str, Any]) -> float | None:
    """Last recorded step over the planned steps (deeplinear's auto steps included)."""
    step = chunk.get("step")
    if step is None or len(step) == 0:
        return None
    return min(1.0, float(step[-1]) / max(1, _steps(config)))


HOOKS = Hooks(progress=progress)
CITE = f"{WOODWORTH}; {SOUDRY}; {SAXE}; {ARORA}; {LECTURES}"

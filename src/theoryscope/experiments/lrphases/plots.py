"""Figures of the learning-rate-phases experiment (matplotlib ``Figure`` only, no pyplot).

:func:`plot_run` -- two panels against step: (left) the training loss, log scale, with the lazy
prediction L_0 (1 - eta lambda_0)^(2t) dashed in catapult mode; (right) the NTK curvature
lambda_t (catapult) or the sharpness (eos) with 2 / eta as a horizontal line (and 4 / eta, the
uv model's divergence threshold, dotted in catapult mode).
:func:`plot_phase_diagram` -- final and largest loss against eta lambda_0 with the boundaries
2 and 4 marked and the measured phases shaded.
:func:`plot_relu_boundaries` -- the ReLU net's measured boundaries against width (mean +- std
over seeds, each seed a dot) beside 2, 4 and the paper's 12; final lambda eta / 2 and the alive
fraction of every probe against eta lambda_0.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from theoryscope.experiments.lrphases.theory import lazy_loss
from theoryscope.plots import save_figure as write_png
from theoryscope.protocol import Run

__all__ = ["plot_phase_diagram", "plot_relu_boundaries", "plot_run", "save_figure"]


def _positive(a: np.ndarray) -> np.ndarray:
    """Values <= 0 (exact zeros after convergence) as NaN so a log axis can show the rest."""
    out = np.asarray(a, dtype=np.float64).copy()
    out[~(out > 0)] = np.nan
    return out


def plot_run(run: Run, theory: Any = None, **_: Any) -> Figure:
    """Loss and NTK / sharpness against step with 2 / eta marked."""
    s = run.series
    mode = run.summary.get("mode", run.config.get("mode", "catapult"))
    eta = float(run.summary.get("eta", run.config.get("lr") or np.nan))
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax_loss, ax_curv = fig.subplots(1, 2)
    step = np.asarray(s.get("step", np.zeros(0)))
    loss = np.asarray(s.get("loss", np.zeros(0)))
    ax_loss.plot(step, _positive(loss), color="tab:blue", lw=1.2, label="training loss")
    if mode == "relu" and len(step):
        ax_loss.plot(step, _positive(np.asarray(s.get("top_loss", np.zeros(0)))), color="tab:green",
                     lw=1, label="loss along the top NTK mode")  # fmt: skip
        curve_t = getattr(theory, "lazy_curve_step", None) if theory is not None else None
        if curve_t:
            ax_loss.plot(curve_t, _positive(np.asarray(theory.lazy_curve_loss)), "k--", lw=1,
                         label="linearized")  # fmt: skip
    if mode == "catapult" and len(step):
        a = float(run.summary.get("eta_lambda0", np.nan))
        if np.isfinite(a) and a < 2.0:
            pred = lazy_loss(float(loss[0]), a, step)
            shown = _positive(loss)
            if np.isfinite(shown).any():  # keep the axis on the measured range
                pred = np.where(pred >= 0.1 * np.nanmin(shown), pred, np.nan)
            ax_loss.plot(step, _positive(pred), "k--", lw=1, label=r"$L_0(1-\eta\lambda_0)^{2t}$")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss")
    title = f"{mode}: eta={eta:.4g}"
    if mode in ("catapult", "relu"):
        title += f", eta*lambda0={run.summary.get('eta_lambda0', np.nan):.3g}"
    ax_loss.set_title(f"{title} ({run.status})", fontsize=10)
    ax_loss.legend(fontsize=8)

    key, label = (("ntk", r"NTK $\lambda_t$") if mode in ("catapult", "relu")
                  else ("sharpness", "sharpness"))  # fmt: skip
    curv = np.asarray(s.get(key, np.zeros(0)))
    ax_curv.plot(step, curv, color="tab:purple", lw=1.2, marker="." if mode == "eos" else None,
                 ms=2, label=label)  # fmt: skip
    if np.isfinite(eta) and eta > 0:
        ax_curv.axhline(2.0 / eta, color="k", ls="--", lw=1, label=r"$2/\eta$")
        if mode in ("catapult", "relu"):
            ax_curv.axhline(4.0 / eta, color="tab:red", ls=":", lw=1, label=r"$4/\eta$ (uv)")
        if mode == "relu":
            ax_curv.axhline(12.0 / eta, color="tab:gray", ls="-.", lw=1,
                            label=r"$12/\eta$ (paper, ReLU)")  # fmt: skip
    ax_curv.set_xlabel("step")
    ax_curv.set_ylabel(label)
    if mode == "catapult" and len(curv) and np.isfinite(curv).all() and eta > 0:
        ax_curv.set_ylim(0.0, max(float(np.max(curv)), 4.0 / eta) * 1.1)
    if mode == "relu" and len(curv) and np.isfinite(curv).all() and eta > 0:
        ax_curv.set_ylim(0.0, max(float(np.max(curv)), 12.0 / eta) * 1.1)
    ax_curv.legend(fontsize=8)
    return fig


def plot_phase_diagram(diagram: Mapping[str, Any]) -> Figure:
    """Final and max loss against eta lambda_0 (log scale), boundaries 2 and 4 dashed."""
    a = np.asarray(diagram["eta_lambda0"], dtype=np.float64)
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.subplots()
    l0 = float(diagram["initial_loss"])
    floor = 1e-14 * l0  # converged runs reach exact zeros in float32: draw them at this floor
    max_loss = np.asarray(diagram["max_loss"], dtype=np.float64)
    final = np.asarray(diagram["final_loss"], dtype=np.float64)
    ax.plot(a, _positive(np.where(np.isfinite(max_loss), max_loss, np.nan)), "o-", ms=3,
            color="tab:orange", label="max loss")  # fmt: skip
    ax.plot(a, np.where(np.isfinite(final), np.maximum(final, floor), np.nan), "s-", ms=3,
            color="tab:blue", label=r"final loss (floored at $10^{-14} L_0$)")  # fmt: skip
    div = ~np.isfinite(final)
    if div.any():
        ax.axvspan(float(a[div].min()), float(a.max()), color="tab:red", alpha=0.12,
                   label="diverged (measured)")  # fmt: skip
    right = ax.twinx()
    ratio = np.asarray(diagram["final_ntk"]) * np.asarray(diagram["eta"]) / 2.0
    right.plot(a, ratio, "^:", ms=3, color="tab:purple", label=r"final $\lambda\,\eta/2$")
    right.axhline(1.0, color="tab:purple", lw=0.8, alpha=0.5)
    right.set_ylabel(r"final $\lambda\,\eta / 2$ (< 1: converged below $2/\eta$)")
    right.set_ylim(0.0, 1.6)
    right.legend(fontsize=8, loc="lower right")
    for b in diagram.get("boundaries", (2.0, 4.0)):
        ax.axvline(float(b), color="k", ls="--", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel(r"$\eta\,\lambda_0$")
    ax.set_ylabel("loss")
    ax.set_title(
        f"uv model, width {diagram['width']}, {diagram['steps']} steps: "
        f"lazy | catapult | divergent at 2 and 4",
        fontsize=10,
    )
    ax.legend(fontsize=8)
    return fig


def plot_relu_boundaries(result: Mapping[str, Any]) -> Figure:
    """(left) measured boundaries against width, mean +- std over seeds, each seed a dot, with
    2, the uv model's 4 and the paper's 12; (middle) final lambda eta / 2 of every converged
    probe against eta lambda_0 (1: the stability edge 2 / eta); (right) the alive fraction."""
    fig = Figure(figsize=(14, 4.2), layout="constrained")
    ax_b, ax_r, ax_a = fig.subplots(1, 3)
    rows = result["per_width"]
    widths = np.array([r["width"] for r in rows], dtype=np.float64)
    for key, color, label in (("lower", "tab:blue", "lazy | catapult"),
                              ("upper", "tab:red", "catapult | divergent")):  # fmt: skip
        mean = np.array([np.nan if r[f"{key}_mean"] is None else r[f"{key}_mean"] for r in rows])
        std = np.array([np.nan if r[f"{key}_std"] is None else r[f"{key}_std"] for r in rows])
        ax_b.errorbar(widths, mean, yerr=std, color=color, marker="o", capsize=4, label=label)
        for run in result["runs"]:
            vals = [v for v in run[key] if v is not None]
            ax_b.plot([run["width"]] * len(vals), vals, ".", color=color, alpha=0.4, ms=4)
    for level, style, text in (
        (2.0, "--", "2 (linear stability)"),
        (4.0, ":", "4 (uv model)"),
        (float(result["paper_upper"]), "-.", "12 (paper, ReLU)"),
    ):
        ax_b.axhline(level, color="k", ls=style, lw=1, label=text)
    ax_b.set_xscale("log", base=2)
    top = max([float(result["paper_upper"])] + [r["upper_max"] for r in rows if r["upper_max"]])
    ax_b.set_ylim(0.0, 1.1 * top)
    ax_b.set_xlabel("width m")
    ax_b.set_ylabel(r"boundary in $\eta\,\lambda_0$")
    ax_b.set_title(f"n={result['n']}, d={result['d']}, input_mean={result['input_mean']:g}, "
                   f"{len(result['seeds'])} seeds", fontsize=10)  # fmt: skip
    ax_b.legend(fontsize=7)
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
              "tab:pink", "tab:gray"]  # fmt: skip
    for k, run in enumerate(result["runs"]):
        color = colors[k % len(colors)]
        ok = [p for p in run["probes"] if p["phase"] != "divergent" and p["final_ntk_ratio"]]
        bad = [p for p in run["probes"] if p["phase"] == "divergent"]
        ax_r.plot([p["eta_lambda0"] for p in ok], [p["final_ntk_ratio"] for p in ok], ".",
                  color=color, ms=4, label=f"m={run['width']}")  # fmt: skip
        ax_a.plot([p["eta_lambda0"] for p in ok], [p["alive"] for p in ok], ".", color=color,
                  ms=4, label=f"m={run['width']} converged")  # fmt: skip
        ax_a.plot([p["eta_lambda0"] for p in bad], [p["alive"] for p in bad], "x", color=color,
                  ms=4, alpha=0.5)  # fmt: skip
    ax_r.axhline(1.0, color="k", ls="--", lw=1, label=r"$\lambda_T = 2/\eta$")
    ax_r.set_xscale("log")
    ax_r.set_xlabel(r"$\eta\,\lambda_0$")
    ax_r.set_ylabel(r"final $\lambda\,\eta/2$ (converged probes)")
    ax_r.legend(fontsize=7)
    ax_a.set_xscale("log")
    ax_a.set_xlabel(r"$\eta\,\lambda_0$")
    ax_a.set_ylabel("fraction of units alive at the end (x: failed)")
    ax_a.legend(fontsize=7)
    return fig


#: Write a figure (format from the path's suffix) at this module's dpi; ``dpi=`` overrides it.
save_figure = partial(write_png, dpi=120)

"""Figures of the quadratic-network landscape studies (matplotlib ``Figure`` only, no pyplot).

:func:`plot_critical` -- (left) the critical values L_S against the predicted Hessian index
(circles) with the measured index (crosses); (right) the measured Hessian spectrum at each
checked set, sets ordered by loss, negative eigenvalues in red, on a symlog axis.
:func:`plot_endpoints` -- (left) histogram of GD final losses with the predicted critical values
as vertical lines (solid: sets holding local minima, dotted: saddles); (right) GD end points per
predicted set.
:func:`plot_discriminant` -- (left) critical values against the swept variance s (dark: sets
holding local minima, light: saddles), GD final losses as crosses, the discriminant crossings as
vertical lines; (right) the number of critical sets and of sets holding minima against s, and the
fraction of GD runs ending at a spurious (non-global) minimum.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

__all__ = ["plot_critical", "plot_discriminant", "plot_endpoints"]

_STABLE = "#0072B2"
_SADDLE = "#999999"
_NEG = "#D55E00"
_GD = "#E69F00"


def _span(row: Mapping[str, Any]) -> str:
    lo, hi = row["index_min"], row["index_max"]
    return str(lo) if lo == hi else f"{lo}-{hi}"


def _floor(losses: np.ndarray) -> float:
    pos = losses[losses > 0]
    return float(pos.min()) * 0.3 if pos.size else 1e-12


def plot_critical(result: Mapping[str, Any]) -> Figure:
    rows = result["rows"]
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax, spec = fig.subplots(1, 2)
    losses = np.array([r["loss"] for r in rows], dtype=float)
    floor = _floor(losses)
    for r in rows:
        y = max(r["loss"], floor)
        color = _STABLE if r["stable"] else _SADDLE
        ax.plot([r["index"]], [y], "o", mfc="none", mec=color, ms=9)
        for c in r["checks"]:
            ax.plot([c["index"]], [max(c["loss"], floor)], "x",
                    color=color if c["match"] else _NEG, ms=6)  # fmt: skip
    ax.plot([], [], "o", mfc="none", mec=_STABLE, label="predicted (holds minima)")
    ax.plot([], [], "o", mfc="none", mec=_SADDLE, label="predicted (saddle)")
    ax.plot([], [], "x", color="k", label="measured index (jax.hessian)")
    ax.set_yscale("log")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("Hessian index (negative eigenvalues)")
    ax.set_ylabel("critical value L_S")
    ax.set_title(f"{result['count']} critical sets, {result['matches']}/{result['checked']} "
                 "signatures as predicted", fontsize=10)  # fmt: skip
    ax.legend(fontsize=8)
    spectra = result.get("spectra") or []
    for n, sp in enumerate(spectra):
        e = np.asarray(sp["eigenvalues"], dtype=float)
        spec.plot(np.full(e.size, n), e, "_", color=_SADDLE, ms=10)
        neg = e[e < -1e-9 * max(1e-300, float(np.max(np.abs(e))))]
        spec.plot(np.full(neg.size, n), neg, "_", color=_NEG, ms=10, mew=2)
    spec.set_yscale("symlog", linthresh=1e-3)
    spec.set_xticks(range(len(spectra)))
    spec.set_xticklabels([sp["label"] + ("" if sp["spare_sign"] > 0 else "-")
                          for sp in spectra], rotation=90, fontsize=7)  # fmt: skip
    spec.set_ylabel("Hessian eigenvalue")
    spec.set_title("Hessian spectra (negative in red), sets by loss", fontsize=10)
    return fig


def plot_endpoints(result: Mapping[str, Any]) -> Figure:
    rows = result["rows"]
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    hist, bars = fig.subplots(1, 2)
    finals = np.array([e["loss"] for e in result["ends"] if not e["diverged"]], dtype=float)
    crit = np.array([r["loss"] for r in rows], dtype=float)
    floor = _floor(np.concatenate([crit, finals]))
    lo = max(floor, 1e-16)
    hi = max(float(np.max(crit)) if crit.size else 1.0,
             float(np.max(finals)) if finals.size else 1.0) * 2  # fmt: skip
    bins = np.geomspace(lo, hi, 80)
    if finals.size:
        hist.hist(np.clip(finals, lo, None), bins=bins, color=_GD, alpha=0.8,
                  label="GD final loss")  # fmt: skip
    for r in rows:
        hist.axvline(max(r["loss"], lo), color=_STABLE if r["stable"] else _SADDLE,
                     ls="-" if r["stable"] else ":", lw=1.2 if r["stable"] else 0.8)  # fmt: skip
    hist.plot([], [], "-", color=_STABLE, label="critical value (holds minima)")
    hist.plot([], [], ":", color=_SADDLE, label="critical value (saddle)")
    hist.set_xscale("log")
    hist.set_xlabel("population loss")
    hist.set_ylabel("runs")
    hist.legend(fontsize=8)
    hist.set_title(f"{len(result['seeds'])} inits, {result['steps']} GD steps "
                   f"(in a predicted set: {result['matched_fraction']:.2f})", fontsize=10)  # fmt: skip
    x = np.arange(len(rows))
    bars.bar(x, [r["hits"] for r in rows],
             color=[_STABLE if r["stable"] else _SADDLE for r in rows])  # fmt: skip
    bars.set_xticks(x)
    bars.set_xticklabels([f"{r['label']} [{_span(r)}]" for r in rows], rotation=90,
                         fontsize=7)  # fmt: skip
    bars.set_ylabel("GD end points")
    bars.set_title("end points per critical set [predicted index], by loss", fontsize=10)
    return fig


def plot_discriminant(result: Mapping[str, Any]) -> Figure:
    grid = result["grid"]
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax, cnt = fig.subplots(1, 2)
    allv = [v / row["teacher_norm"] for row in grid
            for v in row["stable_losses"] + row["saddle_losses"]]  # fmt: skip
    floor = _floor(np.asarray(allv, dtype=float)) if allv else 1e-12
    for row in grid:
        norm = row["teacher_norm"]
        sad = np.maximum(np.asarray(row["saddle_losses"], dtype=float) / norm, floor)
        st = np.maximum(np.asarray(row["stable_losses"], dtype=float) / norm, floor)
        ax.plot(np.full(sad.size, row["s"]), sad, ".", color=_SADDLE, ms=2)
        ax.plot(np.full(st.size, row["s"]), st, ".", color=_STABLE, ms=3)
    for row in result["gd"]:
        finals = np.asarray([v for v in row["final_losses"] if np.isfinite(v)], dtype=float)
        f = np.maximum(finals / row["teacher_norm"], floor)
        ax.plot(np.full(f.size, row["s"]), f, "x", color=_GD, ms=7)
    for axis in (ax, cnt):
        for ev in result["events"]:
            axis.axvline(ev["s"], color="k", ls="--", lw=0.8)
    ax.plot([], [], ".", color=_STABLE, label="critical value, holds minima")
    ax.plot([], [], ".", color=_SADDLE, label="critical value, saddle")
    ax.plot([], [], "x", color=_GD, label="GD final loss")
    ax.plot([], [], "--", color="k", label="discriminant crossing")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"s = Var(x_{result['coordinate']})")
    ax.set_ylabel("loss / E[f*^2]")
    ax.legend(fontsize=8)
    ax.set_title("critical values along the covariance path (relative to the zero network)",
                 fontsize=10)  # fmt: skip
    s = [row["s"] for row in grid]
    cnt.step(s, [row["n_sets"] for row in grid], where="mid", color=_SADDLE,
             label="critical sets")  # fmt: skip
    cnt.step(s, [row["n_stable"] for row in grid], where="mid", color=_STABLE,
             label="sets holding minima")  # fmt: skip
    cnt.set_xscale("log")
    cnt.set_xlabel(f"s = Var(x_{result['coordinate']})")
    cnt.set_ylabel("count")
    if result["gd"]:
        gd_s = [r["s"] for r in result["gd"]]
        cnt.plot(gd_s, [np.nan if r["mean_rank"] is None else r["mean_rank"]
                        for r in result["gd"]], "D", color=_GD,
                 label="GD: mean rank of the end point")  # fmt: skip
        right = cnt.twinx()
        right.plot(gd_s, [r["spurious_fraction"] for r in result["gd"]], "s", mfc="none",
                   color=_NEG, label="GD: fraction at a spurious minimum")  # fmt: skip
        right.set_ylim(-0.05, 1.05)
        right.set_ylabel("fraction of GD runs")
        right.legend(fontsize=8, loc="upper right")
    cnt.legend(fontsize=8, loc="upper left")
    cnt.set_title(f"r={result['width']}, outer={result['outer']}, "
                  f"{len(result['events'])} crossings", fontsize=10)  # fmt: skip
    return fig

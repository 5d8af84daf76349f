"""Figures of the fem studies (the run's figure is declared and drawn by the generic renderer).

Only :class:`matplotlib.figure.Figure` is used (no pyplot): safe under Agg, threads and servers.
Colours: the Okabe-Ito palette of :mod:`theoryscope.plots.render`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from theoryscope.plots.render import OKABE_ITO

__all__ = ["conditioning_figure", "noise_figure", "structured_figure", "table_figure"]

KIND_COLOURS = {"uniform": OKABE_ITO[0], "adaptive": OKABE_ITO[1], "random": OKABE_ITO[2]}


def conditioning_figure(result: Mapping[str, Any]) -> Figure:
    """cond(G) against n for both bases (log-log) with the talk's laws; cond(M) in its bounds."""
    rows = result.get("rows", [])
    fig = Figure(figsize=(11.0, 4.4), layout="constrained")
    ax, bx = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for kind, colour in KIND_COLOURS.items():
        sel = [r for r in rows if r["kind"] == kind]
        if not sel:
            continue
        n = np.array([r["n"] for r in sel], dtype=float)
        ax.loglog(n, [r["relu"] for r in sel], "o-", color=colour, label=f"ReLU, {kind}")
        if kind == "random":
            ax.fill_between(n, [r["relu_min"] for r in sel], [r["relu_max"] for r in sel],
                            color=colour, alpha=0.2)  # fmt: skip
        ax.loglog(n, [r["fe"] for r in sel], "s--", color=colour, label=f"FE, {kind}")
        bx.semilogx(n, [r["fe_over_h_ratio_max"] for r in sel], "s-", color=colour,
                    label=f"{kind}: max cond(M) / (h_max/h_min)")  # fmt: skip
    if rows:
        n = np.array(sorted({r["n"] for r in rows}), dtype=float)
        uni = [r for r in rows if r["kind"] == "uniform"]
        if uni:
            c = uni[-1]["relu"] / uni[-1]["n"] ** 4
            ax.loglog(n, c * n**4, ":", color="gray", label=r"$C n^4$ (grid)")
        ax.loglog(n, n**3 / np.log(n), "-.", color="black", lw=1,
                  label=r"$n^3/\log n$ (talk: lower bound, random)")  # fmt: skip
    ax.set_xlabel("n (nodes = basis functions)")
    ax.set_ylabel("condition number of the Gram matrix")
    ax.set_title("ReLU features against P1 hats on the same nodes", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    bx.axhline(6.0, color="gray", ls=":", label="6 (the bound 6 h_max/h_min)")
    bx.set_xlabel("n")
    bx.set_ylabel("cond(M) / (h_max / h_min)")
    bx.set_title("FE mass matrix: cond = O(h_max / h_min)", fontsize=10)
    bx.grid(True, alpha=0.3)
    bx.legend(fontsize=7)
    return fig


def table_figure(result: Mapping[str, Any]) -> Figure:
    """MAX and MSE of every fit (ours filled, the talk's open), row by row."""
    rows = result.get("rows", [])
    fig = Figure(figsize=(11.0, 4.8), layout="constrained")
    for k, key in enumerate(("max", "mse")):
        ax = fig.add_subplot(1, 2, k + 1)
        idx = np.arange(len(rows))
        for i, r in enumerate(rows):
            colour = OKABE_ITO[0] if r["basis"] == "relu" else OKABE_ITO[1]
            marker = "o" if r["dtype"] == "float32" else "s"
            ax.semilogy(i, r[key], marker, color=colour, ms=6)
            if r.get(f"talk_{key}") is not None:
                ax.semilogy(i, r[f"talk_{key}"], marker, color=colour, mfc="none", ms=11)
        ax.set_xticks(idx, [r["label"] for r in rows], rotation=90, fontsize=6)
        ax.set_ylabel(key.upper())
        ax.set_title(f"{key.upper()}: ours (filled) and the talk's Table 1 (open)", fontsize=9)
        ax.grid(True, axis="y", alpha=0.3)
    fig.suptitle(f"Least squares of {result.get('target')} (solver {result.get('solver')}): "
                 "NN = ReLU basis (blue), FEM = hat basis (orange); o float32, s float64",
                 fontsize=9)  # fmt: skip
    return fig


def noise_figure(result: Mapping[str, Any]) -> Figure:
    """MSE against the noise level, and the noisiest fits of every n (float32)."""
    rows = result.get("rows", [])
    fig = Figure(figsize=(11.0, 4.4), layout="constrained")
    ax, bx = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    groups = sorted({(r["n"], r["basis"], r["dtype"]) for r in rows})
    for g, (n, basis, dtype) in enumerate(groups):
        sel = [r for r in rows if (r["n"], r["basis"], r["dtype"]) == (n, basis, dtype)]
        sig = [max(r["sigma"], 1e-6) for r in sel]
        style = "-" if dtype == "float32" else "--"
        marker = "o" if basis == "relu" else "s"
        ax.loglog(sig, [r["mse"] for r in sel], marker + style, color=OKABE_ITO[g % 8],
                  label=f"{'NN' if basis == 'relu' else 'FEM'} n={n} {dtype}")  # fmt: skip
    ax.set_xlabel("noise sigma (0 drawn at 1e-6)")
    ax.set_ylabel("MSE against the clean target")
    ax.set_title(f"{result.get('samples')} noisy samples, pseudo-inverse", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    x = np.asarray(result.get("plot_x", []))
    if len(x):
        bx.plot(x, result.get("f", []), color="black", lw=1, label="target")
    curves = sorted(result.get("curves", []), key=lambda c: c["basis"] == "relu")  # FE below
    for g, c in enumerate(curves):
        relu = c["basis"] == "relu"
        bx.plot(x, c["h"], color=OKABE_ITO[(g + 1) % 8], lw=1.4 if relu else 0.7,
                alpha=1.0 if relu else 0.6, zorder=3 if relu else 2,
                label=f"{'NN' if relu else 'FEM'} n={c['n']} sigma={c['sigma']:g}")  # fmt: skip
    bx.set_ylim(-2.5, 2.5)
    bx.set_xlabel("x")
    bx.set_title("fits (float32) at the largest noise", fontsize=10)
    bx.grid(True, alpha=0.3)
    bx.legend(fontsize=7)
    return fig


def structured_figure(result: Mapping[str, Any]) -> Figure:
    """Per target: training loss of the structured and the shallow network (same dof, same
    Adam budget), with the test MSE of both and of their frozen-feature least squares."""
    targets = result.get("targets", [])
    fig = Figure(figsize=(4.0 * max(1, len(targets)), 4.2), layout="constrained")
    for k, r in enumerate(targets):
        ax = fig.add_subplot(1, max(1, len(targets)), k + 1)
        for net, colour in (("structured", OKABE_ITO[0]), ("shallow", OKABE_ITO[1])):
            step = np.asarray(r[f"{net}_step"], dtype=float)
            ax.loglog(
                step[step > 0],
                np.asarray(r[f"{net}_loss"])[step > 0],
                "-",
                color=colour,
                label=f"{net} (dof {r[f'dof_{net}']}): test MSE {r[f'{net}_mse']:.1e}",
            )
            ax.axhline(
                0.5 * r[f"{net}_ls_mse"],
                color=colour,
                ls="--",
                lw=1,
                label=f"{net}, frozen + LS: MSE/2 {0.5 * r[f'{net}_ls_mse']:.1e}",
            )
        ax.set_xlabel("Adam step")
        ax.set_ylabel("training loss 1/2 mean (h - f)^2")
        ax.set_title(f"{r['label']}: {r['pieces']} pieces x {r['units']} units", fontsize=9)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7)
    return fig

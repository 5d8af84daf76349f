"""Figures of the studies (matplotlib ``Figure`` objects, never pyplot): the spectrum at a
checkpoint with its outliers marked, and the outlier counts against C."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from theoryscope.plots.render import OKABE_ITO


def plot_spectrum(result: Mapping[str, Any]) -> Any:
    """Histogram of H (dense) or its SLQ density, G against E, and the top eigenvalues of H laid
    against the spectra of G_class and G_cross with the bulk edge."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(14, 4), layout="constrained")
    ax_h, ax_ge, ax_top = fig.subplots(1, 3)
    hier = result.get("hierarchy") or {}
    eig = result.get("eigenvalues")
    if eig:
        h = np.asarray(eig["H"])
        bins = np.linspace(h.min(), h.max(), 80)
        ax_h.hist(h, bins=bins, color=OKABE_ITO[0], log=True, label=f"H (P = {len(h)})")
        ax_h.set_ylabel("count")
        g, e = np.asarray(eig["G"]), np.asarray(eig["E"])
        lo, hi = min(g.min(), e.min()), max(g.max(), e.max())
        edges = np.linspace(lo, hi, 80)
        ax_ge.hist(g, bins=edges, color=OKABE_ITO[1], alpha=0.6, log=True, label="G")
        ax_ge.hist(e, bins=edges, color=OKABE_ITO[2], alpha=0.6, log=True, label="E")
        ax_ge.set_ylabel("count")
    elif result.get("density"):
        dens = result["density"]
        ax_h.semilogy(dens["grid"], np.maximum(dens["density"], 1e-12), color=OKABE_ITO[0],
                      label="H (SLQ)")  # fmt: skip
        ax_h.set_ylabel("density")
        if result.get("density_g"):
            dg = result["density_g"]
            ax_ge.semilogy(dg["grid"], np.maximum(dg["density"], 1e-12), color=OKABE_ITO[1],
                           label="G (SLQ)")  # fmt: skip
        ax_ge.set_ylabel("density")
    for value in hier.get("class_eigs") or []:
        ax_h.axvline(value, color=OKABE_ITO[1], ls="--", lw=0.8)
    if hier.get("bulk_edge") is not None:
        ax_h.axvline(hier["bulk_edge"], color="0.3", ls=":", lw=1.0)
    ax_h.plot([], [], color=OKABE_ITO[1], ls="--", label="eig G_class")
    ax_h.plot([], [], color="0.3", ls=":", label="bulk edge")
    ax_h.set_title("Hessian spectrum: bulk and outliers", fontsize=10)
    ax_h.set_xlabel("eigenvalue")
    ax_h.legend(fontsize=7)
    ax_ge.set_title("Gauss-Newton G and residual E", fontsize=10)
    ax_ge.set_xlabel("eigenvalue")
    ax_ge.legend(fontsize=7)
    top = np.asarray(hier.get("h_top") or [])
    if top.size:
        idx = np.arange(1, len(top) + 1)
        ax_top.semilogy(idx, np.maximum(top, 1e-16), "o", ms=3, color=OKABE_ITO[0],
                        label="H top (Lanczos)")  # fmt: skip
        floor = 1e-12 * float(np.max(np.abs(top)))  # the Gram's exact zeros are not drawn
        ce = np.asarray(hier.get("class_eigs") or [])
        xe = np.asarray(hier.get("cross_eigs") or [])
        ce, xe = ce[ce > floor], xe[xe > floor]
        if ce.size:
            ax_top.semilogy(np.arange(1, len(ce) + 1), ce, "--", color=OKABE_ITO[1],
                            label="eig G_class")  # fmt: skip
        if xe.size:
            ax_top.semilogy(np.arange(len(ce) + 1, len(ce) + len(xe) + 1), xe, "--",
                            color=OKABE_ITO[3], label="eig G_cross")  # fmt: skip
        if hier.get("bulk_edge") is not None:
            ax_top.axhline(hier["bulk_edge"], color="0.3", ls=":", lw=1.0, label="bulk edge")
    ax_top.set_title(f"three levels: {hier.get('n_class')} class, {hier.get('n_cross')} "
                     "cross-class outliers", fontsize=10)  # fmt: skip
    ax_top.set_xlabel("index")
    ax_top.set_ylabel("eigenvalue")
    ax_top.legend(fontsize=7)
    fig.suptitle(f"Loss Hessian at step {result.get('params', {}).get('steps')} "
                 f"(C = {result.get('C')}, P = {result.get('P')})", fontsize=11)  # fmt: skip
    return fig


def plot_classes(result: Mapping[str, Any]) -> Any:
    """Measured outlier counts against C with C, C(C-2) and C(C-1) dashed."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4), layout="constrained")
    ax_n, ax_e = fig.subplots(1, 2)
    rows = result.get("rows") or []
    cs = np.asarray([r["classes"] for r in rows], dtype=float)
    if len(cs):
        grid = np.linspace(cs.min(), cs.max(), 50)
        ax_n.plot(
            cs, [r["n_class"] for r in rows], "o-", color=OKABE_ITO[0], label="class outliers"
        )
        ax_n.plot(cs, [r["n_cross"] for r in rows], "s-", color=OKABE_ITO[1],
                  label="cross-class outliers")  # fmt: skip
        ax_n.plot(grid, grid, "--", color=OKABE_ITO[0], label="C")
        ax_n.plot(grid, grid * (grid - 2), "--", color=OKABE_ITO[1], label="C(C-2) = rank G_cross")
        ax_n.plot(grid, grid * (grid - 1), ":", color=OKABE_ITO[2], label="C(C-1) (Papyan)")
        for i, r in enumerate(rows):
            top = np.asarray(r["h_top"])
            ax_e.semilogy(np.arange(1, len(top) + 1), np.maximum(top, 1e-16), ".-", ms=3,
                          color=OKABE_ITO[i % len(OKABE_ITO)], label=f"C = {r['classes']}")  # fmt: skip
    ax_n.set_xlabel("classes C")
    ax_n.set_ylabel("outliers")
    ax_n.set_title("outliers above the bulk", fontsize=10)
    ax_n.legend(fontsize=7)
    ax_e.set_xlabel("index")
    ax_e.set_ylabel("Hessian eigenvalue (Lanczos)")
    ax_e.set_title("top of the spectrum", fontsize=10)
    ax_e.legend(fontsize=7)
    return fig

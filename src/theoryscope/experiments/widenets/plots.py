"""Matplotlib figures for the wide-networks studies (PNG via :func:`save`). Agg backend only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def save(fig: Figure, out_dir: str | Path, name: str) -> Path:
    """Write ``fig`` to ``out_dir/name.png`` and close it; returns the path (written by the
    shared safe writer: errors name ``--out``; nothing but a regular file is replaced)."""
    from theoryscope.plots import save_figure

    try:
        return save_figure(fig, Path(out_dir) / f"{name}.png", dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)


def propagation(layers: Sequence[Mapping[str, float]], title: str = "") -> Figure:
    """Variance q^(l) and correlation rho^(l) against depth (spec 2, 3)."""
    l = [r["l"] for r in layers]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.5))
    a1.plot(l, [r["q"] for r in layers], "o-")
    a1.set(xlabel="layer l", ylabel="q = K(x, x)", title="variance")
    a2.plot(l, [r["rho"] for r in layers], "o-", color="C1")
    a2.set(xlabel="layer l", ylabel="rho", title="correlation", ylim=(-1.05, 1.05))
    fig.suptitle(title)
    return fig


def phase(
    diagram: Mapping[str, Any],
    curve: Mapping[str, Any] | None,
    critical: Mapping[str, Any] | None,
    title: str = "",
) -> Figure:
    """Order/chaos phase diagram: log chi_perp over (C_w, C_b), the chi_perp = 1 curve (spec 3)."""
    fig, ax = plt.subplots(figsize=(6, 4.5))
    cw, cb = np.asarray(diagram["cw"]), np.asarray(diagram["cb"])
    chi = np.asarray(diagram["chi_perp"], float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log(chi).T
    lim = np.nanmax(np.abs(z[np.isfinite(z)])) if np.isfinite(z).any() else 1.0
    mesh = ax.pcolormesh(cw, cb, z, cmap="RdBu_r", vmin=-lim, vmax=lim, shading="auto")
    fig.colorbar(mesh, ax=ax, label="log chi_perp  (<0 ordered, >0 chaotic)")
    if np.isfinite(z).any() and np.nanmin(z) < 0 < np.nanmax(z):
        ax.contour(cw, cb, z, levels=[0.0], colors="k", linewidths=1.5)
    if curve is not None and len(curve.get("cw", [])):
        ax.plot(curve["cw"], curve["cb"], "--", color="gold", label="chi_perp = 1 (parametric)")
    if critical is not None:
        ax.plot([critical["cw"]], [critical["cb"]], "*", color="k", ms=12, label="critical point")
    ax.set(
        xlabel="C_w",
        ylabel="C_b",
        xlim=(cw[0], cw[-1]),
        ylim=(cb[0], cb[-1]),
        title=title or "order / chaos",
    )
    ax.legend(loc="upper left", fontsize=8)
    return fig


def convergence(result: Mapping[str, Any], title: str = "") -> Figure:
    """Finite-width deviation of NTK and NNGP from the infinite-width kernels (log-log)."""
    rows = result["rows"]
    w = np.asarray([r["width"] for r in rows], float)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for key, label, slope in (
        ("ntk_dev", "NTK", result["slope_ntk"]),
        ("nngp_dev", "NNGP (feature kernel)", result["slope_nngp"]),
    ):
        y = np.asarray([r[key] for r in rows])
        se = np.asarray([r[key + "_se"] for r in rows])
        ax.errorbar(w, y, yerr=2 * se, fmt="o-", label=f"{label}: slope {slope:.2f}")
    ref = w**-0.5 * (rows[0]["ntk_dev"] * w[0] ** 0.5)
    ax.plot(w, ref, "k:", label="width^-1/2")
    ax.set(xscale="log", yscale="log", xlabel="width", ylabel="relative deviation", title=title)
    ax.legend(fontsize=8)
    return fig


def jacobian_growth(rows: Sequence[Mapping[str, float]]) -> Figure:
    """n_0^2 E[(dz/dx)^4] / 12 against sum 1/n_l: exact product, exp(5 beta), Monte Carlo."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    beta = np.asarray([r["beta"] for r in rows])
    for i, n in enumerate(sorted({r["width"] for r in rows})):
        sel = sorted((r for r in rows if r["width"] == n), key=lambda r: r["beta"])
        b = [r["beta"] for r in sel]
        ax.plot(
            b,
            [r["exact"] for r in sel],
            "-",
            color="C0",
            label=None if i else "exact prod(1 + 5/n_l)",
        )
        ax.plot(
            b,
            [r["exp_approx"] for r in sel],
            "--",
            color="C1",
            label=None if i else "exp(5 sum 1/n_l)",
        )
    ax.errorbar(
        beta,
        [r["mc"] for r in rows],
        yerr=[2 * r["mc_se"] for r in rows],
        fmt="o",
        label="Monte Carlo (+-2 se)",
    )
    ax.set(
        yscale="log",
        xlabel="sum_l 1/n_l",
        ylabel="n_0^2 E[(dz/dx_p)^4] / 12",
        title="ReLU Jacobian, 4th moment",
    )
    ax.legend(fontsize=8)
    return fig


def lazy(report: Mapping[str, Any]) -> Figure:
    """Residual over its eigen-prediction and the Du et al. bound; weight movement; kernel drift."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    k = np.asarray(report["steps"])
    a1.semilogy(k, report["residual"], label="GD residual |u - y|")
    a1.semilogy(k, report["predicted"], "--", label="eigen-prediction of H(0)")
    a1.semilogy(k, report["bound"], ":", label="(1 - eta lambda_0 / 2)^(k/2) |r0|")
    a1.set(xlabel="step k", title=f"lambda_0 = {report['lambda_0']:.3g}, eta = {report['lr']:.3g}")
    a1.legend(fontsize=8)
    a2.plot(k, report["weight_movement"], label="max_r |w_r(k) - w_r(0)|")
    a2.plot(k, report["kernel_drift"], label="|H(k) - H(0)|_F")
    a2.set(xlabel="step k", title="movement")
    a2.legend(fontsize=8)
    return fig


def width_scaling(result: Mapping[str, Any]) -> Figure:
    rows = result["rows"]
    w = np.asarray([r["width"] for r in rows], float)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.loglog(
        w,
        [r["max_weight_move"] for r in rows],
        "o-",
        label=f"max weight move, slope {result['slope_weight_move']:.2f}",
    )
    ax.loglog(
        w,
        [r["max_kernel_drift"] for r in rows],
        "s-",
        label=f"max |H(t) - H(0)|, slope {result['slope_kernel_drift']:.2f}",
    )
    ax.loglog(w, rows[0]["max_weight_move"] * (w / w[0]) ** -0.5, "k:", label="m^-1/2")
    ax.set(xlabel="width m", title="lazy training: movement vs width")
    ax.legend(fontsize=8)
    return fig


def lazy_rich(result: Mapping[str, Any]) -> Figure:
    rows = result["rows"]
    al = [r["alpha"] for r in rows]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.loglog(al, [r["rel_kernel_drift"] for r in rows], "o-", label="|H(T) - H(0)| / |H(0)|")
    ax.loglog(al, [r["rel_weight_move"] for r in rows], "s-", label="|W(T) - W(0)| / |W(0)|")
    ax.set(xlabel="output scale alpha", title="lazy (large alpha) to rich (small alpha)")
    ax.legend(fontsize=8)
    return fig


def lr_boundary(result: Mapping[str, Any]) -> Figure:
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for i, run in enumerate(result["runs"]):
        ax.semilogy(
            run["steps"],
            run["residual"],
            color=f"C{i}",
            label=f"network, eta = {run['factor']:.2g} x 2/lambda_max",
        )
        ax.semilogy(run["steps"], run["linearized"], "--", color=f"C{i}", label="linearized model")
    ax.set(xlabel="step k", ylabel="|u - y|", title="eta < 2 / lambda_max boundary (spec 7)")
    ax.legend(fontsize=7)
    return fig


def protocol_plot(
    run: Any,
    theory: Any,
    agreement: Mapping[str, Any] | None = None,
    path: str | Path | None = None,
) -> Figure:
    """The protocol's ``plot`` for the lazy-training run."""
    from theoryscope.experiments.widenets.lazy import lazy_report

    fig = lazy(lazy_report(run, theory, agreement or {}))
    if path is not None:
        fig.savefig(path, dpi=120, bbox_inches="tight")
    return fig

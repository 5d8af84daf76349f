"""Matplotlib figures of the wide-networks studies; each takes the study's JSON result.

Only :class:`matplotlib.figure.Figure` is used (no pyplot): safe under Agg, threads and servers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure


def _figure(width: float, height: float, panels: int = 1) -> tuple[Figure, list[Any]]:
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]
    return fig, list(axes)


def save(fig: Figure, out_dir: str | Path, name: str) -> Path:
    """Write ``fig`` to ``out_dir/name.png``; returns the path (written by the shared safe
    writer: errors name ``--out``; nothing but a regular file is replaced)."""
    from theoryscope.plots import save_figure

    return save_figure(fig, Path(out_dir) / f"{name}.png", dpi=120, bbox_inches="tight")


def propagation(layers: Sequence[Mapping[str, float]], title: str = "") -> Figure:
    """Variance q^(l) and correlation rho^(l) against depth (spec 2, 3)."""
    l = [r["l"] for r in layers]
    fig, (a1, a2) = _figure(9, 3.5, 2)
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
    fig, (ax,) = _figure(6, 4.5)
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
    """Finite-width deviation of NTK and NNGP from the infinite-width kernels (log-log),
    beside the width^-1/2 law (spec 4)."""
    rows = result["rows"]
    w = np.asarray([r["width"] for r in rows], float)
    fig, (ax,) = _figure(5.5, 4)
    for key, label, slope in (
        ("ntk_dev", "NTK", result["slope_ntk"]),
        ("nngp_dev", "NNGP (feature kernel)", result["slope_nngp"]),
    ):
        y = _floats([r[key] for r in rows])
        se = _floats([r[key + "_se"] for r in rows])
        ax.errorbar(w, y, yerr=2 * se, fmt="o-", label=f"{label}: slope {_slope_text(slope)}")
    if rows:
        ax.plot(w, w**-0.5 * (rows[0]["ntk_dev"] * w[0] ** 0.5), "k:", label="width^-1/2")
        ax.legend(fontsize=8)
    ax.set(xscale="log", yscale="log", xlabel="width", ylabel="relative deviation", title=title)
    return fig


def jacobian_growth(rows: Sequence[Mapping[str, float]]) -> Figure:
    """n_0^2 E[(dz/dx)^4] / 12 against sum 1/n_l: exact product, exp(5 beta), Monte Carlo."""
    fig, (ax,) = _figure(5.5, 4)
    _growth_on(ax, rows)
    return fig


def kernel_maps(result: Mapping[str, Any]) -> Figure:
    """The NNGP K^(L) and NTK Theta^(L) matrices of the inputs (spec 2, 4) as heat maps."""
    fig, axes = _figure(9, 4, 2)
    for ax, key, name in zip(axes, ("nngp", "ntk"), ("NNGP K^(L)", "NTK Theta^(L)"), strict=True):
        mat = np.asarray(result[key], dtype=float)
        im = ax.imshow(mat, cmap="viridis")
        ax.set(title=f"{name}, {result.get('activation', '')}, L={result.get('depth', '')}",
               xlabel="input j", ylabel="input i")  # fmt: skip
        fig.colorbar(im, ax=ax)
    return fig


def jacobian(result: Mapping[str, Any]) -> Figure:
    """Monte Carlo moments of dz/dx_p over their exact values (+-2 se), and the 4th-moment
    growth against sum 1/n_l when it was computed (spec 5)."""
    growth = result.get("growth") or []
    fig, axes = _figure(10 if growth else 5.5, 4, 2 if growth else 1)
    ax = axes[0]
    theory, mc = result["theory"], result["mc"]
    names, ratios, errs = [], [], []
    for key, se in (("m2", "se2"), ("m4", "se4")):
        names.append(f"E[(dz/dx)^{key[1]}]")
        ratios.append(mc[key] / theory[key])
        errs.append(2 * mc[se] / theory[key])
    nd = result.get("ntk_diag")
    if nd:
        names.append("E[Theta(x,x)]")
        ratios.append(nd["mc"] / nd["theory"])
        errs.append(2 * nd["se"] / nd["theory"])
    ax.errorbar(range(len(names)), ratios, yerr=errs, fmt="o", capsize=4, label="Monte Carlo")
    ax.axhline(1.0, color="k", ls="--", lw=1, label="exact")
    ax.set_xticks(range(len(names)), names)
    widths = ",".join(str(w) for w in result.get("widths", []))
    ax.set(ylabel="Monte Carlo / theory (+-2 se)", title=f"widths {widths}")
    ax.legend(fontsize=8)
    if growth:
        _growth_on(axes[1], growth)
    return fig


def _growth_on(ax: Any, rows: Sequence[Mapping[str, float]]) -> None:
    beta = np.asarray([r["beta"] for r in rows])
    for i, n in enumerate(sorted({r["width"] for r in rows})):
        sel = sorted((r for r in rows if r["width"] == n), key=lambda r: r["beta"])
        b = [r["beta"] for r in sel]
        ax.plot(b, [r["exact"] for r in sel], "-", color="C0",
                label=None if i else "exact prod(1 + 5/n_l)")  # fmt: skip
        ax.plot(b, [r["exp_approx"] for r in sel], "--", color="C1",
                label=None if i else "exp(5 sum 1/n_l)")  # fmt: skip
    ax.errorbar(beta, [r["mc"] for r in rows], yerr=[2 * r["mc_se"] for r in rows], fmt="o",
                label="Monte Carlo (+-2 se)")  # fmt: skip
    ax.set(yscale="log", xlabel="sum_l 1/n_l", ylabel="n_0^2 E[(dz/dx_p)^4] / 12",
           title="ReLU Jacobian, 4th moment")  # fmt: skip
    ax.legend(fontsize=8)


def lazy(report: Mapping[str, Any]) -> Figure:
    """Residual over its eigen-prediction and the Du et al. bound; weight movement; kernel drift."""
    fig, (a1, a2) = _figure(10, 3.8, 2)
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


def _slope_text(value: Any) -> str:
    return "n/a" if value is None or not np.isfinite(float(value)) else f"{float(value):.2f}"


def _floats(values: Any) -> np.ndarray:
    """A JSON list as floats (null, i.e. an overflow, as NaN: not drawn)."""
    return np.asarray(values, dtype=float)


def width_scaling(result: Mapping[str, Any]) -> Figure:
    """Max weight movement and kernel drift against m (log-log) beside m^-1/2 (spec 6)."""
    rows = result["rows"]
    w = np.asarray([r["width"] for r in rows], float)
    fig, (ax,) = _figure(5.5, 4)
    if rows:
        ax.loglog(
            w,
            _floats([r["max_weight_move"] for r in rows]),
            "o-",
            label=f"max weight move, slope {_slope_text(result['slope_weight_move'])}",
        )
        ax.loglog(
            w,
            _floats([r["max_kernel_drift"] for r in rows]),
            "s-",
            label=f"max |H(k) - H(0)|, slope {_slope_text(result['slope_kernel_drift'])}",
        )
        ax.loglog(w, rows[0]["max_weight_move"] * (w / w[0]) ** -0.5, "k:", label="m^-1/2")
        ax.legend(fontsize=8)
    ax.set(xlabel="width m", title="lazy training: movement vs width")
    return fig


def lazy_rich(result: Mapping[str, Any]) -> Figure:
    """Relative kernel drift and weight movement against the output scale alpha (log-log)."""
    rows = result["rows"]
    al = [r["alpha"] for r in rows]
    fig, (ax,) = _figure(5.5, 4)
    if rows:
        ax.loglog(
            al, _floats([r["rel_kernel_drift"] for r in rows]), "o-", label="|H(T) - H(0)| / |H(0)|"
        )
        ax.loglog(
            al, _floats([r["rel_weight_move"] for r in rows]), "s-", label="|W(T) - W(0)| / |W(0)|"
        )
        ax.legend(fontsize=8)
    ax.set(xlabel="output scale alpha", title="lazy (large alpha) to rich (small alpha)")
    return fig


def lr_boundary(result: Mapping[str, Any]) -> Figure:
    """Residual of the network (solid) and of its linearization (dashed) at each step size."""
    fig, (ax,) = _figure(5.5, 4)
    for i, run in enumerate(result["runs"]):
        ax.semilogy(
            run["steps"],
            _floats(run["residual"]),
            color=f"C{i}",
            label=f"network, eta = {run['factor']:.2g} x 2/lambda_max",
        )
        ax.semilogy(
            run["steps"], _floats(run["linearized"]), "--", color=f"C{i}", label="linearized model"
        )
    ax.set(xlabel="step k", ylabel="|u - y|", title="eta < 2 / lambda_max boundary (spec 7)")
    if result["runs"]:
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

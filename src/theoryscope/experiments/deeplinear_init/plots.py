"""Matplotlib figures of the deep-linear studies, each from the study's JSON result (only
:class:`matplotlib.figure.Figure`, never pyplot). Simulation solid or as points, theory dashed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
             "#000000")  # fmt: skip


def _figure(width: float, height: float, panels: int) -> tuple[Figure, list[Any]]:
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, list(fig.subplots(1, panels, squeeze=False)[0])


def _color(i: int) -> str:
    return OKABE_ITO[i % len(OKABE_ITO)]


def norm_law(result: Mapping[str, Any]) -> Figure:
    rows = result["rows"]
    n = np.asarray([r["width"] for r in rows], float)
    fig, (a1, a2, a3) = _figure(13, 3.8, 3)
    a1.loglog(n, [r["ks_lognormal"] for r in rows], "o-", color=_color(0),
              label="sup |F_exact - F_lognormal|")  # fmt: skip
    a1.loglog(n, [abs(r["var_ratio"] - 1) for r in rows], "s-", color=_color(1),
              label="|Var_exact / (2 sum 1/n) - 1|")  # fmt: skip
    a1.loglog(n, [abs(r["mean_ratio"] - 1) for r in rows], "^-", color=_color(2),
              label="|E_exact / (-sum 1/n) - 1|")  # fmt: skip
    if len(n):
        a1.loglog(n, rows[0]["ks_lognormal"] * n[0] / n, "--", color="grey", label="1/n")
    a1.set(xlabel="width n (L = tau n)", ylabel="distance to the log-normal limit",
           title=f"exact law -> log-normal at tau = {result['tau']}")  # fmt: skip
    a1.legend(fontsize=7)
    a2.semilogx(n, [r["mc_var"] for r in rows], "o", color=_color(0), label="Monte Carlo")
    a2.semilogx(n, [r["var"] for r in rows], "--", color=_color(0), label="sum psi'(n/2)")
    a2.semilogx(n, [r["limit_var"] for r in rows], ":", color="grey", label="2 sum 1/n")
    a2.semilogx(n, [r["mc_mean"] for r in rows], "s", color=_color(1), label="MC mean")
    a2.semilogx(n, [r["mean"] for r in rows], "--", color=_color(1), label="sum psi + log 2/n")
    a2.set(xlabel="width n", ylabel="log ||theta||^2", title="mean and variance")
    a2.legend(fontsize=7)
    a3.semilogx(n, [r["skewness"] for r in rows], "o-", color=_color(4))
    a3.set(xlabel="width n", ylabel="skewness of log ||theta||^2",
           title="sum psi''(n/2) / Var^1.5 -> 0")  # fmt: skip
    return fig


def collapse(result: Mapping[str, Any]) -> Figure:
    rows = result["rows"]
    widths = sorted({r["width"] for r in rows})
    depths = sorted({r["depth"] for r in rows})
    fig, (a1, a2, a3, a4) = _figure(17, 3.8, 4)
    for j, n in enumerate(widths):
        sub = sorted((r for r in rows if r["width"] == n), key=lambda r: r["depth"])
        a4.semilogx([r["tau_eff"] for r in sub], [r["mc_median_norm"] for r in sub], "o",
                    color=_color(j), label=f"n = {n}")  # fmt: skip
        a4.semilogx([r["tau_eff"] for r in sub], [r["median_norm"] for r in sub], "--",
                    color=_color(j), lw=0.8)  # fmt: skip
        a1.loglog([r["depth"] for r in sub], [r["mc_var"] for r in sub], "o", color=_color(j),
                  label=f"n = {n}")  # fmt: skip
        a1.loglog([r["depth"] for r in sub], [r["var"] for r in sub], "--", color=_color(j),
                  lw=0.8)  # fmt: skip
        a3.loglog([r["tau_eff"] for r in sub], [r["mc_var"] for r in sub], "o", color=_color(j),
                  label=f"n = {n}")  # fmt: skip
        a3.loglog([r["tau_eff"] for r in sub], [r["var"] for r in sub], "--", color=_color(j),
                  lw=0.8)  # fmt: skip
    for j, d in enumerate(depths):
        sub = sorted((r for r in rows if r["depth"] == d), key=lambda r: r["width"])
        a2.loglog([r["width"] for r in sub], [r["mc_var"] for r in sub], "o", color=_color(j),
                  label=f"L = {d}")  # fmt: skip
        a2.loglog([r["width"] for r in sub], [r["var"] for r in sub], "--", color=_color(j),
                  lw=0.8)  # fmt: skip
    taus = np.geomspace(min(r["tau_eff"] for r in rows), max(r["tau_eff"] for r in rows), 50)
    a3.loglog(taus, 2 * taus, ":", color="black", label="2 (L+1)/n")
    a1.set(xlabel="depth L", ylabel="Var log ||theta||^2", title="against L: one curve per n")
    a2.set(xlabel="width n", ylabel="Var log ||theta||^2", title="against n: one curve per L")
    a3.set(xlabel="(L+1)/n = sum_l 1/n_l", ylabel="Var log ||theta||^2",
           title="against L/n: one curve (dashed: exact)")  # fmt: skip
    a4.semilogx(taus, np.exp(-taus / 2), ":", color="black", label="exp(-(L+1)/2n)")
    a4.set(xlabel="(L+1)/n", ylabel="median ||theta||",
           title="typical ||theta||: 1 as n -> inf, 0 as L -> inf")  # fmt: skip
    from matplotlib.ticker import NullFormatter

    for ax in (a1, a2, a3, a4):
        ax.legend(fontsize=6)
        ax.xaxis.set_minor_formatter(NullFormatter())
    return fig


def marchenko_pastur(result: Mapping[str, Any]) -> Figure:
    rows = result["rows"]
    fig, axes = _figure(3.2 * max(1, len(rows)), 3.4, max(1, len(rows)))
    for ax, r in zip(axes, rows, strict=False):
        h = r["hist"]
        width = h["centers"][1] - h["centers"][0] if len(h["centers"]) > 1 else 1.0
        ax.bar(h["centers"], h["density"], width=width, color=_color(1), alpha=0.6,
               label="eigenvalues")  # fmt: skip
        ax.plot(r["curve_x"], r["curve"], "--", color="black", label="MP")
        for edge in (r["edge_low"], r["edge_high"]):
            ax.axvline(edge, color="grey", ls=":", lw=0.8)
        title = f"alpha = {r['alpha']}"
        if r["atom"] > 0:
            title += f"\natom {r['mc_atom']:.3f} (1 - 1/alpha = {r['atom']:.3f})"
        ax.set(title=title, xlabel="eigenvalue of X X^T / n_0")
    axes[0].legend(fontsize=7)
    return fig


def fuss_catalan(result: Mapping[str, Any]) -> Figure:
    rows = result["rows"]
    fig, axes = _figure(3.4 * max(1, len(rows)), 3.4, max(1, len(rows)))
    for ax, r in zip(axes, rows, strict=False):
        h = r["hist"]
        width = h["centers"][1] - h["centers"][0] if len(h["centers"]) > 1 else 1.0
        ax.bar(h["centers"], h["density"], width=width, color=_color(2), alpha=0.6,
               label="squared singular values")  # fmt: skip
        ax.plot(r["curve_x"], r["curve"], "--", color="black", label="Fuss-Catalan")
        top = max(h["density"]) if h["density"] else 1.0
        ax.set(title=f"L = {r['depth']} (KS {r['ks']:.3f})", xlabel="s^2", ylim=(0, 1.3 * top),
               xlim=(0, r["edge"] * 1.02))  # fmt: skip
    axes[0].legend(fontsize=7)
    return fig


def lyapunov(result: Mapping[str, Any]) -> Figure:
    rows = result["rows"]
    widths = sorted({r["width"] for r in rows})
    fig, (a1, a2, a3) = _figure(13, 3.8, 3)
    for j, n in enumerate(widths):
        sub = sorted((r for r in rows if r["width"] == n), key=lambda r: r["tau"])
        t = [r["tau"] for r in sub]
        a1.semilogx(t, [r["top_var_ratio"] for r in sub], "o-", color=_color(j),
                    label=f"top, n = {n}")  # fmt: skip
        a1.semilogx(t, [r["gap_over_spread"] for r in sub], "s", color=_color(j),
                    label=f"bulk gap / spread, n = {n}")  # fmt: skip
        a1.semilogx(t, [r["gap_over_spread_lyapunov"] for r in sub], "--", color=_color(j),
                    lw=0.8)  # fmt: skip
    a1.axhline(1.0, ls="--", color="black", lw=0.8)
    a1.set(xlabel="L / n", ylabel="ratio",
           title="Var log s_1^2 / (L psi'(n/2)); gap / spread (dashed: QR)")  # fmt: skip
    a1.legend(fontsize=6)
    big = [r for r in rows if r["width"] == widths[-1]]
    for j, r in enumerate(sorted(big, key=lambda r: r["tau"])):
        a2.plot(r["index"], r["mean_per_layer"], "-", color=_color(j), label=f"L/n = {r['tau']:g}")
        a2.plot(r["index"], r["lyapunov_per_layer"], "--", color=_color(j), lw=0.8)
    a2.set(
        xlabel="i / n", ylabel="E log s_i^2 / L", title=f"spectrum vs Lyapunov (n = {widths[-1]})"
    )
    a2.legend(fontsize=7)
    exact = [r["logdet_var_exact"] for r in rows]
    a3.loglog(exact, [r["logdet_var"] for r in rows], "o", color=_color(4))
    lim = [min(exact), max(exact)]
    a3.loglog(lim, lim, "--", color="black", lw=0.8)
    a3.set(xlabel="exact Var log det = L sum psi'", ylabel="Monte Carlo", title="log det (exact)")
    return fig


def bayes_check(result: Mapping[str, Any]) -> Figure:
    fig, (a1, a2) = _figure(10, 3.8, 2)
    x = result["hist_centers"]
    width = x[1] - x[0]
    a1.bar(x, result["hist_importance"], width=width, color=_color(1), alpha=0.5,
           label="importance sampler (nets)")  # fmt: skip
    if "hist_rejection" in result:
        a1.step(x, result["hist_rejection"], where="mid", color=_color(5),
                label=f"rejection ({result['rejection_accepted']} kept)")  # fmt: skip
    a1.plot(result["curve_x"], result["curve"], "--", color="black", label="exact posterior")
    a1.plot(result["curve_x"], result["gaussian_curve"], ":", color="grey",
            label="Gaussian, same variance")  # fmt: skip
    a1.set(xlabel="f(x_test)", ylabel="density", title="posterior predictive")
    a1.legend(fontsize=7)
    rows = result["cdf"]
    a2.errorbar([r["p"] for r in rows], [r["sampler"] - r["p"] for r in rows],
                yerr=[2 * r["se"] for r in rows], fmt="o", color=_color(1))  # fmt: skip
    a2.axhline(0, ls="--", color="black")
    a2.set(xlabel="exact predictive CDF", ylabel="sampler CDF - exact (2 se bars)",
           title=f"ESS {result['ess']:.0f}")  # fmt: skip
    return fig


def bayes_depth(result: Mapping[str, Any]) -> Figure:
    rows = result["rows"]
    ref = result["reference"]
    widths = sorted({r["width"] for r in rows})
    fig, (a1, a2, a3) = _figure(14, 4, 3)
    for j, n in enumerate(widths):
        sub = sorted((r for r in rows if r["width"] == n and r["lam"] > 0), key=lambda r: r["lam"])
        lam = [r["lam"] for r in sub]
        a1.semilogx(lam, [r["evidence_gap"] for r in sub], "o-", color=_color(j),
                    label=f"N = {n}")  # fmt: skip
        a1.semilogx(lam, [r["evidence_gap_approx"] for r in sub], "--", color=_color(j), lw=0.8)
        a2.semilogx(lam, [r["scale_ratio"] for r in sub], "o-", color=_color(j), label=f"N = {n}")
        a2.semilogx(lam, [r["scale_ratio_approx"] for r in sub], "--", color=_color(j), lw=0.8)
        a3.semilogx(lam, [r["nlpd"] for r in sub], "o-", color=_color(j), label=f"N = {n}")
    shallow_gap = ref["log_evidence_shallow"] - ref["log_evidence_opt"]
    a1.axhline(shallow_gap, ls=":", color="grey", label="depth 0, sigma^2")
    a1.axhline(0.0, ls="--", color="black", label="depth 0, sigma_*^2 (bound)")
    a1.set(xlabel="effective depth P L / N", ylabel="log Z - log Z(0, sigma_*^2)",
           title="evidence (dashed: log-normal prior in L/N)")  # fmt: skip
    a1.legend(fontsize=7)
    a2.axhline(1.0, ls="--", color="black", label="data-dependent optimum")
    a2.set(xlabel="effective depth P L / N", ylabel="exp E[log sigma^2 R^2 | D] / sigma_*^2",
           title="posterior scale")  # fmt: skip
    a2.legend(fontsize=7)
    a3.axhline(ref["nlpd_opt"], ls="--", color="black", label="depth 0, sigma_*^2")
    a3.axhline(ref["nlpd_shallow"], ls=":", color="grey", label="depth 0, sigma^2")
    a3.set(xlabel="effective depth P L / N", ylabel="test NLPD", title="predictions")
    a3.legend(fontsize=7)
    return fig

"""Figures: the Gram spectrum (decay, fit, eps lines) and the residual of each frequency.

Only :class:`matplotlib.figure.Figure` is used (no pyplot): safe under Agg, threads and servers.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from theoryscope.experiments.spectral.config import EPS
from theoryscope.plots import save_figure as write_png

__all__ = ["plot_run", "plot_spectrum", "save_figure"]

_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def _get(obj: Any, key: str) -> Any:
    return obj[key] if isinstance(obj, Mapping) else getattr(obj, key)


def plot_spectrum(spectrum: Any) -> Figure:
    """Eigenvalues of G/n against j (log-log): float64 and float32, the fitted ``C j^{-p}``,
    and the lines ``eps * lambda_1`` below which rounding loses an eigen-direction."""
    lam = np.asarray(_get(spectrum, "eigenvalues"), dtype=float)
    lam32 = np.asarray(_get(spectrum, "eigenvalues_float32"), dtype=float)
    fit = _get(spectrum, "fit")
    ranks = _get(spectrum, "numerical_rank")
    j = np.arange(1, len(lam) + 1)
    fig = Figure(figsize=(6.4, 4.6), layout="constrained")
    ax = fig.add_subplot()
    pos = lam > 0
    ax.loglog(j[pos], lam[pos], ".", color="tab:blue", ms=4, label="float64 eigenvalues")
    pos32 = lam32 > 0
    ax.loglog(j[pos32], lam32[pos32], "x", color="tab:orange", ms=3, label="float32 eigenvalues")
    if fit is not None:
        p, c = _get(fit, "exponent"), _get(fit, "constant")
        lo, hi = _get(fit, "lo"), _get(fit, "hi")
        jj = np.arange(1, len(lam) + 1, dtype=float)
        ax.loglog(
            jj, c * jj**-p, "k--", lw=1, label=f"fit $C j^{{-{p:.2f}}}$ (j={lo}..{hi}); talk: 4"
        )
    for (name, eps), style in zip(EPS.items(), (":", "-."), strict=True):
        ax.axhline(eps * lam[0], color="gray", ls=style, lw=1,
                   label=rf"$\epsilon_{{{name[-2:]}}}\lambda_1$: rank {ranks[name]}")  # fmt: skip
    n = _get(spectrum, "neurons")
    ax.set_xlabel("index j")
    ax.set_ylabel(r"eigenvalue $\lambda_j$ of $G = \Phi^T\Phi / n$")
    ax.set_title(f"ReLU Gram spectrum, n={n}, biases {_get(spectrum, 'bias')}", fontsize=10)
    floor = max(min(lam[pos].min() if pos.any() else 1e-20, EPS["float64"] * lam[0]) / 10, 1e-30)
    ax.set_ylim(floor, lam[0] * 3)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    return fig


def plot_run(run: Any, theory: Any = None, *, x: str = "step") -> Figure:
    """|c_k| / A_k of every frequency against the step (log x): measured solid, theory dashed,
    predicted half times marked with dotted verticals."""
    series = _get(run, "series")
    config = _get(run, "config")
    freqs = list(config["freqs"])
    step = np.asarray(series["step"], dtype=float)
    scale = float(config["lr"]) if x == "time" else 1.0
    fig = Figure(figsize=(6.4, 4.6), layout="constrained")
    ax = fig.add_subplot()
    shown = step > 0
    resid = np.abs(np.asarray(series["residual"], dtype=float))
    for k, freq in enumerate(freqs):
        color = _COLORS[k % len(_COLORS)]
        ax.loglog(step[shown] * scale, resid[shown, k], "-", color=color, lw=1.8,
                  label=f"k={freq} measured")  # fmt: skip
        if theory is not None:
            tstep = np.asarray(_get(theory, "step"), dtype=float)
            tres = np.abs(np.asarray(_get(theory, "residual"), dtype=float))
            ok = tstep > 0
            ax.loglog(tstep[ok] * scale, tres[ok, k], "--", color="black", lw=0.9, alpha=0.8)
            t_half = _get(theory, "t_half")[k]
            if t_half is not None and t_half <= (tstep.max() if tstep.size else 0):
                ax.axvline(t_half * scale, color=color, ls=":", lw=1)
    if theory is not None:
        ax.plot([], [], "--", color="black", lw=0.9, label="kernel theory $(1-\\eta\\lambda_j)^s$")
    ax.axhline(0.5, color="gray", lw=0.8, alpha=0.6)
    ax.set_xlabel(r"time $\eta \cdot$ step" if x == "time" else "GD step")
    ax.set_ylabel(r"residual amplitude $|\langle h - f, \sin(\pi k x)\rangle| / A_k$")
    ax.set_title(
        f"spectral bias: n={config['neurons']}, mode {config['mode']}, lr={config['lr']:g}, "
        f"{config['dtype']}",
        fontsize=10,
    )
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    return fig


#: Write a figure (format from the path's suffix) at this module's dpi; ``dpi=`` overrides it.
save_figure = partial(write_png, dpi=130)

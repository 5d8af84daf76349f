"""Figures for Expander Nets runs and their theory (spec ``expander-nets.md`` 5 and 6).

:func:`plot_run` draws the page's two panels, done properly: (left) the loss -- raw minibatch loss,
its EMA, the exact population loss and the ODE loss dashed, with each term's ``t_rise``,
``t_half_ode`` (dotted) and the measured ``t_half_sim`` (solid) marked; (right) "parameter size" --
every entry of W1 (diagonals solid, off-diagonals thin), ``sqrt(k)||W2||`` and the ODE's a_i(t) and
``sqrt(sum_j b_j^2)`` dashed over them. :func:`plot_theory` draws the ODE alone.

Only :class:`matplotlib.figure.Figure` is used (no pyplot), so this is safe under the Agg backend,
in threads and in servers, and figures are freed when dropped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from theoryscope.plots import save_figure as write_png

__all__ = ["plot_run", "plot_theory", "save_figure", "term_label"]

_TERM_COLORS = ("tab:purple", "tab:brown", "tab:olive", "tab:cyan", "tab:pink", "tab:gray")
_ODE_COLOR = "tab:red"
_DIAG_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")
_XLABEL = {"t_eff": r"$t_{\mathrm{eff}} = \eta \cdot \mathrm{step}$", "step": "step"}


@dataclass
class _TheoryView:
    """Theory arrays in one shape, whether given a Theory object or its JSON dict."""

    t: np.ndarray
    loss: np.ndarray
    term_loss: np.ndarray  # (n, m)
    a: np.ndarray  # (n, d)
    b_norm: np.ndarray
    terms: list[dict[str, Any]]
    config: dict[str, Any]


def _arr(x: Any) -> np.ndarray:
    return np.array(x, dtype=float) if x is not None else np.zeros(0)


def _theory_view(theory: Any) -> _TheoryView:
    if isinstance(theory, Mapping):
        ode = theory["ode"]
        terms = [dict(t) for t in theory.get("terms", [])]
        config = dict(theory.get("config", {}) or {})
    else:
        terms = [t.to_dict() if hasattr(t, "to_dict") else dict(t) for t in theory.terms]
        config = dict(getattr(theory, "config", {}) or {})
        ode = {k: getattr(theory.ode, k) for k in ("t", "loss", "term_loss", "a", "b_norm")}
    t = _arr(ode["t"])
    tl = _arr(ode["term_loss"])
    if tl.ndim == 1:
        tl = tl[:, None]
    a = _arr(ode["a"])
    if a.ndim == 1:
        a = a[:, None]
    return _TheoryView(t, _arr(ode["loss"]), tl, a, _arr(ode["b_norm"]), terms, config)


def _num(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v


def _fmt(v: float) -> str:
    if not math.isfinite(v):
        return "n/a"
    if v == 0 or 1e-2 <= abs(v) < 1e5:
        return f"{v:.4g}"
    return f"{v:.3g}"


def term_label(alpha: Sequence[int], coef: float = 1.0) -> str:
    """Mathtext label of one target term, e.g. ``0.5 h_{(1,1,0)}``."""
    idx = ",".join(str(int(v)) for v in alpha)
    c = float(coef)
    prefix = "" if c == 1.0 else ("-" if c == -1.0 else f"{c:g}\\,")
    return rf"${prefix}h_{{({idx})}}$"


def _target_label(terms: Sequence[Any]) -> str:
    parts = []
    for t in terms:
        alpha = t["alpha"] if isinstance(t, Mapping) else t.alpha
        coef = t.get("coef", 1.0) if isinstance(t, Mapping) else t.coef
        parts.append(term_label(alpha, 1.0 if coef is None else coef))
    return " + ".join(parts) if parts else "?"


def _gamma_label(gamma: Any) -> str:
    g = np.atleast_1d(np.asarray(gamma, dtype=float)) if gamma is not None else np.zeros(0)
    if g.size == 0:
        return "?"
    if np.all(g == g[0]):
        return f"{g[0]:g}"
    return "(" + ", ".join(f"{v:g}" for v in g) + ")"


def _title(config: Mapping[str, Any], extra: str = "") -> str:
    bits = [f"$f_* =$ {_target_label(config.get('terms', []))}"]
    if "d" in config:
        bits.append(f"d={config['d']}")
    if "k" in config:
        bits.append(f"k={config['k']}")
    bits.append(rf"$\gamma$={_gamma_label(config.get('gamma'))}")
    mode = config.get("mode", "sgd")
    if mode == "flow":
        bits.append("exact gradient flow")
    elif "lr" in config:
        bits.append(rf"$\eta$={config['lr']:g}")
        if mode == "gd":
            bits.append("full-batch GD (exact)")
        elif "batch" in config:
            bits.append(f"|B|={config['batch']}")
    if "nonlinearity" in config and config["nonlinearity"] != "sqrt2cos":
        bits.append(rf"$\sigma$={config['nonlinearity']}")
    return "Expander Nets   " + ",  ".join(bits) + (f"   {extra}" if extra else "")


def _style(ax: Axes, *, logx: bool, logy: bool, xlabel: str, ylabel: str, title: str) -> None:
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    ax.grid(True, which="major", alpha=0.3)
    if logx or logy:
        ax.grid(True, which="minor", alpha=0.08)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _visible(x: np.ndarray, y: np.ndarray, *, logx: bool, logy: bool) -> np.ndarray:
    ok = np.isfinite(x) & np.isfinite(y)
    if logx:
        ok &= x > 0
    if logy:
        ok &= y > 0
    return ok


def _floor_ylim(ax: Axes, decades: float = 8.0) -> None:
    """Log-y: keep the bottom within ``decades`` of the top (the ODE loss dives to ~1e-30)."""
    ys = [np.asarray(ln.get_ydata(), dtype=float) for ln in ax.get_lines()]
    ys = [y[np.isfinite(y) & (y > 0)] for y in ys]
    ys = [y for y in ys if y.size]
    if not ys:
        return
    top = max(float(y.max()) for y in ys)
    bottom = min(float(y.min()) for y in ys)
    lo = max(bottom / 2.0, top * 10.0**-decades)
    ax.set_ylim(lo, top * 2.0)


def _legend(ax: Axes) -> None:
    n = len(ax.get_legend_handles_labels()[1])
    ax.legend(
        fontsize=7.5 if n <= 10 else 6.5, loc="best", framealpha=0.85, ncol=1 if n <= 10 else 2
    )


def _series(run: Any, key: str) -> np.ndarray | None:
    s = run.series.get(key) if run.series else None
    if s is None:
        return None
    arr = np.asarray(s, dtype=float)
    return arr if arr.size and np.isfinite(arr).any() else None


def _markers(
    ax: Axes,
    terms: Sequence[Mapping[str, Any]],
    t_half_sim: Sequence[Any],
    scale: float,
    xlim: tuple[float, float] | None,
    *,
    logx: bool,
) -> None:
    """Vertical lines: t_rise and t_half_ode dotted (theory), t_half_sim solid (measured)."""
    many = max(len(terms), len(t_half_sim)) > 1
    for j in range(max(len(terms), len(t_half_sim))):
        color = _TERM_COLORS[j % len(_TERM_COLORS)] if many else _ODE_COLOR
        who = f"term {j + 1}: " if many else ""
        tr = terms[j] if j < len(terms) else {}
        items = [
            ("t_rise", r"$t_{\mathrm{rise}}$", _num(tr.get("t_rise")), (0, (1, 1.5)), 1.2, 0.75),
            ("t_half_ode", r"$t_{1/2}$ ODE", _num(tr.get("t_half_ode")), (0, (1, 3.5)), 2.0, 0.9),
            (
                "t_half_sim",
                r"$t_{1/2}$ sim",
                _num(t_half_sim[j] if j < len(t_half_sim) else None),
                "-",
                1.0,
                0.75,
            ),
        ]
        for _key, name, value, ls, lw, alpha in items:
            if not math.isfinite(value):
                continue
            xv = value / scale
            inside = xlim is None or (xlim[0] <= xv <= xlim[1])
            if logx and xv <= 0:
                inside = False
            label = f"{who}{name} = {_fmt(xv)}" + ("" if inside else " (off plot)")
            if inside:
                ax.axvline(xv, color=color, ls=ls, lw=lw, alpha=alpha, label=label)
            else:  # keep the number in the legend without stretching the axis
                ax.plot([], [], color=color, ls=ls, lw=lw, alpha=alpha, label=label)


def _t_half_sim(run: Any) -> list[Any]:
    v = (run.summary or {}).get("t_half_sim")
    if v is None:
        return []
    if isinstance(v, (list, tuple, np.ndarray)):
        return list(v)
    return [v]


def plot_run(
    run: Any,
    theory: Any = None,
    *,
    x: str = "t_eff",
    logx: bool = False,
    logy: bool = True,
) -> Figure:
    """The page's two panels for a :class:`theoryscope.protocol.Run` (plus its theory if given).

    ``x`` is ``"t_eff"`` (theory time t directly) or ``"step"`` (theory drawn at t / eta).
    ``theory`` is a ``theory.Theory`` or its ``theory_to_dict`` JSON form. Returns the Figure.
    """
    if x not in _XLABEL:
        raise ValueError(f"x must be 't_eff' or 'step', got {x!r}")
    cfg = dict(run.config or {})
    lr = float(cfg.get("lr", 1.0) or 1.0)
    scale = lr if x == "step" else 1.0  # theory time t -> x = t / scale
    xs = _series(run, x)
    if xs is None:
        other = _series(run, "t_eff" if x == "step" else "step")
        xs = (
            other / lr
            if (other is not None and x == "step")
            else (other * lr if other is not None else None)
        )
    view = _theory_view(theory) if theory is not None else None

    fig = Figure(figsize=(13.0, 4.8), layout="constrained")
    ax_l, ax_r = fig.subplots(1, 2)
    xlim: tuple[float, float] | None = None
    if xs is not None:
        pos = xs[np.isfinite(xs) & ((xs > 0) if logx else np.isfinite(xs))]
        if pos.size:
            xlim = (float(pos.min()), float(pos.max()))

    # ---- left: loss -------------------------------------------------------------------------
    def line(ax: Axes, xv: np.ndarray, yv: np.ndarray, *, ylog: bool, **kw: Any) -> None:
        ok = _visible(xv, yv, logx=logx, logy=ylog)
        ax.plot(xv[ok], yv[ok], **kw)

    if xs is not None:
        # population modes have no minibatch: their batch and EMA series repeat the population loss
        batch_keys = ("loss_batch", "loss_ema") if cfg.get("mode", "sgd") == "sgd" else ()
        for key, kw in (
            ("loss_batch", dict(color="tab:blue", lw=0.6, alpha=0.25, label="minibatch loss")),
            ("loss_ema", dict(color="tab:blue", lw=1.5, alpha=0.95, label="EMA of minibatch")),
            ("loss_population", dict(color="black", lw=1.8, label="population loss (exact)")),
        ):
            if key != "loss_population" and key not in batch_keys:
                continue
            y = _series(run, key)
            if y is not None and y.shape[0] == xs.shape[0]:
                if key == "loss_ema":
                    w = cfg.get("ema_window")
                    kw["label"] = f"EMA (W={w})" if w else kw["label"]
                line(ax_l, xs, y, ylog=logy, **kw)
        tl = _series(run, "term_loss")
        if tl is not None and tl.ndim == 2 and tl.shape[1] > 1 and tl.shape[0] == xs.shape[0]:
            for j in range(tl.shape[1]):
                line(
                    ax_l,
                    xs,
                    tl[:, j],
                    ylog=logy,
                    color=_TERM_COLORS[j % 6],
                    lw=0.9,
                    alpha=0.7,
                    label=f"term {j + 1} loss",
                )

    if view is not None:
        tx = view.t / scale
        keep = np.ones_like(tx, dtype=bool) if xlim is None else (tx <= xlim[1] * (1 + 1e-9))
        line(
            ax_l,
            tx[keep],
            view.loss[keep],
            ylog=logy,
            color=_ODE_COLOR,
            lw=1.8,
            ls="--",
            label="ODE loss (theory)",
        )
        if view.term_loss.shape[1] > 1:
            for j in range(view.term_loss.shape[1]):
                line(
                    ax_l,
                    tx[keep],
                    view.term_loss[keep, j],
                    ylog=logy,
                    color=_TERM_COLORS[j % 6],
                    lw=1.0,
                    ls="--",
                    alpha=0.8,
                    label=f"term {j + 1} ODE",
                )
    terms = view.terms if view is not None else []
    _markers(ax_l, terms, _t_half_sim(run), scale, xlim, logx=logx)
    if logy:
        _floor_ylim(ax_l)
    if xlim is not None:
        ax_l.set_xlim(*xlim) if logx else ax_l.set_xlim(0 if xlim[0] >= 0 else xlim[0], xlim[1])
    _style(ax_l, logx=logx, logy=logy, xlabel=_XLABEL[x], ylabel="loss", title="loss")
    _legend(ax_l)

    # ---- right: parameter size --------------------------------------------------------------
    W1 = _series(run, "W1")
    d_default = W1.shape[1] if W1 is not None else (view.a.shape[1] if view else 0)
    d = int(cfg.get("d") or d_default)
    label_diag = d <= 6
    if xs is not None and W1 is not None and W1.ndim == 3:
        d = W1.shape[1]
        off = [(i, k) for i in range(d) for k in range(d) if i != k]
        if off:  # one Line2D with NaN breaks: cheap even for d = 64
            ok = _visible(xs, np.zeros_like(xs), logx=logx, logy=False)
            xx = np.concatenate([np.append(xs[ok], np.nan) for _ in off])
            yy = np.concatenate([np.append(W1[ok, i, k], np.nan) for i, k in off])
            ax_r.plot(xx, yy, color="0.55", lw=0.6, alpha=0.6, label="$W_{1,ij}$ (i≠j)")
        for i in range(d):
            lab = f"$W_{{1,{i + 1}{i + 1}}}$" if label_diag else ("$W_{1,ii}$" if i == 0 else None)
            line(ax_r, xs, W1[:, i, i], ylog=False, color=_DIAG_COLORS[i % 6], lw=1.6, label=lab)
    w2 = _series(run, "w2_scaled_norm")
    if xs is not None and w2 is not None:
        line(ax_r, xs, w2, ylog=False, color="black", lw=1.8, label=r"$\sqrt{k}\,\|W_2\|$")
    if view is not None:
        tx = view.t / scale
        keep = np.ones_like(tx, dtype=bool) if xlim is None else (tx <= xlim[1] * (1 + 1e-9))
        for i in range(view.a.shape[1]):
            lab = f"$a_{{{i + 1}}}$ (ODE)" if label_diag else ("$a_i$ (ODE)" if i == 0 else None)
            line(
                ax_r,
                tx[keep],
                view.a[keep, i],
                ylog=False,
                color=_DIAG_COLORS[i % 6],
                lw=1.3,
                ls="--",
                label=lab,
            )
        line(
            ax_r,
            tx[keep],
            view.b_norm[keep],
            ylog=False,
            color="black",
            lw=1.3,
            ls="--",
            label=r"$\|b\|$ (ODE)",
        )
    if xlim is not None:
        ax_r.set_xlim(*xlim) if logx else ax_r.set_xlim(0 if xlim[0] >= 0 else xlim[0], xlim[1])
    _style(ax_r, logx=logx, logy=False, xlabel=_XLABEL[x], ylabel="value", title="parameter size")
    ax_r.legend(fontsize=7.5, loc="best", framealpha=0.85, ncol=2 if d > 3 else 1)

    extra = f"seed {run.seed}" + ("" if run.status == "finished" else f"  [{run.status}]")
    fig.suptitle(_title(cfg, extra), fontsize=11.5)
    return fig


def plot_theory(theory: Any, *, logx: bool = True, logy: bool = True) -> Figure:
    """The modeling ODE alone: (left) total and per-term loss with t_rise / t_half markers,
    (right) a_i(t) and ||b(t)||. Accepts a Theory or its JSON dict."""
    view = _theory_view(theory)
    fig = Figure(figsize=(13.0, 4.8), layout="constrained")
    ax_l, ax_r = fig.subplots(1, 2)
    t = view.t
    ok = _visible(t, view.loss, logx=logx, logy=logy)
    ax_l.plot(t[ok], view.loss[ok], color=_ODE_COLOR, lw=1.8, ls="--", label="ODE loss")
    if view.term_loss.shape[1] > 1:
        for j in range(view.term_loss.shape[1]):
            y = view.term_loss[:, j]
            ok = _visible(t, y, logx=logx, logy=logy)
            ax_l.plot(
                t[ok], y[ok], color=_TERM_COLORS[j % 6], lw=1.0, ls="--", label=f"term {j + 1}"
            )
    pos = t[t > 0] if logx else t
    xlim = (float(pos.min()), float(pos.max())) if pos.size else None
    _markers(ax_l, view.terms, [], 1.0, xlim, logx=logx)
    _style(ax_l, logx=logx, logy=logy, xlabel="$t$", ylabel="loss", title="modeling ODE: loss")
    if logy:
        _floor_ylim(ax_l)
    _legend(ax_l)
    d = view.a.shape[1]
    for i in range(d):
        ok = _visible(t, view.a[:, i], logx=logx, logy=False)
        lab = f"$a_{{{i + 1}}}$" if d <= 6 else ("$a_i$" if i == 0 else None)
        ax_r.plot(t[ok], view.a[ok, i], color=_DIAG_COLORS[i % 6], lw=1.5, ls="--", label=lab)
    ok = _visible(t, view.b_norm, logx=logx, logy=False)
    ax_r.plot(t[ok], view.b_norm[ok], color="black", lw=1.5, ls="--", label=r"$\|b\|$")
    _style(
        ax_r,
        logx=logx,
        logy=False,
        xlabel="$t$",
        ylabel="value",
        title="modeling ODE: parameter size",
    )
    ax_r.legend(fontsize=7.5, loc="best", framealpha=0.85)
    fig.suptitle(_title(view.config, "(theory)"), fontsize=11.5)
    return fig


#: Write a figure (format from the path's suffix) at this module's dpi; ``dpi=`` overrides it.
save_figure = partial(write_png, dpi=150)

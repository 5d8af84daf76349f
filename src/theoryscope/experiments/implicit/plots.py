"""Figures of the implicit-bias experiment (matplotlib ``Figure`` only, no pyplot).

:func:`plot_run` draws the mode's figure:

- diagonal, one alpha: (left) loss and recovery error ||beta - beta*|| / ||beta*|| against step;
  (right) the trained beta, the predicted Q_alpha limit, the planted beta* per coordinate.
- diagonal, alpha sweep: (left) relative distance of the trained beta to the min-L1 and the
  min-L2 interpolators against alpha (the rich-to-kernel transition), the Q_alpha limit's own
  distances dashed; (right) trained vs predicted limit and the recovery error of beta*.
- margin: (left) angle between w(t) and the SVM direction against 1/log t with the fitted line
  and the predicted asymptote; (right) the data, the SVM separator and the GD separator (d = 2)
  or the normalized margin against step (d > 2).
- deeplinear: measured mode strengths u_i(t) against t = eta * step with the closed-form sigmoids
  dashed; the balancedness drift on a second panel.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from theoryscope.plots import save_figure as write_png
from theoryscope.protocol import Run

__all__ = ["plot_run", "save_figure"]


def _pos(a: Any) -> np.ndarray:
    out = np.asarray(a, dtype=np.float64).copy()
    out[~(out > 0)] = np.nan
    return out


def plot_run(run: Run, theory: Any = None, **_: Any) -> Figure:
    """The figure of ``run`` against ``theory`` (a Theory or None)."""
    mode = run.summary.get("mode", run.config.get("mode"))
    from theoryscope.experiments.implicit.theory import compare, theory_from_dict

    if isinstance(theory, Mapping):  # the stored JSON form (web lab)
        theory = theory_from_dict(theory)

    agreement = compare(run, theory) if theory is not None else {}
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    if mode == "diagonal":
        _diagonal(run, theory, agreement, left, right)
    elif mode == "margin":
        _margin(run, theory, agreement, left, right)
    else:
        _deeplinear(run, theory, left, right)
    return fig


def _diagonal(run: Run, theory: Any, agr: dict[str, Any], left: Any, right: Any) -> None:
    s = run.series
    alphas = np.asarray(run.summary.get("alphas", []))
    if len(alphas) > 1 and theory is not None and "to_l1" in agr:
        v = theory.values
        left.plot(alphas, agr["to_l1"], "o-", color="tab:blue", label="trained: to min-L1")
        left.plot(alphas, agr["to_l2"], "s-", color="tab:orange", label="trained: to min-L2")
        left.plot(alphas, v["limit_to_l1"], "--", color="tab:blue", lw=1, label=r"$Q_\alpha$ limit")
        left.plot(alphas, v["limit_to_l2"], "--", color="tab:orange", lw=1)
        left.set_xscale("log")
        left.set_xlabel(r"init scale $\alpha$")
        left.set_ylabel("relative distance")
        left.set_title("rich (L1) to kernel (L2) regime", fontsize=10)
        left.legend(fontsize=8)
        right.plot(alphas, _pos(agr["to_limit"]), "o-", color="tab:green",
                   label=r"trained vs $Q_\alpha$ limit")  # fmt: skip
        right.plot(alphas, _pos(agr["recovery"]), "^-", color="tab:red",
                   label=r"recovery $\|\beta-\beta^*\|/\|\beta^*\|$")  # fmt: skip
        right.set_xscale("log")
        right.set_yscale("log")
        right.set_xlabel(r"init scale $\alpha$")
        right.set_ylabel("relative error")
        right.legend(fontsize=8)
        return
    step = np.asarray(s.get("step", np.zeros(0)))
    if len(step):
        left.plot(step, _pos(np.asarray(s["loss"])[:, 0]), color="tab:blue", label="loss")
        left.plot(step, _pos(np.asarray(s["recovery"])[:, 0]), color="tab:red",
                  label=r"$\|\beta-\beta^*\|/\|\beta^*\|$")  # fmt: skip
    left.set_xscale("symlog", linthresh=1.0)
    left.set_xlim(left=0.0)
    left.set_yscale("log")
    left.set_xlabel("step")
    a = alphas[0] if len(alphas) else run.config.get("alpha")
    left.set_title(f"diagonal net, alpha={a:g} ({run.status})", fontsize=10)
    left.legend(fontsize=8)
    beta = run.summary.get("final_beta")
    if theory is not None:
        v = theory.values
        idx = np.arange(len(v["beta_star"]))
        right.plot(idx, v["beta_star"], "k.", ms=4, label=r"planted $\beta^*$")
        right.plot(idx, np.asarray(v["beta_limit"])[0], "x", color="tab:green", ms=5,
                   label=r"$Q_\alpha$ limit")  # fmt: skip
    if beta is not None:
        right.plot(np.arange(len(beta[0])), beta[0], "o", mfc="none", color="tab:blue", ms=5,
                   label=r"trained $\beta$")  # fmt: skip
    right.set_xlabel("coordinate i")
    right.set_ylabel(r"$\beta_i$")
    right.legend(fontsize=8)


def _margin(run: Run, theory: Any, agr: dict[str, Any], left: Any, right: Any) -> None:
    s = run.series
    step = np.asarray(s.get("step", np.zeros(0)))
    ok = step >= 3
    if "angle" in agr and ok.any():
        inv = 1.0 / np.log(step[ok])
        left.plot(inv, np.asarray(agr["angle"])[ok], ".", ms=3, color="tab:blue",
                  label="angle(w(t), SVM)")  # fmt: skip
        if "fit_slope" in agr:
            xs = np.linspace(0.0, 1.3 / np.log(max(float(agr["fit_t_min"]), 3.0)), 50)
            left.plot(
                xs,
                agr["fit_slope"] * xs + agr["fit_intercept"],
                "k--",
                lw=1,
                label=f"fit slope {agr['fit_slope']:.3g} (t >= {agr['fit_t_min']:.0f})",
            )
        if theory is not None and theory.values.get("angle") is not None:
            pred = np.asarray(theory.values["angle"], dtype=np.float64)[: len(step)][ok]
            show = pred < 2 * float(np.nanmax(agr["angle"]))
            left.plot(inv[show], pred[show], ":", color="tab:green",
                      label=r"asymptote angle($\hat w\log t+\tilde w$, $\hat w$)")  # fmt: skip
    left.set_xlabel(r"$1/\log t$")
    left.set_ylabel("angle (rad)")
    left.set_xlim(left=0.0)
    left.set_title(f"logistic GD, eta={run.summary.get('eta', float('nan')):g} ({run.status})",
                   fontsize=10)  # fmt: skip
    left.legend(fontsize=8)
    w = np.asarray(s.get("w", np.zeros((0, 0))))
    if theory is not None and w.ndim == 2 and w.shape[1] == 2 and len(w):
        from theoryscope.experiments.implicit.config import Config
        from theoryscope.experiments.implicit.engine import margin_data

        x, y = margin_data(Config.from_dict(run.config))
        right.scatter(x[:, 0], x[:, 1], c=np.where(y > 0, "tab:red", "tab:blue"), s=10)
        sup = np.asarray(theory.values["support"], dtype=int)
        right.scatter(x[sup, 0], x[sup, 1], s=60, facecolors="none", edgecolors="k",
                      label="support vectors")  # fmt: skip
        lim = float(np.abs(x).max()) * 1.05
        line = np.linspace(-lim, lim, 2)
        for vec, style, lab in ((theory.values["w_svm"], "k-", "SVM"), (w[-1], "g--", "GD")):
            vec = np.asarray(vec)
            perp = np.array([-vec[1], vec[0]]) / np.linalg.norm(vec)
            right.plot(line * perp[0], line * perp[1], style, lw=1, label=f"{lab} separator")
        right.set_xlim(-lim, lim)
        right.set_ylim(-lim, lim)
        right.set_aspect("equal")
        right.legend(fontsize=8)
    elif len(step):
        right.plot(step, s["margin"], color="tab:purple", label="normalized margin")
        if theory is not None:
            right.axhline(theory.values["svm_margin"], color="k", ls="--", lw=1, label="SVM")
        right.set_xscale("symlog", linthresh=1.0)
        right.set_xlim(left=0.0)
        right.set_xlabel("step")
        right.set_ylabel(r"$\min_i y_i w\cdot x_i / \|w\|$")
        right.legend(fontsize=8)


def _deeplinear(run: Run, theory: Any, left: Any, right: Any) -> None:
    s = run.series
    step = np.asarray(s.get("step", np.zeros(0)))
    eta = float(run.summary.get("eta", run.config.get("lr") or 1.0))
    t = eta * step
    modes = np.asarray(s.get("modes", np.zeros((0, 0))))
    svals = run.config.get("singular_values", [])
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
    for i in range(modes.shape[1] if modes.ndim == 2 else 0):
        c = colors[i % len(colors)]
        left.plot(t, modes[:, i], color=c, lw=1.5, label=f"s={svals[i]:g} measured")
        if theory is not None:
            left.plot(np.asarray(theory.values["time"]), np.asarray(theory.values["modes"])[:, i],
                      "k--", lw=0.8)  # fmt: skip
    if theory is not None:
        left.plot([], [], "k--", lw=0.8, label="closed form (gradient flow)")
    left.set_xlabel(r"$t = \eta \cdot$ step")
    left.set_ylabel(r"mode strength $u_i^T W_L\cdots W_1 v_i$")
    left.set_title(f"deep linear, depth {run.config.get('depth')} ({run.status})", fontsize=10)
    left.legend(fontsize=8)
    if len(step):
        right.plot(t, _pos(s["balance_drift"]), color="tab:purple",
                   label=r"$\max_l\|B_l(t)-B_l(0)\|_F$")  # fmt: skip
        right.plot(t, _pos(s["loss"]), color="tab:gray", label="loss")
    right.set_yscale("log")
    right.set_xlabel(r"$t = \eta \cdot$ step")
    right.legend(fontsize=8)


#: Write a figure (format from the path's suffix) at this module's dpi; ``dpi=`` overrides it.
save_figure = partial(write_png, dpi=120)

"""Figures of the polynomial-network experiment (matplotlib ``Figure`` only, no pyplot).

:func:`plot_run` -- (left) training and population loss against time t = eta * step, log scale,
with the predicted optimal loss dashed (under-parameterized: the best rank-r loss; zero is off
a log axis and is not drawn); (right, p = 2) the eigenvalues of M(t) = W^T W against time, the
teacher's eigenvalues as dotted lines, the optimal rank-r eigenvalues dashed and the predicted
learning times as vertical ticks.
:func:`plot_landscape` -- success rate and median final / optimal loss against the width.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from theoryscope.plots import save_figure as write_png
from theoryscope.protocol import Run

__all__ = ["plot_landscape", "plot_run", "save_figure"]


def _positive(a: np.ndarray) -> np.ndarray:
    out = np.asarray(a, dtype=np.float64).copy()
    out[~(out > 0)] = np.nan
    return out


def _get(theory: Any, key: str, default: Any = None) -> Any:
    """A theory field from the Theory object or its stored dict (the web passes the dict)."""
    if isinstance(theory, Mapping):
        return theory.get(key, default)
    return getattr(theory, key, default)


def plot_run(run: Run, theory: Any = None, **_: Any) -> Figure:
    """Loss (with the predicted optimum) and the spectrum of M(t) against time.

    ``theory`` is the :class:`~theoryscope.experiments.polynets.theory.Theory` or its dict.
    """
    s = run.series
    t = np.asarray(s.get("time", np.zeros(0)))
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax_loss, ax_eig = fig.subplots(1, 2)
    if run.config.get("samples") is not None:
        ax_loss.plot(t, _positive(s.get("loss", t)), color="tab:orange", lw=1.0,
                     label=f"training loss (n={run.config['samples']})")  # fmt: skip
    ax_loss.plot(t, _positive(s.get("population_loss", t)), color="tab:blue", lw=1.2,
                 label="population loss")  # fmt: skip
    opt = _get(theory, "optimal_loss")
    if opt is not None and opt > 1e-12 * _get(theory, "teacher_norm", 1.0):
        ax_loss.axhline(opt, color="k", ls="--", lw=1, label=f"best rank-r loss {opt:.4g}")
    ax_loss.set_xscale("symlog", linthresh=max(float(run.config.get("lr", 0.01)), 1e-6))
    ax_loss.set_xlim(left=0.0)
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel(r"time $t = \eta\cdot$step")
    ax_loss.set_ylabel("loss")
    cfg = run.config
    ax_loss.set_title(
        f"p={cfg.get('degree')}, d={cfg.get('d')}, r*={cfg.get('teacher_width')}, "
        f"r={cfg.get('width')}, init={cfg.get('init'):g} ({run.status})",
        fontsize=10,
    )
    ax_loss.legend(fontsize=8)
    eig_keys = sorted((k for k in s if k.startswith("eig_")), key=lambda k: int(k[4:]))
    if eig_keys:
        colors = [f"C{i % 10}" for i in range(len(eig_keys))]
        for key, c in zip(eig_keys, colors, strict=True):
            ax_eig.plot(t, s[key], color=c, lw=1.2, label=f"eig {key[4:]} of M(t)")
        for j, lam in enumerate((_get(theory, "teacher_eigs") or [])[: len(eig_keys)]):
            if lam > 0:
                ax_eig.axhline(lam, color="grey", ls=":", lw=0.8,
                               label="teacher eigenvalues" if j == 0 else None)  # fmt: skip
        for j, mu in enumerate(_get(theory, "optimal_eigs") or []):
            if mu > 0:
                ax_eig.axhline(mu, color="k", ls="--", lw=0.8,
                               label="optimal rank-r eigenvalues" if j == 0 else None)  # fmt: skip
        for j, tj in enumerate(_get(theory, "learn_times") or []):
            ax_eig.axvline(tj, color=colors[j % len(colors)], ls="-.", lw=0.8,
                           label="predicted learning times" if j == 0 else None)  # fmt: skip
        ax_eig.set_xscale("symlog", linthresh=max(float(run.config.get("lr", 0.01)), 1e-6))
        ax_eig.set_xlim(left=0.0)
        ax_eig.set_xlabel(r"time $t = \eta\cdot$step")
        ax_eig.set_ylabel("eigenvalue")
        ax_eig.set_title("spectrum of M = W^T W vs teacher", fontsize=10)
        ax_eig.legend(fontsize=7)
    else:
        ax_eig.text(0.5, 0.5, "spectrum shown for degree 2 only", ha="center", va="center")
        ax_eig.set_axis_off()
    return fig


def plot_landscape(table: Mapping[str, Any]) -> Figure:
    """Success rate (bars) and median final / optimal loss against the student width."""
    rows = table["rows"]
    widths = np.asarray([row["width"] for row in rows])
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    rate = [np.nan if row["success_rate"] is None else row["success_rate"] for row in rows]
    ax.bar(widths, rate, color="tab:green", alpha=0.5, label="success rate")
    ax.axvline(float(table["teacher_width"]) - 0.5, color="k", ls="--", lw=1,
               label="r = r* (over-parameterized to the right)")  # fmt: skip
    ax.set_ylim(0.0, 1.05)
    ax.set_xlabel("student width r")
    ax.set_ylabel("success rate")
    right = ax.twinx()
    med = [np.nan if row["final_loss_median"] is None else row["final_loss_median"] for row in rows]
    opt = [np.nan if row["optimal_loss"] is None else row["optimal_loss"] for row in rows]
    right.plot(
        widths, _positive(np.asarray(med)), "o-", color="tab:blue", label="median final loss"
    )
    right.plot(widths, _positive(np.asarray(opt)), "k^--", label="predicted optimal loss")
    right.set_yscale("log")
    right.set_ylabel("population loss")
    right.legend(fontsize=8, loc="upper right")
    ax.legend(fontsize=8, loc="center right")
    ax.set_title(
        f"p={table['degree']}, d={table['d']}, r*={table['teacher_width']}, "
        f"{len(table['seeds'])} seeds, init={table['init']:g}",
        fontsize=10,
    )
    return fig


#: Write a figure (format from the path's suffix) at this module's dpi; ``dpi=`` overrides it.
save_figure = partial(write_png, dpi=120)

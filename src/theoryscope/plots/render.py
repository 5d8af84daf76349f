"""The one matplotlib renderer of declared figures: simulated curves, their theory, markers.

A declared :class:`~theoryscope.spec.declare.Figure` names its data by paths into a run's
documents (``series``, ``theory``, ``agreement``, ``summary``, ``config``); this module draws it
without knowing the experiment. Simulation is solid, theory dashed in the same colour, markers
dotted; colours come from the Okabe–Ito palette (safe for colour-blind readers), one per column
(so the k-th simulated curve and the k-th theory curve share a colour).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from theoryscope.spec.declare import Curve, Figure, Marker, Panel
from theoryscope.spec.paths import MISSING, expand, lookup

__all__ = ["OKABE_ITO", "curve_data", "documents", "render_figure", "when_holds"]

#: Okabe & Ito (2008), "Color Universal Design": black first, then the eight hues.
OKABE_ITO = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)


def documents(
    *,
    series: Mapping[str, Any] | None = None,
    theory: Mapping[str, Any] | None = None,
    agreement: Mapping[str, Any] | None = None,
    summary: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    result: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The documents a declaration's paths point into."""
    return {
        "series": dict(series or {}),
        "theory": dict(theory or {}),
        "agreement": dict(agreement or {}),
        "summary": dict(summary or {}),
        "config": dict(config or {}),
        "result": dict(result or {}),
    }


def when_holds(when: Mapping[str, Sequence[Any]] | None, config: Mapping[str, Any]) -> bool:
    """Whether a curve's ``when`` condition holds for this config (no condition: always)."""
    if not when:
        return True
    return all(config.get(key) in list(values) for key, values in when.items())


_TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "abs": np.abs,
    "neg": np.negative,
    "sqrt": lambda a: np.sqrt(np.maximum(a, 0.0)),
    "diag": lambda a: np.diagonal(a, axis1=-2, axis2=-1) if a.ndim >= 3 else a,
}


def _array(value: Any) -> np.ndarray | None:
    if value is MISSING or value is None:
        return None
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None
    return arr if arr.size else None


def curve_data(
    curve: Curve, docs: Mapping[str, Any]
) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray | None, int]]:
    """The lines of a curve: ``(label, x, y, y2, column)``; none when its data are absent."""
    if not when_holds(curve.when, docs.get("config", {})):
        return []
    x = _array(lookup(docs, curve.x))
    y = _array(lookup(docs, curve.y))
    y2 = _array(lookup(docs, curve.y2)) if curve.y2 else None
    if x is None or y is None:
        return []
    if curve.transform is not None:
        y = _TRANSFORMS[curve.transform](y)
        y2 = _TRANSFORMS[curve.transform](y2) if y2 is not None else None
    n = min(len(x), len(y))
    x, y = x[:n], y[:n]
    if y2 is not None:
        y2 = y2[:n]
    if not curve.columns or y.ndim == 1:
        return [(curve.label, x, y.reshape(n, -1)[:, 0] if y.ndim > 1 else y, y2, curve.color or 0)]
    cols = y.reshape(n, -1)
    shape = y.shape[1:]
    found = lookup(docs, curve.column_labels) if curve.column_labels else MISSING
    labels = list(found) if isinstance(found, (list, tuple)) else None
    out = []
    for j in range(cols.shape[1]):
        fields: dict[str, Any] = {"i": j}
        if len(shape) == 2:
            fields["row"], fields["col"] = divmod(j, shape[1])
        if labels is not None and j < len(labels):
            fields["value"] = labels[j]
        try:
            label = curve.label.format(**fields)
        except (KeyError, IndexError, ValueError):
            label = f"{curve.label} {j}"
        band = y2.reshape(n, -1)[:, j] if y2 is not None else None
        out.append((label, x, cols[:, j], band, (curve.color or 0) + j))
    return out


def _marker_values(marker: Marker, docs: Mapping[str, Any]) -> list[float]:
    values: list[Any] = []
    for _, path in expand(docs, marker.at):
        value = lookup(docs, path)
        values.extend(value if isinstance(value, (list, tuple)) else [value])
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if np.isfinite(f):
            out.append(f)
    return out


def _draw_panel(ax: Any, panel: Panel, docs: Mapping[str, Any]) -> None:
    drawn = 0
    x_range = [np.inf, -np.inf]
    y_floor = np.inf
    for curve in panel.curves:
        for label, x, y, y2, column in curve_data(curve, docs):
            color = OKABE_ITO[column % len(OKABE_ITO)]
            keep = np.isfinite(x) & np.isfinite(y)
            if panel.x_log:
                keep &= x > 0
            if panel.y_log:
                keep &= y > 0
            if not keep.any():
                continue
            x_range = [min(x_range[0], float(x[keep].min())), max(x_range[1], float(x[keep].max()))]
            if curve.style != "dashed":
                y_floor = min(y_floor, float(y[keep].min()))
            if curve.style == "band" and y2 is not None:
                ax.fill_between(
                    x[keep], y[keep], y2[keep], color=color, alpha=0.2, lw=0, label=label
                )
            elif curve.style == "markers":
                ax.plot(x[keep], y[keep], "o", ms=3, color=color, label=label)
            else:
                ax.plot(
                    x[keep],
                    y[keep],
                    "--" if curve.style == "dashed" else "-",
                    lw=1.4 if curve.style == "dashed" else 1.2,
                    color=color,
                    label=label,
                )
            drawn += 1
    for marker in panel.markers:
        shown = False
        for value in _marker_values(marker, docs):
            if marker.axis == "x":
                # only markers inside the drawn data (a prediction far past the run is a metric,
                # not a line that squeezes the curves into a corner)
                if (panel.x_log and value <= 0) or not x_range[0] <= value <= x_range[1]:
                    continue
                ax.axvline(value, color="0.35", ls=":", lw=1.0)
            else:
                ax.axhline(value, color="0.35", ls=":", lw=1.0)
            shown = True
        if shown:
            ax.plot([], [], color="0.35", ls=":", lw=1.0, label=marker.label)
    if panel.x_log and drawn:
        ax.set_xscale("log")
    if panel.y_log and drawn:
        ax.set_yscale("log")
        if np.isfinite(y_floor) and y_floor > 0:
            ax.set_ylim(bottom=y_floor / 10)  # theory may fall to 1e-200; the run cannot
    elif panel.y_symlog:
        ax.set_yscale("symlog", linthresh=1e-3)
    ax.set_title(panel.title, fontsize=10)
    ax.set_xlabel(panel.x_label)
    ax.set_ylabel(panel.y_label)
    ax.grid(True, alpha=0.25)
    if drawn:
        handles, labels = ax.get_legend_handles_labels()
        if len(labels) <= 12:
            ax.legend(fontsize=7, loc="best")
    else:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="0.5")


def render_figure(figure: Figure, docs: Mapping[str, Any], *, title: str | None = None) -> Any:
    """Draw ``figure`` from ``docs`` (see :func:`documents`); returns the matplotlib Figure."""
    from matplotlib.figure import Figure as MplFigure

    panels = figure.panels
    fig = MplFigure(figsize=(4.6 * len(panels), 3.8), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, panel in zip(axes, panels, strict=True):
        _draw_panel(ax, panel, docs)
    fig.suptitle(title or figure.title, fontsize=11)
    return fig

"""Figures of the linregions studies (matplotlib ``Figure`` objects, never pyplot).

Lines use the Okabe–Ito palette (simulation solid or markers, theory dashed in the same colour);
the region map fills polygons from Paul Tol's colour-blind-safe "light" scheme, neighbours in
different colours (greedy colouring of the adjacency graph).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from theoryscope.plots.render import OKABE_ITO

#: Paul Tol's "light" qualitative scheme (colour-blind safe), without its grey.
TOL_LIGHT = ("#77AADD", "#99DDFF", "#44BB99", "#BBCC33", "#AAAA00", "#EEDD88", "#EE8866",
             "#FFAABB")  # fmt: skip


def _figure(panels: int, width: float = 5.0, height: float = 4.0) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * panels, height), layout="constrained")
    axes = [fig.add_subplot(1, panels, i + 1) for i in range(panels)]
    return fig, axes


def depth_figure(result: Mapping[str, Any]) -> Any:
    fig, (ax, bx) = _figure(2)
    depths = sorted({r["depth"] for r in result["rows"]})
    for i, depth in enumerate(depths):
        rows = [r for r in result["rows"] if r["depth"] == depth]
        n = [r["neurons"] for r in rows]
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        ax.errorbar(n, [r["mean"] for r in rows], yerr=[r["se"] for r in rows], fmt="o-",
                    color=colour, label=f"depth {depth} (exact)", capsize=2)  # fmt: skip
        ax.plot(n, [r["theory"] for r in rows], "--", color=colour,
                label=f"depth {depth} infinite width")  # fmt: skip
        bx.plot(n, np.log10([r["mean"] for r in rows]), "o-", color=colour,
                label=f"depth {depth} count")  # fmt: skip
        bx.plot(n, [r["log10_serra"] for r in rows], ":", color=colour,
                label=f"depth {depth} Serra bound")  # fmt: skip
    rows = [r for r in result["rows"] if r["depth"] == depths[0]] if depths else []
    if rows:
        bx.plot([r["neurons"] for r in rows], [r["log10_three_power"] for r in rows], "-",
                color=OKABE_ITO[7], label="3^N")  # fmt: skip
    ax.set(title="Activation regions along the segment", xlabel="neurons N",
           ylabel="regions (mean over nets)")  # fmt: skip
    bx.set(title="Counts against the worst case", xlabel="neurons N", ylabel="log10 regions")
    ax.legend(fontsize=7)
    bx.legend(fontsize=7)
    return fig


def bias_figure(result: Mapping[str, Any]) -> Any:
    fig, (ax,) = _figure(1, 6.0)
    rows = result["rows"]
    c = [r["c_b"] for r in rows]
    ax.errorbar(c, [r["mean"] for r in rows], yerr=[r["se"] for r in rows], fmt="o-",
                color=OKABE_ITO[0], label="exact (activation regions)", capsize=2)  # fmt: skip
    ax.plot(c, [r["linear_mean"] for r in rows], "s", color=OKABE_ITO[1], ms=4,
            label="exact (linear regions)")  # fmt: skip
    ax.plot(c, [r["theory"] for r in rows], "--", color=OKABE_ITO[0], label="infinite width")
    ax.set_xscale("log")
    ax.set(title=f"Regions along the segment against C_b, widths {result['widths']}",
           xlabel="bias variance C_b", ylabel="regions")  # fmt: skip
    ax.legend(fontsize=8)
    return fig


def coarea_figure(result: Mapping[str, Any]) -> Any:
    fig, (ax,) = _figure(1, 6.0)
    rows = result.get("rows") or []
    layer = [r["layer"] for r in rows]
    ax.errorbar(layer, [r["exact"] for r in rows], yerr=[r["exact_se"] for r in rows], fmt="o",
                color=OKABE_ITO[0], label="exact count", capsize=3)  # fmt: skip
    ax.errorbar(np.asarray(layer) + 0.1, [r["coarea"] for r in rows],
                yerr=[r["coarea_se"] for r in rows], fmt="s", color=OKABE_ITO[1],
                label="co-area formula (Monte Carlo)", capsize=3)  # fmt: skip
    ax.plot(layer, [r["theory"] for r in rows], "--", color=OKABE_ITO[2], label="infinite width")
    ax.set(title="Breakpoints per layer along the segment", xlabel="layer",
           ylabel="breakpoints (mean over nets)")  # fmt: skip
    ax.legend(fontsize=8)
    return fig


def map_figure(result: Mapping[str, Any]) -> Any:
    from matplotlib.collections import PolyCollection

    layers = result.get("layers") or []
    if not layers:
        fig, _ = _figure(1)
        return fig
    depth = len(layers)
    show = sorted({int(round(v)) for v in np.linspace(0, depth - 1, min(depth, 4))})
    fig, axes = _figure(len(show), 4.2, 4.4)
    colours = result.get("colours") or []
    half = result["half"]
    for ax, index in zip(axes, show, strict=True):
        polys = [np.asarray(p) for p in layers[index]]
        cols = colours[index] if index < len(colours) else list(range(len(polys)))
        faces = [TOL_LIGHT[int(c) % len(TOL_LIGHT)] for c in cols]
        ax.add_collection(PolyCollection(polys, facecolors=faces, edgecolors="white",
                                         linewidths=0.3))  # fmt: skip
        ax.set_xlim(-half, half)
        ax.set_ylim(-half, half)
        ax.set_aspect("equal")
        ax.set_title(f"after layer {index + 1}: {len(polys)} regions", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"Activation regions of a ReLU net {result['widths']} in a 2-D input square",
                 fontsize=10)  # fmt: skip
    return fig


def area_figure(result: Mapping[str, Any]) -> Any:
    fig, (ax,) = _figure(1, 6.0)
    depths = sorted({r["depth"] for r in result["rows"]})
    for i, depth in enumerate(depths):
        rows = [r for r in result["rows"] if r["depth"] == depth]
        n = [r["neurons"] for r in rows]
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        ax.errorbar(n, [r["per_area"] for r in rows], yerr=[r["se"] for r in rows], fmt="o-",
                    color=colour, label=f"depth {depth} (exact)", capsize=2)  # fmt: skip
        if all(r["theory"] is not None for r in rows):
            ax.plot(n, [r["theory"] for r in rows], "--", color=colour,
                    label=f"depth {depth} infinite width")  # fmt: skip
    if result["rows"]:
        top = max(result["rows"], key=lambda r: r["neurons"])
        ns = np.array(sorted({r["neurons"] for r in result["rows"]}), dtype=float)
        ax.plot(ns, top["per_area"] * (ns / top["neurons"]) ** 2, ":", color=OKABE_ITO[7],
                label="~ N^2")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set(title="Regions per unit area of a 2-D square", xlabel="neurons N",
           ylabel="regions / area")  # fmt: skip
    ax.legend(fontsize=8)
    return fig


def telgarsky_figure(result: Mapping[str, Any]) -> Any:
    fig, (ax,) = _figure(1, 6.0)
    rows = result["rows"]
    L = [r["L"] for r in rows]
    ax.plot(L, [r["pieces"] for r in rows], "o-", color=OKABE_ITO[0], label="sawtooth (exact)")
    ax.plot(L, [r["two_power"] for r in rows], "--", color=OKABE_ITO[0], label="2^L")
    ax.errorbar(
        L,
        [r["random_mean"] for r in rows],
        yerr=[r["random_se"] for r in rows],
        fmt="s-",
        color=OKABE_ITO[1],
        label="random nets, same widths",
        capsize=2,
    )
    ax.plot(L, [10 ** r["log10_serra"] for r in rows], ":", color=OKABE_ITO[2],
            label="Serra et al. bound")  # fmt: skip
    ax.plot(L, [10 ** r["log10_three_power"] for r in rows], ":", color=OKABE_ITO[7],
            label="3^N")  # fmt: skip
    ax.set_yscale("log")
    ax.set(title="Telgarsky's sawtooth on [0, 1]", xlabel="compositions L (depth 2L, 3L-1 "
           "neurons)", ylabel="linear pieces")  # fmt: skip
    ax.legend(fontsize=8)
    return fig


def zaslavsky_figure(result: Mapping[str, Any]) -> Any:
    fig, (ax,) = _figure(1, 5.0)
    for i, n0 in enumerate((1, 2)):
        rows = [r for r in result["rows"] if r["n0"] == n0 and r["position"] == "general"]
        ax.plot([r["n1"] for r in rows], [r["max"] for r in rows], "o", color=OKABE_ITO[i],
                label=f"n0={n0} counted")  # fmt: skip
        ax.plot([r["n1"] for r in rows], [r["zaslavsky"] for r in rows], "--",
                color=OKABE_ITO[i], label=f"n0={n0} Zaslavsky")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set(title="Depth one: global regions", xlabel="neurons n1", ylabel="regions")
    ax.legend(fontsize=8)
    return fig

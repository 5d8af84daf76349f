"""The multi-net computations of the linregions experiment (each a declared Study).

    depth       count along a segment against the number of neurons N at depths 1, 4, 8
    bias        count against the bias variance C_b
    coarea      exact counts per layer against Hanin & Rolnick's co-area formula (Monte Carlo)
    map         the 2-D region map of one net (Hanin & Rolnick 2019, Fig. 1-2)
    area        regions per unit area of a 2-D square against N (~ N^2)
    telgarsky   Telgarsky's sawtooth: 2^L pieces from 3L - 1 neurons, against random nets
    zaslavsky   depth one: global counts against Zaslavsky's formula (1-D and 2-D)

Every function takes its params, a seed and a StudyContext and returns JSON (lists, floats).
Nets are drawn with :func:`.network.net_rng` (seed, index): net i of a study is the same whatever
else the study computes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from theoryscope.experiments.linregions import theory as th
from theoryscope.experiments.linregions.count1d import count_segment
from theoryscope.experiments.linregions.network import Net, net_rng, random_net, telgarsky_net
from theoryscope.spec import StudyContext


def segment_ends(n0: int, lo: float, hi: float, offset: float) -> tuple[np.ndarray, np.ndarray]:
    """The segment ``x(t) = t e_1 + offset e_2``, t in [lo, hi] (n_0 = 1: [lo, hi])."""
    x0, x1 = np.zeros(n0), np.zeros(n0)
    x0[0], x1[0] = lo, hi
    if n0 >= 2:
        x0[1] = x1[1] = offset
    return x0, x1


def _mean_se(values: Any) -> tuple[float, float]:
    arr = np.asarray(values, dtype=np.float64)
    if len(arr) < 2:
        return float(arr.mean()) if len(arr) else float("nan"), float("nan")
    return float(arr.mean()), float(arr.std(ddof=1) / math.sqrt(len(arr)))


def _fit_line(x: Sequence[float], y: Sequence[float], se: Sequence[float] | None = None) -> dict:
    """Least squares y = a + s x: slope, its standard error, intercept.

    Weighted by 1/se^2 when every se is finite and positive (then ``slope_se`` is
    sqrt((A^T W A)^-1)_11); unweighted otherwise (one net per point has no se) with no slope se.
    Solved by QR of the whitened design W^1/2 A, so (A^T W A)^-1 = R^-1 R^-T is positive
    semi-definite even when the weights span many decades. All None when fewer than two
    distinct x determine no line (two totals that give the same N at one depth).
    """
    none = {"slope": None, "slope_se": None, "intercept": None}
    x_, y_ = np.asarray(x, float), np.asarray(y, float)
    if len(np.unique(x_)) < 2 or not np.all(np.isfinite(y_)):
        return none
    s = None if se is None else np.asarray(se, float)
    weighted = s is not None and bool(np.all(np.isfinite(s)) and np.all(s > 0))
    scale = s if weighted and s is not None else np.ones_like(x_)
    q, r = np.linalg.qr(np.stack([np.ones_like(x_), x_], axis=1) / scale[:, None])
    r_inv = np.linalg.inv(r)  # 2 x 2 upper triangular, invertible: the x are not all equal
    coef = r_inv @ (q.T @ (y_ / scale))
    slope_se = math.sqrt(float(r_inv[1] @ r_inv[1])) if weighted else None
    return {"slope": float(coef[1]), "slope_se": slope_se, "intercept": float(coef[0])}


def count_nets(
    seed: int,
    nets: int,
    n0: int,
    widths: Sequence[int],
    x0: np.ndarray,
    x1: np.ndarray,
    *,
    c_w: float,
    c_b: float,
    bias: str,
    stream: int = 0,
    context: StudyContext | None = None,
) -> list[Any] | None:
    """Exact counts of ``nets`` random nets (None if the study was asked to stop)."""
    out = []
    for i in range(nets):
        if context is not None and context.should_stop():
            return None
        net = random_net(net_rng(seed, stream * 1_000_003 + i), n0, widths, c_w=c_w, c_b=c_b,
                         bias=bias)  # fmt: skip
        out.append(count_segment(net, x0, x1))
    return out


# ------------------------------------------------------------------------------------------------
# depth: count against N at fixed depth
# ------------------------------------------------------------------------------------------------
def run_depth(params: Any, seed: int, context: StudyContext) -> dict[str, Any]:
    """Mean exact count against N = depth * width for each depth, the infinite-width line and the
    worst-case bounds; slope of count against N per depth (Hanin & Rolnick 2019, Cor. 5)."""
    x0, x1 = segment_ends(params.n0, params.lo, params.hi, params.offset)
    grid = [(d, max(1, n // d)) for d in params.depths for n in params.totals]
    rows: list[dict[str, Any]] = []
    stopped = False
    for k, (depth, width) in enumerate(grid):
        context.progress(k / len(grid), f"depth {depth}, width {width}")
        widths = [width] * depth
        counts = count_nets(seed, params.nets, params.n0, widths, x0, x1, c_w=params.c_w,
                            c_b=params.c_b, bias=params.bias, stream=k, context=context)  # fmt: skip
        if counts is None:
            stopped = True
            break
        mean, se = _mean_se([c.activation_regions for c in counts])
        lmean, lse = _mean_se([c.regions for c in counts])
        bounds = th.bounds(params.n0, widths)
        rows.append({
            "depth": depth, "width": width, "neurons": depth * width, "mean": mean, "se": se,
            "linear_mean": lmean, "linear_se": lse,
            "theory": th.expected_segment_regions(widths, x0, x1, c_w=params.c_w, c_b=params.c_b,
                                                  bias=params.bias),
            "log10_three_power": bounds["log10_three_power"],
            "log10_serra": bounds["log10_serra"],
        })  # fmt: skip
    slopes = []
    for depth in params.depths:
        sub = [r for r in rows if r["depth"] == depth]
        if len(sub) < 2:
            continue
        fit = _fit_line([r["neurons"] for r in sub], [r["mean"] for r in sub],
                        [max(r["se"], 1e-9) for r in sub])  # fmt: skip
        fit_th = _fit_line([r["neurons"] for r in sub], [r["theory"] for r in sub])
        slopes.append({"depth": depth, "slope": fit["slope"], "slope_se": fit["slope_se"],
                       "theory_slope": fit_th["slope"]})  # fmt: skip
    context.progress(1.0, "done")
    return {"rows": rows, "slopes": slopes, "stopped": stopped, "length": params.hi - params.lo,
            "n0": params.n0, "c_b": params.c_b, "bias": params.bias, "nets": params.nets}  # fmt: skip


def depth_lines(result: dict[str, Any]) -> list[str]:
    lines = [f"n0={result['n0']} bias {result['bias']} C_b={result['c_b']:g}, segment length "
             f"{result['length']:g}, {result['nets']} nets per point",
             "depth  width  N      activation regions   linear regions   infinite width  "
             "log10 Serra  log10 3^N"]  # fmt: skip
    for r in result["rows"]:
        lines.append(f"{r['depth']:<6} {r['width']:<6} {r['neurons']:<6} {r['mean']:8.2f} +- "
                     f"{r['se']:<7.2f} {r['linear_mean']:8.2f}         {r['theory']:8.2f}        "
                     f"{r['log10_serra']:8.1f}    {r['log10_three_power']:8.1f}")  # fmt: skip
    for s in result["slopes"]:
        if s["slope"] is None:
            continue
        se = "" if s["slope_se"] is None else f" (+- {s['slope_se']:.4f})"
        lines.append(f"depth {s['depth']}: count ~ {s['slope']:.4f}{se} N; "
                     f"infinite width {s['theory_slope']:.4f} N")  # fmt: skip
    return lines


# ------------------------------------------------------------------------------------------------
# bias: count against C_b
# ------------------------------------------------------------------------------------------------
def run_bias(params: Any, seed: int, context: StudyContext) -> dict[str, Any]:
    """Mean exact count against C_b with the infinite-width prediction."""
    x0, x1 = segment_ends(params.n0, params.lo, params.hi, params.offset)
    rows = []
    stopped = False
    for k, c_b in enumerate(params.c_bs):
        context.progress(k / len(params.c_bs), f"C_b = {c_b:g}")
        counts = count_nets(seed, params.nets, params.n0, params.widths, x0, x1, c_w=params.c_w,
                            c_b=c_b, bias=params.bias, stream=k, context=context)  # fmt: skip
        if counts is None:
            stopped = True
            break
        mean, se = _mean_se([c.activation_regions for c in counts])
        lmean, lse = _mean_se([c.regions for c in counts])
        rows.append({"c_b": c_b, "mean": mean, "se": se, "linear_mean": lmean, "linear_se": lse,
                     "theory": th.expected_segment_regions(params.widths, x0, x1, c_w=params.c_w,
                                                           c_b=c_b, bias=params.bias)})  # fmt: skip
    context.progress(1.0, "done")
    return {"rows": rows, "stopped": stopped, "widths": list(params.widths), "n0": params.n0,
            "bias": params.bias, "nets": params.nets, "length": params.hi - params.lo}  # fmt: skip


def bias_lines(result: dict[str, Any]) -> list[str]:
    lines = [f"widths {result['widths']} n0={result['n0']} bias {result['bias']}, "
             f"{result['nets']} nets per point", "C_b        activation regions   linear    "
             "infinite width"]  # fmt: skip
    for r in result["rows"]:
        lines.append(f"{r['c_b']:<10.4g} {r['mean']:8.2f} +- {r['se']:<7.2f} "
                     f"{r['linear_mean']:8.2f}  {r['theory']:8.2f}")  # fmt: skip
    return lines


# ------------------------------------------------------------------------------------------------
# coarea: exact counts against the co-area formula, layer by layer
# ------------------------------------------------------------------------------------------------
def run_coarea(params: Any, seed: int, context: StudyContext) -> dict[str, Any]:
    """Per layer: exact breakpoints (mean over nets), the co-area formula by Monte Carlo on the
    same nets (paired z-score), and the infinite-width closed form."""
    import jax

    from theoryscope.experiments.linregions.coarea import coarea_layers

    x0, x1 = segment_ends(params.n0, params.lo, params.hi, params.offset)
    depth = len(params.widths)
    nets: list[Net] = []
    exact = []
    for i in range(params.nets):
        if context.should_stop():
            return {"rows": [], "stopped": True}
        if i % 10 == 0:
            context.progress(0.8 * i / params.nets, f"exact counts {i}/{params.nets}")
        net = random_net(net_rng(seed, i), params.n0, params.widths, c_w=params.c_w,
                         c_b=params.c_b, bias=params.bias)  # fmt: skip
        nets.append(net)
        exact.append(count_segment(net, x0, x1).per_layer(depth))
    context.progress(0.8, "co-area Monte Carlo")
    key = jax.random.fold_in(jax.random.PRNGKey(seed), 1)
    co = coarea_layers(nets, x0, x1, c_b=params.c_b, bias=params.bias, points=params.points,
                       key=key)  # fmt: skip
    ex = np.asarray(exact, dtype=np.float64)
    theory = th.segment_layer_counts(params.widths, x0, x1, c_w=params.c_w, c_b=params.c_b,
                                     bias=params.bias)  # fmt: skip
    rows = []
    for l in range(depth):
        rows.append(
            _paired(ex[:, l], co[:, l], float(theory[l]))
            | {"layer": l + 1, "width": params.widths[l]}
        )
    total = _paired(ex.sum(1), co.sum(1), float(theory.sum())) | {"layer": "all"}
    context.progress(1.0, "done")
    return {"rows": rows, "total": total, "stopped": False, "widths": list(params.widths),
            "nets": params.nets, "points": params.points, "n0": params.n0,
            "bias": params.bias, "c_b": params.c_b}  # fmt: skip


def _paired(exact: np.ndarray, co: np.ndarray, theory: float) -> dict[str, Any]:
    diff = exact - co
    n = len(diff)
    se_diff = float(diff.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    e_mean, e_se = _mean_se(exact)
    c_mean, c_se = _mean_se(co)
    z = float(diff.mean() / se_diff) if se_diff and se_diff > 0 else None
    return {"exact": e_mean, "exact_se": e_se, "coarea": c_mean, "coarea_se": c_se,
            "z_paired": z, "se_diff": se_diff, "theory": theory}  # fmt: skip


def coarea_lines(result: dict[str, Any]) -> list[str]:
    if not result.get("rows"):
        return ["stopped before any result"]
    lines = [f"widths {result['widths']} n0={result['n0']} bias {result['bias']} "
             f"C_b={result['c_b']:g}: {result['nets']} nets, {result['points']} points per net",
             "layer  exact breakpoints   co-area (MC)        paired z   infinite width"]  # fmt: skip
    for r in [*result["rows"], result["total"]]:
        z = "-" if r["z_paired"] is None else f"{r['z_paired']:+.2f}"
        lines.append(f"{r['layer']!s:<6} {r['exact']:8.3f} +- {r['exact_se']:<6.3f} "
                     f"{r['coarea']:8.3f} +- {r['coarea_se']:<6.3f} {z:<10} "
                     f"{r['theory']:8.3f}")  # fmt: skip
    return lines


# ------------------------------------------------------------------------------------------------
# map: the regions of one net in a square
# ------------------------------------------------------------------------------------------------
PALETTE_SIZE = 8


def run_map(params: Any, seed: int, context: StudyContext) -> dict[str, Any]:
    """Refine the square into activation regions layer by layer; colour, count, cross-check."""
    from theoryscope.experiments.linregions.count2d import (
        PlaneMap,
        greedy_colours,
        line_count,
        plane_basis,
        region_map,
    )

    net = random_net(net_rng(seed, 0), params.n0, params.widths, c_w=params.c_w, c_b=params.c_b,
                     bias=params.bias)  # fmt: skip
    center, basis = plane_basis(params.n0, params.offset)
    context.progress(0.05, "refining polygons")
    pmap = region_map(net, params.half, center=center, basis=basis, keep_layers=True)
    if context.should_stop():
        return {"stopped": True, "layers": []}
    context.progress(0.5, "colouring")
    assert pmap.layers is not None
    colours = []
    for polys in pmap.layers[:-1]:
        layer_map = PlaneMap(polygons=polys, patterns=np.zeros((0, 0), bool),
                             grads=np.zeros((0, 0)), half=pmap.half)  # fmt: skip
        colours.append(greedy_colours(layer_map, PALETTE_SIZE).tolist())
    colours.append(greedy_colours(pmap, PALETTE_SIZE).tolist())
    # cross-check: the horizontal line through the middle, counted on the map and exactly in 1-D
    level = params.half * 0.1234
    on_map = line_count(pmap, level)
    a = center + basis @ np.array([-params.half, level])
    b = center + basis @ np.array([params.half, level])
    exact_line = count_segment(net, a, b).activation_regions
    sq = th.expected_square(params.widths, params.half, n0=params.n0, offset=params.offset,
                            c_w=params.c_w, c_b=params.c_b, bias=params.bias)  # fmt: skip
    layers_out = []
    for polys in pmap.layers:
        layers_out.append([np.round(p, 7).tolist() for p in polys])
    context.progress(1.0, "done")
    return {
        "stopped": False,
        "widths": list(params.widths), "n0": params.n0, "half": params.half,
        "c_b": params.c_b, "bias": params.bias,
        "layers": layers_out,
        "colours": colours,
        "layer_counts": list(pmap.layer_counts or []),
        "activation_regions": pmap.activation_regions,
        "linear_regions": pmap.linear_regions,
        "line_level": level, "line_count_map": on_map, "line_count_exact": exact_line,
        "theory_regions": sq.regions if sq is not None else None,
        "theory_paths": sq.paths if sq is not None else None,
        "theory_crossings": sq.crossings if sq is not None else None,
        "area": pmap.area,
    }  # fmt: skip


def map_lines(result: dict[str, Any]) -> list[str]:
    if result.get("stopped"):
        return ["stopped before any result"]
    theory = result.get("theory_regions")
    lines = [
        f"widths {result['widths']} n0={result['n0']} square [-{result['half']:g}, "
        f"{result['half']:g}]^2, bias {result['bias']} C_b={result['c_b']:g}",
        f"activation regions {result['activation_regions']}, linear regions "
        f"{result['linear_regions']}; after each layer {result['layer_counts']}",
        f"line s2={result['line_level']:.4g}: {result['line_count_map']} regions on the map, "
        f"{result['line_count_exact']} by the exact 1-D count",
    ]
    if theory is not None:
        lines.append(f"infinite-width expectation {theory:.1f} (1 + {result['theory_paths']:.1f} "
                     f"paths + {result['theory_crossings']:.1f} crossings)")  # fmt: skip
    return lines


# ------------------------------------------------------------------------------------------------
# area: 2-D count per unit area against N
# ------------------------------------------------------------------------------------------------
def run_area(params: Any, seed: int, context: StudyContext) -> dict[str, Any]:
    """Mean activation regions per unit area of the square against N for each depth, with the
    infinite-width expectation; the log-log slope over the largest two N (-> 2)."""
    from theoryscope.experiments.linregions.count2d import plane_basis, region_map

    center, basis = plane_basis(params.n0, params.offset)
    area = (2.0 * params.half) ** 2
    grid = [(d, max(1, n // d)) for d in params.depths for n in params.totals]
    rows = []
    stopped = False
    for k, (depth, width) in enumerate(grid):
        context.progress(k / len(grid), f"depth {depth}, width {width}")
        widths = [width] * depth
        counts = []
        for i in range(params.nets):
            if context.should_stop():
                stopped = True
                break
            net = random_net(net_rng(seed, k * 1_000_003 + i), params.n0, widths, c_w=params.c_w,
                             c_b=params.c_b, bias=params.bias)  # fmt: skip
            pmap = region_map(net, params.half, center=center, basis=basis, linear=False)
            counts.append(pmap.activation_regions / area)
        if stopped:
            break
        mean, se = _mean_se(counts)
        sq = th.expected_square(widths, params.half, n0=params.n0, offset=params.offset,
                                c_w=params.c_w, c_b=params.c_b, bias=params.bias)  # fmt: skip
        rows.append({"depth": depth, "width": width, "neurons": depth * width,
                     "per_area": mean, "se": se,
                     "theory": (sq.regions / area) if sq is not None else None})  # fmt: skip
    exponents = []
    for depth in params.depths:
        sub = [r for r in rows if r["depth"] == depth]
        if len(sub) < 2:
            continue
        a, b = sub[-2], sub[-1]
        slope = math.log(b["per_area"] / a["per_area"]) / math.log(b["neurons"] / a["neurons"])
        slope_th = None
        if a["theory"] is not None and b["theory"] is not None:
            slope_th = math.log(b["theory"] / a["theory"]) / math.log(b["neurons"] / a["neurons"])
        exponents.append({"depth": depth, "exponent": slope, "theory_exponent": slope_th,
                          "from_neurons": a["neurons"], "to_neurons": b["neurons"]})  # fmt: skip
    context.progress(1.0, "done")
    return {"rows": rows, "exponents": exponents, "stopped": stopped, "half": params.half,
            "n0": params.n0, "c_b": params.c_b, "bias": params.bias, "nets": params.nets}  # fmt: skip


def area_lines(result: dict[str, Any]) -> list[str]:
    lines = [f"square [-{result['half']:g}, {result['half']:g}]^2, n0={result['n0']} bias "
             f"{result['bias']} C_b={result['c_b']:g}, {result['nets']} nets per point",
             "depth  width  N      regions / area        infinite width"]  # fmt: skip
    for r in result["rows"]:
        t = "-" if r["theory"] is None else f"{r['theory']:.2f}"
        lines.append(f"{r['depth']:<6} {r['width']:<6} {r['neurons']:<6} {r['per_area']:9.2f} +- "
                     f"{r['se']:<8.2f} {t}")  # fmt: skip
    for e in result["exponents"]:
        t = "-" if e["theory_exponent"] is None else f"{e['theory_exponent']:.3f}"
        lines.append(
            f"depth {e['depth']}: regions/area ~ N^{e['exponent']:.3f} between N="
            f"{e['from_neurons']} and {e['to_neurons']} (infinite width N^{t})"
        )
    return lines


# ------------------------------------------------------------------------------------------------
# telgarsky
# ------------------------------------------------------------------------------------------------
def run_telgarsky(params: Any, seed: int, context: StudyContext) -> dict[str, Any]:
    """Exact pieces of Telgarsky's sawtooth on [0, 1] against 2^L, next to random nets of the same
    widths (Gaussian init) and the worst-case bounds."""
    rows: list[dict[str, Any]] = []
    for depth in range(1, params.max_depth + 1):
        if context.should_stop():
            return {"rows": rows, "stopped": True}
        context.progress((depth - 1) / params.max_depth, f"L = {depth}")
        net = telgarsky_net(depth)
        counted = count_segment(net, np.array([0.0]), np.array([1.0]))
        widths = list(net.widths)
        random_counts = count_nets(seed, params.nets, 1, widths, np.array([0.0]), np.array([1.0]),
                                   c_w=params.c_w, c_b=params.c_b, bias="gaussian",
                                   stream=depth)  # fmt: skip
        assert random_counts is not None
        mean, se = _mean_se([c.regions for c in random_counts])
        bounds = th.bounds(1, widths)
        rows.append({"L": depth, "depth": 2 * depth, "neurons": net.neurons,
                     "pieces": counted.regions, "activation_regions": counted.activation_regions,
                     "two_power": 2**depth, "random_mean": mean, "random_se": se,
                     "log10_three_power": bounds["log10_three_power"],
                     "log10_serra": bounds["log10_serra"]})  # fmt: skip
    context.progress(1.0, "done")
    return {"rows": rows, "stopped": False, "c_b": params.c_b, "nets": params.nets}


def telgarsky_lines(result: dict[str, Any]) -> list[str]:
    lines = ["L   depth  neurons  pieces   2^L      random nets (same widths)  log10 Serra  "
             "log10 3^N"]  # fmt: skip
    for r in result["rows"]:
        lines.append(f"{r['L']:<3} {r['depth']:<6} {r['neurons']:<8} {r['pieces']:<8} "
                     f"{r['two_power']:<8} {r['random_mean']:8.2f} +- {r['random_se']:<12.2f} "
                     f"{r['log10_serra']:8.2f}    {r['log10_three_power']:8.2f}")  # fmt: skip
    return lines


# ------------------------------------------------------------------------------------------------
# zaslavsky: depth one, global counts
# ------------------------------------------------------------------------------------------------
def global_count_1d(net: Net) -> int:
    """Linear regions of a depth-one net on the whole real line (n_0 = 1)."""
    w, b = net.hidden[0]
    xi = -b / w[:, 0]
    pad = 1.0 + float(np.max(np.abs(xi)))
    return count_segment(net, np.array([-pad]), np.array([pad])).activation_regions


def global_count_2d(net: Net) -> int:
    """Activation regions of a depth-one net on the whole plane (n_0 = 2): the square is made
    larger than every vertex of the arrangement and every line's closest point to the origin, so
    each cell meets it (a cell's boundary has a vertex or a whole line) in one convex piece."""
    from theoryscope.experiments.linregions.count2d import intersections, region_map

    w, b = net.hidden[0]
    pts, _, _ = intersections(w, b)
    feet = -b[:, None] * w / np.sum(w * w, axis=1, keepdims=True)  # closest point of each line
    reach = max(1.0, float(np.max(np.abs(np.concatenate([pts, feet])))))
    return region_map(net, 2.0 * reach + 1.0, linear=False).activation_regions


def run_zaslavsky(params: Any, seed: int, context: StudyContext) -> dict[str, Any]:
    """Global regions of depth-one nets (every net) against sum_{i<=n0} C(n1, i), and against the
    count read off the actual arrangement (concurrent lines with zero biases included)."""
    from theoryscope.experiments.linregions.count2d import arrangement_regions

    rows: list[dict[str, Any]] = []
    cases = [
        (n0, n1, pos) for n0 in (1, 2) for n1 in params.n1s for pos in ("general", "zero-bias")
    ]
    for k, (n0, n1, position) in enumerate(cases):
        if context.should_stop():
            return {"rows": rows, "stopped": True}
        context.progress(k / len(cases), f"n0 = {n0}, n1 = {n1}, {position}")
        counted, arranged = [], []
        for i in range(params.nets):
            bias = "gaussian" if position == "general" else "zero"
            c_b = params.c_b if position == "general" else 0.0
            net = random_net(net_rng(seed, k * 1_000_003 + i), n0, [n1], c_w=2.0, c_b=c_b,
                             bias=bias)  # fmt: skip
            counted.append(global_count_1d(net) if n0 == 1 else global_count_2d(net))
            arranged.append(arrangement_regions(*net.hidden[0]))
        rows.append({"n0": n0, "n1": n1, "position": position,
                     "zaslavsky": th.zaslavsky(n1, n0) if position == "general" else None,
                     "arrangement": int(min(arranged)), "arrangement_max": int(max(arranged)),
                     "min": int(min(counted)), "max": int(max(counted)),
                     "all_equal": bool(counted == arranged)})  # fmt: skip
    context.progress(1.0, "done")
    return {"rows": rows, "stopped": False, "nets": params.nets}


def zaslavsky_lines(result: dict[str, Any]) -> list[str]:
    lines = ["n0  n1   position   counted (min..max)   Zaslavsky   from the arrangement  "
             "every net equal"]  # fmt: skip
    for r in result["rows"]:
        z = "-" if r["zaslavsky"] is None else str(r["zaslavsky"])
        lines.append(f"{r['n0']:<3} {r['n1']:<4} {r['position']:<10} {r['min']:>6}..{r['max']:<12}"
                     f" {z:<11} {r['arrangement']}..{r['arrangement_max']:<16} "
                     f"{r['all_equal']}")  # fmt: skip
    return lines

"""What the linregions experiment shows: the run's figure and metrics, the studies, presets and
costs. Read by every surface (CLI, web page, sweeps, reports); nothing heavy runs at import."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import model_validator

from theoryscope.errors import ConfigError
from theoryscope.experiments.linregions.config import (
    HR,
    LECTURE,
    MAX_DEPTH,
    MAX_NEURONS,
    MAX_WIDTH,
    Config,
    check_bias,
    zero_bias_default,
)
from theoryscope.spec import (
    Curve,
    Estimate,
    ExperimentConfig,
    Figure,
    Float,
    FloatTuple,
    Int,
    IntTuple,
    Metric,
    Panel,
    Preset,
    Study,
    param,
)

PAPER = "Hanin & Rolnick, 'Complexity of linear regions in deep networks', ICML 2019"
PAPER_2 = "Hanin & Rolnick, 'Deep ReLU networks have surprisingly few activation patterns', 2019"
TELGARSKY = "Telgarsky 2015, 'Representation benefits of deep feedforward networks'"
SERRA = "Serra, Tjandraatmadja & Ramalingam, ICML 2018"
ZASLAVSKY = "Zaslavsky 1975; seed 002, lecture 12/5, Example 2"

FIGURES = (
    Figure(
        name="training",
        title="Linear regions of a ReLU net during training on sin(pi k x), counted exactly",
        panels=(
            Panel(
                title="Regions on [lo, hi] (initial infinite-width expectation dashed)",
                x_label="step",
                y_label="regions",
                x_log=True,
                curves=(
                    Curve(y="series.regions", x="series.step", label="linear regions (exact)"),
                    Curve(y="series.activation_regions", x="series.step",
                          label="activation regions (exact)", color=1),
                    Curve(y="theory.regions", x="theory.step",
                          label="expected at init (infinite width)", style="dashed", color=0),
                ),
            ),
            Panel(
                title="Training loss",
                x_label="step",
                y_label="1/2 mean (f - y)^2",
                x_log=True,
                y_log=True,
                curves=(Curve(y="series.loss", x="series.step", label="loss"),),
            ),
        ),
    ),
)  # fmt: skip

METRICS = (
    Metric("initial_regions", "activation regions at init vs infinite-width expectation",
           "agreement.initial_activation_regions", "agreement.expected_regions",
           tex=r"\#\mathrm{regions}(0)", cite=PAPER),
    Metric("final_over_initial", "linear regions: final / initial",
           "agreement.final_over_initial", cite=PAPER),
    Metric("max_over_initial", "linear regions: max during training / initial",
           "agreement.max_over_initial", cite=PAPER),
    Metric("final_loss", "final training loss", "agreement.final_loss"),
)  # fmt: skip

PRESETS = (
    Preset("tiny", "A run of about a second: widths 8,8, 60 Adam steps",
           {"widths": (8, 8), "steps": 60, "records": 6, "train_points": 16}),
    Preset("hanin-rolnick", "Three layers of 32, Adam on sin(4 pi x): the count stays of the same "
           "order (Hanin & Rolnick 2019, Sec. 6)", {"widths": (32, 32, 32), "freq": 4,
                                                   "train_points": 256, "lr": 1e-3,
                                                   "steps": 20_000, "records": 60}, cite=PAPER),
    Preset("deep-narrow", "Eight layers of 16 (N = 128) on sin(4 pi x)",
           {"widths": (16,) * 8, "freq": 4, "train_points": 256, "lr": 1e-3, "steps": 20_000,
            "records": 60}, cite=PAPER),
    Preset("gd", "Plain gradient descent, three layers of 32",
           {"widths": (32, 32, 32), "freq": 2, "optimizer": "gd", "lr": 0.05, "steps": 20_000,
            "records": 60}),
)  # fmt: skip


# ------------------------------------------------------------------------------------------------
# costs (fitted on the 2-core machine; see docs/linregions.md)
# ------------------------------------------------------------------------------------------------
def _pieces(neurons: int, length: float) -> float:
    """A generous guess of the pieces on a segment (at most ~1 breakpoint per neuron per unit
    length at He init, plus one per neuron for the first layer's unit-length kink)."""
    return 1.0 + neurons * (1.0 + length)


def count_seconds(widths: Any, n0: int, length: float) -> float:
    """Seconds of one exact 1-D count: ~0.3 ms per layer plus the per-piece matrix products."""
    pieces = _pieces(sum(widths), length)
    fan = [n0, *widths]
    flops = sum(4.0 * pieces * fan[i] * fan[i + 1] for i in range(len(widths)))
    return 3e-4 * len(widths) + flops / 3e8


def count_memory(widths: Any, n0: int, length: float) -> float:
    pieces = _pieces(sum(widths), length)
    return 64e6 + 8.0 * 8.0 * pieces * max([n0, *widths]) + 2.0 * pieces * sum(widths)


def plane_polygons(widths: Any, half: float) -> float:
    """A guess of the regions in [-half, half]^2 at He init: ~N per unit side from the paths and
    ~0.1 (N side)^2 from the crossings, the side capped at 2 (the density falls off beyond |x|~1;
    measured 3,346 for 3 x 32 at half 1.5 and 3,420 for 96 neurons at half 1)."""
    n = sum(widths)
    side = min(2.0 * half, 2.0)
    return 1.0 + n * side + 0.1 * (n * side) ** 2


def plane_seconds(widths: Any, half: float, colour: bool = False) -> float:
    """Seconds of a 2-D refinement: ~0.3 ms per polygon per layer, ~0.5 ms per polygon to
    colour (measured on the shared 2-core machine)."""
    polys = plane_polygons(widths, half)
    return 3e-4 * polys * len(widths) + (5e-4 * polys * len(widths) if colour else 0.0)


def estimate(config: Config) -> Estimate:
    """Training steps (forward + backward over P points) plus one exact count per record."""
    fan = [1, *config.widths, 1]
    params = sum(fan[i] * fan[i + 1] for i in range(len(fan) - 1))
    step = 3e-5 + 6.0 * config.train_points * params / 5e9  # ~5 GFLOP/s measured (jit, CPU)
    length = config.hi - config.lo
    seconds = 1.5 + config.steps * step
    seconds += config.records * count_seconds(config.widths, 1, length)
    memory = count_memory(config.widths, 1, length) + 8.0 * 10 * config.train_points * max(fan)
    return Estimate(memory_bytes=memory, seconds=seconds,
                    fields=("steps", "widths", "train_points", "records"))  # fmt: skip


# ------------------------------------------------------------------------------------------------
# study parameters
# ------------------------------------------------------------------------------------------------
def _n0(default: int) -> Any:
    return param(default, ge=1, le=MAX_WIDTH, help="Input dimension n_0.", tex="n_0",
                 cite=LECTURE)  # fmt: skip


def _c_w() -> Any:
    return param(2.0, gt=0, le=16.0, help="Weight variance C_w (W ~ N(0, C_w / fan_in)).",
                 tex="C_w", cite=HR)  # fmt: skip


def _c_b(default: float = 0.1) -> Any:
    return param(default, ge=0, le=100.0, help="Bias variance C_b.", tex="C_b", cite=HR)


def _bias() -> Any:
    return param("gaussian", help="Bias law: N(0, C_b), uniform of variance C_b, or zero.")


def _nets(default: int, most: int = 10_000) -> Any:
    return param(default, ge=1, le=most, help="Random nets per point.", web_max=2000)


def _widths(default: tuple[int, ...]) -> Any:
    return param(default, item_ge=1, item_le=MAX_WIDTH, min_items=1, max_items=MAX_DEPTH,
                 help="Hidden widths n_1,...,n_L.", tex="n_l", cite=LECTURE)  # fmt: skip


def _lo(default: float) -> Any:
    return param(default, ge=-1e3, le=1e3, help="Segment start t0 (x(t) = t e_1 + offset e_2).")


def _hi(default: float) -> Any:
    return param(default, ge=-1e3, le=1e3, help="Segment end t1.")


def _offset(default: float) -> Any:
    return param(default, ge=-1e3, le=1e3, help="Distance of the line (or plane) from the "
                 "origin along e_2 (e_3 for a plane; needs a larger n_0).")  # fmt: skip


class _Checked(ExperimentConfig):
    """Shared rules: hi > lo, the bias law against C_b, the offset needs room."""

    #: The offset moves a line along e_2 (needs n_0 >= 2) or a plane along e_3 (n_0 >= 3).
    offset_room: ClassVar[int] = 2

    @model_validator(mode="before")
    @classmethod
    def _zero_bias(cls, data: Any) -> Any:
        return zero_bias_default(data)

    @model_validator(mode="after")
    def _rules(self) -> Any:
        lo, hi = getattr(self, "lo", None), getattr(self, "hi", None)
        if lo is not None and hi is not None and hi <= lo:
            raise ConfigError("hi", f"got {hi:g} <= lo = {lo:g}; allowed: hi > lo")
        if hasattr(self, "c_b") and hasattr(self, "bias"):
            check_bias(self.bias, self.c_b)
        n0 = getattr(self, "n0", None)
        offset = getattr(self, "offset", 0.0)
        room = self.offset_room
        if n0 is not None and offset != 0.0 and n0 < room:
            raise ConfigError("offset", f"got {offset:g} with n0 = {n0}; allowed: 0 unless "
                              f"n0 >= {room}")  # fmt: skip
        widths = getattr(self, "widths", None)
        if widths is not None and sum(widths) > MAX_NEURONS:
            raise ConfigError("widths", f"has {sum(widths)} neurons; allowed: at most "
                              f"{MAX_NEURONS} in all")  # fmt: skip
        return self


class DepthParams(_Checked):
    """Count along a segment against N = depth x width, for several depths."""

    depths: IntTuple = param((1, 4, 8), item_ge=1, item_le=MAX_DEPTH, min_items=1, max_items=8,
                             distinct=True, help="Depths L.", tex="L", cite=PAPER)  # fmt: skip
    totals: IntTuple = param((32, 64, 128, 256), item_ge=1, item_le=MAX_NEURONS, min_items=1,
                             max_items=16, distinct=True, help="Total neurons N (width = N // L).",
                             tex="N", cite=PAPER)  # fmt: skip
    n0: Int = _n0(1)
    c_w: Float = _c_w()
    c_b: Float = _c_b()
    bias: Literal["gaussian", "uniform", "zero"] = _bias()
    lo: Float = _lo(-1.0)
    hi: Float = _hi(1.0)
    offset: Float = _offset(0.0)
    nets: Int = _nets(40)


class BiasParams(_Checked):
    """Count along a segment against the bias variance C_b."""

    widths: IntTuple = _widths((32, 32, 32))
    c_bs: FloatTuple = param((0.001, 0.01, 0.1, 1.0, 10.0), item_gt=0, item_le=100.0,
                             min_items=1, max_items=16, distinct=True,
                             help="Bias variances C_b.", tex="C_b", cite=PAPER)  # fmt: skip
    n0: Int = _n0(1)
    c_w: Float = _c_w()
    bias: Literal["gaussian", "uniform"] = param("gaussian", help="Bias law (variance C_b).")
    lo: Float = _lo(-1.0)
    hi: Float = _hi(1.0)
    offset: Float = _offset(0.0)
    nets: Int = _nets(40)


class CoareaParams(_Checked):
    """Exact counts per layer against the co-area formula (Monte Carlo) on the same nets."""

    widths: IntTuple = _widths((16, 16, 16))
    n0: Int = _n0(2)
    c_w: Float = _c_w()
    c_b: Float = param(0.1, gt=0, le=100.0, help="Bias variance C_b (> 0: the formula needs a "
                       "bias density).", tex="C_b", cite=PAPER)  # fmt: skip
    bias: Literal["gaussian", "uniform"] = param("gaussian", help="Bias law (variance C_b).")
    lo: Float = _lo(-1.0)
    hi: Float = _hi(1.0)
    offset: Float = _offset(0.5)
    nets: Int = _nets(200)
    points: Int = param(256, ge=1, le=100_000, help="Monte Carlo points t per net.",
                        web_max=4096)  # fmt: skip


class MapParams(_Checked):
    """The 2-D region map of one net."""

    offset_room: ClassVar[int] = 3

    widths: IntTuple = _widths((32, 32, 32))
    n0: Int = param(2, ge=2, le=MAX_WIDTH, help="Input dimension n_0 (>= 2; a 2-D slice beyond).",
                    tex="n_0")  # fmt: skip
    c_w: Float = _c_w()
    c_b: Float = _c_b()
    bias: Literal["gaussian", "uniform", "zero"] = _bias()
    half: Float = param(1.5, gt=0, le=1e3, help="Half side r of the square [-r, r]^2.", tex="r")
    offset: Float = _offset(0.0)


class AreaParams(_Checked):
    """Regions per unit area of a square against N."""

    offset_room: ClassVar[int] = 3

    depths: IntTuple = param((1, 3), item_ge=1, item_le=MAX_DEPTH, min_items=1, max_items=6,
                             distinct=True, help="Depths L.", tex="L")  # fmt: skip
    totals: IntTuple = param((12, 24, 48, 96), item_ge=1, item_le=2048, min_items=2,
                             max_items=12, distinct=True, help="Total neurons N (width = N // L).",
                             tex="N", cite=PAPER_2)  # fmt: skip
    n0: Int = param(2, ge=2, le=MAX_WIDTH, help="Input dimension n_0 (>= 2).", tex="n_0")
    c_w: Float = _c_w()
    c_b: Float = _c_b()
    bias: Literal["gaussian", "uniform", "zero"] = _bias()
    half: Float = param(1.0, gt=0, le=1e3, help="Half side r of the square [-r, r]^2.", tex="r")
    offset: Float = _offset(0.0)
    nets: Int = _nets(10)


class TelgarskyParams(_Checked):
    """Telgarsky's sawtooth against random nets of the same widths."""

    max_depth: Int = param(12, ge=1, le=20, help="Largest number of compositions L.", tex="L",
                           cite=TELGARSKY)  # fmt: skip
    c_w: Float = _c_w()
    c_b: Float = param(0.1, gt=0, le=100.0, help="Bias variance of the random nets.", tex="C_b")
    nets: Int = _nets(20)


class ZaslavskyParams(_Checked):
    """Depth one: global counts against Zaslavsky's formula."""

    n1s: IntTuple = param((1, 2, 4, 8, 16, 32), item_ge=1, item_le=256, min_items=1,
                          max_items=12, distinct=True, help="Widths n_1 of the one hidden layer.",
                          tex="n_1", cite=ZASLAVSKY)  # fmt: skip
    c_b: Float = param(1.0, gt=0, le=100.0, help="Bias variance of the general-position nets.",
                       tex="C_b")  # fmt: skip
    nets: Int = _nets(5, 1000)


# ------------------------------------------------------------------------------------------------
# study estimates
# ------------------------------------------------------------------------------------------------
def _est(seconds: float, memory: float, *fields: str) -> Estimate:
    return Estimate(memory_bytes=memory, seconds=seconds, fields=fields)


def depth_estimate(p: DepthParams) -> Estimate:
    length = p.hi - p.lo
    seconds = sum(p.nets * count_seconds([n // d or 1] * d, p.n0, length)
                  for d in p.depths for n in p.totals)  # fmt: skip
    memory = count_memory([max(p.totals)], p.n0, length)
    return _est(seconds, memory, "totals", "depths", "nets")


def bias_estimate(p: BiasParams) -> Estimate:
    length = p.hi - p.lo
    seconds = len(p.c_bs) * p.nets * count_seconds(p.widths, p.n0, length)
    return _est(seconds, count_memory(p.widths, p.n0, length), "widths", "c_bs", "nets")


def coarea_estimate(p: CoareaParams) -> Estimate:
    length = p.hi - p.lo
    mc = p.nets * p.points * sum(p.widths) * max([p.n0, *p.widths]) * 8.0 / 3e8
    seconds = 3.0 + p.nets * count_seconds(p.widths, p.n0, length) + mc
    memory = count_memory(p.widths, p.n0, length) + 8.0 * 6 * p.nets * p.points * sum(p.widths)
    return _est(seconds, memory, "widths", "nets", "points")


def map_estimate(p: MapParams) -> Estimate:
    polys = plane_polygons(p.widths, p.half)
    memory = 64e6 + 400.0 * polys * len(p.widths) + 8.0 * polys * sum(p.widths) * 4
    return _est(plane_seconds(p.widths, p.half, colour=True), memory, "widths", "half")


def area_estimate(p: AreaParams) -> Estimate:
    seconds = sum(p.nets * plane_seconds([n // d or 1] * d, p.half)
                  for d in p.depths for n in p.totals)  # fmt: skip
    polys = plane_polygons([max(p.totals)], p.half)
    return _est(seconds, 64e6 + 8.0 * polys * max(p.totals) * 4, "totals", "depths", "nets",
                "half")  # fmt: skip


def telgarsky_estimate(p: TelgarskyParams) -> Estimate:
    seconds = sum(0.01 + 2**L * 1e-5 + p.nets * count_seconds([2, 1] * L, 1, 1.0)
                  for L in range(1, p.max_depth + 1))  # fmt: skip
    return _est(seconds, 64e6 + 2**p.max_depth * 400.0, "max_depth", "nets")


def zaslavsky_estimate(p: ZaslavskyParams) -> Estimate:
    """Per net: a global refinement of 1 + n + C(n, 2) polygons and the O(n^2) arrangement."""
    seconds = sum(2 * p.nets * (3e-4 * (1 + n + n * n / 2) + 2e-5 * n * n) for n in p.n1s)
    return _est(seconds, 64e6 + 8.0 * 40 * max(p.n1s) ** 2, "n1s", "nets")


# ------------------------------------------------------------------------------------------------
# study wiring (imports deferred)
# ------------------------------------------------------------------------------------------------
def _lazy(module: str, name: str) -> Any:
    def call(*args: Any) -> Any:
        import importlib

        return getattr(importlib.import_module(module), name)(*args)

    call.__name__ = name
    return call


_S = "theoryscope.experiments.linregions.studies"
_P = "theoryscope.experiments.linregions.plots"


def _figure(name: str) -> Any:
    return _lazy(_P, name)


STUDIES = (
    Study(
        name="depth", title="Regions against neurons at depths 1, 4, 8",
        tiny={"depths": (1, 2), "totals": (8, 16), "nets": 3},
        summary="exact counts along a segment against N at fixed depth: linear in N, not "
        "exponential in depth (slopes per depth against the infinite-width line)",
        params=DepthParams, run=_lazy(_S, "run_depth"), figure=_figure("depth_figure"),
        summary_lines=_lazy(_S, "depth_lines"), estimate=depth_estimate,
        metrics=(
            Metric("slope", "d count / dN, depth {depth}", "result.slopes.*.slope",
                   "result.slopes.*.theory_slope", cite=PAPER, good=0.1),
            Metric("count", "regions, depth {depth}, N={neurons}", "result.rows.*.mean",
                   "result.rows.*.theory", cite=PAPER),
        ),
        cite=PAPER,
    ),
    Study(
        name="bias", title="Regions against the bias variance",
        tiny={"widths": (8, 8), "c_bs": (0.1, 1.0), "nets": 2},
        summary="exact counts along a segment against C_b with the infinite-width prediction",
        params=BiasParams, run=_lazy(_S, "run_bias"), figure=_figure("bias_figure"),
        summary_lines=_lazy(_S, "bias_lines"), estimate=bias_estimate,
        metrics=(
            Metric("count", "regions at C_b={c_b}", "result.rows.*.mean", "result.rows.*.theory",
                   cite=PAPER, good=0.1),
        ),
        cite=PAPER,
    ),
    Study(
        name="coarea", title="Exact counts against the co-area formula",
        tiny={"widths": (4, 4), "nets": 4, "points": 16},
        summary="breakpoints per layer: exact counts against Hanin & Rolnick's co-area formula "
        "evaluated by Monte Carlo on the same nets (paired z), and the infinite-width form",
        params=CoareaParams, run=_lazy(_S, "run_coarea"), figure=_figure("coarea_figure"),
        summary_lines=_lazy(_S, "coarea_lines"), estimate=coarea_estimate,
        metrics=(
            Metric("total", "breakpoints, all layers: exact vs co-area", "result.total.exact",
                   "result.total.coarea", cite=PAPER, good=0.05),
            Metric("layer", "breakpoints, layer {layer}: exact vs co-area", "result.rows.*.exact",
                   "result.rows.*.coarea", cite=PAPER, good=0.1),
            Metric("infinite", "breakpoints, layer {layer}: exact vs infinite width",
                   "result.rows.*.exact", "result.rows.*.theory", cite=PAPER),
        ),
        cite=PAPER,
    ),
    Study(
        name="map", title="Region map in a 2-D square",
        tiny={"widths": (4, 4)},
        summary="one net's activation regions in a square of a 2-D input plane, layer by layer, "
        "as a coloured map (Hanin & Rolnick 2019, Fig. 1-2), with exact counts",
        params=MapParams, run=_lazy(_S, "run_map"), figure=_figure("map_figure"),
        summary_lines=_lazy(_S, "map_lines"), estimate=map_estimate,
        metrics=(
            Metric("line", "regions met by a line: map vs exact 1-D count",
                   "result.line_count_map", "result.line_count_exact", cite=LECTURE, good=0.0),
            Metric("regions", "activation regions vs infinite-width expectation",
                   "result.activation_regions", "result.theory_regions", cite=PAPER_2),
            Metric("linear", "linear regions / activation regions", "result.linear_regions",
                   "result.activation_regions", cite=LECTURE),
        ),
        cite=PAPER,
    ),
    Study(
        name="area", title="Regions per unit area against neurons (2-D)",
        tiny={"depths": (1,), "totals": (6, 12), "nets": 2},
        summary="activation regions per unit area of a square against N: ~ N^2 (Hanin & "
        "Rolnick 2019b), with the infinite-width expectation",
        params=AreaParams, run=_lazy(_S, "run_area"), figure=_figure("area_figure"),
        summary_lines=_lazy(_S, "area_lines"), estimate=area_estimate,
        metrics=(
            Metric("exponent", "log-log slope in N, depth {depth}", "result.exponents.*.exponent",
                   "result.exponents.*.theory_exponent", cite=PAPER_2, good=0.1),
            Metric("per_area", "regions / area, depth {depth}, N={neurons}",
                   "result.rows.*.per_area", "result.rows.*.theory", cite=PAPER_2),
        ),
        cite=PAPER_2,
    ),
    Study(
        name="telgarsky", title="Telgarsky's sawtooth",
        tiny={"max_depth": 3, "nets": 2},
        summary="f = sigma(2 sigma(x) - 4 sigma(x - 1/2)) composed L times: exactly 2^L pieces on "
        "[0, 1] from 3L - 1 neurons, against random nets of the same widths and the bounds",
        params=TelgarskyParams, run=_lazy(_S, "run_telgarsky"),
        figure=_figure("telgarsky_figure"), summary_lines=_lazy(_S, "telgarsky_lines"),
        estimate=telgarsky_estimate,
        metrics=(
            Metric("pieces", "pieces at L={L}", "result.rows.*.pieces", "result.rows.*.two_power",
                   cite=TELGARSKY, good=0.0),
            Metric("random", "random nets at L={L} (same widths)", "result.rows.*.random_mean",
                   cite=PAPER),
        ),
        seeded=True, cite=TELGARSKY,
    ),
    Study(
        name="zaslavsky", title="Depth one: Zaslavsky's count",
        tiny={"n1s": (1, 2), "nets": 1},
        summary="global regions of depth-one nets in R^1 and R^2 against sum_{i<=n0} C(n1, i) "
        "(general position) and the count read off the arrangement (concurrent lines)",
        params=ZaslavskyParams, run=_lazy(_S, "run_zaslavsky"),
        figure=_figure("zaslavsky_figure"), summary_lines=_lazy(_S, "zaslavsky_lines"),
        estimate=zaslavsky_estimate,
        metrics=(
            Metric("zaslavsky", "n0={n0} n1={n1} {position}: most counted vs Zaslavsky",
                   "result.rows.*.max",
                   "result.rows.*.zaslavsky", cite=ZASLAVSKY, good=0.0),
            Metric("arrangement", "n0={n0} n1={n1} {position}: fewest counted vs arrangement",
                   "result.rows.*.min", "result.rows.*.arrangement", cite=ZASLAVSKY, good=0.0),
        ),
        cite=ZASLAVSKY,
    ),
)  # fmt: skip


def describe(config: Mapping[str, Any]) -> dict[str, Any]:
    """Short columns for tables: the widths, the bias law and the optimiser."""
    return {k: config.get(k) for k in ("widths", "c_b", "bias", "optimizer", "lr", "steps")}

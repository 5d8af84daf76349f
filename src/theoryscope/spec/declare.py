"""What an experiment declares beyond simulate / predict / compare: figures, metrics, studies,
presets, a cost estimate and optional hooks. Every outer layer reads these; none names an
experiment.

Paths. Figures and metrics point into three JSON documents by dotted paths:

    ``series``    the run's recorded series (``run.series[name]``; a 2-D or 3-D series draws
                  one curve per column)
    ``theory``    ``theory_to_dict(theory)``, e.g. ``theory.ode.loss``
    ``agreement`` ``compare(run, theory)``, e.g. ``agreement.terms.0.t_half_sim``
    ``summary``   ``run.summary``

A path is ``<document>.<key>.<key>...``; integer keys index lists. ``*`` in a metric's path
expands over a list (one row per entry, labelled by ``label`` with ``{key}`` fields of that
entry).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Curve",
    "Estimate",
    "Figure",
    "Hooks",
    "Marker",
    "Metric",
    "Panel",
    "Preset",
    "Report",
    "Study",
    "StudyContext",
    "SweepPreset",
]


@dataclass(frozen=True)
class Curve:
    """One line of a panel: ``y`` against ``x`` (paths), simulated or predicted.

    ``style``: ``solid`` (simulation), ``dashed`` (theory), ``markers`` (points), ``band``
    (``y`` and ``y2`` give the lower and upper edge). ``columns`` draws one curve per column of a
    2-D (or flattened 3-D) series, labelled ``label`` with ``{i}`` the column index (and
    ``{row}``/``{col}`` for 3-D, ``{value}`` the entry of the list at path ``column_labels``).
    ``when`` gives a condition on the config: ``{"mode": ["sgd"]}``. ``transform`` maps y
    (``abs``: a signed residual on a log axis; ``diag``: the diagonal of a square matrix series).
    """

    y: str
    x: str
    label: str
    style: Literal["solid", "dashed", "markers", "band"] = "solid"
    y2: str | None = None
    columns: bool = False
    column_labels: str | None = None
    transform: Literal["abs", "neg", "sqrt", "diag"] | None = None
    when: Mapping[str, Sequence[Any]] | None = None
    color: int | None = None

    @property
    def theory(self) -> bool:
        return self.y.startswith("theory.")


@dataclass(frozen=True)
class Marker:
    """A vertical (``axis="x"``) or horizontal (``axis="y"``) line at a value given by a path."""

    at: str
    label: str
    axis: Literal["x", "y"] = "x"
    each: bool = False  # the path ends in a list: one marker per entry


@dataclass(frozen=True)
class Panel:
    """One set of axes."""

    title: str
    x_label: str
    y_label: str
    curves: tuple[Curve, ...]
    markers: tuple[Marker, ...] = ()
    x_log: bool = False
    y_log: bool = False
    y_symlog: bool = False


@dataclass(frozen=True)
class Figure:
    """Panels drawn side by side: simulated curves with their theory curves and markers.

    ``when`` limits the figure to configs whose fields take the listed values (an experiment
    with modes declares one figure per mode; surfaces draw the first figure that applies)."""

    name: str
    title: str
    panels: tuple[Panel, ...]
    when: Mapping[str, Sequence[Any]] | None = None


@dataclass(frozen=True)
class Metric:
    """A simulated number beside the number the theory predicts, with their ratio.

    ``simulated`` and ``predicted`` are paths (``agreement.``, ``theory.``, ``summary.``);
    either may be None for a number with no counterpart (e.g. a condition number). With a ``*``
    in the paths the metric yields one row per list entry, labelled ``label.format(**entry)``.
    ``good`` is the tolerance on |ratio - 1| the docs state for this metric (None: no claim).
    ``labels`` is a path to a list whose entries name the rows of a ``*`` path (``{label}`` in
    ``label``), for lists of plain numbers. ``when`` limits the metric to configs whose fields
    take the listed values. A row with neither side known is left out. ``good_abs`` is an
    absolute tolerance on |simulated - predicted|, for predictions of 0 (no ratio exists).
    """

    name: str
    label: str
    simulated: str | None
    predicted: str | None = None
    tex: str | None = None
    cite: str | None = None
    good: float | None = None
    unit: str | None = None
    labels: str | None = None
    when: Mapping[str, Sequence[Any]] | None = None
    good_abs: float | None = None


@dataclass(frozen=True)
class Estimate:
    """What a run will cost, known before it starts.

    ``fields`` names the settings that drive the cost (for the refusal message).
    """

    memory_bytes: float
    seconds: float
    fields: tuple[str, ...] = ()
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "memory_bytes": self.memory_bytes,
            "seconds": self.seconds,
            "fields": list(self.fields),
            "note": self.note,
        }


@dataclass(frozen=True)
class Preset:
    """A canonical configuration, e.g. the one a paper's figure uses."""

    name: str
    title: str
    values: Mapping[str, Any]
    cite: str | None = None
    seed: int | None = None


class StudyContext:
    """What a study's ``run`` receives besides its parameters: progress and a stop flag."""

    def __init__(
        self,
        progress: Callable[[float, str], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self._progress = progress
        self._should_stop = should_stop

    def progress(self, fraction: float, message: str = "") -> None:
        """Report progress in [0, 1] (the CLI draws a bar, the web page a progress line)."""
        if self._progress is not None:
            self._progress(min(max(float(fraction), 0.0), 1.0), message)

    def should_stop(self) -> bool:
        return bool(self._should_stop and self._should_stop())


@dataclass(frozen=True)
class Study:
    """A declared multi-run computation (a phase diagram, a landscape, a propagation table).

    ``run(params, seed, context) -> dict`` returns a JSON-ready result (arrays as lists), which
    is stored like a run; ``figure(result) -> matplotlib Figure`` draws it; ``metrics`` read
    ``result.`` paths; ``summary_lines(result) -> list[str]`` is the CLI's human summary.
    ``tiny`` are parameters that run it in about a second (the fuzz and conformance suites use
    them, as they use each experiment's ``tiny`` preset).
    """

    name: str
    title: str
    summary: str
    params: type
    run: Callable[..., dict[str, Any]]
    figure: Callable[[Mapping[str, Any]], Any] | None = None
    metrics: tuple[Metric, ...] = ()
    summary_lines: Callable[[Mapping[str, Any]], list[str]] | None = None
    estimate: Callable[[Any], Estimate] | None = None
    seeded: bool = True
    cite: str | None = None
    tiny: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class SweepPreset:
    """A named sweep: ``theoryscope sweep <exp> --preset NAME`` fills in its grid, seeds,
    fixed settings and sweep settings (each can still be overridden on the command line)."""

    name: str
    title: str
    grid: tuple[str, ...]
    seeds: str = "0"
    fixed: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    cite: str | None = None


@dataclass(frozen=True)
class Report:
    """An experiment's own report over a sweep (the generic one draws every metric anyway).

    ``write(store, sweep_id, out_dir) -> dict`` writes its files and returns what it wrote.
    """

    name: str
    title: str
    write: Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Hooks:
    """Optional behaviour an experiment may declare.

    ``simulate_seeds(config, seeds) -> list[Run]``: run several seeds of one config as one
    batched computation (sweeps use it where it pays; ``batch_when`` limits it to configs whose
    fields take the listed values, e.g. ``{"mode": ["sgd"]}``).
    ``plan_point(config, theory_dict, settings) -> config``: resolve the sweep's settings (e.g.
    Expander's ``t_eff=auto``) for one grid point (``settings["given"]`` lists the fields the
    sweep fixes or grids); ``sweep_settings`` names them with help text (they become options of
    ``theoryscope sweep <exp>``).
    ``check(config)``: extra checks beyond the field bounds (e.g. a mode that needs the default
    nonlinearity), raising ConfigError.
    ``page``: a hand-made web page (file name under web/static) used instead of the generic one.
    ``progress(config, chunk) -> fraction``: how far a run is (default: last ``step`` / steps).
    ``describe(config_dict) -> {column: value}``: a config's short columns in tables and overlay
    labels (default: every field).
    """

    simulate_seeds: Callable[[Any, Sequence[int]], list[Any]] | None = None
    batch_when: Mapping[str, Sequence[Any]] | None = None
    plan_point: Callable[[Any, Mapping[str, Any], Any], Any] | None = None
    sweep_settings: Mapping[str, str] = field(default_factory=dict)
    check: Callable[[Any], None] | None = None
    page: str | None = None
    describe: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None
    progress: Callable[[Any, Mapping[str, Any]], float | None] | None = None

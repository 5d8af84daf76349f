"""Server-side pictures and numbers of a run, from the experiment's declarations.

    run_metrics(experiment, stored, series)   metric rows (simulated, predicted, ratio, within)
    run_figure_bytes(store, run_id, fmt)      PNG or SVG: the declared figure through
                                              plots/render.py, else the experiment's own plot
    thumbnail_svg(experiment, theory_dict, config)
                                              a small SVG of the first declared panel, theory only
    study_figure_png(experiment, study, result)

matplotlib is not thread-safe: every drawing holds :data:`MPL_LOCK`.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Mapping
from typing import Any

from theoryscope.core.jsonable import jsonable
from theoryscope.errors import ConfigError
from theoryscope.plots.render import documents, render_figure
from theoryscope.protocol import Experiment, Run, get_experiment
from theoryscope.spec.declare import Figure, Metric, Study
from theoryscope.spec.metrics import metric_rows
from theoryscope.store import RunStore
from theoryscope.store.runstore import StoredRun

__all__ = [
    "MPL_LOCK",
    "run_documents",
    "run_figure_bytes",
    "run_metrics",
    "study_figure_png",
    "thumbnail_svg",
]

MPL_LOCK = threading.Lock()
FORMATS = ("png", "svg")


def _uses_series(metrics: tuple[Metric, ...]) -> bool:
    return any((p or "").startswith("series.") for m in metrics for p in (m.simulated, m.predicted))


def run_documents(stored: StoredRun, series: Mapping[str, Any] | None) -> dict[str, Any]:
    """The documents a declaration's paths point into, for a stored run."""
    return documents(
        series=series or {},
        theory=stored.theory or {},
        agreement=stored.agreement or {},
        summary=stored.summary or {},
        config=stored.config or {},
        result=stored.summary if stored.study else None,
    )


def _study_of(experiment: Experiment, name: str) -> Study | None:
    return next((s for s in experiment.studies if s.name == name), None)


def run_metrics(store: RunStore, stored: StoredRun) -> list[dict[str, Any]]:
    """The declared metric rows of a stored run (a study's own metrics for a study row)."""
    try:
        experiment = get_experiment(stored.experiment)
    except ConfigError:
        return []
    metrics = experiment.metrics
    if stored.study:
        study = _study_of(experiment, stored.study)
        metrics = study.metrics if study is not None else ()
    if not metrics:
        return []
    series = store.get_series(stored.id) if _uses_series(metrics) else None
    return jsonable(metric_rows(metrics, run_documents(stored, series)))  # type: ignore[no-any-return]


def live_metrics(
    experiment: Experiment,
    run: Run,
    theory_dict: Mapping[str, Any],
    agreement: Mapping[str, Any] | None,
) -> list[dict[str, Any]]:
    """Metric rows of a run that just finished in this process."""
    if not experiment.metrics:
        return []
    docs = documents(
        series=run.series, theory=theory_dict, agreement=agreement or {}, summary=run.summary,
        config=run.config,
    )  # fmt: skip
    return jsonable(metric_rows(experiment.metrics, docs))  # type: ignore[no-any-return]


def _save(fig: Any, fmt: str, dpi: int = 110) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi)
    return buf.getvalue()


def run_figure_bytes(store: RunStore, run_id: str, fmt: str) -> bytes:
    """The run drawn as ``fmt`` (png or svg): its experiment's first declared figure through the
    generic renderer, else the experiment's own ``plot``."""
    stored = store.get_run(run_id)
    experiment = get_experiment(stored.experiment)
    series = store.get_series(run_id)
    if stored.study:
        study = _study_of(experiment, stored.study)
        if study is None or study.figure is None:
            raise ConfigError("format", f"study {stored.study!r} has no figure")
        with MPL_LOCK:
            return _save(study.figure(restore_nan(stored.summary)), fmt)
    if experiment.figures:
        docs = run_documents(stored, series)
        with MPL_LOCK:
            fig = render_figure(experiment.figures[0], docs, title=experiment.title)
            return _save(fig, fmt)
    if experiment.plot is None:
        raise ConfigError("format", f"experiment {stored.experiment!r} declares no figure")
    status = "interrupted" if stored.status == "running" else stored.status
    as_run = Run(
        stored.experiment, stored.config, stored.seed, status, series,
        summary=stored.summary, message=stored.message,
    )  # fmt: skip
    with MPL_LOCK:
        return _save(experiment.plot(as_run, stored.theory), fmt)


def restore_nan(value: Any) -> Any:
    """A stored result as its study returned it: the store writes NaN and inf as null, so a
    null inside a list of numbers is read back as NaN (what a figure expects of a diverged
    point)."""
    if isinstance(value, Mapping):
        return {k: restore_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [restore_nan(v) for v in value]

        def number(v: Any) -> bool:
            return isinstance(v, (int, float)) and not isinstance(v, bool)

        if any(number(v) for v in items) and all(v is None or number(v) for v in items):
            return [math.nan if v is None else v for v in items]
        return items
    return value


def study_figure_png(study: Study, result: Mapping[str, Any]) -> bytes:
    """The study's own figure of a stored result."""
    if study.figure is None:
        raise ConfigError("study", f"{study.name!r} declares no figure")
    with MPL_LOCK:
        return _save(study.figure(restore_nan(result)), "png", dpi=100)


def theory_panel(figures: tuple[Figure, ...], docs: Mapping[str, Any]) -> Figure | None:
    """The first declared panel (over every figure) with data in ``docs``: the theory's when
    ``docs`` hold no run."""
    from theoryscope.plots.render import curve_data

    for figure in figures:
        for panel in figure.panels:
            if any(curve_data(curve, docs) for curve in panel.curves):
                return Figure(figure.name, "", (panel,))
    return None


#: A thumbnail may simulate the declared ``tiny`` preset when its estimate is below this.
THUMBNAIL_RUN_SECONDS = 10.0


def _run_documents(
    experiment: Experiment, theory_dict: Mapping[str, Any], config: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Documents of one run (seed 0) of ``config``, the ``tiny`` preset's config the caller built
    and predicted, beside that theory; None without a ``tiny`` preset or when the run is
    estimated to take longer than :data:`THUMBNAIL_RUN_SECONDS`."""
    from theoryscope.runner import estimate_cost
    from theoryscope.web.describe import TINY

    if experiment.config is None or not any(p.name == TINY for p in experiment.presets):
        return None
    built = experiment.config_from_dict(config)
    estimate = estimate_cost(experiment, built)
    if estimate is None or not estimate.seconds <= THUMBNAIL_RUN_SECONDS:
        return None
    run = experiment.simulate(built, seed=0)
    return documents(series=run.series, theory=theory_dict, config=config)


def thumbnail_svg(
    experiment: Experiment, theory_dict: Mapping[str, Any], config: Any
) -> bytes | None:
    """A small SVG of the first declared panel that the theory alone draws (no run); when the
    theory draws no curve, the first panel that a run of the same config (the ``tiny`` preset,
    about a second, run once: the caller caches it) draws; None when neither draws anything."""
    docs = documents(theory=theory_dict, config=config)
    figure = theory_panel(experiment.figures, docs)
    if figure is None:
        try:
            docs = _run_documents(experiment, theory_dict, config) or {}
        except Exception:  # a picture on a card is not worth a failed request: no thumbnail
            docs = {}
        figure = theory_panel(experiment.figures, docs) if docs else None
        if figure is None:
            return None
    with MPL_LOCK:
        fig = render_figure(figure, docs, title="")
        fig.set_size_inches(3.2, 2.0)
        fig.suptitle("")
        for ax in fig.axes:
            legend = ax.get_legend()
            if legend is not None:
                legend.remove()
            ax.set_title("")
            ax.set_xlabel(ax.get_xlabel(), fontsize=7)
            ax.set_ylabel(ax.get_ylabel(), fontsize=7)
            ax.tick_params(labelsize=6)
        fig.patch.set_alpha(0.0)
        return _save(fig, "svg")

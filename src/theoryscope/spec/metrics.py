"""Metric rows: each declared (simulated, predicted) pair read from a run's documents, with their
ratio. The CLI summary, the web readouts and the sweep reports all come from these rows."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from theoryscope.spec.declare import Metric
from theoryscope.spec.paths import MISSING, expand, lookup

__all__ = ["format_number", "metric_rows"]


def _number(value: Any) -> float | None:
    if value is MISSING or value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _label(template: str, fields: Mapping[str, Any]) -> str:
    shown = {k: _show(v) for k, v in fields.items()}
    try:
        return template.format(**shown)
    except (KeyError, IndexError, ValueError):
        return template


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "(" + ",".join(_show(v) for v in value) + ")"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def metric_rows(metrics: Sequence[Metric], documents: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per metric (per list entry for ``*`` paths):
    ``{name, label, simulated, predicted, ratio, tex, cite, good, within}``.

    ``ratio`` is simulated / predicted when both are finite and predicted is non-zero;
    ``within`` says whether |ratio - 1| <= good and |simulated - predicted| <= good_abs, for
    the tolerances the metric declares (None when nothing can be said).
    """
    rows = []
    config = documents.get("config") or {}
    for metric in metrics:
        if metric.when and not all(config.get(k) in list(v) for k, v in metric.when.items()):
            continue
        anchor = metric.simulated or metric.predicted or ""
        names = lookup(documents, metric.labels) if metric.labels else MISSING
        for fields, concrete in expand(documents, anchor):
            if isinstance(names, (list, tuple)) and fields.get("i", -1) < len(names):
                fields = {**fields, "label": _show(names[fields["i"]])}
            suffix = concrete[len(anchor.split(".*")[0]) :] if fields else ""
            index = suffix.split(".")[1] if fields and suffix.count(".") >= 1 else None

            def resolve(path: str | None, index: str | None = index) -> float | None:
                if path is None:
                    return None
                if "*" in path and index is not None:
                    path = path.replace("*", index, 1)
                return _number(lookup(documents, path))

            simulated = resolve(metric.simulated)
            predicted = resolve(metric.predicted)
            if simulated is None and predicted is None:
                continue
            ratio = (
                simulated / predicted
                if simulated is not None and predicted not in (None, 0.0)
                else None
            )
            within = (
                abs(ratio - 1.0) <= metric.good
                if ratio is not None and metric.good is not None
                else None
            )
            if metric.good_abs is not None and simulated is not None and predicted is not None:
                close = abs(simulated - predicted) <= metric.good_abs
                within = close if within is None else (within and close)
            rows.append(
                {
                    "name": metric.name,
                    "label": _label(metric.label, fields),
                    "simulated": simulated,
                    "predicted": predicted,
                    "ratio": ratio,
                    "tex": metric.tex,
                    "cite": metric.cite,
                    "good": metric.good,
                    "within": within,
                    "unit": metric.unit,
                }
            )
    return rows


def format_number(value: float | None, digits: int = 4) -> str:
    """``1.235e-05``-style short text; an em dash for a missing value."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:.{digits}g}"

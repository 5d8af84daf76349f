"""Declarations: what an experiment says about itself, from which every surface is derived.

fields    :func:`param` and the lenient types (Int, Float, IntTuple, ...), read back as FieldSpec
config    :class:`ExperimentConfig`, the pydantic base of every Config
declare   Figure / Panel / Curve / Marker, Metric, Study, Preset, Estimate, Report, Hooks
metrics   metric rows (simulated, predicted, ratio) from a run's documents
paths     dotted paths into those documents
"""

from __future__ import annotations

from theoryscope.spec.config import CliInput, ExperimentConfig
from theoryscope.spec.declare import (
    Curve,
    Estimate,
    Figure,
    Hooks,
    Marker,
    Metric,
    Panel,
    Preset,
    Report,
    Study,
    StudyContext,
    SweepPreset,
)
from theoryscope.spec.fields import Bool, FieldSpec, Float, FloatTuple, Int, IntTuple, param

__all__ = [
    "Bool",
    "CliInput",
    "Curve",
    "Estimate",
    "ExperimentConfig",
    "FieldSpec",
    "Figure",
    "Float",
    "FloatTuple",
    "Hooks",
    "Int",
    "IntTuple",
    "Marker",
    "Metric",
    "Panel",
    "Preset",
    "Report",
    "Study",
    "StudyContext",
    "SweepPreset",
    "param",
]

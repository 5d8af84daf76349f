"""The one idea: every experiment is a simulation and the theory that predicts it, behind one protocol.

    Config    validated, immutable, JSON-serializable (``to_dict`` / ``from_dict``)
    simulate  (config, seed, *, on_chunk, should_stop) -> Run
    predict   (config) -> Theory          (pure and fast)
    compare   (run, theory) -> Agreement  (JSON-serializable dict of numbers)

The CLI, the run store, the web lab and sweeps only ever touch an experiment through
:class:`Experiment` and the registry below, so a new experiment slots in by calling
:func:`register` from its package and adding its name to ``_BUILTIN``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from theoryscope.errors import ConfigError
from theoryscope.spec.config import ExperimentConfig
from theoryscope.spec.declare import (
    Estimate,
    Figure,
    Hooks,
    Metric,
    Preset,
    Report,
    Study,
    SweepPreset,
)

#: Status values a run can take. ``running`` only while a live process owns it.
RUN_STATUSES = ("running", "finished", "diverged", "failed", "interrupted")

#: Receives each freshly simulated chunk of metric series (same keys and leading axis as Run.series).
ChunkCallback = Callable[[Mapping[str, np.ndarray]], None]
#: Polled between chunks; returning True stops the run cleanly as ``interrupted``.
StopPredicate = Callable[[], bool]


class Config(Protocol):
    """What every experiment config offers."""

    def to_dict(self) -> dict[str, Any]: ...


@dataclass
class Run:
    """A finished (or stopped) simulation: metric series as NumPy arrays plus a JSON summary.

    ``series`` maps a metric name to an array whose first axis is the record index; all series of
    one run share that axis. ``status`` is one of :data:`RUN_STATUSES` (never ``running``).
    """

    experiment: str
    config: dict[str, Any]
    seed: int
    status: str
    series: dict[str, np.ndarray]
    summary: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in RUN_STATUSES:
            raise ValueError(f"status {self.status!r} not in {RUN_STATUSES}")


@dataclass(frozen=True)
class Experiment:
    """An experiment as the generic layers see it: the protocol plus its declarations.

    ``theory_to_dict`` turns the experiment's Theory object into JSON (arrays as lists) for the
    store and the web. ``config`` is the declared Config class (fields, bounds, help, TeX,
    citations); ``figures``, ``metrics``, ``studies``, ``presets``, ``reports`` and ``hooks``
    are the declarations of :mod:`theoryscope.spec.declare`; ``estimate(config)`` says what a run
    will cost before it starts. ``plot`` is an optional hand-drawn matplotlib figure used instead
    of the generic renderer. ``commands`` maps a CLI command name to fixed field values (e.g.
    ``{"catapult": {"mode": "catapult"}}``) so ``theoryscope <exp> catapult`` is ``run`` with
    those values. ``views`` are figure-only options passed to ``plot`` (e.g. ``{"x": ("t_eff",
    "step")}``: the first value is the default).
    """

    name: str
    title: str
    config_from_dict: Callable[[Mapping[str, Any]], Any]
    simulate: Callable[..., Run]
    predict: Callable[[Any], Any]
    compare: Callable[[Run, Any], dict[str, Any]]
    theory_to_dict: Callable[[Any], dict[str, Any]]
    plot: Callable[..., Any] | None = None
    summary: str = ""
    config: type[ExperimentConfig] | None = None
    figures: tuple[Figure, ...] = ()
    metrics: tuple[Metric, ...] = ()
    studies: tuple[Study, ...] = ()
    presets: tuple[Preset, ...] = ()
    reports: tuple[Report, ...] = ()
    sweeps: tuple[SweepPreset, ...] = ()
    hooks: Hooks = field(default_factory=Hooks)
    estimate: Callable[[Any], Estimate] | None = None
    commands: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    views: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    cite: str = ""
    order: int = 100

    def study(self, name: str) -> Study:
        """The declared study called ``name`` (ConfigError naming the allowed ones otherwise)."""
        for study in self.studies:
            if study.name == name:
                return study
        allowed = ", ".join(s.name for s in self.studies) or "none"
        raise ConfigError("study", f"unknown {name!r} for {self.name}; allowed: {allowed}")


_REGISTRY: dict[str, Experiment] = {}
_BUILTIN = {
    "expander": "theoryscope.experiments.expander",
    "widenets": "theoryscope.experiments.widenets",
    "lrphases": "theoryscope.experiments.lrphases",
    "spectral": "theoryscope.experiments.spectral",
    "implicit": "theoryscope.experiments.implicit",
    "polynets": "theoryscope.experiments.polynets",
    "hessian": "theoryscope.experiments.hessian",
    "linregions": "theoryscope.experiments.linregions",
    "deeplinear_init": "theoryscope.experiments.deeplinear_init",
    "sgdnoise": "theoryscope.experiments.sgdnoise",
    "fem": "theoryscope.experiments.fem",
}


def register(experiment: Experiment) -> Experiment:
    """Add an experiment to the registry; a second, different experiment of the same name raises."""
    known = _REGISTRY.get(experiment.name)
    if known is not None and known is not experiment:
        raise ValueError(f"experiment {experiment.name!r} is already registered")
    _REGISTRY[experiment.name] = experiment
    return experiment


def unregister(name: str) -> None:
    """Remove an experiment (tests register toy experiments and remove them again)."""
    _REGISTRY.pop(name, None)


def all_experiments() -> list[Experiment]:
    """Every experiment (built-ins imported), flagship first, then by declared order and name."""
    for name in list(_BUILTIN):
        get_experiment(name)
    return sorted(_REGISTRY.values(), key=lambda e: (e.order, e.name))


def get_experiment(name: str) -> Experiment:
    """Look an experiment up by name, importing built-in packages on first use."""
    if name not in _REGISTRY and name in _BUILTIN:
        try:
            importlib.import_module(_BUILTIN[name])
        except ModuleNotFoundError as err:
            if err.name != _BUILTIN[name]:
                raise
    if name not in _REGISTRY:
        raise ConfigError(
            "experiment", f"unknown {name!r}; allowed: {', '.join(experiment_names())}"
        )
    return _REGISTRY[name]


def experiment_names() -> list[str]:
    """Every known experiment name (built-in and registered)."""
    return sorted(set(_BUILTIN) | set(_REGISTRY))

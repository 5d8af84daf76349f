"""What the API says about an experiment, read from its declarations (nothing here names one).

card(experiment, page_url)     the landing page's card
detail(experiment, limits)     everything the generic page builds itself from
default_config(experiment)     the ``tiny`` preset (else the defaults): thumbnails and tests
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from theoryscope.core.jsonable import jsonable
from theoryscope.protocol import Experiment
from theoryscope.spec.declare import Preset, Study
from theoryscope.web.flagship import hand_made_page
from theoryscope.web.limits import Limits

__all__ = ["card", "default_values", "detail", "field_dicts", "page_url", "preset_dict"]

#: The preset a thumbnail (and the test suite) uses: a run of a second or two.
TINY = "tiny"


def field_dicts(config_cls: type) -> list[dict[str, Any]]:
    """Every field's declaration as JSON, marking fields that follow the run seed."""
    follows = set(getattr(config_cls, "follows_seed", ()))
    out = []
    for spec in config_cls.fields():  # type: ignore[attr-defined]
        item = jsonable(spec.to_dict())
        item["follows_seed"] = spec.name in follows
        out.append(item)
    return out


def preset_dict(preset: Preset) -> dict[str, Any]:
    return {
        "name": preset.name,
        "title": preset.title,
        "values": jsonable(dict(preset.values)),
        "cite": preset.cite,
        "seed": preset.seed,
    }


def default_values(experiment: Experiment) -> dict[str, Any]:
    """The ``tiny`` preset's values if declared, else {} (the config's defaults)."""
    for preset in experiment.presets:
        if preset.name == TINY:
            return dict(preset.values)
    return {}


def page_url(experiment: Experiment, routes: set[str]) -> str | None:
    """Where the experiment's page is: a declared experiment or a hand-made page has
    ``/<name>``; an undeclared one with a page routed by its own router keeps that one."""
    path = f"/{experiment.name}"
    if experiment.config is not None or hand_made_page(experiment) or path in routes:
        return path
    return None


def _study_brief(study: Study) -> dict[str, Any]:
    return {"name": study.name, "title": study.title, "summary": study.summary}


def card(experiment: Experiment, routes: set[str]) -> dict[str, Any]:
    """The landing page's card."""
    declared = experiment.config is not None
    return {
        "name": experiment.name,
        "title": experiment.title,
        "summary": experiment.summary,
        "cite": experiment.cite,
        "order": experiment.order,
        "declared": declared,
        "studies": [_study_brief(s) for s in experiment.studies],
        "presets": [preset_dict(p) for p in experiment.presets],
        "page_url": page_url(experiment, routes),
        "thumbnail_url": (
            f"/api/experiments/{experiment.name}/thumbnail.svg"
            if declared and experiment.figures
            else None
        ),
    }


def _schema(config_cls: type) -> dict[str, Any]:
    return jsonable(config_cls.json_schema())  # type: ignore[attr-defined, no-any-return]


def _asdict(items: tuple[Any, ...]) -> list[dict[str, Any]]:
    return [jsonable(_plain(dataclasses.asdict(item))) for item in items]


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def study_detail(study: Study) -> dict[str, Any]:
    return {
        **_study_brief(study),
        "cite": study.cite,
        "seeded": study.seeded,
        "has_figure": study.figure is not None,
        "fields": field_dicts(study.params),
        "schema": _schema(study.params),
        "metrics": _asdict(study.metrics),
    }


def _defaults(config_cls: type) -> dict[str, Any]:
    """The default config (each field's own default when some field has none)."""
    try:
        return config_cls.defaults()  # type: ignore[attr-defined, no-any-return]
    except Exception:  # a field without a default: the form starts it empty
        return {f.name: f.default for f in config_cls.fields()}  # type: ignore[attr-defined]


def detail(experiment: Experiment, limits: Limits) -> dict[str, Any]:
    """Everything the generic page needs (the experiment must be declared)."""
    config_cls = experiment.config
    assert config_cls is not None
    inputs = [i.to_dict() for i in getattr(config_cls, "cli_inputs", ())]
    return {
        "name": experiment.name,
        "title": experiment.title,
        "summary": experiment.summary,
        "cite": experiment.cite,
        "fields": field_dicts(config_cls),
        "defaults": jsonable(_defaults(config_cls)),
        "follows_seed": list(getattr(config_cls, "follows_seed", ())),
        "inputs": jsonable(inputs),
        "schema": _schema(config_cls),
        "figures": _asdict(experiment.figures),
        "metrics": _asdict(experiment.metrics),
        "studies": [study_detail(s) for s in experiment.studies],
        "presets": [preset_dict(p) for p in experiment.presets],
        "tiny": jsonable(default_values(experiment)),
        "limits": {
            "max_run_seconds": limits.max_run_seconds,
            "max_list_items": limits.max_list_items,
            "max_live_runs": limits.max_live_runs,
            "max_jobs": limits.max_jobs,
            "theory_budget_s": limits.theory_budget_s,
            "web_max": {f["name"]: f["web_max"] for f in field_dicts(config_cls) if "web_max" in f},
        },
    }

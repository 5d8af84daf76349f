"""Meta data for the page, config validation and the live theory preview."""

from __future__ import annotations

import importlib.util
import threading
from collections import OrderedDict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from theoryscope import __version__
from theoryscope.errors import ConfigError
from theoryscope.protocol import get_experiment
from theoryscope.web.assets import ASSETS_HINT, missing_assets
from theoryscope.web.routers.common import EXPERIMENT, parse_config, read_json

router = APIRouter(prefix="/api", tags=["lab"])

_cache: OrderedDict[str, tuple[Any, dict[str, Any]]] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 64


#: The module that runs the flagship's population modes; a build without it offers sgd only.
POPULATION_MODULE = "theoryscope.experiments.expander.population_dynamics"


def supported_modes() -> tuple[str, ...]:
    """The modes this build runs (the declaration lists every mode; an optional engine module
    may be absent)."""
    modes = tuple(get_experiment(EXPERIMENT).config.field("mode").choices)  # type: ignore[union-attr]
    if importlib.util.find_spec(POPULATION_MODULE) is None:
        return tuple(m for m in modes if m == "sgd")
    return modes


def check_mode(config: Any) -> None:
    """The flagship's declared cross-field rules (e.g. flow / gd need the exact population loss
    of the default nonlinearity, spec 4), and the modes this build has."""
    modes = supported_modes()
    if config.mode not in modes:
        raise ConfigError(
            "mode", f"{config.mode!r} is not available in this build; allowed: {', '.join(modes)}"
        )
    check = get_experiment(EXPERIMENT).hooks.check
    if check is not None:
        check(config)


def theory_for(config: Any) -> tuple[Any, dict[str, Any]]:
    """(Theory, its JSON dict) for a config, cached by config hash (predict is pure)."""
    key = config.config_hash()
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    experiment = get_experiment(EXPERIMENT)
    theory = experiment.predict(config)
    value = (theory, experiment.theory_to_dict(theory))
    with _cache_lock:
        _cache[key] = value
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return value


@router.get("/health")
async def health() -> dict[str, Any]:
    missing = missing_assets()
    return {
        "ok": True,
        "version": __version__,
        "assets": not missing,
        "assets_hint": ASSETS_HINT if missing else None,
    }


@router.get("/meta")
async def meta(request: Request) -> dict[str, Any]:
    """Everything the hand-made lab page needs to build its controls, read from the flagship's
    declaration: each field's declaration, the defaults, the choices, presets and this server's
    caps (the same schema the derived pages read from ``/api/experiments/<name>``)."""
    limits = request.app.state.limits
    experiment = get_experiment(EXPERIMENT)
    config_cls: Any = experiment.config
    fields = {spec.name: spec for spec in config_cls.fields()}

    def choices(name: str) -> list[Any]:
        return list(fields[name].choices) if name in fields else []

    return {
        "experiment": EXPERIMENT,
        "fields": [spec.to_dict() for spec in fields.values()],
        "presets": [
            {"name": p.name, "title": p.title, "values": dict(p.values), "cite": p.cite}
            for p in experiment.presets
        ],
        "defaults": config_cls().to_dict(),
        "nonlinearities": choices("nonlinearity"),
        "default_nonlinearity": fields["nonlinearity"].default
        if "nonlinearity" in fields
        else None,
        "modes": choices("mode"),
        "modes_supported": list(supported_modes()),
        "dtypes": choices("dtype"),
        "ema_windows": choices("ema_window"),
        "limits": limits.to_dict(),
        "version": __version__,
    }


@router.post("/validate")
async def validate(request: Request) -> dict[str, Any]:
    """The config as the server would run it (normalized), or a 422 naming the field."""
    body = await read_json(request)
    config = parse_config(body.get("config", body), request.app.state.limits)
    check_mode(config)
    return {"config": config.to_dict(), "t_eff": config.t_eff}


@router.post("/theory")
async def theory(request: Request) -> dict[str, Any]:
    """The modeling ODE and the per-term readouts for a config (the page's live preview)."""
    body = await read_json(request)
    config = parse_config(body.get("config", body), request.app.state.limits)
    _, theory_dict = await run_in_threadpool(theory_for, config)
    return {"config": config.to_dict(), "theory": theory_dict}

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
from theoryscope.experiments.expander import config as expander_config
from theoryscope.protocol import get_experiment
from theoryscope.web.app import ASSETS_HINT, missing_assets
from theoryscope.web.routers.common import EXPERIMENT, parse_config, read_json

router = APIRouter(prefix="/api", tags=["lab"])

_cache: OrderedDict[str, tuple[Any, dict[str, Any]]] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 64
POPULATION_MODULE = "theoryscope.experiments.expander.population_dynamics"


def supported_modes() -> tuple[str, ...]:
    """The modes this build runs: the config knows names whose engine may not be installed."""
    population = importlib.util.find_spec(POPULATION_MODULE) is not None
    return tuple(
        m for m in expander_config.MODES_ALLOWED if m in expander_config.MODES or population
    )


def check_mode(config: Any) -> None:
    modes = supported_modes()
    if config.mode not in modes:
        raise ConfigError(
            "mode", f"{config.mode!r} is not available in this build; allowed: {', '.join(modes)}"
        )
    if config.mode != "sgd" and not config.uses_default_nonlinearity:
        # spec 4: the exact population loss (and so its flow / GD) exists for sqrt2cos only
        raise ConfigError(
            "mode",
            f"{config.mode!r} needs the exact population loss, which exists for the default"
            f" nonlinearity only; allowed: sgd with {config.nonlinearity_name!r}",
        )


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
    """Defaults, choices and this server's caps: everything the page needs to build its controls."""
    limits = request.app.state.limits
    return {
        "experiment": EXPERIMENT,
        "defaults": expander_config.Config().to_dict(),
        "nonlinearities": list(expander_config.NONLINEARITIES),
        "default_nonlinearity": expander_config.DEFAULT_NONLINEARITY,
        "modes": list(expander_config.MODES_ALLOWED),
        "modes_supported": list(supported_modes()),
        "dtypes": list(expander_config.DTYPES),
        "ema_windows": list(expander_config.EMA_WINDOWS),
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

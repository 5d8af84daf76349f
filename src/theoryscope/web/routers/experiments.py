"""Every experiment, as its declarations describe it (nothing here names one).

GET  /api/experiments                     cards, flagship (lowest ``order``) first
GET  /api/experiments/{name}              fields, schema, figures, metrics, studies, presets
POST /api/experiments/{name}/validate     {"config", "seed"} -> normalized config + estimate
POST /api/experiments/{name}/estimate     {"config", "seed"} -> estimate (no cost refusal)
POST /api/experiments/{name}/theory       {"config", "seed"} -> theory (cached, budgeted)
GET  /api/experiments/{name}/thumbnail.svg the first declared panel from the tiny preset
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from theoryscope.errors import ConfigError
from theoryscope.protocol import Experiment, all_experiments, get_experiment
from theoryscope.runner import estimate_cost
from theoryscope.web.caps import estimate_payload, parse_declared, require_declared
from theoryscope.web.describe import card, default_values, detail
from theoryscope.web.errors import ApiError
from theoryscope.web.figures import thumbnail_svg
from theoryscope.web.routers.common import json_response, parse_seed, read_json

router = APIRouter(prefix="/api/experiments", tags=["experiments"])

_thumbs: dict[str, bytes] = {}
_thumbs_lock = threading.Lock()
BODY_KEYS = ("config", "seed")


def routes_of(request: Request) -> set[str]:
    """Every plain path the app serves (so a card can link a page routed by its own router)."""
    return set(getattr(request.app.state, "paths", ()))


def experiment_named(name: str) -> Experiment:
    if len(name) > 64:
        raise ApiError(404, f"no experiment {name[:64]!r}")
    try:
        return get_experiment(name)
    except ConfigError as err:
        raise ApiError(404, str(err), "experiment") from None


def declared_experiment(name: str) -> Experiment:
    experiment = experiment_named(name)
    require_declared(experiment)
    return experiment


async def config_from_body(request: Request, experiment: Experiment, *, cost: bool) -> Any:
    body = await read_json(request)
    unknown = sorted(set(body) - set(BODY_KEYS))
    if unknown:
        raise ApiError(422, f"{unknown[0]}: unknown key; allowed: config, seed", unknown[0])
    seed = parse_seed(body.get("seed"))
    return parse_declared(
        experiment, body.get("config", {}), request.app.state.limits, seed, cost=cost
    )


@router.get("")
async def list_experiments(request: Request) -> Response:
    routes = routes_of(request)
    return json_response([card(e, routes) for e in all_experiments()])


@router.get("/{name}")
async def get_detail(request: Request, name: str) -> Response:
    experiment = declared_experiment(name)
    return json_response(detail(experiment, request.app.state.limits))


@router.post("/{name}/validate")
async def validate(request: Request, name: str) -> Response:
    """The config as the server would run it, with its cost; 422 naming the field otherwise."""
    experiment = declared_experiment(name)
    config = await config_from_body(request, experiment, cost=True)
    estimate = estimate_cost(experiment, config)
    return json_response({"config": config.to_dict(), **estimate_payload(estimate)})


@router.post("/{name}/estimate")
async def estimate(request: Request, name: str) -> Response:
    """The declared cost of a config, even one this server would refuse for its cost."""
    experiment = declared_experiment(name)
    config = await config_from_body(request, experiment, cost=False)
    limits = request.app.state.limits
    found = estimate_cost(experiment, config)
    return json_response(
        {
            "config": config.to_dict(),
            **estimate_payload(found),
            "max_run_seconds": limits.max_run_seconds,
            "allowed": found is None or found.seconds <= limits.max_run_seconds,
        }
    )


@router.post("/{name}/theory")
async def theory(request: Request, name: str) -> Response:
    """``predict`` for a config (cached by config hash, in a worker thread, with a budget)."""
    experiment = declared_experiment(name)
    config = await config_from_body(request, experiment, cost=False)
    _, theory_dict = await request.app.state.theory.get(experiment.name, config)
    return json_response({"config": config.to_dict(), "theory": theory_dict})


@router.get("/{name}/thumbnail.svg")
async def thumbnail(request: Request, name: str) -> Response:
    """The first declared panel that the theory of the tiny preset draws (cached); 404 when the
    theory alone draws none (the card then shows no picture)."""
    experiment = declared_experiment(name)
    if not experiment.figures:
        raise ApiError(404, f"{name!r} declares no figure")
    with _thumbs_lock:
        svg = _thumbs.get(name)
    if svg is None:
        config_cls = require_declared(experiment)
        config = config_cls.from_dict(  # type: ignore[attr-defined]
            {
                **{f: 0 for f in getattr(config_cls, "follows_seed", ())},
                **default_values(experiment),
            }
        )
        _, theory_dict = await request.app.state.theory.get(experiment.name, config)
        svg = await run_in_threadpool(thumbnail_svg, experiment, theory_dict, config.to_dict())
        with _thumbs_lock:
            _thumbs[name] = svg or b""
    if not svg:
        raise ApiError(404, f"the theory of {name!r} alone draws no declared curve")
    return Response(
        svg, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=3600"}
    )

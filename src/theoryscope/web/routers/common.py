"""Helpers shared by the routers: JSON bodies, config validation with the server's caps."""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from theoryscope.errors import ConfigError
from theoryscope.protocol import get_experiment
from theoryscope.store import to_json
from theoryscope.web.errors import ApiError
from theoryscope.web.flagship import FLAGSHIP
from theoryscope.web.jsonbody import loads
from theoryscope.web.limits import Limits

#: The Expander lab's experiment (its own API: /api/meta, /api/validate, /api/theory).
EXPERIMENT = FLAGSHIP
RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


async def read_json(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says what is wrong with it.

    The body was already checked by :class:`~theoryscope.web.app.BodyLimit` (size, depth, integer
    digits); this parses it with the same bounded parser and requires an object.
    """
    raw = await request.body()
    if not raw.strip():
        raise ApiError(400, "empty request body; expected a JSON object")
    data = loads(raw)
    if not isinstance(data, dict):
        raise ApiError(400, f"expected a JSON object, got {type(data).__name__}")
    return data


def parse_config(raw: Any, limits: Limits) -> Any:
    """Validate a config dict exactly as the CLI does, then against the server's work caps."""
    if not isinstance(raw, dict):
        raise ConfigError("config", "must be a JSON object of settings (see GET /api/meta)")
    try:
        config = get_experiment(EXPERIMENT).config_from_dict(raw)
    except ConfigError:
        raise
    except (TypeError, KeyError, ValueError, AttributeError) as err:
        # Structurally odd input (e.g. a term that is not an object): still one line, still 4xx.
        raise ConfigError("config", f"malformed setting ({type(err).__name__}: {err})") from None
    limits.check(config)
    return config


def parse_seed(raw: Any) -> int:
    if raw is None:
        return 0
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw < 2**31:
        raise ConfigError("seed", f"got {raw!r}; allowed: an integer from 0 to {2**31 - 1}")
    return raw


def check_run_id(run_id: str) -> str:
    if not RUN_ID.match(run_id):
        raise ApiError(404, f"no run with id {run_id[:80]!r}")
    return run_id


def json_response(value: Any, status: int = 200) -> Response:
    """JSON with NumPy values converted and NaN / inf as null (the store's encoding)."""
    return Response(to_json(value), status_code=status, media_type="application/json")

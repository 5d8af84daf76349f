"""Helpers shared by the routers: JSON bodies, config validation with the server's caps."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from theoryscope.errors import ConfigError
from theoryscope.protocol import get_experiment
from theoryscope.store import to_json
from theoryscope.web.errors import ApiError
from theoryscope.web.limits import Limits

EXPERIMENT = "expander"
RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


#: Deepest nesting of arrays / objects a request body may have (configs need 4).
MAX_JSON_DEPTH = 32
#: Most digits a JSON integer may have (Python's own cap is 4,300; no setting needs 20).
MAX_INT_DIGITS = 100
_SPECIAL = re.compile(r'[\[\]{}"\\]')


def json_depth(text: str) -> int:
    """The deepest nesting of ``[`` / ``{`` in a JSON text, strings skipped.

    One pass over the structural characters (linear time, no recursion), so it can run before
    ``json.loads``, whose C scanner recurses once per level.
    """
    depth = deepest = 0
    in_string = False
    escaped_at = -1
    for match in _SPECIAL.finditer(text):
        at, char = match.start(), match.group()
        if at == escaped_at:
            continue
        if in_string:
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _parse_int(digits: str) -> int:
    count = len(digits.lstrip("-"))
    if count > MAX_INT_DIGITS:
        raise ApiError(
            400, f"JSON integer with {count:,} digits; allowed: at most {MAX_INT_DIGITS} digits"
        )
    return int(digits)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ApiError(400, f"JSON number {text[:40]} is out of range; allowed: finite numbers")
    return value


def _parse_constant(name: str) -> Any:
    raise ApiError(400, f"{name} is not JSON; allowed: finite numbers (or null)")


def loads(raw: bytes | str) -> Any:
    """Parse a request body or WebSocket message: any JSON value, or an ApiError(400) that names
    the problem (malformed, nested deeper than MAX_JSON_DEPTH, an integer over MAX_INT_DIGITS
    digits, NaN / Infinity). The one JSON parser of the web API: every route reads through it."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as err:
        raise ApiError(
            400, f"malformed JSON: not UTF-8 ({err.reason} at byte {err.start})"
        ) from None
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise ApiError(
            400, f"JSON nested {depth} deep; allowed: at most {MAX_JSON_DEPTH} levels of [ and {{"
        )
    try:
        return json.loads(
            text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant
        )
    except json.JSONDecodeError as err:
        raise ApiError(400, f"malformed JSON: {err.msg} (position {err.pos})") from None
    except RecursionError:
        raise ApiError(
            400, f"JSON nested too deep; allowed: at most {MAX_JSON_DEPTH} levels"
        ) from None
    except ValueError as err:  # e.g. Python's own integer-size guard
        raise ApiError(400, f"malformed JSON: {str(err)[:200]}") from None


async def read_json(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says what is wrong with it."""
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
    for key in ("terms", "alpha"):
        # Config falls back to its default target for an empty list; a request that asks for
        # no terms at all gets told so instead of training something it did not ask for.
        if key in raw and isinstance(raw[key], (list, tuple)) and not raw[key]:
            raise ConfigError(
                key,
                f"got an empty list; allowed: 1 to {limits.max_terms} terms (omit it for the default)",
            )
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

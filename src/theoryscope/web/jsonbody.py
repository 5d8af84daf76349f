"""The web API's one JSON parser: bounded, so a hostile body is a 400 that names the problem.

``json.loads`` alone turns a 2 KB body nested 1,000 deep into a RecursionError and a 4,301-digit
integer into a ValueError (Python's int-conversion guard): 500s with a traceback. :func:`loads`
measures the nesting first (one linear pass, no recursion), caps integer digits and refuses
NaN / Infinity and numbers that overflow to inf, each as :class:`ApiError` (400).

:class:`~theoryscope.web.app.BodyLimit` runs it on every JSON request body before routing, so a
route added later (FastAPI's own body parsing included) never sees such a body; the routers and
the WebSocket receiver parse with it too.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from theoryscope.web.errors import ApiError

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

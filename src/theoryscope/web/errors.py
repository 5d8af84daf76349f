"""The web API's error shape: ``{"error": "<one line>", "field": "<name>"}`` with a 4xx status."""

from __future__ import annotations

import re
from typing import Any

#: Control characters (newlines included) that a request may smuggle into an echoed value, e.g.
#: an unknown key named "a\nb": shown escaped, so every error stays one line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
MAX_MESSAGE_CHARS = 1000


def one_line(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` with control characters escaped (``\\n``, ``\\x07``) and at most ``limit`` chars."""
    out = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    return out if len(out) <= limit else out[: limit - 1] + "…"


class ApiError(Exception):
    """An error answered as ``{"error": message, "field": field}`` with ``status``."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def error_body(message: str, field: str | None = None) -> dict[str, Any]:
    """The JSON body of an error answer: always one line, whatever the request echoed."""
    body: dict[str, Any] = {"error": one_line(str(message))}
    if field is not None:
        body["field"] = one_line(str(field), 200)
    return body

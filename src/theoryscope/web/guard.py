"""Who may drive the lab: the Host check (DNS rebinding) and the cross-site check (CSRF).

The lab runs compute for whoever can reach it, so two ASGI middlewares sit in front of every
route, present and future (they see every request before routing):

* :class:`HostGuard` answers 400 unless the ``Host`` header names the lab (the loopback names,
  the ``--host`` it was bound to, and ``--allow-host`` names). A DNS-rebinding page reaches
  127.0.0.1 under its own name, so its requests carry a foreign Host and stop here. The matching
  is Starlette's :class:`~starlette.middleware.trustedhost.TrustedHostMiddleware`; this wrapper only
  words the refusal as the API's one-line JSON error.
* :class:`CrossSiteGuard` refuses, on every POST / PUT / PATCH / DELETE and on the WebSocket
  handshake, an ``Origin`` that is not the lab's own (403), and a request with no ``Origin``
  whose ``Sec-Fetch-Site`` says another site sent it (403). On the unsafe methods it also
  refuses a body that is not ``application/json`` (415): a cross-site form or ``text/plain``
  fetch cannot send that type without a CORS preflight, which this server never grants.
  Requests with neither header (curl, scripts, the CLI) are not a browser's and pass.

The lab's own origins are ``http(s)://NAME:PORT`` for each exact allowed host NAME, with PORT the
port of the request's own ``Host`` header (so the page works on any port, behind ``ssh -L``
too), plus the ``--allow-origin`` URLs. Wildcard host patterns never widen the origins.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import JSONResponse

from theoryscope.errors import ConfigError
from theoryscope.web.errors import error_body

#: Names the lab answers to on every machine (brackets as in a Host header for IPv6).
LOOPBACK_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "[::1]")
#: Methods that change state: they need a same-origin (or non-browser) JSON request.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Sec-Fetch-Site values a browser sets for a request one of the lab's own pages made (or none).
SAME_SITE_FETCH = frozenset({"same-origin", "none"})
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def host_name(host: str) -> str:
    """A host name as it appears in a Host header: lower case, IPv6 literals in brackets."""
    host = host.strip().lower()
    if ":" in host and not host.startswith("["):
        try:
            return f"[{ipaddress.IPv6Address(host)}]"
        except ValueError:
            return host
    return host


def lab_hosts(bind_host: str | None = None, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The loopback names, the interface the server binds (unless a wildcard) and ``extra``."""
    names = list(LOOPBACK_HOSTS)
    if bind_host and bind_host not in ("0.0.0.0", "::", ""):
        names.append(host_name(bind_host))
    names.extend(check_host_pattern(h) for h in extra)
    return tuple(dict.fromkeys(names))


def check_host_pattern(raw: str) -> str:
    """A ``--allow-host`` value: a host name, an IP literal, ``*.domain`` or ``*`` (anything)."""
    text = host_name(str(raw))
    bad = (
        not text
        or any(c in text for c in "/?#@ \t")
        or ("*" in text[1:])
        or (text.startswith("*") and text != "*" and not text.startswith("*."))
        or (":" in text and not (text.startswith("[") and text.endswith("]")))
    )
    if bad:
        raise ConfigError(
            "allow-host",
            f"got {raw!r}; allowed: a host name or IP address without port (lab.example.org,"
            " 192.168.1.5, [fe80::1]), '*.domain' or '*'",
        )
    return text


def normalize_origin(raw: str) -> str:
    """An ``--allow-origin`` value as the browser sends it: ``scheme://host[:port]``, lower case,
    default port dropped. Raises ConfigError naming the field otherwise."""
    text = str(raw).strip().rstrip("/")
    parsed = _parse_origin(text)
    if parsed is None:
        raise ConfigError(
            "allow-origin",
            f"got {raw!r}; allowed: an origin URL scheme://host[:port] with scheme http or"
            " https and no path (http://lab.example.org:8000)",
        )
    scheme, host, port = parsed
    return f"{scheme}://{host}" + ("" if port == DEFAULT_PORTS[scheme] else f":{port}")


def _parse_origin(text: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an Origin header value, or None if it is not an http(s) origin."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        return None
    return parts.scheme, host_name(parts.hostname), port or DEFAULT_PORTS[parts.scheme]


def _host_port(scope: Scope, headers: Headers) -> int:
    """The port the client addressed: the Host header's, else the scheme's default."""
    host = headers.get("host", "")
    if host.startswith("["):
        tail = host.rpartition("]")[2]
        port_text = tail[1:] if tail.startswith(":") else ""
    else:
        port_text = host.rpartition(":")[2] if ":" in host else ""
    if port_text.isdigit():
        return int(port_text)
    return DEFAULT_PORTS.get(str(scope.get("scheme", "http")), 80)


async def _refuse(
    scope: Scope, receive: Receive, send: Send, status: int, message: str, field: str
) -> None:
    """The API's JSON error; on a WebSocket handshake, the same as an HTTP denial response."""
    await JSONResponse(error_body(message, field), status_code=status)(scope, receive, send)


class HostGuard:
    """Pure ASGI middleware: 400 unless the Host header is one of ``allowed_hosts``.

    The decision is Starlette's TrustedHostMiddleware (its Host parsing and ``*.domain``
    patterns); only the refusal is ours, a one-line JSON error that says how to widen the list.
    """

    def __init__(self, app: App, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        self.allowed_hosts = tuple(allowed_hosts)

        async def accepted(scope: Scope, receive: Receive, send: Send) -> None:
            scope.setdefault("state", {})["theoryscope.host_ok"] = True

        async def discard(message: Any) -> None:
            return None

        self._discard = discard
        self._matcher = TrustedHostMiddleware(
            accepted, allowed_hosts=list(self.allowed_hosts), www_redirect=False
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        probe: dict[str, Any] = {**scope, "state": {}}
        await self._matcher(probe, receive, self._discard)
        if probe["state"].get("theoryscope.host_ok"):
            await self.app(scope, receive, send)
            return
        shown = Headers(scope=scope).get("host", "")[:100]
        await _refuse(
            scope,
            receive,
            send,
            400,
            f"host {shown!r} is not a name of this lab (DNS-rebinding guard); allowed:"
            f" {', '.join(self.allowed_hosts)}; add a name with"
            " `theoryscope serve --allow-host NAME`",
            "host",
        )


class CrossSiteGuard:
    """Pure ASGI middleware: same-origin JSON only for state changes, same-origin WebSockets."""

    def __init__(
        self, app: App, own_hosts: Sequence[str], allowed_origins: Sequence[str] = ()
    ) -> None:
        self.app = app
        #: Exact names only: a ``*.domain`` or ``*`` host pattern never widens the origins.
        self.own_hosts = frozenset(h for h in own_hosts if "*" not in h)
        self.allowed_origins = frozenset(normalize_origin(o) for o in allowed_origins)

    def origin_allowed(self, origin: str, scope: Scope, headers: Headers) -> bool:
        parsed = _parse_origin(origin.strip())
        if parsed is None:  # "null" (sandboxed frames, file://) or garbage
            return False
        scheme, host, port = parsed
        if normalize_origin(origin) in self.allowed_origins:
            return True
        return host in self.own_hosts and port == _host_port(scope, headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket") or (
            kind == "http" and scope.get("method") not in UNSAFE_METHODS
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        what = "WebSocket" if kind == "websocket" else str(scope.get("method"))
        if origin is not None and not self.origin_allowed(origin, scope, headers):
            await _refuse(
                scope,
                receive,
                send,
                403,
                f"cross-site {what} refused: origin {origin[:100]!r} is not this lab's; allowed:"
                " the lab's own pages (or a client that sends no Origin, like curl); add an"
                " origin with `theoryscope serve --allow-origin URL`",
                "origin",
            )
            return
        fetch_site = headers.get("sec-fetch-site")
        if origin is None and fetch_site is not None and fetch_site not in SAME_SITE_FETCH:
            await _refuse(
                scope,
                receive,
                send,
                403,
                f"cross-site {what} refused (Sec-Fetch-Site: {fetch_site[:40]}, no Origin);"
                " allowed: requests from the lab's own pages or from non-browser clients",
                "origin",
            )
            return
        if kind == "http" and not _json_or_empty(headers):
            ctype = headers.get("content-type")
            await _refuse(
                scope,
                receive,
                send,
                415,
                f"content type {ctype[:100] if ctype else None!r} not accepted; allowed:"
                " application/json (or no body at all)",
                "content-type",
            )
            return
        await self.app(scope, receive, send)


def _json_or_empty(headers: Headers) -> bool:
    """True for an ``application/json`` body, or a request that declares no body at all."""
    ctype = headers.get("content-type")
    if ctype is None:
        no_body = headers.get("content-length", "0").strip() == "0"
        return no_body and "transfer-encoding" not in headers
    return ctype.split(";", 1)[0].strip().lower() == "application/json"

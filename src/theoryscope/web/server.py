"""``theoryscope serve``: run the web lab with uvicorn, bound to loopback by default.

uvicorn's own limits are set from :class:`~theoryscope.web.limits.Limits` (keep-alive timeout,
largest request head, connections at once, WebSocket message size). uvicorn has no timeout for
*reading* a request (its keep-alive timer is cancelled by the first byte of the next request,
and a fresh connection has none at all), so a client that sends its request line a byte at a
time would hold a connection forever; :func:`timed_h11` adds that deadline.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import webbrowser
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from theoryscope.web.guard import lab_hosts
from theoryscope.web.limits import Limits

log = logging.getLogger("theoryscope.web")


def timed_h11(request_timeout_s: float) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol with a deadline for receiving each request.

    The clock starts when the connection opens, and again when the first byte of a later request
    on the same connection arrives; it stops once h11 has the whole request (line, headers and
    body) or the connection switched to a WebSocket. If it runs out first, the connection is
    closed. Bytes arriving do not restart it, so sending slowly does not help.
    """
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    reading = (h11.IDLE, h11.SEND_BODY)

    class TimedH11Protocol(H11Protocol):
        _request_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self.conn.their_state is h11.IDLE:
                self._arm()  # the next request starts here (no-op if already armed)
            super().data_received(data)
            if self.conn.their_state not in reading:
                self._disarm()  # whole request in (or upgraded, or closed)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._request_timer is None:
                self._request_timer = self.loop.call_later(request_timeout_s, self._timed_out)

        def _disarm(self) -> None:
            if self._request_timer is not None:
                self._request_timer.cancel()
                self._request_timer = None

        def _timed_out(self) -> None:
            self._request_timer = None
            if self.transport.is_closing() or self.conn.their_state not in reading:
                return
            log.debug(
                "closing a connection that did not send its request in %.1f s", request_timeout_s
            )
            self.transport.close()

    return TimedH11Protocol


def uvicorn_options(limits: Limits) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config``: the lab's protocol limits and
    timeouts from ``limits`` (tests start their servers with the same ones)."""
    return {
        "http": timed_h11(limits.request_timeout_s),
        "timeout_keep_alive": limits.keep_alive_s,
        "limit_concurrency": limits.max_connections,
        "h11_max_incomplete_event_size": limits.max_header_bytes,
        "ws_max_size": limits.max_body_bytes,
        "log_level": "warning",
        "timeout_graceful_shutdown": 5,
    }


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    store_path: str | Path | None = None,
    open_browser: bool = False,
    limits: Limits | None = None,
    allow_hosts: Iterable[str] = (),
    allow_origins: Iterable[str] = (),
) -> None:
    """Serve the lab at ``http://host:port/`` until Ctrl-C; live runs are then stored as interrupted.

    Requests must name the lab's host (loopback names, ``host`` itself, ``allow_hosts``); state
    changes must come from its own pages or ``allow_origins`` (see :mod:`theoryscope.web.guard`).
    """
    import uvicorn

    from theoryscope.web.app import create_app
    from theoryscope.web.assets import ASSETS_HINT, missing_assets

    limits = limits or Limits()
    hosts = lab_hosts(host, allow_hosts)
    app = create_app(store_path, limits, allowed_hosts=hosts, allowed_origins=allow_origins)
    if missing_assets():
        print(f"theoryscope serve: {ASSETS_HINT}", file=sys.stderr)
    shown = "localhost" if host in ("127.0.0.1", "::1", "localhost") else host
    url = f"http://{shown}:{port}/"
    print(
        f"theoryscope web lab on {url} (store: {app.state.store_path}); Ctrl-C stops it",
        file=sys.stderr,
    )
    if host not in ("127.0.0.1", "::1", "localhost"):
        print(
            "theoryscope serve: listening beyond loopback; anyone who can reach this port can"
            " run experiments on this machine",
            file=sys.stderr,
        )
    if host in ("0.0.0.0", "::") and not list(allow_hosts):
        print(
            "theoryscope serve: only the loopback names are accepted as Host; to open the lab"
            " from another machine, name this one with --allow-host NAME",
            file=sys.stderr,
        )
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=host, port=port, **uvicorn_options(limits))

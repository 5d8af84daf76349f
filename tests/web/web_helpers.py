"""Helpers shared by the web tests: small configs, streaming a live run, polling."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

#: A small Expander config: compiles and runs in a few seconds on two cores.
SMALL: dict[str, Any] = {
    "d": 2,
    "k": 50,
    "gamma": [0.1],
    "lr": 0.05,
    "batch": 50,
    "steps": 2000,
    "records": 60,
}
#: Long enough to still be running while a test pauses, stops or closes it.
LONG: dict[str, Any] = {**SMALL, "steps": 2_000_000, "records": 400}


def stream_to_end(client: TestClient, run_id: str, timeout: float = 120.0) -> dict[str, Any]:
    """Attach to a live run and collect every message until ``done``."""
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    with client.websocket_connect(f"/api/live/{run_id}/ws") as ws:
        while time.monotonic() < deadline:
            msg = ws.receive_json()
            messages.append(msg)
            if msg["type"] in ("done", "error"):
                break
    return {"messages": messages, "done": messages[-1] if messages else None}


def received_series(messages: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Concatenate the hello backlog and every chunk, as the page does."""
    out: dict[str, list[Any]] = {}
    for msg in messages:
        if msg["type"] in ("hello", "chunk"):
            for name, values in (msg.get("data") or {}).items():
                out.setdefault(name, []).extend(values)
    return out


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def app_routes(app: Any) -> list[tuple[BaseRoute, str, set[str] | None]]:
    """(route, full path, methods) of every route of a FastAPI app, included routers flattened.

    FastAPI >= 0.130 keeps included routers as one entry of ``app.routes`` each;
    ``fastapi.routing.iter_route_contexts`` expands them (older versions list routes flat).
    """
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # an older FastAPI: app.routes is already flat
        return [(r, getattr(r, "path", ""), getattr(r, "methods", None)) for r in app.routes]
    return [(rc.original_route, rc.path, rc.methods) for rc in iter_route_contexts(app.routes)]

"""Live runs: start one (validated like the CLI), control it, and stream it over a WebSocket.

    POST /api/live                      {"experiment": "spectral", "config": {...}, "seed": 0}
                                        -> 201 {"run_id", ...} ("experiment" defaults to the
                                        Expander lab's)
    POST /api/live/{run_id}/{action}    action: pause | resume | stop
    GET  /api/live                      the runs this server is simulating
    WS   /api/live/{run_id}/ws          hello (config, theory, backlog), then chunk... done
                                        (each with progress and eta; done with metric rows)

The stream sends every recorded point exactly once per page (the backlog on attach, then each
chunk); chunks that pile up while a page is slow are merged into one message, never dropped.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from theoryscope.errors import ConfigError
from theoryscope.protocol import get_experiment
from theoryscope.store import to_json
from theoryscope.web.caps import parse_declared
from theoryscope.web.errors import ApiError
from theoryscope.web.flagship import is_legacy
from theoryscope.web.jsonbody import loads
from theoryscope.web.live import ServerBusy, merge_chunks
from theoryscope.web.routers.api import check_mode, theory_for
from theoryscope.web.routers.common import (
    EXPERIMENT,
    check_run_id,
    json_response,
    parse_config,
    parse_seed,
    read_json,
)

router = APIRouter(prefix="/api/live", tags=["live"])
ACTIONS = ("pause", "resume", "stop")


@router.get("")
async def list_live(request: Request) -> dict[str, Any]:
    return {"runs": [r.describe() for r in request.app.state.live.all()]}


@router.post("", status_code=201)
async def start(request: Request) -> Response:
    """Validate, predict, and start simulating in a worker thread; answers with the stored id."""
    body = await read_json(request)
    unknown = sorted(set(body) - {"experiment", "config", "seed"})
    if unknown:
        raise ApiError(
            422, f"{unknown[0]}: unknown key; allowed: experiment, config, seed", unknown[0]
        )
    name = body.get("experiment", EXPERIMENT)
    if not isinstance(name, str):
        raise ConfigError("experiment", f"got {name!r}; allowed: an experiment name")
    experiment = get_experiment(name[:64])  # unknown: 422 naming "experiment"
    seed = parse_seed(body.get("seed"))
    limits = request.app.state.limits
    if is_legacy(experiment):  # the Expander lab's own parser and theory cache (flagship.py)
        config = parse_config(body.get("config"), limits)
        check_mode(config)
        theory, theory_dict = await run_in_threadpool(theory_for, config)
    else:
        config = parse_declared(experiment, body.get("config"), limits, seed)
        theory, theory_dict = await request.app.state.theory.get(experiment.name, config)
    live_runs = request.app.state.live
    try:
        live = await run_in_threadpool(
            live_runs.start, experiment.name, config, seed, theory, theory_dict
        )
    except ServerBusy as err:
        raise ApiError(429, str(err)) from None
    except RuntimeError as err:
        raise ApiError(500, str(err)) from None
    payload = {
        "experiment": experiment.name,
        "run_id": live.id,
        "config": config.to_dict(),
        "seed": seed,
        "theory": theory_dict,
        "state": live.state,
    }
    return json_response(payload, status=201)


@router.post("/{run_id}/{action}")
async def control(request: Request, run_id: str, action: str) -> dict[str, Any]:
    check_run_id(run_id)
    if action not in ACTIONS:
        raise ApiError(404, f"unknown action {action[:40]!r}; allowed: {', '.join(ACTIONS)}")
    live = request.app.state.live.get(run_id)
    if live is None:
        raise ApiError(404, f"no live run with id {run_id!r} (it may have finished; see /api/runs)")
    state = live.control(action)
    return {"run_id": run_id, "state": state}


@router.websocket("/{run_id}/ws")
async def stream(websocket: WebSocket, run_id: str) -> None:
    await websocket.accept()
    live = websocket.app.state.live.get(run_id) if len(run_id) <= 64 else None
    if live is None:
        await websocket.send_json(
            {"type": "error", "error": f"no live run with id {run_id[:64]!r}"}
        )
        await websocket.close(code=4404)
        return
    sub, hello = live.attach(asyncio.get_running_loop())
    max_bytes = websocket.app.state.limits.max_body_bytes

    async def sender() -> None:
        await websocket.send_text(to_json(hello))
        while True:
            message = await sub.queue.get()
            batch = [message]
            while not sub.queue.empty():
                batch.append(sub.queue.get_nowait())
            for out in _coalesce(batch):
                await websocket.send_text(to_json(out))
                if out["type"] == "done":
                    return

    async def receiver() -> None:
        # The page may also control the run over the socket; anything else is ignored.
        while True:
            text = await websocket.receive_text()
            if len(text) > max_bytes:
                continue
            try:
                message = loads(text)
            except ApiError:
                continue
            action = message.get("action") if isinstance(message, dict) else None
            if action in ACTIONS:
                await run_in_threadpool(live.control, action)

    send_task = asyncio.create_task(sender())
    recv_task = asyncio.create_task(receiver())
    try:
        await asyncio.wait({send_task, recv_task}, return_when=asyncio.FIRST_COMPLETED)
    except WebSocketDisconnect:
        pass
    finally:
        for task in (send_task, recv_task):
            task.cancel()
        await asyncio.gather(send_task, recv_task, return_exceptions=True)
        live.detach(sub)
    if send_task.done() and not send_task.cancelled() and send_task.exception() is None:
        try:
            await websocket.close()
        except (RuntimeError, WebSocketDisconnect):  # the page closed first
            pass


def _coalesce(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge consecutive chunk messages (keeping the latest progress); others pass through."""
    out: list[dict[str, Any]] = []
    for message in batch:
        if out and message["type"] == "chunk" and out[-1]["type"] == "chunk":
            merged = {**message, "data": merge_chunks([out[-1]["data"], message["data"]])}
            out[-1] = merged
        else:
            out.append(message)
    return out

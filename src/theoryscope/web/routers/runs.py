"""The run store seen from the page: history, one run, its series, export, delete."""

from __future__ import annotations

import io
import re
import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from theoryscope.protocol import RUN_STATUSES, Run, get_experiment
from theoryscope.store import RunStore, to_json
from theoryscope.store.export import run_to_csv, run_to_json_dict
from theoryscope.web.errors import ApiError
from theoryscope.web.routers.common import check_run_id, json_response

router = APIRouter(prefix="/api/runs", tags=["runs"])

#: Export names: a plain file name ending in a known format, no paths, no leading dot.
EXPORT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.(csv|json|png)$")
MEDIA = {"csv": "text/csv", "json": "application/json", "png": "image/png"}
_png_lock = threading.Lock()  # matplotlib is not thread-safe


def _store(request: Request) -> RunStore:
    return RunStore(request.app.state.store_path)


#: Left out of the history listing (fetched per run when it is opened).
_HEAVY = ("theory", "agreement", "timings", "versions")


def _listing(run: Any) -> dict[str, Any]:
    return {key: value for key, value in run.to_dict().items() if key not in _HEAVY}


@router.get("")
async def list_runs(request: Request, limit: int = 50, status: str | None = None) -> Response:
    """Stored runs, newest first (no series)."""
    if not 1 <= limit <= 1000:
        raise ApiError(422, f"limit: got {limit}; allowed: 1 to 1000", "limit")
    if status is not None and status not in RUN_STATUSES:
        raise ApiError(422, f"status: got {status!r}; allowed: {', '.join(RUN_STATUSES)}", "status")
    store = _store(request)
    runs = await run_in_threadpool(store.list_runs, status=status, limit=limit)
    live = request.app.state.live
    out = []
    for run in runs:
        item = _listing(run)
        lr = live.get(run.id)
        item["live"] = lr is not None and lr.state != "done"
        out.append(item)
    return json_response({"runs": out})


@router.get("/{run_id}")
async def get_run(request: Request, run_id: str) -> Response:
    """One stored run with config, summary, theory and agreement (no series)."""
    check_run_id(run_id)
    run = await run_in_threadpool(_store(request).get_run, run_id)
    out = run.to_dict()
    lr = request.app.state.live.get(run_id)
    out["live"] = lr is not None and lr.state != "done"
    out["live_state"] = lr.state if lr is not None else None
    return json_response(out)


@router.get("/{run_id}/series")
async def get_series(request: Request, run_id: str) -> Response:
    """Every recorded series of a run, as lists (records along the first axis)."""
    check_run_id(run_id)
    series = await run_in_threadpool(_store(request).get_series, run_id)
    return json_response({"run_id": run_id, "series": series})


@router.delete("/{run_id}")
async def delete_run(request: Request, run_id: str) -> Response:
    check_run_id(run_id)
    lr = request.app.state.live.get(run_id)
    if lr is not None and lr.state != "done":
        raise ApiError(409, f"run {run_id!r} is still running; stop it first")
    await run_in_threadpool(_store(request).delete_run, run_id)
    return json_response({"deleted": run_id})


def _png(store: RunStore, run_id: str) -> bytes:
    """The run's two panels (matplotlib, the CLI's figure) with its stored theory dashed."""
    run = store.get_run(run_id)
    experiment = get_experiment(run.experiment)
    if experiment.plot is None:
        raise ApiError(422, f"experiment {run.experiment!r} has no plot", "format")
    status = "interrupted" if run.status == "running" else run.status
    as_run = Run(
        run.experiment,
        run.config,
        run.seed,
        status,
        store.get_series(run_id),
        summary=run.summary,
        message=run.message,
    )
    with _png_lock:
        fig = experiment.plot(as_run, run.theory)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


@router.get("/{run_id}/export/{name}")
async def export(request: Request, run_id: str, name: str) -> Response:
    """Download a run as ``<name>.csv`` (one row per record), ``.json`` (everything) or ``.png``."""
    check_run_id(run_id)
    match = EXPORT_NAME.match(name)
    if match is None or ".." in name:
        raise ApiError(
            400,
            f"export name {name[:80]!r} not allowed; use a plain file name like run.csv,"
            " run.json or run.png (letters, digits, . _ -, no paths)",
            "name",
        )
    fmt = match.group(1)
    store = _store(request)
    if fmt == "csv":
        body: bytes = (
            await run_in_threadpool(lambda: run_to_csv(store.get_series(run_id)))
        ).encode()
    elif fmt == "json":
        data = await run_in_threadpool(run_to_json_dict, store, run_id)
        body = to_json(data).encode()
    else:
        body = await run_in_threadpool(_png, store, run_id)
    return Response(
        body,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )

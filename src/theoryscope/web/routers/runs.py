"""The run store seen from the page: history, one run, its series, export, delete.

GET    /api/runs                    ?experiment=NAME&kind=run|study&status=...&limit=50
GET    /api/runs/{id}               config, summary, theory, agreement and the declared
                                    metric rows (``metrics``)
GET    /api/runs/{id}/series
GET    /api/runs/{id}/export/{name} name ends in .csv, .json, .png or .svg (PNG and SVG: the
                                    experiment's declared figure, else its own plot)
DELETE /api/runs/{id}
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from theoryscope.protocol import RUN_STATUSES
from theoryscope.store import RunStore, to_json
from theoryscope.store.export import run_to_csv, run_to_json_dict
from theoryscope.web.errors import ApiError
from theoryscope.web.figures import run_figure_bytes, run_metrics
from theoryscope.web.routers.common import check_run_id, json_response

router = APIRouter(prefix="/api/runs", tags=["runs"])

#: Export names: a plain file name ending in a known format, no paths, no leading dot.
EXPORT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.(csv|json|png|svg)$")
MEDIA = {"csv": "text/csv", "json": "application/json", "png": "image/png", "svg": "image/svg+xml"}
KINDS = ("run", "study")


def _store(request: Request) -> RunStore:
    return RunStore(request.app.state.store_path)


#: Left out of the history listing (fetched per run when it is opened).
_HEAVY = ("theory", "agreement", "timings", "versions")


def _listing(run: Any) -> dict[str, Any]:
    return {key: value for key, value in run.to_dict().items() if key not in _HEAVY}


@router.get("")
async def list_runs(
    request: Request,
    limit: int = 50,
    status: str | None = None,
    experiment: str | None = None,
    kind: str | None = None,
) -> Response:
    """Stored runs, newest first (no series); ``kind`` keeps plain runs or study rows only."""
    if not 1 <= limit <= 1000:
        raise ApiError(422, f"limit: got {limit}; allowed: 1 to 1000", "limit")
    if status is not None and status not in RUN_STATUSES:
        raise ApiError(422, f"status: got {status!r}; allowed: {', '.join(RUN_STATUSES)}", "status")
    if kind is not None and kind not in KINDS:
        raise ApiError(422, f"kind: got {kind[:40]!r}; allowed: {', '.join(KINDS)}", "kind")
    if experiment is not None and len(experiment) > 64:
        raise ApiError(422, "experiment: name too long; allowed: an experiment name", "experiment")
    store = _store(request)

    def listing() -> list[Any]:
        found = store.list_runs(status=status, experiment=experiment, limit=None)
        if kind is not None:
            found = [r for r in found if (r.study is None) == (kind == "run")]
        return found[:limit]

    runs = await run_in_threadpool(listing)
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
    store = _store(request)
    run = await run_in_threadpool(store.get_run, run_id)
    out = run.to_dict()
    out["metrics"] = await run_in_threadpool(run_metrics, store, run)
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


@router.get("/{run_id}/export/{name}")
async def export(request: Request, run_id: str, name: str) -> Response:
    """Download a run as ``<name>.csv`` (one row per record), ``.json`` (everything), ``.png`` or
    ``.svg`` (its figure)."""
    check_run_id(run_id)
    match = EXPORT_NAME.match(name)
    if match is None or ".." in name:
        raise ApiError(
            400,
            f"export name {name[:80]!r} not allowed; use a plain file name like run.csv,"
            " run.json, run.png or run.svg (letters, digits, . _ -, no paths)",
            "name",
        )
    fmt = match.group(1)
    store = _store(request)
    if fmt == "csv":
        body: bytes = (
            await run_in_threadpool(lambda: run_to_csv(store.get_series(run_id)))
        ).encode()
    elif fmt == "json":

        def everything() -> dict[str, Any]:
            data = run_to_json_dict(store, run_id)
            data["metrics"] = run_metrics(store, store.get_run(run_id))
            return data

        body = to_json(await run_in_threadpool(everything)).encode()
    else:
        body = await run_in_threadpool(run_figure_bytes, store, run_id, fmt)
    return Response(
        body,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )

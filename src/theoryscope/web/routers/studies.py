"""Declared studies from the page: start one as a job, follow it, stop it, draw its result.

POST /api/experiments/{name}/studies/{study}            {"params", "seed"} -> 202 {"job_id"}
GET  /api/jobs/{job_id}                                 state, progress, message, eta,
                                                        run_id, and when done result, metrics
POST /api/jobs/{job_id}/stop
GET  /api/experiments/{name}/studies/{study}/figure.png ?run_id=...  (the study's figure)
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from theoryscope.errors import ConfigError
from theoryscope.spec.declare import Study
from theoryscope.store import RunStore
from theoryscope.web.caps import parse_study_params
from theoryscope.web.errors import ApiError
from theoryscope.web.figures import study_figure_png
from theoryscope.web.live import ServerBusy
from theoryscope.web.routers.common import check_run_id, json_response, parse_seed, read_json
from theoryscope.web.routers.experiments import declared_experiment

router = APIRouter(tags=["studies"])
JOB_ID = re.compile(r"^[0-9a-f]{12}$")


def _study(name: str, study_name: str) -> tuple[Any, Study]:
    experiment = declared_experiment(name)
    try:
        return experiment, experiment.study(study_name[:64])
    except ConfigError as err:
        raise ApiError(404, str(err), "study") from None


@router.post("/api/experiments/{name}/studies/{study_name}", status_code=202)
async def start_study(request: Request, name: str, study_name: str) -> Response:
    experiment, study = _study(name, study_name)
    body = await read_json(request)
    unknown = sorted(set(body) - {"params", "seed"})
    if unknown:
        raise ApiError(422, f"{unknown[0]}: unknown key; allowed: params, seed", unknown[0])
    seed = parse_seed(body.get("seed")) if study.seeded else 0
    params = parse_study_params(study, body.get("params", {}), request.app.state.limits, seed)
    try:
        job = request.app.state.jobs.start(experiment.name, study.name, params, seed)
    except ServerBusy as err:
        raise ApiError(429, str(err)) from None
    return json_response({"job_id": job.id, **job.describe()}, status=202)


def _job(request: Request, job_id: str) -> Any:
    job = request.app.state.jobs.get(job_id) if JOB_ID.match(job_id) else None
    if job is None:
        raise ApiError(404, f"no study job with id {job_id[:40]!r} (finished jobs are kept 10 min)")
    return job


@router.get("/api/jobs/{job_id}")
async def get_job(request: Request, job_id: str) -> Response:
    return json_response(_job(request, job_id).describe())


@router.post("/api/jobs/{job_id}/stop")
async def stop_job(request: Request, job_id: str) -> Response:
    job = _job(request, job_id)
    return json_response({"job_id": job.id, "state": job.stop()})


@router.get("/api/experiments/{name}/studies/{study_name}/figure.png")
async def study_figure(request: Request, name: str, study_name: str, run_id: str) -> Response:
    """The study's own figure of a stored study result."""
    experiment, study = _study(name, study_name)
    check_run_id(run_id)
    stored = await run_in_threadpool(RunStore(request.app.state.store_path).get_run, run_id)
    if stored.experiment != experiment.name or stored.study != study.name:
        raise ApiError(404, f"run {run_id!r} is not a {name} {study.name} study", "run_id")
    if stored.status not in ("finished", "interrupted") or not stored.summary:
        raise ApiError(409, f"run {run_id!r} has no result ({stored.status})", "run_id")
    png = await run_in_threadpool(study_figure_png, study, stored.summary)
    return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=3600"})

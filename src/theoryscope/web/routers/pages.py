"""The HTML pages: the landing page, the sweeps pages, and one page per experiment.

    GET /                 every experiment as a card (home.html)
    GET /sweeps           the sweeps (sweeps.html); /sweeps/{id} one sweep
    GET /{name}           the experiment's hand-made page (its ``Hooks.page``), else the generic
                          page built from its declarations (experiment.html)

Included last: every API route is matched before ``/{name}``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from theoryscope.web.errors import ApiError
from theoryscope.web.flagship import hand_made_page
from theoryscope.web.routers.experiments import experiment_named

STATIC = Path(__file__).resolve().parent.parent / "static"
NO_CACHE = {"Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


def _page(name: str) -> FileResponse:
    path = (STATIC / name).resolve()
    if path.parent != STATIC or not path.is_file():
        raise ApiError(404, f"page {name!r} is not installed")
    return FileResponse(path, headers=NO_CACHE)


@router.get("/")
async def home() -> FileResponse:
    return _page("home.html")


@router.get("/sweeps")
async def sweeps() -> FileResponse:
    return _page("sweeps.html")


@router.get("/sweeps/{sweep_id}")
async def sweep(sweep_id: str) -> FileResponse:
    return _page("sweeps.html")


@router.get("/{name}")
async def experiment_page(name: str) -> FileResponse:
    experiment = experiment_named(name)
    page = hand_made_page(experiment)
    if page is not None:
        return _page(page)
    if experiment.config is None:
        raise ApiError(
            404, f"{name!r} has no web page yet: it is not declared (see /api/experiments)"
        )
    return _page("experiment.html")

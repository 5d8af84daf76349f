"""The ASGI app of the web lab: the page, its static assets, and the JSON + WebSocket API.

Every request is validated with the CLI's own rules (``Config.from_dict``) plus the server's
work caps (:class:`~theoryscope.web.limits.Limits`); a bad one is answered with a 4xx and a JSON
body ``{"error": "<one line>", "field": "<name>"}`` and the server keeps serving. Before any
route sees a request, middleware checks its Host (DNS rebinding), its Origin and content type
(cross-site requests; :mod:`theoryscope.web.guard`) and its body size.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from theoryscope.errors import ConfigError, NotFoundError, StoreError, TheoryscopeError
from theoryscope.store import RunStore
from theoryscope.web.assets import ASSETS_HINT, STATIC, missing_assets
from theoryscope.web.errors import ApiError, error_body
from theoryscope.web.guard import CrossSiteGuard, HostGuard, lab_hosts, normalize_origin
from theoryscope.web.jsonbody import loads
from theoryscope.web.limits import Limits
from theoryscope.web.live import LiveRuns

log = logging.getLogger("theoryscope.web")


def _declares_json(headers: dict[bytes, bytes]) -> bool:
    ctype = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
    return ctype == b"application/json"


class BodyLimit:
    """Pure ASGI middleware for request bodies of POST / PUT / PATCH / DELETE.

    Refuses a body over ``max_bytes`` (413), and a JSON body that :func:`~theoryscope.web.jsonbody.
    loads` refuses (400: malformed, nested too deep, an integer with too many digits, NaN); the
    route then reads the buffered body as usual.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        too_big = False
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                too_big = True
        body = b""
        more = not too_big and scope.get("method") in ("POST", "PUT", "PATCH", "DELETE")
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                too_big = True
                break
        if too_big:
            response = JSONResponse(
                error_body(f"request body too large; allowed: at most {self.max_bytes:,} bytes"),
                status_code=413,
            )
            await response(scope, receive, send)
            return
        if scope.get("method") not in ("POST", "PUT", "PATCH", "DELETE"):
            await self.app(scope, receive, send)
            return
        if body.strip() and _declares_json(headers):
            try:
                loads(body)  # the same bounded parser the routes use: depth, digits, NaN, UTF-8
            except ApiError as err:
                await JSONResponse(error_body(err.message), status_code=err.status)(
                    scope, receive, send
                )
                return
        sent = False

        async def replay() -> Any:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def create_app(
    store_path: str | Path | None = None,
    limits: Limits | None = None,
    *,
    allowed_hosts: Iterable[str] = (),
    allowed_origins: Iterable[str] = (),
) -> FastAPI:
    """Build the web lab app on the run store at ``store_path`` (default: the user store).

    Requests are accepted only for the loopback host names plus ``allowed_hosts`` (exact names,
    ``*.domain`` or ``*``), and state changes only from the lab's own origins plus
    ``allowed_origins`` (see :mod:`theoryscope.web.guard`). ``theoryscope serve`` passes the
    ``--host`` it binds and its ``--allow-host`` / ``--allow-origin`` values; tests pass
    ``allowed_hosts=["testserver"]`` for the TestClient.
    """
    from theoryscope.web.jobs import Jobs
    from theoryscope.web.routers import (
        api,
        experiments,
        live,
        pages,
        runs,
        studies,
        sweeps,
    )
    from theoryscope.web.theory import TheoryService

    limits = limits or Limits()
    hosts = lab_hosts(None, allowed_hosts)
    origins = tuple(normalize_origin(o) for o in allowed_origins)
    store = RunStore(store_path)  # fails here, in one line, if the store cannot be opened
    live_runs = LiveRuns(store.path, limits.max_live_runs, limits.detach_grace_s)
    jobs = Jobs(store.path, limits.max_jobs)
    theory = TheoryService(limits.theory_budget_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        missing = missing_assets()
        if missing:
            log.warning(ASSETS_HINT)
        yield
        live_runs.stop_all()
        jobs.stop_all()
        theory.close()

    app = FastAPI(
        title="theoryscope web lab",
        version="1",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.store_path = store.path
    app.state.limits = limits
    app.state.allowed_hosts = hosts
    app.state.allowed_origins = origins
    app.state.live = live_runs
    app.state.jobs = jobs
    app.state.theory = theory

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, err: ApiError) -> JSONResponse:
        return JSONResponse(error_body(err.message, err.field), status_code=err.status)

    @app.exception_handler(ConfigError)
    async def _config_error(request: Request, err: ConfigError) -> JSONResponse:
        return JSONResponse(error_body(str(err), err.field), status_code=422)

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, err: NotFoundError) -> JSONResponse:
        return JSONResponse(error_body(str(err)), status_code=404)

    @app.exception_handler(StoreError)
    async def _store_error(request: Request, err: StoreError) -> JSONResponse:
        return JSONResponse(error_body(str(err)), status_code=503)

    @app.exception_handler(TheoryscopeError)
    async def _other_error(request: Request, err: TheoryscopeError) -> JSONResponse:
        return JSONResponse(error_body(str(err)), status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0] if err.errors() else {}
        where = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(where) or None
        return JSONResponse(
            error_body(f"{field or 'request'}: {first.get('msg', 'invalid')}", field),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        message = err.detail if isinstance(err.detail, str) else "error"
        if err.status_code == 404 and request.url.path.startswith("/static/vendor/"):
            message = ASSETS_HINT
        elif err.status_code == 404:
            message = f"not found: {request.url.path}"
        return JSONResponse(error_body(message), status_code=err.status_code)

    routers = (
        api.router,
        runs.router,
        live.router,
        experiments.router,
        studies.router,
        sweeps.router,
        pages.router,  # last: "/{name}" must not shadow the routes above
    )
    for router in routers:
        app.include_router(router)
    # the plain paths served, so a landing card can link a page an experiment's own router serves
    app.state.paths = {getattr(r, "path", "") for router in routers for r in router.routes}

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Every route, present or added later, is behind these (the last added runs first):
    # Host check -> cross-site check (Origin, Sec-Fetch-Site, JSON only) -> body size cap.
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    app.add_middleware(CrossSiteGuard, own_hosts=hosts, allowed_origins=origins)
    app.add_middleware(HostGuard, allowed_hosts=hosts)
    return app

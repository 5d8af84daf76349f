"""The wide-networks page: lazy training (a live run) and signal propagation (pure functions).

    GET  /widenets                       the page
    GET  /api/widenets/meta              defaults, activations and this page's caps
    POST /api/widenets/lazy              {"config": {...}, "seed": 0} -> 201 {"run_id", "theory"}
                                         (stream it with WS /api/live/{run_id}/ws, control it
                                         with POST /api/live/{run_id}/{action})
    GET  /api/widenets/lazy/{run_id}     the stored run's report: residual, its H(0) prediction,
                                         the bound, weight movement, kernel drift, agreement
    POST /api/widenets/propagate         {"activation", "cw", "cb", "q0", "rho0", "depth"}
    GET  /api/widenets/critical          ?activation=relu: the critical point (spec 3)

The lazy run is the protocol experiment ``widenets``: it goes through the same live-run
machinery as the Expander page (``LiveRuns.start`` -> ``runner.execute`` in a worker thread), so
it is stored, streamed and stopped exactly like those runs.
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response

from theoryscope.core.validation import as_choice, as_float, as_int
from theoryscope.errors import ConfigError
from theoryscope.protocol import Run
from theoryscope.store import RunStore
from theoryscope.web.errors import ApiError
from theoryscope.web.live import ServerBusy
from theoryscope.web.routers.common import check_run_id, json_response, parse_seed, read_json

EXPERIMENT = "widenets"
STATIC_PAGE = "widenets.html"

#: Work caps of the lazy run on a small server (on top of LazyConfig's own validation).
MAX_N = 200
MAX_D = 1000
MAX_WIDTH = 200_000
MAX_STEPS = 20_000
MAX_N_TEST = 200
#: n * width: the (n, m) pre-activation matrix formed every step.
MAX_N_WIDTH = 2_000_000
#: width * d: the weight matrix.
MAX_WIDTH_D = 5_000_000
#: Propagation depth cap.
MAX_DEPTH = 500

#: What the page may set; the rest of LazyConfig keeps its defaults.
LAZY_FIELDS = ("n", "d", "width", "lr", "steps", "kappa", "n_test", "labels", "data_seed", "chunk")

router = APIRouter(tags=["widenets"])
_jax_lock = threading.Lock()  # the pure studies compile on first use; one at a time is plenty


#: Per-field caps, checked before LazyConfig's own ranges so an error states the same limit as
#: the page's caps line.
SIZE_CAPS = {"n": MAX_N, "d": MAX_D, "width": MAX_WIDTH, "steps": MAX_STEPS, "n_test": MAX_N_TEST}


def caps() -> dict[str, int]:
    return {
        "n": MAX_N,
        "d": MAX_D,
        "width": MAX_WIDTH,
        "steps": MAX_STEPS,
        "n_test": MAX_N_TEST,
        "n_width": MAX_N_WIDTH,
        "width_d": MAX_WIDTH_D,
        "depth": MAX_DEPTH,
    }


def _cap(field: str, value: float, high: int) -> None:
    if value > high:
        raise ConfigError(
            field, f"{field} {value:,} is above this server's cap; allowed: <= {high:,}"
        )


def parse_lazy(raw: Any) -> Any:
    """A LazyConfig validated by ``LazyConfig.from_dict`` (the CLI's rules), then capped."""
    from theoryscope.experiments.widenets.config import LazyConfig

    if not isinstance(raw, dict):
        raise ConfigError(
            "config", "must be a JSON object of settings (see GET /api/widenets/meta)"
        )
    unknown = sorted(set(raw) - set(LAZY_FIELDS))
    if unknown:
        raise ConfigError(
            unknown[0], f"unknown or not settable here; allowed: {', '.join(LAZY_FIELDS)}"
        )
    for name, high in SIZE_CAPS.items():
        # the server's cap first: LazyConfig's own (larger) range is not what this page allows
        value = raw.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if math.isfinite(value) and value > high:
                _cap(name, int(value) if float(value).is_integer() else value, high)
    try:
        cfg = LazyConfig.from_dict(raw)
    except ConfigError:
        raise
    except (TypeError, ValueError) as err:
        raise ConfigError("config", f"malformed setting ({type(err).__name__}: {err})") from None
    _cap("n", cfg.n, MAX_N)
    _cap("d", cfg.d, MAX_D)
    _cap("width", cfg.width, MAX_WIDTH)
    _cap("steps", cfg.steps, MAX_STEPS)
    _cap("n_test", cfg.n_test, MAX_N_TEST)
    if cfg.n * cfg.width > MAX_N_WIDTH:
        raise ConfigError(
            "width",
            f"n * width = {cfg.n * cfg.width:,} is too much work per step;"
            f" allowed: n * width <= {MAX_N_WIDTH:,} on this server",
        )
    if cfg.width * cfg.d > MAX_WIDTH_D:
        raise ConfigError(
            "width",
            f"width * d = {cfg.width * cfg.d:,} weights is too many;"
            f" allowed: width * d <= {MAX_WIDTH_D:,} on this server",
        )
    return cfg


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


# -- the page ------------------------------------------------------------------------------------
@router.get("/widenets", include_in_schema=False)
async def page(request: Request) -> FileResponse:
    from theoryscope.web.app import STATIC

    return FileResponse(STATIC / STATIC_PAGE, headers={"Cache-Control": "no-cache"})


@router.get("/api/widenets/meta")
async def meta() -> dict[str, Any]:
    from theoryscope.experiments.widenets.activations import ACTIVATIONS, CLOSED_FORM
    from theoryscope.experiments.widenets.config import LazyConfig

    return {
        "experiment": EXPERIMENT,
        "defaults": {k: v for k, v in LazyConfig().to_dict().items() if k in LAZY_FIELDS},
        "activations": list(ACTIVATIONS),
        "closed_form": list(CLOSED_FORM),
        "caps": caps(),
    }


# -- panel A: lazy training ----------------------------------------------------------------------
@router.post("/api/widenets/lazy", status_code=201)
async def start_lazy(request: Request) -> Response:
    """Validate, predict (H^inf, lambda_0, bound, expected residual), start a live run."""
    from theoryscope.protocol import get_experiment

    body = await read_json(request)
    unknown = sorted(set(body) - {"config", "seed"})
    if unknown:
        raise ApiError(422, f"{unknown[0]}: unknown key; allowed: config, seed", unknown[0])
    cfg = parse_lazy(body.get("config", {}))
    seed = parse_seed(body.get("seed"))
    experiment = get_experiment(EXPERIMENT)

    def _predict() -> tuple[Any, dict[str, Any]]:
        theory = experiment.predict(cfg)
        return theory, experiment.theory_to_dict(theory)

    theory, theory_dict = await run_in_threadpool(_predict)
    theory_dict.pop("h_inf", None)  # n x n: the page does not draw it
    try:
        live = await run_in_threadpool(
            request.app.state.live.start, EXPERIMENT, cfg, seed, theory, theory_dict
        )
    except ServerBusy as err:
        raise ApiError(429, str(err)) from None
    except RuntimeError as err:
        raise ApiError(500, str(err)) from None
    payload = {
        "run_id": live.id,
        "config": cfg.to_dict(),
        "seed": seed,
        "theory": theory_dict,
        "state": live.state,
    }
    return json_response(payload, status=201)


def lazy_run_report(store_path: Any, run_id: str) -> dict[str, Any]:
    """``lazy_report`` of a stored widenets run (the CLI's JSON), plus its status."""
    from theoryscope.experiments.widenets.config import LazyConfig
    from theoryscope.experiments.widenets.lazy import lazy_report, predict

    store = RunStore(store_path)
    stored = store.get_run(run_id)
    if stored.experiment != EXPERIMENT:
        raise ApiError(404, f"run {run_id!r} is a {stored.experiment!r} run, not {EXPERIMENT!r}")
    summary = stored.summary or {}
    if stored.status == "running" or "h0" not in summary or "r0" not in summary:
        raise ApiError(409, f"run {run_id!r} is not finished yet (status {stored.status!r})")
    series = store.get_series(run_id)
    run = Run(
        experiment=EXPERIMENT,
        config=stored.config,
        seed=stored.seed,
        status=stored.status,
        series=series,
        summary=summary,
        message=stored.message,
    )
    cfg = LazyConfig.from_dict(run.config)
    theory = predict(cfg)
    report = lazy_report(run, theory, stored.agreement or {})
    report["expected_residual"] = theory.expected_residual[report["steps"]].tolist()
    report["run_id"] = run_id
    report["summary"] = {k: v for k, v in summary.items() if not isinstance(v, (list, dict))}
    return report


@router.get("/api/widenets/lazy/{run_id}")
async def lazy_run(request: Request, run_id: str) -> Response:
    check_run_id(run_id)
    report = await run_in_threadpool(lazy_run_report, request.app.state.store_path, run_id)
    return json_response(report)


# -- panel B: signal propagation -----------------------------------------------------------------
def _activation(raw: Any) -> str:
    from theoryscope.experiments.widenets.activations import ACTIVATIONS

    return as_choice("activation", raw, ACTIVATIONS)


def propagate(raw: dict[str, Any]) -> dict[str, Any]:
    """(q_l, rho_l) for l = 1..depth, and the fixed point and susceptibilities at (C_w, C_b)."""
    from theoryscope.experiments.widenets.criticality import fixed_point, susceptibilities
    from theoryscope.experiments.widenets.kernels import propagate_correlation

    allowed = ("activation", "cw", "cb", "q0", "rho0", "depth")
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise ConfigError(unknown[0], f"unknown setting; allowed: {', '.join(allowed)}")
    act = _activation(raw.get("activation", "relu"))
    cw = as_float("cw", raw.get("cw", 2.0), low=0.0, low_open=True, high=100.0)
    cb = as_float("cb", raw.get("cb", 0.0), low=0.0, high=100.0)
    q0 = as_float("q0", raw.get("q0", 1.0), low=0.0, low_open=True, high=1e6)
    rho0 = as_float("rho0", raw.get("rho0", 0.0), low=-1.0, high=1.0)
    depth = as_int("depth", raw.get("depth", 20), low=1, high=MAX_DEPTH)
    config = {"activation": act, "cw": cw, "cb": cb, "q0": q0, "rho0": rho0, "depth": depth}
    with _jax_lock:
        layers = propagate_correlation(q0, rho0, activation=act, cw=cw, cb=cb, depth=depth)
        k_star = fixed_point(act, cw, cb, k0=q0, steps=400)
        chi: tuple[float, float] | None = None
        if math.isfinite(k_star):
            chi = susceptibilities(act, k_star, cw)
    return {
        "config": config,
        "layers": layers,
        "l": [r["l"] for r in layers],
        "q": [_finite(r["q"]) for r in layers],
        "rho": [_finite(r["rho"]) for r in layers],
        "fixed_point": {
            "k_star": _finite(k_star),
            "chi_par": None if chi is None else _finite(chi[0]),
            "chi_perp": None if chi is None else _finite(chi[1]),
        },
    }


@lru_cache(maxsize=32)
def _critical(act: str) -> dict[str, Any]:
    from theoryscope.experiments.widenets.criticality import critical_point

    with _jax_lock:
        out = critical_point(act).to_dict()
    out.pop("curve", None)  # ~600 points of the chi_perp = 1 curve: not drawn here
    return out


@router.post("/api/widenets/propagate")
async def propagate_endpoint(request: Request) -> Response:
    body = await read_json(request)
    return json_response(await run_in_threadpool(propagate, body))


@router.get("/api/widenets/critical")
async def critical(activation: str = "relu") -> Response:
    act = _activation(activation)
    return json_response(await run_in_threadpool(_critical, act))

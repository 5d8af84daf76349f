"""Sweeps seen from the page: their progress and how well the theory held over them.

GET /api/sweeps         every sweep with its counts by status
GET /api/sweeps/{id}    its rows (one per planned config and seed, from
                        :func:`theoryscope.sweep.table.sweep_rows`), counts by status, and a
                        per-metric summary over its finished runs
GET /api/sweeps/{id}/report.png   the generic report's figure (every metric against the swept
                        field, bands over seeds; :mod:`theoryscope.reports.metrics`)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from theoryscope.errors import ConfigError
from theoryscope.protocol import get_experiment
from theoryscope.store import RunStore
from theoryscope.sweep.table import sweep_rows, sweep_summaries
from theoryscope.web.errors import ApiError
from theoryscope.web.figures import run_metrics
from theoryscope.web.routers.common import json_response

router = APIRouter(prefix="/api/sweeps", tags=["sweeps"])
SWEEP_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: Progress states of a sweep row, in the order the page shows them.
STATES = ("finished", "diverged", "running", "failed", "interrupted", "pending")


def _finite(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def _stats(values: Sequence[float | None]) -> dict[str, Any]:
    vals = _finite(values)
    if not vals:
        return {"n": 0, "mean": None, "min": None, "max": None}
    return {"n": len(vals), "mean": sum(vals) / len(vals), "min": min(vals), "max": max(vals)}


def summarize_metrics(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One line per metric row label: means of simulated/predicted, ratio statistics, and how
    many runs fell within the declared tolerance."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["name"], row["label"]), []).append(row)
    out = []
    for (name, label), items in groups.items():
        ratio = _stats([r.get("ratio") for r in items])
        judged = [r["within"] for r in items if r.get("within") is not None]
        out.append(
            {
                "name": name,
                "label": label,
                "tex": items[0].get("tex"),
                "good": items[0].get("good"),
                "runs": len(items),
                "simulated_mean": _stats([r.get("simulated") for r in items])["mean"],
                "predicted_mean": _stats([r.get("predicted") for r in items])["mean"],
                "ratio_mean": ratio["mean"],
                "ratio_min": ratio["min"],
                "ratio_max": ratio["max"],
                "within": sum(1 for w in judged if w),
                "judged": len(judged),
            }
        )
    return out


def _ratio_columns(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """For an experiment without declared metrics: every ``ratio*`` column of the table."""
    keys: list[str] = []
    for row in rows:
        for key in row:
            if key.startswith("ratio") and key not in keys:
                keys.append(key)
    done = [r for r in rows if r.get("status") in ("finished", "diverged")]
    out = []
    for key in keys:
        stats = _stats([r.get(key) for r in done])
        out.append(
            {
                "name": key, "label": key, "tex": None, "good": None, "runs": stats["n"],
                "simulated_mean": None, "predicted_mean": None, "ratio_mean": stats["mean"],
                "ratio_min": stats["min"], "ratio_max": stats["max"], "within": 0, "judged": 0,
            }
        )  # fmt: skip
    return out


def sweep_detail(store: RunStore, sweep_id: str) -> dict[str, Any]:
    sweep = store.get_sweep(sweep_id)
    rows = sweep_rows(store, sweep_id)
    counts = {state: 0 for state in STATES}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    try:
        metrics = get_experiment(sweep["experiment"]).metrics
    except ConfigError:
        metrics = ()
    if metrics:
        metric_lines: list[dict[str, Any]] = []
        for row in rows:
            if row["run_id"] is None or row["status"] not in ("finished", "diverged"):
                continue
            stored = store.get_run(row["run_id"])
            metric_lines.extend(run_metrics(store, stored))
        summary = summarize_metrics(metric_lines)
    else:
        summary = _ratio_columns(rows)
    return {
        "sweep": {
            "id": sweep["id"],
            "experiment": sweep["experiment"],
            "created_at": sweep["created_at"],
            "grid": dict(sweep["spec"].get("grid") or []),
            "seeds": sweep["spec"].get("seeds") or [],
        },
        "runs": len(rows),
        "counts": counts,
        "rows": rows,
        "metrics": summary,
    }


@router.get("")
async def list_sweeps(request: Request) -> Response:
    store = RunStore(request.app.state.store_path)
    return json_response({"sweeps": await run_in_threadpool(sweep_summaries, store)})


@router.get("/{sweep_id}")
async def get_sweep(request: Request, sweep_id: str) -> Response:
    if not SWEEP_ID.match(sweep_id):
        raise ApiError(404, f"no sweep with id {sweep_id[:64]!r}")
    store = RunStore(request.app.state.store_path)
    return json_response(await run_in_threadpool(sweep_detail, store, sweep_id))


def report_png(store: RunStore, sweep_id: str) -> bytes:
    """The report figure of a sweep as PNG bytes (ConfigError when nothing has finished)."""
    import io

    from theoryscope.reports.metrics import collect, report_figure

    collected = collect(store, sweep_id)
    fig = report_figure(collected, f"{collected['experiment'].title}: sweep {sweep_id}")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


@router.get("/{sweep_id}/report.png")
async def get_report(request: Request, sweep_id: str) -> Response:
    if not SWEEP_ID.match(sweep_id):
        raise ApiError(404, f"no sweep with id {sweep_id[:64]!r}")
    store = RunStore(request.app.state.store_path)
    try:
        png = await run_in_threadpool(report_png, store, sweep_id)
    except ConfigError as err:
        raise ApiError(409, str(err), "sweep") from None
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-cache"})

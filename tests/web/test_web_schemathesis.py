"""Schemathesis against the app's own OpenAPI schema: no 5xx, no traceback in the server log.

Every operation of ``/api/openapi.json`` gets generated requests, valid and invalid (Hypothesis,
derandomized, a bounded number of examples each). The routes that read a JSON body by hand do
not declare it in the schema; for those the test fills in a body schema built from what the
server itself publishes (``/api/meta``: defaults and choices), so the generated configs reach the
validation, the caps and the theory solve. A route with a declared body (FastAPI models, e.g.
the generic experiment routers to come) is tested with its own schema unchanged.

Kept small: the theory solve budget is shrunk (a hostile config stops within 0.5 s), the server
starts no live run (``max_live_runs=0``: a start is validated and predicted, then 429), and each
operation gets at most ``EXAMPLES`` cases in each generation mode.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis (dev extra)")

from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402

from theoryscope.experiments.expander import theory as expander_theory  # noqa: E402
from theoryscope.web.app import create_app  # noqa: E402
from theoryscope.web.limits import Limits  # noqa: E402

EXAMPLES = 12
UNSAFE = ("post", "put", "patch", "delete")


def json_schema_of(value: Any, choices: dict[str, list[Any]], key: str = "") -> dict[str, Any]:
    """A JSON schema for values shaped like ``value`` (a published default)."""
    if key in choices:
        return {"enum": choices[key]}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list):
        return {
            "type": "array",
            "items": json_schema_of(value[0], choices) if value else {},
            "maxItems": 10,
        }
    if isinstance(value, dict):
        return {
            "type": "object",
            "properties": {k: json_schema_of(v, choices, k) for k, v in value.items()},
        }
    return {}


def body_schemas(client: TestClient) -> dict[str, dict[str, Any]]:
    """Request bodies of the hand-parsed routes, from the server's own /meta answers."""
    meta = client.get("/api/meta").json()
    choices = {
        "nonlinearity": meta["nonlinearities"],
        "mode": meta["modes"],
        "dtype": meta["dtypes"],
    }
    config = json_schema_of(meta["defaults"], choices)
    run = {"type": "object", "properties": {"config": config, "seed": {"type": "integer"}}}
    declared = {
        "type": "object",
        "properties": {"config": {"type": "object"}, "seed": {"type": "integer"}},
    }
    study = {
        "type": "object",
        "properties": {"params": {"type": "object"}, "seed": {"type": "integer"}},
    }
    return {
        "/api/validate": run,
        "/api/theory": run,
        "/api/live": run,
        "/api/experiments/{name}/validate": declared,
        "/api/experiments/{name}/estimate": declared,
        "/api/experiments/{name}/theory": declared,
        "/api/experiments/{name}/studies/{study_name}": study,
    }


def with_bodies(spec: dict[str, Any], bodies: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The schema, where a state-changing operation declares no body: a JSON body added."""
    spec = copy.deepcopy(spec)
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in UNSAFE and "requestBody" not in op:
                schema = bodies.get(path, {"type": "object"})
                op["requestBody"] = {"content": {"application/json": {"schema": schema}}}
    return spec


@pytest.fixture()
def app(store_path, monkeypatch):
    monkeypatch.setattr(expander_theory, "SOLVE_MAX_EVALS", 5000)
    monkeypatch.setattr(expander_theory, "SOLVE_MAX_SECONDS", 0.5)
    limits = Limits(max_live_runs=0, detach_grace_s=0.1)
    return create_app(store_path, limits, allowed_hosts=["testserver"])


def fuzz(op: Any, mode: Any, failures: list[str], tried: dict[str, int]) -> None:
    """Up to EXAMPLES generated requests for one operation in one generation mode."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        tried[op.label] = tried.get(op.label, 0) + 1
        try:
            res = case.call()
        except Exception as err:  # an exception out of the app: a 500 with a traceback
            failures.append(f"{op.label}: {type(err).__name__}: {str(err)[:200]}")
            return
        if res.status_code >= 500:
            failures.append(f"{op.label} -> {res.status_code}: {res.content[:200]!r}")
        elif res.status_code >= 400 and b'"error"' in res.content:
            error = json.loads(res.content).get("error")
            if not isinstance(error, str) or "\n" in error:
                failures.append(f"{op.label} -> {res.status_code}: not one line")

    try:
        check()
    except Unsatisfiable:  # nothing to make invalid (an operation without parameters)
        assert mode == GenerationMode.NEGATIVE


def test_no_operation_answers_5xx_or_logs_a_traceback(app, caplog):
    caplog.set_level(logging.WARNING)
    with TestClient(app) as client:
        spec = with_bodies(client.get("/api/openapi.json").json(), body_schemas(client))
    schema = schemathesis.openapi.from_dict(spec)
    schema.app = app  # requests go to the app in process (schemathesis's ASGI transport)
    failures: list[str] = []
    tried: dict[str, int] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15  # every operation of the app, read from its schema
    for op in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(op, mode, failures, tried)
    tracebacks = [
        r.getMessage() for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()
    ]
    print(f"schemathesis: {sum(tried.values())} cases over {len(operations)} operations")
    assert not failures, failures[:10]
    assert not tracebacks, tracebacks[:3]
    assert sum(tried.values()) >= 10 * len(operations)

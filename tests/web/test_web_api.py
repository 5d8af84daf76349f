"""The web lab's JSON API: every endpoint, good and bad input, on the real engine."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from web_helpers import LONG, SMALL, received_series, stream_to_end, wait_for

from theoryscope.store import RunStore
from theoryscope.web.app import ASSETS_HINT, create_app
from theoryscope.web.limits import Limits


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """One app and one finished small run, shared by the read-only tests of this module."""
    store_path = tmp_path_factory.mktemp("lab") / "runs.sqlite"
    with TestClient(
        create_app(store_path, Limits(detach_grace_s=5.0), allowed_hosts=["testserver"])
    ) as client:
        res = client.post("/api/live", json={"config": SMALL, "seed": 3})
        assert res.status_code == 201, res.text
        run_id = res.json()["run_id"]
        streamed = stream_to_end(client, run_id)
        yield {"client": client, "run_id": run_id, "store": RunStore(store_path), **streamed}


def assert_error(res, status: int, field: str | None = None, contains: str | None = None):
    assert res.status_code == status, res.text
    body = res.json()
    assert isinstance(body["error"], str) and body["error"]
    assert "\n" not in body["error"]
    if field is not None:
        assert body.get("field") == field, body
    if contains is not None:
        assert contains in body["error"], body


# -- page and meta -----------------------------------------------------------------------------
def test_index_and_static_assets(lab):
    client = lab["client"]
    page = client.get("/expander")  # the Expander lab ("/" is the landing page)
    assert page.status_code == 200 and "Expander Nets" in page.text
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    for path in ("/static/lab.js", "/static/charts.js", "/static/tex.js", "/static/lab.css"):
        assert client.get(path).status_code == 200, path


def test_missing_vendor_file_says_how_to_install(lab):
    res = lab["client"].get("/static/vendor/nothing-here.js")
    assert_error(res, 404, contains="scripts/install_web_assets.sh")
    assert res.json()["error"] == ASSETS_HINT


def test_static_path_traversal_is_refused(lab):
    client = lab["client"]
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py"):
        res = client.get(path)
        assert res.status_code == 404, path
        assert "create_app" not in res.text


def test_health_and_meta(lab):
    client = lab["client"]
    assert client.get("/api/health").json()["ok"] is True
    meta = client.get("/api/meta").json()
    assert meta["defaults"]["k"] == 1000 and meta["defaults"]["nonlinearity"] == "sqrt2cos"
    assert meta["limits"]["max_k"] == 30000 and meta["limits"]["max_d"] == 8
    assert "sgd" in meta["modes_supported"] and set(meta["modes"]) >= {"sgd", "flow", "gd"}
    assert 0 in meta["ema_windows"] and 10000 in meta["ema_windows"]


# -- validation: the CLI's rules plus the server's caps ----------------------------------------
def test_validate_normalizes(lab):
    res = lab["client"].post("/api/validate", json={"config": {"d": 3, "gamma": 0.01, "k": 200}})
    assert res.status_code == 200
    cfg = res.json()["config"]
    assert cfg["gamma"] == [0.01, 0.01, 0.01] and cfg["terms"][0]["alpha"] == [1, 1, 0]


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"k": 0}, "k"),
        ({"k": "many"}, "k"),
        ({"k": 30001}, "k"),
        ({"d": 9}, "d"),
        ({"d": 3, "gamma": [0.1, -1, 0.1]}, "gamma"),
        ({"lr": 0}, "lr"),
        ({"batch": 1001}, "batch"),
        ({"k": 20000, "batch": 1000}, "batch"),
        ({"steps": 2_000_001}, "steps"),
        ({"t_eff": 1e9, "lr": 0.01}, "steps"),
        ({"d": 2, "terms": [{"alpha": [1, 1, 0]}]}, "alpha"),
        ({"d": 2, "terms": [{"alpha": [7, 0]}]}, "alpha"),
        ({"d": 1, "terms": [{"alpha": [i]} for i in range(6)]}, "terms"),
        ({"d": 1, "terms": [{"alpha": [1]}, {"alpha": [1]}]}, "alpha"),
        ({"d": 1, "terms": [{"alpha": [1], "coef": "x"}]}, "config"),
        ({"d": 1, "terms": ["nope"]}, "config"),
        ({"nonlinearity": "sigmoid"}, "nonlinearity"),
        ({"mode": "adam"}, "mode"),
        ({"mode": "flow", "nonlinearity": "relu"}, "mode"),
        ({"mode": "flow", "k": 5000}, "k"),
        ({"records": 10**6}, "records"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_config_is_a_422_naming_the_field(lab, config, field):
    res = lab["client"].post("/api/validate", json={"config": config})
    assert_error(res, 422, field=field)


def test_config_must_be_an_object(lab):
    assert_error(lab["client"].post("/api/validate", json={"config": [1, 2]}), 422, "config")


@pytest.mark.parametrize(
    ("body", "contains"),
    [
        (b"{not json", "malformed JSON"),
        (b"[1, 2]", "JSON object"),
        (b"", "empty"),
        (b"\xff\xfe", "malformed JSON"),
    ],
)
def test_malformed_bodies_are_400(lab, body, contains):
    client = lab["client"]
    for path in ("/api/validate", "/api/theory", "/api/live"):
        res = client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert_error(res, 400, contains=contains)


def test_huge_body_is_413_and_the_server_keeps_serving(lab):
    client = lab["client"]
    blob = json.dumps({"config": {"k": 10, "pad": "x" * 200_000}})
    as_json = {"Content-Type": "application/json"}  # any other type is refused first (415)
    assert_error(client.post("/api/live", content=blob, headers=as_json), 413, contains="too large")
    chunks = (b"x" * 50_000 for _ in range(4))  # no Content-Length: streamed and counted
    assert_error(client.post("/api/validate", content=chunks, headers=as_json), 413)
    assert client.get("/api/health").status_code == 200


def test_theory_preview(lab):
    res = lab["client"].post("/api/theory", json={"config": {"d": 3, "gamma": 0.01}})
    assert res.status_code == 200
    theory = res.json()["theory"]
    (term,) = theory["terms"]
    assert term["ell"] == 3 and term["d_rel"] == 2 and term["t_rise"] > 0
    assert len(theory["ode"]["t"]) == len(theory["ode"]["loss"]) > 10
    assert_error(lab["client"].post("/api/theory", json={"config": {"d": 0}}), 422, "d")


# -- live runs -------------------------------------------------------------------------------
def test_start_rejects_bad_input_and_stores_nothing(client, store_path):
    assert_error(client.post("/api/live", json={"config": {**SMALL, "k": -1}}), 422, "k")
    assert_error(client.post("/api/live", json={"config": SMALL, "seed": -1}), 422, "seed")
    assert_error(client.post("/api/live", json={"config": SMALL, "seed": "1"}), 422, "seed")
    assert_error(client.post("/api/live", json={"config": SMALL, "extra": 1}), 422, "extra")
    assert_error(client.post("/api/live", json={"seed": 1}), 422, "config")
    assert RunStore(store_path).list_runs() == []


def test_finished_run_streams_hello_chunks_done(lab):
    messages = lab["messages"]
    assert messages[0]["type"] == "hello" and messages[0]["run_id"] == lab["run_id"]
    assert messages[0]["theory"]["terms"][0]["t_rise"] > 0
    done = lab["done"]
    assert done["type"] == "done" and done["status"] == "finished", done
    assert done["summary"]["steps"] == SMALL["steps"]
    assert done["agreement"] is not None
    series = received_series(messages)
    loss = series["loss_population"]
    assert loss[-1] < 0.5 * loss[0], "the loss falls on this config"


def test_list_get_series(lab):
    client, run_id = lab["client"], lab["run_id"]
    runs = client.get("/api/runs").json()["runs"]
    assert [r["id"] for r in runs] == [run_id]
    assert runs[0]["status"] == "finished" and runs[0]["live"] is False
    one = client.get(f"/api/runs/{run_id}").json()
    assert one["config"]["k"] == SMALL["k"] and one["seed"] == 3
    assert one["theory"]["terms"][0]["t_rise"] > 0 and one["agreement"]["terms"]
    series = client.get(f"/api/runs/{run_id}/series").json()["series"]
    assert len(series["step"]) == len(series["W1"]) and np.shape(series["W1"])[1:] == (2, 2)
    assert client.get("/api/runs?status=finished").json()["runs"][0]["id"] == run_id
    assert_error(client.get("/api/runs?status=bogus"), 422, "status")
    assert_error(client.get("/api/runs?limit=0"), 422, "limit")
    assert_error(client.get("/api/runs?limit=abc"), 422, "limit")


@pytest.mark.parametrize("run_id", ["nope", "a" * 65, "x;drop", "..", "%2e%2e"])
def test_unknown_run_ids_are_404(lab, run_id):
    client = lab["client"]
    for path in (
        f"/api/runs/{run_id}",
        f"/api/runs/{run_id}/series",
        f"/api/runs/{run_id}/export/run.csv",
    ):
        assert client.get(path).status_code == 404, path
    assert client.delete(f"/api/runs/{run_id}").status_code in (404, 405)
    assert client.post(f"/api/live/{run_id}/stop").status_code == 404


def test_export_csv_json_png(lab):
    client, run_id, store = lab["client"], lab["run_id"], lab["store"]
    res = client.get(f"/api/runs/{run_id}/export/my-run.csv")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/csv")
    assert 'filename="my-run.csv"' in res.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(res.text)))
    assert rows[0][:3] == ["step", "t_eff", "loss_batch"] and "W1_1_2" in rows[0]
    assert len(rows) - 1 == len(store.get_series(run_id)["step"])
    data = client.get(f"/api/runs/{run_id}/export/run.json").json()
    assert data["id"] == run_id and len(data["series"]["step"]) == len(rows) - 1
    png = client.get(f"/api/runs/{run_id}/export/run.png")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "name",
    [
        "..%2F..%2Fetc%2Fpasswd.csv",
        "...csv",
        ".hidden.csv",
        "run.exe",
        "run",
        "run.csv.sh",
        "a%00.csv",
        "a b.csv",
        "x" * 120 + ".csv",
        "..%5Cwin.csv",
    ],
)
def test_export_names_with_path_tricks_are_refused(lab, name):
    res = lab["client"].get(f"/api/runs/{lab['run_id']}/export/{name}")
    assert res.status_code in (400, 404), res.text
    assert "error" in res.json()


def test_websocket_to_unknown_run_says_so(lab):
    with lab["client"].websocket_connect("/api/live/nope/ws") as ws:
        msg = ws.receive_json()
    assert msg["type"] == "error" and "nope" in msg["error"]


def test_control_unknown_action_and_finished_run(lab):
    client, run_id = lab["client"], lab["run_id"]
    assert_error(client.post(f"/api/live/{run_id}/explode"), 404, contains="unknown action")
    # a finished run stays known for a while: stopping it again is harmless
    assert client.post(f"/api/live/{run_id}/stop").json()["state"] == "done"


def test_pause_resume_stop_keeps_the_data(client, store_path):
    run_id = client.post("/api/live", json={"config": LONG, "seed": 1}).json()["run_id"]
    with client.websocket_connect(f"/api/live/{run_id}/ws") as ws:
        assert ws.receive_json()["type"] == "hello"
        while ws.receive_json()["type"] != "chunk":
            pass
        assert client.post(f"/api/live/{run_id}/pause").json()["state"] == "paused"
        assert client.get("/api/live").json()["runs"][0]["state"] == "paused"
        assert client.post(f"/api/live/{run_id}/resume").json()["state"] == "running"
        assert client.post(f"/api/live/{run_id}/stop").json()["state"] in ("stopping", "done")
        messages = [ws.receive_json()]
        while messages[-1]["type"] != "done":
            messages.append(ws.receive_json())
    assert messages[-1]["status"] == "interrupted"
    run = RunStore(store_path).get_run(run_id)
    assert run.status == "interrupted"
    assert len(RunStore(store_path).get_series(run_id)["step"]) >= 2
    assert client.delete(f"/api/runs/{run_id}").json() == {"deleted": run_id}
    assert client.get(f"/api/runs/{run_id}").status_code == 404


def test_deleting_a_live_run_is_refused(client):
    run_id = client.post("/api/live", json={"config": LONG}).json()["run_id"]
    assert_error(client.delete(f"/api/runs/{run_id}"), 409, contains="still running")
    client.post(f"/api/live/{run_id}/stop")


def test_closing_the_page_stops_the_run_as_interrupted(client, store_path):
    run_id = client.post("/api/live", json={"config": LONG, "seed": 2}).json()["run_id"]
    with client.websocket_connect(f"/api/live/{run_id}/ws") as ws:
        while ws.receive_json()["type"] != "chunk":
            pass
        # the page goes away; wait inside the session, so the test client does not cancel the
        # server's handler while it is still handling the disconnect (a harness race)
        ws.close()
        # after the grace period (0.3 s here) the worker stops the run
        store = RunStore(store_path)
        run = wait_for(lambda: (r := store.get_run(run_id)).status != "running" and r, timeout=60)
    assert run.status == "interrupted"
    assert len(store.get_series(run_id)["step"]) >= 1


def test_live_run_cap_is_429(store_path):
    with TestClient(
        create_app(store_path, Limits(max_live_runs=1), allowed_hosts=["testserver"])
    ) as client:
        first = client.post("/api/live", json={"config": LONG}).json()["run_id"]
        assert_error(client.post("/api/live", json={"config": SMALL}), 429, contains="at once")
        client.post(f"/api/live/{first}/stop")


def test_population_mode_runs_when_installed(client, store_path):
    if "gd" not in client.get("/api/meta").json()["modes_supported"]:
        pytest.skip("the population-dynamics engine is not installed")
    run_id = client.post("/api/live", json={"config": {**SMALL, "mode": "gd"}}).json()["run_id"]
    done = stream_to_end(client, run_id)["done"]
    assert done["status"] == "finished", done
    assert RunStore(store_path).get_run(run_id).config["mode"] == "gd"


def test_a_mode_this_build_lacks_is_refused_by_name(client, monkeypatch):
    from theoryscope.web.routers import api

    monkeypatch.setattr(api, "POPULATION_MODULE", "theoryscope.no_such_module")
    assert client.get("/api/meta").json()["modes_supported"] == ["sgd"]
    res = client.post("/api/live", json={"config": {**SMALL, "mode": "flow"}})
    assert_error(res, 422, field="mode", contains="not available")


def test_serve_says_in_one_line_how_to_install_missing_assets(store_path, monkeypatch, capsys):
    import uvicorn

    from theoryscope.web import app as web_app
    from theoryscope.web import assets as web_assets
    from theoryscope.web.server import serve

    calls = []
    for module in (web_app, web_assets):  # the app's health check and serve's startup line
        monkeypatch.setattr(module, "missing_assets", lambda: ["katex/katex.min.js"])
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    serve(port=8123, store_path=store_path)
    err = capsys.readouterr().err
    hint = [line for line in err.splitlines() if "install_web_assets.sh" in line]
    assert len(hint) == 1 and hint[0].startswith("theoryscope serve: web assets missing")
    assert calls and calls[0]["host"] == "127.0.0.1" and calls[0]["port"] == 8123

"""The wide-networks page: its JSON API against the Python functions, and the page in Chromium.

API tests check that good input gives the numbers the library gives, and bad input a 4xx JSON
answer naming the field. The browser test propagates relu at C_w = 2 (rho rises toward 1), runs a
small lazy-training run live and saves a screenshot to ``test-artifacts/widenets.png``.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from web_helpers import received_series, stream_to_end

from theoryscope.experiments.widenets import (
    LazyConfig,
    critical_point,
    fixed_point,
    predict,
    propagate_correlation,
    susceptibilities,
)
from theoryscope.store import RunStore
from theoryscope.web.app import create_app, missing_assets
from theoryscope.web.limits import Limits
from theoryscope.web.server import uvicorn_options

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SMALL_LAZY = {"n": 10, "d": 5, "width": 2000, "steps": 100, "chunk": 10}


# -- API -----------------------------------------------------------------------------------------
def test_page_and_meta(client):
    page = client.get("/widenets")
    assert page.status_code == 200
    assert "widenets.js" in page.text and "Wide networks" in page.text
    assert 'href="/widenets"' in client.get("/").text  # nav link from the Expander lab
    meta = client.get("/api/widenets/meta").json()
    assert "relu" in meta["activations"] and meta["defaults"]["width"] == LazyConfig().width
    for name in ("widenets.js", "widenets.css"):
        assert client.get(f"/static/{name}").status_code == 200


def test_propagate_matches_python(client):
    body = {"activation": "relu", "cw": 2.0, "cb": 0.0, "q0": 1.0, "rho0": 0.2, "depth": 12}
    got = client.post("/api/widenets/propagate", json=body).json()
    want = propagate_correlation(1.0, 0.2, activation="relu", cw=2.0, cb=0.0, depth=12)
    np.testing.assert_allclose(got["q"], [r["q"] for r in want], rtol=1e-12)
    np.testing.assert_allclose(got["rho"], [r["rho"] for r in want], rtol=1e-12)
    assert got["l"] == list(range(1, 13))
    assert np.all(np.diff(got["rho"]) > 0) and got["rho"][-1] < 1.0  # rises toward 1
    k_star = fixed_point("relu", 2.0, 0.0, k0=1.0, steps=400)
    assert got["fixed_point"]["k_star"] == pytest.approx(k_star)
    chi_par, chi_perp = susceptibilities("relu", k_star, 2.0)
    assert got["fixed_point"]["chi_perp"] == pytest.approx(chi_perp)
    assert got["fixed_point"]["chi_par"] == pytest.approx(chi_par)


def test_critical_matches_python(client):
    for act in ("relu", "tanh"):
        got = client.get(f"/api/widenets/critical?activation={act}").json()
        want = critical_point(act).to_dict()
        for key in ("cb", "cw", "k_star", "chi_par", "chi_perp", "exact"):
            assert got[key] == pytest.approx(want[key]), (act, key)
    relu = client.get("/api/widenets/critical?activation=relu").json()
    assert (relu["cw"], relu["cb"], relu["chi_perp"]) == (2.0, 0.0, 1.0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"activation": "nope"}, "activation"),
        ({"cw": -1}, "cw"),
        ({"cw": "abc"}, "cw"),
        ({"cb": -0.5}, "cb"),
        ({"rho0": 1.5}, "rho0"),
        ({"depth": 0}, "depth"),
        ({"depth": 10**6}, "depth"),
        ({"q0": 0}, "q0"),
        ({"colour": 1}, "colour"),
    ],
)
def test_propagate_bad_input(client, body, field):
    res = client.post("/api/widenets/propagate", json=body)
    assert 400 <= res.status_code < 500
    assert res.json()["field"] == field
    assert field in res.json()["error"]


def test_critical_bad_activation(client):
    res = client.get("/api/widenets/critical?activation=sigmoid")
    assert res.status_code == 422 and res.json()["field"] == "activation"


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"width": -3}, "width"),
        ({"n": 0}, "n"),
        ({"d": 1}, "d"),
        ({"lr": 0}, "lr"),
        ({"lr": "fast"}, "lr"),
        ({"steps": 10**6}, "steps"),
        ({"n": 100, "width": 100_000}, "width"),  # n * width cap
        ({"width": 10**6}, "width"),
        ({"alpha": 1.0}, "alpha"),  # not settable from the page
        ({"labels": "ternary"}, "labels"),
    ],
)
def test_lazy_bad_input(client, config, field):
    res = client.post("/api/widenets/lazy", json={"config": config, "seed": 0})
    assert 400 <= res.status_code < 500, res.text
    assert res.json()["field"] == field


def test_lazy_bad_seed_and_keys(client):
    res = client.post("/api/widenets/lazy", json={"config": SMALL_LAZY, "seed": -1})
    assert res.status_code == 422 and res.json()["field"] == "seed"
    res = client.post("/api/widenets/lazy", json={"config": SMALL_LAZY, "sed": 1})
    assert res.status_code == 422 and res.json()["field"] == "sed"


def test_lazy_live_run_matches_python(client, store_path):
    res = client.post("/api/widenets/lazy", json={"config": SMALL_LAZY, "seed": 3})
    assert res.status_code == 201, res.text
    started = res.json()
    theory = predict(LazyConfig.from_dict(SMALL_LAZY))
    assert started["theory"]["lambda_0"] == pytest.approx(theory.lambda_0)
    assert started["theory"]["lr_limit"] == pytest.approx(theory.lr_limit)
    np.testing.assert_allclose(started["theory"]["expected_residual"], theory.expected_residual)
    out = stream_to_end(client, started["run_id"])
    done = out["done"]
    assert done["type"] == "done" and done["status"] == "finished", done
    series = received_series(out["messages"])
    assert series["step"] == list(range(SMALL_LAZY["steps"] + 1))  # every point, once
    assert series["residual"][-1] < 0.1 * series["residual"][0]
    assert done["agreement"]["bound_holds"] is True
    # the report is the CLI's lazy_report of the stored run
    rep = client.get(f"/api/widenets/lazy/{started['run_id']}").json()
    assert rep["residual"] == pytest.approx(series["residual"])
    assert rep["lambda_0"] == pytest.approx(theory.lambda_0)
    assert rep["agreement"]["max_rel_dev_residual"] < 0.3
    bound = np.asarray(theory.bound_ratio)[: len(rep["residual"])] * rep["residual"][0]
    np.testing.assert_allclose(rep["bound"], bound, rtol=1e-9)
    # the same run from the Python API (same engine, same seed): the same numbers
    from theoryscope.experiments.widenets import simulate

    direct = simulate(LazyConfig.from_dict(SMALL_LAZY), 3)
    np.testing.assert_allclose(rep["residual"], direct.series["residual"], rtol=1e-5)


def test_lazy_run_stops_from_the_page(client):
    long = {"n": 10, "d": 5, "width": 500, "steps": 20_000, "chunk": 50}
    run_id = client.post("/api/widenets/lazy", json={"config": long}).json()["run_id"]
    with client.websocket_connect(f"/api/live/{run_id}/ws") as ws:
        assert ws.receive_json()["type"] == "hello"
        assert client.post(f"/api/live/{run_id}/stop").json()["state"] in ("stopping", "done")
        msg = ws.receive_json()
        while msg["type"] != "done":
            msg = ws.receive_json()
    assert msg["status"] == "interrupted"
    rep = client.get(f"/api/widenets/lazy/{run_id}").json()
    assert rep["status"] == "interrupted" and 0 < len(rep["residual"]) < 20_001


def test_lazy_report_unknown_and_wrong_experiment(client, store_path):
    assert client.get("/api/widenets/lazy/nosuchrun").status_code == 404
    assert client.get("/api/widenets/lazy/bad id!").status_code == 404
    other = RunStore(store_path).create_run("expander", {"k": 50}, 0)
    res = client.get(f"/api/widenets/lazy/{other}")
    assert res.status_code == 404 and "expander" in res.json()["error"]


# -- the page in Chromium ------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def server(tmp_path):
    import uvicorn

    app = create_app(tmp_path / "runs.sqlite", Limits(detach_grace_s=3.0))
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, **uvicorn_options(Limits()))
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(15)


@pytest.mark.browser
def test_widenets_page_in_chromium(server):
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    if missing_assets():
        pytest.skip("web assets missing: run scripts/install_web_assets.sh")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1600, "height": 1250})
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        try:
            page.goto(f"{server}/widenets")
            page.wait_for_selector("body[data-ready='1']", timeout=30_000)
            assert page.locator(".katex").count() > 15  # formulas typeset
            assert page.get_by_test_id("nav-expander").get_attribute("href") == "/"

            # -- panel B: relu at C_w = 2, C_b = 0: rho rises toward 1, q stays put
            page.get_by_test_id("pr-act").select_option("relu")
            for tid, value in (("pr-cw", 2), ("pr-cb", 0), ("pr-rho0", 0.2), ("pr-depth", 30)):
                page.get_by_test_id(tid).fill(str(value))
            page.get_by_test_id("pr-run").click()
            page.wait_for_function(
                "(() => { const r = window.__widenets.prop.result;"
                " return r && r.config.depth === 30 && r.config.cw === 2; })()",
                timeout=30_000,
            )
            rho = page.evaluate("window.__widenets.prop.result.rho")
            assert rho[0] == pytest.approx(0.2) and all(
                b > a for a, b in zip(rho[:-1], rho[1:], strict=True)
            )
            assert 0.9 < rho[-1] < 1.0
            assert page.get_by_test_id("ro-crit-cw").inner_text() == "2"
            assert page.get_by_test_id("ro-crit-chiperp").inner_text() == "1"
            assert "critical" in page.get_by_test_id("pr-phase").inner_text()
            assert page.locator("#ch-rho canvas").count() >= 1

            # -- bad input: the field is marked, the error names it
            page.get_by_test_id("pr-cw").fill("-1")
            page.get_by_test_id("pr-run").click()
            page.wait_for_selector("[data-testid=error]:not([hidden])", timeout=15_000)
            assert "cw" in page.get_by_test_id("error").inner_text()
            assert "invalid" in (page.get_by_test_id("pr-cw").get_attribute("class") or "")
            page.get_by_test_id("pr-cw").fill("2")
            page.get_by_test_id("pr-run").click()
            page.wait_for_selector("[data-testid=error][hidden]", state="attached")

            # -- panel A: a small lazy run, live
            for tid, value in (
                ("lz-n", 10),
                ("lz-d", 5),
                ("lz-width", 2000),
                ("lz-steps", 100),
                ("lz-lr", 0.5),
            ):
                page.get_by_test_id(tid).fill(str(value))
            page.get_by_test_id("lz-start").click()
            page.wait_for_function(
                "(() => { const l = window.__widenets.lazy;"
                " return l.final && l.report && l.report.predicted.length === 101; })()",
                timeout=90_000,
            )
            assert page.get_by_test_id("lz-status").inner_text() == "finished"
            res = page.evaluate("window.__widenets.lazy.data.residual")
            assert len(res) == 101 and res[-1] < 0.1 * res[0]
            assert page.locator("#ch-res canvas").count() >= 1
            # the chart holds the simulation, both predictions and the bound
            drawn = page.evaluate(
                "(() => { const el = document.querySelector('#ch-res .uplot');"
                " return el ? el.querySelectorAll('canvas').length : 0; })()"
            )
            assert drawn >= 1
            for tid in ("lambda0", "lambdamax", "lrlimit", "move", "drift", "agree", "bound"):
                text = page.get_by_test_id(f"ro-{tid}").inner_text()
                assert text and text != "–", (tid, text)
            assert page.get_by_test_id("ro-bound").inner_text() == "yes"
            page.wait_for_timeout(300)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "widenets.png"), full_page=True)
        finally:
            browser.close()
    assert not errors, errors

"""Wide networks in the web lab: the generic page and API give what the library gives.

The hand-made wide-networks page is gone (issue 8: it became the generic page plus its
studies); these are its old API tests, now through the derived endpoints: the propagation and
criticality studies as jobs, a live lazy-training run, and bad input named by field.
"""

from __future__ import annotations

import time

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

SMALL_LAZY = {"n": 10, "d": 5, "width": 2000, "steps": 100, "chunk": 10}


def _study(client, study: str, params: dict, timeout: float = 120.0) -> dict:
    res = client.post(f"/api/experiments/widenets/studies/{study}", json={"params": params})
    assert res.status_code == 202, res.text
    job_id = res.json()["job_id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in ("done", "failed", "interrupted"):
            assert job["state"] == "done", job
            return job
        time.sleep(0.05)
    raise AssertionError("study did not finish")


def test_generic_page_and_catalogue(client):
    page = client.get("/widenets")
    assert page.status_code == 200 and "experiment.js" in page.text
    detail = client.get("/api/experiments/widenets").json()
    assert detail["name"] == "widenets"
    assert {"propagate", "critical", "kernels"} <= {s["name"] for s in detail["studies"]}
    assert client.get("/widenets/lab").status_code == 404  # the hand-made page is gone


def test_propagate_matches_python(client):
    params = {"activation": "relu", "cw": 2.0, "cb": 0.0, "q0": 1.0, "rho0": 0.2, "depth": 12}
    got = _study(client, "propagate", params)["result"]
    want = propagate_correlation(1.0, 0.2, activation="relu", cw=2.0, cb=0.0, depth=12)
    np.testing.assert_allclose(got["q"], [r["q"] for r in want], rtol=1e-12)
    np.testing.assert_allclose(got["rho"], [r["rho"] for r in want], rtol=1e-12)
    assert got["l"] == list(range(1, 13))
    assert np.all(np.diff(got["rho"]) > 0) and got["rho"][-1] < 1.0  # rises toward 1
    k_star = fixed_point("relu", 2.0, 0.0, k0=1.0, steps=2000)
    assert got["fixed_point"]["k_star"] == pytest.approx(k_star)
    chi_par, chi_perp = susceptibilities("relu", k_star, 2.0)
    assert got["fixed_point"]["chi_perp"] == pytest.approx(chi_perp)
    assert got["fixed_point"]["chi_par"] == pytest.approx(chi_par)


def test_critical_matches_python(client):
    for act in ("relu", "tanh"):
        got = _study(client, "critical", {"activation": act, "grid": 0})["result"]
        want = critical_point(act).to_dict()
        for key in ("cb", "cw", "k_star", "chi_par", "chi_perp", "exact"):
            assert got[key] == pytest.approx(want[key]), (act, key)
    relu = _study(client, "critical", {"activation": "relu", "grid": 0})["result"]
    assert (relu["cw"], relu["cb"], relu["chi_perp"]) == (2.0, 0.0, 1.0)


@pytest.mark.parametrize(
    ("params", "field"),
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
def test_propagate_bad_input(client, params, field):
    res = client.post("/api/experiments/widenets/studies/propagate", json={"params": params})
    assert 400 <= res.status_code < 500
    assert res.json()["field"] == field and field in res.json()["error"]


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"width": -3}, "width"),
        ({"n": 0}, "n"),
        ({"d": 1}, "d"),
        ({"lr": 0}, "lr"),
        ({"lr": "fast"}, "lr"),
        ({"steps": 10**9}, "steps"),
        ({"width": 10**6}, "width"),
        ({"labels": "ternary"}, "labels"),
    ],
)
def test_lazy_bad_input(client, config, field):
    res = client.post("/api/live", json={"experiment": "widenets", "config": config, "seed": 0})
    assert 400 <= res.status_code < 500, res.text
    assert res.json()["field"] == field


def test_lazy_bad_seed_and_keys(client):
    body = {"experiment": "widenets", "config": SMALL_LAZY}
    res = client.post("/api/live", json={**body, "seed": -1})
    assert res.status_code == 422 and res.json()["field"] == "seed"
    res = client.post("/api/live", json={**body, "sed": 1})
    assert res.status_code == 422 and res.json()["field"] == "sed"


def test_lazy_live_run_matches_python(client):
    res = client.post("/api/live", json={"experiment": "widenets", "config": SMALL_LAZY, "seed": 3})
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
    stored = client.get(f"/api/runs/{started['run_id']}").json()
    assert stored["status"] == "finished" and stored["metrics"]
    from theoryscope.experiments.widenets import simulate

    direct = simulate(LazyConfig.from_dict(SMALL_LAZY), 3)
    np.testing.assert_allclose(series["residual"], direct.series["residual"], rtol=1e-5)


def test_lazy_run_stops_from_the_page(client):
    long = {"n": 10, "d": 5, "width": 500, "steps": 20_000, "chunk": 50}
    res = client.post("/api/live", json={"experiment": "widenets", "config": long})
    run_id = res.json()["run_id"]
    with client.websocket_connect(f"/api/live/{run_id}/ws") as ws:
        assert ws.receive_json()["type"] == "hello"
        assert client.post(f"/api/live/{run_id}/stop").json()["state"] in ("stopping", "done")
        msg = ws.receive_json()
        while msg["type"] != "done":
            msg = ws.receive_json()
    assert msg["status"] == "interrupted"

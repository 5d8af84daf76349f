"""Streaming: every point a page receives is a point stored, and two pages do not interfere."""

from __future__ import annotations

import numpy as np
from web_helpers import SMALL, received_series

from theoryscope.store import RunStore


def _collect(ws) -> list[dict]:
    messages = [ws.receive_json()]
    while messages[-1]["type"] not in ("done", "error"):
        messages.append(ws.receive_json())
    return messages


def test_two_pages_two_runs_points_received_equal_points_stored(client, store_path):
    a = {**SMALL, "gamma": [0.1], "steps": 3000}
    b = {**SMALL, "gamma": [0.05], "lr": 0.04}  # same shapes: only runtime values differ
    id_a = client.post("/api/live", json={"config": a, "seed": 0}).json()["run_id"]
    id_b = client.post("/api/live", json={"config": b, "seed": 1}).json()["run_id"]
    assert id_a != id_b
    with (
        client.websocket_connect(f"/api/live/{id_a}/ws") as ws_a,
        client.websocket_connect(f"/api/live/{id_b}/ws") as ws_b,
    ):
        got_a = _collect(ws_a)
        got_b = _collect(ws_b)
    store = RunStore(store_path)
    for run_id, messages, cfg in ((id_a, got_a, a), (id_b, got_b, b)):
        assert messages[0]["type"] == "hello" and messages[0]["config"]["lr"] == cfg["lr"]
        assert messages[-1]["type"] == "done" and messages[-1]["status"] == "finished"
        received = received_series(messages)
        stored = store.get_series(run_id)
        assert set(received) == set(stored)
        for name, values in stored.items():
            got = np.asarray(received[name], dtype=values.dtype)
            assert got.shape == values.shape, name
            assert np.array_equal(got, values, equal_nan=True), name
        assert stored["step"][-1] == cfg["steps"]
        assert store.get_run(run_id).status == "finished"
    # different configs in one server process give different runs (no shared state)
    loss_a = store.get_series(id_a)["loss_population"]
    loss_b = store.get_series(id_b)["loss_population"]
    n = min(len(loss_a), len(loss_b))
    assert not np.array_equal(loss_a[1:n], loss_b[1:n])


def test_a_page_that_attaches_late_gets_the_whole_backlog(client, store_path):
    run_id = client.post("/api/live", json={"config": SMALL, "seed": 5}).json()["run_id"]
    with client.websocket_connect(f"/api/live/{run_id}/ws") as first:
        early = _collect(first)
    # the run is done: a reloading page (within the keep period) still gets every point
    with client.websocket_connect(f"/api/live/{run_id}/ws") as second:
        late = _collect(second)
    assert late[0]["type"] == "hello" and late[-1]["type"] == "done"
    assert received_series(late) == received_series(early)
    stored = RunStore(store_path).get_series(run_id)
    assert len(received_series(late)["step"]) == len(stored["step"])

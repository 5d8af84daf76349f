"""The run store: round trips, concurrency of two writer processes, killed runs, migrations."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from theoryscope.errors import NotFoundError, StoreError
from theoryscope.store import RunStore
from theoryscope.store.schema import SCHEMA_VERSION


def test_round_trip_of_config_series_and_results(store_path):
    store = RunStore(store_path)
    run_id = store.create_run("expander", {"d": 3, "gamma": [0.1]}, 7, config_hash="abc")
    store.append_series(run_id, {"step": np.arange(3), "W1": np.arange(12.0).reshape(3, 2, 2)})
    store.append_series(run_id, {"step": np.arange(3, 5), "W1": -np.ones((2, 2, 2))})
    assert store.get_run(run_id).status == "running"
    store.finish_run(
        run_id,
        status="finished",
        summary={"steps": 5, "nan_value": float("nan")},
        theory={"terms": []},
        agreement={"terms": [{"ratio": 1.5}]},
        timings={"seconds": 0.1},
    )
    run = store.get_run(run_id)
    assert run.status == "finished" and run.seed == 7 and run.config == {"d": 3, "gamma": [0.1]}
    assert run.summary == {"steps": 5, "nan_value": None}
    assert run.agreement == {"terms": [{"ratio": 1.5}]}
    assert run.versions["numpy"] == np.__version__ and run.revision
    series = store.get_series(run_id)
    np.testing.assert_array_equal(series["step"], np.arange(5))
    assert (
        series["W1"].shape == (5, 2, 2)
        and series["W1"][1, 0, 1] == 5.0
        and series["W1"][4, 1, 1] == -1
    )
    assert store.find_finished("expander", "abc", 7) == run_id
    assert store.find_finished("expander", "abc", 8) is None


def test_unknown_ids_raise_one_line_errors(store_path):
    store = RunStore(store_path)
    for call in (store.get_run, store.get_series, store.delete_run):
        with pytest.raises(NotFoundError) as err:
            call("nope")
        assert "\n" not in str(err.value) and "nope" in str(err.value)


def test_delete_removes_run_and_series(store_path):
    store = RunStore(store_path)
    run_id = store.create_run("expander", {}, 0)
    store.append_series(run_id, {"x": np.zeros(2)})
    store.delete_run(run_id)
    with pytest.raises(NotFoundError):
        store.get_run(run_id)
    with sqlite3.connect(store_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] == 0


def _writer(path: str, tag: int, n_runs: int) -> None:
    store = RunStore(path)
    for i in range(n_runs):
        run_id = store.create_run("expander", {"writer": tag, "i": i}, i)
        for j in range(5):
            store.append_series(run_id, {"step": np.array([j]), "loss": np.array([float(j)])})
        store.finish_run(run_id, status="finished", summary={"writer": tag})


def test_two_processes_write_runs_at_once(store_path):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(store_path), tag, 15)) for tag in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    runs = RunStore(store_path).list_runs(limit=None)
    assert len(runs) == 30
    assert all(r.status == "finished" for r in runs)
    assert sorted(r.summary["writer"] for r in runs) == [1] * 15 + [2] * 15
    store = RunStore(store_path)
    assert all(len(store.get_series(r.id)["step"]) == 5 for r in runs)


def test_journal_mode_is_wal(store_path):
    RunStore(store_path)
    with sqlite3.connect(store_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_killed_run_is_shown_interrupted_with_its_data(store_path):
    script = textwrap.dedent(
        f"""
        import time, numpy as np
        from theoryscope.store import RunStore
        s = RunStore({str(store_path)!r})
        rid = s.create_run("expander", {{}}, 0)
        s.append_series(rid, {{"step": np.array([0, 1])}})
        print(rid, flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    run_id = proc.stdout.readline().strip()
    store = RunStore(store_path)
    assert store.get_run(run_id).status == "running"  # the owner is alive
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    run = store.get_run(run_id)
    assert run.status == "interrupted" and run.finished_at is None
    assert "stopped" in run.message
    np.testing.assert_array_equal(store.get_series(run_id)["step"], [0, 1])
    assert store.mark_stale_runs() == 1
    with sqlite3.connect(store_path) as conn:
        assert conn.execute("SELECT status FROM runs").fetchone()[0] == "interrupted"
    assert [r.id for r in store.list_runs(status="interrupted")] == [run_id]


def test_schema_version_and_newer_store_refused(store_path):
    RunStore(store_path)
    with sqlite3.connect(store_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer"):
        RunStore(store_path)


def test_finish_rejects_running_status(store_path):
    store = RunStore(store_path)
    run_id = store.create_run("expander", {}, 0)
    with pytest.raises(ValueError):
        store.finish_run(run_id, status="running")


@pytest.mark.parametrize("fmt", ["csv", "json", "npz"])
def test_export_formats(store_path, tmp_path, fmt):
    store = RunStore(store_path)
    run_id = store.create_run("expander", {"k": 3}, 0)
    store.append_series(run_id, {"step": np.arange(4), "W1": np.ones((4, 2, 2))})
    store.finish_run(run_id, status="finished", summary={"steps": 3})
    path = store.export_run(run_id, fmt, tmp_path)
    assert path.name == f"expander-{run_id}.{fmt}"
    if fmt == "csv":
        lines = path.read_text().splitlines()
        assert lines[0] == "step,W1_1_1,W1_1_2,W1_2_1,W1_2_2" and len(lines) == 5
    elif fmt == "json":
        data = json.loads(path.read_text())
        assert data["config"] == {"k": 3} and data["series"]["step"] == [0, 1, 2, 3]
    else:
        with np.load(path) as npz:
            assert npz["W1"].shape == (4, 2, 2)
            assert json.loads(str(npz["__run__"]))["id"] == run_id
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".export-")]


def test_unwritable_store_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError) as err:
        RunStore(blocker / "sub" / "runs.sqlite")
    assert "\n" not in str(err.value)


def test_list_is_newest_first(store_path):
    store = RunStore(store_path)
    first = store.create_run("expander", {}, 0)
    time.sleep(0.01)
    second = store.create_run("widenets", {}, 0)
    assert [r.id for r in store.list_runs()] == [second, first]
    assert [r.id for r in store.list_runs(experiment="expander")] == [first]

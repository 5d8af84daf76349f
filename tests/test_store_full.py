"""A store whose disk fills up mid-run: the run is stored as ``failed`` with the reason "disk
full", keeping every series written before; the CLI says so in one line and exits 1.

The full disk is SQLite's own SQLITE_FULL, raised by a store capped with ``PRAGMA
max_page_count`` (the same error a full filesystem gives, without needing to mount one).
"""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from theoryscope.cli.main import main
from theoryscope.store import RunStore, StoreFullError


@pytest.fixture()
def capped(monkeypatch):
    """Cap every store connection at ``limit[0]`` pages (None: no cap)."""
    limit: list[int | None] = [None]
    configure = RunStore._configure

    def capped_configure(self, conn):
        configure(self, conn)
        if limit[0] is not None:
            conn.execute(f"PRAGMA max_page_count = {limit[0]}")

    monkeypatch.setattr(RunStore, "_configure", capped_configure)
    return limit


def _pages(path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA page_count").fetchone()[0])


def test_full_disk_during_a_cli_run_marks_it_failed_and_keeps_its_data(store_path, capped, capsys):
    RunStore(store_path)
    capped[0] = _pages(store_path) + 30  # room for the run and a few chunks, not for all
    code = main(["expander", "run", "--k", "40", "--batch", "10", "--steps", "200000",
                 "--records", "100000", "--no-figure"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    capped[0] = None
    assert code == 1, err
    assert "internal error" not in err and "Traceback" not in err
    assert len(err.splitlines()) == 1 and err.startswith(f"error: --store: {store_path}: disk full")
    store = RunStore(store_path)
    (run,) = store.list_runs()
    assert run.status == "failed" and run.message.startswith("disk full")
    series = store.get_series(run.id)
    assert len(series["step"]) > 0  # what was written before the disk filled is kept


def test_full_disk_on_finish_still_marks_the_run_failed(tmp_path, capped):
    """The last write (flush + final status) is the one that fails: still failed, not running."""
    import theoryscope.experiments.expander  # noqa: F401  (registers the experiment)
    from theoryscope.runner import execute

    path = tmp_path / "runs.sqlite"
    store = RunStore(path)
    capped[0] = _pages(path) + 3
    with pytest.raises(StoreFullError):
        execute("expander", {"k": 40, "batch": 10, "steps": 3000, "records": 3000}, 0, store=store)
    capped[0] = None
    (run,) = RunStore(path).list_runs()
    assert run.status == "failed" and run.message.startswith("disk full")


def test_mark_failed_is_a_small_in_place_write(tmp_path, capped):
    path = tmp_path / "runs.sqlite"
    store = RunStore(path)
    run_id = store.create_run("expander", {"k": 1}, seed=0)
    capped[0] = _pages(path)
    with pytest.raises(StoreFullError, match="disk full"):
        store.append_series(run_id, {"x": np.zeros(100_000)})
    store.mark_failed(run_id, "disk full")  # fits in the pages there are
    capped[0] = None
    assert store.get_run(run_id).status == "failed"


def test_full_disk_during_a_sweep_marks_its_run_failed_and_stops_in_one_line(
    store_path, capped, capsys
):
    """The sweep path (``sweep/persist.store_outcome``): the run whose series do not fit is
    stored ``failed`` ("disk full"), the runs stored before are kept, the CLI exits 1 in one line."""
    RunStore(store_path)
    capped[0] = _pages(store_path) + 12  # the sweep row and a run or two, not all eight
    code = main(["sweep", "polynets", "--grid", "width=1,2", "--seeds", "0-3", "--d", "4",
                 "--teacher-width", "2", "--steps", "3000", "--record-every", "1"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    capped[0] = None
    assert code == 1, err
    assert "Traceback" not in err and "internal error" not in err
    assert err.splitlines()[-1].startswith(f"error: --store: {store_path}: disk full"), err
    runs = RunStore(store_path).list_runs()
    failed = [r for r in runs if r.status == "failed"]
    assert len(failed) == 1 and failed[0].message.startswith("disk full")
    assert len(runs) < 8  # the sweep stopped at the full disk

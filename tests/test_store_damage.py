"""A damaged store file is reported as damaged, never read as good data.

Garbage is written into every page of a real store file in turn (a whole page, and 16 bytes in
its middle); then ``runs show`` and ``runs export`` must either print exactly what the intact
store prints, or fail with one line that names the file, says it is damaged and points to
SQLite's ``.recover`` (exit 2). Never a traceback, never "internal error".
"""

from __future__ import annotations

import json
import shutil
import sqlite3

import numpy as np
import pytest

from theoryscope.cli.main import main
from theoryscope.store import RunStore, StoreDamagedError

PAGE = 4096


def _make_store(path) -> tuple[str, str]:
    store = RunStore(path)
    rng = np.random.default_rng(0)
    ids = []
    for experiment, n in (("expander", 1500), ("widenets", 40)):
        run_id = store.create_run(experiment, {"k": 40, "gamma": [0.05] * 3}, seed=1)
        for start in range(0, n, 500):
            m = min(500, n - start)
            store.append_series(
                run_id,
                {"step": np.arange(start, start + m), "loss": rng.normal(size=m),
                 "W": rng.normal(size=(m, 2, 2)).astype(np.float32)},
            )  # fmt: skip
        store.finish_run(run_id, status="finished", summary={"steps": n}, theory={"t": [1.5]})
        ids.append(run_id)
    spec = {"grid": [["gamma", [0.1]]], "seeds": [0], "mode": "sgd", "configs": [],
            "config_hashes": []}  # fmt: skip
    store.create_sweep("expander", spec, sweep_id="sw1")
    with sqlite3.connect(path) as conn:  # everything into the main file, no WAL left
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return ids[0], ids[1]


def _outputs(path, run_id, tmp_path, capsys) -> list[tuple[int, str, str]]:
    results = []
    for fmt in ("json", "csv"):
        out = tmp_path / f"export.{fmt}"
        out.unlink(missing_ok=True)
        code = main(["runs", "export", run_id, "--format", fmt, "--out", str(out),
                     "--store", str(path)])  # fmt: skip
        captured = capsys.readouterr()
        text = out.read_text() if code == 0 else ""
        results.append((code, text, captured.err))
    for args in (["runs", "show", run_id, "--json"], ["runs", "show", run_id], ["runs", "list"],
                 ["sweep", "list", "--json"]):  # fmt: skip
        code = main([*args, "--store", str(path)])
        captured = capsys.readouterr()
        results.append((code, captured.out, captured.err))
    return results


@pytest.fixture(scope="module")
def intact(tmp_path_factory):
    root = tmp_path_factory.mktemp("damage")
    path = root / "intact.sqlite"
    ids = _make_store(path)
    return path, ids


@pytest.mark.parametrize("how", ["page", "stretch"])
def test_garbage_in_any_page_is_reported_or_harmless(how, intact, tmp_path, capsys):
    source, (big, small) = intact
    n_pages = source.stat().st_size // PAGE
    assert n_pages >= 15  # the store really spans many pages
    reference = {}
    for run_id in (big, small):
        reference[run_id] = _outputs(source, run_id, tmp_path, capsys)
        assert all(code == 0 for code, _, _ in reference[run_id]), reference[run_id]
    rng = np.random.default_rng(1 if how == "page" else 2)
    detected = harmless = 0
    for page in range(n_pages):
        damaged = tmp_path / f"damaged-{page}.sqlite"
        shutil.copyfile(source, damaged)
        with open(damaged, "r+b") as fh:
            if how == "page":
                fh.seek(page * PAGE)
                fh.write(rng.integers(0, 256, PAGE, dtype=np.uint8).tobytes())
            else:
                fh.seek(page * PAGE + PAGE // 2)
                fh.write(rng.integers(0, 256, 16, dtype=np.uint8).tobytes())
        for run_id in (big, small):
            for (code, text, err), (_, ref_text, _) in zip(
                _outputs(damaged, run_id, tmp_path, capsys), reference[run_id], strict=True
            ):
                assert "Traceback" not in err and "internal error" not in err, (page, err)
                if code == 0:
                    assert text == ref_text, f"page {page}: damaged data reported as good"
                    harmless += 1
                else:
                    assert code == 2, (page, code, err)
                    line = err.strip()
                    assert len(line.splitlines()) == 1, err
                    assert "damaged" in line and ".recover" in line, (page, line)
                    assert str(damaged) in line
                    detected += 1
    assert detected > 0 and harmless > 0


def test_checksums_catch_changed_bytes_that_sqlite_cannot_see(tmp_path):
    path = tmp_path / "runs.sqlite"
    store = RunStore(path)
    run_id = store.create_run("expander", {"k": 1}, seed=0)
    store.append_series(run_id, {"loss": np.arange(2000, dtype=np.float64)})
    store.finish_run(run_id, status="finished", summary={"steps": 2000})
    with sqlite3.connect(path) as conn:  # a bit flipped inside a blob: SQLite is none the wiser
        conn.execute("UPDATE chunks SET data = ? WHERE run_id = ?",
                     (np.arange(2000, dtype=np.float64)[::-1].tobytes(), run_id))  # fmt: skip
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    with pytest.raises(StoreDamagedError, match="does not match its checksum"):
        store.get_series(run_id)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE runs SET summary_json = ? WHERE id = ?", ('{"steps": 3}', run_id))
    with pytest.raises(StoreDamagedError, match=f"run '{run_id}' does not match"):
        store.get_run(run_id)


def test_a_store_written_before_checksums_is_upgraded_and_still_read(tmp_path):
    """Schema 1 stores (no checksum columns) open, migrate, and read as before."""
    path = tmp_path / "old.sqlite"
    from theoryscope.store.schema import MIGRATIONS

    with sqlite3.connect(path) as conn:
        for statement in MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
        conn.execute(
            "INSERT INTO runs (id, experiment, config_json, seed, status, created_at, updated_at)"
            " VALUES ('old1', 'expander', '{\"k\": 3}', 0, 'finished', 1.0, 1.0)"
        )
        data = np.arange(3.0).tobytes()
        conn.execute("INSERT INTO chunks VALUES ('old1', 0, 'loss', '<f8', '[3]', ?)", (data,))
    store = RunStore(path)
    assert store.get_run("old1").config == {"k": 3}
    np.testing.assert_array_equal(store.get_series("old1")["loss"], [0.0, 1.0, 2.0])
    run_id = store.create_run("expander", {"k": 1}, seed=0)
    store.finish_run(run_id, status="finished")
    assert json.loads(json.dumps(store.get_run(run_id).to_dict()))["status"] == "finished"

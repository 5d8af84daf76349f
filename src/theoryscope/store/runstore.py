"""The SQLite run store: every run's config, seed, status, metric series, theory and agreement.

Design:
- One SQLite file in WAL mode with a generous busy timeout, so several processes (CLI runs,
  the web lab, sweep drivers) can write runs at once.
- Series arrive in chunks while a run is simulated (``append_series``; the runner batches them,
  at most 0.5 s apart); a run killed mid-way keeps every chunk it had written.
- A run's status is ``running`` only while its owning process lives. A run whose owner died
  (SIGKILL, power loss) is read as ``interrupted`` — never as finished;
  :meth:`RunStore.mark_stale_runs` writes that status into the file.
- Arrays are stored as raw bytes with dtype and shape (no pickle).
- Every row carries a CRC-32 of its content (runs, chunks, sweeps), checked on every read, so
  damage inside a page, which SQLite cannot see, is reported instead of read as data. Every
  SQLite error becomes a one-line :class:`~theoryscope.store.errors.StoreError` naming the file
  (damaged, disk full, read-only, ...); see :mod:`.errors`.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import struct
import time
import uuid
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from theoryscope.core.jsonable import jsonable as _jsonable
from theoryscope.core.provenance import code_revision, package_versions
from theoryscope.errors import NotFoundError
from theoryscope.protocol import RUN_STATUSES
from theoryscope.store.errors import StoreDamagedError, StorePathError, translate
from theoryscope.store.schema import migrate

ENV_VAR = "THEORYSCOPE_STORE"


def default_store_path() -> Path:
    """``$THEORYSCOPE_STORE`` if set, else ``<user data dir>/theoryscope/runs.sqlite``."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("theoryscope", appauthor=False)) / "runs.sqlite"


def to_json(value: Any) -> str:
    """JSON with NaN/inf mapped to null and NumPy scalars/arrays converted."""
    return json.dumps(_jsonable(value), allow_nan=False)


#: The columns a run's checksum covers: all but ``updated_at`` (touched by every chunk write).
RUN_COLUMNS = (
    "id", "experiment", "config_json", "config_hash", "seed", "status", "sweep_id", "created_at",
    "finished_at", "owner_pid", "owner_host", "summary_json", "theory_json", "agreement_json",
    "message", "timings_json", "versions_json", "revision", "study",
)  # fmt: skip
SWEEP_COLUMNS = ("id", "experiment", "spec_json", "created_at")


def row_checksum(*values: Any) -> int:
    """CRC-32 of a row's values, each typed and length-prefixed (so no two rows collide by
    shifting bytes between columns); registered in SQLite as ``ts_crc``."""
    crc = 0
    for value in values:
        if value is None:
            part = b"n"
        elif isinstance(value, bool | int):
            part = b"i" + str(int(value)).encode()
        elif isinstance(value, float):
            part = b"f" + struct.pack("<d", value)
        elif isinstance(value, bytes):
            part = b"b" + value
        else:
            part = b"s" + str(value).encode("utf-8", "surrogatepass")
        crc = zlib.crc32(struct.pack("<Q", len(part)) + part, crc)
    return crc


def chunk_checksum(name: str, dtype: str, shape_json: str, data: bytes) -> int:
    """CRC-32 of one stored array: its name, dtype, shape and bytes."""
    return zlib.crc32(data, row_checksum(name, dtype, shape_json))


@dataclass
class StoredRun:
    """One row of the store, with its JSON columns decoded. Series are loaded on demand."""

    id: str
    experiment: str
    config: dict[str, Any]
    config_hash: str | None
    seed: int
    status: str
    sweep_id: str | None
    created_at: float
    finished_at: float | None
    summary: dict[str, Any] = field(default_factory=dict)
    theory: dict[str, Any] | None = None
    agreement: dict[str, Any] | None = None
    message: str | None = None
    timings: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)
    revision: str | None = None
    #: The declared study this row holds (None for a plain run).
    study: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "experiment": self.experiment,
            "study": self.study,
            "config": self.config,
            "config_hash": self.config_hash,
            "seed": self.seed,
            "status": self.status,
            "sweep_id": self.sweep_id,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "summary": self.summary,
            "theory": self.theory,
            "agreement": self.agreement,
            "message": self.message,
            "timings": self.timings,
            "versions": self.versions,
            "revision": self.revision,
        }


def _storable(text: str | None) -> bool:
    """Whether SQLite can hold ``text``: not a str with lone surrogates (what Python makes of
    command-line bytes that are not UTF-8), which no stored id or name can contain."""
    if text is None:
        return True
    try:
        str(text).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunStore:
    """A handle on one store file. Cheap to create; each method opens its own short transaction."""

    def __init__(self, path: str | Path | None = None) -> None:
        raw = os.fspath(path) if path is not None else None
        if raw is not None and (not raw.strip() or "\x00" in raw):
            raise StorePathError(repr(raw), "allowed: a file path")
        self.path = Path(raw).expanduser() if raw is not None else default_store_path()
        if self.path.is_dir():
            raise StorePathError(self.path, "is a directory; allowed: a file path")
        if self.path.exists() and not self.path.is_file():
            raise StorePathError(
                self.path, "is not a regular file (a device, FIFO or socket); allowed: a file path"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise StorePathError(
                self.path, "a parent is a file, not a directory; allowed: a path in a directory"
            ) from None
        except OSError as err:
            raise StorePathError(
                self.path, f"cannot create its directory ({err.strerror or err})"
            ) from None
        with self._connect() as conn:
            migrate(conn)
        self._host = socket.gethostname()

    # -- connections ----------------------------------------------------------------------------
    def _configure(self, conn: sqlite3.Connection) -> None:
        """Per-connection settings (a test subclass adds ``PRAGMA max_page_count`` here)."""
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=60000")
        conn.create_function("ts_crc", -1, row_checksum, deterministic=True)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A configured connection; every SQLite error in the block becomes a StoreError."""
        try:
            conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        except sqlite3.Error as err:
            raise translate(self.path, err) from None
        try:
            self._configure(conn)
            yield conn
        except (sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise  # a bug in this module, not the file
        except sqlite3.Error as err:
            raise translate(self.path, err) from None
        except OSError as err:  # e.g. the file vanished under a reader
            raise StorePathError(self.path, err.strerror or str(err)) from None
        finally:
            conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # SQLite already rolled back (it does on SQLITE_FULL)
                raise
            conn.execute("COMMIT")

    def _damaged(self, detail: str) -> StoreDamagedError:
        return StoreDamagedError(self.path, detail)

    @staticmethod
    def _seal_run(conn: sqlite3.Connection, run_id: str) -> None:
        """Recompute the run's checksum (in the same transaction as the change it seals)."""
        conn.execute(
            f"UPDATE runs SET checksum = ts_crc({', '.join(RUN_COLUMNS)}) WHERE id = ?", (run_id,)
        )

    # -- writing a run --------------------------------------------------------------------------
    def create_run(
        self,
        experiment: str,
        config: Mapping[str, Any],
        seed: int,
        *,
        sweep_id: str | None = None,
        config_hash: str | None = None,
        study: str | None = None,
    ) -> str:
        """Insert a run (or, with ``study``, a study) in status ``running`` owned by this process;
        returns its id."""
        run_id = uuid.uuid4().hex[:12]
        now = time.time()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO runs (id, experiment, config_json, config_hash, seed, status, sweep_id,"
                " created_at, updated_at, owner_pid, owner_host, versions_json, revision, study)"
                " VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    experiment,
                    to_json(config),
                    config_hash,
                    int(seed),
                    sweep_id,
                    now,
                    now,
                    os.getpid(),
                    socket.gethostname(),
                    to_json(package_versions()),
                    code_revision(),
                    study,
                ),
            )
            self._seal_run(conn, run_id)
        return run_id

    def append_series(self, run_id: str, chunk: Mapping[str, np.ndarray]) -> None:
        """Append one chunk of records (every series with the same leading length)."""
        if not chunk:
            return
        with self._write() as conn:
            row = conn.execute(
                "SELECT COALESCE(MAX(seq), -1) + 1 FROM chunks WHERE run_id = ?", (run_id,)
            ).fetchone()
            seq = int(row[0])
            rows = []
            for name, value in chunk.items():
                arr = np.ascontiguousarray(np.asarray(value))
                dtype, shape, data = arr.dtype.str, json.dumps(list(arr.shape)), arr.tobytes()
                crc = chunk_checksum(name, dtype, shape, data)
                rows.append((run_id, seq, name, dtype, shape, data, crc))
            conn.executemany(
                "INSERT INTO chunks (run_id, seq, name, dtype, shape_json, data, checksum)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            conn.execute("UPDATE runs SET updated_at = ? WHERE id = ?", (time.time(), run_id))

    def replace_series(self, run_id: str, series: Mapping[str, np.ndarray]) -> None:
        """Drop any stored chunks and store ``series`` as one chunk (used after the fact)."""
        with self._write() as conn:
            conn.execute("DELETE FROM chunks WHERE run_id = ?", (run_id,))
        self.append_series(run_id, series)

    def finish_run(
        self,
        run_id: str,
        *,
        status: str,
        summary: Mapping[str, Any] | None = None,
        theory: Mapping[str, Any] | None = None,
        agreement: Mapping[str, Any] | None = None,
        message: str | None = None,
        timings: Mapping[str, Any] | None = None,
    ) -> None:
        """Record the final status and the run's JSON results."""
        if status not in RUN_STATUSES or status == "running":
            raise ValueError(f"final status must be one of {RUN_STATUSES[1:]}, got {status!r}")
        now = time.time()
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE runs SET status = ?, summary_json = ?, theory_json = ?, agreement_json = ?,"
                " message = ?, timings_json = ?, finished_at = ?, updated_at = ? WHERE id = ?",
                (
                    status,
                    to_json(summary or {}),
                    None if theory is None else to_json(theory),
                    None if agreement is None else to_json(agreement),
                    message,
                    to_json(timings or {}),
                    now,
                    now,
                    run_id,
                ),
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"no run with id {run_id!r}")
            self._seal_run(conn, run_id)

    def mark_failed(self, run_id: str, message: str) -> None:
        """Record ``failed`` with ``message`` and nothing else: the smallest write there is, for
        when a full disk refused :meth:`finish_run` (the series written before are kept)."""
        now = time.time()
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET status = 'failed', message = ?, finished_at = ?, updated_at = ?"
                " WHERE id = ?",
                (message, now, now, run_id),
            )
            self._seal_run(conn, run_id)

    # -- reading --------------------------------------------------------------------------------
    def _row_to_run(self, row: sqlite3.Row) -> StoredRun:
        expected = row["checksum"]
        if expected is not None and row_checksum(*(row[c] for c in RUN_COLUMNS)) != expected:
            raise self._damaged(f"run {row['id']!r} does not match its checksum")
        try:
            return self._decode_run(row)
        except (ValueError, TypeError, KeyError) as err:  # written before checksums existed
            raise self._damaged(f"run {row['id']!r} cannot be decoded: {err}") from None

    def _decode_run(self, row: sqlite3.Row) -> StoredRun:
        status = row["status"]
        if status == "running" and not self._owner_alive(row["owner_pid"], row["owner_host"]):
            status = "interrupted"
        return StoredRun(
            id=row["id"],
            experiment=row["experiment"],
            config=json.loads(row["config_json"]),
            config_hash=row["config_hash"],
            seed=int(row["seed"]),
            status=status,
            sweep_id=row["sweep_id"],
            created_at=float(row["created_at"]),
            finished_at=row["finished_at"],
            summary=json.loads(row["summary_json"] or "{}"),
            theory=json.loads(row["theory_json"]) if row["theory_json"] else None,
            agreement=json.loads(row["agreement_json"]) if row["agreement_json"] else None,
            message=row["message"]
            or (
                "the process running it stopped before it finished"
                if status != row["status"]
                else None
            ),
            timings=json.loads(row["timings_json"] or "{}"),
            versions=json.loads(row["versions_json"] or "{}"),
            revision=row["revision"],
            study=row["study"] if "study" in row.keys() else None,
        )

    def _owner_alive(self, pid: int | None, host: str | None) -> bool:
        if pid is None:
            return False
        if host != self._host:
            return True  # cannot tell for another machine: trust the row
        return _pid_alive(int(pid))

    def get_run(self, run_id: str) -> StoredRun:
        """The run with this id; raises NotFoundError (one line) if there is none."""
        if not _storable(run_id):
            raise NotFoundError(f"no run with id {run_id!r}; see `theoryscope runs list`")
        with self._connect() as conn:
            conn.row_factory = sqlite3.Row
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            self._check_not_indexed("runs", run_id)
            raise NotFoundError(f"no run with id {run_id!r}; see `theoryscope runs list`")
        return self._row_to_run(row)

    def _check_not_indexed(self, table: str, key: str) -> None:
        """An id the index did not find must be absent from the table too; else the index is
        damaged (a table scan is cheap: runs and sweeps are small rows)."""
        with self._connect() as conn:
            found = conn.execute(
                f"SELECT 1 FROM {table} NOT INDEXED WHERE id = ?", (key,)
            ).fetchone()
        if found is not None:
            raise self._damaged(f"the index of table {table} misses {key!r}")

    def get_series(self, run_id: str) -> dict[str, np.ndarray]:
        """Every series of the run, chunks concatenated along the record axis."""
        self.get_run(run_id)  # NotFoundError for unknown ids
        parts: dict[str, list[np.ndarray]] = {}
        with self._connect() as conn:
            for seq, name, dtype, shape_json, data, crc in conn.execute(
                "SELECT seq, name, dtype, shape_json, data, checksum FROM chunks"
                " WHERE run_id = ? ORDER BY seq, rowid",
                (run_id,),
            ):
                where = f"run {run_id!r}, series {name!r}, chunk {seq}"
                if crc is not None and chunk_checksum(name, dtype, shape_json, data) != crc:
                    raise self._damaged(f"{where} does not match its checksum")
                try:
                    arr = np.frombuffer(data, dtype=np.dtype(dtype)).reshape(json.loads(shape_json))
                except (ValueError, TypeError) as err:
                    raise self._damaged(f"{where} cannot be decoded: {err}") from None
                parts.setdefault(name, []).append(arr)
        try:
            return {name: np.concatenate(chunks, axis=0) for name, chunks in parts.items()}
        except ValueError as err:
            raise self._damaged(f"run {run_id!r}: its chunks do not fit together: {err}") from None

    def list_runs(
        self,
        *,
        experiment: str | None = None,
        sweep_id: str | None = None,
        status: str | None = None,
        limit: int | None = 100,
    ) -> list[StoredRun]:
        """Runs, newest first, optionally filtered (status filter applies to the shown status)."""
        if not all(_storable(v) for v in (experiment, sweep_id, status)):
            return []  # no stored run has a name that is not UTF-8
        where, args = [], []
        if experiment:
            where.append("experiment = ?")
            args.append(experiment)
        if sweep_id:
            where.append("sweep_id = ?")
            args.append(sweep_id)
        sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY created_at DESC, rowid DESC"
        with self._connect() as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute(sql, args).fetchall()
        runs = [self._row_to_run(r) for r in rows]
        if status:
            runs = [r for r in runs if r.status == status]
        return runs if limit is None else runs[:limit]

    def find_finished(self, experiment: str, config_hash: str, seed: int) -> str | None:
        """The id of a finished run of this exact config and seed, if one exists (sweep resumption)."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT id FROM runs WHERE experiment = ? AND config_hash = ? AND seed = ?"
                " AND status IN ('finished', 'diverged') AND study IS NULL"
                " ORDER BY created_at LIMIT 1",
                (experiment, config_hash, int(seed)),
            ).fetchone()
        return None if row is None else str(row[0])

    def delete_run(self, run_id: str) -> None:
        """Remove a run and its series."""
        if not _storable(run_id):
            raise NotFoundError(f"no run with id {run_id!r}; see `theoryscope runs list`")
        with self._write() as conn:
            conn.execute("DELETE FROM chunks WHERE run_id = ?", (run_id,))
            cur = conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
            if cur.rowcount == 0:
                raise NotFoundError(f"no run with id {run_id!r}; see `theoryscope runs list`")

    def mark_stale_runs(self) -> int:
        """Persist ``interrupted`` for runs whose owning process on this host is gone."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id, owner_pid, owner_host FROM runs WHERE status = 'running'"
            ).fetchall()
        stale = [r[0] for r in rows if not self._owner_alive(r[1], r[2])]
        if stale:
            with self._write() as conn:
                conn.executemany(
                    "UPDATE runs SET status = 'interrupted', message = COALESCE(message,"
                    " 'the process running it stopped before it finished') WHERE id = ? AND status = 'running'",
                    [(s,) for s in stale],
                )
                for run_id in stale:
                    self._seal_run(conn, run_id)
        return len(stale)

    # -- sweeps ---------------------------------------------------------------------------------
    def create_sweep(
        self, experiment: str, spec: Mapping[str, Any], sweep_id: str | None = None
    ) -> str:
        """Register a sweep (idempotent when ``sweep_id`` is given and exists)."""
        sweep_id = sweep_id or uuid.uuid4().hex[:12]
        with self._write() as conn:
            values = (sweep_id, experiment, to_json(spec), time.time())
            conn.execute(
                "INSERT OR IGNORE INTO sweeps (id, experiment, spec_json, created_at, checksum)"
                " VALUES (?, ?, ?, ?, ?)",
                (*values, row_checksum(*values)),
            )
        return sweep_id

    def _sweep_from_row(self, row: tuple[Any, ...]) -> dict[str, Any]:
        *values, crc = row
        if crc is not None and row_checksum(*values) != crc:
            raise self._damaged(f"sweep {values[0]!r} does not match its checksum")
        try:
            spec = json.loads(values[2])
        except (ValueError, TypeError) as err:
            raise self._damaged(f"sweep {values[0]!r} cannot be decoded: {err}") from None
        return {"id": values[0], "experiment": values[1], "spec": spec, "created_at": values[3]}

    def get_sweep(self, sweep_id: str) -> dict[str, Any]:
        if not _storable(sweep_id):
            raise NotFoundError(f"no sweep with id {sweep_id!r}; see `theoryscope sweep list`")
        with self._connect() as conn:
            row = conn.execute(
                "SELECT id, experiment, spec_json, created_at, checksum FROM sweeps WHERE id = ?",
                (sweep_id,),
            ).fetchone()
        if row is None:
            self._check_not_indexed("sweeps", sweep_id)
            raise NotFoundError(f"no sweep with id {sweep_id!r}; see `theoryscope sweep list`")
        return self._sweep_from_row(tuple(row))

    def export_run(self, run_id: str, fmt: str, path: str | Path, *, force: bool = False) -> Path:
        """Write a run to ``path`` as csv, json or npz (safely); see :mod:`.export`."""
        from theoryscope.store.export import export_run

        return export_run(self, run_id, fmt, path, force=force)

    def list_sweeps(self) -> list[dict[str, Any]]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id, experiment, spec_json, created_at, checksum FROM sweeps"
                " ORDER BY created_at DESC"
            ).fetchall()
        return [self._sweep_from_row(tuple(r)) for r in rows]

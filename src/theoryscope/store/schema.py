"""The run store's schema and its migrations (``PRAGMA user_version`` holds the schema version).

Each migration is a list of SQL statements taking the schema from version i to i + 1; they run
in one transaction on open, so a store written by an older theoryscope is upgraded in place.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[list[str]] = [
    # 0 -> 1: runs, their metric chunks, sweeps
    [
        """CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            experiment TEXT NOT NULL,
            config_json TEXT NOT NULL,
            config_hash TEXT,
            seed INTEGER NOT NULL,
            status TEXT NOT NULL,
            sweep_id TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            finished_at REAL,
            owner_pid INTEGER,
            owner_host TEXT,
            summary_json TEXT NOT NULL DEFAULT '{}',
            theory_json TEXT,
            agreement_json TEXT,
            message TEXT,
            timings_json TEXT NOT NULL DEFAULT '{}',
            versions_json TEXT NOT NULL DEFAULT '{}',
            revision TEXT
        )""",
        "CREATE INDEX runs_by_sweep ON runs (sweep_id)",
        "CREATE INDEX runs_by_hash ON runs (experiment, config_hash, seed, status)",
        """CREATE TABLE chunks (
            run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            name TEXT NOT NULL,
            dtype TEXT NOT NULL,
            shape_json TEXT NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (run_id, seq, name)
        )""",
        """CREATE TABLE sweeps (
            id TEXT PRIMARY KEY,
            experiment TEXT NOT NULL,
            spec_json TEXT NOT NULL,
            created_at REAL NOT NULL
        )""",
    ],
    # 1 -> 2: studies (declared multi-run computations) are stored as runs with their name;
    # checksums, so that damage SQLite cannot see (garbage inside a page) is found on read.
    # NULL checksums for rows written before: those cannot be verified.
    [
        "ALTER TABLE runs ADD COLUMN study TEXT",
        "ALTER TABLE runs ADD COLUMN checksum INTEGER",
        "ALTER TABLE chunks ADD COLUMN checksum INTEGER",
        "ALTER TABLE sweeps ADD COLUMN checksum INTEGER",
    ],
]

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database up to :data:`SCHEMA_VERSION`; returns the version found on open."""
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found > SCHEMA_VERSION:
        from theoryscope.errors import StoreError

        raise StoreError(
            f"store schema version {found} is newer than this theoryscope understands "
            f"({SCHEMA_VERSION}); upgrade theoryscope"
        )
    if found == SCHEMA_VERSION:
        return found
    conn.execute("BEGIN IMMEDIATE")
    try:
        # re-read inside the write lock: another process may have migrated meanwhile
        current = int(conn.execute("PRAGMA user_version").fetchone()[0])
        for version in range(current, SCHEMA_VERSION):
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # SQLite already rolled back; the error that matters is the one raised
        raise
    return found

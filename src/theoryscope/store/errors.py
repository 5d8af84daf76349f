"""What can go wrong with the store file itself, each as one line that names ``--store``.

SQLite's own errors are translated here (:func:`translate`), so no ``sqlite3`` exception, and no
"internal error", reaches a user: a damaged file says so and how to recover what is intact, a
full disk says so, a read-only or misplaced path says what is wrong with it.
"""

from __future__ import annotations

import os
import shlex
import sqlite3
from pathlib import Path

from theoryscope.errors import StoreError

__all__ = [
    "StoreDamagedError",
    "StoreFullError",
    "StorePathError",
    "translate",
]

#: SQLite primary result codes (https://www.sqlite.org/rescode.html)
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 5, 6, 8, 10, 11, 13, 14, 26


class StorePathError(StoreError):
    """The store at ``path`` cannot be used; ``str()`` reads ``--store: <path>: <what>``."""

    #: the CLI's exit code for this error (2: the store the user named cannot be used)
    exit_code = 2

    def __init__(self, path: str | os.PathLike[str], message: str) -> None:
        self.path = Path(path)
        self.message = message
        super().__init__(f"--store: {path}: {message}")


class StoreDamagedError(StorePathError):
    """The file is not an intact SQLite store; the message says how to recover what is left."""

    def __init__(self, path: str | os.PathLike[str], detail: str) -> None:
        self.detail = detail
        quoted = shlex.quote(str(path))
        recovered = shlex.quote(f"{path}.recovered")
        super().__init__(
            path,
            f"the run store is damaged ({detail}); its data cannot be trusted. Recover what is "
            f'intact with: sqlite3 {quoted} ".recover" | sqlite3 {recovered}',
        )


class StoreFullError(StorePathError):
    """The disk (or the file's size limit) is full: nothing more can be written."""

    exit_code = 1  # the run failed; the input was fine

    def __init__(
        self, path: str | os.PathLike[str], detail: str = "database or disk is full"
    ) -> None:
        self.detail = detail
        super().__init__(
            path, f"disk full ({detail}); free some space, or use another store with --store"
        )


def _primary_code(err: sqlite3.Error) -> int | None:
    code = getattr(err, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def _why_cannot_open(path: Path) -> str:
    """A reason a store file cannot be opened, found by looking at the path."""
    if path.is_dir():
        return "is a directory; allowed: a file path"
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        return f"{parent} is a file, not a directory; allowed: a path in a directory"
    if not parent.exists():
        return f"the directory {parent} does not exist"
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return "the file is not readable and writable by you; allowed: a writable file"
    if not os.access(parent, os.W_OK | os.X_OK):
        return (
            f"the directory {parent} is read-only (SQLite needs to create its journal files "
            "next to the store); allowed: a file in a writable directory"
        )
    return "cannot open the file"


def translate(path: str | os.PathLike[str], err: sqlite3.Error) -> StoreError:
    """The one-line StoreError for an error SQLite raised on the store at ``path``."""
    path = Path(path)
    code = _primary_code(err)
    text = str(err)
    low = text.lower()
    if code == _NOTADB or "not a database" in low:
        return StoreDamagedError(
            path, f"{text}: another kind of file, or its first page is damaged"
        )
    if code == _CORRUPT or "malformed" in low:
        return StoreDamagedError(path, text)
    if "could not decode to utf-8" in low:
        return StoreDamagedError(path, "text that is not UTF-8")
    if code == _FULL or "disk is full" in low:
        return StoreFullError(path, text)
    if code == _READONLY or "readonly" in low:
        where = (
            "the file is read-only"
            if path.exists() and not os.access(path, os.W_OK)
            else f"the file or its directory {path.parent} is read-only"
        )
        return StorePathError(
            path, f"cannot write: {where}; allowed: a writable file in a writable directory"
        )
    if code == _CANTOPEN or "unable to open" in low:
        return StorePathError(path, _why_cannot_open(path))
    if code in (_BUSY, _LOCKED):
        return StorePathError(path, f"{text}: another process has held it locked for 60 s")
    if code == _IOERR:
        return StorePathError(path, f"input/output error ({text})")
    return StorePathError(path, text)

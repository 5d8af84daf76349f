"""Batched series writes: engines hand over one record per chunk, and one SQLite transaction
costs milliseconds, so a run's records are written at most every ``flush_s`` seconds.

A run killed by SIGKILL loses at most the last ``flush_s`` seconds of records; every other way a
run ends (finished, diverged, failed, Ctrl-C) flushes first.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from theoryscope.store.runstore import RunStore


class BufferedSeriesWriter:
    """Append chunks of one run's series to the store, merged into few transactions."""

    def __init__(self, store: RunStore, run_id: str, flush_s: float = 0.5) -> None:
        self.store = store
        self.run_id = run_id
        self.flush_s = flush_s
        self._pending: list[dict[str, np.ndarray]] = []
        self._last_flush = time.monotonic()

    def append(self, chunk: Mapping[str, np.ndarray]) -> None:
        """Queue a chunk; write everything queued once ``flush_s`` has passed since the last write."""
        self._pending.append({name: np.asarray(arr) for name, arr in chunk.items()})
        if time.monotonic() - self._last_flush >= self.flush_s:
            self.flush()

    def discard(self) -> None:
        """Drop what is queued (the store cannot take it: disk full)."""
        self._pending.clear()

    def flush(self) -> None:
        """Write every queued chunk now, as one chunk."""
        if not self._pending:
            return
        names = self._pending[0].keys()
        merged = {name: np.concatenate([c[name] for c in self._pending], axis=0) for name in names}
        self._pending.clear()
        self.store.append_series(self.run_id, merged)
        self._last_flush = time.monotonic()

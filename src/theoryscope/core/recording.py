"""Recording a run: when to record (schedules) and what to do with each record (one recorder).

Schedules. Training curves span decades of steps, so runs record on a log-spaced grid: step 0,
then about ``records - 1`` integer steps spaced evenly in log between 1 and ``steps``, the last
being ``steps`` itself. Rounding merges the early points (1, 1, 2, 2, 3, ...), so fewer distinct
steps come out than asked for; :func:`exact_log_steps` raises the number asked for until the
count is exact.

Recorder. Every engine appends one record (a dict of numbers and small arrays) at a time; the
recorder keeps them, streams them in chunks to ``on_chunk`` (the store, the web page), and checks
each record first: a non-finite value, or a loss above a cap, marks the run ``diverged`` and the
record is dropped, so a diverged run keeps exactly the finite data it had.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["Recorder", "exact_log_steps", "linear_steps", "log_steps"]


def log_steps(steps: int, records: int, *, zero: bool = True) -> np.ndarray:
    """Step 0 (with ``zero``), then about ``records - 1`` log-spaced integers in [1, steps]
    ending at ``steps``, distinct and increasing (int64)."""
    steps, records = int(steps), int(records)
    if steps <= 1 or records <= 2:
        pts = np.array([0, steps] if zero else [steps], dtype=np.int64)
        return np.unique(pts[pts <= steps])
    inner = np.round(np.geomspace(1.0, float(steps), records - (1 if zero else 0)))
    head = [0] if zero else []
    return np.unique(np.concatenate([head, inner.astype(np.int64), [steps]])).astype(np.int64)


def _log_points(steps: int, n: int) -> np.ndarray:
    pts = np.round(np.geomspace(1.0, float(steps), n)).astype(np.int64)
    return np.unique(np.clip(pts, 1, steps))


def exact_log_steps(steps: int, records: int) -> np.ndarray:
    """Step 0, then about ``records`` log-spaced steps in [1, steps], the last being ``steps``.

    Rounding to integers merges early points, so the number of log-spaced points asked for is
    raised (bisection) until the distinct steps number ``records``: every step at first, then
    log-spaced.
    """
    steps, records = int(steps), int(records)
    if records >= steps:
        pts = np.arange(1, steps + 1, dtype=np.int64)
    else:
        lo, hi = records, records
        while len(_log_points(steps, hi)) <= records and hi < 64 * steps:
            lo, hi = hi, 2 * hi
        while hi - lo > 1:  # largest n whose distinct points are at most ``records``
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if len(_log_points(steps, mid)) <= records else (lo, mid)
        pts = _log_points(steps, lo)
    if pts[-1] != steps:
        pts = np.append(pts, steps)
    return np.concatenate([[0], pts]).astype(np.int64)


def linear_steps(steps: int, records: int) -> np.ndarray:
    """``records`` evenly spaced integer steps from 0 to ``steps`` (distinct)."""
    return np.unique(np.round(np.linspace(0, int(steps), int(records)))).astype(np.int64)


def _finite(value: Any) -> bool:
    arr = np.asarray(value)
    return bool(np.all(np.isfinite(arr))) if arr.dtype.kind in "fc" else True


class Recorder:
    """Keep records, stream them in chunks, and stop at the first non-finite one.

    ``add(record)`` returns False once the run has diverged (the offending record is not kept:
    ``status`` is ``diverged`` and ``message`` names the step). ``loss_key`` and ``cap`` add a
    divergence threshold on the loss (e.g. 1e10 x the initial loss). ``flush()`` sends what is
    pending; ``series(shapes)`` stacks every record into arrays sharing the leading axis (with
    ``shapes`` giving the trailing shape of a series when nothing was recorded).
    """

    def __init__(
        self,
        on_chunk: Callable[[Mapping[str, np.ndarray]], None] | None = None,
        *,
        chunk_records: int = 50,
        loss_key: str = "loss",
        cap: float | None = None,
        step_key: str = "step",
    ) -> None:
        self.on_chunk = on_chunk
        self.chunk_records = max(1, int(chunk_records))
        self.loss_key = loss_key
        self.cap = cap
        self.step_key = step_key
        self.rows: dict[str, list[Any]] = {}
        self.pending = 0
        self.status = "finished"
        self.message: str | None = None
        self.diverged_at: Any = None

    def add(self, record: Mapping[str, Any]) -> bool:
        """Keep a record (and stream it when a chunk is full); False if the run has diverged."""
        if self.status == "diverged":
            return False
        bad = [name for name, value in record.items() if not _finite(value)]
        loss = record.get(self.loss_key)
        over = (
            self.cap is not None
            and loss is not None
            and math.isfinite(float(np.asarray(loss).max()))
            and float(np.asarray(loss).max()) > self.cap
        )
        if bad or over:
            self.status = "diverged"
            self.diverged_at = record.get(self.step_key)
            why = f"non-finite {', '.join(bad)}" if bad else f"{self.loss_key} above {self.cap:g}"
            where = f" at step {self.diverged_at}" if self.diverged_at is not None else ""
            self.message = f"diverged: {why}{where}"
            self.flush()
            return False
        for name, value in record.items():
            self.rows.setdefault(name, []).append(value)
        self.pending += 1
        if self.pending >= self.chunk_records:
            self.flush()
        return True

    def interrupt(self, message: str) -> None:
        """Mark the run stopped from outside (``should_stop``); the records stay."""
        if self.status == "finished":
            self.status = "interrupted"
            self.message = message

    def flush(self) -> None:
        if self.pending and self.on_chunk is not None:
            start = len(next(iter(self.rows.values()))) - self.pending
            self.on_chunk({name: np.asarray(values[start:]) for name, values in self.rows.items()})
        self.pending = 0

    def __len__(self) -> int:
        return len(next(iter(self.rows.values()))) if self.rows else 0

    def series(self, shapes: Mapping[str, Sequence[int]] | None = None) -> dict[str, np.ndarray]:
        """Every series as an array with the record axis first."""
        out = {name: np.asarray(values) for name, values in self.rows.items()}
        for name, shape in (shapes or {}).items():
            if name not in out:
                out[name] = np.zeros((0, *shape))
        return out

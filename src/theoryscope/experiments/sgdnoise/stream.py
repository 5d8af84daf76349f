"""Streaming a run's block records and ending it: one helper shared by every mode.

Records arrive a chunk of blocks at a time. :class:`Stream` keeps them, hands each chunk to
``on_chunk`` (the store, the web page) and marks the run ``diverged`` at the first block whose
loss is non-finite or above the cap (that block and the ones after it are dropped, the finite
ones before it kept). Other series may hold NaN (an error bar from a single block).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from theoryscope.protocol import ChunkCallback, Run


class Stream:
    """Collects chunks of records (dicts of arrays with a shared leading axis)."""

    def __init__(self, on_chunk: ChunkCallback | None, cap: float = math.inf) -> None:
        self.on_chunk = on_chunk
        self.cap = cap
        self.parts: list[dict[str, np.ndarray]] = []
        self.diverged_at: float | None = None
        self.stopped = False

    def bad_index(self, loss: np.ndarray) -> int | None:
        """Index of the first record whose loss is non-finite or >= cap (None if all fine)."""
        loss = np.asarray(loss, dtype=np.float64).reshape(len(loss), -1)
        bad = ~np.isfinite(loss).all(axis=1) | (loss >= self.cap).any(axis=1)
        idx = np.flatnonzero(bad)
        return int(idx[0]) if idx.size else None

    def add(self, chunk: dict[str, np.ndarray]) -> None:
        """Keep and stream a chunk (already cut at divergence by the caller)."""
        if not len(chunk["step"]):
            return
        self.parts.append(chunk)
        if self.on_chunk is not None:
            self.on_chunk(chunk)

    def series(self, keys: tuple[str, ...], shapes: dict[str, tuple[int, ...]]) -> dict[str, Any]:
        if not self.parts:
            return {k: np.zeros((0, *shapes.get(k, ()))) for k in keys}
        return {k: np.concatenate([p[k] for p in self.parts]) for k in keys}


def finish(
    config: Any,
    seed: int,
    stream: Stream,
    series: dict[str, np.ndarray],
    summary: dict[str, Any],
    started: float,
) -> Run:
    """The Run with its status: ``diverged`` (data kept up to the first bad block),
    ``interrupted`` (stopped on request) or ``finished``."""
    status, message = "finished", None
    if stream.diverged_at is not None:
        status = "diverged"
        message = (
            f"loss diverged at step {int(stream.diverged_at)} (non-finite or above 1e10 x the "
            "initial loss); lower --lr"
        )
        summary["diverged_at_step"] = int(stream.diverged_at)
    elif stream.stopped:
        status, message = "interrupted", "stopped on request"
    steps = series.get("step")
    summary["records"] = int(len(steps)) if steps is not None else 0
    summary["steps_done"] = int(steps[-1]) if steps is not None and len(steps) else 0
    return Run(
        experiment="sgdnoise",
        config=config.to_dict(),
        seed=int(seed),
        status=status,
        series=series,
        summary=summary,
        message=message,
        timings={"simulate_seconds": time.perf_counter() - started},
    )

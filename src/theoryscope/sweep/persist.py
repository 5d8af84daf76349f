"""Computed results and how the sweep driver stores them: the one place a sweep writes a run.

Workers (a process pool, Dask) never touch the store: they return :class:`Outcome` objects
(NumPy arrays and JSON dicts pickle fine) and the driver, alone, writes them with
:func:`store_outcome`. What lands in the store is what :func:`theoryscope.runner.execute` stores
for the same run: config, config hash, seed, sweep id, every series, status, summary, theory,
agreement, message and timings (series arrive as one chunk instead of many; ``get_series``
concatenates chunks, so they read back the same). A run that raised is stored as ``failed`` with
``"<ExceptionType>: <message>"``, like the runner does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from theoryscope.protocol import Run
from theoryscope.store import RunStore, StoreFullError

__all__ = ["Outcome", "store_outcome"]


@dataclass
class Outcome:
    """One (config, seed) computed by a worker: a Run with its theory and agreement, or an error."""

    experiment: str
    config: dict[str, Any]
    config_hash: str | None
    seed: int
    run: Run | None = None
    theory: dict[str, Any] | None = None
    agreement: dict[str, Any] | None = None
    error: str | None = None
    worker: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return "failed" if self.run is None else self.run.status


def store_outcome(store: RunStore, outcome: Outcome, *, sweep_id: str | None = None) -> str:
    """Write one outcome as a finished (or diverged/interrupted/failed) run; returns its id."""
    run_id = store.create_run(
        outcome.experiment,
        outcome.config,
        outcome.seed,
        sweep_id=sweep_id,
        config_hash=outcome.config_hash,
    )
    run = outcome.run
    try:
        if run is None:
            store.finish_run(
                run_id,
                status="failed",
                message=outcome.error or "failed",
                theory=outcome.theory,
            )
            return run_id
        if run.series:
            store.append_series(run_id, run.series)
        store.finish_run(
            run_id,
            status=run.status,
            summary=run.summary,
            theory=outcome.theory,
            agreement=outcome.agreement,
            message=run.message,
            timings=run.timings,
        )
    except StoreFullError:
        from theoryscope.runner import DISK_FULL

        store.mark_failed(run_id, DISK_FULL)  # as the runner does; the sweep then stops
        raise
    return run_id

"""Run an experiment end to end and store it: the one place where simulate, predict, compare and
the run store meet (used by the CLI, the web lab and sweeps alike).

    validate config -> predict (theory) -> create stored run -> simulate, streaming chunks into
    the store -> compare -> finish the stored run with status, summary, theory, agreement.

Nothing is written to the store before the config is valid and the theory computed, so bad
input leaves nothing behind. A run that raises is stored as ``failed`` with its message; a
KeyboardInterrupt (Ctrl-C) stores it as ``interrupted`` with the data it had, then re-raises.
Series are written in batches (:class:`~theoryscope.store.buffer.BufferedSeriesWriter`).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from theoryscope.protocol import ChunkCallback, Run, StopPredicate, get_experiment
from theoryscope.store import RunStore
from theoryscope.store.buffer import BufferedSeriesWriter


@dataclass
class RunResult:
    """What :func:`execute` returns: the stored id (None without a store) and the three results."""

    run_id: str | None
    run: Run
    theory: Any
    agreement: dict[str, Any]


def execute(
    experiment_name: str,
    config: Any,
    seed: int,
    *,
    store: RunStore | None,
    sweep_id: str | None = None,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
    theory: Any = None,
) -> RunResult:
    """Simulate ``config`` with ``seed``, predict its theory, compare, and store everything."""
    experiment = get_experiment(experiment_name)
    if isinstance(config, Mapping):
        config = experiment.config_from_dict(config)
    started = time.perf_counter()
    if theory is None:
        theory = experiment.predict(config)
    theory_seconds = time.perf_counter() - started
    theory_dict = experiment.theory_to_dict(theory)
    config_hash = config.config_hash() if hasattr(config, "config_hash") else None
    run_id = (
        store.create_run(
            experiment_name, config.to_dict(), seed, sweep_id=sweep_id, config_hash=config_hash
        )
        if store is not None
        else None
    )

    writer = (
        BufferedSeriesWriter(store, run_id) if store is not None and run_id is not None else None
    )

    def stream(chunk: Mapping[str, np.ndarray]) -> None:
        if writer is not None:
            writer.append(chunk)
        if on_chunk is not None:
            on_chunk(chunk)

    def finish(status: str, message: str | None, **results: Any) -> None:
        if writer is not None:
            writer.flush()
            writer.store.finish_run(
                writer.run_id, status=status, message=message, theory=theory_dict, **results
            )

    try:
        run = experiment.simulate(config, seed, on_chunk=stream, should_stop=should_stop)
        agreement = experiment.compare(run, theory)
    except KeyboardInterrupt:
        finish("interrupted", "stopped by Ctrl-C")
        raise
    except Exception as err:
        finish("failed", f"{type(err).__name__}: {err}")
        raise
    run.timings["theory_seconds"] = theory_seconds
    finish(run.status, run.message, summary=run.summary, agreement=agreement, timings=run.timings)
    return RunResult(run_id=run_id, run=run, theory=theory, agreement=agreement)


@contextmanager
def stop_on_sigint() -> Iterator[StopPredicate]:
    """Turn the first Ctrl-C into a clean stop at the next chunk boundary (a second one aborts).

    Yields a predicate for ``should_stop``. Only installs a handler in the main thread.
    """
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag.is_set
        return

    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        if flag.is_set():
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        flag.set()

    signal.signal(signal.SIGINT, handler)
    try:
        yield flag.is_set
    finally:
        signal.signal(signal.SIGINT, previous)

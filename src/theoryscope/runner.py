"""Run an experiment end to end and store it: the one place where simulate, predict, compare and
the run store meet (used by the CLI, the web lab and sweeps alike).

    validate config -> predict (theory) -> create stored run -> simulate, streaming chunks into
    the store -> compare -> finish the stored run with status, summary, theory, agreement.

Nothing is written to the store before the config is valid and the theory computed, so bad
input leaves nothing behind. A run that raises is stored as ``failed`` with its message; a
KeyboardInterrupt (Ctrl-C) stores it as ``interrupted`` with the data it had, then re-raises.
A store that fills up mid-run (disk full) stores the run as ``failed`` with the reason "disk
full", keeping every series written before, then raises :class:`StoreFullError`.
Series are written in batches (:class:`~theoryscope.store.buffer.BufferedSeriesWriter`).

Ctrl-C: :func:`stop_on_sigint` records every SIGINT it catches (:func:`ctrl_c_received`), so the
CLI entry point exits 130 after any command that was interrupted, whatever the command did.
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
from theoryscope.store import RunStore, StoreFullError
from theoryscope.store.buffer import BufferedSeriesWriter

#: Set by :func:`stop_on_sigint` when it catches a Ctrl-C; read by the CLI entry point.
_CTRL_C = threading.Event()

#: The message a run gets when the store's disk fills up under it.
DISK_FULL = "disk full: the store could not take more data; the series written before are kept"


def ctrl_c_received() -> bool:
    """Whether :func:`stop_on_sigint` caught a Ctrl-C since :func:`reset_ctrl_c`."""
    return _CTRL_C.is_set()


def reset_ctrl_c() -> None:
    _CTRL_C.clear()


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
            _finish_stored(writer, status, message, theory_dict, results)

    try:
        run = experiment.simulate(config, seed, on_chunk=stream, should_stop=should_stop)
        agreement = experiment.compare(run, theory)
    except KeyboardInterrupt:
        finish("interrupted", "stopped by Ctrl-C")
        raise
    except StoreFullError:
        finish("failed", DISK_FULL)
        raise
    except Exception as err:
        finish("failed", f"{type(err).__name__}: {err}")
        raise
    run.timings["theory_seconds"] = theory_seconds
    finish(run.status, run.message, summary=run.summary, agreement=agreement, timings=run.timings)
    return RunResult(run_id=run_id, run=run, theory=theory, agreement=agreement)


def _finish_stored(
    writer: BufferedSeriesWriter,
    status: str,
    message: str | None,
    theory_dict: Any,
    results: Mapping[str, Any],
) -> None:
    """Flush the last series and record the final status. If the disk is full, the run is
    recorded as ``failed`` ("disk full") with what was written before, and StoreFullError is
    raised (unless the run was already failing for that reason)."""
    store, run_id = writer.store, writer.run_id
    try:
        writer.flush()
        store.finish_run(run_id, status=status, message=message, theory=theory_dict, **results)
        return
    except StoreFullError as err:
        full = err
    writer.discard()
    # the smallest write there is; if even that fails the run reads as interrupted
    store.mark_failed(run_id, DISK_FULL)
    if message != DISK_FULL:
        raise full


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
        _CTRL_C.set()
        if flag.is_set():
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        flag.set()

    signal.signal(signal.SIGINT, handler)
    try:
        yield flag.is_set
    finally:
        signal.signal(signal.SIGINT, previous)

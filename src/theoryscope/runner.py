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

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from theoryscope.core.resources import (
    MEMORY_SHARE,
    available_memory_bytes,
    format_bytes,
    format_seconds,
)
from theoryscope.errors import ConfigError
from theoryscope.protocol import ChunkCallback, Experiment, Run, StopPredicate, get_experiment
from theoryscope.spec.declare import Estimate, StudyContext
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


def with_seed(config_cls: Any, raw: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """``raw`` with every field the Config declares ``follows_seed`` set to the run seed unless
    given (a data or feature seed that ``predict`` must see is part of the config; by default it
    follows the run's seed). The CLI, the web lab and sweeps all build configs through this."""
    out = dict(raw)
    for name in getattr(config_cls, "follows_seed", ()):
        if out.get(name) is None:
            out[name] = seed
    return out


def env_max_seconds() -> float | None:
    """``THEORYSCOPE_MAX_SECONDS``: refuse CLI runs and studies estimated to take longer (unset:
    no limit; a shared machine or a test suite sets it)."""
    text = os.environ.get("THEORYSCOPE_MAX_SECONDS", "").strip()
    try:
        return float(text) if text else None
    except ValueError:
        return None


def estimate_cost(experiment: Experiment, config: Any) -> Estimate | None:
    """The declared cost of a run (None when the experiment declares no estimate)."""
    if experiment.estimate is None:
        return None
    return experiment.estimate(config)


def check_cost(
    experiment: Experiment,
    config: Any,
    *,
    max_seconds: float | None = None,
    memory_bytes: float | None = None,
) -> Estimate | None:
    """Refuse, before anything starts, a run that cannot fit in memory (or, with
    ``max_seconds``, one estimated to take longer): ConfigError naming the fields that drive it.
    """
    estimate = estimate_cost(experiment, config)
    if estimate is None:
        return None
    if max_seconds is None:
        max_seconds = env_max_seconds()
    fields = ", ".join(estimate.fields) or "config"
    budget = memory_bytes if memory_bytes is not None else available_memory_bytes() * MEMORY_SHARE
    if not estimate.memory_bytes <= budget:
        raise ConfigError(
            fields,
            f"this run needs about {format_bytes(estimate.memory_bytes)} of memory"
            f"{' (' + estimate.note + ')' if estimate.note else ''}; this machine can give it"
            f" {format_bytes(budget)}; allowed: smaller {fields}",
        )
    if max_seconds is not None and not estimate.seconds <= max_seconds:
        raise ConfigError(
            fields,
            f"this run would take about {format_seconds(estimate.seconds)}; allowed: at most"
            f" {format_seconds(max_seconds)} on this server (smaller {fields})",
        )
    return estimate


def progress_fraction(
    experiment: Experiment, config: Any, chunk: Mapping[str, Any]
) -> float | None:
    """How far a run is after ``chunk``: the declared hook, else its last ``step`` over
    ``config.steps``."""
    if experiment.hooks.progress is not None:
        return experiment.hooks.progress(config, chunk)
    steps = getattr(config, "steps", None)
    step = chunk.get("step")
    if not steps or step is None or len(step) == 0:
        return None
    return min(1.0, float(np.asarray(step)[-1]) / float(steps))


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
    on_created: Callable[[str], None] | None = None,
    check: bool = True,
) -> RunResult:
    """Simulate ``config`` with ``seed``, predict its theory, compare, and store everything.

    ``on_created(run_id)`` is called once the stored run exists (the web lab announces the id
    to its page); ``check`` refuses, before anything is stored, a run that cannot fit in memory.
    """
    experiment = get_experiment(experiment_name)
    if isinstance(config, Mapping):
        config = experiment.config_from_dict(config)
    if check:
        if experiment.hooks.check is not None:
            experiment.hooks.check(config)
        check_cost(experiment, config)
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
    if run_id is not None and on_created is not None:
        on_created(run_id)

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


@dataclass
class StudyResult:
    """What :func:`execute_study` returns: the stored id (None without a store), the params,
    the study's JSON result and the seconds it took."""

    run_id: str | None
    params: Any
    result: dict[str, Any]
    seconds: float
    status: str = "finished"
    message: str | None = None


def execute_study(
    experiment_name: str,
    study_name: str,
    params: Any,
    seed: int,
    *,
    store: RunStore | None,
    progress: Callable[[float, str], None] | None = None,
    should_stop: StopPredicate | None = None,
    check: bool = True,
) -> StudyResult:
    """Run a declared study and store it like a run (its result as the summary).

    A study that raises is stored as ``failed``; Ctrl-C stores it as ``interrupted`` and
    re-raises; a study that sees ``should_stop`` may return early (stored ``interrupted``).
    """
    experiment = get_experiment(experiment_name)
    study = experiment.study(study_name)
    if isinstance(params, Mapping):
        params = study.params.from_dict(params)  # type: ignore[attr-defined]
    if check and study.estimate is not None:
        estimate = study.estimate(params)
        budget = available_memory_bytes() * MEMORY_SHARE
        fields = ", ".join(estimate.fields) or "params"
        if not estimate.memory_bytes <= budget:
            raise ConfigError(
                fields,
                f"this study needs about {format_bytes(estimate.memory_bytes)} of memory; this"
                f" machine can give it {format_bytes(budget)}; allowed: smaller {fields}",
            )
        limit = env_max_seconds()
        if limit is not None and not estimate.seconds <= limit:
            raise ConfigError(
                fields,
                f"this study would take about {format_seconds(estimate.seconds)}; allowed: at "
                f"most {format_seconds(limit)} (THEORYSCOPE_MAX_SECONDS; smaller {fields})",
            )
    run_id = (
        store.create_run(
            experiment_name,
            params.to_dict(),
            seed,
            config_hash=params.config_hash(),
            study=study_name,
        )
        if store is not None
        else None
    )
    started = time.perf_counter()
    context = StudyContext(progress, should_stop)

    def finish(status: str, message: str | None, result: dict[str, Any] | None) -> None:
        if store is not None and run_id is not None:
            store.finish_run(
                run_id,
                status=status,
                message=message,
                summary=result or {},
                timings={"seconds": time.perf_counter() - started},
            )

    try:
        result = study.run(params, seed, context)
    except KeyboardInterrupt:
        finish("interrupted", "stopped by Ctrl-C", None)
        raise
    except Exception as err:
        finish("failed", f"{type(err).__name__}: {err}", None)
        raise
    status = "interrupted" if context.should_stop() else "finished"
    message = "stopped before it finished" if status == "interrupted" else None
    if status == "finished" and result.get("status") in ("diverged", "failed"):
        status = str(result["status"])  # a study may report that a run inside it diverged
        message = str(result.get("message") or f"a run of the study {status}")
    finish(status, message, result)
    return StudyResult(
        run_id, params, result, time.perf_counter() - started, status=status, message=message
    )


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

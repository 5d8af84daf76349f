"""Live runs: each simulates in its own worker thread (never on the event loop) and streams
its chunks to any number of attached pages.

A live run *is* a stored run: the worker calls :func:`theoryscope.runner.execute`, exactly as the
CLI does, so the id a page sees is the store's run id (announced through ``on_created``) and
every chunk streamed is a chunk stored. Any registered experiment runs this way; each chunk
message carries the run's progress (:func:`theoryscope.runner.progress_fraction`) and an ETA,
and the ``done`` message the declared metric rows.

Life cycle, all driven from the engine's ``should_stop`` hook (polled between jit-compiled chunks):

- ``pause`` blocks the worker inside ``should_stop`` until ``resume`` or ``stop``;
- ``stop`` (or the page going away for longer than ``detach_grace_s``) returns True, and the
  engine ends the run as ``interrupted`` with the data it has;
- a page that reloads re-attaches within the grace period and gets the whole backlog first.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from theoryscope.core.jsonable import jsonable
from theoryscope.errors import TheoryscopeError
from theoryscope.protocol import get_experiment
from theoryscope.runner import execute, progress_fraction
from theoryscope.store import RunStore
from theoryscope.web.figures import live_metrics

#: A page that started a run gets at least this long to attach to it (counted from compilation).
FIRST_ATTACH_S = 10.0


def chunk_to_lists(chunk: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """A chunk of series as JSON-ready nested lists (NaN and inf become null)."""
    return jsonable({name: np.asarray(arr) for name, arr in chunk.items()})


def merge_chunks(chunks: list[dict[str, list[Any]]]) -> dict[str, list[Any]]:
    """Concatenate JSON chunks along the record axis (the order of keys of the first one)."""
    if len(chunks) == 1:
        return chunks[0]
    out: dict[str, list[Any]] = {}
    for chunk in chunks:
        for name, values in chunk.items():
            out.setdefault(name, []).extend(values)
    return out


class _Subscriber:
    """One attached page: an asyncio queue fed from the worker thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def push(self, message: dict[str, Any]) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, message)
        except RuntimeError:  # the page's event loop is gone
            pass


@dataclass
class LiveRun:
    """A run being simulated in a worker thread, with its streamed chunks kept for re-attachment."""

    experiment: str
    config: Any
    seed: int
    theory: Any
    theory_dict: dict[str, Any]
    grace_s: float
    id: str | None = None
    state: str = "starting"  # starting, running, paused, stopping, done
    final: dict[str, Any] | None = None
    #: What stopped the run, when it raised (a ConfigError before it started is a 4xx).
    error: Exception | None = None
    chunks: list[dict[str, list[Any]]] = field(default_factory=list)
    records: int = 0
    step: int = 0
    fraction: float | None = None
    started_at: float = field(default_factory=time.monotonic)
    run_seconds: float = 0.0
    paused_seconds: float = 0.0
    done_at: float | None = None
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _subs: list[_Subscriber] = field(default_factory=list)
    _stop: bool = False
    _stop_message: str = ""
    _detached_at: float | None = None
    _attached: bool = False
    _first_chunk_at: float | None = None
    _id_ready: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    # -- worker side ------------------------------------------------------------------------
    @property
    def _experiment(self) -> Any:
        return get_experiment(self.experiment)

    def start(self, store_path: Path) -> None:
        self._thread = threading.Thread(
            target=self._work, args=(store_path,), name="theoryscope-live-run", daemon=True
        )
        self._thread.start()

    def _set_id(self, run_id: str) -> None:
        self.id = run_id
        with self._cond:
            if self.state == "starting":
                self.state = "running"
        self._id_ready.set()

    def wait_for_id(self, timeout: float) -> str | None:
        self._id_ready.wait(timeout)
        return self.id

    def _work(self, store_path: Path) -> None:
        final: dict[str, Any]
        try:
            result = execute(
                self.experiment,
                self.config,
                self.seed,
                store=RunStore(store_path),
                on_chunk=self._on_chunk,
                should_stop=self._should_stop,
                theory=self.theory,
                on_created=self._set_id,
            )
            run = result.run
            message = run.message
            if run.status == "interrupted" and self._stop_message:
                message = self._stop_message
            if run.status == "finished":
                self.fraction = 1.0
            final = {
                "status": run.status,
                "summary": jsonable(run.summary),
                "agreement": jsonable(result.agreement),
                "message": message,
                "metrics": live_metrics(
                    get_experiment(self.experiment), run, self.theory_dict, result.agreement
                ),
            }
        except Exception as err:  # execute stored it as failed; tell the page in one line
            self.error = err
            message = f"{type(err).__name__}: {err}"
            final = {
                "status": "failed",
                "summary": {},
                "agreement": None,
                "message": message,
                "metrics": [],
            }
        self._id_ready.set()
        with self._cond:
            self.final = final
            self.state = "done"
            self.done_at = time.monotonic()
            subs = list(self._subs)
            self._cond.notify_all()
        done = {"type": "done", "run_id": self.id, **final, **self.progress()}
        for sub in subs:
            sub.push(done)

    def _on_chunk(self, chunk: Mapping[str, np.ndarray]) -> None:
        data = chunk_to_lists(chunk)
        steps = data.get("step") or []
        fraction = progress_fraction(self._experiment, self.config, chunk)
        with self._cond:
            if fraction is not None:
                self.fraction = fraction
            self.chunks.append(data)
            self.records += len(steps)
            if steps:
                self.step = int(steps[-1])
            now = time.monotonic()
            if self._first_chunk_at is None:  # the clock starts after compilation
                self._first_chunk_at = now
            self.run_seconds = now - self._first_chunk_at - self.paused_seconds
            subs = list(self._subs)
            message = {"type": "chunk", "data": data, **self.progress()}
        for sub in subs:
            sub.push(message)

    def _should_stop(self) -> bool:
        with self._cond:
            paused_since: float | None = None
            while True:
                now = time.monotonic()
                if self._detached_at is None:  # first poll: the grace starts after compilation
                    self._detached_at = now
                grace = self.grace_s if self._attached else max(self.grace_s, FIRST_ATTACH_S)
                if not self._subs and now - self._detached_at > grace:
                    self._stop = True
                    self._stop_message = "the page was closed; stopped with the data it had"
                if self._stop:
                    self.state = "stopping"
                    break
                if self.state != "paused":
                    break
                paused_since = paused_since if paused_since is not None else now
                self._cond.wait(timeout=0.1)
            if paused_since is not None:
                self.paused_seconds += time.monotonic() - paused_since
            return self._stop

    # -- page side ----------------------------------------------------------------------------
    def progress(self) -> dict[str, Any]:
        """Where the run is: step, records, seconds simulated, rate, state, the fraction done
        (``progress``, None when unknown) and the seconds left at the rate so far (``eta``)."""
        rate = self.step / self.run_seconds if self.run_seconds > 0 else None
        fraction = self.fraction
        eta = None
        if fraction is not None and 0 < fraction < 1 and self.run_seconds > 0:
            eta = round(self.run_seconds * (1 - fraction) / fraction, 2)
        elif fraction is not None and fraction >= 1:
            eta = 0.0
        return {
            "experiment": self.experiment,
            "step": self.step,
            "records": self.records,
            "seconds": round(self.run_seconds, 4),
            "steps_per_second": rate,
            "state": self.state,
            "progress": fraction,
            "eta": eta,
        }

    def control(self, action: str) -> str:
        """``pause``, ``resume`` or ``stop``; returns the new state."""
        with self._cond:
            if self.state in ("done", "stopping"):
                return self.state
            if action == "pause" and self.state == "running":
                self.state = "paused"
            elif action == "resume" and self.state == "paused":
                self.state = "running"
            elif action == "stop":
                self._stop = True
                self._stop_message = "stopped from the page; stored with the data it had"
                self.state = "stopping"
            self._cond.notify_all()
            subs = list(self._subs)
            state = self.state
        for sub in subs:
            sub.push({"type": "state", **self.progress()})
        return state

    def attach(self, loop: asyncio.AbstractEventLoop) -> tuple[_Subscriber, dict[str, Any]]:
        """Subscribe a page; returns the subscriber and the backlog as one ``hello`` message."""
        sub = _Subscriber(loop)
        with self._cond:
            self._subs.append(sub)
            self._attached = True
            hello = {
                "type": "hello",
                "run_id": self.id,
                "config": self.config.to_dict(),
                "seed": self.seed,
                "theory": self.theory_dict,
                "data": merge_chunks(self.chunks) if self.chunks else {},
                **self.progress(),
            }
            if self.final is not None:
                sub.push({"type": "done", "run_id": self.id, **self.final, **self.progress()})
        return sub, hello

    def detach(self, sub: _Subscriber) -> None:
        with self._cond:
            if sub in self._subs:
                self._subs.remove(sub)
            if not self._subs:
                self._detached_at = time.monotonic()
            self._cond.notify_all()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def describe(self) -> dict[str, Any]:
        return {
            "run_id": self.id,
            "seed": self.seed,
            "config": self.config.to_dict(),
            "attached": len(self._subs),
            **self.progress(),
        }


class ServerBusy(Exception):
    """The server already simulates as many runs as its limits allow."""


class LiveRuns:
    """The live runs of one server, keyed by stored run id."""

    #: Finished live runs are kept this long, so that a reloading page still finds them.
    keep_done_s = 120.0

    def __init__(self, store_path: Path, max_live: int, grace_s: float) -> None:
        self.store_path = store_path
        self.max_live = max_live
        self.grace_s = grace_s
        self._runs: dict[str, LiveRun] = {}
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()

    def active(self) -> list[LiveRun]:
        with self._lock:
            self._forget_old()
            return [r for r in self._runs.values() if r.state != "done"]

    def get(self, run_id: str) -> LiveRun | None:
        with self._lock:
            self._forget_old()
            return self._runs.get(run_id)

    def all(self) -> list[LiveRun]:
        with self._lock:
            self._forget_old()
            return list(self._runs.values())

    def start(
        self, experiment: str, config: Any, seed: int, theory: Any, theory_dict: dict[str, Any]
    ) -> LiveRun:
        """Start a worker and return once the stored run exists.

        Raises :class:`ServerBusy` when ``max_live`` runs are already simulating, RuntimeError
        when the worker failed before creating the stored run.
        """
        with self._start_lock:  # check-and-start is atomic: the cap holds under concurrency
            if len(self.active()) >= self.max_live:
                raise ServerBusy(
                    f"this server already runs {self.max_live} experiments at once;"
                    " stop one or wait for it to finish"
                )
            live = LiveRun(experiment, config, seed, theory, theory_dict, self.grace_s)
            live.start(self.store_path)
            run_id = live.wait_for_id(timeout=60.0)
            if run_id is None and isinstance(live.error, TheoryscopeError):
                raise live.error  # refused before it started (bad input, cost): a 4xx, one line
            if run_id is None:
                message = live.final["message"] if live.final else "no stored run after 60 s"
                raise RuntimeError(f"the run did not start: {message}")
            with self._lock:
                self._runs[run_id] = live
        return live

    def stop_all(self, timeout: float = 10.0) -> None:
        """Stop every live run (server shutdown); each is stored as interrupted."""
        runs = self.all()
        for run in runs:
            run.control("stop")
        for run in runs:
            run.join(timeout)

    def _forget_old(self) -> None:
        now = time.monotonic()
        for run_id, run in list(self._runs.items()):
            if run.done_at is not None and now - run.done_at > self.keep_done_s:
                del self._runs[run_id]

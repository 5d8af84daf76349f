"""Study jobs: a declared study computed in a bounded pool of worker threads, stored like a run.

Each job calls :func:`theoryscope.runner.execute_study` (as ``theoryscope <exp> <study>`` does)
in its own thread; its progress and message come from the study's ``context.progress`` calls
and its stop flag is the study's ``context.should_stop``. At most ``max_jobs`` compute at once
(a further start is refused, like live runs); finished jobs are kept ``keep_done_s`` seconds.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from theoryscope.core.jsonable import jsonable
from theoryscope.protocol import get_experiment
from theoryscope.runner import execute_study
from theoryscope.spec.metrics import metric_rows
from theoryscope.store import RunStore
from theoryscope.web.live import ServerBusy

__all__ = ["Job", "Jobs"]


@dataclass
class Job:
    """One study being computed (or done)."""

    id: str
    experiment: str
    study: str
    params: Any
    seed: int
    state: str = "running"  # running, stopping, done, stopped, failed
    progress: float = 0.0
    message: str = ""
    run_id: str | None = None
    result: dict[str, Any] | None = None
    metrics: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    started_at: float = field(default_factory=time.monotonic)
    done_at: float | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def eta(self) -> float | None:
        """Seconds left at the pace so far (None until some progress is reported)."""
        if self.state not in ("running", "stopping"):
            return 0.0 if self.state == "done" else None
        if not 0 < self.progress < 1:
            return None
        elapsed = time.monotonic() - self.started_at
        return round(elapsed * (1 - self.progress) / self.progress, 2)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "job_id": self.id,
            "experiment": self.experiment,
            "study": self.study,
            "params": self.params.to_dict(),
            "seed": self.seed,
            "state": self.state,
            "progress": self.progress,
            "message": self.message,
            "eta": self.eta(),
            "seconds": round((self.done_at or time.monotonic()) - self.started_at, 3),
            "run_id": self.run_id,
            "error": self.error,
        }
        if self.result is not None:
            out["result"] = self.result
            out["metrics"] = self.metrics
        return out

    def stop(self) -> str:
        if self.state == "running":
            self.state = "stopping"
        self._stop.set()
        return self.state

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress = fraction
        if message:
            self.message = message

    def _work(self, store_path: Path) -> None:
        try:
            outcome = execute_study(
                self.experiment, self.study, self.params, self.seed,
                store=RunStore(store_path), progress=self._on_progress,
                should_stop=self._stop.is_set,
            )  # fmt: skip
        except Exception as err:  # execute_study stored it as failed
            self.error = f"{type(err).__name__}: {err}"
            self.message = self.error
            self.state = "failed"
        else:
            study = get_experiment(self.experiment).study(self.study)
            self.run_id = outcome.run_id
            self.result = jsonable(outcome.result)
            from theoryscope.plots.render import documents

            docs = documents(result=outcome.result, config=self.params.to_dict())
            self.metrics = jsonable(metric_rows(study.metrics, docs))
            if outcome.status == "finished":
                self.state, self.progress = "done", 1.0
                self.message = self.message or "done"
            else:
                self.state = "stopped"
                self.message = outcome.message or "stopped"
        self.done_at = time.monotonic()


class Jobs:
    """The study jobs of one server."""

    keep_done_s = 600.0

    def __init__(self, store_path: Path, max_jobs: int) -> None:
        self.store_path = store_path
        self.max_jobs = max_jobs
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def _forget_old(self) -> None:
        now = time.monotonic()
        for job_id, job in list(self._jobs.items()):
            if job.done_at is not None and now - job.done_at > self.keep_done_s:
                del self._jobs[job_id]

    def active(self) -> list[Job]:
        with self._lock:
            self._forget_old()
            return [j for j in self._jobs.values() if j.done_at is None]

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            self._forget_old()
            return self._jobs.get(job_id)

    def start(self, experiment: str, study: str, params: Any, seed: int) -> Job:
        """Start a job; :class:`ServerBusy` when ``max_jobs`` are already computing."""
        with self._lock:
            self._forget_old()
            running = [j for j in self._jobs.values() if j.done_at is None]
            if len(running) >= self.max_jobs:
                raise ServerBusy(
                    f"this server already computes {self.max_jobs} studies at once;"
                    " stop one or wait for it to finish"
                )
            job = Job(uuid.uuid4().hex[:12], experiment, study, params, seed)
            self._jobs[job.id] = job
        job._thread = threading.Thread(
            target=job._work, args=(self.store_path,), name="theoryscope-study", daemon=True
        )
        job._thread.start()
        return job

    def stop_all(self, timeout: float = 10.0) -> None:
        jobs = self.active()
        for job in jobs:
            job.stop()
        for job in jobs:
            if job._thread is not None:
                job._thread.join(timeout)

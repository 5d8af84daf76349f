"""Where sweep tasks run: in this process, a local process pool, or a Dask cluster.

Every executor runs :func:`theoryscope.sweep.worker.run_task` on :class:`Task` objects and hands
the results back to the driver, which alone writes the store. The driver keeps at most
``slots`` tasks in flight, so "running" in the progress bar is what is really running.

- ``serial``: in this process, one task at a time (debugging; no extra processes).
- ``local``: this machine, as :mod:`theoryscope.sweep.plan` decides: in this process where one
  run already keeps the cores busy (few cores), the sweep is short or there is an accelerator;
  otherwise a ``ProcessPoolExecutor`` with the *spawn* start method (JAX and fork do not mix),
  one single-threaded process per core (``--workers N``: N processes sharing the cores as
  threads). Its workers die with the driver, however it dies (even by
  SIGKILL): each asks the kernel for SIGKILL when its parent dies (Linux ``PR_SET_PDEATHSIG``)
  and a watchdog thread exits when the parent process is gone (every platform).
- ``dask``: ``dask.distributed``. With no scheduler address a ``LocalCluster`` (one single-
  threaded worker process per core) is started and closed with the sweep; with
  ``tcp://host:8786`` the driver connects to a running scheduler (e.g. one started by
  dask-jobqueue on SLURM). Workers need only the installed package. Seeds are batched where the
  workers compute on an accelerator.

Every executor says whether seeds of one config run batched (:meth:`batches`) and describes
its plan (:meth:`describe`, shown with the sweep's progress and result).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from theoryscope.core.resources import MEMORY_SHARE, available_memory_bytes
from theoryscope.errors import ConfigError
from theoryscope.sweep.plan import (
    Plan,
    batch_pays,
    detect_platform,
    plan_local,
    usable_cores,
    worker_env,
)
from theoryscope.sweep.worker import Task, run_task, worker_platform

__all__ = [
    "EXECUTORS",
    "DaskExecutor",
    "LocalExecutor",
    "SerialExecutor",
    "check_workers",
    "make_executor",
    "max_workers",
]

EXECUTORS = ("local", "dask", "serial")


def default_workers() -> int:
    """Every core this process may use."""
    return usable_cores()


#: At most this many workers per core: more only adds memory (each holds JAX, ~400 MB).
WORKERS_PER_CORE = 4


def max_workers() -> int:
    """The most ``--workers`` accepted here: :data:`WORKERS_PER_CORE` x the machine's cores."""
    return WORKERS_PER_CORE * max(1, os.cpu_count() or 1)


def check_workers(workers: int | None) -> int | None:
    """``workers`` if it is from 1 to :func:`max_workers`, else ConfigError naming it."""
    if workers is None:
        return None
    cap = max_workers()
    if not 1 <= workers <= cap:
        cores = os.cpu_count() or 1
        raise ConfigError(
            "workers",
            f"got {workers}; allowed: an integer from 1 to {cap} "
            f"({WORKERS_PER_CORE} x the {cores} cores of this machine)",
        )
    return workers


#: How often a worker's watchdog looks whether its driver is still there (seconds).
WATCHDOG_SECONDS = 0.5


def _die_with_parent(parent_pid: int) -> None:
    """Worker initializer: end this process when the driver ``parent_pid`` dies.

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` has the kernel kill it at once. Everywhere: a
    daemon thread checks the parent every :data:`WATCHDOG_SECONDS` and exits the process once
    it is gone (covering systems without prctl, and the race where the parent died before
    prctl ran).
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl: the thread remains
            pass

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)  # the driver is gone: nobody will read our results
            time.sleep(WATCHDOG_SECONDS)

    if os.getppid() != parent_pid:
        os._exit(1)
    threading.Thread(target=watch, name="theoryscope-parent-watchdog", daemon=True).start()


@contextlib.contextmanager
def worker_environment(env: Mapping[str, str]) -> Iterator[None]:
    """``env`` set in this process's environment inside the block, so that worker processes
    spawned there inherit it from their first instruction (before JAX or BLAS load)."""
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _InProcess:
    """Runs tasks one at a time in this process (compiled programs are reused across tasks).

    A task runs on a helper thread, so the driver keeps drawing its progress line. The first
    Ctrl-C stops the running task at its next chunk (stored ``interrupted``, its data kept) and
    then the sweep (:class:`KeyboardInterrupt` at the next submit); a second one aborts at once.
    """

    def __init__(self) -> None:
        self._signals = contextlib.ExitStack()
        self._stop: Callable[[], bool] = lambda: False

    def start(self) -> None:
        from theoryscope.runner import stop_on_sigint

        self._stop = self._signals.enter_context(stop_on_sigint())

    def close(self) -> None:
        self._signals.close()

    def submit(self, task: Task) -> cf.Future:
        if self._stop():
            raise KeyboardInterrupt
        future: cf.Future = cf.Future()
        stop = self._stop

        def work() -> None:
            try:
                future.set_result(run_task(task, should_stop=stop))
            except BaseException as err:  # pragma: no cover - run_task catches per seed
                future.set_exception(err)

        threading.Thread(target=work, name="theoryscope-sweep-task", daemon=True).start()
        return future

    def wait(self, futures: Iterable[Any], timeout: float) -> tuple[list[Any], list[Any]]:
        futures = list(futures)
        if not futures:
            return [], []
        done, pending = cf.wait(futures, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return list(done), list(pending)


class SerialExecutor:
    """Runs each task in this process, one after another (debugging; nothing spawned)."""

    name = "serial"

    def __init__(self) -> None:
        self.slots = 1
        self.plan: Plan | None = None
        self._runner = _InProcess()

    def __enter__(self) -> SerialExecutor:
        platform = detect_platform()
        self.plan = Plan(0, usable_cores(), batch_pays(platform), platform, "--executor serial")
        self._runner.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._runner.close()

    def submit(self, task: Task) -> Any:
        return self._runner.submit(task)

    def wait(self, futures: Iterable[Any], timeout: float) -> tuple[list[Any], list[Any]]:
        return self._runner.wait(futures, timeout)

    @staticmethod
    def result(future: Any) -> Any:
        return future.result()

    def capacity(self) -> int:
        return 1

    def batches(self) -> bool:
        return bool(self.plan and self.plan.batch)

    def describe(self) -> str:
        return "serial (this process)" + (f", {self.plan.describe()}" if self.plan else "")


#: Memory a worker process holds besides its runs (Python, NumPy, JAX and compiled programs).
WORKER_BYTES = 400e6


class LocalExecutor:
    """This machine: the tasks run in this process or in a spawn-context process pool, as
    :func:`~theoryscope.sweep.plan.plan_local` decides from the cores, the platform and the work
    (``workers`` fixes the number of processes).

    :meth:`configure` tells it the work before it starts (the driver calls it); without it the
    sweep is taken to have as many runs as cores and an unknown length.
    """

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers
        self.slots = workers or default_workers()
        self.plan: Plan | None = None
        self._runs: int | None = None
        self._work_seconds: float | None = None
        self._run_bytes = 0.0
        self._pool: cf.ProcessPoolExecutor | None = None
        self._runner: _InProcess | None = None

    def configure(
        self, *, runs: int, work_seconds: float | None = None, run_bytes: float | None = None
    ) -> None:
        """The work ahead: how many runs, their estimated seconds all together and the memory
        of the largest (None where the experiment declares no estimate)."""
        self._runs = runs
        self._work_seconds = work_seconds
        self._run_bytes = float(run_bytes or 0.0)

    def make_plan(self) -> Plan:
        cores = usable_cores()
        runs = self._runs if self._runs is not None else cores
        if self.workers is not None:  # the workers say which platform they compute on
            return plan_local(cores=cores, platform="cpu", runs=runs, workers=self.workers)
        per_worker = max(WORKER_BYTES, self._run_bytes)
        max_processes = max(1, int(available_memory_bytes() * MEMORY_SHARE // per_worker))
        return plan_local(
            cores=cores, platform=detect_platform(), runs=runs,
            work_seconds=self._work_seconds, max_processes=max_processes,
        )  # fmt: skip

    def __enter__(self) -> LocalExecutor:
        plan = self.make_plan()
        if plan.in_process:
            self._runner = _InProcess()
            self._runner.start()
        else:
            platforms = self._start_pool(plan)
            if self.workers is not None and platforms:
                platform = platforms[0]
                plan = replace(plan, platform=platform, batch=batch_pays(platform))
        self.plan = plan
        self.slots = plan.slots
        return self

    def _start_pool(self, plan: Plan) -> list[str]:
        """Start every worker now, inside its environment; returns the platforms they report."""
        with worker_environment(worker_env(plan.threads)):
            self._pool = cf.ProcessPoolExecutor(
                max_workers=plan.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_die_with_parent,
                initargs=(os.getpid(),),
            )
            probes = [self._pool.submit(worker_platform) for _ in range(plan.processes)]
            return [future.result() for future in probes]

    def __exit__(self, *exc: Any) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=exc[0] is None, cancel_futures=True)
            self._pool = None
        if self._runner is not None:
            self._runner.close()
            self._runner = None

    def submit(self, task: Task) -> Any:
        if self._runner is not None:
            return self._runner.submit(task)
        assert self._pool is not None and self.plan is not None
        try:
            return self._pool.submit(run_task, task)
        except cf.process.BrokenProcessPool:
            # a worker died (killed, out of memory): start a fresh pool and go on
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._start_pool(self.plan)
            return self._pool.submit(run_task, task)

    def wait(self, futures: Iterable[Any], timeout: float) -> tuple[list[Any], list[Any]]:
        if self._runner is not None:
            return self._runner.wait(futures, timeout)
        done, pending = cf.wait(list(futures), timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return list(done), list(pending)

    @staticmethod
    def result(future: Any) -> Any:
        return future.result()

    def capacity(self) -> int:
        return self.slots

    def batches(self) -> bool:
        """Whether seeds of one config run batched (the experiment permitting)."""
        return bool(self.plan and self.plan.batch)

    def describe(self) -> str:
        if self.plan is None:
            return "local"
        if self.plan.in_process:
            return f"local, {self.plan.describe()}"
        return f"local process pool (spawn), {self.plan.describe()}"


class DaskExecutor:
    """dask.distributed: a LocalCluster, or the scheduler at ``scheduler``."""

    name = "dask"

    def __init__(
        self, scheduler: str | None = None, workers: int | None = None, processes: bool = True
    ) -> None:
        self.scheduler = scheduler
        self.workers = workers
        self.processes = processes
        self.slots = 1
        self.platform = "cpu"
        self._client: Any = None
        self._cluster: Any = None

    def __enter__(self) -> DaskExecutor:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - dask is a dependency
            raise ConfigError("executor", "dask needs dask[distributed] installed") from None
        if self.scheduler:
            try:
                self._client = Client(self.scheduler, timeout="20s")
            except OSError as err:
                raise ConfigError(
                    "scheduler", f"cannot reach {self.scheduler} ({err}); allowed: tcp://host:port"
                ) from None
        else:
            n = self.workers or default_workers()
            env = worker_env(1) if self.processes and n > 1 else {}
            with worker_environment(env):
                self._cluster = LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=self.processes,
                    dashboard_address=None,
                    silence_logs=40,
                )
            self._client = Client(self._cluster)
        self.slots = self.capacity()
        self.platform = self._worker_platform()
        return self

    def _worker_platform(self) -> str:
        """The platform every connected worker computes on (``cpu`` when they differ or none
        is connected yet): seeds are batched only where all of them are accelerators."""
        try:
            found = set(self._client.run(worker_platform).values())
        except Exception:  # pragma: no cover - a worker that cannot import JAX fails its tasks
            return "cpu"
        return found.pop() if len(found) == 1 else "cpu"

    def batches(self) -> bool:
        """Whether seeds of one config run batched (the experiment permitting)."""
        return batch_pays(self.platform)

    def capacity(self) -> int:
        """Worker threads connected now (a SLURM cluster may grow while the sweep runs)."""
        try:
            return max(1, sum(self._client.nthreads().values()))
        except Exception:  # pragma: no cover - scheduler went away; the wait will say so
            return max(1, self.slots)

    def __exit__(self, *exc: Any) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None

    def submit(self, task: Task) -> Any:
        return self._client.submit(run_task, task, pure=False)

    def wait(self, futures: Iterable[Any], timeout: float) -> tuple[list[Any], list[Any]]:
        from dask.distributed import wait
        from distributed.utils import TimeoutError as DaskTimeout

        futures = list(futures)
        try:
            done, pending = wait(futures, timeout=timeout, return_when="FIRST_COMPLETED")
        except (DaskTimeout, TimeoutError):
            return [], futures
        return list(done), list(pending)

    @staticmethod
    def result(future: Any) -> Any:
        return future.result()

    def describe(self) -> str:
        where = self.scheduler or "LocalCluster"
        seeds = "seeds batched (vmapped)" if self.batches() else "seeds one by one"
        return f"dask ({where}), {self.slots} worker threads, {seeds} on {self.platform}"


def parse_executor(name: str, workers: str | None, scheduler: str | None) -> tuple[str, int | None]:
    """Validate the executor options of a sweep command: (name, workers or None)."""
    from theoryscope.core.validation import as_choice, as_int

    as_choice("executor", name, EXECUTORS)
    if workers is None:
        return name, None
    return name, check_workers(as_int("workers", workers, low=1))


def make_executor(
    name: str, *, workers: int | None = None, scheduler: str | None = None
) -> SerialExecutor | LocalExecutor | DaskExecutor:
    """The executor called ``name`` (one of :data:`EXECUTORS`)."""
    if name not in EXECUTORS:
        raise ConfigError("executor", f"got {name!r}; allowed: {', '.join(EXECUTORS)}")
    if scheduler and name != "dask":
        raise ConfigError("scheduler", "given without --executor dask; allowed: with dask only")
    if scheduler and not scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        raise ConfigError(
            "scheduler", f"got {scheduler!r}; allowed: an address like tcp://host:8786"
        )
    check_workers(workers)
    if name == "serial":
        return SerialExecutor()
    if name == "local":
        return LocalExecutor(workers)
    return DaskExecutor(scheduler=scheduler, workers=workers)

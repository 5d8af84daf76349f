"""Where sweep tasks run: in this process, a local process pool, or a Dask cluster.

Every executor runs :func:`theoryscope.sweep.worker.run_task` on :class:`Task` objects and hands
the results back to the driver, which alone writes the store. The driver keeps at most
``slots`` tasks in flight, so "running" in the progress bar is what is really running.

- ``serial``: in this process, one task at a time (debugging; no extra processes).
- ``local``: a ``ProcessPoolExecutor`` with the *spawn* start method (JAX and fork do not mix),
  one process per core by default. Its workers die with the driver, however it dies (even by
  SIGKILL): each asks the kernel for SIGKILL when its parent dies (Linux ``PR_SET_PDEATHSIG``)
  and a watchdog thread exits when the parent process is gone (every platform).
- ``dask``: ``dask.distributed``. With no scheduler address a ``LocalCluster`` (one single-
  threaded worker process per core) is started and closed with the sweep; with
  ``tcp://host:8786`` the driver connects to a running scheduler (e.g. one started by
  dask-jobqueue on SLURM). Workers need only the installed package.
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
from collections.abc import Iterable, Iterator
from typing import Any

from theoryscope.errors import ConfigError
from theoryscope.sweep.worker import Task, run_task

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
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


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


#: Worker processes share the cores among themselves: one BLAS / XLA thread each, or the
#: oversubscribed thread pools fight (a 500 x 500 LU: 23 ms on one thread, 240 ms on two
#: contended ones).
SINGLE_THREAD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
_XLA_SINGLE = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


@contextlib.contextmanager
def worker_environment(single_thread: bool) -> Iterator[None]:
    """Environment inherited by worker processes spawned inside the block."""
    if not single_thread:
        yield
        return
    saved = {key: os.environ.get(key) for key in [*SINGLE_THREAD_ENV, "XLA_FLAGS"]}
    os.environ.update(SINGLE_THREAD_ENV)
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + _XLA_SINGLE).strip()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class SerialExecutor:
    """Runs each task in this process when it is waited for."""

    slots = 1
    name = "serial"

    def __enter__(self) -> SerialExecutor:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def submit(self, task: Task) -> Any:
        future: cf.Future = cf.Future()
        future.task = task  # type: ignore[attr-defined]
        return future

    def wait(self, futures: Iterable[Any], timeout: float) -> tuple[list[Any], list[Any]]:
        futures = list(futures)
        if not futures:
            return [], []
        first = futures[0]
        try:
            first.set_result(run_task(first.task))
        except Exception as err:  # pragma: no cover - run_task catches per seed
            first.set_exception(err)
        return [first], futures[1:]

    @staticmethod
    def result(future: Any) -> Any:
        return future.result()

    def capacity(self) -> int:
        return 1

    def describe(self) -> str:
        return "serial (this process)"


class LocalExecutor:
    """A spawn-context process pool on this machine."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.slots = workers or default_workers()
        self.single_thread = self.slots > 1
        self._pool: cf.ProcessPoolExecutor | None = None

    def __enter__(self) -> LocalExecutor:
        with worker_environment(self.single_thread):
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.slots,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_die_with_parent,
                initargs=(os.getpid(),),
            )
            # start every worker now, inside the single-thread environment
            for future in [self._pool.submit(os.getpid) for _ in range(self.slots)]:
                future.result()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=exc[0] is None, cancel_futures=True)
            self._pool = None

    def submit(self, task: Task) -> Any:
        assert self._pool is not None
        try:
            return self._pool.submit(run_task, task)
        except cf.process.BrokenProcessPool:
            # a worker died (killed, out of memory): start a fresh pool and go on
            self._pool.shutdown(wait=False, cancel_futures=True)
            self.__enter__()
            return self._pool.submit(run_task, task)

    def wait(self, futures: Iterable[Any], timeout: float) -> tuple[list[Any], list[Any]]:
        done, pending = cf.wait(list(futures), timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return list(done), list(pending)

    @staticmethod
    def result(future: Any) -> Any:
        return future.result()

    def capacity(self) -> int:
        return self.slots

    def describe(self) -> str:
        return f"local process pool, {self.slots} workers (spawn)"


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
            with worker_environment(self.processes and n > 1):
                self._cluster = LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=self.processes,
                    dashboard_address=None,
                    silence_logs=40,
                )
            self._client = Client(self._cluster)
        self.slots = self.capacity()
        return self

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
        return f"dask ({where}), {self.slots} worker threads"


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

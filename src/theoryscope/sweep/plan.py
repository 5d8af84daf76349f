"""How a local sweep uses the machine: in the driver process or a pool of P processes x T threads,
and whether the seeds of a config run as one batched (vmapped) computation.

Pure functions of the cores, the platform and the work, so the rules are tested without timing.
The rules come from measurements (``benchmarks/bench_sweep_throughput.py``, ``docs/sweeps.md``):

- One run already spreads over more than one core: XLA runs the ops of a step on an intra-op
  thread pool (Expander SGD, k = 1000, |B| = 100: 3489 steps/s on 2 cores vs 1985 on one, 1.76x).
  A pool of single-threaded workers can therefore gain at most ``cores / 1.76`` over running the
  tasks one after another, and it pays process start, imports (~3 s) and its own compiles (5-10 s
  on a loaded 2-core machine) in every worker. So: where the machine has no more cores than one
  run keeps busy (:data:`RUN_CORES`), or the sweep is short (:data:`POOL_MIN_SECONDS`), or there
  is one task, the tasks run in the driver process itself (compiled once, nothing spawned).
- Otherwise one worker per core (each with one XLA / BLAS thread: independent runs scale better
  than the threads of one run), fewer where there are fewer tasks than cores, the cores left over
  given to the workers as threads.
- Batched seeds: on a CPU a vmapped batch of seeds was slower per seed-step than the same seeds
  one after another (1985 / 1845 / 1783 seed-steps/s for batches of 1 / 2 / 5), so a CPU runs
  seeds one by one; on an accelerator one seed leaves the device mostly idle and a batch fills
  it, so accelerators batch (and run in one process: a second process would claim the device's
  memory again).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

__all__ = [
    "POOL_MIN_SECONDS",
    "RUN_CORES",
    "Plan",
    "batch_pays",
    "detect_platform",
    "plan_local",
    "usable_cores",
    "worker_env",
]

#: Cores one run keeps busy on a CPU through XLA's intra-op threads (measured 1.76x on 2 cores for
#: Expander SGD at k = 1000). A machine with no more cores than this runs a sweep in the driver.
RUN_CORES = 2

#: Estimated seconds of work (the experiments' declared estimates, summed over the runs) below
#: which a pool's start (spawn, imports, a compile in every worker) costs more than it gains.
POOL_MIN_SECONDS = 20.0


@dataclass(frozen=True)
class Plan:
    """Where a sweep's tasks run.

    ``processes`` worker processes (0: in the driver process itself), each computing with
    ``threads`` XLA / BLAS threads; ``batch``: seeds of one config as one vmapped computation
    (where the experiment declares it); ``platform``: the JAX backend (cpu, gpu, tpu);
    ``reason``: why, in words (shown with the sweep's progress and result).
    """

    processes: int
    threads: int
    batch: bool
    platform: str
    reason: str

    @property
    def in_process(self) -> bool:
        return self.processes == 0

    @property
    def slots(self) -> int:
        """Tasks in flight at once."""
        return max(1, self.processes)

    def describe(self) -> str:
        where = (
            f"in this process ({self.threads} threads)"
            if self.in_process
            else f"{self.processes} worker processes x {self.threads} "
            f"thread{'s' if self.threads != 1 else ''}"
        )
        seeds = "seeds batched (vmapped)" if self.batch else "seeds one by one"
        return f"{where}, {seeds} on {self.platform}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "processes": self.processes,
            "threads": self.threads,
            "batch": self.batch,
            "platform": self.platform,
            "reason": self.reason,
        }


def batch_pays(platform: str) -> bool:
    """Whether vmapping the seeds of a config pays on ``platform``: not on a CPU (measured slower
    per seed-step), yes on an accelerator (one seed does not fill it)."""
    return platform != "cpu"


def plan_local(
    *,
    cores: int,
    platform: str,
    runs: int,
    workers: int | None = None,
    work_seconds: float | None = None,
    max_processes: int | None = None,
) -> Plan:
    """The plan of a local sweep of ``runs`` runs on ``cores`` cores of ``platform``.

    ``workers`` (``--workers``) fixes the number of processes; ``work_seconds`` is the declared
    estimate of all runs together (None: unknown); ``max_processes`` caps the pool (memory).
    """
    cores = max(1, int(cores))
    batch = batch_pays(platform)
    if workers is not None:
        return Plan(workers, max(1, cores // workers), batch, platform, f"--workers {workers}")
    if platform != "cpu":
        return Plan(0, cores, batch, platform, "one process holds the device; a batch fills it")
    if runs <= 1:
        return Plan(0, cores, batch, platform, "one run")
    if cores <= RUN_CORES:
        return Plan(0, cores, batch, platform, f"{cores} cores: one run already keeps them busy")
    if work_seconds is not None and work_seconds < POOL_MIN_SECONDS:
        return Plan(
            0, cores, batch, platform,
            f"about {work_seconds:.0f} s of work: less than starting a pool costs",
        )  # fmt: skip
    processes = min(cores, runs, max_processes or cores)
    if processes <= 1:
        return Plan(0, cores, batch, platform, "memory for one worker only")
    threads = max(1, cores // processes)
    why = f"{cores} cores, {runs} runs"
    if max_processes is not None and processes == max_processes < min(cores, runs):
        why += f", memory for {max_processes} workers"
    return Plan(processes, threads, batch, platform, why)


def usable_cores() -> int:
    """Every core this process may use (its CPU affinity where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def worker_env(threads: int, environ: dict[str, str] | None = None) -> dict[str, str]:
    """Environment variables for a worker process that computes with ``threads`` threads, set
    before it starts (before JAX and BLAS are loaded).

    ``PJRT_NPROC`` sizes XLA's CPU thread pools (read by XLA's ``DefaultThreadPoolSize``;
    ``NPROC`` is its older name); ``OMP / OPENBLAS / MKL_NUM_THREADS`` size the BLAS pools (SciPy's
    LU in the population flow). One thread also turns off Eigen's own threading. Several worker
    processes may share one accelerator, so none of them preallocates its memory. A setting the
    user made (``XLA_PYTHON_CLIENT_PREALLOCATE``) is kept.
    """
    environ = dict(os.environ if environ is None else environ)
    n = str(max(1, int(threads)))
    out = {
        "PJRT_NPROC": n,
        "NPROC": n,
        "OMP_NUM_THREADS": n,
        "OPENBLAS_NUM_THREADS": n,
        "MKL_NUM_THREADS": n,
        "XLA_PYTHON_CLIENT_PREALLOCATE": environ.get("XLA_PYTHON_CLIENT_PREALLOCATE", "false"),
    }
    flags = environ.get("XLA_FLAGS", "")
    if threads <= 1 and "xla_cpu_multi_thread_eigen" not in flags:
        flags = (flags + " --xla_cpu_multi_thread_eigen=false").strip()
    if flags:
        out["XLA_FLAGS"] = flags
    return out


def detect_platform() -> str:
    """The JAX backend this process computes on (``cpu``, ``gpu``, ``tpu``); initializes it."""
    import jax

    return str(jax.default_backend())

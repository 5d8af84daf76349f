"""How a local sweep uses the machine (theoryscope.sweep.plan): processes x threads from the
cores, in the driver where one run already fills the machine, batched seeds only on
accelerators; the workers get their thread counts before JAX loads; a Ctrl-C stops an
in-process sweep. No timing is asserted."""

from __future__ import annotations

import os
import signal
import threading
import time

import psutil
import pytest

from theoryscope.runner import ctrl_c_received, reset_ctrl_c
from theoryscope.store import RunStore
from theoryscope.sweep import executors
from theoryscope.sweep.driver import make_tasks, plan_runs, run_sweep
from theoryscope.sweep.executors import LocalExecutor, SerialExecutor
from theoryscope.sweep.grid import build_spec
from theoryscope.sweep.plan import (
    POOL_MIN_SECONDS,
    RUN_CORES,
    Plan,
    batch_pays,
    plan_local,
    worker_env,
)

LONG = 10 * POOL_MIN_SECONDS  # an estimate that pays for a pool


@pytest.mark.parametrize("cores", range(1, RUN_CORES + 1))
def test_few_cores_run_in_the_driver_with_every_thread(cores):
    plan = plan_local(cores=cores, platform="cpu", runs=20, work_seconds=LONG)
    assert plan.in_process and plan.processes == 0 and plan.slots == 1
    assert plan.threads == cores and not plan.batch
    assert plan.reason == f"{cores} cores: one run already keeps them busy"


@pytest.mark.parametrize(
    ("cores", "runs", "processes", "threads"),
    [(16, 20, 16, 1), (16, 16, 16, 1), (16, 5, 5, 3), (16, 8, 8, 2), (3, 20, 3, 1), (4, 2, 2, 2)],
)
def test_many_cores_one_single_threaded_worker_per_core_leftover_cores_as_threads(
    cores, runs, processes, threads
):
    plan = plan_local(cores=cores, platform="cpu", runs=runs, work_seconds=LONG)
    assert (plan.processes, plan.threads) == (processes, threads)
    assert not plan.in_process and plan.slots == processes and not plan.batch
    assert plan.processes * plan.threads <= cores


def test_one_run_or_a_short_sweep_runs_in_the_driver():
    one = plan_local(cores=16, platform="cpu", runs=1, work_seconds=LONG)
    assert one.in_process and one.threads == 16 and one.reason == "one run"
    short = plan_local(cores=16, platform="cpu", runs=40, work_seconds=POOL_MIN_SECONDS / 2)
    assert short.in_process and "less than starting a pool costs" in short.reason
    unknown = plan_local(cores=16, platform="cpu", runs=40, work_seconds=None)
    assert unknown.processes == 16  # no estimate: the cores decide


def test_memory_caps_the_pool_and_the_cores_go_to_threads():
    plan = plan_local(cores=16, platform="cpu", runs=40, work_seconds=LONG, max_processes=4)
    assert (plan.processes, plan.threads) == (4, 4) and "memory for 4 workers" in plan.reason
    one = plan_local(cores=16, platform="cpu", runs=40, work_seconds=LONG, max_processes=1)
    assert one.in_process and one.threads == 16


def test_accelerators_run_in_one_process_and_batch_seeds():
    for platform in ("gpu", "tpu"):
        plan = plan_local(cores=16, platform=platform, runs=200, work_seconds=LONG)
        assert plan.in_process and plan.batch and plan.platform == platform
        assert "seeds batched (vmapped)" in plan.describe()
    assert batch_pays("gpu") and batch_pays("tpu") and not batch_pays("cpu")


def test_workers_fix_the_processes_and_share_the_cores_as_threads():
    assert plan_local(cores=16, platform="cpu", runs=3, workers=4).threads == 4
    over = plan_local(cores=2, platform="cpu", runs=20, workers=3)
    assert (over.processes, over.threads, over.reason) == (3, 1, "--workers 3")
    one = plan_local(cores=2, platform="cpu", runs=20, workers=1)
    assert (one.processes, one.threads) == (1, 2) and not one.in_process


def test_plan_describes_itself():
    plan = Plan(0, 2, False, "cpu", "2 cores: one run already keeps them busy")
    assert plan.describe() == (
        "in this process (2 threads), seeds one by one on cpu: "
        "2 cores: one run already keeps them busy"
    )
    pool = Plan(8, 2, False, "cpu", "16 cores, 8 runs")
    assert pool.describe().startswith("8 worker processes x 2 threads, seeds one by one")
    assert (
        Plan(4, 1, True, "gpu", "--workers 4")
        .describe()
        .startswith("4 worker processes x 1 thread, seeds batched")
    )
    assert pool.to_dict() == {
        "processes": 8, "threads": 2, "batch": False, "platform": "cpu",
        "reason": "16 cores, 8 runs",
    }  # fmt: skip


def test_worker_env_sizes_xla_and_blas_pools_and_keeps_user_settings():
    one = worker_env(1, {})
    for key in ("PJRT_NPROC", "NPROC", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                "MKL_NUM_THREADS"):  # fmt: skip
        assert one[key] == "1"
    assert one["XLA_FLAGS"] == "--xla_cpu_multi_thread_eigen=false"
    assert one["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    four = worker_env(4, {"XLA_FLAGS": "--xla_dump_to=/tmp/x",
                          "XLA_PYTHON_CLIENT_PREALLOCATE": "true"})  # fmt: skip
    assert four["PJRT_NPROC"] == four["OMP_NUM_THREADS"] == "4"
    assert four["XLA_FLAGS"] == "--xla_dump_to=/tmp/x"  # many threads: Eigen keeps its own
    assert four["XLA_PYTHON_CLIENT_PREALLOCATE"] == "true"
    assert "XLA_FLAGS" not in worker_env(2, {})


SGD = ["gamma=0.1", "alpha=1,0", "k=20", "batch=5", "records=5", "steps=50"]


def test_tasks_batch_seeds_only_where_the_executor_batches():
    spec = build_spec("expander", SGD, "0-5", fixed={"mode": "sgd"}, settings={"t_eff": "steps"})
    configs = [c for c, _ in plan_runs(spec)]
    missing = [list(spec.seeds)]
    unbatched = make_tasks(spec, configs, [None], missing, slots=1, batch=False)
    assert [t.seeds for t in unbatched] == [[s] for s in range(6)]
    assert not any(t.batch_seeds for t in unbatched)
    batched = make_tasks(spec, configs, [None], missing, slots=1, batch=True)
    assert [t.seeds for t in batched] == [list(range(6))] and batched[0].batch_seeds
    # population flow is never batched, whatever the executor says
    flow = build_spec("expander", SGD, "0-1", fixed={"mode": "gd"}, settings={"t_eff": "steps"})
    tasks = make_tasks(flow, [c for c, _ in plan_runs(flow)], [None], [[0, 1]], 1, batch=True)
    assert len(tasks) == 2 and not any(t.batch_seeds for t in tasks)


def test_a_local_sweep_on_few_cores_runs_in_the_driver_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(executors, "usable_cores", lambda: RUN_CORES)
    spec = build_spec("expander", SGD, "0-2", fixed={"mode": "sgd"}, settings={"t_eff": "steps"})
    store = RunStore(tmp_path / "runs.sqlite")
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    seen: list[set[int]] = []
    result = run_sweep(
        spec, store=store, executor=LocalExecutor(), show_progress=False,
        on_outcome=lambda o, r: seen.append({p.pid for p in me.children(recursive=True)}),
    )  # fmt: skip
    assert result.finished == 3
    assert all(children <= before for children in seen)  # nothing was spawned
    assert result.plan is not None and result.plan["processes"] == 0
    assert result.plan["threads"] == RUN_CORES and result.plan["batch"] is False
    assert result.executor.startswith(f"local, in this process ({RUN_CORES} threads)")
    assert result.to_dict()["plan"] == result.plan
    assert sorted(r.seed for r in store.list_runs(limit=None)) == [0, 1, 2]


def test_pool_workers_start_with_their_thread_counts(monkeypatch):
    monkeypatch.setattr(executors, "usable_cores", lambda: 4)
    ex = LocalExecutor(2)
    with ex:
        workers = [p for p in psutil.Process().children(recursive=True)
                   if "spawn_main" in " ".join(p.cmdline())]  # fmt: skip
        envs = [p.environ() for p in workers]
        assert ex.plan is not None and (ex.plan.processes, ex.plan.threads) == (2, 2)
        assert ex.plan.platform == "cpu" and not ex.batches()
        assert ex.describe().startswith("local process pool (spawn), 2 worker processes x 2")
    assert len(envs) == 2
    for env in envs:
        assert env["PJRT_NPROC"] == env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == "2"
    assert "PJRT_NPROC" not in os.environ or os.environ["PJRT_NPROC"] != "2"  # restored


def test_ctrl_c_stops_an_in_process_sweep_and_keeps_the_running_run(tmp_path):
    spec = build_spec("expander", ["gamma=0.1", "alpha=1,0", "k=20", "batch=5", "records=60",
                                   "steps=50000000"], "0-2", fixed={"mode": "sgd"},
                      settings={"t_eff": "steps"})  # fmt: skip
    store = RunStore(tmp_path / "runs.sqlite")

    def interrupt() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if any(t.name == "theoryscope-sweep-task" for t in threading.enumerate()):
                time.sleep(2.0)  # past the compile, inside the step loop
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.05)

    reset_ctrl_c()
    handler = signal.getsignal(signal.SIGINT)
    threading.Thread(target=interrupt, daemon=True).start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_sweep(spec, store=store, executor=SerialExecutor(), show_progress=False)
        assert ctrl_c_received()
    finally:
        reset_ctrl_c()
    assert signal.getsignal(signal.SIGINT) is handler  # restored
    runs = store.list_runs(limit=None)
    assert [r.status for r in runs] == ["interrupted"]  # the other two never started
    assert 0 < runs[0].summary["steps"] < 50_000_000

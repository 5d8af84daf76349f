"""Sweep throughput: total SGD steps/s of a 20-run sweep against one run's steps/s (issue 4).

Sweep: 2 configs x 10 seeds, SGD at the default size (d = 3, k = 1000, |B| = 100), each run
``--steps`` steps, on the local executor (one spawned process per core, the seeds of a config
vmapped). Baseline, measured in the same run: ``engine.simulate`` of one run (steps/s of its
loop, compile excluded, after a warm-up). The sweep's steps/s is counted over its whole wall
time (process start, imports and compiles included) and, separately, over its workers' loops.
Target on 2 cores: >= 1.6x.

    python benchmarks/bench_sweep_throughput.py [--steps 3000] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10000)
    parser.add_argument("--records", type=int, default=50)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()

    from theoryscope.experiments.expander import engine
    from theoryscope.experiments.expander.config import Config
    from theoryscope.store import RunStore
    from theoryscope.sweep.driver import run_sweep
    from theoryscope.sweep.executors import LocalExecutor, default_workers
    from theoryscope.sweep.grid import build_spec

    steps = args.steps
    workers = args.workers or default_workers()
    cfg = Config.create(
        d=3, k=1000, batch=100, gamma=0.1, alpha=[(1, 1, 0)], steps=steps, records=args.records
    )
    engine.simulate(cfg.replace(steps=200), seed=99)  # warm-up (compile)
    single = engine.simulate(cfg, seed=0)
    single_sps = single.summary["steps_per_second"]
    single_wall_sps = single.summary["steps_per_second_wall"]
    print(
        f"single run: {single_sps:.0f} steps/s in its step loop, {single_wall_sps:.0f} steps/s "
        f"with its {len(single.series['step'])} exact population records ({workers} cores visible)"
    )

    spec = build_spec(
        "expander",
        [
            "gamma=0.05,0.1",
            "alpha=1,1,0",
            "k=1000",
            "batch=100",
            f"steps={steps}",
            f"records={args.records}",
        ],
        "0-9",
        mode="sgd",
        t_eff=None,
    )
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(os.path.join(tmp, "bench.sqlite"))
        t0 = time.perf_counter()
        result = run_sweep(spec, store=store, executor=LocalExecutor(workers), show_progress=False)
        wall = time.perf_counter() - t0
        runs = store.list_runs(sweep_id=result.sweep_id, limit=None)
        loops = {}
        for r in runs:  # one entry per vmapped batch: (compile, loop) seconds
            key = (r.config_hash, r.timings.get("loop_seconds"))
            loops[key] = r.timings.get("loop_seconds", 0.0)  # steps + records
    n = len(runs)
    assert result.finished == 20 and n == 20, (result, n)
    total = 20 * steps
    sweep_sps = total / wall
    print(
        f"sweep: {n} runs x {steps} steps in {wall:.1f} s wall = {sweep_sps:.0f} steps/s "
        f"({result.executor})"
    )
    busy = sum(loops.values())
    if busy > 0:
        print(
            f"  inside the workers' loops: {total / busy * workers:.0f} steps/s "
            f"({len(loops)} vmapped batches, {busy:.1f} s of loop time over {workers} workers)"
        )
    ratio = sweep_sps / single_sps
    print(
        f"sweep (whole wall: spawn, imports, compiles included) / single run (step loop only): "
        f"{ratio:.2f}x;  / single run with its records: {sweep_sps / single_wall_sps:.2f}x"
    )
    print(f"target >= 1.6x on 2 cores: {'PASS' if ratio >= 1.6 else 'BELOW TARGET'}")


if __name__ == "__main__":
    main()

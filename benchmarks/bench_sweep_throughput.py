"""Sweep throughput: a local sweep against the same runs one after another in one process (issue 12).

Work: 2 configs (gamma 0.05, 0.1) x ``--seeds`` seeds of Expander SGD at the default size
(d = 3, k = 1000, |B| = 100, alpha = 1,1,0), each run ``--steps`` steps with ``--records``
exact population records.

- sweep: ``run_sweep`` on the local executor (``make_executor("local")``: it plans processes x
  threads and batching itself; ``--workers N`` forces a pool of N), timed over its whole wall:
  planning, any worker start, imports and compiles in the workers, storing.
- loop (the baseline): the same planned (config, seed) runs one after another in one process,
  each by ``runner.execute`` (predict, simulate, compare, store), compile paid once, as a loop
  would.

Each side runs in a fresh process with its own empty JAX compilation cache (neither inherits
compiled programs; the sweep's workers may share theirs), timed from after its imports. On a
machine shared with other jobs the load drifts, so the sides alternate: loop, sweep, sweep, loop
for ``--rounds 2`` (the default), and each side's steps/s is its total SGD steps over its total
wall time. Target: the sweep >= 1.0x the loop.

    python benchmarks/bench_sweep_throughput.py [--steps 3000] [--seeds 10] [--rounds 2]
                                                [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("JAX_PLATFORMS", "cpu")

TARGET = 1.0


def _spec(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from theoryscope.sweep.grid import build_spec

    grid = ["gamma=0.05,0.1", "alpha=1,1,0", "k=1000", "batch=100", f"steps={args.steps}",
            f"records={args.records}"]  # fmt: skip
    return build_spec(
        "expander", grid, f"0-{args.seeds - 1}", fixed={"mode": "sgd"}, settings={"t_eff": "steps"}
    )


def child_loop(args: argparse.Namespace) -> dict:
    """The baseline: every planned (config, seed) by runner.execute, one after another."""
    import jax  # noqa: F401  (imports are not timed, on either side)

    from theoryscope.experiments.expander import engine  # noqa: F401
    from theoryscope.runner import execute
    from theoryscope.store import RunStore

    planned = json.loads(Path(args.planned).read_text())
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(os.path.join(tmp, "loop.sqlite"))
        t0 = time.perf_counter()
        statuses = []
        for config, seeds in planned:
            for seed in seeds:
                statuses.append(execute("expander", config, seed, store=store).run.status)
        wall = time.perf_counter() - t0
        inside = _inside(store)
    return {"wall": wall, "runs": len(statuses), "finished": statuses.count("finished"), **inside}


def child_sweep(args: argparse.Namespace) -> dict:
    """The sweep on the local executor, timed over its whole wall."""
    import jax  # noqa: F401

    from theoryscope.experiments.expander import engine  # noqa: F401
    from theoryscope.store import RunStore
    from theoryscope.sweep.driver import run_sweep
    from theoryscope.sweep.executors import make_executor

    spec = _spec(args)
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(os.path.join(tmp, "sweep.sqlite"))
        t0 = time.perf_counter()
        result = run_sweep(
            spec, store=store, executor=make_executor("local", workers=args.workers),
            show_progress=False,
        )  # fmt: skip
        wall = time.perf_counter() - t0
        inside = _inside(store)
    return {"wall": wall, "runs": result.total, "finished": result.finished,
            "executor": result.executor, "plan": result.plan, **inside}  # fmt: skip


def _inside(store) -> dict:  # type: ignore[no-untyped-def]
    """Seconds the stored runs spent compiling and in their loops (steps + records), summed."""
    runs = store.list_runs(limit=None)
    return {
        key: sum(float(r.timings.get(f"{key}_seconds") or 0.0) for r in runs)
        for key in ("compile", "loop", "theory")
    }


def run_child(kind: str, args: argparse.Namespace, planned: Path) -> dict:
    """One side in a fresh process with an empty compilation cache of its own."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": cache,
               "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0.5"}  # fmt: skip
        command = [sys.executable, __file__, "--child", kind, "--planned", str(planned),
                   "--steps", str(args.steps), "--seeds", str(args.seeds),
                   "--records", str(args.records)]  # fmt: skip
        if args.workers:
            command += ["--workers", str(args.workers)]
        load = os.getloadavg()[0]
        proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"{kind} failed (exit {proc.returncode})")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["load"] = (load, os.getloadavg()[0])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--records", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2, help="loop+sweep pairs (alternating)")
    parser.add_argument("--workers", type=int, default=None, help="force a pool of N processes")
    parser.add_argument("--child", choices=["loop", "sweep"], default=None)
    parser.add_argument("--planned", default=None)
    args = parser.parse_args()
    if args.child is not None:
        found = child_loop(args) if args.child == "loop" else child_sweep(args)
        print(json.dumps(found))
        return

    from _bench import result
    from theoryscope.sweep.driver import plan_runs

    planned = plan_runs(_spec(args))
    runs = sum(len(seeds) for _, seeds in planned)
    steps = runs * args.steps
    print(
        f"{runs} runs (2 configs x {args.seeds} seeds) of Expander SGD, d=3 k=1000 |B|=100, "
        f"{args.steps} steps, {args.records} records each; {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    walls: dict[str, list[float]] = {"loop": [], "sweep": []}
    plan = executor = None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "planned.json"
        path.write_text(json.dumps(planned))
        for r in range(args.rounds):
            for kind in ("loop", "sweep") if r % 2 == 0 else ("sweep", "loop"):
                found = run_child(kind, args, path)
                assert found["runs"] == found["finished"] == runs, found
                walls[kind].append(found["wall"])
                if kind == "sweep":
                    plan, executor = found["plan"], found["executor"]
                print(
                    f"  round {r + 1} {kind:5s}: {found['wall']:6.1f} s wall = "
                    f"{steps / found['wall']:5.0f} steps/s; in the runs: compile "
                    f"{found['compile']:.1f} s, steps+records {found['loop']:.1f} s, theory "
                    f"{found['theory']:.1f} s  (load average "
                    f"{found['load'][0]:.1f} -> {found['load'][1]:.1f})",
                    flush=True,
                )
    loop_sps = steps * len(walls["loop"]) / sum(walls["loop"])
    sweep_sps = steps * len(walls["sweep"]) / sum(walls["sweep"])
    ratio = sweep_sps / loop_sps
    met = ratio >= TARGET
    print(f"plan: {executor}")
    print(f"sweep: {sweep_sps:.0f} steps/s over its whole wall ({len(walls['sweep'])} sweeps)")
    print(f"loop:  {loop_sps:.0f} steps/s (same runs one after another in one process)")
    print(f"sweep / loop: {ratio:.2f}x; target >= {TARGET:.1f}x: {'met' if met else 'NOT met'}")
    shape = "no plan"
    if plan:
        shape = (f"{plan['processes']} processes x {plan['threads']} threads"
                 if plan["processes"] else f"in this process, {plan['threads']} threads")  # fmt: skip
        shape += ", seeds batched" if plan["batch"] else ", seeds one by one"
    result(
        f"local sweep vs loop ({runs} SGD runs x {args.steps} steps, k=1000)",
        f"{sweep_sps:.0f} steps/s ({shape})",
        f"same runs in a loop {loop_sps:.0f} steps/s",
        ratio,
        f">= {TARGET:.1f}x the loop",
        met,
        plan=plan,
        load=round(os.getloadavg()[0], 1),
    )


if __name__ == "__main__":
    main()

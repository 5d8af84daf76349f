"""Speed of the ReLU boundary search: all seeds in one vmapped call a round, against a loop.

    python benchmarks/bench_lrphases_relu.py [--width 512] [--seeds 4] [--n 16] [--d 32]
                                             [--steps 300] [--points 3] [--repeat 2]

Candidate: :func:`boundaries.search_width` with every seed at once (each K-section round is one
compiled call of ``relu.outcomes``, vmapped over seeds and step sizes). Baseline: the same search
called once per seed in a Python loop (the same compiled function with a batch of one seed).
A second baseline, plain bisection (``points`` = 1) per seed in a loop, shows what the K-section
rounds buy. Compilation is excluded (one warm-up call of each); best of ``--repeat``. The
vmapped and looped K-section must agree (checked: within the search tolerance); bisection probes
other points and may land on another crossing where the phase is not monotone (counted). Prints plain text and, last, one
JSON line. Target: the vmapped search at least as fast as the loop (ratio >= 1).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402

from theoryscope.experiments.lrphases.boundaries import search_width  # noqa: E402
from theoryscope.experiments.lrphases.config import Config  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--d", type=int, default=32)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--points", type=int, default=3)
    parser.add_argument("--tol", type=float, default=0.01)
    parser.add_argument("--max-scale", type=float, default=64.0)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    cfg = Config(mode="relu", width=args.width, steps=args.steps, n=args.n, d=args.d)
    seeds = list(range(args.seeds))
    common = {"max_scale": args.max_scale, "tol": args.tol}

    def vmapped() -> dict[str, Any]:
        return search_width(cfg, seeds, points=args.points, **common)

    def loop(points: int) -> Callable[[], list[dict[str, Any]]]:
        return lambda: [search_width(cfg, [s], points=points, **common) for s in seeds]

    looped, bisect = loop(args.points), loop(1)
    got, ref, ref1 = vmapped(), looped(), bisect()  # warm-up: compile every shape
    agree = 0
    for key in ("lower", "upper"):
        mine = np.array(got[key], dtype=np.float64)
        theirs = np.array([r[key][0] for r in ref], dtype=np.float64)
        halving = np.array([r[key][0] for r in ref1], dtype=np.float64)
        np.testing.assert_allclose(mine, theirs, rtol=2 * args.tol)  # the same search
        # bisection probes other points: where the phase is not monotone in eta lambda_0 it
        # can land on another crossing
        agree += int(np.sum(np.abs(mine - halving) <= 2 * args.tol * np.abs(halving)))

    def best(fn: Callable[[], Any]) -> float:
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    t_vmap, t_loop, t_bisect = best(vmapped), best(looped), best(bisect)
    probes = len(got["probes"])
    print(
        f"ReLU boundary search: width {args.width}, n {args.n}, d {args.d}, {args.seeds} seeds, "
        f"{args.steps} steps, "
        f"K = {args.points}, tol {args.tol} ({platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cpus); {probes} probe runs"
    )
    print(f"  loop over seeds, K-section (baseline): {t_loop:8.2f} s")
    print(f"  loop over seeds, bisection:            {t_bisect:8.2f} s")
    print(f"  vmap over seeds, K-section:            {t_vmap:8.2f} s   "
          f"speed-up x{t_loop / t_vmap:.2f} vs the loop, x{t_bisect / t_vmap:.2f} vs bisection")  # fmt: skip
    print(f"  boundaries (vmapped): lower {np.round(got['lower'], 3).tolist()}, upper "
          f"{np.round(got['upper'], 3).tolist()}; bisection agrees on {agree} of "
          f"{2 * args.seeds} (the others: another crossing of a non-monotone phase)")  # fmt: skip
    target_met = t_loop / t_vmap >= 1.0
    print(f"  target: vmapped >= loop speed: {'met' if target_met else 'not met'}")
    from _bench import result

    result(f"lrphases ReLU boundary search, width {args.width}, {args.seeds} seeds",
           f"vmap {t_vmap:.2f} s", f"loop over seeds {t_loop:.2f} s", t_loop / t_vmap,
           ">= 1x the loop", met=target_met)  # fmt: skip
    print(
        json.dumps(
            {
                "benchmark": "lrphases_relu_boundaries",
                "width": args.width,
                "n": args.n,
                "d": args.d,
                "seeds": args.seeds,
                "steps": args.steps,
                "points": args.points,
                "loop_seconds": t_loop,
                "bisection_loop_seconds": t_bisect,
                "vmap_seconds": t_vmap,
                "speedup_vs_loop": t_loop / t_vmap,
                "speedup_vs_bisection": t_bisect / t_vmap,
                "target_met": target_met,
                "bisection_agrees": agree,
            }
        )
    )


if __name__ == "__main__":
    main()

"""The exact 1-D region count against a dense-grid count of the same nets: time and regions missed.

    python benchmarks/bench_linregions.py [--full] [--nets 10] [--grids 1000,10000,100000]
                                          [--repeat 3]

Exact: :func:`count_segment` follows the piecewise-linear path layer by layer (float64).
Baseline: :func:`grid_count` evaluates the activation pattern of every neuron at M equispaced
points of the segment and counts the changes between neighbours (what one writes first); it
misses every region narrower than the spacing and counts several changes between two neighbours
once. Both count activation regions of the same nets, in this process, best of ``--repeat``,
with one BLAS thread (``OPENBLAS_NUM_THREADS=1`` unless set: on a shared 2-core machine OpenBLAS
threads contend and slow both sides by up to 20x). Per architecture it prints the mean time per
net of each, the regions the grid misses (summed over the nets, against the exact count) and the
extra ones it reports (a degenerate net such as Telgarsky's, whose neurons touch zero without
changing sign, gets rounding flips at grid points), and the ratio grid time / exact time.
Target: the exact count is faster than every grid that finds every region on these nets, and
than the finest grid here. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from _bench import result  # noqa: E402
from theoryscope.experiments.linregions.count1d import count_segment, grid_count  # noqa: E402
from theoryscope.experiments.linregions.network import (  # noqa: E402
    net_rng,
    random_net,
    telgarsky_net,
)

CASES = (
    ("3 x 32, n0=1", 1, [32, 32, 32]),
    ("4 x 64, n0=1", 1, [64, 64, 64, 64]),
    ("8 x 16, n0=4", 4, [16] * 8),
    ("2 x 256, n0=1", 1, [256, 256]),
)


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def bench(name: str, nets: list, x0: np.ndarray, x1: np.ndarray, grids: list[int], repeat: int):
    exact_t, exact = _best(lambda: [count_segment(n, x0, x1).activation_regions for n in nets],
                           repeat)  # fmt: skip
    exact = np.asarray(exact)
    row = {"case": name, "nets": len(nets), "exact_seconds_per_net": exact_t / len(nets),
           "exact_regions_mean": float(exact.mean()), "grids": []}  # fmt: skip
    print(f"{name:<18} exact: {row['exact_seconds_per_net'] * 1e3:8.2f} ms/net, "
          f"{exact.mean():8.1f} regions/net")  # fmt: skip
    for m in grids:
        grid_t, grid = _best(lambda m=m: [grid_count(n, x0, x1, m) for n in nets], repeat)
        grid = np.asarray(grid)
        missed = int(np.sum(np.maximum(exact - grid, 0)))
        extra = int(np.sum(np.maximum(grid - exact, 0)))
        entry = {"points": m, "seconds_per_net": grid_t / len(nets), "missed": missed,
                 "extra": extra, "missed_fraction": missed / float(exact.sum()),
                 "ratio": grid_t / exact_t}  # fmt: skip
        row["grids"].append(entry)
        print(f"{'':<18} grid M={m:<8} {entry['seconds_per_net'] * 1e3:8.2f} ms/net, misses "
              f"{missed:6d} regions ({100 * entry['missed_fraction']:5.2f}%), extra {extra:4d}, "
              f"grid / exact time {entry['ratio']:7.2f}")  # fmt: skip
    complete = [g for g in row["grids"] if g["missed"] == 0 and g["extra"] == 0]
    finest = row["grids"][-1]
    row["target"] = "exact faster than every complete grid and than the finest grid"
    row["met"] = bool(finest["ratio"] > 1 and all(g["ratio"] > 1 for g in complete))
    print(f"{'':<18} target: {row['target']}: {'met' if row['met'] else 'NOT met'}")
    # the binding baseline: the fastest grid the target names (the finest, or a complete one)
    g = min([finest, *complete], key=lambda e: e["ratio"])
    how = "finds all" if g["missed"] == 0 and g["extra"] == 0 else (
        f"misses {g['missed']}, extra {g['extra']}")  # fmt: skip
    result(f"linregions 1-D count, {name}",
           f"exact {row['exact_seconds_per_net'] * 1e3:.2f} ms/net",
           f"grid M={g['points']} {g['seconds_per_net'] * 1e3:.2f} ms/net ({how})", g["ratio"],
           "> 1x vs every complete grid and the finest", row["met"])  # fmt: skip
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nets", type=int, default=10)
    parser.add_argument("--full", action="store_true", help="20 nets per architecture")
    parser.add_argument("--grids", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.full:
        args.nets = 20
    grids = [int(g) for g in args.grids.split(",")]
    rows = []
    for name, n0, widths in CASES:
        nets = [random_net(net_rng(0, i), n0, widths, c_b=0.1) for i in range(args.nets)]
        x0, x1 = np.zeros(n0), np.zeros(n0)
        x0[0], x1[0] = -1.0, 1.0
        if n0 > 1:
            x0[1] = x1[1] = 0.5
        rows.append(bench(name, nets, x0, x1, grids, args.repeat))
    tel = telgarsky_net(12)
    rows.append(bench("Telgarsky L=12", [tel], np.array([0.0]), np.array([1.0]), grids,
                      args.repeat))  # fmt: skip
    print(json.dumps({"machine": platform.machine(), "cpus": os.cpu_count(), "rows": rows}))


if __name__ == "__main__":
    main()

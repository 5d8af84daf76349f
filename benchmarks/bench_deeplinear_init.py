"""Nets per second of the deeplinear_init samplers of ||theta||^2 = ||W^(L+1) ... W^(1)||^2.

    python benchmarks/bench_deeplinear_init.py [--full] [--nets 4000] [--naive-nets 300]
                                               [--repeat 3]

Three ways to draw the same law, timed in this process (best of ``--repeat``; the JAX sampler is
called once before timing so compilation is excluded):

    naive     a NumPy loop over nets multiplying the full matrices W^(L+1) (W^(L) (... W^(1)))
              (float64; the first thing one writes)                      -- the baseline
    batched   the run's sampler: JAX, nets vmapped, one vector-matrix product per layer
              (float32, depth traced in a fori_loop)
    exact     the product law prod chi^2_{n_l}/n_l drawn directly (NumPy Gamma draws)

At three sizes (n_0 = n): L=64, n=4 (Python loop overhead dominates the baseline), L=16, n=32
(Gaussian draws dominate both), L=8, n=128 (the baseline's n^3 matrix products dominate). At
L=8, n=128, where one net costs ~30x more than at the other sizes, both matrix samplers draw a
quarter of ``--nets`` / ``--naive-nets`` (still 1000 and 75 nets, seconds per timed call) unless
``--full`` is given; the rates are per net either way.
Printed: nets/s of each, the ratios batched/naive and exact/batched against their targets, and
the KS p-value of every sampler's draws against the exact CDF (all three draw the same law).
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402

from _bench import result  # noqa: E402
from theoryscope.experiments.deeplinear_init.productlaw import (  # noqa: E402
    NormLaw,
    ks_pvalue,
    ks_statistic,
)
from theoryscope.experiments.deeplinear_init.sampling import (  # noqa: E402
    batch_key,
    batch_rng,
    log_norm2_exact,
    log_norm2_matrices,
    log_norm2_naive,
)


def best_rate(fn, nets: int, repeat: int) -> tuple[float, np.ndarray]:
    best, out = np.inf, None
    for i in range(repeat):
        t = time.perf_counter()
        out = fn(i)
        best = min(best, time.perf_counter() - t)
    assert out is not None
    return nets / best, out


def measure(depth: int, width: int, nets: int, naive_nets: int, repeat: int) -> dict:
    widths = (width,) * (depth + 1)  # n_0 = n
    law = NormLaw(widths)
    log_norm2_matrices(batch_key(0, 0), widths, nets)  # compile
    naive_rate, naive = best_rate(
        lambda i: log_norm2_naive(np.random.default_rng(i), widths, naive_nets), naive_nets, repeat
    )
    batched_rate, batched = best_rate(
        lambda i: log_norm2_matrices(batch_key(1, i), widths, nets), nets, repeat
    )
    exact_nets = 20 * nets
    exact_rate, exact = best_rate(
        lambda i: log_norm2_exact(batch_rng(2, i), widths, exact_nets), exact_nets, repeat
    )
    pvalues = {
        name: ks_pvalue(ks_statistic(v, law.cdf_log(v)), v.size)
        for name, v in (("naive", naive), ("batched", batched), ("exact", exact))
    }
    return {
        "depth": depth, "width": width, "nets": nets, "naive_nets": naive_nets,
        "naive_nets_per_second": naive_rate,
        "batched_nets_per_second": batched_rate, "exact_nets_per_second": exact_rate,
        "ratio_batched_over_naive": batched_rate / naive_rate,
        "ratio_exact_over_batched": exact_rate / batched_rate, "ks_pvalues": pvalues,
    }  # fmt: skip


#: (L, n, divisor of the nets drawn): loop overhead dominates the naive baseline, Gaussian draws
#: dominate, matmuls dominate (there a quarter of the nets, unless --full).
SIZES = ((64, 4, 1), (16, 32, 1), (8, 128, 4))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nets", type=int, default=4000, help="nets per timed batched call")
    parser.add_argument("--naive-nets", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--full", action="store_true", help="all nets at every size")
    args = parser.parse_args()
    rows = []
    for depth, width, divisor in SIZES:
        div = 1 if args.full else divisor
        row = measure(depth, width, args.nets // div, args.naive_nets // div, args.repeat)
        rows.append(row)
        p = row["ks_pvalues"]
        print(f"L={depth:<3} n={width:<4} naive {row['naive_nets_per_second']:10.0f} nets/s | "
              f"batched {row['batched_nets_per_second']:10.0f} nets/s (x"
              f"{row['ratio_batched_over_naive']:.1f} naive) | exact "
              f"{row['exact_nets_per_second']:10.0f} nets/s (x"
              f"{row['ratio_exact_over_batched']:.0f} batched) | KS p {p['naive']:.2f} "
              f"{p['batched']:.2f} {p['exact']:.2f}")  # fmt: skip
    small = rows[0]["ratio_batched_over_naive"]
    worst = min(r["ratio_batched_over_naive"] for r in rows)
    exact = min(r["ratio_exact_over_batched"] for r in rows)
    print(f"targets: batched/naive >= 10 where loop overhead dominates (L=64, n=4): {small:.1f} "
          f"{'met' if small >= 10 else 'not met'}; batched never slower than naive: {worst:.2f} "
          f"{'met' if worst >= 1 else 'not met'}; exact/batched >= 10: {exact:.0f} "
          f"{'met' if exact >= 10 else 'not met'}")  # fmt: skip
    print(json.dumps({"machine": platform.machine(), "cpus": os.cpu_count(), "rows": rows}))
    first = rows[0]
    result(f"deeplinear_init batched sampler, L={first['depth']} n={first['width']}",
           f"{first['batched_nets_per_second']:.0f} nets/s",
           f"naive NumPy loop {first['naive_nets_per_second']:.0f} nets/s", small,
           ">= 10x (loop overhead dominates)", small >= 10)  # fmt: skip
    slow = min(rows, key=lambda r: r["ratio_batched_over_naive"])
    result(f"deeplinear_init batched sampler, slowest size L={slow['depth']} n={slow['width']}",
           f"{slow['batched_nets_per_second']:.0f} nets/s",
           f"naive NumPy loop {slow['naive_nets_per_second']:.0f} nets/s", worst,
           ">= 1x (never slower)", worst >= 1)  # fmt: skip
    low = min(rows, key=lambda r: r["ratio_exact_over_batched"])
    result(f"deeplinear_init exact product law, slowest size L={low['depth']} n={low['width']}",
           f"{low['exact_nets_per_second']:.0f} nets/s",
           f"batched JAX sampler {low['batched_nets_per_second']:.0f} nets/s", exact,
           ">= 10x", exact >= 10)  # fmt: skip


if __name__ == "__main__":
    main()

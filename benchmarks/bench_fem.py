"""Speed of the fem experiment's two exact shortcuts against the baselines one writes first.

    python benchmarks/bench_fem.py [--ns 500,1000,2000] [--solve-n 4096] [--repeat 3]

1. Gram assembly. The ReLU Gram matrix in closed form (the spectral experiment's
   ``gram_matrix``: the product of two ramps integrated exactly, O(n^2)) against assembling it by
   quadrature (3 Gauss points per element, exact for the piecewise quadratic products: a dense
   (3(n-1)) x n feature matrix and its weighted product, O(n^3)). Also prints their largest
   relative difference. Target: 10x at n = 1000.
2. FE solve. The L2 projection's mass-matrix system ``M v = F`` by the banded Cholesky solver
   (``scipy.linalg.solveh_banded``, O(n)) against a dense ``numpy.linalg.solve`` of the same
   matrix (O(n^3)). Target: 100x at n = 4096.

Both sides run in this process, best of ``--repeat``, with one BLAS thread
(``OPENBLAS_NUM_THREADS=1`` unless set: on a shared 2-core machine OpenBLAS threads contend).
Last line: one JSON object.
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
import scipy.linalg as sla  # noqa: E402

from theoryscope.experiments.fem import bases  # noqa: E402
from theoryscope.experiments.fem.mesh import make_nodes  # noqa: E402
from theoryscope.experiments.fem.quadrature import mesh_rule  # noqa: E402
from theoryscope.experiments.fem.targets import get_target  # noqa: E402


def best_of(fn, repeat: int) -> tuple[float, object]:
    out = fn()
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def quadrature_gram(nodes: np.ndarray) -> np.ndarray:
    rule = mesh_rule(nodes, order=3, panel=10.0)  # one panel per element, 3 Gauss points
    a = bases.relu_features(rule.x, nodes)
    return (a * rule.w[:, None]).T @ a


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ns", default="500,1000,2000")
    parser.add_argument("--solve-n", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for n in [int(v) for v in args.ns.split(",")]:
        nodes = make_nodes("random", n, seed=0)
        t_closed, g = best_of(lambda nodes=nodes: bases.gram("relu", nodes), args.repeat)
        t_quad, gq = best_of(lambda nodes=nodes: quadrature_gram(nodes), args.repeat)
        diff = float(np.max(np.abs(np.asarray(g) - np.asarray(gq))) / np.max(np.abs(g)))
        row = {"what": "relu gram", "n": n, "closed_form_seconds": t_closed,
               "quadrature_seconds": t_quad, "ratio": t_quad / t_closed,
               "max_relative_difference": diff}  # fmt: skip
        rows.append(row)
        print(
            f"ReLU Gram n={n:<5} closed form {t_closed * 1e3:8.2f} ms   quadrature "
            f"{t_quad * 1e3:9.2f} ms   ratio {row['ratio']:7.1f}   max rel diff {diff:.1e}"
        )
    n = args.solve_n
    nodes = make_nodes("adaptive", n)
    load = bases.loads(get_target("arctan"), nodes).fe
    ab = bases.mass_banded(nodes)
    dense = bases.mass_matrix(nodes)
    t_band, v_band = best_of(lambda: sla.solveh_banded(ab, load), args.repeat)
    t_dense, v_dense = best_of(lambda: np.linalg.solve(dense, load), args.repeat)
    diff = float(np.max(np.abs(np.asarray(v_band) - np.asarray(v_dense))))
    solve = {"what": "fe solve", "n": n, "banded_seconds": t_band, "dense_seconds": t_dense,
             "ratio": t_dense / t_band, "max_difference": diff}  # fmt: skip
    rows.append(solve)
    print(
        f"FE solve  n={n:<5} banded {t_band * 1e3:8.3f} ms   dense {t_dense * 1e3:9.2f} ms   "
        f"ratio {solve['ratio']:7.1f}   max diff {diff:.1e}"
    )
    gram_1000 = [r for r in rows if r["what"] == "relu gram" and r["n"] == 1000]
    if gram_1000:
        ratio = gram_1000[0]["ratio"]
        print(f"target: closed-form Gram >= 10x quadrature at n = 1000: {ratio:.1f}x, "
              f"{'met' if ratio >= 10 else 'not met'}")  # fmt: skip
    print(f"target: banded solve >= 100x dense at n = {n}: {solve['ratio']:.1f}x, "
          f"{'met' if solve['ratio'] >= 100 else 'not met'}")  # fmt: skip
    from _bench import result

    for r in gram_1000:
        result("fem: closed-form ReLU Gram, n = 1000", f"{r['closed_form_seconds'] * 1e3:.1f} ms",
               f"quadrature {r['quadrature_seconds'] * 1e3:.0f} ms", r["ratio"],
               ">= 10x quadrature", met=r["ratio"] >= 10)  # fmt: skip
    result(f"fem: banded FE solve, n = {n}", f"{t_band * 1e3:.2f} ms",
           f"dense solve {t_dense * 1e3:.1f} ms", solve["ratio"], ">= 100x dense",
           met=solve["ratio"] >= 100)  # fmt: skip
    print(json.dumps({"machine": platform.machine(), "cpus": os.cpu_count(),
                      "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
                      "rows": rows}))  # fmt: skip


if __name__ == "__main__":
    main()

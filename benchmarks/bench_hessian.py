"""Top-k Hessian eigenvalues by Lanczos (matrix-free HVPs) against the dense route (jax.hessian,
then eigvalsh), at several parameter counts P.

    python benchmarks/bench_hessian.py [--widths 16,48,120] [--k 4] [--iters 60] [--repeat 2]

Problem: a one-hidden-layer tanh MLP (width m, P = 21 m + 4) on a 4-class Gaussian mixture in
d = 16 with 50 points per class, cross-entropy, after 20 GD steps, float64. Lanczos: ``--iters``
steps with full reorthogonalization (the experiment's ``lanczos_op``), top ``--k`` Ritz values.
Dense: the P x P Hessian by ``jax.hessian`` (jacfwd over jacrev) and ``numpy.linalg.eigvalsh``.
Both in this process, compilation excluded (each called once before timing), best of
``--repeat``. Prints each P with both times, their ratio (dense / Lanczos: > 1 means Lanczos is
faster) and the largest relative error of the Lanczos top-k; target: ratio > 1 from P ~ 1000
and relative error < 1e-6. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from _bench import result  # noqa: E402
from theoryscope.experiments.hessian import model  # noqa: E402
from theoryscope.experiments.hessian.analysis import Point, ritz  # noqa: E402
from theoryscope.experiments.hessian.data import gaussian_mixture  # noqa: E402
from theoryscope.experiments.hessian.linalg import random_unit  # noqa: E402


def problem(width: int) -> Point:
    x, y = gaussian_mixture(4, 50, 16, 3.0, 1.0, 0)
    dims = (16, width, 4)
    theta = jnp.asarray(model.init_params(0, dims))
    loss = model.make_loss(jnp.asarray(x), jnp.asarray(np.eye(4)[y]), dims, "tanh", "ce")
    grad = jax.jit(jax.grad(loss))
    for _ in range(20):
        theta = theta - 0.5 * grad(theta)
    return Point(theta, x, y, dims, "tanh", "ce", jnp.float64)


def best_of(fn, repeat: int) -> tuple[float, object]:
    fn()  # compile
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--widths", default="16,48,120")
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--iters", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    rows = []
    with jax.enable_x64(True):
        for width in (int(w) for w in args.widths.split(",")):
            point = problem(width)
            p = point.params
            iters = min(args.iters, p)
            v0 = random_unit(np.random.default_rng(1), p)
            hess = jax.jit(jax.hessian(point.loss_fn()))

            def lanczos(point: Point = point, v0: np.ndarray = v0, iters: int = iters) -> object:
                out = point.run("H", v0, iters)
                jax.block_until_ready(out)
                return ritz(*out, args.k)[0]

            def dense(hess: object = hess, point: Point = point) -> object:
                h = np.asarray(hess(point.theta))  # type: ignore[operator]
                return np.linalg.eigvalsh(0.5 * (h + h.T))[::-1][: args.k]

            t_lanczos, top = best_of(lanczos, args.repeat)
            t_dense, exact = best_of(dense, args.repeat)
            err = float(np.max(np.abs(np.asarray(top) - exact) / np.abs(exact)))
            row = {"params": p, "lanczos_seconds": t_lanczos, "dense_seconds": t_dense,
                   "ratio": t_dense / t_lanczos, "iters": iters, "k": args.k,
                   "max_rel_error": err}  # fmt: skip
            rows.append(row)
            print(f"P={p:6d}  Lanczos top-{args.k} ({iters} steps) {t_lanczos:8.3f} s   dense "
                  f"hessian+eigvalsh {t_dense:8.3f} s   ratio {row['ratio']:7.2f}   "
                  f"max rel. error {err:.1e}")  # fmt: skip
    big = [r for r in rows if r["params"] >= 1000]
    met = all(r["ratio"] > 1 for r in big) and all(r["max_rel_error"] < 1e-6 for r in rows)
    print(f"target: ratio > 1 for P >= 1000 and rel. error < 1e-6: {'met' if met else 'not met'}")
    print(json.dumps({"machine": platform.machine(), "cpus": os.cpu_count(), "rows": rows,
                      "met": met}))  # fmt: skip
    for r in rows:
        accurate = r["max_rel_error"] < 1e-6
        if r["params"] >= 1000:
            target, ok = "> 1x, rel. error < 1e-6", r["ratio"] > 1 and accurate
        else:
            target, ok = "rel. error < 1e-6 (speed targeted from P ~ 1000)", accurate
        result(f"hessian top-{r['k']} eigenvalues, P={r['params']}",
               f"Lanczos {r['lanczos_seconds']:.3f} s (rel. error {r['max_rel_error']:.0e})",
               f"dense jax.hessian + eigvalsh {r['dense_seconds']:.3f} s", r["ratio"], target,
               ok)  # fmt: skip


if __name__ == "__main__":
    main()

"""Benchmark: NNGP/NTK of 2,000 x 2,000 input pairs at depth 10 in float64 (issue 5).

Targets (2 CPU cores): closed-form activation < 1 s, quadrature activation < 10 s.

Each is timed against a plain NumPy loop over layers and pairs, run in the same process. The
loop is timed on a subsample of pairs and extrapolated linearly to all 4,000,000 pairs (said so
in the output); its results are also checked against ours on that subsample.

Inputs: 2,000 points on the sphere of radius sqrt(20) in R^20 (equal norms, the standard NNGP
setting, which lets the quadrature activation use the tabulated path). A second line times
inputs of unequal norms (closed form; quadrature then needs the per-pair path, extrapolated).

Run: ``python benchmarks/bench_widenets_kernels.py [--pairs-baseline 400]``.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np

from theoryscope.experiments.widenets.activations import _polar_rule
from theoryscope.experiments.widenets.kernels import kernels

N, D, DEPTH = 2000, 20, 10


CPU: dict[str, float] = {}


def _best(fn, repeats=3, tag=None):
    """Best wall time of ``repeats`` calls; the CPU time (all threads) of that call goes to CPU."""
    times, cpus, out = [], [], None
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    if tag:
        CPU[tag] = cpus[int(np.argmin(times))]
    return min(times), out


# -- the NumPy loop baselines: one pair, one layer at a time -----------------------------------
def relu_pair_loop(x1, x2, cw, cb, depth):
    n0 = len(x1)
    q1 = cb + cw / n0 * float(x1 @ x1)
    q2 = cb + cw / n0 * float(x2 @ x2)
    c = cb + cw / n0 * float(x1 @ x2)
    t = c
    for _ in range(depth - 1):
        rho = max(-1.0, min(1.0, c / math.sqrt(q1 * q2)))
        th = math.acos(rho)
        f = math.sqrt(q1 * q2) * (math.sin(th) + (math.pi - th) * rho) / (2 * math.pi)
        g = (math.pi - th) / (2 * math.pi)
        c, t = cb + cw * f, cb + cw * f + cw * g * t
        q1, q2 = cb + cw * q1 / 2, cb + cw * q2 / 2
    return c, t


def quad_pair_loop(x1, x2, cw, cb, depth, fn, dfn):
    """The same polar Gauss rule as the library, in NumPy, for one pair per call."""
    xg, wx, r, wt = _polar_rule(32, 64)

    def expect(g, q1, q2, c):
        rho = max(-1.0, min(1.0, c / math.sqrt(q1 * q2)))
        th = math.acos(rho)
        beta = th + math.pi / 2 if th < math.pi / 2 else th - math.pi / 2
        bps = [0.0, min(math.pi / 2, beta), max(math.pi / 2, beta), math.pi]
        tot = 0.0
        for lo, hi in zip(bps[:-1], bps[1:], strict=True):
            phi = (lo + hi) / 2 + (hi - lo) / 2 * xg
            wphi = wx * (hi - lo) / 2
            a = (math.sqrt(q1) * np.cos(phi))[:, None] * r
            b = (math.sqrt(q2) * np.cos(phi - th))[:, None] * r
            tot += float(np.sum((g(a) * g(b) + g(-a) * g(-b)) * wphi[:, None] * wt))
        return tot / (2 * math.pi)

    n0 = len(x1)
    q1 = cb + cw / n0 * float(x1 @ x1)
    q2 = cb + cw / n0 * float(x2 @ x2)
    c = cb + cw / n0 * float(x1 @ x2)
    t = c
    for _ in range(depth - 1):
        f, g = expect(fn, q1, q2, c), expect(dfn, q1, q2, c)
        nq1, nq2 = cb + cw * expect(fn, q1, q1, q1), cb + cw * expect(fn, q2, q2, q2)
        c, t = cb + cw * f, cb + cw * f + cw * g * t
        q1, q2 = nq1, nq2
    return c, t


def _baseline(name, loop, x, ours, pairs, total):
    rng = np.random.default_rng(1)
    idx = rng.integers(0, len(x), size=(pairs, 2))
    t = time.perf_counter()
    vals = [loop(x[i], x[j]) for i, j in idx]
    secs = time.perf_counter() - t
    err_k = max(abs(v[0] - ours.nngp[i, j]) for v, (i, j) in zip(vals, idx, strict=True))
    err_t = max(abs(v[1] - ours.ntk[i, j]) for v, (i, j) in zip(vals, idx, strict=True))
    extrapolated = secs / pairs * total
    print(
        f"  NumPy loop baseline ({name}): {secs:.2f} s for {pairs} pairs, extrapolated to {total:,} "
        f"pairs: {extrapolated:.1f} s  [timed on a subsample, extrapolated linearly]"
    )
    print(f"  max |difference| on the subsample: NNGP {err_k:.1e}, NTK {err_t:.1e}")
    return extrapolated


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs-baseline", type=int, default=2000, help="pairs for the relu loop")
    ap.add_argument("--pairs-quad", type=int, default=40, help="pairs for the quadrature loop")
    args = ap.parse_args()
    print(f"widenets kernel benchmark: {N} x {N} = {N * N:,} pairs, depth {DEPTH}, float64")
    print(f"  CPU cores visible: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, D))
    x *= np.sqrt(D) / np.linalg.norm(x, axis=1, keepdims=True)

    # closed form: relu (He init plus a small bias)
    cw, cb = 2.0, 0.05
    run = lambda: kernels(x, activation="relu", depth=DEPTH, cw=cw, cb=cb, dtype="float64")  # noqa: E731
    t = time.perf_counter()
    first = run()
    t_first = time.perf_counter() - t
    t_relu, res = _best(run, tag="relu")
    print(
        f"\nrelu (closed form, path {res.method}): {t_relu:.3f} s (best of 3; first call incl. compile {t_first:.2f} s)  target < 1 s"
    )
    print(f"  CPU time of that call, all threads: {CPU['relu']:.3f} s (less sensitive to load)")
    assert np.all(np.isfinite(first.ntk))
    base = _baseline(
        "relu", lambda a, b: relu_pair_loop(a, b, cw, cb, DEPTH), x, res, args.pairs_baseline, N * N
    )
    print(f"  speed-up over the NumPy loop: {base / t_relu:,.0f}x")

    xg = x * rng.uniform(0.5, 2.0, (N, 1))
    t_gen, _ = _best(
        lambda: kernels(xg, activation="relu", depth=DEPTH, cw=cw, cb=cb, dtype="float64")
    )
    print(f"  relu, inputs of unequal norms: {t_gen:.3f} s")

    # quadrature: tanh near its critical line
    cw, cb = 1.5, 0.05
    import jax.numpy as jnp  # noqa: F401

    run = lambda: kernels(x, activation="tanh", depth=DEPTH, cw=cw, cb=cb, dtype="float64")  # noqa: E731
    t = time.perf_counter()
    first = run()
    t_first = time.perf_counter() - t
    t_tanh, res = _best(run, tag="tanh")
    print(
        f"\ntanh (quadrature, path {res.method}): {t_tanh:.3f} s (best of 3; first call incl. compile {t_first:.2f} s)  target < 10 s"
    )
    print(f"  CPU time of that call, all threads: {CPU['tanh']:.3f} s")

    def dtanh(z):
        return 1.0 - np.tanh(z) ** 2

    base = _baseline(
        "tanh, polar Gauss rule per pair",
        lambda a, b: quad_pair_loop(a, b, cw, cb, DEPTH, np.tanh, dtanh), x, res, args.pairs_quad, N * N,
    )  # fmt: skip
    print(f"  speed-up over the NumPy loop: {base / t_tanh:,.0f}x")

    # the per-pair quadrature path (needed for unequal norms), timed on 20,000 pairs
    sub = xg[:200]
    t_dir, _ = _best(
        lambda: kernels(
            sub, sub[:100], activation="tanh", depth=DEPTH, cw=cw, cb=cb, dtype="float64"
        ),
        repeats=1,
    )
    print(
        f"  tanh, unequal norms (per-pair quadrature): {t_dir:.2f} s for 20,000 pairs, "
        f"extrapolated to {N * N:,}: {t_dir / 20000 * N * N:.0f} s"
    )


if __name__ == "__main__":
    main()

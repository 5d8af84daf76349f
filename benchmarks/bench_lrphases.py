"""Speed of the uv-model phase diagram: one vmapped call over eta against a loop over eta.

    python benchmarks/bench_lrphases.py [--width 1000] [--steps 200] [--points 60] [--repeat 3]

Baseline: the same per-eta GD (``uv._sweep_one``: the same steps, loss cap and readouts),
compiled once and called once per eta in a Python loop. Candidate: ``uv.sweep``, which vmaps it
over all etas in one compiled call. Compilation is excluded from both (one warm-up call each);
best of ``--repeat``. The two must return the same numbers (checked). Prints plain text and, last,
one JSON line.
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

from theoryscope.experiments.lrphases import uv  # noqa: E402
from theoryscope.experiments.lrphases.config import Config  # noqa: E402
from theoryscope.experiments.lrphases.engine import catapult_init, divergence_cap  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--points", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    cfg = Config(width=args.width, steps=args.steps)
    init = catapult_init(cfg, 0)
    u, v, x, y = init["u"], init["v"], init["x"], init["y"]
    etas = jnp.asarray(np.linspace(0.1, 6.0, args.points) / init["lambda0"], dtype=u.dtype)
    cap = jnp.asarray(divergence_cap(init["first"]["loss"], args.width), dtype=u.dtype)
    one = jax.jit(uv._sweep_one, static_argnames=("steps",))

    def loop() -> np.ndarray:
        outs = [one(u, v, x, y, eta, steps=args.steps, cap=cap) for eta in etas]
        return np.array([float(o["max_loss_after_start"]) for o in outs])

    def vmapped() -> np.ndarray:
        out = uv.sweep(u, v, x, y, etas, cap, steps=args.steps)
        return np.asarray(out["max_loss_after_start"])

    ref, got = loop(), vmapped()  # warm-up: compile both
    scale = float(np.max(ref[np.isfinite(ref)]))
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-9 * scale)

    def best(fn) -> float:
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    t_loop, t_vmap = best(loop), best(vmapped)
    print(
        f"uv phase diagram: width {args.width}, {args.steps} steps, {args.points} etas "
        f"({platform.processor() or platform.machine()}, {os.cpu_count()} cpus)"
    )
    print(f"  loop over eta (baseline): {t_loop * 1e3:8.1f} ms")
    print(f"  vmap over eta:            {t_vmap * 1e3:8.1f} ms   speed-up x{t_loop / t_vmap:.2f}")
    from _bench import result

    result(f"lrphases phase diagram, {args.points} etas, width {args.width}",
           f"vmap {t_vmap * 1e3:.1f} ms", f"loop over eta {t_loop * 1e3:.1f} ms",
           t_loop / t_vmap, ">= 1x the loop", met=t_loop / t_vmap >= 1)  # fmt: skip
    print(
        json.dumps(
            {
                "benchmark": "lrphases_phase_diagram",
                "width": args.width,
                "steps": args.steps,
                "points": args.points,
                "loop_seconds": t_loop,
                "vmap_seconds": t_vmap,
                "speedup": t_loop / t_vmap,
            }
        )
    )


if __name__ == "__main__":
    main()

"""Steps per second of the spectral GD engine (exact closed-form L2 loss) against the plain
sampled-loss implementation one writes first.

    python benchmarks/bench_spectral.py [--neurons 200] [--samples 4096] [--steps 2000]

Baseline: the loss as a mean over ``--samples`` midpoints of [-1, 1] (``2 * mean((h - f)^2) / 2``,
the midpoint rule for ``1/2 ||h - f||^2``), its gradient by ``jax.grad``, ``lax.scan`` over steps,
same update rule and a(0) = 0. Per step it costs O(n * samples); the engine's closed forms cost
O(n^2) and carry no quadrature error. Both run in this process, float32, best of ``--repeat``,
compilation excluded (each is called once before timing). Also prints, after the same steps, the
largest difference of the per-frequency residual between the two (the baseline's quadrature
error). Last line: one JSON object.
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
from jax import lax  # noqa: E402

from _bench import result  # noqa: E402
from theoryscope.experiments.spectral.config import Config  # noqa: E402
from theoryscope.experiments.spectral.engine import simulate  # noqa: E402
from theoryscope.experiments.spectral.theory import build_problem  # noqa: E402


def plain(config: Config, samples: int, repeat: int) -> tuple[float, np.ndarray]:
    """Sampled-loss GD: steps/s and the final residual amplitudes <h - f, sin(pi k x)>."""
    problem = build_problem(config)
    n = config.neurons
    x = jnp.asarray(-1.0 + (2.0 * np.arange(samples) + 1.0) / samples, jnp.float32)
    freqs = jnp.asarray(config.freqs, jnp.float32)
    y = jnp.sin(jnp.pi * x[:, None] * freqs[None, :]).sum(axis=1)
    w = jnp.asarray(problem.w, jnp.float32)
    b0 = jnp.asarray(problem.b, jnp.float32)
    full = config.mode == "full"

    def loss(a, b):
        h = jax.nn.relu(x[:, None] * w[None, :] - b[None, :]) @ a / jnp.sqrt(n)
        return jnp.mean((h - y) ** 2)  # = (1/2) * 2 * mean: midpoint rule on [-1, 1]

    grad = jax.grad(loss, argnums=(0, 1))

    def step(state, _):
        a, b = state
        ga, gb = grad(a, b)
        return (a - config.lr * ga, b - config.lr * gb if full else b), None

    @jax.jit
    def run(a, b):
        return lax.scan(step, (a, b), None, length=config.steps)[0]

    a0 = jnp.zeros(n, jnp.float32)
    jax.block_until_ready(run(a0, b0))
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        a, b = jax.block_until_ready(run(a0, b0))
        best = min(best, time.perf_counter() - t)
    h = jax.nn.relu(x[:, None] * w[None, :] - b[None, :]) @ a / jnp.sqrt(n)
    resid = (2.0 / samples) * (h - y) @ jnp.sin(jnp.pi * x[:, None] * freqs[None, :])
    return config.steps / best, np.asarray(resid, dtype=float)


def engine(config: Config, repeat: int) -> tuple[float, np.ndarray]:
    simulate(config.replace(records=2))  # compile
    best = np.inf
    run = None
    for _ in range(repeat):
        t = time.perf_counter()
        run = simulate(config.replace(records=2))
        best = min(best, time.perf_counter() - t)
    assert run is not None
    return config.steps / best, run.series["residual"][-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--neurons", type=int, default=200)
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for mode, lr in (("features", 1.0), ("full", 0.3)):
        config = Config(neurons=args.neurons, freqs=(1, 4, 16), lr=lr, steps=args.steps, mode=mode)
        sps_engine, r_engine = engine(config, args.repeat)
        sps_plain, r_plain = plain(config, args.samples, args.repeat)
        row = {
            "mode": mode,
            "neurons": args.neurons,
            "samples": args.samples,
            "steps": args.steps,
            "engine_steps_per_second": sps_engine,
            "plain_steps_per_second": sps_plain,
            "ratio": sps_engine / sps_plain,
            "residual_max_difference": float(np.max(np.abs(r_engine - r_plain))),
        }
        rows.append(row)
        print(
            f"{mode:<9} n={args.neurons} engine {sps_engine:9.0f} steps/s   plain sampled "
            f"(M={args.samples}) {sps_plain:9.0f} steps/s   ratio {row['ratio']:.2f}   "
            f"residual difference {row['residual_max_difference']:.2e}"
        )
    print(json.dumps({"machine": platform.machine(), "cpus": os.cpu_count(), "rows": rows}))
    for r in rows:
        result(f"spectral GD, {r['mode']} mode, n={r['neurons']}",
               f"engine {r['engine_steps_per_second']:.0f} steps/s (exact loss)",
               f"plain sampled loss (M={r['samples']}) {r['plain_steps_per_second']:.0f} steps/s, "
               f"residual off by {r['residual_max_difference']:.0e}", r["ratio"],
               "none set (no issue target)", None)  # fmt: skip


if __name__ == "__main__":
    main()

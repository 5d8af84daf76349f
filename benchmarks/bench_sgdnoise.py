"""Speed of the FDR chains: C chains vmapped in one compiled call against a loop over chains.

    python benchmarks/bench_sgdnoise.py [--mode linreg|mlp] [--chains 64] [--steps 5000]
                                        [--records 10] [--repeat 3] [--target 5]

Both run the same compiled SGD step (Bernoulli batch gradient, the jvp giving grad L and H g_B,
the six FDR observables; :func:`theoryscope.experiments.sgdnoise.chains.make_runner`) for the
same steps and keys. Baseline: the runner compiled for one chain, called once per chain in a
Python loop. Candidate: the runner vmapped over all chains in one call. Compilation is excluded
from both (one warm-up call each); best of ``--repeat``. The two must return the same block means
(checked). Prints plain text and, last, one JSON line.
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
from theoryscope.experiments.sgdnoise.chains import build_problem, make_runner  # noqa: E402
from theoryscope.experiments.sgdnoise.config import Config  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("linreg", "mlp"), default="linreg")
    parser.add_argument("--chains", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--records", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--target", type=float, default=5.0)
    args = parser.parse_args()

    cfg = Config(mode=args.mode, steps=args.steps, records=args.records, chains=args.chains)
    problem = build_problem(cfg, seed=0)
    run = make_runner(problem, cfg.block, args.records, False)
    theta = jnp.broadcast_to(jnp.asarray(problem.theta0, jnp.float32),
                             (args.chains, len(problem.theta0)))  # fmt: skip
    keys = jax.random.split(jax.random.PRNGKey(0), args.chains)
    eta, p = jnp.float32(cfg.lr), jnp.float32(cfg.p)

    def vmapped() -> np.ndarray:
        _, blocks = run(theta, keys, eta, p)
        return np.asarray(blocks)

    def loop() -> np.ndarray:
        outs = [run(theta[c : c + 1], keys[c : c + 1], eta, p)[1] for c in range(args.chains)]
        return np.concatenate([np.asarray(o) for o in outs])

    ref, got = loop(), vmapped()  # warm-up: compile both shapes
    np.testing.assert_allclose(got, ref, rtol=2e-3, atol=1e-6 * float(np.abs(ref).max()))

    def best(fn) -> float:
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    t_loop, t_vmap = best(loop), best(vmapped)
    chain_steps = args.chains * args.steps
    speedup = t_loop / t_vmap
    print(
        f"sgdnoise FDR chains ({args.mode}, {len(problem.theta0)} parameters, m = {cfg.m}, "
        f"|B| = {cfg.batch}): {args.chains} chains x {args.steps} steps "
        f"({platform.processor() or platform.machine()}, {os.cpu_count()} cpus)"
    )
    print(
        f"  loop over chains (baseline): {t_loop:8.3f} s   {chain_steps / t_loop:12,.0f} chain-steps/s"
    )
    print(
        f"  vmap over chains:            {t_vmap:8.3f} s   {chain_steps / t_vmap:12,.0f} chain-steps/s"
    )
    met = "met" if speedup >= args.target else "not met"
    print(f"  speed-up x{speedup:.2f} (target x{args.target:g}: {met})")
    print(
        json.dumps(
            {
                "benchmark": "sgdnoise_chains",
                "mode": args.mode,
                "chains": args.chains,
                "steps": args.steps,
                "loop_seconds": t_loop,
                "vmap_seconds": t_vmap,
                "speedup": speedup,
                "target": args.target,
                "met": speedup >= args.target,
            }
        )
    )
    result(f"sgdnoise FDR chains, {args.mode}, {args.chains} chains x {args.steps} steps",
           f"vmap {chain_steps / t_vmap:,.0f} chain-steps/s",
           f"loop over chains {chain_steps / t_loop:,.0f} chain-steps/s", speedup,
           f">= {args.target:g}x", speedup >= args.target)  # fmt: skip


if __name__ == "__main__":
    main()

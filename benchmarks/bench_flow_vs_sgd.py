"""Exact gradient flow vs online SGD: time to reach t = 2 x t_rise (issue 4 benchmark).

Config: alpha = (2,1,0), gamma = 0.01, d = 3, k = 1000. Baseline, measured in the same run: the
SGD engine with eta = 0.01, |B| = 100 to the same t_eff (2 x t_rise / eta ~ 157,000 steps).
By default SGD runs a fixed share of those steps and its time is extrapolated at the measured
steps/s (printed as such); ``--full`` runs all of them. Target: flow >= 10x faster.

    python benchmarks/bench_flow_vs_sgd.py [--full] [--sgd-steps 30000]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="run SGD all the way (slow)")
    parser.add_argument("--sgd-steps", type=int, default=30000, help="SGD steps timed otherwise")
    parser.add_argument("--k", type=int, default=1000)
    args = parser.parse_args()

    from theoryscope.experiments.expander import engine
    from theoryscope.experiments.expander.config import Config
    from theoryscope.experiments.expander.population_dynamics import simulate_population
    from theoryscope.experiments.expander.theory import predict

    base = dict(d=3, k=args.k, gamma=0.01, alpha=[(2, 1, 0)], lr=0.01, batch=100)
    t_rise = predict(Config.create(**base)).terms[0].t_rise
    t_target = 2 * t_rise
    flow_cfg = Config.create(mode="flow", t_eff=t_target, **base)
    sgd_cfg = Config.create(mode="sgd", t_eff=t_target, **base)
    print(f"alpha=(2,1,0) gamma=0.01 k={args.k}: t_rise = {t_rise:.1f}, target t = {t_target:.1f}")

    t0 = time.perf_counter()
    flow = simulate_population(flow_cfg, seed=0)
    flow_wall = time.perf_counter() - t0
    s = flow.summary
    print(
        f"flow (BDF, float64): {flow_wall:.2f} s wall (compile {flow.timings['compile_seconds']:.2f} s,"
        f" integrate {flow.timings['loop_seconds']:.2f} s); {s['solver_steps']} steps, {s['nfev']}"
        f" gradient evaluations, {s['njev']} Jacobians, {s['nlu']} LU; t_half = {s['t_half_sim'][0]}"
    )

    steps_total = sgd_cfg.steps
    run_steps = steps_total if args.full else min(steps_total, args.sgd_steps)
    t0 = time.perf_counter()
    sgd = engine.simulate(sgd_cfg.replace(steps=run_steps), seed=0)
    sgd_wall = time.perf_counter() - t0
    sps = sgd.summary["steps_per_second"]
    compile_s = sgd.timings.get("compile_seconds", 0.0)
    if args.full:
        sgd_time = sgd_wall
        how = "measured"
    else:
        sgd_time = compile_s + steps_total / sps
        how = f"extrapolated from {run_steps} steps at {sps:.0f} steps/s"
    print(
        f"SGD (eta=0.01, |B|=100): {steps_total} steps to t = {t_target:.1f}: {sgd_time:.1f} s ({how})"
    )
    ratio = sgd_time / flow_wall
    print(
        f"flow is {ratio:.1f}x faster than SGD to 2 x t_rise (target >= 10x): "
        f"{'PASS' if ratio >= 10 else 'BELOW TARGET'}"
    )


if __name__ == "__main__":
    main()

"""Exact gradient flow vs online SGD to the same t_eff (issue 12 targets).

Two cases, each measured in this process, flow and SGD alternately:

  A. alpha = (2,1,0), gamma = 0.01, d = 3, k = 1000, to t = 2 t_rise (~1571): target flow >= 15x
     faster than SGD (eta = 0.01, |B| = 100) run all the way (goal 30x).
  B. alpha = (1,1,0), gamma = 0.01, d = 3, k = 4000, to t = 400: target flow >= 3x faster than
     SGD to the same t.

Both sides use the default record schedule (400 records with the exact population loss).
Times are warm (each side ran once before, so the JIT caches hold its shapes, as in a lab
process that runs many configs); the cold time of the first flow run is printed too. By default
SGD runs a share of its steps (``--sgd-steps``) with the full 400 records and its time is
extrapolated as record_seconds + step_seconds * total / share; ``--full`` runs it all the way.

    python benchmarks/bench_flow_vs_sgd.py [--full] [--case A|B|both]
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

from _bench import result  # noqa: E402


def _case(name: str) -> tuple[dict, float, float]:
    from theoryscope.experiments.expander.config import Config
    from theoryscope.experiments.expander.theory import predict

    if name == "A":
        base = dict(d=3, k=1000, gamma=0.01, alpha=[(2, 1, 0)], lr=0.01, batch=100)
        t_end = 2 * predict(Config.create(**base)).terms[0].t_rise
        return base, t_end, 15.0
    base = dict(d=3, k=4000, gamma=0.01, alpha=[(1, 1, 0)], lr=0.01, batch=100)
    return base, 400.0, 3.0


def run_case(name: str, full: bool, sgd_steps: int) -> dict:
    from theoryscope.experiments.expander import engine
    from theoryscope.experiments.expander.config import Config
    from theoryscope.experiments.expander.population_dynamics import simulate_population

    base, t_end, target = _case(name)
    flow_cfg = Config.create(mode="flow", t_eff=t_end, **base)
    sgd_cfg = Config.create(mode="sgd", t_eff=t_end, **base)
    total = sgd_cfg.steps
    share = total if full else min(total, sgd_steps)
    print(f"case {name}: {base['alpha']} gamma={base['gamma']} k={base['k']} to t = {t_end:.1f}")

    t0 = time.perf_counter()
    simulate_population(flow_cfg, seed=0)
    cold = time.perf_counter() - t0
    engine.simulate(sgd_cfg.replace(steps=min(share, 2000)), seed=0)  # SGD compile + warm-up

    t0 = time.perf_counter()
    flow = simulate_population(flow_cfg, seed=0)
    flow_s = time.perf_counter() - t0
    s = flow.summary
    print(
        f"  flow (NDF, float64, rtol {s['rtol']}): {flow_s:.2f} s warm ({cold:.2f} s cold); "
        f"{s['solver_steps']} steps, {s['nfev']} gradients, {s['njev']} Newton matrices; "
        f"t_half = {s['t_half_sim'][0]}"
    )
    t0 = time.perf_counter()
    sgd = engine.simulate(sgd_cfg.replace(steps=share), seed=0)
    sgd_wall = time.perf_counter() - t0
    tm = sgd.timings
    if share == total:
        sgd_s, how = sgd_wall, "measured"
    else:
        sgd_s = tm["record_seconds"] + tm["step_seconds"] * total / share
        how = f"extrapolated: {share} of {total} steps, {len(sgd.series['step'])} records"
    print(
        f"  SGD (eta=0.01, |B|=100, {sgd_cfg.dtype}): {total} steps: {sgd_s:.1f} s ({how}; "
        f"{tm['record_seconds']:.2f} s of records)"
    )
    ratio = sgd_s / flow_s
    met = ratio >= target
    print(
        f"  figure: flow {flow_s:.2f} s; baseline: SGD {sgd_s:.1f} s; ratio {ratio:.1f}x; "
        f"target >= {target:g}x: {'MET' if met else 'NOT MET'}"
    )
    alpha = ",".join(str(a) for a in base["alpha"][0])
    result(f"exact flow vs SGD, alpha=({alpha}) gamma={base['gamma']} k={base['k']} "
           f"to t={t_end:.0f}", f"flow {flow_s:.2f} s warm ({cold:.1f} s cold)",
           f"SGD {sgd_s:.1f} s ({'measured' if share == total else 'extrapolated'}, "
           f"{total} steps)", ratio, f">= {target:g}x", met)  # fmt: skip
    return {
        "case": name,
        "flow_seconds_warm": round(flow_s, 3),
        "flow_seconds_cold": round(cold, 3),
        "sgd_seconds": round(sgd_s, 3),
        "sgd_measured": share == total,
        "ratio": round(ratio, 2),
        "target": target,
        "met": met,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="run SGD all the way (slow)")
    parser.add_argument("--sgd-steps", type=int, default=20000, help="SGD steps run otherwise")
    parser.add_argument("--case", choices=["A", "B", "both"], default="both")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    cases = ["A", "B"] if args.case == "both" else [args.case]
    out = [run_case(c, args.full, args.sgd_steps) for c in cases]
    print(json.dumps({"benchmark": "flow_vs_sgd", "cases": out}))


if __name__ == "__main__":
    main()

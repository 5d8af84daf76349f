"""All critical points of the quadratic teacher-student loss: the analytic enumeration against a
blind multi-start Newton search.

    python benchmarks/bench_polynets_critical.py [--full] [--max-starts 400] [--time-cap 30]

Problems (teacher eigenvalues spread in [-1, 1.2], a random teacher basis and a diagonal data
covariance from a fixed seed): (d, r, outer) = (3, 2, signed), (4, 2, free), (6, 3, signed with
one negative outer weight), (8, 3, free). Analytic: ``critical.enumerate_critical`` (every
critical set with its loss, index and nullity) plus a representative point of each; best of 3.
Newton: ``newton.newton_search`` (Levenberg-Marquardt on grad L = 0 with the JAX float64
Hessian as Jacobian, random starts, points grouped by their function-space invariants), run
until every predicted set is found or ``--max-starts`` / ``--time-cap`` seconds (30;
``--full``: 60) are spent, JAX compilation excluded (one solve before timing). Prints per
problem: the number of predicted sets, the sets Newton found (and any it found that are not
predicted: must be 0), its starts and seconds, the analytic seconds and the ratio Newton / analytic. Target: Newton finds nothing
outside the prediction, and the enumeration is >= 100 x faster than the search to full
coverage (or the search does not reach it). Last line: one JSON object.
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
from theoryscope.experiments.polynets.critical import (  # noqa: E402
    enumerate_critical,
    representative,
)
from theoryscope.experiments.polynets.newton import newton_search  # noqa: E402
from theoryscope.experiments.polynets.quadratic import make_problem  # noqa: E402

CASES = ((3, 2, "signed", 0), (4, 2, "free", 0), (6, 3, "signed", 1), (8, 3, "free", 0))


def problem(d: int, r: int, outer: str, negative: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng([d, r, 7])
    eigs = np.sort(rng.uniform(-1.0, 1.2, d))[::-1]
    cov = rng.uniform(0.5, 2.0, d)
    return make_problem(eigs, width=r, outer=outer, negative=negative,  # type: ignore[arg-type]
                        covariance=cov, teacher_seed=d)  # fmt: skip


def analytic(pr) -> tuple[float, list]:  # type: ignore[no-untyped-def]
    best, sets = np.inf, []
    for _ in range(3):
        t = time.perf_counter()
        sets = enumerate_critical(pr)
        for c in sets:
            representative(pr, c)
        best = min(best, time.perf_counter() - t)
    return best, sets


def search(pr, sets, max_starts: int, cap: float) -> dict:  # type: ignore[no-untyped-def]
    """Newton in batches of 10 starts (fresh seeds) until full coverage or the budget."""
    newton_search(pr, 1, seed=10_000, predicted=sets)  # compile
    want = {c.label for c in sets}
    found: dict[str, int] = {}
    extra = 0
    starts = 0
    seconds = 0.0
    batch = 0
    while starts < max_starts and seconds < cap and set(found) != want:
        out = newton_search(pr, 10, seed=batch, predicted=sets)
        batch += 1
        starts += 10
        seconds += out["seconds"]
        for g in out["groups"]:
            if g["distance"] > 1e-6 * max(1.0, float(np.linalg.norm(pr.lam))):
                extra += 1
            else:
                found.setdefault(g["matched"], starts)
    return {"found": len(found), "extra": extra, "starts": starts, "seconds": seconds,
            "complete": set(found) == want}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-starts", type=int, default=400)
    parser.add_argument("--time-cap", type=float, default=30.0)
    parser.add_argument("--full", action="store_true", help="time cap 60 s per problem")
    args = parser.parse_args()
    if args.full:
        args.time_cap = 60.0
    rows = []
    for d, r, outer, negative in CASES:
        pr = problem(d, r, outer, negative)
        t_analytic, sets = analytic(pr)
        got = search(pr, sets, args.max_starts, args.time_cap)
        ratio = got["seconds"] / t_analytic
        row = {"d": d, "r": r, "outer": outer, "negative": negative, "params": pr.n_params,
               "predicted": len(sets), "analytic_seconds": t_analytic, **got,
               "newton_seconds": got["seconds"], "ratio": ratio}  # fmt: skip
        rows.append(row)
        print(f"d={d} r={r} {outer:<6} q={negative}  P={pr.n_params:3d}  predicted sets "
              f"{len(sets):4d}  analytic {t_analytic * 1e3:8.2f} ms  Newton found {got['found']:4d}"
              f" (+{got['extra']} unpredicted) in {got['starts']:4d} starts, {got['seconds']:7.2f} s"
              f"{'' if got['complete'] else ' (incomplete)'}  ratio {ratio:9.0f}")  # fmt: skip
    met = all(r["extra"] == 0 for r in rows) and all(
        r["ratio"] >= 100 or not r["complete"] for r in rows
    )
    print("target: no unpredicted critical point, enumeration >= 100 x faster than the search to "
          f"full coverage: {'met' if met else 'not met'}")  # fmt: skip
    print(json.dumps({"machine": platform.machine(), "cpus": os.cpu_count(), "rows": rows,
                      "met": met}))  # fmt: skip
    for r in rows:
        left = "" if r["complete"] else ", incomplete: ratio is a lower bound"
        result(f"polynets critical points, d={r['d']} r={r['r']} {r['outer']} q={r['negative']}",
               f"analytic {r['analytic_seconds'] * 1e3:.2f} ms ({r['predicted']} sets)",
               f"Newton {r['newton_seconds']:.1f} s, {r['found']} sets in {r['starts']} starts, "
               f"{r['extra']} unpredicted{left}", r["ratio"],
               ">= 100x to full coverage, 0 unpredicted",
               r["extra"] == 0 and (r["ratio"] >= 100 or not r["complete"]))  # fmt: skip


if __name__ == "__main__":
    main()

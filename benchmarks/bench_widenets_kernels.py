"""Benchmark: NNGP/NTK of n x n input pairs at depth 10 in float64 (issues 5 and 12: n = 2,000,
``--full``; by default n = 1,000, a quarter of the pairs: the same comparisons in less time).

Every figure is printed with a ratio against a baseline timed in the same process:

1. relu (closed form) against a plain NumPy loop over layers and pairs, and its float32
   matrices: exact symmetry and the error of the diagonal.
2. gelu: the closed form against the quadrature table path it replaces (same inputs).
3. tanh, equal norms (table path) against the NumPy loop of the polar rule, one pair at a time.
4. Unequal norms: tanh on the Hermite-series path against the equal-norm table path (the
   target: within 2x) and against the per-pair quadrature path it replaces; gelu by its
   closed form; softplus at C_w = 2 (near-critical: correlations approach 1, the series
   needs its second stage) on n / 2 inputs, against its equal-norm table path.
5. Accuracy at large variances: the adaptive polar rule and the previous fixed rule (3 x 32
   Gauss-Legendre angles x 64 Gauss-Laguerre radii) against nested scipy quadrature.

Loops and the per-pair path are timed on a subsample of pairs and extrapolated linearly to all
n^2 pairs (said so in the output); their results are checked against ours there. The two sides
of every comparison of ours with ours or with neural-tangents are timed alike: one warm-up call
(compilation), then the best of 2.

neural-tangents 0.6.5 is compared when available: it needs an older JAX than the lab's, so it
runs in its own virtualenv (``THEORYSCOPE_NT_PYTHON``, default ``/work/nt-venv/bin/python``)
through ``nt_widenets_kernels.py`` in a subprocess, on the same inputs; otherwise the benchmark
prints "NT unavailable" and keeps its own baselines. Its tanh layer (Gauss-Hermite quadrature,
no closed form) is timed on 150 inputs and extrapolated.

Inputs: n points on the sphere of radius sqrt(20) in R^20 (equal norms), and the same
points scaled by factors uniform in [0.5, 2] (unequal norms).

Run: ``python benchmarks/bench_widenets_kernels.py [--full] [--no-nt] [--nt-python PATH]``
(about 2.5 CPU-minutes with n = 2,000, a third of it neural-tangents; wall time on a loaded
machine is several times that).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import tempfile
import time
from pathlib import Path

import jax
import numpy as np
from scipy import integrate

from _bench import result
from theoryscope.experiments.widenets.activations import get_activation
from theoryscope.experiments.widenets.kernels import kernels
from theoryscope.experiments.widenets.quadrature import polar_maps

D, DEPTH = 20, 10  # input dimension, depth; the number of inputs is --n (--full: 2000)
NT_SUBSET = 150  # inputs for neural-tangents' tanh (quadrature) layer, extrapolated
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


def _timed(label, fn, repeats):
    """One warm-up call (compilation), then the best of ``repeats``."""
    t = time.perf_counter()
    fn()
    first = time.perf_counter() - t
    secs, out = _best(fn, repeats, tag=label)
    print(
        f"  {label}: {secs:.2f} s (best of {repeats}; first call incl. compile {first:.1f} s; "
        f"CPU time {CPU[label]:.2f} s)"
    )
    return secs, out


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


def old_rule_expect(g, q1, q2, c, angular=32, radial=64):
    """The previous fixed polar rule in NumPy: 3 angular panels x 32 Gauss-Legendre nodes,
    64 Gauss-Laguerre nodes in t = r^2/2."""
    xg, wx = np.polynomial.legendre.leggauss(angular)
    t, wt = np.polynomial.laguerre.laggauss(radial)
    r = np.sqrt(2.0 * t)
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


def quad_pair_loop(x1, x2, cw, cb, depth, fn, dfn):
    """The previous polar rule, in NumPy, for one pair per call."""
    n0 = len(x1)
    q1 = cb + cw / n0 * float(x1 @ x1)
    q2 = cb + cw / n0 * float(x2 @ x2)
    c = cb + cw / n0 * float(x1 @ x2)
    t = c
    for _ in range(depth - 1):
        f, g = old_rule_expect(fn, q1, q2, c), old_rule_expect(dfn, q1, q2, c)
        nq1, nq2 = (
            cb + cw * old_rule_expect(fn, q1, q1, q1),
            cb + cw * old_rule_expect(fn, q2, q2, q2),
        )
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


# -- neural-tangents in its own virtualenv -----------------------------------------------------
def run_nt(python: str, inputs: dict[str, np.ndarray], cases: list[dict]) -> dict | str:
    """Timings and results from neural-tangents, or the reason it is unavailable."""
    if not python or not Path(python).exists():
        return f"no interpreter at {python!r}"
    script = Path(__file__).with_name("nt_widenets_kernels.py")
    tmp = Path(tempfile.mkdtemp(prefix="nt-bench-"))
    np.savez(tmp / "inputs.npz", **inputs)
    out: dict = {"cases": {}}
    for dtype in sorted({c["dtype"] for c in cases}):
        (tmp / "cases.json").write_text(json.dumps([c for c in cases if c["dtype"] == dtype]))
        try:
            proc = subprocess.run(
                [python, str(script), str(tmp / "inputs.npz"), str(tmp / "cases.json")],
                capture_output=True,
                text=True,
                timeout=900,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            return f"{type(err).__name__}: {err}"
        if proc.returncode != 0:
            return proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        out["version"] = f"neural-tangents {res['neural_tangents']} (jax {res['jax']})"
        for name, case in res["cases"].items():
            data = np.load(case["result"])
            out["cases"][name] = {
                "seconds": case["seconds"],
                "cpu": case["cpu"],
                "nngp": data["nngp"],
                "ntk": data["ntk"],
            }
    return out


def _nt_case(nt, name):
    return nt["cases"].get(name) if isinstance(nt, dict) else None


def _vs_nt(c, secs, cpu, label="neural-tangents"):
    """NT's time against ours, by wall clock and by CPU time (less sensitive to other load)."""
    print(
        f"  {label}: {c['seconds']:.2f} s (CPU {c['cpu']:.2f} s) -> ours is "
        f"{c['seconds'] / secs:.1f}x faster by wall clock, {c['cpu'] / cpu:.1f}x by CPU time"
    )


# -- accuracy at large variances ---------------------------------------------------------------
def _reference(f, q1, q2, c, tol=1e-13):
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    a, b = math.sqrt(q1), math.sqrt(q2)
    rho = c / (a * b)
    s = math.sqrt(max(0.0, (1 - rho) * (1 + rho)))

    def inner(z1):
        m, sd = b * rho * z1, b * s
        pts = [p for p in sorted({-m / sd, 0.0}) if -12 < p < 12]
        return integrate.quad(
            lambda z: phi(z) * f(m + sd * z), -12, 12, points=pts, epsabs=tol, epsrel=tol, limit=400
        )[0]

    return integrate.quad(
        lambda z: phi(z) * f(a * z) * inner(z),
        -12,
        12,
        points=[0.0],
        epsabs=tol,
        epsrel=tol,
        limit=400,
    )[0]


def accuracy_section() -> None:
    print("\n5. tanh maps at large variances: error against nested scipy quadrature (1e-13)")
    act = get_activation("tanh")
    sech2 = lambda z: 1 / math.cosh(z) ** 2 if abs(z) < 300 else 0.0  # noqa: E731
    dnp = lambda z: 1 - np.tanh(z) ** 2  # noqa: E731
    print(
        f"  {'q':>7} {'old rule F':>11} {'old G':>9} {'new rule F':>11} {'new G':>9}  old/new (G)"
    )
    for q in (1.0, 2.0, 4.0, 16.0, 100.0, 1e3):
        cases = [(q, 0.8 * q, r * math.sqrt(0.8) * q) for r in (0.3, -0.7, 0.95)]
        q1, q2, c = (np.array(v) for v in zip(*cases, strict=True))
        with jax.enable_x64(True):
            f, g = polar_maps(act.fn, act.d1, q1, q2, c)
        eo_f = eo_g = en_f = en_g = 0.0
        for i, (a, b, cc) in enumerate(cases):
            rf, rg = _reference(math.tanh, a, b, cc), _reference(sech2, a, b, cc)
            eo_f = max(eo_f, abs(old_rule_expect(np.tanh, a, b, cc) - rf))
            eo_g = max(eo_g, abs(old_rule_expect(dnp, a, b, cc) - rg))
            en_f, en_g = max(en_f, abs(float(f[i]) - rf)), max(en_g, abs(float(g[i]) - rg))
        ratio = eo_g / max(en_g, 1e-17)
        print(f"  {q:7g} {eo_f:11.1e} {eo_g:9.1e} {en_f:11.1e} {en_g:9.1e}  {ratio:9.1e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="inputs (n^2 pairs)")
    ap.add_argument("--full", action="store_true", help="2,000 inputs, as in issues 5 and 12")
    ap.add_argument("--pairs-baseline", type=int, default=2000, help="pairs for the relu loop")
    ap.add_argument("--pairs-quad", type=int, default=20, help="pairs for the quadrature loop")
    ap.add_argument("--no-nt", action="store_true", help="skip neural-tangents")
    ap.add_argument(
        "--nt-python",
        default=os.environ.get("THEORYSCOPE_NT_PYTHON", "/work/nt-venv/bin/python"),
        help="interpreter of a virtualenv with neural-tangents 0.6.5",
    )
    args = ap.parse_args()
    n = 2000 if args.full else args.n
    print(f"widenets kernel benchmark: {n} x {n} = {n * n:,} pairs, depth {DEPTH}, float64")
    print(f"  CPU cores visible: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, D))
    x *= np.sqrt(D) / np.linalg.norm(x, axis=1, keepdims=True)
    xg = x * rng.uniform(0.5, 2.0, (n, 1))
    relu_kw = dict(activation="relu", depth=DEPTH, cw=2.0, cb=0.05)
    act_kw = dict(depth=DEPTH, cw=1.5, cb=0.05)

    nt_cases = [
        dict(name="relu", inputs="sphere", activation="relu", depth=DEPTH, cw=2.0, cb=0.05, dtype="float64", repeats=2),
        dict(name="gelu", inputs="sphere", activation="gelu", depth=DEPTH, cw=1.5, cb=0.05, dtype="float64", repeats=2),
        dict(name="gelu_unequal", inputs="unequal", activation="gelu", depth=DEPTH, cw=1.5, cb=0.05, dtype="float64", repeats=2),
        dict(name="tanh_subset", inputs="unequal_subset", activation="tanh", depth=DEPTH, cw=1.5, cb=0.05, dtype="float64", repeats=1),
        dict(name="relu32", inputs="sphere", activation="relu", depth=DEPTH, cw=2.0, cb=0.05, dtype="float32", repeats=2),
    ]  # fmt: skip
    if args.no_nt:
        nt: dict | str = "skipped (--no-nt)"
    else:
        nt = run_nt(
            args.nt_python, {"sphere": x, "unequal": xg, "unequal_subset": xg[:NT_SUBSET]}, nt_cases
        )
    print(
        f"  neural-tangents: {nt['version'] if isinstance(nt, dict) else 'NT unavailable: ' + nt}"
    )

    # 1. relu ------------------------------------------------------------------------------
    print("\n1. relu, closed form")
    t_relu, res = _timed("ours", lambda: kernels(x, dtype="float64", **relu_kw), 2)
    base = _baseline(
        "relu",
        lambda a, b: relu_pair_loop(a, b, 2.0, 0.05, DEPTH),
        x,
        res,
        args.pairs_baseline,
        n * n,
    )
    print(f"  speed-up over the NumPy loop: {base / t_relu:,.0f}x")
    result(f"widenets relu NNGP/NTK, {n}^2 pairs, depth {DEPTH}, float64",
           f"closed form {t_relu:.2f} s", f"NumPy loop over pairs {base:.1f} s (extrapolated)",
           base / t_relu, "none set (speed-up reported)", None)  # fmt: skip
    c = _nt_case(nt, "relu")
    if c:
        _vs_nt(c, t_relu, CPU["ours"])
        result(f"widenets relu NNGP/NTK, {n}^2 pairs, vs neural-tangents",
               f"closed form {t_relu:.2f} s (CPU {CPU['ours']:.2f} s)",
               f"neural-tangents {c['seconds']:.2f} s (CPU {c['cpu']:.2f} s)",
               c["seconds"] / t_relu, "none set (speed-up reported)", None)  # fmt: skip
        print(
            f"  max |ours - NT|: NNGP {np.abs(res.nngp - c['nngp']).max():.1e}, NTK {np.abs(res.ntk - c['ntk']).max():.1e}"
        )
    else:
        print("  neural-tangents: NT unavailable")
    r32 = kernels(x, dtype="float32", **relu_kw)
    sym = max(np.abs(r32.nngp - r32.nngp.T).max(), np.abs(r32.ntk - r32.ntk.T).max())
    diag = np.abs(np.diag(r32.ntk) - np.diag(res.ntk)).max()
    print(
        f"  float32: max |K - K^T| = {sym:.1e} (symmetric by construction); NTK diagonal error {diag:.1e}"
    )
    c = _nt_case(nt, "relu32")
    if c:
        nsym = max(np.abs(c["nngp"] - c["nngp"].T).max(), np.abs(c["ntk"] - c["ntk"].T).max())
        ndiag = np.abs(np.diag(c["ntk"]) - np.diag(res.ntk)).max()
        print(
            f"  float32 neural-tangents: max |K - K^T| = {nsym:.1e}; NTK diagonal error {ndiag:.1e}"
        )

    # 2. gelu ------------------------------------------------------------------------------
    print("\n2. gelu: closed form against the quadrature table path (same inputs)")
    t_gelu, res = _timed(
        "closed form", lambda: kernels(x, activation="gelu", dtype="float64", **act_kw), 2
    )
    cpu_gelu = CPU["closed form"]
    t_tab, tab = _timed(
        "table path (baseline)",
        lambda: kernels(x, activation="gelu", method="table", dtype="float64", **act_kw),
        2,
    )
    print(f"  closed form is {t_tab / t_gelu:.1f}x faster than the table path")
    result(f"widenets gelu NNGP/NTK, {n}^2 pairs, depth {DEPTH}, float64",
           f"closed form {t_gelu:.2f} s", f"quadrature table path {t_tab:.2f} s",
           t_tab / t_gelu, "speed-up > 1x", t_tab > t_gelu)  # fmt: skip
    print(
        f"  max |closed - table|: NNGP {np.abs(res.nngp - tab.nngp).max():.1e}, NTK {np.abs(res.ntk - tab.ntk).max():.1e}"
    )
    c = _nt_case(nt, "gelu")
    if c:
        _vs_nt(c, t_gelu, cpu_gelu, "neural-tangents (closed form)")
        result(f"widenets gelu NNGP/NTK, {n}^2 pairs, vs neural-tangents",
               f"closed form {t_gelu:.2f} s (CPU {cpu_gelu:.2f} s)",
               f"neural-tangents closed form {c['seconds']:.2f} s (CPU {c['cpu']:.2f} s)",
               c["seconds"] / t_gelu, "speed-up > 1x", c["seconds"] > t_gelu)  # fmt: skip
        print(
            f"  max |ours - NT|: NNGP {np.abs(res.nngp - c['nngp']).max():.1e}, NTK {np.abs(res.ntk - c['ntk']).max():.1e}"
        )
    else:
        print("  neural-tangents: NT unavailable")

    # 3. tanh, equal norms ---------------------------------------------------------------
    print("\n3. tanh, equal norms (table path)")
    t_tanh, res = _timed(
        "ours", lambda: kernels(x, activation="tanh", dtype="float64", **act_kw), 2
    )
    base = _baseline(
        "tanh, polar Gauss rule per pair",
        lambda a, b: quad_pair_loop(a, b, 1.5, 0.05, DEPTH, np.tanh, lambda z: 1 - np.tanh(z) ** 2),
        x, res, args.pairs_quad, n * n,
    )  # fmt: skip
    print(f"  speed-up over the NumPy loop: {base / t_tanh:,.0f}x")
    result(f"widenets tanh NNGP/NTK, equal norms, {n}^2 pairs", f"table path {t_tanh:.2f} s",
           f"NumPy loop of the polar rule {base:,.0f} s (extrapolated)", base / t_tanh,
           "none set (speed-up reported)", None)  # fmt: skip

    # 4. unequal norms -------------------------------------------------------------------
    print("\n4. inputs of unequal norms")
    t_ser, ser = _timed(
        "tanh, Hermite-series path",
        lambda: kernels(xg, activation="tanh", dtype="float64", **act_kw),
        2,
    )
    print(f"  ratio to the equal-norm table path (section 3): {t_ser / t_tanh:.2f}  (target <= 2)")
    result(f"widenets tanh, unequal norms, {n}^2 pairs", f"Hermite-series path {t_ser:.2f} s",
           f"equal-norm table path {t_tanh:.2f} s", t_ser / t_tanh, "time ratio <= 2x",
           t_ser <= 2 * t_tanh)  # fmt: skip
    sub1, sub2 = xg[:30], xg[n // 2 : n // 2 + 40]
    t = time.perf_counter()
    pp = kernels(sub1, sub2, activation="tanh", method="quadrature", dtype="float64", **act_kw)
    t_pp = time.perf_counter() - t
    t = time.perf_counter()
    pp = kernels(sub1, sub2, activation="tanh", method="quadrature", dtype="float64", **act_kw)
    t_pp = time.perf_counter() - t
    extra = t_pp / pp.ntk.size * n * n
    err = max(
        np.abs(ser.nngp[:30, n // 2 : n // 2 + 40] - pp.nngp).max(),
        np.abs(ser.ntk[:30, n // 2 : n // 2 + 40] - pp.ntk).max(),
    )
    print(
        f"  per-pair quadrature path (baseline): {t_pp:.2f} s for {pp.ntk.size:,} pairs, "
        f"extrapolated to {n * n:,}: {extra:,.0f} s  [subsample, extrapolated linearly]"
    )
    print(
        f"  series path is {extra / t_ser:,.0f}x faster; max |series - per-pair| on the subsample: {err:.1e}"
    )
    result(f"widenets tanh, unequal norms, {n}^2 pairs, vs per-pair path",
           f"Hermite-series path {t_ser:.2f} s",
           f"per-pair quadrature path {extra:,.0f} s (extrapolated)", extra / t_ser,
           "none set (speed-up reported)", None)  # fmt: skip
    t_gu, gu = _timed(
        "gelu, closed form", lambda: kernels(xg, activation="gelu", dtype="float64", **act_kw), 2
    )
    c = _nt_case(nt, "gelu_unequal")
    if c:
        _vs_nt(c, t_gu, CPU["gelu, closed form"], "neural-tangents gelu")
        result(f"widenets gelu, unequal norms, {n}^2 pairs, vs neural-tangents",
               f"closed form {t_gu:.2f} s", f"neural-tangents {c['seconds']:.2f} s",
               c["seconds"] / t_gu, "speed-up > 1x", c["seconds"] > t_gu)  # fmt: skip
    m = n // 2
    t_spe, _ = _timed(
        f"softplus C_w = 2, {m} inputs, equal norms (table)",
        lambda: kernels(x[:m], activation="softplus", depth=DEPTH, cw=2.0, cb=0.0, dtype="float64"),
        2,
    )
    t_spu, _ = _timed(
        f"softplus C_w = 2, {m} inputs, unequal norms (series)",
        lambda: kernels(
            xg[:m], activation="softplus", depth=DEPTH, cw=2.0, cb=0.0, dtype="float64"
        ),
        2,
    )
    print(f"  softplus: ratio series / table {t_spu / t_spe:.2f}  (target <= 2)")
    result(f"widenets softplus C_w=2, unequal norms, {m}^2 pairs",
           f"Hermite-series path {t_spu:.2f} s", f"equal-norm table path {t_spe:.2f} s",
           t_spu / t_spe, "time ratio <= 2x", t_spu <= 2 * t_spe)  # fmt: skip
    c = _nt_case(nt, "tanh_subset")
    if c:
        m = NT_SUBSET
        nt_extra = c["seconds"] / (m * m) * n * n
        nt_cpu = c["cpu"] / (m * m) * n * n
        nt_err = np.abs(c["ntk"] - ser.ntk[:m, :m]).max()
        print(
            f"  neural-tangents tanh (Gauss-Hermite, deg 25): {c['seconds']:.2f} s for {m}^2 pairs, "
            f"extrapolated {nt_extra:,.0f} s (CPU {nt_cpu:,.0f} s) -> ours is {nt_extra / t_ser:,.0f}x "
            f"faster by wall clock, {nt_cpu / CPU['tanh, Hermite-series path']:,.0f}x by CPU time"
        )
        print(f"  its max NTK error against ours on those pairs: {nt_err:.1e}")
        result(f"widenets tanh, unequal norms, {n}^2 pairs, vs neural-tangents",
               f"Hermite-series path {t_ser:.2f} s",
               f"neural-tangents Gauss-Hermite {nt_extra:,.0f} s (extrapolated from {m}^2)",
               nt_extra / t_ser, "none set (speed-up reported)", None)  # fmt: skip
    else:
        print("  neural-tangents: NT unavailable")

    accuracy_section()


if __name__ == "__main__":
    main()

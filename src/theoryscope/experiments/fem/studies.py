"""The multi-fit computations of the fem experiment (each a declared Study).

    conditioning   cond(G) of both bases against n on uniform, adaptive and random nodes, with
                   the fitted exponents and the FE mass-matrix bounds
    table          the talk's Table 1: least squares of arctan(25x) in float32 and float64,
                   n = 100 and 1000, uniform and adaptive nodes, MAX and MSE beside the talk's
    noise          least squares from noisy samples, and over-parametrized (1000 samples,
                   n = 1500), in both bases
    structured     the divide-and-conquer network against a shallow network of the same size,
                   trained by Adam with the same budget, and the exact constructions

Every function takes its params, a seed and a StudyContext and returns JSON (lists, floats).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theoryscope.experiments.fem import bases, lsq
from theoryscope.experiments.fem.mesh import make_nodes
from theoryscope.experiments.fem.targets import get_target
from theoryscope.spec import StudyContext

#: The talk's Table 1 (slide "Numerical test"): arctan(25x) with sufficient samples, quoted
#: exactly. Keys: (basis, nodes, n, dtype) -> (MAX, MSE); "relu" is the talk's NN row.
TALK_TABLE: dict[tuple[str, str, int, str], tuple[float, float]] = {
    ("relu", "uniform", 100, "float32"): (6.09e-2, 9.58e-5),
    ("relu", "uniform", 1000, "float32"): (7.19e-2, 1.43e-4),
    ("relu", "uniform", 100, "float64"): (1.37e-2, 1.70e-6),
    ("relu", "uniform", 1000, "float64"): (1.05e-4, 1.33e-10),
    ("fe", "uniform", 100, "float32"): (1.37e-2, 1.70e-6),
    ("fe", "uniform", 1000, "float32"): (1.05e-4, 1.33e-10),
    ("fe", "uniform", 100, "float64"): (1.37e-2, 1.70e-6),
    ("fe", "uniform", 1000, "float64"): (1.05e-4, 1.33e-10),
    ("relu", "adaptive", 100, "float32"): (6.83e-2, 7.54e-5),
    ("relu", "adaptive", 1000, "float32"): (1.89e-2, 1.06e-5),
    ("relu", "adaptive", 100, "float64"): (3.93e-3, 1.42e-6),
    ("relu", "adaptive", 1000, "float64"): (4.74e-5, 1.17e-10),
    ("fe", "adaptive", 100, "float32"): (2.92e-3, 9.95e-7),
    ("fe", "adaptive", 1000, "float32"): (3.79e-5, 1.02e-10),
    ("fe", "adaptive", 100, "float64"): (2.92e-3, 9.95e-7),
    ("fe", "adaptive", 1000, "float64"): (3.77e-5, 1.02e-10),
}
#: Talk, slide "Spectral analysis ... 1D", Theorem: cond >= O(n^3 / log n) for i.i.d. nodes.
TALK_RANDOM_EXPONENT = 3.0
#: lambda_1 / lambda_n ~ mu_1 / mu_n with mu_k ~ k^-4 (talk, Lemma) on quasi-uniform nodes.
GRID_EXPONENT = 4.0
NAMES = {"relu": "NN", "fe": "FEM"}


def _slope(x: list[float], y: list[float]) -> float | None:
    """Least-squares slope of log y against log x (None with fewer than two points)."""
    pts = [(a, b) for a, b in zip(x, y, strict=True) if a > 0 and b > 0 and math.isfinite(b)]
    if len(pts) < 2:
        return None
    lx, ly = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(lx, ly, 1)[0])


# ------------------------------------------------------------------------------------------------
# conditioning
# ------------------------------------------------------------------------------------------------
def run_conditioning(params: Any, seed: int, context: StudyContext) -> dict[str, Any]:
    """cond(G) for relu and fe against n (uniform, adaptive, ``draws`` random node sets)."""
    kinds = ("uniform", "adaptive", "random")
    ns = sorted(params.ns)
    total = sum(n * n * n for n in ns) * (2 + params.draws)
    work = 0.0
    rows: list[dict[str, Any]] = []
    for n in ns:
        for kind in kinds:
            if context.should_stop():
                return {"stopped": True, "rows": rows}
            draws = params.draws if kind == "random" else 1
            relu, fe, ratio, lower, upper = [], [], [], [], []
            for d in range(draws):
                x = make_nodes(kind, n, target=params.target, freq=params.freq,
                               seed=(seed, n, d))  # fmt: skip
                relu.append(bases.condition_number("relu", x))
                fe.append(bases.condition_number("fe", x))
                h = np.diff(x)
                ratio.append(float(h.max() / h.min()))
                lo, hi = bases.fe_bounds(x)
                lower.append(lo)
                upper.append(hi)
            work += n**3 * draws
            context.progress(work / total, f"{kind} n={n}")
            violations = sum(not (lo * (1 - 1e-9) <= c <= hi * (1 + 1e-9))
                             for c, lo, hi in zip(fe, lower, upper, strict=True))  # fmt: skip
            rows.append({
                "kind": kind, "n": n, "draws": draws,
                "relu": float(np.median(relu)), "relu_min": float(np.min(relu)),
                "relu_max": float(np.max(relu)), "fe": float(np.median(fe)),
                "fe_max": float(np.max(fe)), "h_ratio": float(np.median(ratio)),
                "fe_over_h_ratio_max": float(np.max(np.asarray(fe) / np.asarray(ratio))),
                "fe_bound_violations": int(violations),
                "talk_bound": n**3 / math.log(n),
                "talk_bound_holds": bool(min(relu) >= n**3 / math.log(n)),
            })  # fmt: skip
    exponents = []
    for kind in kinds:
        sel = [r for r in rows if r["kind"] == kind]
        theory = TALK_RANDOM_EXPONENT if kind == "random" else GRID_EXPONENT
        exponents.append({
            "kind": kind,
            "relu": _slope([r["n"] for r in sel], [r["relu"] for r in sel]),
            "relu_theory": theory,
            "relu_theory_is_lower_bound": kind == "random",
            "fe": _slope([r["n"] for r in sel], [r["fe"] for r in sel]),
            "fe_theory": 0.0 if kind == "uniform" else None,
            "h_ratio": _slope([r["n"] for r in sel], [r["h_ratio"] for r in sel]),
        })  # fmt: skip
    return {
        "stopped": False,
        "rows": rows,
        "exponents": exponents,
        "fe_bound_violations": int(sum(r["fe_bound_violations"] for r in rows)),
        "talk_bound_failures": int(
            sum(not r["talk_bound_holds"] for r in rows if r["kind"] == "random")
        ),  # fmt: skip
        "zero": 0,
        "target": params.target,
    }


def conditioning_lines(result: dict[str, Any]) -> list[str]:
    lines = []
    for e in result.get("exponents", []):
        relu = e["relu"] if e["relu"] is not None else float("nan")
        fe = e["fe"] if e["fe"] is not None else float("nan")
        claim = ">=" if e["relu_theory_is_lower_bound"] else "~"
        lines.append(f"{e['kind']:<9} cond(G_relu) ~ n^{relu:.2f} (talk {claim} "
                     f"{e['relu_theory']:g}); cond(M) ~ n^{fe:.2f}")  # fmt: skip
    for r in result.get("rows", []):
        lines.append(f"{r['kind']:<9} n={r['n']:<5} relu {r['relu']:.3e}  fe {r['fe']:.3g}  "
                     f"h_max/h_min {r['h_ratio']:.3g}")  # fmt: skip
    lines.append(f"FE bound max P/min P <= cond(M) <= 3 max P/min P violated "
                 f"{result.get('fe_bound_violations')} times")  # fmt: skip
    return lines


# ------------------------------------------------------------------------------------------------
# Table 1
# ------------------------------------------------------------------------------------------------
def run_table(params: Any, seed: int, context: StudyContext) -> dict[str, Any]:
    """Least squares of the target in both bases, uniform and adaptive nodes, float32/float64."""
    target = get_target(params.target, params.freq)
    test = lsq.test_grid(params.test_points)
    comparable = params.target == "arctan" and params.test_points == lsq.TEST_POINTS
    cases = [(kind, n) for n in params.ns for kind in ("uniform", "adaptive")]
    rows: list[dict[str, Any]] = []
    for i, (kind, n) in enumerate(cases):
        if context.should_stop():
            return {"stopped": True, "rows": rows}
        x = make_nodes(kind, n, target=params.target, freq=params.freq)
        load = bases.loads(target, x).fe
        for basis in ("relu", "fe"):
            for dtype in ("float32", "float64"):
                fit = lsq.fit(basis, x, target, dtype, params.solver, samples=params.samples,
                              test=test, fe_load=load)  # fmt: skip
                talk = TALK_TABLE.get((basis, kind, n, dtype)) if comparable else None
                rows.append({
                    **fit.row(), "nodes": kind,
                    "label": f"{NAMES[basis]} {kind} n={n} {dtype}",
                    "talk_max": talk[0] if talk else None,
                    "talk_mse": talk[1] if talk else None,
                })  # fmt: skip
        context.progress((i + 1) / len(cases), f"{kind} n={n}")
    return {
        "stopped": False,
        "solver": params.solver,
        "target": target.label,
        "rows": rows,
        "fe_rows": [r for r in rows if r["basis"] == "fe"],
        "relu_rows": [r for r in rows if r["basis"] == "relu"],
    }


def table_lines(result: dict[str, Any]) -> list[str]:
    lines = [f"least squares of {result.get('target')} (solver {result.get('solver')}); "
             "ours | talk's Table 1"]  # fmt: skip

    def show(v: Any) -> str:
        return f"{v:.2e}" if isinstance(v, float) else "   -    "

    for r in result.get("rows", []):
        lines.append(f"{r['label']:<28} MAX {show(r['max'])} | {show(r['talk_max'])}   "
                     f"MSE {show(r['mse'])} | {show(r['talk_mse'])}"
                     + (f"   rank {r['rank']}" if r.get("rank") is not None else ""))  # fmt: skip
    return lines


# ------------------------------------------------------------------------------------------------
# noise and over-parametrization
# ------------------------------------------------------------------------------------------------
def run_noise(params: Any, seed: int, context: StudyContext) -> dict[str, Any]:
    """Fits from ``samples`` noisy samples ``y = f + sigma z`` (z ~ N(0, 1)), pseudo-inverse with
    MATLAB's tolerance, for every n, basis, dtype and sigma. The noise the fit keeps at the
    samples is ``|P z|^2 sigma^2 / M`` with P the projector on the kept singular vectors:
    ``sigma^2 r / M`` in expectation (r the rank kept)."""
    target = get_target(params.target, params.freq)
    test = lsq.test_grid(params.test_points)
    f_test = target.f(test)
    xs = np.linspace(-1.0, 1.0, params.samples)
    rng = np.random.default_rng(params.noise_seed)
    z = rng.standard_normal((params.draws, params.samples))
    rows: list[dict[str, Any]] = []
    curves: list[dict[str, Any]] = []
    cases = [(n, basis, dtype) for n in params.ns for basis in ("relu", "fe")
             for dtype in ("float32", "float64")]  # fmt: skip
    plot_x = np.linspace(-1.0, 1.0, 801)
    for i, (n, basis, dtype) in enumerate(cases):
        if context.should_stop():
            return {"stopped": True, "rows": rows}
        x = make_nodes(params.nodes, n, target=params.target, freq=params.freq)
        design = bases.features(basis, xs, x)
        dt = np.dtype(dtype)
        u, s, vt = np.linalg.svd(design.astype(dt), full_matrices=False)
        keep = s > max(design.shape) * lsq.EPS[dtype] * s[0]
        rank = int(keep.sum())
        uk, sk, vk = u[:, keep], s[keep], vt[keep].T

        def solve(y: np.ndarray, uk: Any = uk, sk: Any = sk, vk: Any = vk, dt: Any = dt) -> Any:
            return (vk @ ((uk.T @ y.astype(dt)) / sk)).astype(dt)

        clean = solve(target.f(xs))
        at_samples_clean = design @ clean.astype(np.float64)
        for sigma in params.levels:
            errs, kept = [], []
            for d in range(params.draws):
                a = solve(target.f(xs) + sigma * z[d])
                h = bases.evaluate(basis, x, a, test, dtype)
                errs.append(lsq.errors(h, f_test))
                diff = design @ a.astype(np.float64) - at_samples_clean
                kept.append(float(diff @ diff) / params.samples)
            rows.append({
                "n": n, "basis": basis, "dtype": dtype, "sigma": float(sigma), "rank": rank,
                "over": n > params.samples,
                "label": f"{NAMES[basis]} n={n} {dtype} sigma={sigma:g}",
                "max": float(np.mean([e[0] for e in errs])),
                "mse": float(np.mean([e[1] for e in errs])),
                "noise_kept": float(np.mean(kept)),
                "noise_kept_predicted": float(sigma**2 * rank / params.samples) if sigma > 0
                else None,
            })  # fmt: skip
            if sigma == max(params.levels) and dtype == "float32":
                a = solve(target.f(xs) + sigma * z[0])
                curves.append({"n": n, "basis": basis, "sigma": float(sigma),
                               "h": bases.evaluate(basis, x, a, plot_x, dtype).tolist()})  # fmt: skip
        context.progress((i + 1) / len(cases), f"{basis} n={n} {dtype}")
    return {
        "stopped": False,
        "target": target.label,
        "samples": params.samples,
        "rows": rows,
        "noisy_rows": [r for r in rows if r["sigma"] > 0],
        "plot_x": plot_x.tolist(),
        "f": target.f(plot_x).tolist(),
        "curves": curves,
    }


def noise_lines(result: dict[str, Any]) -> list[str]:
    lines = [f"{result.get('target')} from {result.get('samples')} noisy samples (pinv, MATLAB "
             "tolerance); errors against the clean target"]  # fmt: skip
    for r in result.get("rows", []):
        pred = r["noise_kept_predicted"]
        extra = f"  noise kept {r['noise_kept']:.2e} (sigma^2 r/M {pred:.2e})" if pred else ""
        lines.append(f"{r['label']:<32} rank {r['rank']:<5} MAX {r['max']:.2e} MSE "
                     f"{r['mse']:.2e}{extra}")  # fmt: skip
    return lines


# ------------------------------------------------------------------------------------------------
# structured vs shallow
# ------------------------------------------------------------------------------------------------
def run_structured(params: Any, seed: int, context: StudyContext) -> dict[str, Any]:
    """Per target: the exact constructions, then a structured and a shallow network with the
    same number of trainable parameters, trained by Adam with the same steps and step size, and
    both with their inner features frozen at init and the outer layer by least squares."""
    import jax

    from theoryscope.experiments.fem import structured as st

    names = ("gauss", "cosine", "sine") if params.target == "all" else (params.target,)
    test = lsq.test_grid(params.test_points)
    xs = np.linspace(-1.0, 1.0, params.samples)
    key = jax.random.key(seed)
    out: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        target = get_target(name, params.freq)
        f_test = target.f(test)
        exact = st.construction(target.f, params.pieces)
        composition = None
        if name == "gauss":
            f, f1, f2 = st.example_one()
            composition = float(np.max(np.abs(f2(f1(test)) - f(test))))
        elif name == "cosine":
            f, f1, f2 = st.example_two(params.freq)
            composition = float(np.max(np.abs(f2(f1(test)) - f(test))))
        p_struct = st.init_structured(jax.random.fold_in(key, 2 * i), params.pieces, params.units)
        dof = st.dof(p_struct)
        width = (dof - 1) // 3
        p_shallow = st.init_shallow(jax.random.fold_in(key, 2 * i + 1), width)
        row: dict[str, Any] = {
            "target": name, "label": target.label, "pieces": params.pieces,
            "units": params.units, "width": width, "dof_structured": dof,
            "dof_shallow": st.dof(p_shallow),
            "construction_error": float(np.max(np.abs(exact(test) - f_test))),
            "composition_error": composition, "zero": 0.0,
        }  # fmt: skip
        nets = (("structured", st.structured_apply, p_struct, st.structured_features),
                ("shallow", st.shallow_apply, p_shallow, st.shallow_features))  # fmt: skip
        for j, (label, apply, p0, feats) in enumerate(nets):
            if context.should_stop():
                return {"stopped": True, "targets": out}
            h = st.frozen_least_squares(feats(p0), xs, target.f(xs))
            row[f"{label}_ls_max"], row[f"{label}_ls_mse"] = lsq.errors(h(test), f_test)
            trained = st.train(apply, p0, xs, target.f(xs), test, f_test, steps=params.steps,
                               lr=params.lr, records=params.records, dtype=params.dtype,
                               should_stop=context.should_stop)  # fmt: skip
            row[f"{label}_max"] = trained.max_error
            row[f"{label}_mse"] = trained.mse
            row[f"{label}_seconds"] = trained.seconds
            row[f"{label}_compile_seconds"] = trained.compile_seconds
            row[f"{label}_status"] = trained.status
            row[f"{label}_step"] = trained.step.tolist()
            row[f"{label}_loss"] = trained.loss.tolist()
            row[f"{label}_final_loss"] = float(trained.loss[-1])
            context.progress((2 * i + j + 1) / (2 * len(names)), f"{name}: {label}")
        row["mse_ratio"] = (row["structured_mse"] / row["shallow_mse"]
                            if row["shallow_mse"] > 0 else None)  # fmt: skip
        row["seconds_ratio"] = (row["structured_seconds"] / row["shallow_seconds"]
                                if row["shallow_seconds"] > 0 else None)  # fmt: skip
        out.append(row)
    status = "finished"
    if any(r.get(f"{k}_status") == "diverged" for r in out for k in ("structured", "shallow")):
        status = "diverged"
    return {"stopped": False, "targets": out, "status": status,
            "message": "a training run diverged" if status == "diverged" else None}  # fmt: skip


def structured_lines(result: dict[str, Any]) -> list[str]:
    lines = []
    for r in result.get("targets", []):
        comp = r["composition_error"]
        lines.append(f"{r['label']}: construction error {r['construction_error']:.1e}"
                     + (f", f2(f1(x)) error {comp:.1e}" if comp is not None else ""))  # fmt: skip
        for net in ("structured", "shallow"):
            dof = r[f"dof_{net}"]
            lines.append(f"  {net:<10} dof {dof:<5} Adam: MAX {r[f'{net}_max']:.2e} MSE "
                         f"{r[f'{net}_mse']:.2e} in {r[f'{net}_seconds']:.2f} s; frozen "
                         f"features + LS: MAX {r[f'{net}_ls_max']:.2e} MSE "
                         f"{r[f'{net}_ls_mse']:.2e}")  # fmt: skip
    return lines

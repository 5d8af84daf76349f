"""The quadratic-network landscape studies: every critical point with its Hessian signature,
where GD ends, and the teacher-metric discriminant crossed by a data covariance.

critical-points  enumerate the predicted critical sets (critical.py) for a teacher, a width, the
                 outer-weight mode and a data covariance; at a representative of each (moved by a
                 random symmetry of the parameterization) measure in float64 the loss, the
                 gradient (JAX and the hand-written NumPy one) and the Hessian's signature
                 (jax.hessian, eigvalsh) against the prediction
gd-endpoints     GD from random inits (seeds batched); each end point is matched to the nearest
                 predicted critical set (exact distance in function space); counts per set
discriminant     the variance s of one input coordinate swept on a log grid: the critical
                 structure at each s, the points where it changes (bisection; the vanishing
                 factor of the discriminant is named) and GD end points at chosen s values

Arjevani, Bruna, Kileel, Polak, Trager 2025 (arXiv 2501.06074): the teacher-metric data
discriminant, and for quadratic networks an Eckart-Young theorem with Hessian signatures (the
formulas used are derived in critical.py; the paper's theorem text was not available here).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from pydantic import field_validator, model_validator

from theoryscope.errors import ConfigError
from theoryscope.spec import (
    Estimate,
    ExperimentConfig,
    Float,
    FloatTuple,
    Int,
    IntTuple,
    StudyContext,
    param,
)

PAPER = "Arjevani, Bruna, Kileel, Polak, Trager, arXiv 2501.06074"
EY = PAPER + " (quadratic networks: Eckart-Young for the Gaussian metric)"
DISC = PAPER + " (the teacher-metric data discriminant)"

#: Largest input dimension of these studies (2^d critical sets at most).
MAX_D = 10
MAX_WIDTH = 10
MAX_SEEDS = 1000
MAX_STEPS = 1_000_000
SEEDS_ALLOWED = (
    "a range like 0-9 (low <= high) or a list like 0,2,5 of distinct integers from 0 to 2^31-1, "
    f"at most {MAX_SEEDS}"
)
#: A GD end point belongs to a critical set when its distance in function space is below
#: this x max(1, ||M~*||_F).
MATCH_TOL = 1e-3


def read_seeds(value: Any, field: str = "seeds") -> Any:
    """``"0-9"`` is the inclusive range 0..9 (``"5-2"``, ``"-3"`` are refused); other values
    pass through to the list parser."""
    if not isinstance(value, str) or "-" not in value or "," in value:
        return value
    lo_text, _, hi_text = value.strip().partition("-")
    try:
        lo, hi = int(lo_text), int(hi_text)
    except ValueError:
        raise ConfigError(field, f"got {value!r}; allowed: {SEEDS_ALLOWED}") from None
    if lo < 0 or hi < lo or hi - lo >= MAX_SEEDS:
        raise ConfigError(field, f"got {value!r}; allowed: {SEEDS_ALLOWED}")
    return tuple(range(lo, hi + 1))


class QuadraticParams(ExperimentConfig):
    """A quadratic teacher-student problem: teacher spectrum and basis, data covariance, width and
    outer weights."""

    teacher_eigs: FloatTuple = param(
        (1.0, 0.6, -0.45, 0.15), item_ge=-100.0, item_le=100.0, min_items=1, max_items=MAX_D,
        help="Eigenvalues lambda*_j of the teacher M* (their number is d), e.g. 1,0.6,-0.45.",
        tex=r"\lambda^*", cite=PAPER, group="teacher",
    )  # fmt: skip
    teacher_basis: Literal["random", "aligned"] = param(
        "random", help="Teacher eigenvectors: a Haar-random orthogonal basis (teacher_seed) or the "
        "input coordinates (aligned: M* diagonal).", group="teacher",
    )  # fmt: skip
    teacher_seed: Int = param(0, ge=0, le=2**31 - 1, help="Seed of the random teacher basis.",
                              group="teacher", advanced=True)  # fmt: skip
    covariance: FloatTuple | None = param(
        None, item_gt=0.0, item_le=100.0, min_items=1, max_items=MAX_D,
        help="Data x ~ N(0, diag(covariance)), one variance per input coordinate (none: the "
        "identity).", tex=r"\Sigma", cite=PAPER, group="data",
    )  # fmt: skip
    width: Int = param(2, ge=1, le=MAX_WIDTH, help="Student width r.", tex="r", cite=PAPER,
                       group="student")  # fmt: skip
    outer: Literal["signed", "free"] = param(
        "signed", help="Outer weights: signed (fixed +1/-1, only W trained) or free (W and a "
        "trained).", cite=PAPER, group="student",
    )  # fmt: skip
    negative: Int = param(
        0, ge=0, le=MAX_WIDTH, help="signed: how many outer weights are -1 (the rest +1).",
        tex="q", group="student",
    )  # fmt: skip

    @model_validator(mode="before")
    @classmethod
    def _free_has_no_negative(cls, data: Any) -> Any:
        """Free outer weights take either sign: ``negative`` is 0 unless given (then refused)."""
        if not isinstance(data, dict) or data.get("outer") != "free":
            return data
        given = data.get("negative")
        if given not in (None, 0, "0"):
            raise ConfigError("negative", f"got {given!r} with free outer weights; allowed: 0 "
                              "(free weights take either sign)")  # fmt: skip
        return {**data, "negative": 0}

    @model_validator(mode="after")
    def _shapes(self) -> Any:
        d = len(self.teacher_eigs)
        if self.covariance is not None and len(self.covariance) != d:
            raise ConfigError("covariance", f"has {len(self.covariance)} entries; allowed: one "
                              f"per teacher eigenvalue ({d})")  # fmt: skip
        if self.negative > self.width:
            raise ConfigError("negative", f"got {self.negative} > width {self.width}; allowed: "
                              "0 to width")  # fmt: skip
        return self

    @property
    def d(self) -> int:
        return len(self.teacher_eigs)

    def problem(self, covariance: Any = None) -> Any:
        from theoryscope.experiments.polynets.quadratic import make_problem

        cov = self.covariance if covariance is None else covariance
        return make_problem(self.teacher_eigs, width=self.width, outer=self.outer,
                            negative=self.negative, covariance=cov,
                            teacher_basis=self.teacher_basis,
                            teacher_seed=self.teacher_seed)  # fmt: skip


def _n_sets(d: int, r: int) -> int:
    return sum(math.comb(d, k) for k in range(min(r, d) + 1))


# ------------------------------------------------------------------------------------------------
# critical-points
# ------------------------------------------------------------------------------------------------
class CriticalParams(QuadraticParams):
    """``critical-points``: the problem plus how the Hessian is checked."""

    negative: Int = param(
        1, ge=0, le=MAX_WIDTH, help="signed: how many outer weights are -1 (the rest +1).",
        tex="q", group="student",
    )  # fmt: skip
    covariance: FloatTuple | None = param(
        (1.5, 1.0, 0.7, 1.2), item_gt=0.0, item_le=100.0, min_items=1, max_items=MAX_D,
        help="Data x ~ N(0, diag(covariance)), one variance per input coordinate (none: the "
        "identity).", tex=r"\Sigma", cite=PAPER, group="data",
    )  # fmt: skip
    max_checks: Int = param(
        256, ge=1, le=4096, help="Hessians computed at most (the sets of lowest loss first).",
        group="check",
    )  # fmt: skip
    zero_tol: Float = param(
        1e-9, gt=0, le=1e-3, help="A Hessian eigenvalue |e| <= zero_tol x max |e| counts as zero.",
        group="check", advanced=True,
    )  # fmt: skip


def _random_symmetry(problem: Any, w: np.ndarray, a: np.ndarray,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Move a point along its critical set: ``signed`` W -> W Q with Q in O(p, q) (a rotation in
    O(p) x O(q) times a hyperbolic rotation mixing one +1 and one -1 neuron, Q E Q^T = E);
    ``free`` w_j -> c_j w_j, a_j -> a_j / c_j^2 (c_j in [0.5, 2]) and a permutation."""
    from theoryscope.experiments.polynets.quadratic import haar_orthogonal

    r = problem.width
    if problem.outer == "signed":
        p = problem.positive
        q = np.zeros((r, r))
        if p:
            q[:p, :p] = haar_orthogonal(p, rng)
        if r - p:
            q[p:, p:] = haar_orthogonal(r - p, rng)
        if 0 < p < r:
            t = rng.uniform(-0.5, 0.5)
            boost = np.eye(r)
            boost[0, 0] = boost[p, p] = math.cosh(t)
            boost[0, p] = boost[p, 0] = math.sinh(t)
            q = q @ boost
        return w @ q, a
    c = np.exp(rng.uniform(np.log(0.5), np.log(2.0), r))
    perm = rng.permutation(r)
    return (w * c[None, :])[:, perm], (a / c**2)[perm]


def run_critical(params: CriticalParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """Enumerate, then check the gradient and the Hessian signature at every set (module
    docstring)."""
    from theoryscope.experiments.polynets.critical import (
        count_formula,
        enumerate_critical,
        representative,
    )
    from theoryscope.experiments.polynets.quadratic import loss_and_grad
    from theoryscope.experiments.polynets.signature import measure, signature, tools

    problem = params.problem()
    sets = enumerate_critical(problem)
    rng = np.random.default_rng([int(seed), 21])
    context.progress(0.02, "compiling the float64 Hessian")
    kit = tools(problem)
    scale = max(1.0, float(np.max(np.abs(problem.lam))))
    rows: list[dict[str, Any]] = []
    spectra: list[dict[str, Any]] = []
    checked = len(sets) if len(sets) <= params.max_checks else params.max_checks
    stopped = False
    for n, cset in enumerate(sets):
        row = cset.to_dict()
        row["checks"] = []
        if n < checked:
            signs = [1.0, -1.0] if problem.outer == "free" and cset.spare else [1.0]
            for spare_sign in signs:
                w, a = representative(problem, cset, spare_sign)
                w, a = _random_symmetry(problem, w, a, rng)
                got = measure(problem, kit, w, a)
                _, gw, ga = loss_and_grad(problem, w[None], a[None])
                np_grad = math.sqrt(float(np.sum(gw**2) + (np.sum(ga**2) if problem.outer
                                                           == "free" else 0.0)))  # fmt: skip
                neg, zero, pos = signature(got["eigenvalues"], params.zero_tol)
                index = cset.index if spare_sign > 0 else cset.index_minus
                nullity = cset.nullity if spare_sign > 0 else cset.nullity_minus
                eigs = np.abs(got["eigenvalues"])
                big = float(np.max(eigs)) if eigs.size else 0.0
                nonzero = eigs[eigs > params.zero_tol * big]
                row["checks"].append({
                    "spare_sign": spare_sign, "loss": got["loss"],
                    "loss_error": abs(got["loss"] - cset.loss) / max(1.0, problem.teacher_norm),
                    "grad_norm": got["grad_norm"], "numpy_grad_norm": np_grad,
                    "index": neg, "nullity": zero, "positive": pos,
                    "index_pred": index, "nullity_pred": nullity,
                    "positive_pred": problem.n_params - int(index or 0) - int(nullity or 0),
                    "match": bool(neg == index and zero == nullity),
                    "smallest_nonzero": float(np.min(nonzero)) if nonzero.size else None,
                    "largest": big,
                })  # fmt: skip
                if len(spectra) < 64:
                    spectra.append({"label": cset.label, "spare_sign": spare_sign,
                                    "loss": cset.loss, "index_pred": index,
                                    "eigenvalues": got["eigenvalues"].tolist()})  # fmt: skip
        rows.append(row)
        context.progress(0.05 + 0.95 * (n + 1) / len(sets), f"set {n + 1}/{len(sets)}")
        if context.should_stop():
            stopped = True
            break
    checks = [c for row in rows for c in row["checks"]]
    formula = count_formula(problem)
    result: dict[str, Any] = {
        "d": problem.d, "width": problem.width, "outer": problem.outer,
        "positive": problem.positive if problem.outer == "signed" else None,
        "negative": problem.negative if problem.outer == "signed" else None,
        "n_params": problem.n_params, "teacher_eigs": list(params.teacher_eigs),
        "covariance": problem.cov.tolist(), "transformed_eigs": problem.lam.tolist(),
        "teacher_norm": problem.teacher_norm, "count": len(sets), "count_formula": formula,
        "count_all_subsets": _n_sets(problem.d, problem.width),
        "checked": len(checks), "matches": sum(c["match"] for c in checks),
        "match_fraction": (sum(c["match"] for c in checks) / len(checks)) if checks else None,
        "one": 1.0, "zero": 0.0,
        "max_grad_norm": max((c["grad_norm"] for c in checks), default=None),
        "max_numpy_grad_norm": max((c["numpy_grad_norm"] for c in checks), default=None),
        "max_loss_error": max((c["loss_error"] for c in checks), default=None),
        "grad_scale": scale,
        "stable": [r["label"] for r in rows if r["stable"]],
        "global_min": next((r["label"] for r in rows if r["global_min"]), None),
        "rows": rows, "spectra": spectra, "stopped": stopped,
    }  # fmt: skip
    return result


def critical_lines(result: Mapping[str, Any]) -> list[str]:
    signs = (f"p={result['positive']} q={result['negative']}" if result["outer"] == "signed"
             else "free outer weights")  # fmt: skip
    formula = result["count_formula"]
    lines = [
        f"d={result['d']} r={result['width']} {signs}  {result['n_params']} parameters  "
        f"transformed teacher eigenvalues {_nums(result['transformed_eigs'])}",
        f"{result['count']} critical sets (closed-form count: "
        f"{formula if formula is not None else 'none for this sign pattern'}; subsets of size "
        f"<= r: {result['count_all_subsets']}); Hessian checked at {result['checked']} points, "
        f"signature as predicted at {result['matches']}",
        f"max |grad L| {_g(result['max_grad_norm'])} (NumPy {_g(result['max_numpy_grad_norm'])}),"
        f" max |L - L_S| / L(0) {_g(result['max_loss_error'])}",
        "set          rank  loss        index  nullity  measured (index, nullity)  stable",
    ]
    for row in result["rows"]:
        got = ", ".join(f"({c['index']}, {c['nullity']})" + ("" if c["match"] else " !")
                        for c in row["checks"]) or "-"  # fmt: skip
        pred = (
            f"{row['index']}"
            if row["index_minus"] is None
            else f"{row['index']}/{row['index_minus']}"
        )
        lines.append(f"{row['label']:<12} {row['rank']:<5} {row['loss']:<11.5g} {pred:<6} "
                     f"{row['nullity']:<8} {got:<26} {row['stable']}")  # fmt: skip
    if result.get("stopped"):
        lines.append("stopped early: the rows above are the sets checked so far")
    return lines


def critical_estimate(params: CriticalParams) -> Estimate:
    n = _n_sets(params.d, params.width)
    p = params.d * params.width + params.width
    checks = min(n, params.max_checks) * (2 if params.outer == "free" else 1)
    seconds = 4.0 + n * 3e-5 * params.d + checks * (1e-3 + 2e-9 * p**3)
    return Estimate(memory_bytes=64e6 + 8.0 * (p * p * 4 + 64 * p), seconds=seconds,
                    fields=("teacher_eigs", "width", "max_checks"))  # fmt: skip


# ------------------------------------------------------------------------------------------------
# gd-endpoints
# ------------------------------------------------------------------------------------------------
class EndpointParams(QuadraticParams):
    """``gd-endpoints``: the problem plus GD from many inits."""

    outer: Literal["signed", "free"] = param(
        "free", help="Outer weights: signed (fixed +1/-1, only W trained) or free (W and a "
        "trained).", cite=PAPER, group="student",
    )  # fmt: skip
    covariance: FloatTuple | None = param(
        (1.5, 1.0, 0.7, 1.2), item_gt=0.0, item_le=100.0, min_items=1, max_items=MAX_D,
        help="Data x ~ N(0, diag(covariance)), one variance per input coordinate (none: the "
        "identity).", tex=r"\Sigma", cite=PAPER, group="data",
    )  # fmt: skip
    seeds: IntTuple = param(
        tuple(range(40)), item_ge=0, item_le=2**31 - 1, min_items=1, max_items=MAX_SEEDS,
        distinct=True, help="Init seeds: a range like 0-39 or a list like 0,2,5.",
        allowed=SEEDS_ALLOWED, sweepable=False, group="training",
    )  # fmt: skip
    init: Float = param(0.5, gt=0, le=100.0, help="Init scale: W_ij, a_j ~ N(0, init^2).",
                        tex=r"\sigma_0", group="training")  # fmt: skip
    lr: Float = param(0.01, gt=0, cap=1e3, help="GD step size eta.", tex=r"\eta",
                      group="training")  # fmt: skip
    steps: Int = param(5000, ge=1, le=MAX_STEPS, help="GD steps per run.", web_max=200_000,
                       group="training")  # fmt: skip

    @field_validator("seeds", mode="before")
    @classmethod
    def _seed_range(cls, value: Any) -> Any:
        return read_seeds(value)


def gd_endpoints(problem: Any, sets: list[Any], seeds: list[int], init: float, lr: float,
                 steps: int, context: StudyContext | None = None, lo: float = 0.0,
                 hi: float = 1.0) -> dict[str, Any]:  # fmt: skip
    """GD from every seed (batched), each end point matched to the nearest predicted set."""
    from theoryscope.experiments.polynets.critical import distance_to_set
    from theoryscope.experiments.polynets.quadratic import (
        gd,
        init_students,
        loss_and_grad,
        student_matrix,
    )

    w, a = init_students(problem, seeds, init)
    chunks = max(1, min(20, steps))
    done = 0
    loss = np.full(len(seeds), np.nan)
    stopped = False
    for c in range(chunks):
        n = steps * (c + 1) // chunks - done
        w, a, loss = gd(problem, w, a, lr, n)
        done += n
        if context is not None:
            context.progress(lo + (hi - lo) * done / steps, f"GD step {done}/{steps}")
            if context.should_stop():
                stopped = True
                break
    _, gw, ga = loss_and_grad(problem, w, a)
    s = problem.sqrt_cov
    norm = max(1.0, float(np.linalg.norm(problem.lam)))
    ends: list[dict[str, Any]] = []
    hits = {c.label: 0 for c in sets}
    for b, seed in enumerate(seeds):
        entry: dict[str, Any] = {"seed": int(seed), "loss": float(loss[b])}
        if not np.isfinite(loss[b]):
            entry.update(matched=None, distance=None, diverged=True)
            ends.append(entry)
            continue
        mt = s[:, None] * student_matrix(w[b], a[b]) * s[None, :]
        dist = np.array([distance_to_set(problem, mt, c) for c in sets])
        j = int(np.argmin(dist))
        matched = bool(dist[j] <= MATCH_TOL * norm)
        gnorm = float(np.sqrt(np.sum(gw[b] ** 2) + (np.sum(ga[b] ** 2)
                                                   if problem.outer == "free" else 0.0)))  # fmt: skip
        entry.update(nearest=sets[j].label, distance=float(dist[j] / norm), matched=matched,
                     grad_norm=gnorm, nearest_loss=sets[j].loss, stable=sets[j].stable,
                     index_min=sets[j].index_min, diverged=False)  # fmt: skip
        if matched:
            hits[sets[j].label] += 1
        ends.append(entry)
    finite = [e for e in ends if not e["diverged"]]
    n_matched = sum(1 for e in finite if e["matched"])
    n_stable = sum(1 for e in finite if e["matched"] and e["stable"])
    n_global = sum(1 for e in finite if e["matched"] and e["nearest_loss"] <= sets[0].loss
                   + 1e-9 * max(1.0, sets[0].loss))  # fmt: skip
    total = max(1, len(finite))
    return {
        "ends": ends,
        "hits": hits,
        "diverged": len(ends) - len(finite),
        "matched_fraction": n_matched / total,
        "stable_fraction": n_stable / total,
        "global_fraction": n_global / total,
        "spurious_fraction": (n_stable - n_global) / total,
        "endpoint_sets": sum(1 for v in hits.values() if v),
        "stopped": stopped,
        "steps_done": done,
    }


def run_endpoints(params: EndpointParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """GD end points against the predicted critical sets (module docstring)."""
    from theoryscope.experiments.polynets.critical import enumerate_critical

    problem = params.problem()
    sets = enumerate_critical(problem)
    out = gd_endpoints(problem, sets, list(params.seeds), params.init, params.lr, params.steps,
                       context)  # fmt: skip
    rows = []
    for c in sets:
        hits = out["hits"][c.label]
        rows.append({"label": c.label, "loss": c.loss, "rank": c.rank, "index": c.index,
                     "index_min": c.index_min, "index_max": c.index_max, "stable": c.stable,
                     "global_min": c.global_min, "hits": hits,
                     "fraction": hits / max(1, len(params.seeds) - out["diverged"])})  # fmt: skip
    return {
        "d": problem.d, "width": problem.width, "outer": problem.outer,
        "transformed_eigs": problem.lam.tolist(), "teacher_norm": problem.teacher_norm,
        "seeds": list(params.seeds), "init": params.init, "lr": params.lr, "steps": params.steps,
        "rows": rows, "one": 1.0, "predicted_stable": sum(1 for c in sets if c.stable),
        **{k: v for k, v in out.items() if k != "hits"},
    }  # fmt: skip


def endpoint_lines(result: Mapping[str, Any]) -> list[str]:
    n = len(result["seeds"])
    lines = [
        f"d={result['d']} r={result['width']} outer={result['outer']}  {n} inits, init="
        f"{result['init']:g} lr={result['lr']:g} steps={result['steps']}  transformed teacher "
        f"eigenvalues {_nums(result['transformed_eigs'])}",
        f"end points in a predicted critical set: {result['matched_fraction']:.3f}; at a set "
        f"holding local minima: {result['stable_fraction']:.3f}; global: "
        f"{result['global_fraction']:.3f}; spurious: {result['spurious_fraction']:.3f}",
        "set          loss        index  stable  GD end points",
    ]
    for row in result["rows"]:
        idx = (
            str(row["index_min"])
            if row["index_min"] == row["index_max"]
            else f"{row['index_min']}-{row['index_max']}"
        )
        lines.append(f"{row['label']:<12} {row['loss']:<11.5g} {idx:<6} {str(row['stable']):<7} "
                     f"{row['hits']}")  # fmt: skip
    unmatched = [e for e in result["ends"] if not e["diverged"] and not e["matched"]]
    if unmatched:
        worst = max(e["distance"] for e in unmatched)
        lines.append(f"warning: {len(unmatched)} end points are not in any predicted set (largest "
                     f"relative distance {worst:.2e}); more --steps?")  # fmt: skip
    if result["diverged"]:
        lines.append(f"warning: {result['diverged']} runs diverged; lower --lr")
    return lines


def _gd_seconds(seeds: int, d: int, r: int, steps: int) -> float:
    """Batched NumPy GD, fitted on this 2-core machine (benchmarks of quadratic.gd): ~150 us per
    step plus ~1.5 us + 10 ns x d^2 r per seed and step."""
    return steps * (150e-6 + seeds * (1.5e-6 + 10e-9 * d * d * r))


def endpoint_estimate(params: EndpointParams) -> Estimate:
    seconds = _gd_seconds(len(params.seeds), params.d, params.width, params.steps)
    seconds += len(params.seeds) * _n_sets(params.d, params.width) * 3e-5
    return Estimate(memory_bytes=64e6 + 8.0 * 16 * len(params.seeds) * params.d**2,
                    seconds=seconds, fields=("seeds", "steps", "teacher_eigs"))  # fmt: skip


# ------------------------------------------------------------------------------------------------
# discriminant
# ------------------------------------------------------------------------------------------------
class DiscriminantParams(QuadraticParams):
    """``discriminant``: the variance s of input coordinate ``coordinate`` swept on a log grid."""

    teacher_eigs: FloatTuple = param(
        (1.0, -1.0), item_ge=-100.0, item_le=100.0, min_items=1, max_items=MAX_D,
        help="Eigenvalues lambda*_j of the teacher M* (their number is d), e.g. 1,-1.",
        tex=r"\lambda^*", cite=PAPER, group="teacher",
    )  # fmt: skip
    teacher_basis: Literal["random", "aligned"] = param(
        "aligned", help="Teacher eigenvectors: a Haar-random orthogonal basis (teacher_seed) or "
        "the input coordinates (aligned: M* diagonal).", group="teacher",
    )  # fmt: skip
    width: Int = param(1, ge=1, le=MAX_WIDTH, help="Student width r.", tex="r", cite=PAPER,
                       group="student")  # fmt: skip
    coordinate: Int = param(2, ge=1, le=MAX_D, help="The input coordinate whose variance s is "
                            "swept (1-based).", group="sweep")  # fmt: skip
    s_min: Float = param(0.1, gt=0, le=1e3, help="Smallest variance s.", tex="s", group="sweep")
    s_max: Float = param(10.0, gt=0, le=1e3, help="Largest variance s.", tex="s", group="sweep")
    points: Int = param(241, ge=2, le=4000, help="Log-spaced values of s.", group="sweep")
    gd_values: FloatTuple = param(
        (0.2, 0.5, 1.0, 2.0, 4.0, 8.0), item_gt=0.0, item_le=1e3, min_items=0, max_items=16,
        help="Values of s at which GD runs from every seed (may be empty).", group="sweep",
    )  # fmt: skip
    seeds: IntTuple = param(
        tuple(range(20)), item_ge=0, item_le=2**31 - 1, min_items=1, max_items=MAX_SEEDS,
        distinct=True, help="Init seeds: a range like 0-19 or a list like 0,2,5.",
        allowed=SEEDS_ALLOWED, sweepable=False, group="training",
    )  # fmt: skip
    init: Float = param(0.5, gt=0, le=100.0, help="Init scale: W_ij, a_j ~ N(0, init^2).",
                        tex=r"\sigma_0", group="training")  # fmt: skip
    lr: Float = param(
        0.01, gt=0, cap=1e3, help="GD step size at unit variance: eta(s) = lr / max(1, max "
        "variance)^2 (the curvature in W grows like the variance squared).", tex=r"\eta",
        group="training",
    )  # fmt: skip
    steps: Int = param(5000, ge=1, le=MAX_STEPS, help="GD steps per run.", web_max=200_000,
                       group="training")  # fmt: skip

    @field_validator("seeds", mode="before")
    @classmethod
    def _seed_range(cls, value: Any) -> Any:
        return read_seeds(value)

    @model_validator(mode="after")
    def _sweep(self) -> Any:
        if self.coordinate > self.d:
            raise ConfigError("coordinate", f"got {self.coordinate} with d = {self.d}; allowed: "
                              f"1 to {self.d}")  # fmt: skip
        if self.s_max <= self.s_min:
            raise ConfigError("s_max", f"got {self.s_max:g} <= s_min = {self.s_min:g}; "
                              "allowed: s_max > s_min")  # fmt: skip
        return self

    def covariance_at(self, s: float) -> np.ndarray:
        cov = np.ones(self.d) if self.covariance is None else np.array(self.covariance, float)
        cov[self.coordinate - 1] = float(s)
        return cov


def _structure(params: DiscriminantParams, s: float) -> tuple[Any, list[Any]]:
    from theoryscope.experiments.polynets.critical import enumerate_critical

    problem = params.problem(params.covariance_at(s))
    return problem, enumerate_critical(problem)


def _locate(params: DiscriminantParams, lo: float, hi: float, fp_lo: Any) -> float:
    """Bisection in log s for the change of the critical structure between lo and hi."""
    from theoryscope.experiments.polynets.critical import fingerprint

    a, b = math.log(lo), math.log(hi)
    for _ in range(60):
        mid = 0.5 * (a + b)
        if fingerprint(_structure(params, math.exp(mid))[1]) == fp_lo:
            a = mid
        else:
            b = mid
        if b - a < 1e-13:
            break
    return math.exp(0.5 * (a + b))


def _factor_value(params: DiscriminantParams, factor: Mapping[str, Any], s: float) -> float:
    """The value at variance s of one discriminant factor (same indices, sorted eigenvalues)."""
    problem, _ = _structure(params, s)
    lam = problem.lam
    if factor["kind"] == "crossing":
        return float(lam[factor["i"] - 1] - lam[factor["j"] - 1])
    kept = [i - 1 for i in factor["S"]]
    t_s = float(np.sum(lam)) - float(np.sum(lam[kept]))
    return float((len(kept) + 2) * lam[factor["l"] - 1] + t_s)


def _event(params: DiscriminantParams, s_star: float, lo: float, hi: float, before: list[Any],
           after: list[Any]) -> dict[str, Any]:  # fmt: skip
    """The factor of the discriminant that vanishes where the structure changes (s*, located by
    bisection on the enumerated structure) and its root (brentq on that factor alone)."""
    from scipy.optimize import brentq

    from theoryscope.experiments.polynets.critical import discriminant_factors

    problem, _ = _structure(params, s_star)
    factors = discriminant_factors(problem.lam, problem.width)
    scale = max(1.0, float(np.max(np.abs(problem.lam))))
    best = min(factors, key=lambda f: abs(f["value"]))
    root = None
    f_lo, f_hi = _factor_value(params, best, lo), _factor_value(params, best, hi)
    if f_lo == 0.0:
        root = lo
    elif f_lo * f_hi < 0:
        root = float(brentq(lambda x: _factor_value(params, best, x), lo, hi, xtol=1e-15,
                            rtol=1e-15))  # fmt: skip
    if best["kind"] == "rank":
        k = len(best["S"])
        what = (
            f"F = {k + 2} lambda_{best['l']} + T = 0 for S = {{"
            + ",".join(map(str, best["S"]))
            + f"}}: the set S + {best['l']} meets S "
            f"(mu_{best['l']} = 0) and changes the sign it needs"
        )
    else:
        what = f"lambda_{best['i']} = lambda_{best['j']}: two eigen-directions exchange"

    def describe(sets: list[Any]) -> list[str]:
        out = []
        for c in sets:
            idx = str(c.index_min) if c.index_min == c.index_max else f"{c.index_min}-{c.index_max}"
            out.append(f"{c.label}:{idx}{'*' if c.stable else ''}")
        return out

    return {
        "s": s_star,
        "root": root,
        "factor": best,
        "factor_relative": abs(best["value"]) / scale,
        "what": what,
        "transformed_eigs": problem.lam.tolist(),
        "n_before": len(before),
        "n_after": len(after),
        "stable_before": sum(1 for c in before if c.stable),
        "stable_after": sum(1 for c in after if c.stable),
        "before": describe(before),
        "after": describe(after),
    }


def run_discriminant(params: DiscriminantParams, seed: int, context: StudyContext
                     ) -> dict[str, Any]:  # fmt: skip
    """Critical structure along s, the discriminant crossings, GD at ``gd_values``."""
    from theoryscope.experiments.polynets.critical import fingerprint

    grid = np.geomspace(params.s_min, params.s_max, params.points)
    n_gd = len(params.gd_values)
    share = 0.3 if n_gd else 0.95
    table: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    prev: tuple[float, Any, list[Any]] | None = None
    stopped = False
    for n, s in enumerate(grid):
        problem, sets = _structure(params, float(s))
        fp = fingerprint(sets)
        if prev is not None and fp != prev[1]:
            s_star = _locate(params, prev[0], float(s), prev[1])
            events.append(_event(params, s_star, prev[0], float(s), prev[2], sets))
        table.append({
            "s": float(s), "n_sets": len(sets), "n_stable": sum(1 for c in sets if c.stable),
            "global_loss": sets[0].loss if sets else None,
            "global_label": sets[0].label if sets else None,
            "stable_losses": [c.loss for c in sets if c.stable],
            "saddle_losses": [c.loss for c in sets if not c.stable][:64],
            "transformed_eigs": problem.lam.tolist(), "teacher_norm": problem.teacher_norm,
        })  # fmt: skip
        prev = (float(s), fp, sets)
        context.progress(share * (n + 1) / len(grid), f"s = {s:.4g}")
        if context.should_stop():
            stopped = True
            break
    gd_rows: list[dict[str, Any]] = []
    for m, s in enumerate(params.gd_values):
        if stopped:
            break
        problem, sets = _structure(params, float(s))
        lo = share + (1 - share) * m / n_gd
        hi = share + (1 - share) * (m + 1) / n_gd
        eta = params.lr / max(1.0, float(np.max(problem.cov))) ** 2
        out = gd_endpoints(problem, sets, list(params.seeds), params.init, eta, params.steps,
                           context, lo, hi)  # fmt: skip
        ranks = {c.label: c.rank for c in sets}
        matched = [e for e in out["ends"] if not e["diverged"] and e["matched"]]
        stopped = out["stopped"]
        gd_rows.append({
            "s": float(s), "n_sets": len(sets), "n_stable": sum(1 for c in sets if c.stable),
            "global_label": sets[0].label, "global_loss": sets[0].loss,
            "stable": [{"label": c.label, "loss": c.loss, "global_min": c.global_min,
                        "hits": out["hits"][c.label]} for c in sets if c.stable],
            "final_losses": [e["loss"] for e in out["ends"]],
            "matched_fraction": out["matched_fraction"], "stable_fraction":
            out["stable_fraction"], "global_fraction": out["global_fraction"],
            "spurious_fraction": out["spurious_fraction"], "diverged": out["diverged"],
            "endpoint_sets": out["endpoint_sets"], "one": 1.0, "lr": eta,
            "teacher_norm": problem.teacher_norm,
            "mean_rank": (sum(ranks[e["nearest"]] for e in matched) / len(matched))
            if matched else None,
            "endpoints": {k: v for k, v in out["hits"].items() if v},
        })  # fmt: skip
    return {
        "d": params.d, "width": params.width, "outer": params.outer,
        "teacher_eigs": list(params.teacher_eigs), "coordinate": params.coordinate,
        "grid": table, "events": events, "gd": gd_rows, "seeds": list(params.seeds),
        "steps": params.steps, "stopped": stopped,
    }  # fmt: skip


def discriminant_lines(result: Mapping[str, Any]) -> list[str]:
    grid = result["grid"]
    lines = [
        f"d={result['d']} r={result['width']} outer={result['outer']} teacher eigenvalues "
        f"{_nums(result['teacher_eigs'])}; s = Var(x_{result['coordinate']}) from "
        f"{grid[0]['s']:.4g} to {grid[-1]['s']:.4g} ({len(grid)} values)",
        f"{len(result['events'])} crossings of the teacher-metric discriminant:",
    ]
    for ev in result["events"]:
        root = "-" if ev["root"] is None else f"{ev['root']:.12g}"
        lines.append(f"  s* = {ev['s']:.10g} (root of the factor: {root}): {ev['what']}; sets "
                     f"{ev['n_before']} -> {ev['n_after']}, holding minima {ev['stable_before']}"
                     f" -> {ev['stable_after']}")  # fmt: skip
        lines.append(f"      before {' '.join(ev['before'])}")
        lines.append(f"      after  {' '.join(ev['after'])}")
    if result["gd"]:
        lines.append(
            "s        sets  stable  global      GD end points (set: count)     in set  spurious"
        )
        for row in result["gd"]:
            ends = ", ".join(f"{k}: {v}" for k, v in row["endpoints"].items()) or "-"
            lines.append(f"{row['s']:<8.4g} {row['n_sets']:<5} {row['n_stable']:<7} "
                         f"{row['global_label']:<11} {ends:<30} {row['matched_fraction']:<7.3f} "
                         f"{row['spurious_fraction']:<9.3f} {row['diverged']}")  # fmt: skip
    if result.get("stopped"):
        lines.append("stopped early")
    return lines


def discriminant_estimate(params: DiscriminantParams) -> Estimate:
    n = _n_sets(params.d, params.width)
    enum = n * 3e-5 * params.d + 2e-4
    seconds = params.points * enum + 8 * 60 * enum  # grid plus a few bisections
    seconds += len(params.gd_values) * (
        _gd_seconds(len(params.seeds), params.d, params.width, params.steps)
        + len(params.seeds) * n * 3e-5
    )
    return Estimate(memory_bytes=64e6 + 8.0 * 16 * len(params.seeds) * params.d**2,
                    seconds=seconds, fields=("points", "gd_values", "seeds", "steps"))  # fmt: skip


def _nums(values: Any) -> str:
    return "[" + ", ".join(f"{float(v):.4g}" for v in values) + "]"


def _g(value: Any) -> str:
    return "-" if value is None else f"{float(value):.2e}"

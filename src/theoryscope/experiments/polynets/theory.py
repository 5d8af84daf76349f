"""Theory of the polynomial-network teacher-student problem and how a run is compared with it.

Landscape (Arjevani et al. 2025, arXiv 2501.06074, section 6; Du & Lee 2018; Soltanolkotabi,
Javanmard & Lee 2019, thm 2.1): for p = 2 and Gaussian data the loss in function space is
L(M) = 2 ||M - M*||_F^2 + (tr(M - M*))^2 on {M psd, rank <= r}. When r >= r* the teacher is
representable (loss 0 is reachable: the regime is called ``over-parameterized``). What is
*proven* about the landscape in W: for r >= d the rank constraint is void and every local minimum
is global with every saddle strict (Soltanolkotabi, Javanmard & Lee 2019, thm 2.1, quadratic
activations, any data), and with a weight-decay term every local minimum is global once
r >= sqrt(2n) for n samples (Du & Lee 2018). For r* <= r < d those results do not apply and this
code claims no guarantee; Arjevani et al. (section 6) characterize the critical points of the
Gaussian problem (an Eckart-Young variant, used below for the best rank-r loss). What is
*observed* (docs/polynets.md, ``polynets landscape``): GD from random inits reached loss 0 at
every width r >= r* in every seed we ran, r < d included.

Best rank-r loss (the paper's Eckart-Young variant for the data-induced metric, section 6):
for fixed eigenvalues mu of M the trace term is fixed and <M, M*> is largest with eigenvectors
aligned to the top ones of M* (von Neumann's trace inequality), so with k = min(r, d)

    min L = min_{mu >= 0} 2 sum_{i<=k} (mu_i - lambda_i)^2 + 2 sum_{j>k} lambda_j^2
                          + (sum_i mu_i - sum_j lambda_j)^2,
    mu_i = lambda_i + T_k / (k + 2),   L_r = 2 sum_{j>k} lambda_j^2 + 2 T_k^2 / (k + 2),

with T_k = sum_{j>k} lambda_j (the trace term lifts every kept eigenvalue by T_k / (k + 2)).
The constrained problem is also solved numerically (:func:`best_rank_numeric`).

Incremental learning from small init (Saxe et al. 2014; Jacot et al. 2021 "saddle-to-saddle";
Arjevani et al. section 6 saddles M_k): gradient flow dW/dt = 2 W (4 R + 2 tr(R) I), R = M* - M,
grows the teacher direction u_j of M at the rate 16 lambda_j + 16 T_k / (k + 2) while the flow
sits at the saddle M_k (top k directions learned). Starting from u_j^T M u_j ~ r init^2, direction j
is learned (reaches half its saddle value K, logistic growth: at log(K / m0) / rate, Saxe et al.
2014) at t_j ~ log(1 / init^2) / rate: the piecewise sum
:func:`learning_times`; the naive rule t_j ~ log(1/init) / lambda_j gives ratios lambda_1 / lambda_j.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

from theoryscope.experiments.polynets.config import Config
from theoryscope.experiments.polynets.model import make_teacher, teacher_spectrum
from theoryscope.experiments.polynets.population import loss_and_grad
from theoryscope.protocol import Run

#: A run succeeds when its final loss exceeds the predicted optimum by < this x E[f*^2].
SUCCESS_TOL = 1e-3
#: Direction j counts as learned once u_j^T M u_j reaches this fraction of its saddle value.
LEARNED_FRACTION = 0.5
#: Learning times are predicted only when r init^2 <= this x lambda_1 (the small-init regime).
SMALL_INIT = 1e-2
#: Eigen-directions tracked in the series and the comparison.
MAX_TRACKED = 16


@dataclass
class Theory:
    """Predictions that need only the config (the teacher is fixed by ``data_seed``)."""

    degree: int
    d: int
    width: int
    teacher_width: int
    regime: str  # over-parameterized (r >= r*) or under-parameterized
    teacher_norm: float  # E[f*(x)^2], the loss of the zero network
    optimal_loss: float | None  # best loss reachable with width r (None: no closed form)
    teacher_eigs: list[float] | None  # p = 2: eigenvalues of M*, decreasing
    optimal_eigs: list[float] | None  # p = 2: eigenvalues of the best rank-r M
    learn_times: list[float] | None  # p = 2: predicted time each direction is learned
    learn_thresholds: list[float] | None  # half of each direction's saddle value
    naive_learn_times: list[float] | None  # log(1 / init) / lambda_j
    m0: float  # expected u^T M(0) u = r init^2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def best_rank(eigs: np.ndarray, r: int) -> tuple[float, np.ndarray]:
    """Closed-form best loss with width r and the optimal eigenvalues mu (module docstring)."""
    lam = np.sort(np.clip(np.asarray(eigs, dtype=np.float64), 0.0, None))[::-1]
    k = min(int(r), lam.size)
    tail = lam[k:]
    t_k = float(tail.sum())
    mu = lam[:k] + t_k / (k + 2)
    return float(2.0 * np.sum(tail**2) + 2.0 * t_k**2 / (k + 2)), mu


def best_rank_numeric(eigs: np.ndarray, r: int) -> tuple[float, np.ndarray]:
    """The same optimum by bound-constrained minimization over mu >= 0 (L-BFGS-B)."""
    lam = np.sort(np.clip(np.asarray(eigs, dtype=np.float64), 0.0, None))[::-1]
    k = min(int(r), lam.size)

    def fun(mu: np.ndarray) -> tuple[float, np.ndarray]:
        diff = mu - lam[:k]
        s = float(mu.sum() - lam.sum())
        val = 2.0 * float(diff @ diff) + 2.0 * float(lam[k:] @ lam[k:]) + s * s
        return val, 4.0 * diff + 2.0 * s

    res = minimize(fun, np.zeros(k), jac=True, bounds=[(0.0, None)] * k, method="L-BFGS-B",
                   options={"ftol": 1e-15, "gtol": 1e-12})  # fmt: skip
    return float(res.fun), np.asarray(res.x)


def learning_times(eigs: np.ndarray, r: int, m0: float) -> tuple[list[float], list[float]]:
    """Saddle-to-saddle prediction of when each teacher direction is learned (module docstring).

    Returns (times, thresholds) for the first min(r, #nonzero eigenvalues) directions.
    """
    lam = np.sort(np.clip(np.asarray(eigs, dtype=np.float64), 0.0, None))[::-1]
    count = min(int(r), int(np.sum(lam > 1e-12 * max(lam[0], 1e-300))), MAX_TRACKED)
    tails = np.concatenate([np.cumsum(lam[::-1])[::-1], [0.0]])  # tails[k] = sum_{i>=k} lam_i
    grown = np.zeros(lam.size)  # log growth accumulated by each direction
    t = 0.0
    times, thresholds = [], []
    for k in range(count):  # stage k: directions 0..k-1 learned, waiting for direction k
        rate = 16.0 * lam + 16.0 * tails[k] / (k + 2)
        target = LEARNED_FRACTION * (lam[k] + tails[k + 1] / (k + 3))
        need = math.log(2.0 * target / m0) - grown[k]  # logistic: K/2 at log(K / m0) / rate
        dt = max(need, 0.0) / rate[k]
        grown += rate * dt
        t += dt
        times.append(float(t))
        thresholds.append(float(target))
    return times, thresholds


def predict(config: Config) -> Theory:
    """Optimal loss, regime and (p = 2) incremental-learning times from the config alone."""
    w_star = make_teacher(config)
    p, r = int(config.degree), int(config.width)
    zero = np.zeros((1, 1, int(config.d)))
    teacher_norm = float(loss_and_grad(p, zero, w_star, grad=False)[0][0])
    m0 = r * float(config.init) ** 2
    rank_star = int(config.teacher_width)
    teacher_eigs = optimal_eigs = times = thresholds = naive = None
    optimal: float | None = 0.0 if r >= rank_star else None
    if p == 2:
        lam, _ = teacher_spectrum(w_star)
        lam[lam <= 1e-10 * max(float(lam[0]), 1e-300)] = 0.0  # round-off of the null space
        rank_star = int(np.sum(lam > 1e-10 * max(float(lam[0]), 1e-300)))
        optimal, mu = best_rank(lam, r)
        teacher_eigs, optimal_eigs = lam.tolist(), mu.tolist()
        if m0 <= SMALL_INIT * float(lam[0]):  # incremental learning needs a small init
            times, thresholds = learning_times(lam, r, m0)
            naive = [math.log(1.0 / float(config.init)) / float(lam[j]) for j in range(len(times))]
    regime = "over-parameterized" if r >= rank_star else "under-parameterized"
    return Theory(
        degree=p, d=int(config.d), width=r, teacher_width=int(config.teacher_width),
        regime=regime, teacher_norm=teacher_norm, optimal_loss=optimal, teacher_eigs=teacher_eigs,
        optimal_eigs=optimal_eigs, learn_times=times, learn_thresholds=thresholds,
        naive_learn_times=naive, m0=m0,
    )  # fmt: skip


def theory_to_dict(theory: Theory) -> dict[str, Any]:
    return theory.to_dict()


def measured_learn_times(run: Run, thresholds: list[float]) -> list[float | None]:
    """First recorded time at which u_j^T M u_j reaches its threshold (None if never)."""
    out: list[float | None] = []
    time = np.asarray(run.series.get("time", ()))
    for j, h in enumerate(thresholds):
        proj = np.asarray(run.series.get(f"proj_{j + 1}", ()))
        hit = np.flatnonzero(proj >= h)
        if not hit.size:
            out.append(None)
        elif hit[0] == 0:
            out.append(float(time[0]))
        else:  # linear interpolation between the two records around the crossing
            i = int(hit[0])
            frac = (h - proj[i - 1]) / (proj[i] - proj[i - 1])
            out.append(float(time[i - 1] + frac * (time[i] - time[i - 1])))
    return out


def success(final_loss: float, optimal_loss: float | None, teacher_norm: float) -> bool | None:
    """Final loss within SUCCESS_TOL x E[f*^2] of the predicted optimum (None: no prediction)."""
    if optimal_loss is None or not math.isfinite(final_loss):
        return None if optimal_loss is None else False
    return bool(final_loss - optimal_loss <= SUCCESS_TOL * teacher_norm)


def _ratios(values: list[float | None]) -> list[float | None]:
    """t_j / t_1 (None where undefined: a missing time or t_1 <= 0)."""
    first = values[0] if values else None
    if first is None or first <= 0:
        return [None] * len(values)
    return [None if v is None else v / first for v in values]


def compare(run: Run, theory: Theory) -> dict[str, Any]:
    """Final loss vs the predicted optimum, success, measured vs predicted learning times."""
    pop = np.asarray(run.series.get("population_loss", ()), dtype=np.float64)
    final = float(pop[-1]) if pop.size else math.nan
    out: dict[str, Any] = {
        "regime": theory.regime,
        "status": run.status,
        "initial_loss": float(pop[0]) if pop.size else None,
        "final_loss": final,
        "final_train_loss": float(run.series["loss"][-1]) if pop.size else None,
        "optimal_loss": theory.optimal_loss,
        "teacher_norm": theory.teacher_norm,
        "excess_over_teacher_norm": (final - theory.optimal_loss) / theory.teacher_norm
        if theory.optimal_loss is not None
        else None,
        "final_over_optimal": final / theory.optimal_loss
        if theory.optimal_loss and theory.optimal_loss > 1e-12 * theory.teacher_norm
        else None,
        "success": success(final, theory.optimal_loss, theory.teacher_norm)
        if run.status == "finished"
        else False,
    }
    if theory.learn_times is not None and theory.learn_thresholds is not None:
        measured = measured_learn_times(run, theory.learn_thresholds)
        pred = theory.learn_times
        naive = theory.naive_learn_times or []
        out["learn_times_predicted"] = pred
        out["learn_times_measured"] = measured
        out["learn_time_rel_err"] = [
            None if (m is None or p <= 0) else (m - p) / p
            for m, p in zip(measured, pred, strict=True)
        ]
        out["learn_ratio_measured"] = _ratios(measured)
        out["learn_ratio_predicted"] = _ratios(list(pred))
        out["learn_ratio_naive"] = _ratios(list(naive))
        learned = [m for m in measured if m is not None]
        out["learned_in_order"] = bool(len(learned) == len(measured) and all(np.diff(learned) >= 0))
        eigs = [run.series[f"eig_{i + 1}"][-1] for i in range(len(theory.optimal_eigs or []))
                if f"eig_{i + 1}" in run.series and len(run.series[f"eig_{i + 1}"])]  # fmt: skip
        if eigs and theory.optimal_eigs:
            out["final_eigs"] = [float(e) for e in eigs]
            out["optimal_eigs"] = theory.optimal_eigs[: len(eigs)]
        out["directions"] = _directions(out, theory)
    return out


def _directions(agreement: dict[str, Any], theory: Theory) -> list[dict[str, Any]]:
    """One row per teacher direction j (1-based): its eigenvalue, learning time measured /
    predicted / naive, final eigenvalue of M and the optimal one (for per-direction metrics)."""
    measured = agreement.get("learn_times_measured") or []
    predicted = agreement.get("learn_times_predicted") or []
    naive = theory.naive_learn_times or []
    final = agreement.get("final_eigs") or []
    optimal = agreement.get("optimal_eigs") or []
    lam = theory.teacher_eigs or []
    rows = []
    for j in range(len(predicted)):
        rows.append(
            {
                "j": j + 1,
                "teacher_eig": lam[j] if j < len(lam) else None,
                "t_measured": measured[j] if j < len(measured) else None,
                "t_predicted": predicted[j],
                "t_naive": naive[j] if j < len(naive) else None,
                "final_eig": final[j] if j < len(final) else None,
                "optimal_eig": optimal[j] if j < len(optimal) else None,
            }
        )
    return rows

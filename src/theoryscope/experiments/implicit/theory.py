"""Theory of the implicit-bias experiment and how a run is compared with it.

    diagonal    the GD limit is argmin Q_alpha s.t. X beta = y (Woodworth et al. 2020, Thm 1);
                min L1 as alpha -> 0, min L2 as alpha -> inf
    margin      w(t)/||w(t)|| -> the hard-margin SVM direction, angle = O(1/log t)
                (Soudry et al. 2018, Thm 3)
    deeplinear  balanced modes follow u(t) = s e^{2st} / (e^{2st} - 1 + s/u0) (Saxe et al. 2014,
                eq. (7)); larger s first; balancedness conserved (Arora et al. 2018, Thm 1)

Every prediction needs only the config (the data are fixed by ``data_seed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from theoryscope.experiments.implicit import deeplinear, diagonal, margin
from theoryscope.experiments.implicit.config import Config
from theoryscope.experiments.implicit.engine import (
    deeplinear_steps,
    diagonal_data,
    diagonal_etas,
    lin_grid,
    log_grid,
    margin_data,
)
from theoryscope.protocol import Run

#: Margin mode: the 1/log t fit uses records with t >= steps / MARGIN_FIT_DECADES_BACK.
MARGIN_FIT_DECADES_BACK = 100.0


@dataclass
class Theory:
    """Predictions of one config: ``values`` maps names to floats, lists or arrays."""

    mode: str
    values: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, **{k: _jsonable(v) for k, v in self.values.items()}}


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def theory_to_dict(theory: Theory) -> dict[str, Any]:
    return theory.to_dict()


def theory_from_dict(data: Any) -> Theory:
    """Inverse of :func:`theory_to_dict` (as read back from the store: lists -> float arrays,
    JSON nulls inside them -> NaN)."""
    values: dict[str, Any] = {}
    for key, value in dict(data).items():
        if key == "mode":
            continue
        if isinstance(value, list):
            try:
                value = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                value = np.asarray(value, dtype=object)
        values[key] = value
    return Theory(str(data["mode"]), values)


# -- predictions ----------------------------------------------------------------------------------
def predict(config: Config) -> Theory:
    """The mode's predictions (see module doc)."""
    if config.mode == "diagonal":
        return _predict_diagonal(config)
    if config.mode == "margin":
        return _predict_margin(config)
    return _predict_deeplinear(config)


def _predict_diagonal(config: Config) -> Theory:
    x, y, beta_star = diagonal_data(config)
    l1, l2 = diagonal.min_l1(x, y), diagonal.min_l2(x, y)
    alphas = np.asarray(config.alphas)
    limits = np.stack([diagonal.q_alpha_limit(x, y, float(a)) for a in alphas])
    return Theory(
        "diagonal",
        {
            "alphas": alphas,
            "etas": diagonal_etas(config),
            "beta_star": beta_star,
            "beta_l1": l1,
            "beta_l2": l2,
            "beta_limit": limits,
            "limit_to_l1": np.array([diagonal.rel_dist(b, l1) for b in limits]),
            "limit_to_l2": np.array([diagonal.rel_dist(b, l2) for b in limits]),
            "limit_recovery": np.array([diagonal.rel_dist(b, beta_star) for b in limits]),
            "l1_recovery": diagonal.rel_dist(l1, beta_star),
            "l2_recovery": diagonal.rel_dist(l2, beta_star),
        },
    )


def _predict_margin(config: Config) -> Theory:
    x, y = margin_data(config)
    z = y[:, None] * x
    w_hat, a = margin.svm(z)
    eta = float(config.lr or 0.0)
    wt = margin.w_tilde(z, w_hat, a, eta)
    steps = log_grid(int(config.steps or 1), int(config.records))
    pred = margin.predicted_angle(steps, w_hat, wt)
    return Theory(
        "margin",
        {
            "w_svm": w_hat,
            "direction": w_hat / np.linalg.norm(w_hat),
            "svm_margin": 1.0 / float(np.linalg.norm(w_hat)),
            "support": np.flatnonzero(a > 1e-12),
            "dual": a,
            "eta": eta,
            "stable_eta_max": 2.0 / margin.smoothness(z),
            "w_tilde": wt,
            "step": steps,
            "angle": pred,
        },
    )


def _predict_deeplinear(config: Config) -> Theory:
    depth = int(config.depth)
    u0 = float(config.init) ** depth
    eta = float(config.lr or 0.0)
    steps = deeplinear_steps(config)
    grid = lin_grid(steps, int(config.records))
    t = eta * grid
    svals = np.asarray(config.singular_values)
    curves = np.stack([deeplinear.mode_curve(float(s), u0, t, depth) for s in svals], axis=1)
    rise = np.array([deeplinear.rise_time(float(s), u0, depth) for s in svals])
    return Theory(
        "deeplinear",
        {
            "singular_values": svals,
            "u0": u0,
            "eta": eta,
            "steps": steps,
            "step": grid,
            "time": t,
            "modes": curves,
            "modes_gd": deeplinear.mode_curve_gd(svals, float(config.init), grid, eta, depth),
            "half_time": rise,
            "order": np.argsort(rise, kind="stable"),
            "exact": config.init_mode == "balanced",
        },
    )


# -- agreement ------------------------------------------------------------------------------------
def compare(run: Run, theory: Theory) -> dict[str, Any]:
    """The numbers that say how well run and theory agree (JSON-ready)."""
    if theory.mode == "diagonal":
        out = _compare_diagonal(run, theory)
    elif theory.mode == "margin":
        out = _compare_margin(run, theory)
    else:
        out = _compare_deeplinear(run, theory)
    return {k: _jsonable(v) for k, v in out.items()}


def _compare_diagonal(run: Run, th: Theory) -> dict[str, Any]:
    v = th.values
    out: dict[str, Any] = {"alphas": v["alphas"], "limit_to_l1": v["limit_to_l1"],
                           "limit_to_l2": v["limit_to_l2"], "l1_recovery": v["l1_recovery"],
                           "l2_recovery": v["l2_recovery"]}  # fmt: skip
    beta = run.summary.get("final_beta")
    if beta is None or not len(run.series.get("step", ())):
        return out
    b = np.asarray(beta)
    out["final_loss"] = np.asarray(run.series["loss"][-1])
    out["to_limit"] = np.array(
        [diagonal.rel_dist(bi, li) for bi, li in zip(b, v["beta_limit"], strict=True)]
    )
    out["to_l1"] = np.array([diagonal.rel_dist(bi, v["beta_l1"]) for bi in b])
    out["to_l2"] = np.array([diagonal.rel_dist(bi, v["beta_l2"]) for bi in b])
    out["recovery"] = np.array([diagonal.rel_dist(bi, v["beta_star"]) for bi in b])
    out["max_to_limit"] = float(np.max(out["to_limit"]))
    return out


def fit_inverse_log(step: np.ndarray, angle: np.ndarray, t_min: float) -> dict[str, float]:
    """Least-squares angle = slope / log t + intercept over records with t >= t_min (and t >= 3)."""
    t = np.asarray(step, dtype=np.float64)
    keep = (t >= max(t_min, 3.0)) & np.isfinite(angle)
    if keep.sum() < 3:
        return {}
    xs = 1.0 / np.log(t[keep])
    ys = np.asarray(angle)[keep]
    slope, intercept = np.polyfit(xs, ys, 1)
    pred = slope * xs + intercept
    ss = float(np.sum((ys - ys.mean()) ** 2))
    r2 = 1.0 - float(np.sum((ys - pred) ** 2)) / ss if ss > 0 else 1.0
    return {"slope": float(slope), "intercept": float(intercept), "r2": r2,
            "t_min": float(t[keep][0]), "points": int(keep.sum())}  # fmt: skip


def _compare_margin(run: Run, th: Theory) -> dict[str, Any]:
    v = th.values
    out: dict[str, Any] = {"svm_margin": v["svm_margin"], "eta": v["eta"],
                           "support_vectors": len(v["support"])}  # fmt: skip
    s = run.series
    if len(s.get("step", ())) < 2:
        return out
    step = np.asarray(s["step"])
    angle = np.full(len(step), np.nan)
    moved = np.asarray(s["norm"]) > 0
    angle[moved] = margin.angle(np.asarray(s["w"])[moved], np.asarray(v["w_svm"]))
    out["angle"] = angle
    out["final_angle"] = float(angle[-1])
    out["final_margin"] = float(s["margin"][-1])
    out["final_margin_ratio"] = float(s["margin"][-1]) / float(v["svm_margin"])
    out["final_loss"] = float(s["loss"][-1])
    late = step >= step[-1] / 10.0
    out["angle_decreasing_late"] = bool(np.all(np.diff(angle[late]) <= 1e-12))
    fit = fit_inverse_log(step, angle, step[-1] / MARGIN_FIT_DECADES_BACK)
    out.update({f"fit_{k}": val for k, val in fit.items()})
    pred = v.get("angle")
    if pred is not None:
        pred = np.asarray(pred, dtype=np.float64)
        out["predicted_final_angle"] = float(pred[len(step) - 1])
        wt = np.asarray(v["w_tilde"])
        offset = np.asarray(s["w"][-1]) - np.asarray(v["w_svm"]) * np.log(max(step[-1], 1.0))
        out["offset_error"] = float(np.linalg.norm(offset - wt) / np.linalg.norm(wt))
        out["predicted_slope"] = float(
            np.linalg.norm(
                np.asarray(v["w_tilde"]) - (np.asarray(v["w_tilde"]) @ v["direction"])
                * np.asarray(v["direction"])
            ) / np.linalg.norm(v["w_svm"])
        )  # fmt: skip
    return out


def _compare_deeplinear(run: Run, th: Theory) -> dict[str, Any]:
    v = th.values
    svals = np.asarray(v["singular_values"])
    out: dict[str, Any] = {"singular_values": svals, "half_time_predicted": v["half_time"],
                           "order_predicted": v["order"], "exact": v["exact"]}  # fmt: skip
    s = run.series
    r = len(s.get("step", ()))
    if r < 2:
        return out
    modes = np.asarray(s["modes"])
    pred = np.asarray(v["modes"])[:r]
    err = np.max(np.abs(modes - pred), axis=0) / svals
    out["max_abs_error_over_s"] = err
    out["max_error"] = float(np.max(err))
    err_gd = np.max(np.abs(modes - np.asarray(v["modes_gd"])[:r]), axis=0) / svals
    out["max_abs_error_over_s_gd"] = err_gd
    out["max_error_gd"] = float(np.max(err_gd))
    t = np.asarray(v["time"])[:r]
    half = []
    for i, sv in enumerate(svals):
        above = np.flatnonzero(modes[:, i] >= 0.5 * sv)
        half.append(float(t[above[0]]) if above.size else float("nan"))
    half_arr = np.asarray(half)
    out["half_time_measured"] = half_arr
    if np.isfinite(half_arr).all():
        out["order_measured"] = np.argsort(half_arr, kind="stable")
        out["order_agrees"] = bool(np.array_equal(out["order_measured"], v["order"]))
    out["final_modes"] = modes[-1]
    out["final_offdiag"] = float(s["offdiag"][-1])
    out["max_balance_drift"] = float(np.max(s["balance_drift"]))
    out["final_loss"] = float(s["loss"][-1])
    return out

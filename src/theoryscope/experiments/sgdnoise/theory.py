"""Predictions of the SGD-noise experiment and how a run is compared with them.

    linreg    exact expected FDR sides per block and their half-running averages, the exact
              stationary covariance and its small-eta closed form, the predicted equilibration
              step (:mod:`.linreg_theory`)
    mlp       both FDR ratios -> 1 at stationarity (FDR1 exactly, FDR2 up to O(eta^2))
    diagonal  GD's limit Q_alpha; SGD's alpha_inf (Pesme et al. 2021) from gradient flow's loss
              integral (a priori) and, in the comparison, from the run's own loss integral
              (:mod:`.diagonal`)
    manifold  zeta(k) = zeta_0 exp(-eta^2 sigma^2 k) and its finite-eta refinement (:mod:`.manifold`)

Every prediction needs only the config (the data follow ``data_seed``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from theoryscope.experiments.implicit import diagonal as idiag
from theoryscope.experiments.sgdnoise import diagonal as dg
from theoryscope.experiments.sgdnoise import fdr, linreg_theory, manifold, problems
from theoryscope.experiments.sgdnoise.config import Config
from theoryscope.protocol import Run

#: Fit alpha_eff to at most this many SGD chains (each fit is ~30 dual solves).
MAX_FITS = 8


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
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def theory_to_dict(theory: Theory) -> dict[str, Any]:
    return theory.to_dict()


def record_steps(config: Config) -> np.ndarray:
    """The last step of every block: block, 2 block, ..., steps."""
    return config.block * np.arange(1, int(config.records) + 1, dtype=np.float64)


# -- predictions -----------------------------------------------------------------------------------
def predict(config: Config) -> Theory:
    """The mode's predictions (module doc)."""
    fn = {"linreg": _predict_linreg, "mlp": _predict_mlp, "diagonal": _predict_diagonal,
          "manifold": _predict_manifold}[config.mode]  # fmt: skip
    return fn(config)


def _predict_linreg(config: Config) -> Theory:
    x, y, _ = problems.linreg_data(int(config.d or 1), int(config.m or 1),
                                   float(config.noise or 0.0), int(config.data_seed))  # fmt: skip
    eta, lam = float(config.lr or 0.0), float(config.weight_decay or 0.0)
    mom = linreg_theory.moment_operator(x, y, lam, eta, config.p, config.center == "minimum")
    radius = linreg_theory.second_moment_radius(mom)
    steps = record_steps(config)
    out: dict[str, Any] = {"step": steps, "one": 1.0, "radius": radius, "stable": radius < 1.0,
                           "theta_star": mom.theta_star, "loss_star": mom.loss_star}  # fmt: skip
    blocks = linreg_theory.block_means(mom, config.block, int(config.records))
    with np.errstate(all="ignore"):
        for i, name in enumerate(linreg_theory.FUNCTIONALS):
            out[name] = blocks[:, i]
        for pair, (a, b) in (("1", (0, 1)), ("2", (2, 3))):
            lhs = np.array([blocks[fdr.window(j), a].mean() for j in range(1, len(blocks) + 1)])
            rhs = np.array([blocks[fdr.window(j), b].mean() for j in range(1, len(blocks) + 1)])
            out[f"fdr{pair}_lhs"], out[f"fdr{pair}_rhs"], out[f"ratio{pair}"] = lhs, rhs, lhs / rhs
    enters, settles = fdr.equilibration(steps, out["ratio1"], float(config.tol))
    out["equilibrated_step"], out["settled_step"] = enters, settles
    if radius < 1.0:
        cov = linreg_theory.stationary_covariance(mom)
        small = linreg_theory.small_eta_covariance(mom, eta)
        out["stationary"] = linreg_theory.stationary_values(mom, cov)
        out["cov_exact"] = cov
        out["cov_small_eta"] = small
        out["trace_cov_exact"] = float(np.trace(cov))
        out["trace_cov_small_eta"] = float(np.trace(small))
    return Theory("linreg", out)


def _predict_mlp(config: Config) -> Theory:
    return Theory("mlp", {"step": record_steps(config), "one": 1.0})


def _predict_diagonal(config: Config) -> Theory:
    x, y, beta_star = dg.data(config)
    alpha, eta, p = float(config.alpha), float(config.lr or 0.0), config.p
    l1, l2 = idiag.min_l1(x, y), idiag.min_l2(x, y)
    limit = idiag.q_alpha_limit(x, y, alpha)
    gd = dg.flow_loss_integral(x, y, alpha, eta * int(config.steps or 0))
    diag = np.mean(x * x, axis=0)
    prior = dg.pesme_alpha(alpha, eta, p, float(config.batch or 1), diag, gd["integral"])
    out: dict[str, Any] = {
        "alpha": alpha, "beta_star": beta_star, "beta_l1": l1, "beta_l2": l2,
        "beta_limit": limit, "diag_xtx": diag,
        "limit_to_l1": idiag.rel_dist(limit, l1), "limit_to_l2": idiag.rel_dist(limit, l2),
        "integral_flow": gd["integral"], "alpha_prior": prior, "alpha_prior_geo": float(dg._geo(prior)),
        "coordinate": np.arange(x.shape[1], dtype=np.float64),
    }  # fmt: skip
    if np.isfinite(gd["integral"]):
        prior_limit = dg.q_limit_vector(x, y, prior)
        out["prior_limit_to_l1"] = idiag.rel_dist(prior_limit, l1)
        out["alpha_prior_fit"] = dg.fit_alpha(x, y, prior_limit, alpha)["alpha"]
    return Theory("diagonal", out)


def _predict_manifold(config: Config) -> Theory:
    y, eta, sigma = float(config.target), float(config.lr or 0.0), float(config.noise or 0.0)
    a0, b0 = manifold.start(y, float(config.s0))
    zeta0 = float(manifold.zeta_of(a0, b0, y))
    steps = record_steps(config)
    lead = manifold.drift_leading(zeta0, eta, sigma, steps)
    stable = manifold.stable(eta, y, zeta0)
    refined = (
        manifold.drift_refined(zeta0, eta, sigma, y, steps)
        if stable
        else np.full_like(steps, np.nan)
    )
    s_max = abs(float(config.s0)) + 0.5
    s = np.linspace(-s_max, s_max, 101)
    pa, pb = manifold.point_of(refined, y)
    return Theory("manifold", {
        "step": steps, "zeta0": zeta0, "zeta": lead, "zeta_refined": refined,
        "trace_h": 2.0 * y * np.sqrt(1.0 + lead**2),
        "trace_h_refined": manifold.trace_h_stationary(refined, eta, sigma, y),
        "rate": eta**2 * sigma**2, "rate_refined_start": float(manifold.drift_rate(zeta0, eta, sigma, y)),
        "stable": stable, "path_a": pa, "path_b": pb,
        "manifold_a": math.sqrt(y) * np.exp(s), "manifold_b": math.sqrt(y) * np.exp(-s),
        "trace_h_min": 2.0 * y,
    })  # fmt: skip


# -- agreement ------------------------------------------------------------------------------------
def compare(run: Run, theory: Theory) -> dict[str, Any]:
    """The numbers that say how well run and theory agree (JSON-ready)."""
    fn = {"linreg": _compare_linreg, "mlp": _compare_mlp, "diagonal": _compare_diagonal,
          "manifold": _compare_manifold}[theory.mode]  # fmt: skip
    return {k: _jsonable(v) for k, v in fn(run, theory).items()}


def _z(measured: float, predicted: float, se: float) -> float | None:
    if not (math.isfinite(measured) and math.isfinite(predicted) and se > 0):
        return None
    return (measured - predicted) / se


def _fdr_common(run: Run) -> dict[str, Any]:
    s, summ = run.series, run.summary
    out: dict[str, Any] = {}
    if not len(s.get("step", ())):
        return out
    for pair in ("1", "2"):
        r, se = float(s[f"ratio{pair}"][-1]), float(s[f"ratio{pair}_se"][-1])
        out[f"ratio{pair}"], out[f"ratio{pair}_se"] = r, se
        out[f"ratio{pair}_z"] = _z(r, 1.0, se)
        for side in ("lhs", "rhs"):
            out[f"fdr{pair}_{side}"] = float(s[f"fdr{pair}_{side}"][-1])
    out["equilibrated_step"] = summ.get("equilibrated_step")
    out["settled_step"] = summ.get("settled_step")
    return out


def _compare_linreg(run: Run, th: Theory) -> dict[str, Any]:
    v, summ = th.values, run.summary
    out = _fdr_common(run)
    out["equilibrated_step_predicted"] = v.get("equilibrated_step")
    out["settled_step_predicted"] = v.get("settled_step")
    n = len(run.series.get("step", ()))
    if not n:
        return out
    for name in ("fdr1_lhs", "fdr1_rhs", "fdr2_lhs", "fdr2_rhs", "ratio1", "ratio2"):
        out[f"{name}_predicted"] = float(np.asarray(v[name])[n - 1])
    stat = v.get("stationary")
    if stat is not None:
        for name in ("o_l", "f_l", "sq", "loss"):
            out[f"{name}_stationary_predicted"] = stat[name]
        sq, se = (
            float(summ.get("sq_stationary", math.nan)),
            float(summ.get("sq_stationary_se", math.nan)),
        )
        out["sq_stationary"], out["sq_stationary_se"] = sq, se
        out["sq_z"] = _z(sq, stat["sq"], se)
        if "trace_cov_measured" in summ:
            out["trace_cov_measured"] = summ["trace_cov_measured"]
            out["trace_cov_exact"] = v["trace_cov_exact"]
            out["trace_cov_small_eta"] = v["trace_cov_small_eta"]
            cov = np.asarray(summ["cov_measured"])
            for key in ("exact", "small_eta"):
                ref = np.asarray(v[f"cov_{key}"])
                out[f"cov_error_{key}"] = float(np.linalg.norm(cov - ref) / np.linalg.norm(ref))
    return out


def _compare_mlp(run: Run, th: Theory) -> dict[str, Any]:
    del th
    out = _fdr_common(run)
    if out:
        out["one"] = 1.0
    return out


def _compare_diagonal(run: Run, th: Theory) -> dict[str, Any]:
    v, summ = th.values, run.summary
    out: dict[str, Any] = {"alpha": v["alpha"], "limit_to_l1": v["limit_to_l1"],
                           "alpha_prior_fit": v.get("alpha_prior_fit")}  # fmt: skip
    if "beta_sgd" not in summ:
        return out
    cfg_x, cfg_y = _diagonal_data(run)
    alpha, eta, p = float(v["alpha"]), float(summ["eta"]), float(summ["p"])
    batch = float(summ["batch"])
    l1 = np.asarray(v["beta_l1"])
    betas = np.asarray(summ["beta_sgd"])[:MAX_FITS]
    fits = [dg.fit_alpha(cfg_x, cfg_y, b, alpha) for b in betas]
    out["alpha_fit_chains"] = [f["alpha"] for f in fits]
    out["alpha_fit"] = float(dg._geo(np.array(out["alpha_fit_chains"])))
    out["alpha_fit_gd"] = dg.fit_alpha(cfg_x, cfg_y, np.asarray(summ["beta_gd"]), alpha)["alpha"]
    diag = np.asarray(v["diag_xtx"])
    pesme = dg.pesme_alpha(alpha, eta, p, batch, diag, np.asarray(summ["integral_sgd"]))  # (C, d)
    out["alpha_pesme"] = pesme[0]
    out["alpha_pesme_geo"] = float(dg._geo(pesme).mean())
    pesme_fits = []
    for row in pesme[:MAX_FITS]:
        try:
            pesme_fits.append(dg.fit_alpha(cfg_x, cfg_y, dg.q_limit_vector(cfg_x, cfg_y, row),
                                           alpha)["alpha"])  # fmt: skip
        except RuntimeError:
            pesme_fits.append(math.nan)
    out["alpha_pesme_fit"] = float(dg._geo(np.array(pesme_fits)))
    gain = np.asarray(summ["alpha_gain_sgd"])
    out["alpha_gain"] = gain[0]
    out["alpha_gain_geo"] = float(dg._geo(gain).mean())
    out["alpha_gain_gd_geo"] = float(dg._geo(np.asarray(summ["alpha_gain_gd"])))
    second = dg.second_order_alpha(alpha, np.asarray(summ["noise_gain"]))
    out["alpha_second_order_geo"] = float(dg._geo(second).mean())
    out["to_l1_sgd"] = float(np.mean([idiag.rel_dist(b, l1) for b in np.asarray(summ["beta_sgd"])]))
    out["to_l1_gd"] = idiag.rel_dist(np.asarray(summ["beta_gd"]), l1)
    out["to_limit_gd"] = idiag.rel_dist(np.asarray(summ["beta_gd"]), np.asarray(v["beta_limit"]))
    out["sgd_closer_to_l1"] = bool(out["to_l1_sgd"] < out["to_l1_gd"])
    out["integral_sgd"] = float(np.mean(summ["integral_sgd"]))
    out["integral_gd"] = float(summ["integral_gd"])
    out["coordinate"] = v["coordinate"]
    return out


def _diagonal_data(run: Run) -> tuple[np.ndarray, np.ndarray]:
    cfg = Config.from_dict(run.config)
    x, y, _ = dg.data(cfg)
    return x, y


def _compare_manifold(run: Run, th: Theory) -> dict[str, Any]:
    v, s, summ = th.values, run.series, run.summary
    out: dict[str, Any] = {"zeta0": v["zeta0"], "rate_predicted": v["rate"]}
    n = len(s.get("step", ()))
    if not n:
        return out
    zeta, se = float(s["zeta"][-1]), float(s["zeta_se"][-1])
    lead, refined = float(np.asarray(v["zeta"])[n - 1]), float(np.asarray(v["zeta_refined"])[n - 1])
    out.update({
        "zeta_final": zeta, "zeta_final_se": se, "zeta_final_leading": lead,
        "zeta_final_refined": refined, "zeta_z_refined": _z(zeta, refined, se),
        "rate_measured": summ.get("rate_measured"),
        "trace_h_final": float(s["trace_h"][-1]),
        "trace_h_final_predicted": float(np.asarray(v["trace_h_refined"])[n - 1]),
        "trace_h_start": float(v["trace_h_min"]) * math.sqrt(1.0 + v["zeta0"] ** 2),
    })  # fmt: skip
    out["drift_towards_flat"] = bool(
        abs(zeta) < abs(v["zeta0"]) and out["trace_h_final"] < out["trace_h_start"]
    )
    return out

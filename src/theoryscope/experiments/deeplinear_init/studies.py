"""The studies of deep linear networks at initialization. Each ``run_*(params, seed, context)``
returns a JSON-ready dict, reports progress and, where it loops, polls ``context.should_stop``
(returning the rows it has, with ``stopped: true``).

    norm-law          exact law of ||theta||^2 vs its log-normal limit as n grows at fixed L/n
    collapse          Gaussian-matrix Monte Carlo over a grid of (L, n): the spread is a function
                      of L/n alone; limits in L and n do not commute
    marchenko-pastur  eigenvalues of (1/n_0) X X^T against MP (edges, atom, Narayana moments)
    fuss-catalan      squared singular values of W_L ... W_1 against Fuss-Catalan
    lyapunov          log singular values of long products at fixed L/n (Lyapunov regime)
    bayes-check       the exact deep-linear posterior against samplers of whole networks
    bayes-depth       evidence, posterior scale and predictions against effective depth P L / N
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import ndtr

from theoryscope.experiments.deeplinear_init.config import (
    BayesCheckParams,
    BayesDepthParams,
    CollapseParams,
    FussCatalanParams,
    LyapunovParams,
    MarchenkoPasturParams,
    NormLawParams,
)
from theoryscope.spec import StudyContext


def _finite(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _slope(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Least-squares slope of log y against log x (None with fewer than 2 positive points)."""
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    ok = (xs > 0) & (ys > 0) & np.isfinite(ys)
    if ok.sum() < 2:
        return None
    return float(np.polyfit(np.log(xs[ok]), np.log(ys[ok]), 1)[0])


def _hist(values: np.ndarray, lo: float, hi: float, bins: int, total: int) -> dict[str, list]:
    """Density histogram normalized by ``total`` (so an atom elsewhere keeps its mass out)."""
    edges = np.linspace(lo, hi, bins + 1)
    counts, _ = np.histogram(values, bins=edges)
    width = float(edges[1] - edges[0])
    return {"centers": (0.5 * (edges[:-1] + edges[1:])).tolist(),
            "density": (counts / (total * width)).tolist()}  # fmt: skip


def _ks(sorted_cdf: np.ndarray) -> float:
    """KS distance given the model CDF at the sorted samples."""
    m = sorted_cdf.size
    i = np.arange(1, m + 1)
    return float(max(np.max(i / m - sorted_cdf), np.max(sorted_cdf - (i - 1) / m)))


# ------------------------------------------------------------------------------------------------
# the norm law and its log-normal limit
# ------------------------------------------------------------------------------------------------
def run_norm_law(params: NormLawParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """For each width n at ``L = round(tau n)``, ``n_0 = n``: exact mean, variance and skewness
    of log ||theta||^2 (digamma/trigamma) against the log-normal limit ``N(-sum 1/n_l, sum
    2/n_l)``, the exact KS distance between the two laws, and an exact-sampler Monte Carlo."""
    from theoryscope.experiments.deeplinear_init.productlaw import (
        NormLaw,
        ks_pvalue,
        ks_statistic,
        log_norm_cumulant,
    )
    from theoryscope.experiments.deeplinear_init.sampling import batch_rng, log_norm2_exact

    rows: list[dict[str, Any]] = []
    widths = sorted(params.widths)
    stopped = False
    for i, n in enumerate(widths):
        if context.should_stop():
            stopped = True
            break
        context.progress(i / len(widths), f"n = {n}")
        depth = max(1, round(params.tau * n))
        ws = (n,) * (depth + 1)
        law = NormLaw(ws)
        mean, var = law.log_mean(), law.log_var()
        lim_mean, lim_var = -(depth + 1) / n, 2.0 * (depth + 1) / n
        grid, _, cdf = law.grid
        ks_ln = float(np.max(np.abs(cdf - ndtr((grid - lim_mean) / math.sqrt(lim_var)))))
        sample = log_norm2_exact(batch_rng(seed, i), ws, params.nets)
        d = ks_statistic(sample, law.cdf_log(sample))
        rows.append({
            "width": n, "depth": depth, "tau": depth / n, "factors": depth + 1,
            "mean": mean, "var": var, "limit_mean": lim_mean, "limit_var": lim_var,
            "strict_limit_mean": -params.tau, "strict_limit_var": 2.0 * params.tau,
            "mean_ratio": mean / lim_mean, "var_ratio": var / lim_var,
            "skewness": log_norm_cumulant(ws, 3) / var**1.5,
            "ks_lognormal": ks_ln,
            "mc_mean": float(np.mean(sample)), "mc_var": float(np.var(sample, ddof=1)),
            "mc_mean_se": math.sqrt(var / params.nets),
            "mc_ks": d, "mc_ks_pvalue": ks_pvalue(d, params.nets),
            "log_norm_mean": 0.5 * mean, "log_norm_var": 0.25 * var,
        })  # fmt: skip
    context.progress(1.0, "done")
    ns = [r["width"] for r in rows]
    return {
        "tau": params.tau,
        "rows": rows,
        "stopped": stopped,
        "slope_ks_lognormal": _slope(ns, [r["ks_lognormal"] for r in rows]),
        "slope_var_gap": _slope(ns, [abs(r["var_ratio"] - 1.0) for r in rows]),
        "slope_mean_gap": _slope(ns, [abs(r["mean_ratio"] - 1.0) for r in rows]),
        "slope_theory": -1.0,
        "notes_log_norm_var": params.tau / 4.0,  # the notes' N(-L/4n, L/4n) for log ||theta||
        "exact_log_norm_var_limit": params.tau / 2.0,
        "widest": rows[-1] if rows else None,
    }


# ------------------------------------------------------------------------------------------------
# collapse onto L/n
# ------------------------------------------------------------------------------------------------
def _spread(rows: list[dict[str, Any]], key: str, value: str) -> float | None:
    """Median over groups of equal ``key`` (>= 2 members) of max/min of ``value``, minus 1."""
    groups: dict[float, list[float]] = {}
    for r in rows:
        groups.setdefault(round(r[key], 12), []).append(r[value])
    spreads = [max(v) / min(v) - 1.0 for v in groups.values() if len(v) >= 2 and min(v) > 0]
    return float(np.median(spreads)) if spreads else None


def run_collapse(params: CollapseParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """Monte Carlo (Gaussian matrices by default) of log ||theta||^2 at every (L, n), n_0 = n:
    its variance, its mean, ``P(||theta||^2 < 1/2)`` and the median of ||theta||, beside the
    exact values. The L + 1 chi^2 factors give ``Var = (L+1) psi'(n/2) = 2 (L+1)/n + O(L/n^2)``:
    points with equal ``tau_eff = (L+1)/n`` (= L/n for deep nets) agree up to O(1/n), points
    with equal L do not (the default depths 2^k - 1 make tau_eff repeat across widths)."""
    from theoryscope.experiments.deeplinear_init.productlaw import NormLaw
    from theoryscope.experiments.deeplinear_init.sampling import sample_log_norm2

    points = sorted(((d, n) for d in params.depths for n in params.widths),
                    key=lambda p: p[0] * p[1] * p[1])  # fmt: skip
    rows: list[dict[str, Any]] = []
    stopped = False
    half = math.log(0.5)
    for i, (depth, n) in enumerate(points):
        if context.should_stop():
            stopped = True
            break
        context.progress(i / len(points), f"L = {depth}, n = {n}")
        ws = (n,) * (depth + 1)
        law = NormLaw(ws)
        v = sample_log_norm2(params.sampler, seed, i, ws, params.nets, "float32")
        rows.append({
            "depth": depth, "width": n, "tau": depth / n, "tau_eff": (depth + 1) / n,
            "mc_var": float(np.var(v, ddof=1)), "var": law.log_var(),
            "mc_mean": float(np.mean(v)), "mean": law.log_mean(),
            "mc_below_half": float(np.mean(v < half)),
            "below_half": float(law.cdf_log(np.asarray([half]))[0]),
            "mc_median_norm": float(np.exp(0.5 * np.median(v))),
            "median_norm": float(np.exp(0.5 * law.quantile_log(np.asarray([0.5]))[0])),
            "lognormal_var": 2.0 * (depth + 1) / n,
        })  # fmt: skip
    context.progress(1.0, "done")
    rel = [abs(r["mc_var"] / r["var"] - 1.0) for r in rows]
    return {
        "rows": rows,
        "stopped": stopped,
        "sampler": params.sampler,
        "nets": params.nets,
        "spread_at_fixed_tau": _spread(rows, "tau_eff", "var"),
        "spread_at_fixed_depth": _spread(rows, "depth", "var"),
        "mc_spread_at_fixed_tau": _spread(rows, "tau_eff", "mc_var"),
        "mc_spread_at_fixed_depth": _spread(rows, "depth", "mc_var"),
        "max_var_error": max(rel) if rel else None,
        "expected_var_error": math.sqrt(2.0 / (params.nets - 1)),
    }


# ------------------------------------------------------------------------------------------------
# Marchenko-Pastur
# ------------------------------------------------------------------------------------------------
def run_marchenko_pastur(
    params: MarchenkoPasturParams, seed: int, context: StudyContext
) -> dict[str, Any]:
    """Eigenvalues of ``(1/n_0) X X^T`` (P x P, ``P = round(alpha n_0)``) pooled over draws."""
    from theoryscope.experiments.deeplinear_init.spectra import (
        mp_atom,
        mp_cdf,
        mp_density,
        mp_edges,
        mp_moment,
        mp_moment_quadrature,
    )

    rng = np.random.default_rng(int(seed))
    n0 = params.input_dim
    rows: list[dict[str, Any]] = []
    stopped = False
    for i, alpha in enumerate(params.alphas):
        if context.should_stop():
            stopped = True
            break
        context.progress(i / len(params.alphas), f"alpha = {alpha}")
        p = max(1, round(alpha * n0))
        a = p / n0  # the realized ratio
        eig = []
        for _ in range(params.draws):
            x = rng.standard_normal((p, n0))
            eig.append(np.linalg.eigvalsh(x @ x.T / n0))
        ev = np.sort(np.concatenate(eig))
        lo, hi = mp_edges(a)
        zero = ev < 1e-9 * hi
        nonzero = ev[~zero]
        cont = mp_cdf(nonzero, a) - mp_atom(a)
        mass = min(1.0, 1.0 / a)
        curve_x = np.linspace(lo, hi, 300)[1:-1]
        rows.append({
            "alpha": alpha, "realized_alpha": a, "p": p, "eigenvalues": int(ev.size),
            "edge_low": lo, "edge_high": hi,
            "min_nonzero": float(nonzero[0]), "max": float(ev[-1]),
            "atom": mp_atom(a), "mc_atom": float(np.mean(zero)),
            "moments": [{"k": k, "mc": float(np.mean(ev**k)), "narayana": mp_moment(k, a),
                         "quadrature": mp_moment_quadrature(k, a)} for k in range(1, 5)],
            "ks": _ks(cont / mass),
            "hist": _hist(nonzero, lo, hi, 50, ev.size),
            "curve_x": curve_x.tolist(),
            "curve": mp_density(curve_x, a).tolist(),
        })  # fmt: skip
    context.progress(1.0, "done")
    return {"input_dim": n0, "rows": rows, "stopped": stopped}


# ------------------------------------------------------------------------------------------------
# Fuss-Catalan
# ------------------------------------------------------------------------------------------------
def run_fuss_catalan(params: FussCatalanParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """Squared singular values of ``W_L ... W_1`` (n x n, N(0, 1/n)) pooled over draws."""
    from theoryscope.experiments.deeplinear_init.products import squared_singular_values
    from theoryscope.experiments.deeplinear_init.spectra import (
        fuss_catalan_cdf,
        fuss_catalan_density,
        fuss_catalan_edge,
        fuss_catalan_moment_quadrature,
        fuss_catalan_number,
    )

    rng = np.random.default_rng(int(seed))
    n = params.width
    rows: list[dict[str, Any]] = []
    stopped = False
    for i, depth in enumerate(params.depths):
        if context.should_stop():
            stopped = True
            break
        context.progress(i / len(params.depths), f"L = {depth}")
        s2 = np.sort(squared_singular_values(rng, n, depth, params.draws).ravel())
        edge = fuss_catalan_edge(depth)
        hi = min(edge, float(np.quantile(s2, 0.999)) * 1.05)
        curve_x = np.geomspace(1e-3 * edge, edge * (1 - 1e-6), 300)
        rows.append({
            "depth": depth, "values": int(s2.size), "edge": edge, "max": float(s2[-1]),
            "moments": [{"k": k, "mc": float(np.mean(s2**k)),
                         "fuss_catalan": fuss_catalan_number(depth, k),
                         "quadrature": fuss_catalan_moment_quadrature(depth, k)}
                        for k in range(1, 5)],
            "ks": _ks(fuss_catalan_cdf(s2, depth)),
            "hist": _hist(s2, 0.0, hi, 60, s2.size),
            "curve_x": curve_x.tolist(),
            "curve": fuss_catalan_density(curve_x, depth).tolist(),
        })  # fmt: skip
    context.progress(1.0, "done")
    return {"width": n, "draws": params.draws, "rows": rows, "stopped": stopped}


# ------------------------------------------------------------------------------------------------
# Lyapunov regime
# ------------------------------------------------------------------------------------------------
def run_lyapunov(params: LyapunovParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """Log squared singular values of products of ``L = round(tau n)`` Gaussian n x n matrices
    (stable QR + Jacobi), against the Bartlett/QR prediction ``L[psi((n-i+1)/2) + log(2/n)]``
    with spread ``sqrt(L psi'((n-i+1)/2))``; log det exactly."""
    from theoryscope.experiments.deeplinear_init.products import log_singular_values
    from theoryscope.experiments.deeplinear_init.spectra import (
        log_det_moments,
        lyapunov_mean,
        lyapunov_var,
    )

    points = [(tau, n) for n in sorted(params.widths) for tau in sorted(params.taus)]
    rows: list[dict[str, Any]] = []
    stopped = False
    for i, (tau, n) in enumerate(points):
        if context.should_stop():
            stopped = True
            break
        context.progress(i / len(points), f"tau = {tau}, n = {n}")
        depth = max(1, round(tau * n))
        rng = np.random.default_rng([int(seed), i])
        logs, diag = log_singular_values(rng, n, depth, params.draws)
        pred_mean, pred_var = lyapunov_mean(n, depth), lyapunov_var(n, depth)
        det_mean, det_var = log_det_moments(n, depth)
        logdet = np.sum(logs, axis=1)
        mc_mean = np.mean(logs, axis=0)
        mc_var = np.var(logs, axis=0, ddof=1)
        bulk = slice(n // 4, max(n // 4 + 1, 3 * n // 4))
        gaps = np.mean(-np.diff(logs, axis=1), axis=0)
        pred_gaps = -np.diff(pred_mean)
        spread = np.sqrt(pred_var[:-1])
        rows.append({
            "tau": depth / n, "tau_nominal": tau, "width": n, "depth": depth,
            "top_var_ratio": float(mc_var[0] / pred_var[0]),
            "bottom_var_ratio": float(mc_var[-1] / pred_var[-1]),
            "top_mean_excess": float((mc_mean[0] - pred_mean[0]) / math.sqrt(pred_var[0])),
            "mean_error_rms": float(np.sqrt(np.mean((mc_mean - pred_mean) ** 2 / pred_var))),
            "gap_over_spread": float(np.mean(gaps[bulk] / spread[bulk])),
            "gap_over_spread_lyapunov": float(np.mean(pred_gaps[bulk] / spread[bulk])),
            "logdet_mean": float(np.mean(logdet)), "logdet_mean_exact": det_mean,
            "logdet_var": float(np.var(logdet, ddof=1)), "logdet_var_exact": det_var,
            "logdet_z": float((np.mean(logdet) - det_mean) / math.sqrt(det_var / params.draws)),
            "qr_identity": float(np.max(np.abs(logdet - np.sum(diag, axis=1)))),
            "index": ((np.arange(n) + 0.5) / n).tolist(),
            "mean_per_layer": (mc_mean / depth).tolist(),
            "lyapunov_per_layer": (pred_mean / depth).tolist(),
        })  # fmt: skip
    context.progress(1.0, "done")
    return {"draws": params.draws, "rows": rows, "stopped": stopped}


# ------------------------------------------------------------------------------------------------
# Bayesian interpolation
# ------------------------------------------------------------------------------------------------
def run_bayes_check(params: BayesCheckParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """The exact posterior (evidence, ||theta_perp||^2, predictive at a test input) against an
    importance sampler of whole networks (exact at zero noise) and a rejection sampler."""
    from theoryscope.experiments.deeplinear_init.bayes import (
        Posterior,
        effective_sample_size,
        importance_sampler,
        log_mean_weight,
        rejection_sampler,
        teacher_data,
        weighted_mean,
    )

    data, _ = teacher_data(params.input_dim, params.points, params.teacher_norm2,
                           params.data_seed)  # fmt: skip
    x_test = np.random.default_rng([int(params.data_seed), 1]).standard_normal((1, data.n0))
    hidden = (params.width,) * params.depth
    context.progress(0.02, "exact posterior")
    post = Posterior(data, hidden, params.sigma2)
    mean, var = post.predictive_moments(x_test)
    m0, sd0 = float(mean[0]), math.sqrt(float(var[0]))
    context.progress(0.1, "importance sampler")
    imp = importance_sampler(post, x_test, params.nets, seed)
    logw = np.asarray(imp["log_weights"])
    f = np.asarray(imp["f"])[:, 0]
    log_z, log_z_se = log_mean_weight(logw)
    est_mean = weighted_mean(f, logw)
    est_var = weighted_mean((f - m0) ** 2, logw)
    est_perp = weighted_mean(np.asarray(imp["theta_perp_norm2"]), logw)
    # the theory's quantiles: the sampler's CDF there
    probs = np.asarray([0.05, 0.25, 0.5, 0.75, 0.95])
    grid = m0 + sd0 * np.linspace(-8, 8, 4001)
    cdf = post.predictive_cdf(x_test, grid)
    quants = np.interp(probs, cdf, grid)
    cdf_rows = []
    for p, q in zip(probs, quants, strict=True):
        est, se = weighted_mean((f <= q).astype(float), logw)
        cdf_rows.append({"p": float(p), "q": float(q), "sampler": est, "se": se,
                         "z": (est - p) / se if se > 0 else None})  # fmt: skip
    lo, hi = m0 - 5 * sd0, m0 + 5 * sd0
    w = np.exp(logw - logw.max())
    counts, edges = np.histogram(f, bins=60, range=(lo, hi), weights=w)
    width = float(edges[1] - edges[0])
    curve_x = np.linspace(lo, hi, 300)
    out: dict[str, Any] = {
        "hidden": list(hidden), "n0": data.n0, "p": data.p, "sigma2": params.sigma2,
        "theta_star_norm2": post.theta_star_norm2,
        "effective_depth": post.data.p * sum(1.0 / n for n in hidden),
        "log_evidence": post.log_evidence, "log_evidence_sampler": log_z,
        "log_evidence_se": log_z_se,
        "evidence_ratio": math.exp(log_z - post.log_evidence), "one": 1.0,
        "theta_perp_norm2": post.theta_perp_norm2,
        "theta_perp_norm2_sampler": est_perp[0], "theta_perp_norm2_se": est_perp[1],
        "predictive_mean": m0, "predictive_mean_sampler": est_mean[0],
        "predictive_mean_se": est_mean[1],
        "predictive_var": float(var[0]), "predictive_var_sampler": est_var[0],
        "predictive_var_se": est_var[1],
        "cdf": cdf_rows,
        "ess": effective_sample_size(logw), "nets": params.nets,
        "hist_centers": (0.5 * (edges[:-1] + edges[1:])).tolist(),
        "hist_importance": (counts / (w.sum() * width)).tolist(),
        "curve_x": curve_x.tolist(),
        "curve": np.exp(post.predictive_logpdf(np.repeat(x_test, curve_x.size, 0),
                                               curve_x)).tolist(),
        "gaussian_curve": (np.exp(-0.5 * (curve_x - m0) ** 2 / sd0**2)
                           / (sd0 * math.sqrt(2 * math.pi))).tolist(),
    }  # fmt: skip
    z = [
        (out["log_evidence_sampler"] - out["log_evidence"]) / log_z_se,
        (est_perp[0] - post.theta_perp_norm2) / est_perp[1],
        (est_mean[0] - m0) / est_mean[1],
        (est_var[0] - float(var[0])) / est_var[1],
    ] + [r["z"] for r in cdf_rows if r["z"] is not None]
    out["max_abs_z"] = float(np.max(np.abs(z)))
    if params.rejection_nets > 0 and not context.should_stop():
        from theoryscope.experiments.deeplinear_init.productlaw import ks_pvalue

        context.progress(0.5, "rejection sampler")
        rej = rejection_sampler(post, x_test, params.rejection_nets, params.eps, seed + 1)
        fr = np.sort(np.asarray(rej["f"])[:, 0])
        if fr.size:
            d = _ks(post.predictive_cdf(x_test, fr))
            rc, _ = np.histogram(fr, bins=60, range=(lo, hi))
            out.update({
                "rejection_accepted": int(rej["accepted"]), "rejection_ks": d,
                "rejection_ks_pvalue": ks_pvalue(d, fr.size),
                "rejection_log_evidence": rej["log_evidence"],
                "rejection_log_evidence_se": rej["log_evidence_se"],
                "rejection_mean": float(np.mean(fr)),
                "rejection_var": float(np.var(fr, ddof=1)),
                "hist_rejection": (rc / (fr.size * width)).tolist(),
            })  # fmt: skip
    out["stopped"] = context.should_stop()
    context.progress(1.0, "done")
    return out


def run_bayes_depth(params: BayesDepthParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """For every (N, L): log evidence, posterior scale and test NLPD of the data-agnostic deep
    prior, against the evidence-optimal shallow prior sigma_*^2 and the Gaussian approximation
    in the effective depth ``lam = (P/2) sum psi'(N_l/2) ~ P L / N``."""
    from theoryscope.experiments.deeplinear_init.bayes import (
        Posterior,
        gaussian_approximation,
        lognormal_approximation,
        optimal_sigma2,
        teacher_data,
    )

    data, teacher = teacher_data(params.input_dim, params.points, params.teacher_norm2,
                                 params.data_seed)  # fmt: skip
    xt = np.random.default_rng([int(params.data_seed), 1]).standard_normal((params.tests, data.n0))
    yt = xt @ teacher
    s_opt = optimal_sigma2(data)
    best = Posterior(data, (), s_opt)
    shallow = Posterior(data, (), params.sigma2)
    ref = {
        "sigma2_opt": s_opt, "log_evidence_opt": best.log_evidence,
        "nlpd_opt": best.nlpd(xt, yt), "log_evidence_shallow": shallow.log_evidence,
        "nlpd_shallow": shallow.nlpd(xt, yt),
        "theta_perp_norm2_teacher": float(teacher @ teacher - np.sum((teacher @ data.basis) ** 2)),
        "theta_perp_norm2_opt": best.theta_perp_norm2,
        "delta": math.log(s_opt / params.sigma2),
    }  # fmt: skip
    ref["lam_peak_approx"] = max(0.0, data.p * ref["delta"] ** 2 / 2.0 - 1.0)
    points = [(n, d) for n in sorted(params.widths) for d in sorted(params.depths)]
    rows: list[dict[str, Any]] = []
    stopped = False
    for i, (n, depth) in enumerate(points):
        if context.should_stop():
            stopped = True
            break
        context.progress(i / len(points), f"N = {n}, L = {depth}")
        hidden = (n,) * depth
        post = shallow if depth == 0 else Posterior(data, hidden, params.sigma2)
        approx = gaussian_approximation(hidden, data, params.sigma2)
        lognormal = lognormal_approximation(hidden, data, params.sigma2)
        rows.append({
            "width": n, "depth": depth, "lam": approx["lam"], "lam_simple": data.p * depth / n,
            "log_evidence": post.log_evidence,
            "evidence_gap": post.log_evidence - best.log_evidence,
            "evidence_gap_approx": lognormal["log_evidence_gap"],
            "evidence_gap_laplace": approx["log_evidence_gap"],
            "scale_ratio": math.exp(math.log(params.sigma2) + post.log_r2_mean - math.log(s_opt)),
            "scale_ratio_approx": math.exp(lognormal["log_r2_mean"] - ref["delta"]),
            "scale_ratio_laplace": math.exp(approx["log_r2_mean"] - ref["delta"]),
            "s2_ratio": post.s2_mean * data.n0 / s_opt,
            "theta_perp_norm2": post.theta_perp_norm2,
            "nlpd": post.nlpd(xt, yt),
        })  # fmt: skip
    context.progress(1.0, "done")
    deepest = max(rows, key=lambda r: r["lam"]) if rows else None
    gain = None
    if deepest is not None:
        gain = deepest["log_evidence"] - ref["log_evidence_shallow"]
    peak = max(rows, key=lambda r: r["log_evidence"]) if rows else None
    return {
        "n0": data.n0, "p": data.p, "sigma2": params.sigma2, "tests": params.tests,
        "reference": ref, "rows": rows, "stopped": stopped,
        "deepest": deepest, "evidence_gain": gain,
        "evidence_gain_approx": (deepest["evidence_gap_approx"]
                                 - lognormal_approximation((), data, params.sigma2)
                                 ["log_evidence_gap"]) if deepest else None,
        "lam_peak": peak["lam"] if peak else None,
    }  # fmt: skip

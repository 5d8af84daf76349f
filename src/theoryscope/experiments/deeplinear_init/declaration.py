"""What the deep-linear-at-initialization experiment shows: its figure, metrics, studies, presets
and costs. Read by every surface (CLI, web page, sweeps, reports); nothing runs at import."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from theoryscope.experiments.deeplinear_init.config import (
    FC,
    HZ,
    LYAP,
    MP,
    NOTES,
    BayesCheckParams,
    BayesDepthParams,
    CollapseParams,
    Config,
    FussCatalanParams,
    LyapunovParams,
    MarchenkoPasturParams,
    NormLawParams,
)
from theoryscope.spec import Curve, Estimate, Figure, Marker, Metric, Panel, Preset, Study

PAPER = HZ
#: Measured on the 2-core development machine under load (benchmarks/bench_deeplinear_init.py):
#: Gaussian draws per second of the JAX matrix sampler, and Gamma draws of the exact sampler.
NORMALS_PER_SECOND = 2.5e7
GAMMAS_PER_SECOND = 2.0e7
COMPILE_SECONDS = 5.0

FIGURES = (
    Figure(
        name="montecarlo",
        title="Deep linear nets at initialization: Monte Carlo against the exact law of ||theta||^2",
        panels=(
            Panel(
                title="E||theta||^(2k): Monte Carlo / exact",
                x_label="nets drawn",
                y_label="ratio",
                x_log=True,
                curves=(
                    Curve(y="series.moment_ratio", x="series.step", label="k={value}",
                          columns=True, column_labels="theory.moment_orders"),
                    Curve(y="theory.ones", x="theory.nets", label="exact k={value}",
                          style="dashed", columns=True, column_labels="theory.moment_orders"),
                ),
            ),
            Panel(
                title="log||theta||^2: mean and variance",
                x_label="nets drawn",
                y_label="log||theta||^2",
                x_log=True,
                curves=(
                    Curve(y="series.log_mean", x="series.step", label="mean", color=0),
                    Curve(y="theory.log_mean_curve", x="theory.nets",
                          label="sum psi(n/2) + log(2/n)", style="dashed", color=0),
                    Curve(y="series.log_var", x="series.step", label="variance", color=1),
                    Curve(y="theory.log_var_curve", x="theory.nets", label="sum psi'(n/2)",
                          style="dashed", color=1),
                ),
                markers=(
                    Marker(at="theory.lognormal_mean", label="log-normal limit -sum 1/n",
                           axis="y"),
                    Marker(at="theory.lognormal_var", label="log-normal limit 2 sum 1/n",
                           axis="y"),
                ),
            ),
            Panel(
                title="Kolmogorov-Smirnov distance to the exact CDF",
                x_label="nets drawn",
                y_label="sup |F_m - F|",
                x_log=True,
                y_log=True,
                curves=(
                    Curve(y="series.ks", x="series.step", label="Monte Carlo", color=4),
                    Curve(y="theory.ks_mean", x="theory.nets", label="null mean 0.869/sqrt(m)",
                          style="dashed", color=4),
                    Curve(y="theory.ks_95", x="theory.nets", label="null 95% 1.358/sqrt(m)",
                          style="dashed", color=5),
                ),
            ),
            Panel(
                title="Density of log||theta||^2",
                x_label="log||theta||^2",
                y_label="density",
                curves=(
                    Curve(y="summary.hist_density", x="summary.hist_centers",
                          label="Monte Carlo", style="markers", color=2),
                    Curve(y="theory.density", x="theory.density_v", label="exact (product of chi^2)",
                          style="dashed", color=2),
                    Curve(y="theory.lognormal_density", x="theory.density_v",
                          label="log-normal limit", style="dashed", color=7),
                ),
            ),
        ),
    ),
)  # fmt: skip

METRICS = (
    Metric("mean_norm2", "E||theta||^2", "agreement.moments.0.mc", "theory.moments.0",
           tex=r"E\|\theta\|^2=1", cite=NOTES, good=0.02),
    Metric("fourth", "E||theta||^4", "agreement.moments.1.mc", "theory.moments.1",
           tex=r"\prod_l(1+2/n_l)", cite=NOTES, good=0.05),
    Metric("moment", "E||theta||^(2k), k={k}", "agreement.moments.*.mc",
           "theory.moments.*", tex=r"E\|\theta\|^{2k}=\prod_l\prod_{j<k}(1+2j/n_l)",
           cite=NOTES),
    Metric("moment_z", "largest |z| of the MC moments (sd errors)", "agreement.max_abs_z",
           cite=NOTES),
    Metric("log_mean", "E log||theta||^2", "agreement.log_mean", "theory.log_mean",
           tex=r"\sum_l \psi(n_l/2)+\log(2/n_l)", cite=NOTES, good=0.05),
    Metric("log_var", "Var log||theta||^2", "agreement.log_var", "theory.log_var",
           tex=r"\sum_l \psi'(n_l/2)", cite=NOTES, good=0.05),
    Metric("ks", "KS distance (vs its null mean)", "agreement.ks", "agreement.ks_null_mean",
           tex=r"\sup|F_m-F|", cite="Kolmogorov 1933"),
    Metric("ks_pvalue", "KS p-value against the exact law", "agreement.ks_pvalue",
           cite="Kolmogorov 1933"),
    Metric("lognormal_var", "exact Var log||theta||^2 vs log-normal 2 sum 1/n",
           "theory.log_var", "theory.lognormal_var", tex=r"2L/n", cite=NOTES),
)  # fmt: skip

PRESETS = (
    Preset("tiny", "A run of about a second: L = 4, n = 8, 5 records of 200 nets (exact law)",
           {"depth": 4, "width": 8, "input_dim": 8, "nets": 200, "records": 5,
            "sampler": "exact"}),
    Preset("tiny-matrices", "The same with Gaussian weight matrices (one JAX compilation)",
           {"depth": 4, "width": 8, "input_dim": 8, "nets": 200, "records": 5}),
    Preset("notes", "The notes' regime L/n = 1/2: L = 16, n = n_0 = 32, 20,000 nets",
           {"depth": 16, "width": 32, "input_dim": 32, "nets": 1000, "records": 20}, cite=NOTES),
    Preset("lognormal", "L/n = 1 at n = 128 (exact sampler, 10^6 nets): close to log-normal",
           {"depth": 128, "width": 128, "input_dim": 128, "sampler": "exact", "nets": 50_000,
            "records": 20}, cite=NOTES),
    Preset("deep-narrow", "L/n = 16 (L = 256, n = 16): ||theta|| -> 0 although E||theta||^2 = 1; "
           "the moments are carried by nets too rare to sample (MC means miss them, the log-moments "
           "and the KS test agree)",
           {"depth": 256, "width": 16, "input_dim": 16, "nets": 1000, "records": 10},
           cite=NOTES),
    Preset("wide-shallow", "L/n = 1/64 (L = 8, n = 512): ||theta|| -> 1",
           {"depth": 8, "width": 512, "input_dim": 512, "nets": 200, "records": 10}, cite=NOTES),
    Preset("bottleneck", "Unequal widths 64,4,64,4,64 (the product law holds layer by layer)",
           {"widths": (64, 4, 64, 4, 64), "input_dim": 64, "nets": 2000, "records": 10},
           cite=HZ),
)  # fmt: skip


def _normals_per_net(config: Config) -> float:
    widths = config.all_widths()
    hidden = max(widths[1:], default=1)
    return hidden + hidden * hidden * max(0, len(widths) - 2) + hidden * widths[0]


def estimate(config: Config) -> Estimate:
    """Memory: every draw kept (float64, a few copies for the running KS) plus one vmapped call
    (2^22 entries, float32/64, a few copies). Time: the draws at the measured rates plus
    ``m log m`` sorting per record and one compilation."""
    total = float(config.nets) * float(config.records)
    memory = 4 * 8.0 * total + 6 * 8.0 * (1 << 22) + 64e6
    if config.sampler == "exact":
        seconds = total * len(config.all_widths()) / GAMMAS_PER_SECOND
    else:
        seconds = COMPILE_SECONDS + total * _normals_per_net(config) / NORMALS_PER_SECOND
    seconds += config.records * total * math.log2(total + 2) / 4e7
    return Estimate(memory_bytes=memory, seconds=seconds,
                    fields=("nets", "records", "depth", "width", "input_dim"))  # fmt: skip


# ------------------------------------------------------------------------------------------------
# studies
# ------------------------------------------------------------------------------------------------
def _run(name: str) -> Any:
    def run(params: Any, seed: int, context: Any) -> dict[str, Any]:
        from theoryscope.experiments.deeplinear_init import studies

        return getattr(studies, f"run_{name}")(params, seed, context)

    run.__name__ = f"run_{name}"
    return run


def _figure(name: str) -> Any:
    def figure(result: Mapping[str, Any]) -> Any:
        from theoryscope.experiments.deeplinear_init import plots

        return getattr(plots, name)(result)

    return figure


def _fmt(value: Any, spec: str = ".4g") -> str:
    return "-" if value is None else format(value, spec)


def norm_law_lines(result: Mapping[str, Any]) -> list[str]:
    lines = [f"tau = L/n = {result['tau']}: exact law -> log-normal N(-tau, 2 tau) as n grows"]
    for r in result["rows"]:
        lines.append(
            f"n={r['width']:<5} L={r['depth']:<5} E log|th|^2 {r['mean']:.4f} (limit "
            f"{r['limit_mean']:.4f}, MC {r['mc_mean']:.4f})  Var {r['var']:.4f} (limit "
            f"{r['limit_var']:.4f}, MC {r['mc_var']:.4f})  KS to log-normal {r['ks_lognormal']:.2e}"
            f"  MC KS p {r['mc_ks_pvalue']:.3f}"
        )
    lines.append(f"slope of the KS distance to the log-normal in n: "
                 f"{_fmt(result['slope_ks_lognormal'], '.3f')} (theory -1)")  # fmt: skip
    lines.append(f"log||theta|| -> N(-tau/2, tau/2): variance {result['exact_log_norm_var_limit']:.4g}"
                 f" (the notes' tau/4 = {result['notes_log_norm_var']:.4g} uses Var chi^2_n/n = "
                 "1/n instead of 2/n)")  # fmt: skip
    return lines


def collapse_lines(result: Mapping[str, Any]) -> list[str]:
    lines = [f"{len(result['rows'])} (L, n) points, {result['nets']} nets each "
             f"({result['sampler']} sampler)"]  # fmt: skip
    for r in result["rows"]:
        lines.append(f"L={r['depth']:<4} n={r['width']:<4} L/n={r['tau']:<8.4g} Var log|th|^2 "
                     f"MC {r['mc_var']:.4f} exact {r['var']:.4f}  median |th| MC "
                     f"{r['mc_median_norm']:.3f} exact {r['median_norm']:.3f}")  # fmt: skip
    lines.append(f"spread of Var at fixed L/n: {_fmt(result['spread_at_fixed_tau'])} (exact), "
                 f"{_fmt(result['mc_spread_at_fixed_tau'])} (MC); at fixed L: "
                 f"{_fmt(result['spread_at_fixed_depth'])} (exact)")  # fmt: skip
    return lines


def mp_lines(result: Mapping[str, Any]) -> list[str]:
    lines = []
    for r in result["rows"]:
        mom = " ".join(f"m{m['k']} {m['mc']:.4f}/{m['narayana']:.4f}" for m in r["moments"])
        lines.append(f"alpha={r['realized_alpha']:.4g}: edges [{r['min_nonzero']:.4f}, "
                     f"{r['max']:.4f}] vs [{r['edge_low']:.4f}, {r['edge_high']:.4f}]  atom "
                     f"{r['mc_atom']:.4f}/{r['atom']:.4f}  {mom}  KS {r['ks']:.4f}")  # fmt: skip
    return lines


def fc_lines(result: Mapping[str, Any]) -> list[str]:
    lines = []
    for r in result["rows"]:
        mom = " ".join(f"m{m['k']} {m['mc']:.3f}/{m['fuss_catalan']:.0f}" for m in r["moments"])
        lines.append(f"L={r['depth']}: max s^2 {r['max']:.4f} vs edge {r['edge']:.4f}  {mom}  "
                     f"KS {r['ks']:.4f}")  # fmt: skip
    return lines


def lyapunov_lines(result: Mapping[str, Any]) -> list[str]:
    lines = []
    for r in result["rows"]:
        lines.append(
            f"n={r['width']:<4} L={r['depth']:<5} L/n={r['tau']:<7.4g} Var log s_1^2 / L psi' "
            f"{r['top_var_ratio']:.3f}  bulk gap/spread {r['gap_over_spread']:.3f}  log det mean "
            f"z {r['logdet_z']:+.2f}, Var {r['logdet_var']:.4g}/{r['logdet_var_exact']:.4g}"
        )
    return lines


def bayes_check_lines(result: Mapping[str, Any]) -> list[str]:
    lines = [
        f"N_0={result['n0']} P={result['p']} hidden={result['hidden']} sigma^2={result['sigma2']}"
        f"  ESS {result['ess']:.0f} of {result['nets']}",
        f"log Z exact {result['log_evidence']:.5f}  importance {result['log_evidence_sampler']:.5f}"
        f" +- {result['log_evidence_se']:.5f}",
        f"E||theta_perp||^2 exact {result['theta_perp_norm2']:.5f}  importance "
        f"{result['theta_perp_norm2_sampler']:.5f} +- {result['theta_perp_norm2_se']:.5f}",
        f"predictive mean {result['predictive_mean']:.5f} / {result['predictive_mean_sampler']:.5f}"
        f"  var {result['predictive_var']:.5f} / {result['predictive_var_sampler']:.5f} +- "
        f"{result['predictive_var_se']:.5f}",
        f"largest |z| over these and the CDF at 5 quantiles: {result['max_abs_z']:.2f}",
    ]
    if "rejection_ks" in result:
        lines.append(f"rejection sampler: {result['rejection_accepted']} kept, KS "
                     f"{result['rejection_ks']:.4f} (p {result['rejection_ks_pvalue']:.3f}), "
                     f"log Z {result['rejection_log_evidence']:.4f} +- "
                     f"{result['rejection_log_evidence_se']:.4f}")  # fmt: skip
    return lines


def bayes_depth_lines(result: Mapping[str, Any]) -> list[str]:
    ref = result["reference"]
    lines = [
        f"N_0={result['n0']} P={result['p']} sigma^2={result['sigma2']}: sigma_*^2 = "
        f"{ref['sigma2_opt']:.4f} (Delta = {ref['delta']:.3f}); log Z: depth 0 "
        f"{ref['log_evidence_shallow']:.3f}, optimal depth 0 {ref['log_evidence_opt']:.3f}",
        f"NLPD: depth 0 {ref['nlpd_shallow']:.4f}, optimal depth 0 {ref['nlpd_opt']:.4f}",
    ]
    for r in result["rows"]:
        lines.append(f"N={r['width']:<5} L={r['depth']:<4} lam={r['lam']:<9.4g} log Z - opt "
                     f"{r['evidence_gap']:+.3f} (approx {r['evidence_gap_approx']:+.3f})  scale "
                     f"{r['scale_ratio']:.4f} (approx {r['scale_ratio_approx']:.4f})  NLPD "
                     f"{r['nlpd']:.4f}")  # fmt: skip
    lines.append(f"evidence peak at lam = {_fmt(result['lam_peak'])} (Gaussian approx. "
                 f"P Delta^2/2 - 1 = {ref['lam_peak_approx']:.4g})")  # fmt: skip
    return lines


def _norm_law_estimate(p: NormLawParams) -> Estimate:
    draws = sum(p.nets * (round(p.tau * n) + 2) for n in p.widths)
    return Estimate(memory_bytes=8.0 * p.nets * (max(p.widths) * p.tau + 2) * 3 + 64e6,
                    seconds=draws / GAMMAS_PER_SECOND + 0.05 * len(p.widths),
                    fields=("nets", "widths", "tau"))  # fmt: skip


def _collapse_estimate(p: CollapseParams) -> Estimate:
    per = sum(p.nets * (d * n * n + n) for d in p.depths for n in p.widths)
    rate = NORMALS_PER_SECOND if p.sampler == "matrices" else GAMMAS_PER_SECOND * max(p.widths)
    return Estimate(memory_bytes=6 * 8.0 * (1 << 22) + 64e6,
                    seconds=per / rate + COMPILE_SECONDS * len(p.widths),
                    fields=("nets", "depths", "widths"))  # fmt: skip


def _mp_estimate(p: MarchenkoPasturParams) -> Estimate:
    sizes = [max(1, round(a * p.input_dim)) for a in p.alphas]
    flops = sum(p.draws * (s * s * p.input_dim + 10 * s**3) for s in sizes)
    return Estimate(memory_bytes=8.0 * 4 * max(sizes) * max(max(sizes), p.input_dim) + 64e6,
                    seconds=flops / 2e9, fields=("input_dim", "alphas", "draws"))  # fmt: skip


def _fc_estimate(p: FussCatalanParams) -> Estimate:
    flops = sum(p.draws * (2 * d * p.width**3 + 20 * p.width**3) for d in p.depths)
    return Estimate(memory_bytes=8.0 * 4 * p.draws * p.width**2 + 64e6, seconds=flops / 2e9,
                    fields=("width", "draws", "depths"))  # fmt: skip


def _lyapunov_estimate(p: LyapunovParams) -> Estimate:
    flops = sum(p.draws * (max(1, round(t * n)) * 8 * n**3 + 400 * n**3)
                for t in p.taus for n in p.widths)  # fmt: skip
    return Estimate(memory_bytes=8.0 * 8 * p.draws * max(p.widths) ** 2 + 64e6,
                    seconds=flops / 5e8, fields=("taus", "widths", "draws"))  # fmt: skip


def _bayes_check_estimate(p: BayesCheckParams) -> Estimate:
    per = p.depth * p.width * p.width + p.width * p.input_dim + p.input_dim * p.points
    seconds = (p.nets * per * 4 + p.rejection_nets * per * 2) / 5e7 + 1.0
    return Estimate(memory_bytes=8.0 * 20000 * max(per, 1) * 4 + 8.0 * p.nets * 4 + 64e6,
                    seconds=seconds, fields=("nets", "rejection_nets", "depth", "width"))  # fmt: skip


def _bayes_depth_estimate(p: BayesDepthParams) -> Estimate:
    count = len(p.widths) * len(p.depths)
    return Estimate(
        memory_bytes=8.0 * p.tests * 801 * 4 + 8.0 * p.input_dim**2 * 4 + 64e6,
        seconds=count * (0.4 + p.tests * 801 / 2e7),
        fields=("widths", "depths"),
    )


STUDIES = (
    Study(
        name="norm-law",
        tiny={"widths": (4, 8), "nets": 100},
        title="The exact law of ||theta||^2 and its log-normal limit at fixed L/n",
        summary="digamma/trigamma moments and the exact CDF against N(-tau, 2 tau) as n grows",
        params=NormLawParams, run=_run("norm_law"), figure=_figure("norm_law"),
        summary_lines=norm_law_lines, estimate=_norm_law_estimate, cite=NOTES,
        metrics=(
            Metric("var_widest", "Var log||theta||^2 at the widest n vs log-normal",
                   "result.widest.var", "result.widest.limit_var", cite=NOTES, good=0.05),
            Metric("mc_var_widest", "Monte Carlo Var at the widest n vs exact",
                   "result.widest.mc_var", "result.widest.var", cite=NOTES, good=0.05),
            Metric("ks_slope", "slope of KS(exact, log-normal) in n", "result.slope_ks_lognormal",
                   "result.slope_theory", cite=NOTES, good=0.15),
            Metric("log_norm_var", "Var log||theta|| limit (exact tau/2 vs notes tau/4)",
                   "result.exact_log_norm_var_limit", "result.notes_log_norm_var", cite=NOTES),
        ),
    ),
    Study(
        name="collapse",
        tiny={"depths": (1, 3), "widths": (4, 8), "nets": 100, "sampler": 'exact'},
        title="The spread of ||theta|| depends on L/n alone",
        summary="Gaussian-matrix Monte Carlo over (L, n): Var log||theta||^2 against L, n and L/n",
        params=CollapseParams, run=_run("collapse"), figure=_figure("collapse"),
        summary_lines=collapse_lines, estimate=_collapse_estimate, cite=NOTES,
        metrics=(
            Metric("var", "Var log||theta||^2, L={depth} n={width}", "result.rows.*.mc_var",
                   "result.rows.*.var", cite=NOTES, good=0.15),
            Metric("spread_tau", "spread of Var at equal L/n (exact)",
                   "result.spread_at_fixed_tau", cite=NOTES),
            Metric("spread_depth", "spread of Var at equal L (exact)",
                   "result.spread_at_fixed_depth", cite=NOTES),
        ),
    ),
    Study(
        name="marchenko-pastur",
        tiny={"alphas": (0.5, 1.0), "input_dim": 20, "draws": 1},
        title="Marchenko-Pastur: eigenvalues of X X^T / n_0",
        summary="histograms, edges, the atom at 0 and Narayana moments for several alpha = P/n_0",
        params=MarchenkoPasturParams, run=_run("marchenko_pastur"),
        figure=_figure("marchenko_pastur"), summary_lines=mp_lines, estimate=_mp_estimate, cite=MP,
        metrics=(
            Metric("m2", "second moment, alpha={alpha}", "result.rows.*.moments.1.mc",
                   "result.rows.*.moments.1.narayana", tex=r"1+\alpha", cite=MP, good=0.02),
            Metric("edge", "largest eigenvalue, alpha={alpha}", "result.rows.*.max",
                   "result.rows.*.edge_high", tex=r"(1+\sqrt\alpha)^2", cite=MP, good=0.05),
            Metric("atom", "atom at 0, alpha={alpha}", "result.rows.*.mc_atom",
                   "result.rows.*.atom", tex=r"1-1/\alpha", cite=MP),
        ),
    ),
    Study(
        name="fuss-catalan",
        tiny={"depths": (1, 2), "width": 20, "draws": 1},
        title="Fuss-Catalan: squared singular values of products of L Gaussian matrices",
        summary="histograms and moments against the Fuss-Catalan law of order L",
        params=FussCatalanParams, run=_run("fuss_catalan"), figure=_figure("fuss_catalan"),
        summary_lines=fc_lines, estimate=_fc_estimate, cite=FC,
        metrics=(
            Metric("m2", "second moment, L={depth}", "result.rows.*.moments.1.mc",
                   "result.rows.*.moments.1.fuss_catalan", tex=r"FC_L(2)=L+2", cite=FC, good=0.05),
            Metric("quadrature", "density's 4th moment by quadrature, L={depth}",
                   "result.rows.*.moments.3.quadrature", "result.rows.*.moments.3.fuss_catalan",
                   cite=FC, good=1e-8),
            Metric("edge", "largest s^2, L={depth}", "result.rows.*.max", "result.rows.*.edge",
                   tex=r"(L+1)^{L+1}/L^L", cite=FC, good=0.1),
        ),
    ),
    Study(
        name="lyapunov",
        tiny={"taus": (1.0,), "widths": (8,), "draws": 4},
        title="Log singular values of long products at fixed L/n",
        summary="Lyapunov spectrum, spread and gaps of log s_i^2 over a (L/n, n) grid",
        params=LyapunovParams, run=_run("lyapunov"), figure=_figure("lyapunov"),
        summary_lines=lyapunov_lines, estimate=_lyapunov_estimate, cite=LYAP,
        metrics=(
            Metric("logdet_var", "Var log det, L/n={tau_nominal} n={width}",
                   "result.rows.*.logdet_var", "result.rows.*.logdet_var_exact", cite=LYAP,
                   good=0.3),
            Metric("top_var", "Var log s_1^2 / (L psi'(n/2)), L/n={tau_nominal} n={width}",
                   "result.rows.*.top_var_ratio", cite=LYAP),
        ),
    ),
    Study(
        name="bayes-check",
        tiny={"nets": 1000, "rejection_nets": 0},
        title="Exact deep-linear posterior against samplers of whole networks",
        summary="evidence, ||theta_perp||^2 and the predictive at a test input vs importance and "
        "rejection sampling",
        params=BayesCheckParams, run=_run("bayes_check"), figure=_figure("bayes_check"),
        summary_lines=bayes_check_lines, estimate=_bayes_check_estimate, cite=HZ,
        metrics=(
            Metric("evidence", "evidence Z: importance sampler / exact", "result.evidence_ratio",
                   "result.one", tex=r"Z", cite=HZ, good=0.02),
            Metric("theta_perp", "E||theta_perp||^2", "result.theta_perp_norm2_sampler",
                   "result.theta_perp_norm2", cite=HZ, good=0.05),
            Metric("pred_var", "predictive variance", "result.predictive_var_sampler",
                   "result.predictive_var", cite=HZ, good=0.05),
            Metric("cdf", "predictive CDF at its {p} quantile", "result.cdf.*.sampler",
                   "result.cdf.*.p", cite=HZ, good=0.05),
            Metric("rejection_ks", "rejection sampler KS p-value", "result.rejection_ks_pvalue",
                   cite=HZ),
        ),
    ),
    Study(
        name="bayes-depth",
        tiny={"input_dim": 8, "points": 4, "widths": (4,), "depths": (0, 1), "tests": 10},
        title="Data-agnostic deep priors: evidence and predictions against effective depth",
        summary="log Z, posterior scale and test NLPD against P L / N, beside the optimal shallow "
        "prior",
        params=BayesDepthParams, run=_run("bayes_depth"), figure=_figure("bayes_depth"),
        summary_lines=bayes_depth_lines, estimate=_bayes_depth_estimate, cite=HZ,
        metrics=(
            Metric("gap", "log Z - log Z_opt, N={width} L={depth}", "result.rows.*.evidence_gap",
                   "result.rows.*.evidence_gap_approx", cite=HZ),
            Metric("scale", "posterior scale / sigma_*^2, N={width} L={depth}",
                   "result.rows.*.scale_ratio", "result.rows.*.scale_ratio_approx", cite=HZ,
                   good=0.1),
            Metric("gain", "evidence gain, deepest vs depth 0", "result.evidence_gain",
                   "result.evidence_gain_approx", cite=HZ),
            Metric("nlpd", "test NLPD, deepest vs optimal depth 0", "result.deepest.nlpd",
                   "result.reference.nlpd_opt", cite=HZ, good=0.05),
        ),
    ),
)  # fmt: skip

"""The SGD-noise studies: multi-run computations, declared with their parameters and figures.

    fdr-scan        both FDR ratios (and sides) at the end of a run, over a grid of eta and |B|
                    (linreg: against the exact stationary values; mlp: FDR2's O(eta^2) shows)
    alpha-eff       the fitted effective scale of SGD's end point against Pesme et al.'s
                    alpha_inf, over eta and |B| (one GD run per eta alongside)
    manifold-drift  the label-noise drift rate along ab = y against eta^2 sigma^2, over eta and
                    sigma

JAX and SciPy load inside the run functions; importing this module is cheap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import model_validator

from theoryscope.errors import ConfigError
from theoryscope.experiments.sgdnoise.config import (
    BLANC,
    DAMIAN,
    MAX_CHAINS,
    MAX_D,
    MAX_D_LINREG,
    MAX_M,
    MAX_RECORDS,
    MAX_STEPS,
    MAX_WIDTH,
    PESME,
    YAIDA,
    Config,
)
from theoryscope.spec import (
    CliInput,
    Estimate,
    ExperimentConfig,
    Float,
    FloatTuple,
    Int,
    IntTuple,
    StudyContext,
    param,
)

MAX_GRID = 16
_F64 = CliInput("float64", "Run in float64 (default float32).", flag=True,
                sets={"dtype": "float64"})  # fmt: skip


def _multiple(steps: int, records: int) -> None:
    if records > steps:
        raise ConfigError("records", f"got {records:,}; allowed: 2 to steps ({steps:,})")
    if steps % records != 0:
        raise ConfigError("steps", f"got {steps:,}; allowed: a multiple of records ({records:,})")


# ------------------------------------------------------------------------------------------------
# fdr-scan
# ------------------------------------------------------------------------------------------------
class FdrScanParams(ExperimentConfig):
    """Parameters of the FDR scan over learning rates and batch sizes."""

    cli_inputs: ClassVar[tuple[CliInput, ...]] = (_F64,)
    follows_seed: ClassVar[tuple[str, ...]] = ("data_seed",)

    mode: Literal["linreg", "mlp"] = param("linreg", help="Problem: linreg (exact theory) or mlp.")
    lrs: FloatTuple = param((0.02, 0.05, 0.1), item_gt=0, item_cap=1e3, min_items=1,
                            max_items=MAX_GRID, distinct=True, help="Learning rates eta.",
                            tex=r"\eta", cite=YAIDA)  # fmt: skip
    batches: IntTuple = param((2, 8), item_ge=1, item_le=MAX_M, min_items=1, max_items=MAX_GRID,
                              distinct=True, help="Expected batch sizes |B| (each <= m).",
                              tex="|B|")  # fmt: skip
    steps: Int = param(10_000, ge=2, le=MAX_STEPS, help="SGD steps per run (a multiple of "
                       "records).", web_max=400_000)  # fmt: skip
    records: Int = param(100, ge=2, le=MAX_RECORDS, help="Blocks per run.", web_max=1000)
    chains: Int = param(4, ge=1, le=MAX_CHAINS, help="Chains per run.", web_max=256)
    d: Int = param(4, ge=1, le=MAX_D, help="Dimension (linreg: at most 16; mlp: inputs).",
                   tex="d", web_max=64)  # fmt: skip
    m: Int = param(32, ge=1, le=MAX_M, help="Samples.", tex="m", web_max=1024)
    noise: Float = param(0.5, ge=0, cap=1e3, help="Label-noise std of the data.", tex=r"\sigma")
    weight_decay: Float = param(0.0, ge=0, cap=1e3, help="Weight decay lambda (mlp needs > 0 "
                                "to be stationary).", tex=r"\lambda")  # fmt: skip
    width: Int = param(16, ge=1, le=MAX_WIDTH, help="MLP hidden width.", web_max=128)
    center: Literal["origin", "minimum"] = param("origin", help="FDR1 observable |theta - c|^2/"
                                                 "2: c = 0 or a minimiser theta*.")  # fmt: skip
    data_seed: Int = param(0, ge=0, le=2**31 - 1, help="Seed of the data (follows --seed).",
                           advanced=True)  # fmt: skip
    dtype: Literal["float32", "float64"] = param("float32", help="Arithmetic of the chains.")

    @model_validator(mode="after")
    def _rules(self) -> FdrScanParams:
        _multiple(self.steps, self.records)
        if max(self.batches) > self.m:
            raise ConfigError("batches", f"entry {max(self.batches)} is out of range; allowed: "
                              f"batch sizes from 1 to m = {self.m}")  # fmt: skip
        if self.mode == "linreg" and self.d > MAX_D_LINREG:
            raise ConfigError("d", f"got {self.d}; allowed: 1 to {MAX_D_LINREG} in mode linreg")
        if self.mode == "linreg" and self.m <= self.d and self.weight_decay == 0:
            raise ConfigError("m", f"got {self.m}; allowed: > d = {self.d} (or weight_decay > 0)")
        return self

    def config(self, lr: float, batch: int) -> Config:
        return Config(mode=self.mode, lr=lr, batch=batch, steps=self.steps, records=self.records,
                      chains=self.chains, d=self.d, m=self.m, noise=self.noise,
                      weight_decay=self.weight_decay, width=self.width, center=self.center,
                      data_seed=self.data_seed, dtype=self.dtype)  # fmt: skip


def run_fdr_scan(params: FdrScanParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """One run per (eta, |B|) with one compiled runner (eta and p are traced arguments)."""
    import jax

    from theoryscope.experiments.sgdnoise import chains, fdr
    from theoryscope.experiments.sgdnoise.theory import predict

    points: list[dict[str, Any]] = []
    grid = [(lr, b) for b in params.batches for lr in params.lrs]
    base = params.config(params.lrs[0], params.batches[0])
    status = "finished"
    with jax.enable_x64(params.dtype == "float64"):
        problem = chains.build_problem(base, seed)
        centered = params.center == "minimum"
        runner = chains.make_runner(problem, base.block, chains.chunk_blocks(params.records),
                                    False, centered)  # fmt: skip
        for i, (lr, b) in enumerate(grid):
            if context.should_stop():
                break
            context.progress(i / len(grid), f"eta {lr:g}, |B| {b}")
            cfg = params.config(lr, b)
            stream, raw = chains.run_chains(
                problem, eta=lr, p=cfg.p, steps=params.steps, records=params.records,
                chains=params.chains, seed=seed, dtype=chains.dtype_of(cfg), runner=runner,
                centered=centered, should_stop=context.should_stop,
            )  # fmt: skip
            s = stream.series(chains.KEYS, {})
            point: dict[str, Any] = {"eta": lr, "batch": b, "one": 1.0,
                                     "diverged": stream.diverged_at is not None}  # fmt: skip
            if len(s["step"]) and stream.diverged_at is None:
                for pair in ("1", "2"):
                    point[f"ratio{pair}"] = float(s[f"ratio{pair}"][-1])
                    point[f"ratio{pair}_se"] = float(s[f"ratio{pair}_se"][-1])
                    for side in ("lhs", "rhs"):
                        point[f"fdr{pair}_{side}"] = float(s[f"fdr{pair}_{side}"][-1])
                point["equilibrated_step"] = fdr.equilibration(s["step"], s["ratio1"], 0.05)[0]
            else:
                status = "diverged"
            if params.mode == "linreg":
                th = predict(cfg).values
                n = len(s["step"])
                if n:
                    point["ratio1_predicted"] = float(th["ratio1"][n - 1])
                    point["ratio2_predicted"] = float(th["ratio2"][n - 1])
                if "stationary" in th:
                    point["fdr1_stationary"] = th["stationary"]["o_l"]
                    point["fdr2_stationary"] = th["stationary"]["f_l"]
                point["radius"] = th["radius"]
            points.append(point)
    context.progress(1.0, "done")
    out: dict[str, Any] = {"mode": params.mode, "lrs": list(params.lrs),
                           "batches": list(params.batches), "points": points}  # fmt: skip
    if status == "diverged":
        out["status"] = "diverged"
        out["message"] = "a run of the scan diverged (its point has no ratio); lower the largest lr"
    return out


def fdr_scan_figure(result: Mapping[str, Any]) -> Any:
    from matplotlib.figure import Figure

    from theoryscope.plots.render import OKABE_ITO

    fig = Figure(figsize=(11, 3.8), layout="constrained")
    axes = fig.subplots(1, 2)
    points = list(result.get("points") or [])
    for j, b in enumerate(result.get("batches") or []):
        color = OKABE_ITO[j % len(OKABE_ITO)]
        rows = [p for p in points if p["batch"] == b and p.get("ratio1") is not None]
        eta = np.array([p["eta"] for p in rows])
        for ax, pair, marker in ((axes[0], "1", "o"), (axes[0], "2", "s")):
            r = np.array([_num(p.get(f"ratio{pair}")) for p in rows])
            se = np.array([_num(p.get(f"ratio{pair}_se")) for p in rows])
            ax.errorbar(eta, r, yerr=2 * se, fmt=marker, color=color, ms=4, capsize=2,
                        label=f"FDR{pair}, |B|={b}")  # fmt: skip
        lhs = np.array([_num(p.get("fdr1_lhs")) for p in rows])
        rhs = np.array([_num(p.get("fdr1_rhs")) for p in rows])
        axes[1].plot(eta, lhs, "o", color=color, ms=4, label=f"<theta.grad L>, |B|={b}")
        axes[1].plot(eta, rhs, "x", color=color, ms=5, label=f"(eta/2)<|g_B|^2>, |B|={b}")
        stat = np.array([_num(p.get("fdr1_stationary")) for p in rows])
        if np.isfinite(stat).any():
            axes[1].plot(eta, stat, "--", color=color, lw=1.2, label=f"exact, |B|={b}")
    axes[0].axhline(1.0, color="0.35", ls=":", lw=1.0)
    axes[0].set_xscale("log")
    axes[0].set_title("FDR ratios at the end (+-2 SE)", fontsize=10)
    axes[0].set_xlabel("eta")
    axes[0].set_ylabel("half-running ratio")
    axes[1].set_xscale("log")
    axes[1].set_yscale("log")
    axes[1].set_title("FDR1 sides (linreg: exact stationary value dashed)", fontsize=10)
    axes[1].set_xlabel("eta")
    for ax in axes:
        ax.grid(True, alpha=0.25)
        ax.legend(fontsize=7)
    fig.suptitle(f"Fluctuation-dissipation relations over eta and |B| ({result.get('mode')})",
                 fontsize=11)  # fmt: skip
    return fig


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def fdr_scan_lines(result: Mapping[str, Any]) -> list[str]:
    lines = [f"mode {result.get('mode')}: FDR ratios at the end of each run (1 at stationarity)"]
    for p in result.get("points") or []:
        if p.get("ratio1") is None:
            lines.append(f"eta {p['eta']:<8g} |B| {p['batch']:<4} diverged")
            continue
        lines.append(f"eta {p['eta']:<8g} |B| {p['batch']:<4} FDR1 {p['ratio1']:.4f} +- "
                     f"{p['ratio1_se']:.4f}   FDR2 {p['ratio2']:.4f} +- {p['ratio2_se']:.4f}")  # fmt: skip
    return lines


def fdr_scan_estimate(params: FdrScanParams) -> Estimate:
    from theoryscope.experiments.sgdnoise.declaration import step_seconds

    runs = len(params.lrs) * len(params.batches)
    cfg = params.config(params.lrs[0], params.batches[0])
    seconds = 3.0 + runs * (params.steps * params.chains * step_seconds(cfg) + 0.05)
    return Estimate(memory_bytes=64e6 + 8.0 * params.records * 64, seconds=seconds,
                    fields=("steps", "chains", "lrs", "batches"))  # fmt: skip


# ------------------------------------------------------------------------------------------------
# alpha-eff
# ------------------------------------------------------------------------------------------------
class AlphaEffParams(ExperimentConfig):
    """Parameters of the effective-scale study on the diagonal net."""

    cli_inputs: ClassVar[tuple[CliInput, ...]] = (_F64,)
    follows_seed: ClassVar[tuple[str, ...]] = ("data_seed",)

    lrs: FloatTuple = param((0.02, 0.05), item_gt=0, item_cap=10.0, min_items=1,
                            max_items=MAX_GRID, distinct=True, help="Learning rates eta.",
                            tex=r"\eta", cite=PESME)  # fmt: skip
    batches: IntTuple = param((1, 4), item_ge=1, item_le=MAX_M, min_items=1, max_items=MAX_GRID,
                              distinct=True, help="Expected batch sizes |B| (each < m).",
                              tex="|B|")  # fmt: skip
    alpha: Float = param(0.1, ge=1e-6, le=10.0, help="Init scale alpha.", tex=r"\alpha",
                         cite=PESME)  # fmt: skip
    d: Int = param(40, ge=2, le=MAX_D, help="Dimension d.", tex="d", web_max=256)
    m: Int = param(20, ge=1, le=MAX_M, help="Samples m (< d).", tex="m", web_max=128)
    sparsity: Int = param(3, ge=1, le=MAX_D, help="Nonzeros of beta*.", tex="k")
    steps: Int = param(8_000, ge=2, le=MAX_STEPS, help="Steps per run (a multiple of records).",
                       web_max=200_000)  # fmt: skip
    records: Int = param(40, ge=2, le=MAX_RECORDS, help="Blocks per run.", web_max=1000)
    chains: Int = param(2, ge=1, le=64, help="SGD chains per (eta, |B|) (alpha fitted to each).",
                        web_max=16)  # fmt: skip
    data_seed: Int = param(0, ge=0, le=2**31 - 1, help="Seed of the data (follows --seed).",
                           advanced=True)  # fmt: skip
    dtype: Literal["float32", "float64"] = param("float64", help="Arithmetic of the chains.")

    @model_validator(mode="after")
    def _rules(self) -> AlphaEffParams:
        _multiple(self.steps, self.records)
        if self.m >= self.d:
            raise ConfigError("m", f"got {self.m}; allowed: 1 to d - 1 = {self.d - 1}")
        if max(self.batches) > self.m:
            raise ConfigError("batches", f"entry {max(self.batches)} is out of range; allowed: "
                              f"batch sizes from 1 to m = {self.m}")  # fmt: skip
        if self.sparsity > self.d:
            raise ConfigError("sparsity", f"got {self.sparsity}; allowed: 1 to d = {self.d}")
        return self

    def config(self, lr: float, batch: int) -> Config:
        return Config(mode="diagonal", lr=lr, batch=batch, steps=self.steps,
                      records=self.records, chains=self.chains, d=self.d, m=self.m,
                      alpha=self.alpha, sparsity=self.sparsity, data_seed=self.data_seed,
                      dtype=self.dtype)  # fmt: skip


def run_alpha_eff(params: AlphaEffParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """For each (eta, |B|): SGD chains and GD from u = v = alpha; alpha_eff fitted to each SGD end
    point; alpha_inf of Pesme et al. from each chain's own loss integral."""
    from theoryscope.experiments.sgdnoise import diagonal, theory

    grid = [(lr, b) for lr in params.lrs for b in params.batches]
    points: list[dict[str, Any]] = []
    status = "finished"
    for i, (lr, b) in enumerate(grid):
        if context.should_stop():
            break
        context.progress(i / len(grid), f"eta {lr:g}, |B| {b}")
        cfg = params.config(lr, b)
        run = diagonal.simulate_diagonal(cfg, seed + i, should_stop=context.should_stop)
        point: dict[str, Any] = {"eta": lr, "batch": b, "alpha": params.alpha,
                                 "status": run.status}  # fmt: skip
        if run.status != "finished":
            status = "diverged" if run.status == "diverged" else status
            points.append(point)
            continue
        th = theory.predict(cfg)
        agreement = theory.compare(run, th)
        for key in ("alpha_fit", "alpha_fit_chains", "alpha_fit_gd", "alpha_pesme_fit",
                    "alpha_pesme_geo", "alpha_gain_geo", "alpha_second_order_geo",
                    "alpha_gain_gd_geo", "to_l1_sgd", "to_l1_gd", "integral_sgd",
                    "integral_gd"):  # fmt: skip
            point[key] = agreement.get(key)
        point["alpha_prior_fit"] = th.values.get("alpha_prior_fit")
        point["limit_to_l1"] = th.values["limit_to_l1"]
        points.append(point)
    context.progress(1.0, "done")
    out: dict[str, Any] = {"lrs": list(params.lrs), "batches": list(params.batches),
                           "alpha": params.alpha, "points": points}  # fmt: skip
    if status == "diverged":
        out["status"] = "diverged"
        out["message"] = "an SGD run diverged (its point has no fit); lower the largest lr"
    return out


def alpha_eff_figure(result: Mapping[str, Any]) -> Any:
    from matplotlib.figure import Figure

    from theoryscope.plots.render import OKABE_ITO

    fig = Figure(figsize=(11, 3.8), layout="constrained")
    axes = fig.subplots(1, 2)
    alpha = float(result.get("alpha") or 1.0)
    points = [p for p in result.get("points") or [] if p.get("alpha_fit") is not None]
    for j, b in enumerate(result.get("batches") or []):
        color = OKABE_ITO[j % len(OKABE_ITO)]
        rows = [p for p in points if p["batch"] == b]
        eta = np.array([p["eta"] for p in rows])
        axes[0].plot(eta, [p["alpha_fit"] / alpha for p in rows], "o", color=color, ms=5,
                     label=f"fitted alpha_eff, |B|={b}")  # fmt: skip
        axes[0].plot(eta, [_num(p["alpha_pesme_fit"]) / alpha for p in rows], "--", color=color,
                     lw=1.2, label=f"Pesme alpha_inf, |B|={b}")  # fmt: skip
        axes[1].plot(eta, [p["to_l1_sgd"] for p in rows], "o", color=color, ms=5,
                     label=f"SGD, |B|={b}")  # fmt: skip
    gd = {p["eta"]: p["to_l1_gd"] for p in points}
    if gd:
        etas = sorted(gd)
        axes[1].plot(etas, [gd[e] for e in etas], "k-", lw=1.2, label="GD (same init)")
    axes[0].axhline(1.0, color="0.35", ls=":", lw=1.0)
    axes[0].set_title("alpha_eff / alpha (Pesme et al. dashed)", fontsize=10)
    axes[1].set_title("distance of the end point to min-L1", fontsize=10)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("eta")
        ax.grid(True, alpha=0.25)
        ax.legend(fontsize=7)
    fig.suptitle(f"SGD on a diagonal net acts as a smaller init scale (alpha = {alpha:g})",
                 fontsize=11)  # fmt: skip
    return fig


def alpha_eff_lines(result: Mapping[str, Any]) -> list[str]:
    lines = [f"alpha = {result.get('alpha')}: fitted alpha_eff vs Pesme et al. alpha_inf"]
    for p in result.get("points") or []:
        if p.get("alpha_fit") is None:
            lines.append(f"eta {p['eta']:<8g} |B| {p['batch']:<4} {p.get('status')}")
            continue
        lines.append(f"eta {p['eta']:<8g} |B| {p['batch']:<4} alpha_eff {p['alpha_fit']:.4g}  "
                     f"Pesme {_num(p['alpha_pesme_fit']):.4g}  exact gain "
                     f"{_num(p['alpha_gain_geo']):.4g}  to L1: SGD {p['to_l1_sgd']:.3f}, GD "
                     f"{p['to_l1_gd']:.3f}")  # fmt: skip
    return lines


def alpha_eff_estimate(params: AlphaEffParams) -> Estimate:
    from theoryscope.experiments.sgdnoise.declaration import step_seconds

    runs = len(params.lrs) * len(params.batches)
    cfg = params.config(params.lrs[0], params.batches[0])
    fits = runs * (2 * min(params.chains, 8) + 2)
    seconds = 3.0 + runs * (params.steps * (params.chains + 1) * step_seconds(cfg)) + 0.5 * fits
    seconds += runs * 1.0  # the theory's gradient-flow loss integral (SciPy)
    return Estimate(memory_bytes=64e6 + 8.0 * params.records * params.chains * params.d * 4,
                    seconds=seconds, fields=("steps", "chains", "lrs", "batches", "d"))  # fmt: skip


# ------------------------------------------------------------------------------------------------
# manifold-drift
# ------------------------------------------------------------------------------------------------
class DriftParams(ExperimentConfig):
    """Parameters of the label-noise drift study on f = a b."""

    cli_inputs: ClassVar[tuple[CliInput, ...]] = (_F64,)

    lrs: FloatTuple = param((0.02, 0.05), item_gt=0, item_cap=10.0, min_items=1,
                            max_items=MAX_GRID, distinct=True, help="Learning rates eta.",
                            tex=r"\eta", cite=DAMIAN)  # fmt: skip
    sigmas: FloatTuple = param((0.5, 1.0), item_gt=0, item_cap=1e3, min_items=1,
                               max_items=MAX_GRID, distinct=True, help="Label-noise stds sigma.",
                               tex=r"\sigma", cite=BLANC)  # fmt: skip
    target: Float = param(1.0, gt=0, cap=1e3, help="Target y (minima ab = y).", tex="y")
    s0: Float = param(1.0, ge=-5.0, le=5.0, help="Start on the manifold.", tex="s_0")
    steps: Int = param(4_000, ge=2, le=MAX_STEPS, help="Steps per run (a multiple of records).",
                       web_max=400_000)  # fmt: skip
    records: Int = param(40, ge=2, le=MAX_RECORDS, help="Blocks per run.", web_max=1000)
    chains: Int = param(128, ge=2, le=MAX_CHAINS, help="Chains per run.", web_max=1024)
    dtype: Literal["float32", "float64"] = param("float32", help="Arithmetic of the chains.")

    @model_validator(mode="after")
    def _rules(self) -> DriftParams:
        _multiple(self.steps, self.records)
        return self

    def config(self, lr: float, sigma: float) -> Config:
        return Config(mode="manifold", lr=lr, noise=sigma, target=self.target, s0=self.s0,
                      steps=self.steps, records=self.records, chains=self.chains,
                      dtype=self.dtype)  # fmt: skip


def run_drift(params: DriftParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """One run of ``chains`` chains per (eta, sigma); measured vs predicted decay rate of zeta."""
    from theoryscope.experiments.sgdnoise import manifold, theory

    grid = [(lr, s) for s in params.sigmas for lr in params.lrs]
    points: list[dict[str, Any]] = []
    status = "finished"
    for i, (lr, sigma) in enumerate(grid):
        if context.should_stop():
            break
        context.progress(i / len(grid), f"eta {lr:g}, sigma {sigma:g}")
        cfg = params.config(lr, sigma)
        run = manifold.simulate_manifold(cfg, seed + i, should_stop=context.should_stop)
        th = theory.predict(cfg).values
        point: dict[str, Any] = {"eta": lr, "sigma": sigma, "status": run.status,
                                 "rate_predicted": th["rate"]}  # fmt: skip
        if run.status == "finished":
            s = run.series
            n = len(s["step"])
            point["rate_measured"] = run.summary.get("rate_measured")
            point["zeta_final"] = float(s["zeta"][-1])
            point["zeta_final_se"] = float(s["zeta_se"][-1])
            point["zeta_final_refined"] = float(th["zeta_refined"][n - 1])
            point["zeta_final_leading"] = float(th["zeta"][n - 1])
            point["rate_refined"] = float(-math.log(abs(th["zeta_refined"][n - 1] / th["zeta0"]))
                                          / s["step"][-1])  # fmt: skip
            point["tau"] = [float(v) for v in (lr * sigma) ** 2 * np.asarray(s["step"])]
            point["zeta_over_zeta0"] = [float(v) for v in np.asarray(s["zeta"]) / th["zeta0"]]
        else:
            status = "diverged" if run.status == "diverged" else status
        points.append(point)
    context.progress(1.0, "done")
    out: dict[str, Any] = {"lrs": list(params.lrs), "sigmas": list(params.sigmas),
                           "points": points}  # fmt: skip
    if status == "diverged":
        out["status"] = "diverged"
        out["message"] = "a run diverged (eta h >= 2 on the path?); lower the largest lr"
    return out


def drift_figure(result: Mapping[str, Any]) -> Any:
    from matplotlib.figure import Figure

    from theoryscope.plots.render import OKABE_ITO

    fig = Figure(figsize=(11, 3.8), layout="constrained")
    axes = fig.subplots(1, 2)
    points = [p for p in result.get("points") or [] if p.get("rate_measured") is not None]
    if points:
        pred = np.array([p["rate_predicted"] for p in points])
        meas = np.array([p["rate_measured"] for p in points])
        refined = np.array([p["rate_refined"] for p in points])
        lo, hi = float(min(pred.min(), meas.min())) / 2, float(max(pred.max(), meas.max())) * 2
        axes[0].plot([lo, hi], [lo, hi], "k:", lw=1.0, label="measured = eta^2 sigma^2")
        axes[0].plot(pred, meas, "o", color=OKABE_ITO[0], ms=5, label="measured")
        axes[0].plot(pred, refined, "x", color=OKABE_ITO[1], ms=6, label="finite-eta theory")
    tau_max = 0.0
    for j, p in enumerate(points):
        tau = np.asarray(p["tau"])
        tau_max = max(tau_max, float(tau.max()) if len(tau) else 0.0)
        axes[1].plot(tau, np.abs(p["zeta_over_zeta0"]), "-", color=OKABE_ITO[j % len(OKABE_ITO)],
                     lw=1.2, label=f"eta {p['eta']:g}, sigma {p['sigma']:g}")  # fmt: skip
    if tau_max:
        tau = np.linspace(0, tau_max, 100)
        axes[1].plot(tau, np.exp(-tau), "k--", lw=1.4, label="exp(-eta^2 sigma^2 k)")
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("predicted rate eta^2 sigma^2")
    axes[0].set_ylabel("measured decay rate of zeta")
    axes[0].set_title("Drift rate along ab = y", fontsize=10)
    axes[1].set_yscale("log")
    axes[1].set_xlabel("eta^2 sigma^2 k")
    axes[1].set_ylabel("zeta / zeta_0")
    axes[1].set_title("Collapse onto the predicted flow", fontsize=10)
    for ax in axes:
        ax.grid(True, alpha=0.25)
        ax.legend(fontsize=7)
    fig.suptitle("Label-noise SGD drifts to smaller tr H (Blanc et al.; Damian et al.)",
                 fontsize=11)  # fmt: skip
    return fig


def drift_lines(result: Mapping[str, Any]) -> list[str]:
    lines = ["label-noise drift of zeta = (a^2 - b^2)/(2y): measured rate vs eta^2 sigma^2"]
    for p in result.get("points") or []:
        if p.get("rate_measured") is None:
            lines.append(f"eta {p['eta']:<7g} sigma {p['sigma']:<6g} {p.get('status')}")
            continue
        lines.append(f"eta {p['eta']:<7g} sigma {p['sigma']:<6g} rate {p['rate_measured']:.4g} "
                     f"(eta^2 sigma^2 {p['rate_predicted']:.4g}, finite-eta "
                     f"{p['rate_refined']:.4g})")  # fmt: skip
    return lines


def drift_estimate(params: DriftParams) -> Estimate:
    from theoryscope.experiments.sgdnoise.declaration import step_seconds

    runs = len(params.lrs) * len(params.sigmas)
    cfg = params.config(params.lrs[0], params.sigmas[0])
    seconds = 2.0 + runs * (params.steps * params.chains * step_seconds(cfg) + 1.0)
    return Estimate(memory_bytes=64e6 + 16.0 * params.chains * params.records,
                    seconds=seconds, fields=("steps", "chains", "lrs", "sigmas"))  # fmt: skip

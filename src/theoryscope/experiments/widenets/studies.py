"""The wide-networks studies: each takes its declared params and returns a JSON-ready result.

    propagate    (q^(l), rho^(l)) of two inputs through depth, and the fixed point (spec 2, 3)
    kernels      NNGP K^(L) and NTK Theta^(L) of random inputs (spec 2, 4)
    convergence  finite-width Monte Carlo against the infinite-width kernels (spec 4)
    critical     chi_par = chi_perp = 1 (spec 3)
    phase        chi_perp over a (C_w, C_b) grid: order and chaos (spec 3)
    jacobian     exact and Monte Carlo moments of dz/dx_p of random ReLU nets (spec 5)
    lazy_width   weight movement and kernel drift against the width (spec 6)
    lazy_rich    the same against the output scale alpha (Chizat et al. 2019)
    lr_boundary  runs on both sides of eta = 2 / lambda_max (spec 7)

Each ``run_*(params, seed, context)`` reports progress through ``context.progress`` and, where
it loops over runs, polls ``context.should_stop`` between them (returning what it has).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from theoryscope.experiments.widenets.config import (
    ConvergenceParams,
    CriticalParams,
    JacobianParams,
    KernelsParams,
    LazyRichParams,
    LazyWidthParams,
    LrBoundaryParams,
    PhaseParams,
    PropagateParams,
    scalar_or_list,
)
from theoryscope.spec import StudyContext

#: The exponent spec 4 and 6 predict for the finite-width deviations: O(width^-1/2).
HALF = -0.5


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _nan_to_none(values: Any) -> Any:
    """Nested lists of floats with every NaN or inf as None (JSON null)."""
    arr = np.asarray(values, dtype=float)
    out = arr.astype(object)
    out[~np.isfinite(arr)] = None
    return out.tolist()


def random_inputs(count: int, dim: int, seed: int, *, normalize: bool = True) -> np.ndarray:
    """``count`` inputs x ~ N(0, I_dim) from ``seed``, scaled to |x|^2 = dim when normalized."""
    x = np.random.default_rng(seed).standard_normal((count, dim))
    if normalize:
        x *= np.sqrt(dim) / np.linalg.norm(x, axis=1, keepdims=True)
    return x


# -- kernels (spec 2, 3, 4) ----------------------------------------------------------------------
def run_propagate(params: PropagateParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """(q, rho) for l = 1..depth, and the fixed point K* the variance map reaches from q0 with its
    susceptibilities chi_par, chi_perp (spec 3, with C_w, C_b of the last layer)."""
    from theoryscope.experiments.widenets.criticality import fixed_point, susceptibilities
    from theoryscope.experiments.widenets.kernels import propagate_correlation

    context.progress(0.05, "propagating")
    cw, cb = scalar_or_list(params.cw), scalar_or_list(params.cb)
    layers = propagate_correlation(
        params.q0, params.rho0, activation=params.activation, cw=cw, cb=cb, depth=params.depth
    )
    context.progress(0.6, "fixed point")
    cw_last, cb_last = float(params.cw[-1]), float(params.cb[-1])
    k_star = fixed_point(params.activation, cw_last, cb_last, k0=params.q0, steps=2000)
    chi: tuple[float, float] | None = None
    if math.isfinite(k_star):
        chi = susceptibilities(params.activation, k_star, cw_last)
    context.progress(1.0, "done")
    return {
        "activation": params.activation,
        "layers": layers,
        "l": [r["l"] for r in layers],
        "q": [_finite(r["q"]) for r in layers],
        "rho": [_finite(r["rho"]) for r in layers],
        "final": layers[-1],
        "fixed_point": {
            "k_star": _finite(k_star),
            "chi_par": None if chi is None else _finite(chi[0]),
            "chi_perp": None if chi is None else _finite(chi[1]),
        },
    }


def run_kernels(params: KernelsParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """NNGP and NTK of ``inputs`` random inputs drawn from ``seed`` (spec 2, 4)."""
    from theoryscope.experiments.widenets.kernels import kernels

    context.progress(0.05, "kernels")
    x = random_inputs(params.inputs, params.dim, seed, normalize=params.normalize)
    started = time.perf_counter()
    res = kernels(
        x, activation=params.activation, depth=params.depth, cw=scalar_or_list(params.cw),
        cb=scalar_or_list(params.cb), method=params.method, dtype=params.dtype,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    nngp, ntk = np.asarray(res.nngp, float), np.asarray(res.ntk, float)
    context.progress(1.0, "done")
    return {
        "activation": params.activation,
        "depth": params.depth,
        "method": res.method,
        "kernel_seconds": seconds,
        "nngp": _nan_to_none(nngp),
        "ntk": _nan_to_none(ntk),
        "nngp_diagonal_mean": float(np.mean(np.diag(nngp))),
        "ntk_diagonal_mean": float(np.mean(np.diag(ntk))),
    }


def run_convergence(params: ConvergenceParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """Empirical NTK and feature kernel of random nets at each width against K^(L), Theta^(L);
    the fitted log-log slopes (spec 4: -1/2)."""
    from theoryscope.experiments.widenets.montecarlo import convergence

    x = random_inputs(params.inputs, params.dim, seed)
    res = convergence(
        x, activation=params.activation, depth=params.depth, widths=params.widths,
        nets=params.nets, cw=scalar_or_list(params.cw), cb=scalar_or_list(params.cb), seed=seed,
        progress=context.progress, should_stop=context.should_stop,
    )  # fmt: skip
    context.progress(1.0, "done")
    return {
        "activation": params.activation,
        "depth": params.depth,
        "rows": res["rows"],
        "slope_ntk": _finite(res["slope_ntk"]),
        "slope_nngp": _finite(res["slope_nngp"]),
        "slope_theory": HALF,
    }


# -- criticality (spec 3) ------------------------------------------------------------------------
def run_critical(params: CriticalParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """The critical point (C_b, C_w, K*, chi_par, chi_perp); with no exact one, the chi_perp = 1
    curve. ``phase`` is a coarse phase diagram for the figure (``grid`` points per axis)."""
    from theoryscope.experiments.widenets.criticality import critical_point

    context.progress(0.05, "critical point")
    crit = critical_point(params.activation)
    out = crit.to_dict()
    out["criticality"] = 1.0  # chi_par = chi_perp = 1 at a critical point (spec 3)
    if params.grid >= 2:
        context.progress(0.6, "phase diagram")
        out["phase"] = _phase_grid(params.activation, (0.5, 4.0), (0.0, 0.5), params.grid)
    context.progress(1.0, "done")
    return out


def _phase_grid(
    activation: str, cw_range: tuple[float, float], cb_range: tuple[float, float], n: int
) -> dict[str, Any]:
    """chi_perp and K* over the grid, the chi_perp = 1 curve inside it, the phase fractions."""
    from theoryscope.experiments.widenets.criticality import chi_perp_curve, phase_diagram

    pd = phase_diagram(activation, cw_range, cb_range, n=n)
    cur = chi_perp_curve(activation)
    keep = (
        np.isfinite(cur["cb"]) & np.isfinite(cur["cw"])
        & (cur["cb"] >= cb_range[0]) & (cur["cb"] <= cb_range[1])
        & (cur["cw"] >= cw_range[0]) & (cur["cw"] <= cw_range[1])
    )  # fmt: skip
    chi = pd["chi_perp"]
    with np.errstate(invalid="ignore"):
        ordered = float(np.nanmean(chi < 1)) if np.isfinite(chi).any() else None
        chaotic = float(np.nanmean(chi > 1)) if np.isfinite(chi).any() else None
    return {
        "cw": pd["cw"].tolist(),
        "cb": pd["cb"].tolist(),
        "chi_perp": _nan_to_none(chi),
        "k_star": _nan_to_none(pd["k_star"]),
        "curve": {k: cur[k][keep].tolist() for k in ("cw", "cb", "k")},
        "ordered_fraction": ordered,
        "chaotic_fraction": chaotic,
    }


def run_phase(params: PhaseParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """chi_perp at the iterated fixed point over the (C_w, C_b) grid; < 1 ordered, > 1 chaotic."""
    context.progress(0.05, "phase diagram")
    out = _phase_grid(
        params.activation, (params.cw_min, params.cw_max), (params.cb_min, params.cb_max), params.n
    )
    context.progress(1.0, "done")
    return {"activation": params.activation, **out}


# -- random ReLU networks (spec 5) ---------------------------------------------------------------
def run_jacobian(params: JacobianParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """Exact E[(dz/dx_p)^2], E[(dz/dx_p)^4] and their Monte Carlo estimates with z-scores;
    E[Theta(x, x)] against 2 L |x|^2 / n_0; optionally the 4th-moment growth curve."""
    from theoryscope.experiments.widenets.jacobian import (
        fourth_moment_growth,
        jacobian_moments,
        jacobian_theory,
        ntk_diagonal,
    )

    widths = tuple(params.widths)
    share = {"mc": 0.7 if params.ntk_nets or params.growth_nets else 0.95}
    theory = jacobian_theory(widths)
    mc = jacobian_moments(
        widths, nets=params.nets, seed=seed,
        progress=lambda f: context.progress(0.05 + share["mc"] * f, "Jacobian moments"),
    )  # fmt: skip
    out: dict[str, Any] = {"widths": list(widths), "theory": theory, "mc": mc}
    out["z2"] = (mc["m2"] - theory["m2"]) / mc["se2"] if mc["se2"] > 0 else None
    out["z4"] = (mc["m4"] - theory["m4"]) / mc["se4"] if mc["se4"] > 0 else None
    if params.ntk_nets >= 2 and not context.should_stop():
        context.progress(0.8, "NTK diagonal")
        out["ntk_diag"] = ntk_diagonal(widths, nets=params.ntk_nets, seed=seed)
    if params.growth_nets >= 2 and not context.should_stop():
        context.progress(0.9, "4th-moment growth")
        out["growth"] = fourth_moment_growth(widths[0], nets=params.growth_nets, seed=seed)
    context.progress(1.0, "done")
    return out


# -- lazy training (spec 6, 7) -------------------------------------------------------------------
def run_lazy_width(params: LazyWidthParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """Max weight movement and kernel drift at each width; log-log slopes (spec 6: -1/2)."""
    from theoryscope.experiments.widenets.lazy import width_scaling

    cfg = params.lazy_config(width=params.widths[0], lr=params.lr, steps=params.steps)
    res = width_scaling(
        cfg, params.widths, seed, params.seeds, progress=context.progress,
        should_stop=context.should_stop,
    )  # fmt: skip
    context.progress(1.0, "done")
    return {
        "rows": res["rows"],
        "slope_weight_move": _finite(res["slope_weight_move"]),
        "slope_kernel_drift": _finite(res["slope_kernel_drift"]),
        "slope_theory": HALF,
    }


def run_lazy_rich(params: LazyRichParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """Relative kernel drift and weight movement against alpha (Chizat et al. 2019)."""
    from theoryscope.experiments.widenets.lazy import lazy_rich

    cfg = params.lazy_config(width=params.width, lr=params.lr, steps=params.steps)
    res = lazy_rich(
        cfg, params.alphas, seed, progress=context.progress, should_stop=context.should_stop
    )
    context.progress(1.0, "done")
    return {"rows": res["rows"], "slope_kernel_drift": _finite(res["slope_kernel_drift"])}


def run_lr_boundary(params: LrBoundaryParams, seed: int, context: StudyContext) -> dict[str, Any]:
    """The network and its linearization at eta = factor x 2 / lambda_max(H(0)) (spec 7)."""
    from theoryscope.experiments.widenets.lazy import lr_boundary

    cfg = params.lazy_config(width=params.width, steps=params.steps, lr=1.0)
    res = lr_boundary(
        cfg, params.factors, seed, progress=context.progress, should_stop=context.should_stop
    )
    for run in res["runs"]:
        for key in ("residual", "linearized"):
            run[key] = _nan_to_none(run[key])
        for key in ("final_over_initial", "max_over_initial", "linearized_final_over_initial"):
            run[key] = _finite(run[key])
    context.progress(1.0, "done")
    return res

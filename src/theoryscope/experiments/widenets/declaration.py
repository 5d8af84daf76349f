"""What the wide-networks experiment shows: the lazy-training run's figure and metrics, the
studies (kernels, criticality, random ReLU nets, lazy-training sweeps), presets and costs.
Read by every surface (CLI, web page, sweeps, reports); nothing heavy is imported here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from theoryscope.experiments.widenets.config import (
    CHIZAT,
    DU,
    SPEC2,
    SPEC3,
    SPEC4,
    SPEC5,
    SPEC6,
    SPEC7,
    ConvergenceParams,
    CriticalParams,
    JacobianParams,
    KernelsParams,
    LazyConfig,
    LazyRichParams,
    LazyWidthParams,
    LrBoundaryParams,
    PhaseParams,
    PropagateParams,
)
from theoryscope.spec import (
    Curve,
    Estimate,
    Figure,
    Marker,
    Metric,
    Panel,
    Preset,
    Study,
    StudyContext,
)

#: Sustained arithmetic rate of the JAX loops on the 2-core reference machine, measured with the
#: lazy-training scan at n = 20..200, m = 5e3..5e4 (4e9 to 1.4e10 flop/s under load): the
#: estimates use the low end.
FLOPS = 4e9
#: One XLA compilation of a new shape (about a second on the reference machine).
COMPILE_SECONDS = 1.5
#: What a process holds before the run allocates anything of its own.
BASE_BYTES = 64e6

# ------------------------------------------------------------------------------------------------
# the lazy-training run
# ------------------------------------------------------------------------------------------------
FIGURES = (
    Figure(
        name="lazy",
        title="Lazy training of a wide two-layer ReLU net against its NTK theory",
        panels=(
            Panel(
                title="Residual |u(k) - y|",
                x_label="GD step k",
                y_label="|u(k) - y|",
                y_log=True,
                curves=(
                    Curve(y="series.residual", x="series.step", label="GD residual"),
                    Curve(y="agreement.predicted", x="series.step",
                          label="|(I - eta H(0))^k r0|", style="dashed"),
                    Curve(y="theory.expected_residual", x="theory.step",
                          label="E over init, H^inf", style="dashed", color=1),
                    Curve(y="agreement.bound", x="series.step",
                          label="Du et al. bound", style="dashed", color=2),
                ),
                markers=(
                    Marker(at="theory.relaxation_steps", label="1/(eta lambda_max), "
                           "1/(eta lambda_0)", each=True),
                ),
            ),
            Panel(
                title="Weight movement max_r |w_r(k) - w_r(0)|",
                x_label="GD step k",
                y_label="max_r |w_r(k) - w_r(0)|",
                curves=(Curve(y="series.weight_move", x="series.step", label="weights"),),
            ),
            Panel(
                title="Kernel drift |H(k) - H(0)|_F",
                x_label="GD step k",
                y_label="|H(k) - H(0)|_F",
                curves=(Curve(y="series.kernel_drift", x="series.step", label="kernel",
                              color=1),),
            ),
        ),
    ),
)  # fmt: skip

METRICS = (
    Metric("residual_decade", "residual where the H(0) prediction fell 10x",
           "agreement.residual_at_decade", "agreement.predicted_at_decade",
           tex=r"|(I - \eta H(0))^k r_0|", cite=SPEC6, good=0.15),
    Metric("lambda_min", "smallest eigenvalue: H(0) vs H^inf", "agreement.lambda_min_h0",
           "agreement.lambda_0", tex=r"\lambda_0", cite=DU),
    Metric("lambda_max", "largest eigenvalue: H(0) vs H^inf", "agreement.lambda_max_h0",
           "agreement.lambda_max", tex=r"\lambda_{max}", cite=SPEC6),
    Metric("residual_over_bound", "max residual / Du et al. bound (theorem: <= 1)",
           "agreement.max_residual_over_bound", cite=DU),
    Metric("test_rel_dev_linearized", "test outputs off the linearized model (relative)",
           "agreement.test_rel_dev_linearized", cite=SPEC6),
    Metric("lr_times_lambda_max", "eta lambda_max (linearized GD converges below 2)",
           "agreement.lr_times_lambda_max", tex=r"\eta \lambda_{max}", cite=SPEC7),
    Metric("max_weight_move", "max weight movement (O(m^-1/2))", "summary.max_weight_move",
           cite=SPEC6),
)  # fmt: skip

PRESETS = (
    Preset("tiny", "A run of a second: n = 8, m = 500, 30 steps",
           {"n": 8, "d": 5, "width": 500, "lr": 0.5, "steps": 30, "n_test": 10}),
    Preset("du-et-al", "The default lazy run: n = 20 points on S^9, m = 20,000, eta = 0.5",
           {"n": 20, "d": 10, "width": 20000, "lr": 0.5, "steps": 500}, cite=DU),
    Preset("linearized", "Close to the kernel limit: m = 100,000 in float64 (seed 0: test "
           "outputs 0.3% off the linearized model)",
           {"n": 20, "d": 10, "width": 100_000, "lr": 0.5, "steps": 500, "dtype": "float64"},
           cite=SPEC6),
    Preset("rich", "Small output scale alpha = 0.1 at m = 2000: the kernel moves (rich regime)",
           {"n": 20, "d": 10, "width": 2000, "lr": 0.5, "steps": 300, "alpha": 0.1},
           cite=CHIZAT),
    Preset("lazy-alpha", "Large output scale alpha = 10 at m = 2000: lazy even at small width",
           {"n": 20, "d": 10, "width": 2000, "lr": 0.5, "steps": 300, "alpha": 10.0},
           cite=CHIZAT),
)  # fmt: skip


def _train_cost(n: int, d: int, width: int, steps: int, n_test: int, itemsize: int) -> Estimate:
    """One GD run of :func:`.lazy.train` and its theory (spec 6).

    Memory: the (n, m) pre-activation, mask and products of a step and the (m, d) weights
    (W, W(0), gradient), the (n_test, m) test features at the start, the (steps + 1) x n
    eigen-mode tables of ``predict``/``compare`` (float64), and the stored series and summary
    (H(0), Theta(X*, X) and the curves as JSON, ~60 bytes a number).
    Time: 4 n m d + 2 n^2 m + 3 m d flops a step (forward, gradient, H(k)) at :data:`FLOPS`,
    plus the eigendecompositions and one compilation.
    """
    records = steps + 1
    memory = (
        itemsize * (5.0 * n * width + 4.0 * width * d + 3.0 * n_test * width)
        + 8.0 * 3 * records * n
        + 60.0 * (n * n + n_test * n + 4 * records)
        + BASE_BYTES
    )
    flops = (4.0 * n * width * d + 2.0 * n * n * width + 3.0 * width * d) * records
    flops += 30.0 * n**3 + 20.0 * records * n
    return Estimate(memory_bytes=memory, seconds=flops / FLOPS + COMPILE_SECONDS,
                    fields=("n", "width", "steps"))  # fmt: skip


def _itemsize(dtype: str) -> int:
    return 8 if dtype == "float64" else 4


def estimate(config: LazyConfig) -> Estimate:
    """The lazy-training run (see :func:`_train_cost`)."""
    return _train_cost(config.n, config.d, config.width, config.steps, config.n_test,
                       _itemsize(config.dtype))  # fmt: skip


# ------------------------------------------------------------------------------------------------
# studies: run, figure, summary lines, cost
# ------------------------------------------------------------------------------------------------
def _lazy_run(name: str) -> Callable[[Any, int, StudyContext], dict[str, Any]]:
    """``studies.<name>``, imported when the study runs (it pulls in JAX)."""

    def run(params: Any, seed: int, context: StudyContext) -> dict[str, Any]:
        from theoryscope.experiments.widenets import studies

        result: dict[str, Any] = getattr(studies, name)(params, seed, context)
        return result

    run.__name__ = name
    return run


def _fmt(value: Any, spec: str = ".6g") -> str:
    return "n/a" if value is None else format(float(value), spec)


# -- propagate -----------------------------------------------------------------------------------
def _propagate_figure(result: Mapping[str, Any]) -> Any:
    from theoryscope.experiments.widenets import plots

    return plots.propagation(result["layers"], f"{result['activation']}: q and rho through depth")


def _propagate_lines(result: Mapping[str, Any]) -> list[str]:
    lines = ["l     q              rho"]
    lines += [f"{r['l']:<5} {r['q']:<14.8g} {r['rho']:.8g}" for r in result["layers"]]
    fp = result["fixed_point"]
    lines.append(f"fixed point K* = {_fmt(fp['k_star'])}: chi_par {_fmt(fp['chi_par'])}, "
                 f"chi_perp {_fmt(fp['chi_perp'])}")  # fmt: skip
    return lines


def _propagate_cost(params: PropagateParams) -> Estimate:
    quad = params.activation not in ("relu", "erf", "identity", "sqrt2cos", "cos")
    seconds = params.depth * (2e-3 if quad else 1e-5) + 2 * COMPILE_SECONDS
    return Estimate(memory_bytes=BASE_BYTES + 1e3 * params.depth, seconds=seconds,
                    fields=("depth",))  # fmt: skip


# -- kernels -------------------------------------------------------------------------------------
def _kernels_figure(result: Mapping[str, Any]) -> Any:
    from theoryscope.experiments.widenets import plots

    return plots.kernel_maps(result)


def _kernels_lines(result: Mapping[str, Any]) -> list[str]:
    n = len(result["nngp"])
    lines = [f"{result['activation']}, depth {result['depth']}, {n} inputs: method "
             f"{result['method']}, {result['kernel_seconds']:.3f} s"]  # fmt: skip
    lines.append(f"mean diagonal: NNGP {_fmt(result['nngp_diagonal_mean'])}, "
                 f"NTK {_fmt(result['ntk_diagonal_mean'])}")  # fmt: skip
    if n <= 8:
        for name in ("nngp", "ntk"):
            lines.append(f"{name.upper()}:")
            lines += ["  " + " ".join(f"{_fmt(v, '10.5f')}" for v in row) for row in result[name]]
    return lines


def _kernels_cost(params: KernelsParams) -> Estimate:
    """Pairs x layers: closed forms ~50 flops; the table (equal norms) 2049 quadrature pairs a
    layer plus interpolation; the Hermite-series (``mehler``) path for unequal norms ~2000
    flops a pair (its coefficients are per input); the per-pair quadrature ~1e5 flops a pair,
    in chunks of 512 pairs."""
    from theoryscope.experiments.widenets.activations import CLOSED_FORM

    pairs = float(params.inputs) ** 2
    closed = params.activation in CLOSED_FORM
    if (closed and params.method == "auto") or params.method == "closed":
        flops, chunk = 50.0 * pairs * params.depth, 0.0
    elif params.method == "table" or (params.method == "auto" and params.normalize):
        flops, chunk = (2049 * 1e5 + 100.0 * pairs) * params.depth, 512 * 6144 * 8 * 4.0
    elif params.method in ("mehler", "auto"):
        flops, chunk = (2000.0 * pairs + 1e5 * params.inputs) * params.depth, 8.0 * 64 * pairs
    else:
        flops, chunk = 1e5 * pairs * params.depth, 512 * 6144 * 8 * 4.0
    memory = BASE_BYTES + 8.0 * 12 * pairs + chunk + 60.0 * 2 * pairs
    return Estimate(memory_bytes=memory, seconds=flops / FLOPS + 2 * COMPILE_SECONDS,
                    fields=("inputs", "depth"))  # fmt: skip


# -- convergence ---------------------------------------------------------------------------------
def _convergence_figure(result: Mapping[str, Any]) -> Any:
    from theoryscope.experiments.widenets import plots

    return plots.convergence(result, f"{result['activation']}, L={result['depth']}")


def _convergence_lines(result: Mapping[str, Any]) -> list[str]:
    lines = ["width   NTK dev (se)          NNGP dev (se)         cov dev"]
    for r in result["rows"]:
        lines.append(
            f"{r['width']:<7} {r['ntk_dev']:.4f} ({r['ntk_dev_se']:.4f})     "
            f"{r['nngp_dev']:.4f} ({r['nngp_dev_se']:.4f})     {r['cov_dev']:.4f}"
        )
    lines.append(
        f"log-log slope: NTK {_fmt(result['slope_ntk'], '.3f')}, NNGP "
        f"{_fmt(result['slope_nngp'], '.3f')} (theory -0.5)"
    )
    return lines


def _convergence_cost(params: ConvergenceParams) -> Estimate:
    """Per net: the forward pass and the NTK's forward/backward vectors, ~6 P N flops with P
    the parameters and N the inputs; networks in batches of at most 2^24 weights."""
    flops = 0.0
    peak = 0.0
    for w in params.widths:
        per_net = params.dim * w + (params.depth - 1) * w * w + w
        flops += 6.0 * per_net * params.inputs * params.nets
        peak = max(peak, 4.0 * min(params.nets * per_net, 2**24) * (params.inputs + 3) * 2)
    seconds = flops / FLOPS + COMPILE_SECONDS * (len(params.widths) + 1)
    return Estimate(memory_bytes=BASE_BYTES + peak, seconds=seconds,
                    fields=("widths", "nets", "inputs"))  # fmt: skip


# -- critical and phase --------------------------------------------------------------------------
def _critical_figure(result: Mapping[str, Any]) -> Any:
    from theoryscope.experiments.widenets import plots

    phase = result.get("phase")
    if phase is None:
        diagram = {"cw": [0.5, 4.0], "cb": [0.0, 0.5], "chi_perp": [[float("nan")] * 2] * 2}
        return plots.phase(diagram, None, result, f"{result['activation']}: critical point")
    return plots.phase(phase, phase["curve"], result, f"{result['activation']}: critical point")


def _critical_lines(result: Mapping[str, Any]) -> list[str]:
    head = (
        "exact critical point"
        if result["exact"]
        else ("no exact critical point (closest point on chi_perp = 1)")
    )
    lines = [f"{result['activation']}: {head}"]
    lines += [f"{k:<10} {_fmt(result[k])}" for k in ("cb", "cw", "k_star", "chi_par", "chi_perp")]
    if result.get("k_star_free"):
        lines.append("any K* >= 0 is a fixed point at these (C_b, C_w)")
    return lines


def _critical_cost(params: CriticalParams) -> Estimate:
    return _grid_cost(params.grid, "grid", 3 * COMPILE_SECONDS)


def _grid_cost(n: int, field: str, extra_seconds: float = 0.0) -> Estimate:
    """The phase scan: 500 iterations of a 240-node Gauss-Hermite rule at n^2 grid points."""
    points = float(n) ** 2
    memory = BASE_BYTES + 240 * 8 * 4 * points + 60.0 * 2 * points
    seconds = 500 * 240 * 10 * points / FLOPS + COMPILE_SECONDS + extra_seconds
    return Estimate(memory_bytes=memory, seconds=seconds, fields=(field,))


def _phase_figure(result: Mapping[str, Any]) -> Any:
    from theoryscope.experiments.widenets import plots

    return plots.phase(result, result["curve"], None, f"{result['activation']}: order / chaos")


def _phase_lines(result: Mapping[str, Any]) -> list[str]:
    ordered, chaotic = result["ordered_fraction"], result["chaotic_fraction"]
    share = (
        "no finite fixed point on the grid"
        if ordered is None
        else (f"ordered {ordered:.1%}, chaotic {chaotic:.1%} of the grid")
    )
    return [f"{result['activation']}: {share}",
            f"chi_perp = 1 curve: {len(result['curve']['cw'])} points in range"]  # fmt: skip


def _phase_cost(params: PhaseParams) -> Estimate:
    return _grid_cost(params.n, "n", COMPILE_SECONDS)


# -- jacobian ------------------------------------------------------------------------------------
def _jacobian_figure(result: Mapping[str, Any]) -> Any:
    from theoryscope.experiments.widenets import plots

    return plots.jacobian(result)


def _jacobian_lines(result: Mapping[str, Any]) -> list[str]:
    th, mc = result["theory"], result["mc"]
    lines = [
        f"widths {','.join(map(str, result['widths']))}, {mc['nets']} nets",
        f"E[(dz/dx)^2]: theory {th['m2']:.6g}   MC {mc['m2']:.6g} +- {mc['se2']:.2g}",
        f"E[(dz/dx)^4]: theory {th['m4']:.6g}   MC {mc['m4']:.6g} +- {mc['se4']:.2g}   "
        f"(exp(5 sum 1/n) form {th['m4_exp_approx']:.6g})",
    ]
    nd = result.get("ntk_diag")
    if nd:
        lines.append(f"E[Theta(x,x)]: theory 2L|x|^2/n0 = {nd['theory']:.6g}   MC {nd['mc']:.6g}"
                     f" +- {nd['se']:.2g}")  # fmt: skip
    return lines


def _jacobian_cost(params: JacobianParams) -> Estimate:
    """Per net: the layer products of an n_0-column Jacobian, 2 P n_0 flops (P the weights);
    batches of at most 2^24 weights; the NTK diagonal and the growth curve on top."""
    w = params.widths
    weights = float(sum(a * b for a, b in zip(w[:-1], w[1:], strict=False)))
    flops = 2.0 * weights * w[0] * params.nets + 8.0 * weights * max(params.ntk_nets, 0)
    if params.growth_nets:
        grid = sum(3 * 10 + (d - 1) * 10 * 10 for d in (1, 2, 4, 6, 8)) * 7.0  # widths 10, 20, 40
        flops += 2.0 * grid * w[0] * params.growth_nets
    memory = (
        BASE_BYTES
        + 3 * 4.0 * min(params.nets * weights, 2**24)
        + 24.0 * params.nets * w[0]
        + 4.0 * params.ntk_nets * weights
    )
    return Estimate(memory_bytes=memory, seconds=flops / FLOPS + 3 * COMPILE_SECONDS,
                    fields=("widths", "nets", "ntk_nets"))  # fmt: skip


# -- lazy-training sweeps -----------------------------------------------------------------------
def _lazy_runs_cost(params: Any, widths: list[int], steps: int) -> Estimate:
    costs = [_train_cost(params.n, params.d, w, steps, 1, _itemsize(params.dtype)) for w in widths]
    return Estimate(
        memory_bytes=max(c.memory_bytes for c in costs), seconds=sum(c.seconds for c in costs),
        fields=tuple(f for f in ("n", "width", "widths", "steps") if f in type(params).model_fields),
    )  # fmt: skip


def _lazy_width_figure(result: Mapping[str, Any]) -> Any:
    from theoryscope.experiments.widenets import plots

    return plots.width_scaling(result)


def _lazy_width_lines(result: Mapping[str, Any]) -> list[str]:
    lines = [
        f"m={r['width']:<8} max weight move {r['max_weight_move']:.4g}   max kernel drift "
        f"{r['max_kernel_drift']:.4g}"
        for r in result["rows"]
    ]
    lines.append(
        f"slopes: weight move {_fmt(result['slope_weight_move'], '.3f')}, kernel drift "
        f"{_fmt(result['slope_kernel_drift'], '.3f')} (theory -0.5)"
    )
    return lines


def _lazy_width_cost(params: LazyWidthParams) -> Estimate:
    return _lazy_runs_cost(params, [w for w in params.widths for _ in range(params.seeds)],
                           params.steps)  # fmt: skip


def _lazy_rich_figure(result: Mapping[str, Any]) -> Any:
    from theoryscope.experiments.widenets import plots

    return plots.lazy_rich(result)


def _lazy_rich_lines(result: Mapping[str, Any]) -> list[str]:
    lines = [
        f"alpha={r['alpha']:<8g} |dH|/|H| {r['rel_kernel_drift']:.4g}   |dW|/|W| "
        f"{r['rel_weight_move']:.4g}   final residual {r['final_residual']:.3g}"
        for r in result["rows"]
    ]
    lines.append(f"slope of |dH|/|H| in alpha: {_fmt(result['slope_kernel_drift'], '.3f')}")
    return lines


def _lazy_rich_cost(params: LazyRichParams) -> Estimate:
    return _lazy_runs_cost(params, [params.width] * len(params.alphas), params.steps)


def _lr_boundary_figure(result: Mapping[str, Any]) -> Any:
    from theoryscope.experiments.widenets import plots

    return plots.lr_boundary(result)


def _lr_boundary_lines(result: Mapping[str, Any]) -> list[str]:
    lines = [
        f"lambda_max(H(0)) = {result['lambda_max_h0']:.5g}, 2/lambda_max = {result['lr_limit']:.5g}"
    ]
    for r in result["runs"]:
        lines.append(
            f"eta = {r['factor']:g} x limit: final/initial residual "
            f"{_fmt(r['final_over_initial'], '.3g')} (linearized "
            f"{_fmt(r['linearized_final_over_initial'], '.3g')}), max/initial "
            f"{_fmt(r['max_over_initial'], '.3g')} ({r['status']})"
        )
    return lines


def _lr_boundary_cost(params: LrBoundaryParams) -> Estimate:
    cost = _lazy_runs_cost(params, [params.width] * len(params.factors), params.steps)
    probe = _train_cost(params.n, params.d, params.width, 1, 1, _itemsize(params.dtype))
    return Estimate(cost.memory_bytes, cost.seconds + probe.seconds, cost.fields)


STUDIES = (
    Study(
        name="propagate", title="Signal propagation",
        tiny={"depth": 3},
        summary="variance q and correlation rho of two inputs through depth, and the fixed point",
        params=PropagateParams, run=_lazy_run("run_propagate"), figure=_propagate_figure,
        summary_lines=_propagate_lines, estimate=_propagate_cost, seeded=False, cite=SPEC3,
        metrics=(
            Metric("q_final", "q at the last layer vs the fixed point K*", "result.final.q",
                   "result.fixed_point.k_star", tex="K^*", cite=SPEC3),
            Metric("chi_perp", "chi_perp at K* (1: critical)", "result.fixed_point.chi_perp",
                   tex=r"\chi_\perp", cite=SPEC3),
        ),
    ),
    Study(
        name="kernels", title="NNGP and NTK at infinite width",
        tiny={"depth": 2, "inputs": 2, "dim": 2},
        summary="K^(L) and Theta^(L) of random inputs by closed forms, quadrature or a table",
        params=KernelsParams, run=_lazy_run("run_kernels"), figure=_kernels_figure,
        summary_lines=_kernels_lines, estimate=_kernels_cost, cite=SPEC4,
    ),
    Study(
        name="convergence", title="Finite width against infinite width",
        tiny={"depth": 2, "widths": (4, 8), "nets": 4, "inputs": 2, "dim": 2},
        summary="Monte Carlo NTK and NNGP of random nets approach the kernels like width^-1/2",
        params=ConvergenceParams, run=_lazy_run("run_convergence"), figure=_convergence_figure,
        summary_lines=_convergence_lines, estimate=_convergence_cost, cite=SPEC4,
        metrics=(
            Metric("slope_ntk", "log-log slope of the NTK deviation", "result.slope_ntk",
                   "result.slope_theory", tex=r"\|\Theta_n - \Theta\| \sim n^{-1/2}",
                   cite=SPEC4, good=0.3),
            Metric("slope_nngp", "log-log slope of the NNGP deviation", "result.slope_nngp",
                   "result.slope_theory", cite=SPEC2, good=0.3),
        ),
    ),
    Study(
        name="critical", title="Criticality",
        tiny={"grid": 5},
        summary="the (C_b, C_w) with chi_par = chi_perp = 1, or the chi_perp = 1 curve",
        params=CriticalParams, run=_lazy_run("run_critical"), figure=_critical_figure,
        summary_lines=_critical_lines, estimate=_critical_cost, seeded=False, cite=SPEC3,
        metrics=(
            Metric("chi_par", "chi_par at the critical point", "result.chi_par",
                   "result.criticality", tex=r"\chi_\parallel", cite=SPEC3, good=1e-9),
            Metric("chi_perp", "chi_perp at the critical point", "result.chi_perp",
                   "result.criticality", tex=r"\chi_\perp", cite=SPEC3, good=1e-9),
        ),
    ),
    Study(
        name="phase", title="Order and chaos",
        tiny={"n": 5},
        summary="chi_perp at the fixed point over a (C_w, C_b) grid with the chi_perp = 1 curve",
        params=PhaseParams, run=_lazy_run("run_phase"), figure=_phase_figure,
        summary_lines=_phase_lines, estimate=_phase_cost, seeded=False, cite=SPEC3,
        metrics=(
            Metric("ordered_fraction", "ordered share of the grid (chi_perp < 1)",
                   "result.ordered_fraction", cite=SPEC3),
        ),
    ),
    Study(
        name="jacobian", title="Random ReLU networks",
        tiny={"widths": (3, 4, 1), "nets": 10, "ntk_nets": 5},
        summary="exact and Monte Carlo moments of dz/dx_p and the NTK diagonal",
        params=JacobianParams, run=_lazy_run("run_jacobian"), figure=_jacobian_figure,
        summary_lines=_jacobian_lines, estimate=_jacobian_cost, cite=SPEC5,
        metrics=(
            # Monte Carlo: the claim is |MC - exact| within 4 standard errors (the z rows), not
            # a fixed relative tolerance, so these pairs carry no `good`
            Metric("m2", "E[(dz/dx_p)^2]: Monte Carlo vs 2/n_0", "result.mc.m2",
                   "result.theory.m2", tex=r"E[(\partial z/\partial x_p)^2]", cite=SPEC5),
            Metric("m4", "E[(dz/dx_p)^4]: Monte Carlo vs exact product", "result.mc.m4",
                   "result.theory.m4", tex=r"E[(\partial z/\partial x_p)^4]", cite=SPEC5),
            Metric("m4_exp", "E[(dz/dx_p)^4]: Monte Carlo vs exp(5 sum 1/n_l)", "result.mc.m4",
                   "result.theory.m4_exp_approx", cite=SPEC5),
            Metric("z2", "2nd moment: (MC - exact) / se (|z| < 4)", "result.z2", cite=SPEC5),
            Metric("z4", "4th moment: (MC - exact) / se (|z| < 4)", "result.z4", cite=SPEC5),
            Metric("ntk_diag", "E[Theta(x,x)]: Monte Carlo vs 2 L |x|^2 / n_0",
                   "result.ntk_diag.mc", "result.ntk_diag.theory", tex=r"E[\Theta(x,x)]",
                   cite=SPEC5),
        ),
    ),
    Study(
        name="lazy-width", title="Lazy training: movement against width",
        tiny={"widths": (8, 16), "n": 4, "d": 3, "steps": 5},
        summary="max weight movement and kernel drift shrink like m^-1/2",
        params=LazyWidthParams, run=_lazy_run("run_lazy_width"), figure=_lazy_width_figure,
        summary_lines=_lazy_width_lines, estimate=_lazy_width_cost, cite=SPEC6,
        metrics=(
            Metric("slope_weight_move", "log-log slope of the weight movement",
                   "result.slope_weight_move", "result.slope_theory", tex=r"m^{-1/2}",
                   cite=SPEC6, good=0.5),
            Metric("slope_kernel_drift", "log-log slope of the kernel drift",
                   "result.slope_kernel_drift", "result.slope_theory", cite=SPEC6, good=0.5),
        ),
    ),
    Study(
        name="lazy-rich", title="Lazy to rich",
        tiny={"alphas": (0.5, 1.0), "n": 4, "d": 3, "width": 16, "steps": 5},
        summary="kernel and weight movement against the output scale alpha",
        params=LazyRichParams, run=_lazy_run("run_lazy_rich"), figure=_lazy_rich_figure,
        summary_lines=_lazy_rich_lines, estimate=_lazy_rich_cost, cite=CHIZAT,
        metrics=(
            Metric("rel_kernel_drift", "|H(T) - H(0)| / |H(0)|, alpha = {alpha}",
                   "result.rows.*.rel_kernel_drift", cite=CHIZAT),
        ),
    ),
    Study(
        name="lr-boundary", title="Learning rate at 2 / lambda_max",
        tiny={"factors": (0.9, 1.1), "n": 4, "d": 3, "width": 16, "steps": 5},
        summary="the network and its linearization on both sides of eta = 2 / lambda_max(H(0))",
        params=LrBoundaryParams, run=_lazy_run("run_lr_boundary"), figure=_lr_boundary_figure,
        summary_lines=_lr_boundary_lines, estimate=_lr_boundary_cost, cite=SPEC7,
        metrics=(
            Metric("max_over_initial", "network: max / initial residual, eta = {factor} x limit",
                   "result.runs.*.max_over_initial", cite=SPEC7),
            Metric("linearized_final_over_initial",
                   "linearized: final / initial residual, eta = {factor} x limit",
                   "result.runs.*.linearized_final_over_initial", cite=SPEC7),
        ),
    ),
)  # fmt: skip

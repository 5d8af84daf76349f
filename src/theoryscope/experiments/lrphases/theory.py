"""Theory of the learning-rate phases and how a run is compared with it.

Catapult (Lewkowycz et al. 2020, section 2; lecture "Large learning rates"): with lambda_0 the
initial NTK curvature (top eigenvalue of Theta / n),

    eta lambda_0 < 2       lazy: lambda_t ~ lambda_0, loss L_t = L_0 (1 - eta lambda_0)^(2t)
    2 < eta lambda_0 < 4   catapult: the loss grows, lambda falls until lambda < 2 / eta, converges
    eta lambda_0 > 4       divergent (the uv model's threshold; about 12 for ReLU nets, see
                           :mod:`.relu_theory` for mode relu)

Edge of stability (Cohen et al. 2021): full-batch GD sharpens until S ~ 2 / eta and then hovers
there (2 / eta is the stability threshold of GD on a quadratic, lecture "Sharpness").

One source of truth: every catapult prediction (phase, boundaries 2 / lambda_0 and 4 / lambda_0,
2 / eta, peak step, lazy loss curve) is made here, and :func:`compare` reports these very numbers
beside the measured ones. With ``config.init_seed`` (which the CLI sets to the run seed) the
prediction uses the lambda_0 and the initial loss of the initialized network, computed by the
same code as the run; without it (a Python call that leaves it None, a sweep that does not fill
it) it uses the infinite-width lambda_0 = lambda_max(2 X X^T / n) and the expected initial
residual 1 + mean(y^2), and says so (``lambda0_source``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from theoryscope.experiments.lrphases.config import Config
from theoryscope.experiments.lrphases.data import infinite_width_ntk, make_data
from theoryscope.protocol import Run

#: eta lambda_0 boundaries of the uv model (Lewkowycz et al. 2020, section 2).
LAZY_BOUNDARY = 2.0
DIVERGENT_BOUNDARY = 4.0
#: Late window of an EoS run: the last this fraction of the records after the first crossing.
EOS_LATE_FRACTION = 0.5
#: Sharpness counts as "at" 2/eta once it reaches this fraction of it.
EOS_CROSSING_FRACTION = 0.9


#: Where a catapult theory's lambda_0 comes from.
FROM_INIT = "initialized network"
FROM_INFINITE_WIDTH = "infinite width"


@dataclass
class Theory:
    """Predictions that need only the config (module docstring: the initialized network's
    lambda_0 when ``init_seed`` is given, else the infinite-width one)."""

    mode: str
    eta: float | None
    lambda0: float | None
    eta_lambda0: float | None
    phase: str
    lazy_max: float | None  # eta below which GD is lazy: 2 / lambda_0
    divergent_min: float | None  # eta above which GD diverges: 4 / lambda_0
    two_over_eta: float | None
    peak_step: float | None  # catapult: predicted step of the loss peak
    width: int
    lambda0_source: str | None = None  # FROM_INIT or FROM_INFINITE_WIDTH (catapult)
    lambda0_infinite_width: float | None = None
    initial_loss: float | None = None  # L_0 of the initialized network (FROM_INIT only)
    init_seed: int | None = None
    #: Lazy phase with a known init: L_0 (1 - eta lambda_0)^(2t) on at most 1000 steps (relu:
    #: the linearized loss summed over the NTK's modes, every phase, cut at 1e4 L_0).
    lazy_curve_step: list[float] | None = None
    lazy_curve_loss: list[float] | None = None
    #: relu: the uv model's divergence threshold 4 / lambda_0 beside the paper's 12 / lambda_0
    #: (``divergent_min``), and where the boundaries come from.
    divergent_min_uv: float | None = None
    boundary_source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def phase_of(eta_lambda0: float) -> str:
    """Phase predicted from eta lambda_0 (boundaries 2 and 4, Lewkowycz et al. section 2)."""
    if eta_lambda0 < LAZY_BOUNDARY:
        return "lazy"
    if eta_lambda0 < DIVERGENT_BOUNDARY:
        return "catapult"
    return "divergent"


def peak_step(
    eta_lambda0: float, width: int, initial_residual_sq: float = 1.0, lambda0: float = 2.0
) -> float | None:
    """Predicted step of the catapult's loss peak (a leading-order estimate, derived here).

    Early on g_t = (1 - eta lambda_0)^t g_0 (linearized dynamics) and, from the exact map,
    lambda_{t+1} - lambda_t = -eta f_t^2 (4 - eta lambda_t) / m. Summing the geometric series of
    f_t^2 (ratio r^2 = (1 - eta lambda_0)^2) up to step t gives f_t^2 r^2 / (r^2 - 1); the growth
    stops when the drop reaches lambda_0 - 2 / eta, i.e. when
    f_t^2 = m (eta lambda_0 - 2)(r^2 - 1) / (eta^2 (4 - eta lambda_0) r^2), so
    t* = ln(f_t^2 / g_0^2) / ln r^2 (with y = 0, f = g; E g_0^2 = |x|^2 + y^2 = 1 + y^2).
    """
    a = eta_lambda0
    if not (LAZY_BOUNDARY < a < DIVERGENT_BOUNDARY):
        return None
    r2 = (1.0 - a) ** 2
    eta_sq = (a / lambda0) ** 2
    f2 = width * (a - 2.0) * (r2 - 1.0) / (eta_sq * (4.0 - a) * r2)
    if f2 <= initial_residual_sq:
        return 0.0
    return math.log(f2 / initial_residual_sq) / math.log(r2)


def predict(config: Config) -> Theory:
    """Phase, boundaries and 2 / eta from the config alone."""
    width = int(config.width or 1)
    if config.mode == "relu":
        from theoryscope.experiments.lrphases import relu_theory

        return Theory(**relu_theory.predict(config))
    if config.mode == "eos":
        eta_eos = float(config.lr or 0.0)
        return Theory(
            mode="eos", eta=eta_eos, lambda0=None, eta_lambda0=None, phase="edge_of_stability",
            lazy_max=None, divergent_min=None, two_over_eta=2.0 / eta_eos, peak_step=None,
            width=width,
        )  # fmt: skip
    x, y = make_data(config)
    lam_inf = infinite_width_ntk(x)
    eta: float | None
    if config.init_seed is not None:
        from theoryscope.experiments.lrphases.engine import initial_state

        state = initial_state(config, int(config.init_seed))
        lam0, eta, loss0 = state["lambda0"], state["eta"], state["initial_loss"]
        a = eta * lam0
        residual_sq = 2.0 * loss0  # g_0^2 of the one sample (L_0 = g_0^2 / 2)
        source, initial_loss = FROM_INIT, loss0
    else:
        lam0, source, initial_loss = lam_inf, FROM_INFINITE_WIDTH, None
        residual_sq = 1.0 + float(np.mean(y**2))  # E g_0^2 = |x|^2 + y^2
        if config.lr_scale is not None:
            a = float(config.lr_scale)
            eta = None  # set per seed from the measured lambda_0
        else:
            eta = float(config.lr or 0.0)
            a = eta * lam0
    lazy_step = lazy_curve = None
    if initial_loss is not None and phase_of(a) == "lazy":
        grid = np.unique(np.round(np.linspace(0, int(config.steps or 1), 1000)))
        lazy_step, lazy_curve = grid.tolist(), lazy_loss(initial_loss, a, grid).tolist()
    return Theory(
        mode="catapult",
        eta=eta,
        lambda0=lam0,
        eta_lambda0=a,
        phase=phase_of(a),
        lazy_max=2.0 / lam0,
        divergent_min=4.0 / lam0,
        two_over_eta=2.0 / eta if eta else None,
        peak_step=peak_step(a, width, residual_sq, lam0),
        width=width,
        lambda0_source=source,
        lambda0_infinite_width=lam_inf,
        initial_loss=initial_loss,
        init_seed=config.init_seed,
        lazy_curve_step=lazy_step,
        lazy_curve_loss=lazy_curve,
    )


def theory_to_dict(theory: Theory) -> dict[str, Any]:
    return theory.to_dict()


def lazy_loss(initial_loss: float, eta_lambda0: float, steps: np.ndarray) -> np.ndarray:
    """Linearized (kernel-regime) loss L_t = L_0 (1 - eta lambda_0)^(2t) (spec wide-networks 7)."""
    return initial_loss * (1.0 - eta_lambda0) ** (2.0 * np.asarray(steps, dtype=np.float64))


#: Relative rise of the loss above L_0 that counts as a catapult (float32 rounding is ~1e-7).
RISE_TOLERANCE = 1e-5


def classify(initial_loss: float, final_loss: float, max_loss_after_start: float) -> str:
    """Measured phase: divergent (non-finite, or final loss >= L_0), catapult (the loss rose
    above L_0 at some step t >= 1, then fell below it), lazy (it never rose)."""
    if not np.isfinite(final_loss) or final_loss >= initial_loss:
        return "divergent"
    if max_loss_after_start > initial_loss * (1.0 + RISE_TOLERANCE):
        return "catapult"
    return "lazy"


def measured_phase(run: Run) -> str:
    """:func:`classify` applied to a run (a diverged run is divergent; fewer than two records:
    unknown)."""
    loss = run.series.get("loss", np.zeros(0))
    if run.status == "diverged":
        return "divergent"
    if len(loss) < 2:
        return "unknown"  # e.g. interrupted before the second record
    return classify(float(loss[0]), float(loss[-1]), float(np.max(loss[1:])))


def compare(run: Run, theory: Theory) -> dict[str, Any]:
    """The numbers that say how well the run follows the theory (see module docstring)."""
    if theory.mode == "eos":
        return _compare_eos(run, theory)
    if theory.mode == "relu":
        from theoryscope.experiments.lrphases import relu_theory

        return relu_theory.compare(run, theory)
    return _compare_catapult(run, theory)


def _compare_catapult(run: Run, theory: Theory) -> dict[str, Any]:
    """Measured eta, lambda_0, phase, peak, final lambda beside the theory's predictions (every
    ``*_predicted`` number is the theory's own, never recomputed here)."""
    s = run.series
    eta = float(run.summary.get("eta", theory.eta or math.nan))
    lam0 = float(run.summary.get("lambda0", theory.lambda0 or math.nan))
    a = eta * lam0
    out: dict[str, Any] = {
        "eta": eta,
        "lambda0": lam0,
        "lambda0_predicted": theory.lambda0,
        "lambda0_source": theory.lambda0_source,
        "lambda0_infinite_width": theory.lambda0_infinite_width,
        "eta_lambda0": a,
        "eta_lambda0_predicted": theory.eta_lambda0,
        "phase_predicted": theory.phase,
        "phase_measured": measured_phase(run),
        "two_over_eta": 2.0 / eta,
        "four_over_eta": 4.0 / eta,
        "lazy_max": theory.lazy_max,
        "divergent_min": theory.divergent_min,
        "peak_step_predicted": theory.peak_step,
    }
    out["phase_agrees"] = out["phase_predicted"] == out["phase_measured"]
    if len(s.get("step", ())) == 0:
        return out
    loss, ntk, step = s["loss"], s["ntk"], s["step"]
    final_lam = float(ntk[-1])
    out.update(
        final_ntk=final_lam,
        final_ntk_over_two_over_eta=final_lam * eta / 2.0,
        final_ntk_below_two_over_eta=bool(final_lam < 2.0 / eta),
        initial_loss=float(loss[0]),
        final_loss=float(loss[-1]),
        max_loss=float(np.max(loss)),
        peak_step_measured=int(step[int(np.argmax(loss))]),
        ntk_change=float((final_lam - lam0) / lam0),
    )
    a_pred = theory.eta_lambda0 if theory.eta_lambda0 is not None else a
    if theory.phase == "lazy" and a_pred < LAZY_BOUNDARY:
        loss0 = theory.initial_loss if theory.initial_loss is not None else float(loss[0])
        pred = lazy_loss(loss0, a_pred, step)
        # compare where the loss is resolvable: f = v.Ux / sqrt(m) sums O(1) terms, so rounding
        # leaves an absolute error ~ eps sqrt(m) in f once it is small
        floor = 1e-10 if run.config.get("dtype") == "float64" else 1e-4
        ok = pred > floor * float(loss[0])
        rel = np.abs(loss[ok] - pred[ok]) / pred[ok]
        # t = 0 matches by construction: report only when later steps are resolvable
        out["lazy_loss_max_rel_err"] = float(np.max(rel)) if rel.size > 1 else None
    return out


def _compare_eos(run: Run, theory: Theory) -> dict[str, Any]:
    s = run.series
    target = float(theory.two_over_eta or math.nan)
    out: dict[str, Any] = {"eta": theory.eta, "two_over_eta": target}
    if len(s.get("step", ())) == 0:
        return out
    sharp, loss, step = s["sharpness"], s["loss"], s["step"]
    ratio = sharp / target
    crossed = np.flatnonzero(ratio >= EOS_CROSSING_FRACTION)
    first = int(crossed[0]) if crossed.size else None
    out.update(
        initial_sharpness=float(sharp[0]),
        max_sharpness=float(np.max(sharp)),
        final_sharpness=float(sharp[-1]),
        final_loss=float(loss[-1]),
        first_crossing_step=int(step[first]) if first is not None else None,
        reached_edge=first is not None,
    )
    if first is not None:
        start = max(first, int(len(sharp) * (1.0 - EOS_LATE_FRACTION)))
        late = ratio[start:]
        late_loss = loss[start:]
        out.update(
            late_window_start_step=int(step[start]),
            late_sharpness_mean=float(np.mean(sharp[start:])),
            late_sharpness_ratio_mean=float(np.mean(late)),
            late_sharpness_ratio_std=float(np.std(late)),
            late_sharpness_ratio_max=float(np.max(late)),
            late_loss_increase_fraction=float(np.mean(np.diff(late_loss) > 0))
            if late_loss.size > 1
            else None,
        )
    return out

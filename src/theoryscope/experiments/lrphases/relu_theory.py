"""What is predicted for a wide two-layer ReLU net under GD, and how a run is measured against it.

Lower boundary (exact, linear stability; Lewkowycz et al. 2020 section 2, lecture "LR in NTK/GP
regime"): linearized GD moves the residual's component along the NTK eigenvector k by the
factor (1 - eta lambda_k) per step, so the top mode grows iff eta lambda_0 > 2. Below that the
loss follows the linearized curve

    L_t = (1 / 2n) sum_k (e_k . g_0)^2 (1 - eta lambda_k)^(2t)     (lambda_k: eigenvalues of Theta_0 / n)

Upper boundary: the uv model diverges above eta lambda_0 = 4 (its exact map, section 2: lambda
grows once eta lambda > 4). For wide ReLU networks Lewkowycz et al. report eta_max ~ 12 /
lambda_0 (section 3) -- an empirical number, not derived; :data:`PAPER_MAX` holds it and the
predicted phase uses it. ``docs/lrphases.md`` sets our measured boundaries beside it.

Measured phase (:func:`classify`): *divergent* when the run did not converge (it blew up -- a
non-finite loss or one beyond the cap -- or it stalled with its final loss above
``converge_tol`` L_0, e.g. with every unit dead); *catapult* when it converged after the top
mode's loss grew past :data:`~.relu.RISE_FACTOR` times max(its t = 0 value, L_0 / n); *lazy*
when it converged without that growth.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theoryscope.experiments.lrphases import relu
from theoryscope.experiments.lrphases.config import Config
from theoryscope.experiments.lrphases.data import make_data
from theoryscope.protocol import Run

#: Lewkowycz et al. 2020, section 3: wide ReLU networks catapult up to eta lambda_0 ~ 12.
PAPER_MAX = 12.0
#: The uv model's exact boundaries (section 2).
LAZY_BOUNDARY = 2.0
UV_MAX = 4.0
#: The lazy curve is drawn while it stays below this multiple of L_0 (it grows when eta
#: lambda_0 > 2: the catapult's first steps follow it).
CURVE_CEILING = 1e4
#: At most this many points on the linearized curve.
CURVE_POINTS = 1000


def phase_of(eta_lambda0: float) -> str:
    """Predicted phase: lazy below 2, catapult up to the paper's 12, divergent above."""
    if eta_lambda0 < LAZY_BOUNDARY:
        return "lazy"
    if eta_lambda0 < PAPER_MAX:
        return "catapult"
    return "divergent"


def classify(
    initial_loss: float, final_loss: float, top_rise: float, converge_tol: float
) -> tuple[str, str]:
    """(phase, outcome): outcome ``blown up`` (non-finite final loss), ``stalled`` (final loss
    >= converge_tol L_0) or ``converged``; phase divergent unless converged, then catapult if
    the top mode's loss grew (``top_rise`` > :data:`~.relu.RISE_FACTOR`, see
    :func:`top_rise`) else lazy."""
    if not math.isfinite(final_loss):
        return "divergent", "blown up"
    if not final_loss < converge_tol * initial_loss:
        return "divergent", "stalled"
    if top_rise > relu.RISE_FACTOR:
        return "catapult", "converged"
    return "lazy", "converged"


def top_rise(top_loss: np.ndarray, initial_loss: float, n: int) -> float:
    """max over t >= 1 of the top-mode loss over max(its t = 0 value, L_0 / n), as
    :func:`.relu.outcome` computes it (inf for fewer than two records)."""
    if len(top_loss) < 2:
        return math.inf
    scale = max(float(top_loss[0]), initial_loss / n)
    return float(np.max(top_loss[1:])) / scale if scale > 0 else math.inf


def linear_curve(
    evals: np.ndarray, projections: np.ndarray, eta: float, steps: int, ceiling: float
) -> tuple[list[float], list[float]]:
    """The linearized loss L_t (module docstring) on at most :data:`CURVE_POINTS` integer steps
    in [0, steps], cut where it first exceeds ``ceiling``."""
    n = projections.shape[0]
    grid = np.unique(np.round(np.linspace(0, steps, CURVE_POINTS)))
    factors = (1.0 - eta * evals) ** 2
    with np.errstate(over="ignore"):
        curve = np.array([float(np.sum(projections**2 * factors**t)) / (2 * n) for t in grid])
    keep = np.isfinite(curve) & (curve <= ceiling)
    stop = int(np.argmin(keep)) if not keep.all() else len(grid)
    return grid[:stop].tolist(), curve[:stop].tolist()


def predict(config: Config) -> dict[str, Any]:
    """The theory's numbers for a relu config (the fields of :class:`.theory.Theory`).

    With ``init_seed`` the initialized network's lambda_0, L_0 and NTK eigen-decomposition (by
    the run's own code) give eta, the phase and the linearized loss curve; without it lambda_0 is
    the infinite-width arc-cosine value and no curve is drawn.
    """
    from theoryscope.experiments.lrphases.theory import FROM_INFINITE_WIDTH, FROM_INIT

    x, _ = make_data(config)
    lam_inf = relu.infinite_width_top(x)
    eta: float | None
    curve_step = curve_loss = None
    initial_loss = None
    if config.init_seed is not None:
        from theoryscope.experiments.lrphases.engine import relu_initial_state

        state = relu_initial_state(config, int(config.init_seed))
        lam0, eta, initial_loss = state["lambda0"], state["eta"], state["initial_loss"]
        source = FROM_INIT
        projections = state["evecs"].T @ state["residual"]
        curve_step, curve_loss = linear_curve(
            state["evals"], projections, eta, int(config.steps or 1), CURVE_CEILING * initial_loss
        )
        a = eta * lam0
    else:
        lam0, source = lam_inf, FROM_INFINITE_WIDTH
        if config.lr_scale is not None:
            a, eta = float(config.lr_scale), None
        else:
            eta = float(config.lr or 0.0)
            a = eta * lam0
    return {
        "mode": "relu",
        "eta": eta,
        "lambda0": lam0,
        "eta_lambda0": a,
        "phase": phase_of(a),
        "lazy_max": LAZY_BOUNDARY / lam0,
        "divergent_min": PAPER_MAX / lam0,
        "divergent_min_uv": UV_MAX / lam0,
        "two_over_eta": 2.0 / eta if eta else None,
        "peak_step": None,
        "width": int(config.width or 1),
        "lambda0_source": source,
        "lambda0_infinite_width": lam_inf,
        "initial_loss": initial_loss,
        "init_seed": config.init_seed,
        "lazy_curve_step": curve_step,
        "lazy_curve_loss": curve_loss,
        "boundary_source": "lazy: 2 (linear stability); divergent: 12 (Lewkowycz et al. 2020, "
        "section 3, measured on ReLU nets); the uv model's 4 in divergent_min_uv",
    }


def measured(run: Run) -> tuple[str, str]:
    """(phase, outcome) of a run by :func:`classify` (a diverged run is divergent and blown up;
    fewer than two records: unknown)."""
    loss = run.series.get("loss", np.zeros(0))
    if run.status == "diverged":
        return "divergent", "blown up"
    if len(loss) < 2:
        return "unknown", "unknown"
    n = int(run.config.get("n") or 1)
    rise = top_rise(run.series["top_loss"], float(loss[0]), n)
    tol = float(run.config.get("converge_tol", 0.01))
    return classify(float(loss[0]), float(loss[-1]), rise, tol)


def compare(run: Run, theory: Any) -> dict[str, Any]:
    """Measured eta, lambda_0, phase, final lambda and alive fraction beside the theory's
    numbers (every ``*_predicted`` value is the theory's own)."""
    s = run.series
    eta = float(run.summary.get("eta", theory.eta or math.nan))
    lam0 = float(run.summary.get("lambda0", theory.lambda0 or math.nan))
    phase, outcome = measured(run)
    out: dict[str, Any] = {
        "eta": eta,
        "lambda0": lam0,
        "lambda0_predicted": theory.lambda0,
        "lambda0_source": theory.lambda0_source,
        "lambda0_infinite_width": theory.lambda0_infinite_width,
        "eta_lambda0": eta * lam0,
        "eta_lambda0_predicted": theory.eta_lambda0,
        "phase_predicted": theory.phase,
        "phase_measured": phase,
        "outcome": outcome,
        "phase_agrees": theory.phase == phase,
        "two_over_eta": 2.0 / eta,
        "four_over_eta": 4.0 / eta,
        "paper_max_over_eta": PAPER_MAX / eta,
        "paper_max": PAPER_MAX,
        "lazy_max": theory.lazy_max,
        "divergent_min": theory.divergent_min,
        "divergent_min_uv": theory.divergent_min_uv,
    }
    if len(s.get("step", ())) == 0:
        return out
    loss, ntk, step = s["loss"], s["ntk"], s["step"]
    top = s["top_loss"]
    final_lam = float(ntk[-1])
    out.update(
        final_ntk=final_lam,
        final_ntk_over_two_over_eta=final_lam * eta / 2.0,
        final_ntk_below_two_over_eta=bool(final_lam < 2.0 / eta),
        initial_loss=float(loss[0]),
        final_loss=float(loss[-1]),
        max_loss=float(np.max(loss)),
        peak_step_measured=int(step[int(np.argmax(loss))]),
        top_rise=top_rise(top, float(loss[0]), int(run.config.get("n") or 1)),
        final_alive=float(s["alive"][-1]),
        ntk_change=float((final_lam - lam0) / lam0),
    )
    if theory.phase == "lazy" and theory.lazy_curve_step:
        grid = np.asarray(theory.lazy_curve_step, dtype=np.int64)
        pred = np.asarray(theory.lazy_curve_loss, dtype=np.float64)
        ok = grid < len(loss)
        grid, pred = grid[ok], pred[ok]
        # resolvable steps only: rounding leaves an absolute error ~ eps sqrt(m) in f
        floor = 1e-10 if run.config.get("dtype") == "float64" else 1e-4
        res = pred > floor * float(loss[0])
        rel = np.abs(loss[grid[res]] - pred[res]) / pred[res]
        out["lazy_loss_max_rel_err"] = float(np.max(rel)) if rel.size > 1 else None
    return out

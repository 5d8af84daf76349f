"""The exact least-squares solution and the exact gradient-descent curve towards it.

Source: talk (seed 004), slide "Learning dynamics based on gradient flow: linear". The loss of
``h = sum_i a_i psi_i`` is ``E(a) = 1/2 ||h - f||^2 = 1/2 a^T G a - a^T F + 1/2 ||f||^2``; its
minimiser is the L2 projection ``Pi f`` of f on V_h (the same function in either basis), with

    E* = 1/2 ||f - Pi f||^2,     excess(a) = E(a) - E* = 1/2 ||h - Pi f||^2.

Both are computed through the well-conditioned FE basis: ``Pi f`` has nodal values
``v* = M^{-1} F_fe`` (banded solve) and ``E*`` is integrated directly (no cancellation).

Gradient descent ``a <- a - eta (G a - F)`` from a = 0. Write ``G = B^T B`` with
``B = L^T T = U Sigma W^T`` (:func:`.bases.spectrum`; ``T = I`` for the FE basis) and
``r = U^T L^T (v - v*)`` the residual in the eigen-directions of G (``excess = 1/2 |r|^2``). Then

    r_j(s) = -(1 - eta lambda_j)^s q_j,      q = U^T L^{-1} F_fe,    lambda_j = sigma_j^2,
    excess(s) = 1/2 sum_j (1 - eta lambda_j)^{2 s} q_j^2,

exactly (the talk's ``a_k(t) = (a_k(0) - f_k/lambda_k) e^{-lambda_k t} + f_k/lambda_k`` in
discrete time), and ``sum_j q_j^2 = ||Pi f||^2``. Direction j needs ``s ~ 1/(eta lambda_j)``
steps; with ``eta = lr / lambda_max`` that is ``cond(G)/lr`` for the last one: a few steps for
the FE basis (cond <= 6 h_max/h_min) against ~n^4 for the ReLU basis on a grid.

Adam has no closed form here; its theory is the floor ``E*`` it can at best reach.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg as sla

from theoryscope.core.recording import log_steps
from theoryscope.experiments.fem import bases
from theoryscope.experiments.fem.config import EPS, Config
from theoryscope.experiments.fem.lsq import errors, test_grid
from theoryscope.experiments.fem.mesh import make_nodes
from theoryscope.experiments.fem.targets import get_target

__all__ = ["Problem", "Theory", "build_problem", "gd_excess", "predict", "theory_to_dict"]

#: Leading eigen-directions whose residual a run records.
MODES_RECORDED = 8
#: Horizon of the predicted step counts.
HORIZON = 1e16
#: Fraction of the initial excess that the "steps to 1%" readout waits for.
FRACTION = 1e-2


@dataclass
class Problem:
    """Everything a config fixes (float64 NumPy): nodes, G, F, the spectrum, the LS solution."""

    nodes: np.ndarray
    basis: str
    gram: np.ndarray
    load: np.ndarray  # F = <f, psi_i>
    fe_load: np.ndarray  # <f, phi_k>
    norm2: float  # ||f||^2
    change: np.ndarray | None  # T (relu) or None (fe)
    spectrum: bases.Spectrum
    q: np.ndarray  # U^T L^{-1} F_fe
    v_star: np.ndarray  # nodal values of Pi f
    e_star: float  # 1/2 ||f - Pi f||^2
    test: np.ndarray
    f_test: np.ndarray
    ls_max_error: float
    ls_mse: float
    eta: float  # GD step lr / lambda_max

    def nodal(self, a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, dtype=np.float64)
        return a if self.change is None else self.change @ a

    def excess(self, v: np.ndarray) -> float:
        """``1/2 (v - v*)^T M (v - v*)`` with the tridiagonal M (O(n))."""
        d = np.asarray(v, dtype=np.float64) - self.v_star
        h = np.diff(self.nodes)
        md = (np.concatenate([h, [0.0]]) + np.concatenate([[0.0], h])) / 3.0 * d
        md[:-1] += h / 6.0 * d[1:]
        md[1:] += h / 6.0 * d[:-1]
        return 0.5 * float(d @ md)

    def mode_residual(self, v: np.ndarray, m: int) -> np.ndarray:
        """``r_j = (U^T L^T (v - v*))_j`` for the m leading eigen-directions of G."""
        d = np.asarray(v, dtype=np.float64) - self.v_star
        return self.spectrum.left[:, :m].T @ (self.spectrum.chol.T @ d)


def build_problem(config: Config) -> Problem:
    """Nodes, the exact G and F, the accurate spectrum and the exact LS solution of ``config``."""
    target = get_target(config.target, config.freq)
    nodes = make_nodes(config.nodes, config.n, target=config.target, freq=config.freq,
                       seed=config.node_seed)  # fmt: skip
    loads = bases.loads(target, nodes)
    spec = bases.spectrum(config.basis, nodes)
    v_star = sla.solveh_banded(bases.mass_banded(nodes), loads.fe)
    rule = loads.rule
    pif = (1.0 - rule.t) * v_star[rule.elem] + rule.t * v_star[rule.elem + 1]
    e_star = 0.5 * float(np.sum((target.f(rule.x) - pif) ** 2 * rule.w))
    q = spec.left.T @ sla.solve_triangular(spec.chol, loads.fe, lower=True)
    test = test_grid()
    f_test = target.f(test)
    ls_max, ls_mse = errors(np.interp(test, nodes, v_star), f_test)
    change = None if config.basis == "fe" else bases.change_of_basis(nodes)
    return Problem(
        nodes=nodes, basis=config.basis, gram=bases.gram(config.basis, nodes),
        load=bases.basis_load(config.basis, nodes, loads.fe), fe_load=loads.fe,
        norm2=loads.norm2, change=change, spectrum=spec, q=q, v_star=v_star, e_star=e_star,
        test=test, f_test=f_test, ls_max_error=ls_max, ls_mse=ls_mse,
        eta=config.lr / float(spec.eigenvalues[0]),
    )  # fmt: skip


def _decay(eta_lambda: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``|1 - eta lambda|^s``, shape (len(s), len(eta_lambda)) (log1p where eta lambda < 1)."""
    eta_lambda = np.asarray(eta_lambda, dtype=np.float64)
    s = np.asarray(s, dtype=np.float64)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        logabs = np.where(eta_lambda < 1.0, np.log1p(-eta_lambda),
                          np.log(np.abs(1.0 - eta_lambda)))  # fmt: skip
        arg = s * logabs[None, :]
        power = np.where(arg < -700.0, 0.0, np.exp(np.clip(arg, -700.0, 700.0)))
    return np.where(s == 0.0, 1.0, power)


def gd_excess(problem: Problem, steps: np.ndarray) -> np.ndarray:
    """``excess(s) = 1/2 sum_j (1 - eta lambda_j)^{2 s} q_j^2`` (module docstring)."""
    eta_lambda = problem.eta * problem.spectrum.eigenvalues
    return 0.5 * (_decay(eta_lambda, 2.0 * np.asarray(steps, float)) @ (problem.q**2))


def steps_to_fraction(problem: Problem, fraction: float = FRACTION) -> float | None:
    """The step s where ``excess(s) = fraction * excess(0)``: the first integer step below by
    bisection (the curve is nonincreasing for 0 < eta lambda < 2), then log-linear between it
    and the step before (linear across the first step, like the measured readout of
    :mod:`.compare`); None beyond :data:`HORIZON` or when GD diverges."""
    eta_lambda = problem.eta * problem.spectrum.eigenvalues
    if np.any(eta_lambda >= 2.0):
        return None
    goal = fraction * float(gd_excess(problem, np.array([0.0]))[0])
    if float(gd_excess(problem, np.array([HORIZON]))[0]) > goal:
        return None
    lo, hi = 0.0, 1.0
    while float(gd_excess(problem, np.array([hi]))[0]) > goal:
        lo, hi = hi, hi * 2.0
    while hi - lo > 1.0:
        mid = math.floor((lo + hi) / 2.0)
        if float(gd_excess(problem, np.array([float(mid)]))[0]) > goal:
            lo = float(mid)
        else:
            hi = float(mid)
    # between the integer steps hi - 1 and hi, interpolate log(excess) linearly (continuous)
    # (linear in the excess across the first step, as the measured readout interpolates)
    e0, e1 = (float(v) for v in gd_excess(problem, np.array([hi - 1.0, hi])))
    if e0 <= e1:
        return hi
    if hi == 1.0 or e1 <= 0.0:
        return hi - 1.0 + (e0 - goal) / (e0 - e1)
    return hi - 1.0 + (math.log(e0) - math.log(goal)) / (math.log(e0) - math.log(e1))


def record_steps(config: Config) -> np.ndarray:
    """The recorded steps: 0, then log-spaced up to ``steps``."""
    return log_steps(config.steps, config.records)


@dataclass
class Theory:
    """The prediction for one config (see :func:`predict`)."""

    config: dict[str, Any]
    step: np.ndarray
    excess: np.ndarray | None  # GD only
    mode_residual: np.ndarray | None  # GD only, |r_j(s)| for the leading modes
    loss_floor: float
    ls_max_error: float
    ls_mse: float
    eigenvalues: np.ndarray
    condition_number: float
    fe_bounds: tuple[float, float]
    h_ratio: float
    eta: float
    steps_to_fraction: float | None
    initial_excess: float
    extras: dict[str, Any] = field(default_factory=dict)


def predict(config: Config, problem: Problem | None = None) -> Theory:
    """The LS floor, the exact GD excess curve and the conditioning of ``config``."""
    problem = problem if problem is not None else build_problem(config)
    steps = record_steps(config)
    lam = problem.spectrum.eigenvalues
    m = min(MODES_RECORDED, config.n)
    gd = config.mode == "gd"
    excess = gd_excess(problem, steps) if gd else None
    modes = _decay(problem.eta * lam[:m], steps) * np.abs(problem.q[None, :m]) if gd else None
    h = np.diff(problem.nodes)
    return Theory(
        config=config.to_dict(), step=steps, excess=excess, mode_residual=modes,
        loss_floor=problem.e_star, ls_max_error=problem.ls_max_error, ls_mse=problem.ls_mse,
        eigenvalues=lam, condition_number=problem.spectrum.condition_number,
        fe_bounds=bases.fe_bounds(problem.nodes), h_ratio=float(h.max() / h.min()),
        eta=problem.eta, steps_to_fraction=steps_to_fraction(problem) if gd else None,
        initial_excess=0.5 * float(np.sum(problem.q**2)),
        extras={"eps_lines": [EPS["float32"] * float(lam[0]), EPS["float64"] * float(lam[0])],
                "norm2": problem.norm2},
    )  # fmt: skip


def _list(x: np.ndarray | None) -> Any:
    return None if x is None else np.asarray(x, dtype=np.float64).tolist()


def theory_to_dict(theory: Theory) -> dict[str, Any]:
    """JSON (arrays as lists) for the store and the web."""
    lam = theory.eigenvalues
    return {
        "step": theory.step.tolist(),
        "excess": _list(theory.excess),
        "loss": _list(None if theory.excess is None else theory.excess + theory.loss_floor),
        "mode_residual": _list(theory.mode_residual),
        "loss_floor": theory.loss_floor,
        "ls_max_error": theory.ls_max_error,
        "ls_mse": theory.ls_mse,
        "index": list(range(1, len(lam) + 1)),
        "eigenvalues": _list(lam),
        "condition_number": theory.condition_number,
        "fe_bounds": list(theory.fe_bounds),
        "h_ratio": theory.h_ratio,
        "eta": theory.eta,
        "steps_to_fraction": theory.steps_to_fraction,
        "initial_excess": theory.initial_excess,
        **theory.extras,
    }

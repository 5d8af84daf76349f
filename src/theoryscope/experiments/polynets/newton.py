"""A blind search for critical points: multi-start Newton on the gradient (the baseline that the
analytic enumeration of critical.py is checked and timed against).

From random starts theta_0 ~ N(0, scale^2), Levenberg-Marquardt solves grad L(theta) = 0 with the
Hessian as the Jacobian (scipy.optimize.least_squares, method ``lm``: it converges to saddles as
readily as to minima, and copes with the symmetry directions where the Hessian is singular).
A start counts when |grad L| <= ``grad_tol`` at the end. Found points are grouped by their
function-space invariants (the loss and the sorted nonzero eigenvalues of M~, which are constant
on every critical set, Grassmannians included) without using the prediction; each group is then
matched to the nearest predicted set by :func:`.critical.distance_to_set`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import least_squares

from theoryscope.experiments.polynets.critical import CriticalSet, distance_to_set
from theoryscope.experiments.polynets.quadratic import Problem, student_matrix
from theoryscope.experiments.polynets.signature import tools, unpack

__all__ = ["newton_search"]

_NEWTON_STREAM = 13


def _invariants(problem: Problem, m_tilde: np.ndarray, loss: float) -> np.ndarray:
    """(loss, sorted eigenvalues of M~) scaled by the teacher's size."""
    eig = np.sort(np.linalg.eigvalsh(0.5 * (m_tilde + m_tilde.T)))
    return np.concatenate([[loss], eig])


def newton_search(
    problem: Problem,
    starts: int,
    seed: int = 0,
    *,
    scale: float | None = None,
    grad_tol: float = 1e-9,
    group_tol: float = 1e-6,
    predicted: list[CriticalSet] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Critical points found from ``starts`` random starts (module docstring).

    Returns ``groups`` (each: invariants, loss, hits, rank, and ``matched`` / ``distance`` to the
    nearest predicted set when ``predicted`` is given), ``converged`` starts, ``seconds`` and
    ``first_hit`` (for each group, the number of starts after which it was first found).
    """
    kit = tools(problem)
    n = problem.n_params
    lam_scale = max(1.0, float(np.max(np.abs(problem.lam))))
    if scale is None:
        scale = math.sqrt(lam_scale / max(1, problem.width)) / float(np.sqrt(np.max(problem.cov)))
    rng = np.random.default_rng([int(seed), _NEWTON_STREAM])
    groups: list[dict[str, Any]] = []
    converged = 0
    started = time.perf_counter()
    s = problem.sqrt_cov
    with jax.enable_x64(True):

        def fun(theta: np.ndarray) -> np.ndarray:
            return np.asarray(kit.value_and_grad(jnp.asarray(theta))[1])

        def jac(theta: np.ndarray) -> np.ndarray:
            return np.asarray(kit.hessian(jnp.asarray(theta)))

        for start in range(int(starts)):
            if should_stop is not None and should_stop():
                break
            x0 = scale * rng.standard_normal(n)
            sol = least_squares(fun, x0, jac=jac, method="lm", xtol=1e-15, ftol=1e-15,
                                gtol=1e-15, max_nfev=200 * n)  # fmt: skip
            g = float(np.linalg.norm(sol.fun))
            if not g <= grad_tol * lam_scale:
                continue
            converged += 1
            w, a = unpack(problem, sol.x)
            m_tilde = s[:, None] * student_matrix(w, a) * s[None, :]
            loss = float(kit.value_and_grad(jnp.asarray(sol.x))[0])
            inv = _invariants(problem, m_tilde, loss)
            for grp in groups:
                if np.max(np.abs(grp["_inv"] - inv)) <= group_tol * lam_scale:
                    grp["hits"] += 1
                    break
            else:
                entry: dict[str, Any] = {
                    "_inv": inv, "loss": loss, "hits": 1, "first_hit": start + 1,
                    "rank": int(np.sum(np.abs(inv[1:]) > 1e-6 * lam_scale)),
                }  # fmt: skip
                if predicted:
                    dist = [distance_to_set(problem, m_tilde, c) for c in predicted]
                    j = int(np.argmin(dist))
                    entry["matched"] = predicted[j].label
                    entry["distance"] = float(dist[j])
                groups.append(entry)
    seconds = time.perf_counter() - started
    for grp in groups:
        grp["eigenvalues"] = [float(v) for v in grp.pop("_inv")[1:]]
    groups.sort(key=lambda g: g["loss"])
    return {"groups": groups, "converged": converged, "starts": int(starts),
            "seconds": seconds}  # fmt: skip

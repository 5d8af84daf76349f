"""Gradient and parameter-space Hessian of the quadratic teacher-student loss in JAX (float64).

The parameter vector is theta = vec(W) (``signed``) or (vec(W), a) (``free``), W (d, r) in the
original input coordinates; the loss is the closed form of quadratic.py,
L = 2 tr((D Sigma)^2) + (tr(D Sigma))^2 with D = W diag(a) W^T - M*, written independently in
jax.numpy so that jax.grad / jax.hessian check the hand-written NumPy gradient and the
predicted signatures of critical.py. Every function here runs under ``jax.enable_x64(True)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.experiments.polynets.quadratic import Problem

__all__ = ["Tools", "pack", "signature", "tools", "unpack"]

#: |eigenvalue| <= this x max |eigenvalue| counts as zero in a measured signature.
ZERO_REL = 1e-9


def pack(problem: Problem, w: np.ndarray, a: np.ndarray) -> np.ndarray:
    """theta = vec(W) (row-major) or (vec(W), a)."""
    flat = np.asarray(w, dtype=np.float64).reshape(-1)
    if problem.outer == "free":
        return np.concatenate([flat, np.asarray(a, dtype=np.float64)])
    return flat


def unpack(problem: Problem, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d, r = problem.d, problem.width
    theta = np.asarray(theta, dtype=np.float64)
    w = theta[: d * r].reshape(d, r)
    a = theta[d * r :] if problem.outer == "free" else problem.signs.copy()
    return w, a


@dataclass(frozen=True)
class Tools:
    """Float64 loss, gradient and Hessian of theta for one problem (call inside
    ``jax.enable_x64``); the compiled functions are shared by every problem of the same
    (d, r, outer)."""

    value_and_grad: Callable[[Any], Any]
    hessian: Callable[[Any], Any]


_COMPILED: dict[tuple[int, int, bool], tuple[Any, Any]] = {}


def _compiled(d: int, r: int, free: bool) -> tuple[Any, Any]:
    key = (d, r, free)
    if key not in _COMPILED:

        def loss(theta: Any, m_star: Any, cov: Any, signs: Any) -> Any:
            w = theta[: d * r].reshape(d, r)
            a = theta[d * r :] if free else signs
            delta = (w * a[None, :]) @ w.T - m_star
            ds = delta * cov[None, :]
            tr = jnp.trace(ds)
            return 2.0 * jnp.sum(ds * ds.T) + tr * tr

        _COMPILED[key] = (jax.jit(jax.value_and_grad(loss)), jax.jit(jax.hessian(loss)))
    return _COMPILED[key]


def tools(problem: Problem) -> Tools:
    """The loss, gradient and Hessian of theta with this problem's M*, Sigma and signs bound."""
    d, r = problem.d, problem.width
    with jax.enable_x64(True):
        consts = (jnp.asarray(problem.m_star, dtype=jnp.float64),
                  jnp.asarray(problem.cov, dtype=jnp.float64),
                  jnp.asarray(problem.signs, dtype=jnp.float64))  # fmt: skip
    value_and_grad, hess = _compiled(d, r, problem.outer == "free")
    return Tools(value_and_grad=lambda t: value_and_grad(t, *consts),
                 hessian=lambda t: hess(t, *consts))  # fmt: skip


def signature(eigenvalues: np.ndarray, zero_rel: float = ZERO_REL) -> tuple[int, int, int]:
    """(negative, zero, positive) counts of a Hessian spectrum, zero meaning
    |e| <= zero_rel x max |e|."""
    e = np.asarray(eigenvalues, dtype=np.float64)
    tol = zero_rel * max(float(np.max(np.abs(e))) if e.size else 0.0, 1e-300)
    neg = int(np.sum(e < -tol))
    pos = int(np.sum(e > tol))
    return neg, e.size - neg - pos, pos


def measure(problem: Problem, kit: Tools, w: np.ndarray, a: np.ndarray) -> dict[str, Any]:
    """Loss, gradient norm and the Hessian spectrum (float64) at one point."""
    with jax.enable_x64(True):
        theta = jnp.asarray(pack(problem, w, a), dtype=jnp.float64)
        value, grad = kit.value_and_grad(theta)
        loss, grad = float(value), np.asarray(grad)
        hess = np.asarray(kit.hessian(theta))
    eigs = np.linalg.eigvalsh(0.5 * (hess + hess.T))
    return {"loss": loss, "grad_norm": float(np.linalg.norm(grad)), "eigenvalues": eigs,
            "asymmetry": float(np.max(np.abs(hess - hess.T)))}  # fmt: skip

"""The Hessian at one point of training: Lanczos on H and on its parts, and the three-level
hierarchy laid against Papyan's class / cross-class decomposition (see :mod:`.curvature`).

Outlier counts. With ``G_class = A A^T`` (rank <= C) and ``G_cross = B B^T`` (rank <= C(C-1)),
``H = (H - A A^T) + A A^T`` is a rank-C positive semidefinite update, so by Weyl's interlacing
at most C eigenvalues of H exceed ``lambda_max(H - G_class)`` (and at most C^2 exceed
``lambda_max(H - G_class - G_cross)``, the top of the bulk operator
``G_within + G_same + E``). The measured counts

    n_class = #{i : lambda_i(H) > lambda_max(H - G_class)}                        (<= C)
    n_outliers = #{i : lambda_i(H) > lambda_max(H - G_class - G_cross)}           (<= C^2)

are laid against Papyan's observation that the bounds are attained: C class outliers and
C(C-1) cross-class outliers (Papyan 2019, section 4 and figure 2; seed 002, 10/5 cartoon).
Eigenvalues of H are Lanczos Ritz values, which interlace below the true ones, so a count from
them never exceeds the true count.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.experiments.hessian.curvature import (
    class_sums,
    finish_structure,
    gn_matvec,
    same_matvec,
)
from theoryscope.experiments.hessian.linalg import (
    hvp,
    lanczos,
    random_unit,
    subspace_overlap,
)
from theoryscope.experiments.hessian.model import make_logit_fn, make_loss

Array = Any
#: Coefficients (H, G, G_same) and whether the low-rank part is subtracted, per operator:
#: E = H - G, G_within = G - G_same - G_class - G_cross (exact identities, :mod:`.curvature`).
OPERATORS: dict[str, tuple[float, float, float]] = {
    "H": (1.0, 0.0, 0.0),
    "G": (0.0, 1.0, 0.0),
    "E": (1.0, -1.0, 0.0),
    "same": (0.0, 0.0, 1.0),
    "H-low": (1.0, 0.0, 0.0),
    "within": (0.0, 1.0, -1.0),
}


@functools.partial(jax.jit, static_argnames=("dims", "activation", "kind"))
def point_info(
    theta: Array, x: Array, onehot: Array, *, dims: tuple[int, ...], activation: str, kind: str
) -> tuple[Array, Array, Array, Array]:
    """The gradient and the class sums of :func:`.curvature.class_sums` at theta."""
    loss_fn = make_loss(x, onehot, dims, activation, kind)
    w_ck, sums, means = class_sums(make_logit_fn(x, dims, activation), theta, onehot, kind)
    return jax.grad(loss_fn)(theta), w_ck, sums, means


@functools.partial(jax.jit, static_argnames=("dims", "activation", "kind", "iters"))
def lanczos_op(
    theta: Array, x: Array, onehot: Array, v0: Array, coef: Array, low_rank: Array, *,
    dims: tuple[int, ...], activation: str, kind: str, iters: int,
) -> tuple[Array, Array, Array]:  # fmt: skip
    """Lanczos on ``coef[0] H + coef[1] G + coef[2] G_same - F F^T`` (F = ``low_rank``, zero
    columns allowed). One compiled function serves every operator of :data:`OPERATORS`; a zero
    coefficient skips its product at run time (``lax.cond``)."""
    loss_fn = make_loss(x, onehot, dims, activation, kind)
    logit_fn = make_logit_fn(x, dims, activation)
    g_mv = gn_matvec(logit_fn, theta, kind)
    s_mv = same_matvec(logit_fn, theta, onehot, kind)

    def part(c: Array, mv: Any, v: Array) -> Array:
        return jax.lax.cond(c != 0, lambda u: c * mv(u), jnp.zeros_like, v)

    def matvec(v: Array) -> Array:
        out = part(coef[0], lambda u: hvp(loss_fn, theta, u), v)
        out = out + part(coef[1], g_mv, v) + part(coef[2], s_mv, v)
        return out - low_rank @ (low_rank.T @ v)

    return lanczos(matvec, v0, iters)


def ritz(alphas: Any, betas: Any, basis: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k Ritz values (descending) and vectors (P, k) from Lanczos output (NumPy float64)."""
    a = np.asarray(alphas, dtype=np.float64)
    b = np.asarray(betas, dtype=np.float64)
    t = np.diag(a) + np.diag(b[:-1], 1) + np.diag(b[:-1], -1)
    evals, evecs = np.linalg.eigh(t)
    k = min(k, len(a))
    vecs = np.asarray(basis, dtype=np.float64).T @ evecs[:, ::-1][:, :k]
    return evals[::-1][:k], vecs / np.linalg.norm(vecs, axis=0, keepdims=True)


def ritz_values(alphas: Any, betas: Any) -> np.ndarray:
    """All Ritz values (descending)."""
    a = np.asarray(alphas, dtype=np.float64)
    b = np.asarray(betas, dtype=np.float64)
    return np.linalg.eigvalsh(np.diag(a) + np.diag(b[:-1], 1) + np.diag(b[:-1], -1))[::-1]


class Point:
    """One point theta of one problem: data, architecture, loss, dtype (JAX arrays ready)."""

    def __init__(
        self, theta: Any, x: np.ndarray, y: np.ndarray, dims: tuple[int, ...], activation: str,
        kind: str, dtype: Any,
    ) -> None:  # fmt: skip
        classes = dims[-1]
        self.dims, self.activation, self.kind, self.dtype = dims, activation, kind, dtype
        self.y = np.asarray(y)
        self.theta = jnp.asarray(theta, dtype)
        self.x = jnp.asarray(x, dtype)
        self.onehot = jnp.asarray(np.eye(classes)[self.y], dtype)
        self.classes = classes
        self.params = int(self.theta.shape[0])

    @property
    def static(self) -> dict[str, Any]:
        return {"dims": self.dims, "activation": self.activation, "kind": self.kind}

    def loss_fn(self) -> Any:
        return make_loss(self.x, self.onehot, self.dims, self.activation, self.kind)

    def logit_fn(self) -> Any:
        return make_logit_fn(self.x, self.dims, self.activation)

    def run(
        self, op: str, v0: np.ndarray, iters: int, low_rank: np.ndarray | None = None
    ) -> tuple[Any, Any, Any]:
        """Lanczos on the operator ``op`` (:data:`OPERATORS`); ``low_rank`` F is subtracted as
        F F^T (padded with zero columns to C^2 so one compiled function serves every call)."""
        c = self.classes
        fac = np.zeros((self.params, c * c))
        if low_rank is not None:
            fac[:, : low_rank.shape[1]] = low_rank
        return lanczos_op(
            self.theta, self.x, self.onehot, jnp.asarray(v0, self.dtype),
            jnp.asarray(OPERATORS[op], self.dtype), jnp.asarray(fac, self.dtype), iters=iters,
            **self.static,
        )  # fmt: skip

    def info(self) -> tuple[np.ndarray, Any]:
        """(gradient, ClassStructure) at theta."""
        grad, w_ck, sums, means = point_info(self.theta, self.x, self.onehot, **self.static)
        return np.asarray(grad, dtype=np.float64), finish_structure(w_ck, sums, means)


def analysis_iters(classes: int, params: int) -> int:
    """Default Lanczos steps of :func:`hierarchy`: 2 (C^2 + C) + 40, at most P."""
    return min(2 * (classes * classes + classes) + 40, params)


def hierarchy(
    point: Point, rng: np.random.Generator, *, iters: int | None = None
) -> dict[str, Any]:
    """The outliers of H at one point against the class / cross-class structure of G.

    The top C^2 + C eigenvalues of H and of G (at most P) by ``iters`` Lanczos steps (default
    :func:`analysis_iters`); with as many steps, the tops of ``H - G_class``, ``H - G_class -
    G_cross`` (the bulk edge), G_within, G_same and both ends of E's spectrum. JSON-ready.
    """
    c, p = point.classes, point.params
    k = min(c * c + c, p)
    iters = max(min(iters if iters is not None else analysis_iters(c, p), p), k)
    _, structure = point.info()
    a_fac, b_fac = structure.class_factor(), structure.cross_factor()
    both = np.concatenate([a_fac, b_fac], axis=1)
    h_vals, h_vecs = ritz(*point.run("H", random_unit(rng, p), iters), k)
    g_vals, g_vecs = ritz(*point.run("G", random_unit(rng, p), iters), k)

    def spectrum(op: str, low_rank: np.ndarray | None = None) -> np.ndarray:
        return ritz_values(*point.run(op, random_unit(rng, p), iters, low_rank)[:2])

    minus_class = float(spectrum("H-low", a_fac)[0])
    bulk = float(spectrum("H-low", both)[0])
    within = float(spectrum("within", both)[0])
    same = float(spectrum("same")[0])
    e_vals = spectrum("E")
    class_eigs = structure.class_eigenvalues()
    cross_eigs = structure.cross_eigenvalues()
    n_class = int(np.sum(h_vals > minus_class))
    n_outliers = int(np.sum(h_vals > bulk))
    top_c = h_vecs[:, : min(c, h_vecs.shape[1])]
    ratio_ok = len(class_eigs) and np.all(class_eigs > 0) and len(h_vals) >= len(class_eigs)
    return {
        "classes": c,
        "params": p,
        "k": k,
        "iters": iters,
        "h_top": h_vals.tolist(),
        "g_top": g_vals.tolist(),
        "class_eigs": class_eigs.tolist(),
        "cross_eigs": cross_eigs.tolist(),
        "lambda_max_minus_class": minus_class,
        "bulk_edge": bulk,
        "within_top": within,
        "same_top": same,
        "e_min": float(e_vals[-1]),
        "e_max": float(e_vals[0]),
        "n_class": n_class,
        "n_cross": n_outliers - n_class,
        "n_outliers": n_outliers,
        "predicted_class": c,
        "predicted_cross": c * (c - 1),
        "overlap_class_means": subspace_overlap(top_c, structure.g_c.T),
        "overlap_loss_grad_means": subspace_overlap(top_c, structure.loss_grad_means.T),
        "overlap_g_class_means": subspace_overlap(
            g_vecs[:, : min(c, g_vecs.shape[1])], structure.g_c.T
        ),  # fmt: skip
        "overlap_h_g_top": subspace_overlap(top_c, g_vecs[:, : top_c.shape[1]]),
        "top_class_ratio": (
            float(np.mean(h_vals[: len(class_eigs)] / class_eigs)) if ratio_ok else None
        ),
    }

"""The loss Hessian's parts: the Gauss-Newton split H = G + E and the class structure of G.

Chain rule for L(theta) = (1/N) sum_i l(f(x_i; theta), y_i) with J_i = df(x_i)/dtheta (C x P)
(seed 002, lecture 10/5; Sagun et al. 2017, section 2; Papyan 2019, section 2):

    H = G + E,   G = (1/N) sum_i J_i^T H_i J_i,   E = (1/N) sum_i sum_k (dl/df_k)(x_i) d^2 f_k(x_i)/dtheta^2

with H_i = d^2 l / df^2 (:mod:`.model`). G is computed two independent ways: matrix-free as
``J^T (H_out (J v))`` (one jvp, one vjp) and as the Hessian of the *linearized* model's loss
``theta' -> L(f(theta) + J (theta' - theta))`` at theta' = theta (whose second derivative has no
E term). E is the Hessian of ``theta' -> sum_i r_i . f(x_i; theta')`` with the residual
``r_i = dL/df_i`` held fixed: it vanishes where the loss gradient in function space does.

Class structure (Papyan 2019, sections 3-4; seed 002, 10/5). Write the output Hessian as a sum of
rank-one terms, ``H_i / N = sum_k a_ik u_ik u_ik^T``:

    ce    a_ik = p_ik / N,  u_ik = p_i - e_k   (diag(p) - p p^T = sum_k p_k (p - e_k)(p - e_k)^T)
    mse   a_ik = 1 / N,     u_ik = e_k         (the identity; g_ik are the logit derivatives)

so ``G = sum_{i,k} a_ik g_ik g_ik^T`` with ``g_ik = J_i^T u_ik``: for ce, g_ik is the gradient
example i *would* have if its label were k (Papyan's g_{i,c,c'}, c = y_i, c' = k): G is a weighted
second moment of gradients, not a covariance. With the weighted means

    w_ck = sum_{i in c} a_ik,   g_ck = sum_{i in c} a_ik g_ik / w_ck       (cross-class means)
    w_c  = sum_{k != c} w_ck,   g_c  = sum_{k != c} w_ck g_ck / w_c        (class means)

G splits exactly into four PSD terms (each the within-group scatter identity applied twice):

    G_class  = sum_c w_c g_c g_c^T                                   rank <= C     (C outliers)
    G_cross  = sum_c sum_{k != c} w_ck (g_ck - g_c)(g_ck - g_c)^T    rank <= C(C-1) (next level)
    G_within = sum_i sum_{k != y_i} a_ik (g_ik - g_{y_i k})(g_ik - g_{y_i k})^T      (the bulk)
    G_same   = sum_i a_{i y_i} g_{i y_i} g_{i y_i}^T       (k = c: for ce p_iy (p_i - e_y), -> 0)

the three-level hierarchy of Papyan (2019): C outliers from the class means, C(C-1) smaller ones
from the cross-class means, and the bulk. For ce, ``sum_k p_ik g_ik = J_i^T (p_i - p_i) = 0``
gives ``w_c g_c = -(1/N) sum_{i in c} p_{i y_i} grad l_i``: the class means are (p-weighted)
class means of the per-example loss gradients. Each term's matrix-vector product is
matrix-free (C^2 vjps for the means, one jvp and one vjp per product).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.experiments.hessian.linalg import hvp
from theoryscope.experiments.hessian.model import loss_grad_of_logits, loss_of_logits

Array = Any
LogitFn = Callable[[Array], Array]


# ------------------------------------------------------------------------------------------------
# output-space pieces
# ------------------------------------------------------------------------------------------------
def output_hessian_apply(z: Array, s: Array, kind: str) -> Array:
    """``H_i s_i / N`` for every example (N, C)."""
    n = z.shape[0]
    if kind == "ce":
        p = jax.nn.softmax(z, axis=-1)
        return (p * s - p * jnp.sum(p * s, axis=-1, keepdims=True)) / n
    return s / n


def output_hessians(z: Array, kind: str) -> Array:
    """The blocks ``H_i / N`` (N, C, C)."""
    n, c = z.shape
    if kind == "ce":
        p = jax.nn.softmax(z, axis=-1)
        return (jax.vmap(jnp.diag)(p) - p[:, :, None] * p[:, None, :]) / n
    return jnp.broadcast_to(jnp.eye(c, dtype=z.dtype), (n, c, c)) / n


def rank_one_terms(z: Array, kind: str) -> tuple[Array, Array]:
    """``(a (N, C), u (N, C, C))`` with ``H_i / N = sum_k a_ik u_ik u_ik^T`` (module docstring);
    ``u[i, k]`` is the output-space direction of g_ik."""
    n, c = z.shape
    eye = jnp.eye(c, dtype=z.dtype)
    if kind == "ce":
        p = jax.nn.softmax(z, axis=-1)
        return p / n, p[:, None, :] - eye[None, :, :]
    return jnp.full((n, c), 1.0 / n, dtype=z.dtype), jnp.broadcast_to(eye, (n, c, c))


# ------------------------------------------------------------------------------------------------
# G and E
# ------------------------------------------------------------------------------------------------
def gn_matvec(logit_fn: LogitFn, theta: Array, kind: str) -> Callable[[Array], Array]:
    """``v -> G v = J^T (H_out (J v))`` (way 1: one jvp, one vjp)."""
    z, jvp_fn = jax.linearize(logit_fn, theta)
    vjp_fn = jax.linear_transpose(jvp_fn, theta)

    def matvec(v: Array) -> Array:
        return vjp_fn(output_hessian_apply(z, jvp_fn(v), kind))[0]

    return matvec


def linearized_loss(
    logit_fn: LogitFn, theta: Array, onehot: Array, kind: str
) -> Callable[[Array], Array]:
    """``theta' -> L(f(theta) + J (theta' - theta))``: its Hessian at theta is G (way 2)."""
    z0, jvp_fn = jax.linearize(logit_fn, theta)

    def loss(theta_prime: Array) -> Array:
        return loss_of_logits(z0 + jvp_fn(theta_prime - theta), onehot, kind)

    return loss


def gn_matvec_linearized(
    logit_fn: LogitFn, theta: Array, onehot: Array, kind: str
) -> Callable[[Array], Array]:
    """``v -> G v`` as the HVP of the linearized model's loss (way 2)."""
    loss = linearized_loss(logit_fn, theta, onehot, kind)
    return lambda v: hvp(loss, theta, v)


def residual_loss(
    logit_fn: LogitFn, theta: Array, onehot: Array, kind: str
) -> Callable[[Array], Array]:
    """``theta' -> sum_i r_i . f(x_i; theta')`` with r = dL/df at theta fixed: its Hessian is E."""
    r = jax.lax.stop_gradient(loss_grad_of_logits(logit_fn(theta), onehot, kind))

    def loss(theta_prime: Array) -> Array:
        return jnp.sum(r * logit_fn(theta_prime))

    return loss


def e_matvec(logit_fn: LogitFn, theta: Array, onehot: Array, kind: str) -> Callable[[Array], Array]:
    """``v -> E v`` (HVP of the residual loss)."""
    loss = residual_loss(logit_fn, theta, onehot, kind)
    return lambda v: hvp(loss, theta, v)


def dense_jacobian(logit_fn: LogitFn, theta: Array) -> np.ndarray:
    """Per-example Jacobians ``J_i`` stacked (N, C, P), float64 NumPy (small nets only)."""
    return np.asarray(jax.jit(jax.jacfwd(logit_fn))(theta), dtype=np.float64)


def dense_gauss_newton(logit_fn: LogitFn, theta: Array, kind: str) -> np.ndarray:
    """G = sum_i J_i^T (H_i / N) J_i from the explicit Jacobian (way 1, dense)."""
    jac = dense_jacobian(logit_fn, theta)
    blocks = np.asarray(output_hessians(logit_fn(theta), kind), dtype=np.float64)
    g = np.einsum("icp,icd,idq->pq", jac, blocks, jac, optimize=True)
    return 0.5 * (g + g.T)


# ------------------------------------------------------------------------------------------------
# Papyan's class / cross-class structure
# ------------------------------------------------------------------------------------------------
@dataclass
class ClassStructure:
    """The weighted means of the g_ik (module docstring), NumPy float64."""

    w_ck: np.ndarray  # (C, C): w_ck
    g_ck: np.ndarray  # (C, C, P): g_ck (zero where w_ck = 0)
    w_c: np.ndarray  # (C,)
    g_c: np.ndarray  # (C, P)
    loss_grad_means: np.ndarray  # (C, P): class means of the per-example loss gradients

    @property
    def classes(self) -> int:
        return len(self.w_c)

    def class_factor(self) -> np.ndarray:
        """A (P, C) with G_class = A A^T."""
        return (np.sqrt(self.w_c)[:, None] * self.g_c).T

    def cross_factor(self) -> np.ndarray:
        """B (P, C(C-1)) with G_cross = B B^T."""
        cols = []
        for c in range(self.classes):
            for k in range(self.classes):
                if k != c:
                    cols.append(np.sqrt(self.w_ck[c, k]) * (self.g_ck[c, k] - self.g_c[c]))
        return np.stack(cols, axis=1) if cols else np.zeros((self.g_c.shape[1], 0))

    def class_eigenvalues(self) -> np.ndarray:
        """Nonzero spectrum of G_class (descending, C values): eig(A^T A)."""
        return gram_eigenvalues(self.class_factor())

    def cross_eigenvalues(self) -> np.ndarray:
        """Spectrum of G_cross (descending, C(C-1) values)."""
        return gram_eigenvalues(self.cross_factor())


def gram_eigenvalues(factor: np.ndarray) -> np.ndarray:
    """Eigenvalues of F F^T restricted to its column span, i.e. of F^T F (descending)."""
    if factor.shape[1] == 0:
        return np.zeros(0)
    lam = np.linalg.eigvalsh(factor.T @ factor)[::-1]
    return np.maximum(lam, 0.0)


def class_sums(logit_fn: LogitFn, theta: Array, onehot: Array, kind: str) -> tuple[Any, Any, Any]:
    """Jittable core of :func:`class_structure`: ``(w_ck (C, C), sum_{i in c} a_ik g_ik (C, C, P),
    class-mean loss gradients (C, P))`` by C^2 + C vjps."""
    z, vjp_fn = jax.vjp(logit_fn, theta)
    n, c = z.shape
    a, u = rank_one_terms(z, kind)
    member = onehot.T  # (C, N): member[c, i] = [y_i = c]
    # cotangent (c, k): rows a_ik u_ik for i in class c, zero elsewhere
    cot = member[:, None, :, None] * (a[:, :, None] * u).transpose(1, 0, 2)[None, :, :, :]
    sums = jax.vmap(lambda t: vjp_fn(t)[0])(cot.reshape(c * c, n, c)).reshape(c, c, -1)
    w_ck = jnp.einsum("ci,ik->ck", member, a)
    resid = loss_grad_of_logits(z, onehot, kind) * n  # per-example dl_i/df
    counts = jnp.sum(member, axis=1)
    grad_cot = member[:, :, None] * resid[None, :, :] / counts[:, None, None]
    loss_means = jax.vmap(lambda t: vjp_fn(t)[0])(grad_cot)  # (1/n_c) sum_{i in c} grad l_i
    return w_ck, sums, loss_means


def finish_structure(w_ck: Any, sums: Any, loss_means: Any) -> ClassStructure:
    """The weighted means from :func:`class_sums` (NumPy float64)."""
    w_ck_np = np.asarray(w_ck, dtype=np.float64)
    sums_np = np.asarray(sums, dtype=np.float64)
    c = w_ck_np.shape[0]
    safe = np.where(w_ck_np > 0, w_ck_np, 1.0)
    g_ck = np.where(w_ck_np[:, :, None] > 0, sums_np / safe[:, :, None], 0.0)
    off = 1.0 - np.eye(c)
    w_c = np.sum(w_ck_np * off, axis=1)
    g_c = np.einsum("ck,ckp->cp", w_ck_np * off, g_ck) / np.where(w_c > 0, w_c, 1.0)[:, None]
    return ClassStructure(w_ck_np, g_ck, w_c, g_c, np.asarray(loss_means, dtype=np.float64))


def class_structure(logit_fn: LogitFn, theta: Array, onehot: Array, kind: str) -> ClassStructure:
    """The C^2 cross-class means g_ck and the C class means g_c (module docstring)."""
    return finish_structure(*class_sums(logit_fn, theta, onehot, kind))


def within_matvec(
    logit_fn: LogitFn, theta: Array, onehot: Array, kind: str, g_ck: Array
) -> Callable[[Array], Array]:
    """``v -> G_within v = J^T U``, ``U_i = sum_{k != y_i} a_ik t_ik u_ik``,
    ``t_ik = u_ik . (J_i v) - g_{y_i k} . v`` (the group-mean terms cancel: sum_i a_ik t_ik = 0)."""
    z, jvp_fn = jax.linearize(logit_fn, theta)
    vjp_fn = jax.linear_transpose(jvp_fn, theta)
    a, u = rank_one_terms(z, kind)
    c = z.shape[1]
    off = onehot == 0  # k != y_i
    g_ck = jnp.asarray(g_ck, z.dtype)

    def matvec(v: Array) -> Array:
        s = jvp_fn(v)  # (N, C) = J_i v
        means = jnp.einsum("ckp,p->ck", g_ck.reshape(c, c, -1), v)  # g_ck . v
        t = jnp.einsum("ikc,ic->ik", u, s) - onehot @ means  # t_ik
        weight = jnp.where(off, a * t, 0.0)
        return vjp_fn(jnp.einsum("ik,ikc->ic", weight, u))[0]

    return matvec


def same_matvec(
    logit_fn: LogitFn, theta: Array, onehot: Array, kind: str
) -> Callable[[Array], Array]:
    """``v -> G_same v``: the k = y_i terms ``a_{i y_i} g_{i y_i} (g_{i y_i} . v)``."""
    z, jvp_fn = jax.linearize(logit_fn, theta)
    vjp_fn = jax.linear_transpose(jvp_fn, theta)
    a, u = rank_one_terms(z, kind)
    a_y = jnp.sum(a * onehot, axis=1)  # (N,)
    u_y = jnp.einsum("ik,ikc->ic", onehot, u)  # (N, C)

    def matvec(v: Array) -> Array:
        s = jvp_fn(v)
        t = jnp.sum(u_y * s, axis=1)
        return vjp_fn((a_y * t)[:, None] * u_y)[0]

    return matvec


def dense_parts(logit_fn: LogitFn, theta: Array, onehot: Array, kind: str) -> dict[str, np.ndarray]:
    """G_class, G_cross, G_within, G_same as dense P x P float64 matrices, straight from the
    per-example g_ik (tests and small studies; the reference for the matrix-free forms)."""
    jac = dense_jacobian(logit_fn, theta)  # (N, C, P)
    z = logit_fn(theta)
    a, u = (np.asarray(t, dtype=np.float64) for t in rank_one_terms(z, kind))
    y = np.argmax(np.asarray(onehot), axis=1)
    n, c, p = jac.shape
    g = np.einsum("ikc,icp->ikp", u, jac)  # g_ik
    w_ck = np.zeros((c, c))
    g_ck = np.zeros((c, c, p))
    for cls in range(c):
        rows = y == cls
        w_ck[cls] = a[rows].sum(axis=0)
        g_ck[cls] = (
            np.einsum("ik,ikp->kp", a[rows], g[rows])
            / np.where(w_ck[cls] > 0, w_ck[cls], 1.0)[:, None]
        )
    off = 1.0 - np.eye(c)
    w_c = (w_ck * off).sum(axis=1)
    g_c = np.einsum("ck,ckp->cp", w_ck * off, g_ck) / w_c[:, None]
    g_class = np.einsum("c,cp,cq->pq", w_c, g_c, g_c)
    diff = g_ck - g_c[:, None, :]
    g_cross = np.einsum("ck,ckp,ckq->pq", w_ck * off, diff, diff)
    dev = g - g_ck[y]  # g_ik - g_{y_i k}
    mask = 1.0 - np.eye(c)[y]  # k != y_i
    g_within = np.einsum("ik,ikp,ikq->pq", a * mask, dev, dev)
    same = np.eye(c)[y]
    g_same = np.einsum("ik,ikp,ikq->pq", a * same, g, g)
    return {"class": g_class, "cross": g_cross, "within": g_within, "same": g_same}

"""Exact population dynamics of Expander Nets: gradient flow and full-batch GD (spec 4).

With the closed-form population loss of spec 4 (default nonlinearity only),

    L(W1, W2) = 1/2 ( E[f_*^2] - 2 W2 . t(U) + W2 K(U) W2^T ),   U = W_froz W1,
    t(U) = sum_j coef_j b_j(U),   K_jl = exp(-1/2 |v_j - v_l|^2),   v_j = Gamma^{1/2} u_j,

the page's training with eta -> 0 and infinite batch (spec 3) is the gradient flow

    dW1/dt = -dL/dW1,     dW2/dt = -(1/k) dL/dW2                                (mode "flow")

and full-batch gradient descent with step eta is

    W1 <- W1 - eta dL/dW1,   W2 <- W2 - (eta/k) dL/dW2                            (mode "gd").

The gradient is written out by hand (checked against ``jax.grad`` and finite differences in the
tests): with w = W2,

    dL/dW2 = K w - t,
    dL/dv_j = -w_j ( (K w)_j v_j - (K (w o V))_j )  [quadratic part]  - d(w . t)/dv_j,
    dL/dW1 = W_froz^T (Gamma^{1/2} dL/dV),

so one evaluation is one pass over K times a (k x (d + 1)) matrix: O(k^2 d) work and, blocked
over rows of K, O(k * block) memory.

The flow is stiff: the mean of W2 relaxes on a time of order 1 while the rise happens at
t ~ 1/gamma^{|alpha|/2}; the Jacobian J = -diag(1, 1/k) H has a real spectrum whose few stiff
modes lie in W2's span of K's top eigenvectors (K/k has eigenvalues <= 1, decaying fast) and,
late in a run, along W1. It is integrated by :class:`~.flow_solver.NDF`, the variable-order
(1-5) NDF of SciPy's BDF, with ``rtol = FLOW_RTOL = 1e-5``, ``atol = FLOW_ATOL = 1e-8`` on the
state (vec W1, W2), in float64. Its Newton systems (I - c J) x = b are solved with the
structured matrix :class:`StructuredJacobian`: J's d^2 W1 columns exactly (forward differences
of the gradient) and its W2-W2 block -K/k through a rank-48 Nystrom approximation of K, so a
solve costs O(k (48 + d^2) d^2) (Woodbury for the W2 block, a d^2 x d^2 Schur complement for
W1) instead of an O(k^3) LU of a dense (k + d^2)^2 matrix. The approximation only sets how fast
Newton converges; every accepted step is the NDF solution to the stated tolerances.

Each gradient (and each record's loss) is O(k^2 d) directly, over the upper triangle of K, or
O(k F d) by Taylor moments of K when their proven error bound is below 1e-10 of the result
(:mod:`.kernel_sum`; F = C(N + d, d) features of degree N); W_froz is drawn exactly as the SGD
engine draws it for the same seed, so a flow run is the eta -> 0, |B| -> oo limit of the SGD
run with that seed.

Records are taken at the SGD engine's record schedule, t = eta * step, so flow, GD and SGD runs
of one config line up point by point. For the flow ``loss_batch`` and ``loss_ema`` equal the
population loss (there is no batch); ``t_half_sim`` is root-found on the solver's dense output.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from theoryscope.errors import ConfigError
from theoryscope.experiments.expander import kernel_sum
from theoryscope.experiments.expander import population as pop
from theoryscope.experiments.expander.config import Config
from theoryscope.protocol import Run

__all__ = [
    "FLOW_ATOL",
    "FLOW_RTOL",
    "flow_jacobian",
    "frozen_weights",
    "population_gradient",
    "simulate_population",
]

SERIES = (
    "step",
    "t_eff",
    "loss_batch",
    "loss_ema",
    "loss_population",
    "W1",
    "w2_scaled_norm",
    "overlap",
    "term_loss",
)
#: Relative / absolute tolerance of the flow's BDF solver (on W1 entries and k-scaled W2).
FLOW_RTOL = 1e-5
FLOW_ATOL = 1e-8
#: Full-batch GD steps between polls of ``should_stop`` scale with 1 / (k^2 d).
GD_SUBCHUNK_WORK = 2.0e9


# ------------------------------------------------------------------------------------------------
# the exact gradient
# ------------------------------------------------------------------------------------------------
def frozen_weights(config: Config, seed: int) -> np.ndarray:
    """W_froz for ``seed``, drawn exactly as the SGD engine draws it (key(seed) split in three)."""
    with jax.enable_x64(config.dtype == "float64"):
        dt = jnp.float64 if config.dtype == "float64" else jnp.float32
        k_init, _, _ = jax.random.split(jax.random.key(int(seed)), 3)
        return np.asarray(jax.random.normal(k_init, (config.k, config.d), dt), dtype=np.float64)


def kernel_products(V: Any, M: Any) -> Any:
    """K @ M with K_jl = exp(-1/2 |v_j - v_l|^2), in row blocks of K (never all of K at once)."""
    return kernel_sum.direct_products(V, M)


def kernel_matrix(V: Any) -> Any:
    """The full k x k K (for the flow's Jacobian), from the scaled rows V."""
    sq = jnp.sum(V * V, axis=-1)
    return jnp.exp(-0.5 * jnp.maximum(sq[:, None] + sq[None, :] - 2.0 * (V @ V.T), 0.0))


def population_gradient(
    W1: Any,
    W2: Any,
    W_froz: Any,
    gamma: Any,
    alphas: np.ndarray,
    coefs: Any,
    products: Callable[[Any, Any], Any] = kernel_products,
) -> tuple[Any, Any, Any]:
    """(L, dL/dW1, dL/dW2) of the exact population loss (spec 4), by the closed form above.

    ``products(V, M)`` computes K @ M (default: the direct sum)."""
    sg = jnp.sqrt(gamma)
    U = W_froz @ W1
    V = U * sg

    def target(U_: Any) -> Any:
        return coefs @ pop.term_overlaps(U_, alphas, gamma)  # t(U), (k,)

    t, t_vjp = jax.vjp(target, U)
    P = products(V, jnp.concatenate([W2[:, None], W2[:, None] * V], axis=1))
    Kw, KwV = P[:, 0], P[:, 1:]
    quad = jnp.dot(W2, Kw)
    loss = 0.5 * (jnp.sum(coefs * coefs) - 2.0 * jnp.dot(W2, t) + quad)
    g2 = Kw - t
    dV = -W2[:, None] * (Kw[:, None] * V - KwV)  # quadratic part, d/dV of 1/2 w K w
    (dU_t,) = t_vjp(-W2)  # d/dU of -w . t(U)
    g1 = W_froz.T @ (dV * sg + dU_t)
    return loss, g1, g2


def flow_jacobian(W1: Any, W2: Any, W_froz: Any, gamma: Any, alphas: np.ndarray, coefs: Any) -> Any:
    """Jacobian of the flow's right-hand side -(dL/dW1, dL/dW2 / k), state (vec W1, W2).

    The Hessian's W2-W2 block is K (L is quadratic in W2); its W1 columns are d^2 forward-mode
    products of the gradient; the W1-W2 block is the transpose of the W2-W1 block (symmetry).
    """
    d = W1.shape[0]
    k = W2.shape[0]

    def grads(W1_: Any) -> tuple[Any, Any]:
        _, g1, g2 = population_gradient(W1_, W2, W_froz, gamma, alphas, coefs)
        return g1.reshape(-1), g2

    H11, H21 = jax.jacfwd(grads)(W1)
    H11 = H11.reshape(d * d, d * d)
    H21 = H21.reshape(k, d * d)
    K = kernel_matrix((W_froz @ W1) * jnp.sqrt(gamma))
    top = jnp.concatenate([H11, H21.T], axis=1)
    bottom = jnp.concatenate([H21 / k, K / k], axis=1)
    return -jnp.concatenate([top, bottom], axis=0)


#: Relative step of the forward differences that give the Newton matrix's W1 columns: they
#: only set how fast Newton converges, never the solution (relative error ~1e-7).
FD_STEP = 1e-7


def kernel_nystrom(Omega: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Q, lam) with K ~ Q diag(lam) Q^T, Q orthonormal (k x l), from one pass Y = K Omega.

    Stable Nystrom approximation of the PSD K (Tropp, Yurtsever, Udell & Cevher 2017, Alg. 3):
    shift nu = eps ||Y||, C = chol(Omega^T (Y + nu Omega)), B = (Y + nu Omega) C^{-T},
    B = Q S P^T (thin SVD), lam = max(S^2 - nu, 0). Omega must have orthonormal columns.
    """
    import scipy.linalg as sl

    nu = np.finfo(np.float64).eps * np.linalg.norm(Y)
    Yn = Y + nu * Omega
    C = np.linalg.cholesky(Omega.T @ Yn)
    B = sl.solve_triangular(C, Yn.T, lower=True).T
    Q, S, _ = np.linalg.svd(B, full_matrices=False)
    return Q, np.maximum(S * S - nu, 0.0)


def nystrom_probes(V: np.ndarray, rand: np.ndarray) -> np.ndarray:
    """Orthonormal probe columns for :func:`kernel_nystrom`: the features a_j v_j^alpha of the
    Taylor expansion K_jl = a_j a_l sum_alpha v_j^alpha v_l^alpha / alpha! (a_j = e^{-|v_j|^2/2}),
    of total degree <= 2, which span K's top eigenvectors while the v_j are small, plus the
    columns of ``rand`` (k x n, Gaussian) for the rest."""
    d = V.shape[1]
    a = np.exp(-0.5 * np.sum(V * V, axis=-1))
    cols = [a] + [a * V[:, i] for i in range(d)]
    cols += [a * V[:, i] * V[:, j] for i in range(d) for j in range(i, d)]
    cols = cols[:NYSTROM_COLUMNS]  # large d: the lowest degrees first
    Q, _ = np.linalg.qr(np.concatenate([np.stack(cols, axis=1), rand], axis=1))
    return Q


class StructuredJacobian:
    """W ~ J = -D H, D = diag(1 (W1), 1/k (W2)), with H = [[H11, H21^T], [H21, K_r]]: the exact
    Hessian except its W2-W2 block K replaced by a Nystrom approximation Q diag(lam) Q^T.

    ``factor(c)`` solves (I - c W) x = b without any k x k matrix: with A = I + (c/k) K_r,
    A^{-1} = I - Q diag(s / (1 + s)) Q^T (s = c lam / k, Woodbury), and the W1 unknowns from the
    d^2 x d^2 Schur complement S = I + c H11 - (c^2/k) H21^T A^{-1} H21. Cost O(k l d^2).
    The flow's NDF steps are exact whatever W is; W only sets how fast Newton converges, and the
    discarded eigenvalues of K/k (< 1e-3 of the kept ones) leave it a few iterations.
    """

    def __init__(self, H11: np.ndarray, H21: np.ndarray, Q: np.ndarray, lam: np.ndarray) -> None:
        self.H11, self.H21 = H11, H21
        keep = lam > lam.max(initial=0.0) * 1e-12
        self.Q, self.lam = Q[:, keep], lam[keep]
        self.k = H21.shape[0]
        self.n1 = H11.shape[0]

    def _a_inv(self, c: float) -> Callable[[np.ndarray], np.ndarray]:
        s = c * self.lam / self.k
        w = s / (1.0 + s)
        Q = self.Q

        def apply(b: np.ndarray) -> np.ndarray:
            return b - Q @ (w[:, None] * (Q.T @ b)) if b.ndim == 2 else b - Q @ (w * (Q.T @ b))

        return apply

    def factor(self, c: float) -> _StructuredSolve:
        import scipy.linalg as sl

        a_inv = self._a_inv(c)
        X = (c / self.k) * a_inv(self.H21)  # A^{-1} M21, (k x d^2)
        S = np.eye(self.n1) + c * self.H11 - c * (self.H21.T @ X)
        return _StructuredSolve(sl.lu_factor(S), a_inv, X, c * self.H21.T, self.n1)


class _StructuredSolve:
    def __init__(self, lu: Any, a_inv: Any, X: np.ndarray, M12: np.ndarray, n1: int) -> None:
        self.lu, self.a_inv, self.X, self.M12, self.n1 = lu, a_inv, X, M12, n1

    def solve(self, b: np.ndarray) -> np.ndarray:
        import scipy.linalg as sl

        b1, b2 = b[: self.n1], b[self.n1 :]
        z = self.a_inv(b2)
        x1 = sl.lu_solve(self.lu, b1 - self.M12 @ z)
        return np.concatenate([x1, z - self.X @ x1])


# ------------------------------------------------------------------------------------------------
# shared bookkeeping
# ------------------------------------------------------------------------------------------------
def _check(config: Config) -> None:
    if config.mode not in ("flow", "gd"):
        raise ConfigError("mode", f"got {config.mode!r}; allowed here: flow, gd")
    if not config.uses_default_nonlinearity:
        raise ConfigError(
            "nonlinearity",
            f"mode {config.mode} needs the exact population loss of spec 4, which exists only for "
            f"sqrt2cos (got {config.nonlinearity_name}); allowed: sqrt2cos, or mode sgd",
        )


def record_steps(steps: int, records: int) -> np.ndarray:
    """The SGD engine's record schedule (step 0 then log-spaced steps), so runs line up."""
    from theoryscope.experiments.expander.engine import record_steps as engine_record_steps

    return engine_record_steps(steps, records)


def _alphas_key(config: Config) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(a) for a in alpha) for alpha in config.alphas)


@partial(jax.jit, static_argnames=("alphas",))
def _term_loss(W1: Any, W2: Any, W_froz: Any, gamma: Any, coefs: Any, alphas: Any) -> Any:
    ov = pop.term_overlaps(W_froz @ W1, np.asarray(alphas), gamma) @ W2
    return 0.5 * (coefs - ov) ** 2


def quadratic_form(W2: Any, V: Any, degree: int | None) -> tuple[Any, Any]:
    """(W2 K W2^T, ok): directly over the upper triangle of K (degree None, ok True) or by Taylor
    moments of that degree (ok: proven relative error below 1e-10; :mod:`.kernel_sum`)."""
    if degree is None:
        return kernel_sum.direct_quadratic(V, W2), jnp.asarray(True)
    return kernel_sum.taylor_quadratic(W2, V, degree)


@partial(jax.jit, static_argnames=("alphas", "degree"))
def _record(
    W1: Any, W2: Any, W_froz: Any, gamma: Any, coefs: Any, alphas: Any, degree: int | None
) -> dict:
    """The record's series; the loss is 1/2 (sum coef^2 - 2 coef . overlap + W2 K W2^T)."""
    U = W_froz @ W1
    ov = pop.term_overlaps(U, np.asarray(alphas), gamma) @ W2
    quad, ok = quadratic_form(W2, U * jnp.sqrt(gamma), degree)
    k = jnp.asarray(W2.shape[0], W2.dtype)
    return {
        "taylor_ok": ok,
        "loss_population": 0.5 * (jnp.sum(coefs * coefs) - 2.0 * jnp.dot(coefs, ov) + quad),
        "W1": W1,
        "w2_scaled_norm": jnp.sqrt(k) * jnp.linalg.norm(W2),
        "overlap": ov,
        "term_loss": 0.5 * (coefs - ov) ** 2,
    }


def _unflatten(y: Any, d: int) -> tuple[Any, Any]:
    return y[: d * d].reshape(d, d), y[d * d :]


@partial(jax.jit, static_argnames=("alphas", "degree"))
def _flow_rhs(
    y: Any, W_froz: Any, gamma: Any, coefs: Any, alphas: Any, degree: int | None = None
) -> tuple[Any, Any]:
    """(-(dL/dW1, dL/dW2 / k), ok): K products directly (degree None) or by Taylor moments
    (ok: proven relative error below 1e-10 in every column; :mod:`.kernel_sum`)."""
    d = W_froz.shape[1]
    W1, W2 = _unflatten(y, d)
    ok = [jnp.asarray(True)]

    def products(V: Any, M: Any) -> Any:
        if degree is None:
            return kernel_sum.direct_products(V, M)
        out, good = kernel_sum.taylor_products(V, M, degree)
        ok[0] = good
        return out

    _, g1, g2 = population_gradient(W1, W2, W_froz, gamma, np.asarray(alphas), coefs, products)
    return -jnp.concatenate([g1.reshape(-1), g2 / W2.shape[0]]), ok[0]


#: Columns of the Nystrom probe of K for the flow's structured Jacobian (at most k).
NYSTROM_COLUMNS = 48


_probe_products = jax.jit(kernel_sum.direct_products)


@partial(jax.jit, static_argnames=("alphas",))
def _flow_term_loss(y: Any, W_froz: Any, gamma: Any, coefs: Any, alphas: Any) -> Any:
    W1, W2 = _unflatten(y, W_froz.shape[1])
    ov = pop.term_overlaps(W_froz @ W1, np.asarray(alphas), gamma) @ W2
    return 0.5 * (coefs - ov) ** 2


class _Problem:
    """One config's constants in a given dtype, and the (shape-cached) jitted pieces."""

    def __init__(self, config: Config, seed: int, dtype: Any) -> None:
        self.config = config
        self.dt = dtype
        self.k, self.d = config.k, config.d
        self.alphas = np.asarray(config.alphas, dtype=np.int64)
        self.key = _alphas_key(config)
        self.W_froz = jnp.asarray(frozen_weights(config, seed), dtype)
        self.gamma = jnp.asarray(config.gamma, dtype)
        self.coefs = jnp.asarray(config.coefs, dtype)
        self.half = 0.25 * np.asarray(config.coefs, dtype=np.float64) ** 2  # term_loss(0) / 2
        self.W_froz_host = np.asarray(self.W_froz, np.float64)
        self.sqrt_gamma = np.sqrt(np.asarray(config.gamma, np.float64))
        self.consts = (self.W_froz, self.gamma, self.coefs)

    def grad(self, W1: Any, W2: Any) -> tuple[Any, Any, Any]:
        return population_gradient(W1, W2, self.W_froz, self.gamma, self.alphas, self.coefs)

    def term_loss(self, W1: Any, W2: Any) -> Any:
        return _term_loss(W1, W2, *self.consts, alphas=self.key)

    def row(self, step: int, W1: Any, W2: Any) -> dict:
        W1h, W2h = np.asarray(W1, np.float64), np.asarray(W2, np.float64)
        degree = kernel_sum.choose_degree((self.W_froz_host @ W1h) * self.sqrt_gamma, W2h)
        rec = _record(W1, W2, *self.consts, alphas=self.key, degree=degree)
        if degree is not None and not bool(rec["taylor_ok"]):
            rec = _record(W1, W2, *self.consts, alphas=self.key, degree=None)
        rec.pop("taylor_ok")
        out = {key: np.asarray(v, dtype=np.float64) for key, v in rec.items()}
        lp = out["loss_population"]
        row = {
            "step": np.asarray(step, np.int64),
            "t_eff": np.asarray(self.config.lr * step),
            "loss_batch": lp.copy(),
            "loss_ema": lp.copy(),
        }
        row.update(out)
        return row


@contextlib.contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """Run SciPy's OpenBLAS on one thread inside the block (restored after).

    The flow's LU factorizations are small enough that a second BLAS thread gains little on an
    idle machine and loses 10x on a busy one (measured: 500 x 500 LU, 23 ms vs 240 ms). Best
    effort: does nothing where the library or its symbols cannot be found.
    """
    calls = []
    try:
        import ctypes
        import re

        import scipy.linalg  # noqa: F401  (loads SciPy's OpenBLAS)

        with open("/proc/self/maps") as fh:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", fh.read())))
        names = ("scipy_openblas_{}_num_threads", "scipy_openblas_{}_num_threads64_",
                 "openblas_{}_num_threads", "openblas_{}_num_threads64_")  # fmt: skip
        for path in paths:
            lib = ctypes.CDLL(path)
            for name in names:
                get = getattr(lib, name.format("get"), None)
                put = getattr(lib, name.format("set"), None)
                if get is not None and put is not None:
                    calls.append((put, int(get())))
                    put(1)
                    break
    except Exception:  # pragma: no cover - not Linux / no OpenBLAS: leave threads alone
        pass
    try:
        yield
    finally:
        for put, n in calls:
            put(n)


def _emit(rows: list[dict], on_chunk: Callable[[Mapping[str, np.ndarray]], None] | None) -> None:
    if on_chunk is not None and rows:
        on_chunk({key: np.stack([r[key] for r in rows]) for key in SERIES})


def simulate_population(
    config: Config,
    seed: int = 0,
    *,
    on_chunk: Callable[[Mapping[str, np.ndarray]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Run:
    """Integrate the exact population dynamics (``config.mode`` flow or gd) up to ``config.t_eff``.

    Returns a :class:`~theoryscope.protocol.Run` with the SGD engine's series (see the module
    docstring for what ``loss_batch`` means here) and ``summary["t_half_sim"]`` per term.
    """
    _check(config)
    if config.mode == "flow":
        with jax.enable_x64(True), _single_threaded_blas():
            return _Flow(config, int(seed)).run(on_chunk, should_stop)
    with jax.enable_x64(config.dtype == "float64"):
        return _GradientDescent(config, int(seed)).run(on_chunk, should_stop)


def _make_run(
    config: Config,
    seed: int,
    status: str,
    message: str | None,
    rows: list[dict],
    summary: dict[str, Any],
    timings: dict[str, float],
) -> Run:
    series = {key: np.stack([r[key] for r in rows]) for key in SERIES} if rows else {}
    return Run(
        experiment="expander",
        config=config.to_dict(),
        seed=seed,
        status=status,
        series=series,
        summary=summary,
        message=message,
        timings=timings,
    )


# ------------------------------------------------------------------------------------------------
# gradient flow
# ------------------------------------------------------------------------------------------------
class _Flow:
    def __init__(self, config: Config, seed: int) -> None:
        self.config = config
        self.seed = seed
        self.p = _Problem(config, seed, jnp.float64)
        d = config.d
        p = self.p
        self.split = lambda y: _unflatten(y, d)

        def rhs(y: np.ndarray) -> np.ndarray:
            """The flow's right-hand side, by Taylor moments when their bound is met."""
            W1 = y[: d * d].reshape(d, d)
            V = (p.W_froz_host @ W1) * p.sqrt_gamma
            w = y[d * d :]
            degree = kernel_sum.choose_degree(V, np.concatenate([w[:, None], w[:, None] * V], 1))
            out, ok = _flow_rhs(y, *p.consts, alphas=p.key, degree=degree)
            if degree is not None and not bool(ok):
                out, _ = _flow_rhs(y, *p.consts, alphas=p.key, degree=None)
            return np.asarray(out)

        self.rhs = rhs
        k = config.k
        n_feat = min(NYSTROM_COLUMNS, 1 + d + d * (d + 1) // 2)
        n_random = max(0, min(k, NYSTROM_COLUMNS) - n_feat)
        rand = np.random.default_rng(seed).standard_normal((k, n_random))

        def jac(y: np.ndarray) -> StructuredJacobian:
            # W1 columns of H = -D^{-1} d(rhs)/dy by forward differences of the compiled
            # right-hand side (step FD_STEP max(1, |y_i|); only Newton's speed depends on them)
            f0 = np.asarray(self.rhs(y))
            cols = []
            for i in range(d * d):
                h = FD_STEP * max(1.0, abs(float(y[i])))
                e = y.copy()
                e[i] += h
                cols.append((np.asarray(self.rhs(e)) - f0) / h)
            dF = -np.stack(cols, axis=1)  # d(-rhs)/d(vec W1) = (H11; H21 / k)
            V = (p.W_froz_host @ y[: d * d].reshape(d, d)) * p.sqrt_gamma
            Omega = nystrom_probes(V, rand)
            Q, lam = kernel_nystrom(Omega, np.asarray(_probe_products(V, Omega)))
            return StructuredJacobian(dF[: d * d], k * dF[d * d :], Q, lam)

        self.jac = jac
        self.term_loss = lambda y: _flow_term_loss(y, *p.consts, alphas=p.key)

    def run(
        self,
        on_chunk: Callable[[Mapping[str, np.ndarray]], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> Run:
        from theoryscope.experiments.expander.flow_solver import NDF

        cfg = self.config
        t_start = time.perf_counter()
        y0 = np.concatenate([np.eye(cfg.d).reshape(-1), np.zeros(cfg.k)])

        def fun(t: float, y: np.ndarray) -> np.ndarray:
            return np.asarray(self.rhs(y))

        def jac(t: float, y: np.ndarray) -> StructuredJacobian:
            return self.jac(y)

        fun(0.0, y0), jac(0.0, y0), self.term_loss(y0)  # compile before timing the loop
        compile_seconds = time.perf_counter() - t_start

        schedule = record_steps(cfg.steps, cfg.records)
        times = cfg.lr * schedule.astype(np.float64)
        t_end = float(times[-1])
        m = len(cfg.terms)
        t_half: list[float | None] = [None] * m
        tl0 = np.asarray(self.term_loss(y0))
        for j in range(m):
            if tl0[j] <= self.p.half[j]:
                t_half[j] = 0.0
        status, message = "finished", None
        rows = [self.p.row(0, *self.split(y0))]
        _emit(rows, on_chunk)
        loop_start = time.perf_counter()
        solver = NDF(fun, 0.0, y0, t_end, jac=jac, rtol=FLOW_RTOL, atol=FLOW_ATOL)
        nxt = 1
        n_steps = 0
        try:
            while nxt < len(times) and solver.status == "running":
                solver.step()
                n_steps += 1
                if solver.status == "failed":
                    raise RuntimeError(f"flow solver failed at t = {solver.t:g}: step too small")
                dense = solver.dense_output()
                self._half_times(dense, solver.t_old, solver.t, t_half)
                fresh = []
                while nxt < len(times) and times[nxt] <= solver.t * (1 + 1e-12):
                    y = solver.y if times[nxt] >= solver.t else dense(times[nxt])
                    fresh.append(self.p.row(int(schedule[nxt]), *self.split(y)))
                    nxt += 1
                rows.extend(fresh)
                _emit(fresh, on_chunk)
                if should_stop is not None and should_stop():
                    status, message = "interrupted", f"stopped at t = {solver.t:g}"
                    break
        except KeyboardInterrupt:
            status, message = "interrupted", "keyboard interrupt"
        loop_seconds = time.perf_counter() - loop_start
        if status == "finished" and not np.all(np.isfinite(rows[-1]["loss_population"])):
            status, message = "diverged", "non-finite population loss"
        done = int(rows[-1]["step"])
        summary: dict[str, Any] = {
            "steps": done,
            "t_end": float(rows[-1]["t_eff"]),
            "t_half_sim": t_half,
            "exact_population": True,
            "solver": "NDF (orders 1-5), structured Newton",
            "rtol": FLOW_RTOL,
            "atol": FLOW_ATOL,
            "solver_steps": n_steps,
            "nfev": solver.nfev,
            "njev": solver.njev,
            "nlu": solver.nfactor,
            "compute_dtype": "float64",
            "steps_per_second": done / loop_seconds if loop_seconds > 0 else None,
        }
        timings = {"compile_seconds": compile_seconds, "loop_seconds": loop_seconds}
        return _make_run(cfg, self.seed, status, message, rows, summary, timings)

    def _half_times(self, dense: Any, t0: float, t1: float, t_half: list[float | None]) -> None:
        """Root-find term_loss_j(t) = term_loss_j(0) / 2 on the last step's dense output."""
        from scipy.optimize import brentq

        todo = [j for j, v in enumerate(t_half) if v is None]
        if not todo or t1 <= t0:
            return
        end = np.asarray(self.term_loss(dense(t1)))
        for j in todo:
            if end[j] > self.p.half[j]:
                continue

            def f(t: float, j: int = j) -> float:
                return float(np.asarray(self.term_loss(dense(t)))[j] - self.p.half[j])

            if f(t0) <= 0:
                t_half[j] = float(t0)
            else:
                t_half[j] = float(brentq(f, t0, t1, xtol=1e-12 * max(t1, 1.0), rtol=1e-12))


# ------------------------------------------------------------------------------------------------
# full-batch gradient descent
# ------------------------------------------------------------------------------------------------
@partial(jax.jit, static_argnames=("alphas",))
def _gd_advance(
    state: tuple[Any, ...],
    end: Any,
    lrs: Any,
    half: Any,
    W_froz: Any,
    gamma: Any,
    coefs: Any,
    alphas: Any,
) -> tuple[Any, ...]:
    """Full-batch GD steps until step ``end`` (or a non-finite state); tracks half times."""
    al = np.asarray(alphas)

    def cond(s: tuple[Any, ...]) -> Any:
        return (s[0] < end) & jnp.isfinite(s[3])

    def body(s: tuple[Any, ...]) -> tuple[Any, ...]:
        n, W1, W2, _, t_half = s
        _, g1, g2 = population_gradient(W1, W2, W_froz, gamma, al, coefs)
        W1 = W1 - lrs[0] * g1  # spec 3 with the exact population gradient
        W2 = W2 - lrs[1] * g2
        n = n + 1
        ov = pop.term_overlaps(W_froz @ W1, al, gamma) @ W2
        tl = 0.5 * (coefs - ov) ** 2
        t_half = jnp.where((tl <= half) & (t_half < 0), n, t_half)
        return n, W1, W2, jnp.sum(tl) + jnp.sum(W1), t_half  # finite check of the new state

    return lax.while_loop(cond, body, state)


class _GradientDescent:
    def __init__(self, config: Config, seed: int) -> None:
        self.config = config
        self.seed = seed
        self.dt = jnp.float64 if config.dtype == "float64" else jnp.float32
        self.p = _Problem(config, seed, self.dt)
        self.half = jnp.asarray(self.p.half, self.dt)

    def run(
        self,
        on_chunk: Callable[[Mapping[str, np.ndarray]], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> Run:
        cfg = self.config
        t_start = time.perf_counter()
        m = len(cfg.terms)
        W1 = jnp.eye(cfg.d, dtype=self.dt)
        W2 = jnp.zeros((cfg.k,), self.dt)
        tl0 = np.asarray(self.p.term_loss(W1, W2))
        t_half0 = jnp.asarray(np.where(tl0 <= self.p.half, 0, -1), jnp.int32)
        state = (jnp.asarray(0, jnp.int32), W1, W2, jnp.asarray(0.0, self.dt), t_half0)
        p = self.p
        lrs = jnp.asarray([cfg.lr, cfg.lr / cfg.k], self.dt)

        def advance(state: tuple[Any, ...], end: Any) -> tuple[Any, ...]:
            return _gd_advance(state, end, lrs, self.half, *p.consts, alphas=p.key)

        advance(state, jnp.asarray(0, jnp.int32))  # compile (cached per shape)
        rows = [self.p.row(0, W1, W2)]
        compile_seconds = time.perf_counter() - t_start
        _emit(rows, on_chunk)
        schedule = record_steps(cfg.steps, cfg.records)
        sub = max(1, int(GD_SUBCHUNK_WORK // (cfg.k * cfg.k * cfg.d)))
        status, message = "finished", None
        summary: dict[str, Any] = {}
        loop_start = time.perf_counter()
        n = 0
        try:
            for target in schedule[1:]:
                while n < target:
                    state = advance(state, jnp.asarray(min(int(target), n + sub), jnp.int32))
                    n = int(state[0])
                    if not np.isfinite(float(state[3])):
                        status, message = "diverged", f"parameters became non-finite at step {n}"
                        summary["diverged_at_step"] = n
                        break
                    if should_stop is not None and should_stop():
                        status, message = "interrupted", f"stopped at step {n}"
                        break
                if status != "finished":
                    break
                row = self.p.row(n, state[1], state[2])
                if not np.isfinite(row["loss_population"]):
                    status, message = "diverged", f"non-finite population loss at step {n}"
                    summary["diverged_at_step"] = n
                    break
                rows.append(row)
                _emit([row], on_chunk)
        except KeyboardInterrupt:
            status, message = "interrupted", "keyboard interrupt"
        loop_seconds = time.perf_counter() - loop_start
        done = int(rows[-1]["step"]) if status != "interrupted" else n
        halves = np.asarray(state[4])
        summary.update(
            {
                "steps": done,
                "t_half_sim": [float(cfg.lr * int(s)) if s >= 0 else None for s in halves[:m]],
                "exact_population": True,
                "compute_dtype": cfg.dtype,
                "steps_per_second": done / loop_seconds if loop_seconds > 0 else None,
            }
        )
        timings = {"compile_seconds": compile_seconds, "loop_seconds": loop_seconds}
        if not math.isfinite(float(rows[-1]["loss_population"])):
            status = "diverged"
        return _make_run(cfg, self.seed, status, message, rows, summary, timings)

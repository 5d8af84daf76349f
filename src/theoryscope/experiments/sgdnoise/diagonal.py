"""SGD vs GD on a diagonal linear network: SGD acts as a smaller initialisation scale.

The model, data, min-L1 / min-L2 solutions and the Q_alpha limit of gradient flow are the
``implicit`` experiment's (:mod:`theoryscope.experiments.implicit.diagonal`, imported, not
copied): beta = u*u - v*v, u(0) = v(0) = alpha 1, L = 1/(2m) |X beta - y|^2, and gradient flow
ends at argmin Q_alpha s.t. X beta = y, i.e. beta = 2 alpha^2 sinh(X^T nu) (Woodworth et al.).

One SGD step with the minibatch gradient g = grad_beta L_B is exactly multiplicative,

    u <- u (1 - 2 eta g),   v <- v (1 + 2 eta g),

so u v <- u v (1 - 4 eta^2 g^2) and beta = 2 (u v) sinh(log(u/v)): after T steps the iterate is
beta_T = 2 alpha_T^2 sinh(s_T) with the per-coordinate *effective scale*

    alpha_T,i^2 = u_T,i v_T,i = alpha^2 prod_t (1 - 4 eta^2 g_t,i^2)      (exact; < alpha^2)

and s_T = sum_t log((1 - 2 eta g)/(1 + 2 eta g)) = -4 eta sum_t g_t + O(eta^3), in span(X^T) up
to O(eta^3): the end point is (nearly) the Q interpolator at the smaller scale alpha_T. Taking
expectations over the batch, log(alpha_T,i / alpha) = -2 eta^2 sum_t [(grad L)_i^2 + Var g_i]
+ O(eta^4), and the noise part is Var g_i = kappa sum_k x_ki^2 r_k^2 (kappa = (1-p)/(|B| m)).

Pesme, Pillaud-Vivien & Flammarion (NeurIPS 2021, Theorem 1) prove for the stochastic gradient
flow (their SGD model, with the noise's residuals r_k^2 replaced by 2 L) that the limit
minimises Q at alpha_inf = alpha exp(-c gamma diag(X^T X / n) int_0^inf L(beta_s) ds). The same
replacement in this lab's convention (beta = u^2 - v^2, L = 1/(2m)|X beta - y|^2, Bernoulli
batches of expected size |B|, time t = eta x step) gives

    alpha_inf,i = alpha exp(-4 eta ((1 - p)/|B|) diag(X^T X / m)_i int_0^inf L(beta_t) dt),

which -> alpha as eta -> 0 (at fixed int L dt) and as |B| -> m (p -> 1, full batch), the limits
the paper states (GD recovers Q_alpha). ``alpha_eff`` is measured by fitting: the scalar alpha
whose Q_alpha interpolator is closest to the SGD end point.
"""

from __future__ import annotations

import math
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import minimize_scalar

from theoryscope.experiments.implicit import diagonal as idiag
from theoryscope.experiments.sgdnoise.config import Config
from theoryscope.experiments.sgdnoise.stream import Stream, finish
from theoryscope.protocol import ChunkCallback, Run, StopPredicate

KEYS = ("step", "loss_sgd", "loss_gd", "integral_sgd", "integral_gd", "alpha_sgd", "alpha_gd",
        "to_l1_sgd", "to_l1_gd", "l1_sgd", "l1_gd")  # fmt: skip
#: Fit range of alpha_eff around the init scale: [alpha 1e-6, alpha 10] (log-uniform grid, then
#: a bounded refinement around the best grid point).
FIT_DECADES_BELOW, FIT_DECADES_ABOVE, FIT_GRID = 6.0, 1.0, 29


def data(config: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, beta*) from the implicit experiment's generator (fixed by ``data_seed``)."""
    return idiag.make_data(int(config.d or 1), int(config.m or 1), int(config.sparsity),
                           int(config.data_seed))  # fmt: skip


# -- predictions -----------------------------------------------------------------------------------
def pesme_alpha(
    alpha: float, eta: float, p: float, batch: float, diag_xtx: np.ndarray, loss_integral: Any
) -> np.ndarray:
    """alpha_inf,i = alpha exp(-4 eta ((1-p)/|B|) diag(X^T X/m)_i int L dt) (module doc; Pesme
    et al. 2021, Thm 1, in this lab's convention). ``loss_integral`` may carry leading axes."""
    li = np.asarray(loss_integral, dtype=np.float64)[..., None]
    return alpha * np.exp(-4.0 * eta * (1.0 - p) / batch * np.asarray(diag_xtx) * li)


def second_order_alpha(alpha: float, noise_gain: np.ndarray) -> np.ndarray:
    """alpha exp(-2 G_i), G_i = eta^2 kappa sum_t sum_k x_ki^2 r_k(beta_t)^2: the expected
    noise part of log(alpha_T/alpha) to order eta^2, with the run's own residuals."""
    return alpha * np.exp(-2.0 * np.asarray(noise_gain, dtype=np.float64))


def q_limit_vector(x: np.ndarray, y: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """argmin sum_i alpha_i^2 q(beta_i / alpha_i^2) s.t. X beta = y for a per-coordinate scale:
    beta = 2 alpha_i^2 sinh((X^T nu)_i), nu from the implicit experiment's damped Newton on the
    dual, continued from min(alpha) = 0.01 down by sqrt(10) (as its scalar solver does)."""
    alphas = np.asarray(alphas, dtype=np.float64)
    scale = max(float(np.linalg.norm(y)), 1e-300)
    path = [1.0]
    while float(alphas.min()) * path[-1] < 1e-2:
        path.append(path[-1] * math.sqrt(10.0))
    nu = np.zeros(x.shape[0])
    with np.errstate(over="ignore", invalid="ignore"):
        for factor in reversed(path):
            a2 = 2.0 * (alphas * factor) ** 2
            # the implicit solver is elementwise in a2 (NumPy broadcasting); typed as a float
            nu = idiag._newton(x, y, a2, nu, 1e-11 * scale, 200)  # type: ignore[arg-type]
    beta = 2.0 * alphas**2 * np.sinh(x.T @ nu)
    if not float(np.linalg.norm(x @ beta - y)) <= 1e-6 * scale:
        raise RuntimeError("vector Q_alpha dual Newton did not converge")
    return np.asarray(beta)


def fit_alpha(x: np.ndarray, y: np.ndarray, beta: np.ndarray, alpha0: float) -> dict[str, float]:
    """The scalar alpha whose Q_alpha interpolator is closest (relative L2) to ``beta``: a
    log-uniform grid over [alpha0 1e-6, alpha0 10], then a bounded refinement."""
    beta = np.asarray(beta, dtype=np.float64)
    cache: dict[float, float] = {}

    def dist(log_a: float) -> float:
        if log_a not in cache:
            try:
                limit = idiag.q_alpha_limit(x, y, math.exp(log_a))
                cache[log_a] = idiag.rel_dist(beta, limit)
            except RuntimeError:
                cache[log_a] = math.inf
        return cache[log_a]

    lo = math.log(alpha0) - FIT_DECADES_BELOW * math.log(10.0)
    hi = math.log(alpha0) + FIT_DECADES_ABOVE * math.log(10.0)
    grid = np.linspace(lo, hi, FIT_GRID)
    values = [dist(float(t)) for t in grid]
    best = int(np.argmin(values))
    a, b = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    res = minimize_scalar(dist, bounds=(a, b), method="bounded", options={"xatol": 1e-4})
    t = float(res.x) if res.fun <= values[best] else float(grid[best])
    return {"alpha": math.exp(t), "distance": dist(t), "at_edge": bool(best in (0, len(grid) - 1))}


def flow_loss_integral(x: np.ndarray, y: np.ndarray, alpha: float, t_end: float) -> dict[str, Any]:
    """Gradient flow from u = v = alpha (the eta -> 0 limit of GD, Pesme et al.'s reference):
    int_0^t_end L dt with d log u/dt = -2 g, d log v/dt = 2 g, g = X^T r / m (LSODA, float64),
    its end point (the Q_alpha limit once converged) and its scale sqrt(u v) (= alpha exactly)."""
    from scipy.integrate import solve_ivp

    m, d = x.shape

    def rhs(_: float, state: np.ndarray) -> np.ndarray:
        lu, lv = state[:d], state[d : 2 * d]
        r = x @ (np.exp(2 * lu) - np.exp(2 * lv)) - y
        g = (r @ x) / m
        return np.concatenate([-2.0 * g, 2.0 * g, [0.5 * float(r @ r) / m]])

    start = np.concatenate([np.full(2 * d, math.log(alpha)), [0.0]])
    sol = solve_ivp(rhs, (0.0, float(t_end)), start, method="LSODA", rtol=1e-9, atol=1e-12)
    lu, lv = sol.y[:d, -1], sol.y[d : 2 * d, -1]
    return {"integral": float(sol.y[-1, -1]), "beta": np.exp(2 * lu) - np.exp(2 * lv),
            "alpha": np.exp(0.5 * (lu + lv)), "success": bool(sol.success)}  # fmt: skip


# -- the simulation ----------------------------------------------------------------------------------
def make_runner(x: np.ndarray, y: np.ndarray, block_len: int, n_blocks: int, dtype: Any) -> Any:
    """A jitted ``run(state, eta, p)`` doing ``n_blocks`` blocks of SGD (C chains) and GD side by
    side from the carried state (u_sgd, v_sgd (C, d), keys (C, 2), u_gd, v_gd (d,), gains (C, d)).
    Per block it returns the block sums of L (SGD per chain, GD) and the end-of-block betas."""
    xs, ys = jnp.asarray(x, dtype=dtype), jnp.asarray(y, dtype=dtype)
    m = x.shape[0]
    x2 = xs * xs

    def run(state: Any, eta: jax.Array, p: jax.Array) -> Any:
        kappa = (1.0 - p) / (p * m * m)

        def step(carry: Any, _: Any) -> Any:
            us, vs, keys, ug, vg, gains = carry

            def sgd(u: jax.Array, v: jax.Array, key: jax.Array) -> Any:
                key, sub = jax.random.split(key)
                mask = jax.random.bernoulli(sub, p, (m,)).astype(dtype)
                r = xs @ (u * u - v * v) - ys
                g = xs.T @ (mask * r) / (p * m)  # (1/|B|) sum_{k in B} x_k r_k (lecture 11/16)
                noise = eta * eta * kappa * (x2.T @ (r * r))  # eta^2 Var(g_i | beta)
                return (
                    u * (1 - 2 * eta * g),
                    v * (1 + 2 * eta * g),
                    key,
                    0.5 * jnp.mean(r * r),
                    noise,
                )

            us, vs, keys, loss_s, noise = jax.vmap(sgd)(us, vs, keys)
            r = xs @ (ug * ug - vg * vg) - ys
            g = xs.T @ r / m
            loss_g = 0.5 * jnp.mean(r * r)
            ug, vg = ug * (1 - 2 * eta * g), vg * (1 + 2 * eta * g)
            return (us, vs, keys, ug, vg, gains + noise), (loss_s, loss_g)

        def block(carry: Any, _: Any) -> Any:
            carry, (ls, lg) = jax.lax.scan(step, carry, None, length=block_len)
            us, vs, _, ug, vg, _ = carry
            return carry, (ls.sum(0), lg.sum(), us * us - vs * vs, ug * ug - vg * vg,
                           jnp.sqrt(jnp.abs(us * vs)), jnp.sqrt(jnp.abs(ug * vg)))  # fmt: skip

        return jax.lax.scan(block, state, None, length=n_blocks)

    return jax.jit(run)


def _geo(a: np.ndarray) -> np.ndarray:
    """Geometric mean over the last axis."""
    return np.exp(np.mean(np.log(np.maximum(np.asarray(a, dtype=np.float64), 1e-300)), axis=-1))


def simulate_diagonal(
    config: Config,
    seed: int,
    *,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
) -> Run:
    """SGD (``chains`` chains, Bernoulli batches) and GD from the same init u = v = alpha 1.

    Series per block: block-mean losses ``loss_sgd`` (chain mean) and ``loss_gd``; ``integral_*``
    = int_0^t L dt = eta sum L so far; ``alpha_*`` the geometric mean over coordinates of the
    exact scale sqrt(u v) at the block end; ``to_l1_*`` ||beta - beta_L1|| / ||beta_L1||;
    ``l1_*`` = ||beta||_1. Summary: the end points and per-coordinate scales of every chain and of
    GD, the loss integrals and the second-order noise gains.
    """
    from theoryscope.experiments.sgdnoise.chains import chunk_blocks, dtype_of

    started = time.perf_counter()
    x, y, _ = data(config)
    beta_l1 = idiag.min_l1(x, y)
    eta, p = float(config.lr or 0.0), config.p
    chains, records = int(config.chains or 1), int(config.records)
    block_len = int(config.steps or 0) // records
    k = chunk_blocks(records)
    d = x.shape[1]
    loss0 = 0.5 * float(np.mean(y * y))  # beta(0) = 0
    stream = Stream(on_chunk, cap=1e10 * max(1.0, loss0))
    total_s = np.zeros(chains)
    total_g = 0.0
    last: dict[str, Any] = {}
    with jax.enable_x64(config.dtype == "float64"):
        dt = dtype_of(config)
        run = make_runner(x, y, block_len, k, dt)
        u0 = jnp.full((chains, d), float(config.alpha), dtype=dt)
        state = (u0, u0, jax.random.split(jax.random.PRNGKey(int(seed)), chains),
                 u0[0], u0[0], jnp.zeros((chains, d), dtype=dt))  # fmt: skip
        eta_j, p_j = jnp.asarray(eta, dtype=dt), jnp.asarray(p, dtype=dt)
        done = 0
        for _ in range(records // k):
            if should_stop is not None and should_stop():
                stream.stopped = True
                break
            new_state, out = run(state, eta_j, p_j)
            ls, lg, bs, bg, a_s, a_g = (np.asarray(o, dtype=np.float64) for o in out)
            integral_s = eta * (total_s + np.cumsum(ls, axis=0))  # (k, C)
            integral_g = eta * (total_g + np.cumsum(lg))
            loss_s = ls.mean(axis=1) / block_len
            bad = stream.bad_index(np.stack([loss_s, lg / block_len, bs.reshape(k, -1).max(1)], 1))
            keep = k if bad is None else bad
            step = block_len * (done + np.arange(1, keep + 1, dtype=np.float64))
            chunk = {
                "step": step,
                "loss_sgd": loss_s[:keep],
                "loss_gd": lg[:keep] / block_len,
                "integral_sgd": integral_s[:keep].mean(axis=1),
                "integral_gd": integral_g[:keep],
                "alpha_sgd": _geo(a_s[:keep]).mean(axis=1),
                "alpha_gd": _geo(a_g[:keep]),
                "to_l1_sgd": np.array(
                    [np.mean([idiag.rel_dist(b, beta_l1) for b in row]) for row in bs[:keep]]
                ),  # fmt: skip
                "to_l1_gd": np.array([idiag.rel_dist(b, beta_l1) for b in bg[:keep]]),
                "l1_sgd": np.abs(bs[:keep]).sum(axis=2).mean(axis=1),
                "l1_gd": np.abs(bg[:keep]).sum(axis=1),
            }
            stream.add(chunk)
            if bad is not None:
                stream.diverged_at = float(block_len * (done + bad + 1))
                break
            state = new_state
            total_s, total_g = total_s + ls.sum(axis=0), total_g + float(lg.sum())
            done += k
            last = {
                "beta_sgd": bs[-1],
                "beta_gd": bg[-1],
                "alpha_sgd": a_s[-1],
                "alpha_gd": a_g[-1],
            }
        gains = np.asarray(state[5], dtype=np.float64)
    series = stream.series(KEYS, {})
    summary: dict[str, Any] = {"mode": "diagonal", "eta": eta, "p": p, "batch": int(config.batch or 1),
                               "block": block_len, "chains": chains}  # fmt: skip
    if last:
        summary.update({
            "beta_sgd": last["beta_sgd"].tolist(),
            "beta_gd": last["beta_gd"].tolist(),
            "alpha_gain_sgd": last["alpha_sgd"].tolist(),
            "alpha_gain_gd": last["alpha_gd"].tolist(),
            "integral_sgd": (eta * total_s).tolist(),
            "integral_gd": eta * total_g,
            "noise_gain": gains.tolist(),
            "final_loss_sgd": float(series["loss_sgd"][-1]),
            "final_loss_gd": float(series["loss_gd"][-1]),
        })  # fmt: skip
    return finish(config, seed, stream, series, summary, started)

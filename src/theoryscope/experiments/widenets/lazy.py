"""Lazy training of a wide two-layer ReLU network (spec 6 and 7; seed 001; Du et al. 2019).

    f(x) = m^(-1/2) sum_r a_r relu(w_r . x),  w_r(0) ~ N(0, kappa^2 I),  a_r = +-1 fixed,
    L(W) = (1/2) sum_i (f(x_i) - y_i)^2,  W(k+1) = W(k) - eta dL/dW,
    dL/dw_r = m^(-1/2) a_r sum_i (f(x_i) - y_i) 1{w_r . x_i >= 0} x_i.

Function-space view (spec 6): u(k+1) - y ~= (I - eta H(k)) (u(k) - y) with the Gram matrix
H(k)_ij = (x_i . x_j) / m sum_r 1{w_r . x_i >= 0, w_r . x_j >= 0}, whose infinite-width limit
for unit-norm inputs is

    H^inf_ij = x_i . x_j (pi - arccos(x_i . x_j)) / (2 pi)                     (Du et al. 2019)

with smallest eigenvalue lambda_0 > 0. Predictions laid over the run:

* eigen-decomposition of H(0) = sum_i lambda_i v_i v_i^T: |u(k) - y| ~= sqrt(sum_i
  (1 - eta lambda_i)^(2k) (v_i . (u(0) - y))^2) (seed 001 writes v_i . y, i.e. u(0) ~= 0);
* the bound |y - u(k)|^2 <= (1 - eta lambda_0 / 2)^k |y - u(0)|^2 (Du et al., Theorem 4.1);
* weights move by O(m^(-1/2)) and |H(k) - H(0)| = O(m^(-1/2)) over the whole run;
* the linearized model on test points, discrete-step form of spec 6's flow formula:
  f_k(X*) = f_0(X*) + Theta(X*, X) Theta^(-1) (I - (I - eta Theta)^k) (y - f_0(X)), Theta = H(0);
* GD on the linearized model converges iff eta < 2 / lambda_max (spec 7).

Lazy versus rich (Chizat, Oyallon and Bach 2019): with ``alpha > 0`` the model is
alpha (f(x; W) - f(x; W(0))) and the loss is divided by alpha^2, so the function-space
dynamics start identical for every alpha while the weights move by O(1/alpha).

The theory object of the protocol (``predict``) depends on the config only: H^inf, its
eigenvalues, the expected residual curve E|u(k) - y|^2 = sum_i (1 - eta lambda_i)^(2k)
((v_i . y)^2 + kappa^2 v_i^T K v_i) with K the arc-cosine covariance of f(0), the relative bound
and the infinite-width kernel-regression prediction on the test points. ``compare`` adds the
per-run predictions that need the run's own H(0) and u(0).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.core.validation import as_float, as_int
from theoryscope.errors import ConfigError
from theoryscope.experiments.widenets.config import LazyConfig
from theoryscope.protocol import Run

EXPERIMENT = "widenets"
#: A run whose residual exceeds this multiple of its initial value is stopped as diverged.
DIVERGED_FACTOR = 1e6


# -- data and closed forms -----------------------------------------------------------------------
def make_data(cfg: LazyConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training inputs X (n, d) and test inputs (n_test, d) on the unit sphere; labels y (n,)."""
    rng = np.random.default_rng([cfg.data_seed, 6])
    x = rng.standard_normal((cfg.n + cfg.n_test, cfg.d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    if cfg.labels == "sign":
        y = rng.choice([-1.0, 1.0], size=cfg.n)
    else:
        y = rng.standard_normal(cfg.n)
    return x[: cfg.n], y, x[cfg.n :]


def h_infinity(x1: np.ndarray, x2: np.ndarray | None = None) -> np.ndarray:
    """H^inf_ij = x_i . x_j (pi - arccos(x_i . x_j)) / (2 pi) for unit-norm rows (spec 6)."""
    x2 = x1 if x2 is None else x2
    g = np.clip(x1 @ x2.T, -1.0, 1.0)
    return g * (np.pi - np.arccos(g)) / (2.0 * np.pi)


def output_covariance(x: np.ndarray, kappa: float) -> np.ndarray:
    """E[f_0(x) f_0(x')] = kappa^2 E[relu(w.x) relu(w.x')], w ~ N(0, I) (arc-cosine, spec 2)."""
    g = np.clip(x @ x.T, -1.0, 1.0)
    th = np.arccos(g)
    return kappa**2 * (np.sqrt(1.0 - g**2) + (np.pi - th) * g) / (2.0 * np.pi)


# -- the network -------------------------------------------------------------------------------
def init_network(key: jax.Array, cfg: LazyConfig) -> tuple[jax.Array, jax.Array]:
    """W(0) ~ N(0, kappa^2 I) of shape (m, d) and a ~ uniform{-1, +1} (spec 6)."""
    dtype = jnp.float64 if cfg.dtype == "float64" else jnp.float32
    return _init(key, jnp.asarray(cfg.kappa, dtype), cfg.width, cfg.d)


@partial(jax.jit, static_argnames=("width", "d"))
def _init(key, kappa, width, d):
    # one normal draw (a single threefry kernel compiles fast); a_r = sign of the last m normals
    flat = jax.random.normal(key, (width * (d + 1),), kappa.dtype)
    w = kappa * flat[: width * d].reshape(width, d)
    a = jnp.where(flat[width * d :] >= 0, 1.0, -1.0).astype(kappa.dtype)
    return w, a


@jax.jit
def _start(w0, a, x, xt):
    return net_output(w0, a, x), net_output(w0, a, xt), gram(w0, x), gram(w0, xt, x)


def net_output(w: jax.Array, a: jax.Array, x: jax.Array) -> jax.Array:
    """f(x) = m^(-1/2) sum_r a_r relu(w_r . x) for each row of x."""
    return jax.nn.relu(x @ w.T) @ a / jnp.sqrt(w.shape[0])


def gram(w: jax.Array, x1: jax.Array, x2: jax.Array | None = None) -> jax.Array:
    """H_ij = (x_i . x_j) / m sum_r 1{w_r . x_i >= 0} 1{w_r . x_j >= 0} (the empirical NTK)."""
    x2 = x1 if x2 is None else x2
    m1 = (x1 @ w.T >= 0).astype(w.dtype)
    m2 = (x2 @ w.T >= 0).astype(w.dtype)
    return (x1 @ x2.T) * (m1 @ m2.T) / w.shape[0]


@partial(jax.jit, static_argnames=("length", "centered"))
def _gd_chunk(w, w0, a, x, y, f0, h0, lr, alpha, active, length, centered):
    """``length`` records (residual, kernel drift, max weight move), each taken before a GD step.

    Only the first ``active`` steps update W (a traced count), so every chunk of a run, the last
    one included, shares one compilation.
    """
    sqrt_m = jnp.sqrt(w.shape[0])

    def step(w, i):
        pre = x @ w.T  # (n, m)
        mask = (pre >= 0).astype(w.dtype)
        f = jax.nn.relu(pre) @ a / sqrt_m
        u = alpha * (f - f0) if centered else f
        e = (u - y) / alpha if centered else u - y
        h = (x @ x.T) * (mask @ mask.T) / w.shape[0]
        rec = (
            jnp.linalg.norm(u - y),
            jnp.linalg.norm(h - h0),
            jnp.max(jnp.linalg.norm(w - w0, axis=1)),
        )
        grad = (a / sqrt_m)[:, None] * ((mask * e[:, None]).T @ x)
        return w - jnp.where(i < active, lr, 0.0) * grad, rec

    return jax.lax.scan(step, w, jnp.arange(length))


def train(
    cfg: LazyConfig,
    seed: int,
    *,
    on_chunk: Callable[[Mapping[str, np.ndarray]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """GD on the finite network; returns the recorded series and the end-of-run quantities."""
    seed = as_int("seed", seed, low=0)
    x_np, y_np, xt_np = make_data(cfg)
    started = time.perf_counter()
    with jax.enable_x64(cfg.dtype == "float64"):
        dtype = jnp.float64 if cfg.dtype == "float64" else jnp.float32
        x, y, xt = (jnp.asarray(v, dtype) for v in (x_np, y_np, xt_np))
        w0, a = init_network(jax.random.PRNGKey(seed), cfg)
        f0, f0_test, h0, theta_test = _start(w0, a, x, xt)
        centered = cfg.alpha > 0
        alpha = jnp.asarray(cfg.alpha if centered else 1.0, dtype)
        lr = jnp.asarray(cfg.lr, dtype)
        w = w0
        names = ("step", "residual", "kernel_drift", "weight_move")
        series: dict[str, list[np.ndarray]] = {k: [] for k in names}
        status, message, done = "finished", None, 0
        total = cfg.steps + 1  # records k = 0..steps, each taken before step k + 1
        length = min(cfg.chunk, total)
        r_init = None
        while done < total:
            n = min(length, total - done)
            # n records, each followed by a GD step, except the last record of the run: W ends at
            # W(steps), the state the final record and the linearized prediction describe
            active = n - 1 if done + n == total else n
            w, rec = _gd_chunk(
                w, w0, a, x, y, f0, h0, lr, alpha, jnp.asarray(active), length, centered
            )
            chunk: dict[str, np.ndarray] = {"step": np.arange(done, done + n, dtype=np.int64)}
            for name, r in zip(names[1:], rec, strict=True):
                chunk[name] = np.asarray(r, np.float64)[:n]
            done += n
            if r_init is None:
                r_init = float(chunk["residual"][0])
            res = chunk["residual"]
            bad = ~np.isfinite(res) | (res > DIVERGED_FACTOR * max(r_init, 1e-30))
            if bad.any():
                cut = int(np.argmax(bad)) + 1
                chunk = {k: v[:cut] for k, v in chunk.items()}
                status, message = "diverged", f"residual exceeded {DIVERGED_FACTOR:g} x its start"
            for k, v in chunk.items():
                series[k].append(v)
            if on_chunk is not None:
                on_chunk(chunk)
            if status != "finished":
                break
            if should_stop is not None and done < total and should_stop():
                status, message = "interrupted", f"stopped after {done} records"
                break
        f_train, f_test, _, _ = _start(w, a, x, xt)
        if centered:
            f_test = alpha * (f_test - f0_test)
            f_train = alpha * (f_train - f0)
        out = {k: np.concatenate(v) for k, v in series.items()}
        rel_move = float(jnp.linalg.norm(w - w0) / jnp.linalg.norm(w0))
        result = {
            "series": out,
            "status": status,
            "message": message,
            "y": y_np,
            "u0": np.asarray(alpha * 0.0 if centered else f0, np.float64) * np.ones(cfg.n),
            "f0_test": np.zeros(cfg.n_test) if centered else np.asarray(f0_test, np.float64),
            "f_test": np.asarray(f_test, np.float64),
            "f_train": np.asarray(f_train, np.float64),
            "h0": np.asarray(h0, np.float64),
            "theta_test": np.asarray(theta_test, np.float64),
            "rel_weight_move": rel_move,
            "seconds": time.perf_counter() - started,
        }
    return result


# -- the protocol: config -> simulate / predict / compare ---------------------------------------
@dataclass(frozen=True)
class LazyTheory:
    """What spec 6 predicts from the config alone (arrays over k = 0..steps where curves)."""

    h_inf: np.ndarray
    eigvals: np.ndarray
    lambda_0: float
    lambda_max: float
    lr_limit: float
    steps: np.ndarray
    bound_ratio: np.ndarray
    expected_residual: np.ndarray
    kernel_prediction_test: np.ndarray
    test_operator: np.ndarray
    in_theorem_regime: bool
    lr: float


def predict(cfg: LazyConfig) -> LazyTheory:
    """H^inf, lambda_0, the relative bound and the expected residual curve (spec 6, 7)."""
    x, y, xt = make_data(cfg)
    h = h_infinity(x)
    lam, vec = np.linalg.eigh(h)
    k = np.arange(cfg.steps + 1)
    cov0 = 0.0 if cfg.alpha > 0 else output_covariance(x, cfg.kappa)  # centered model: u(0) = 0
    proj = (vec.T @ y) ** 2 + np.einsum("ij,ik,kj->j", vec, cov0 + 0.0 * h, vec)
    factor = np.abs(1.0 - cfg.lr * lam)
    with np.errstate(over="ignore", invalid="ignore"):
        expected = np.sqrt(np.sum(factor[None, :] ** (2 * k[:, None]) * proj[None, :], axis=1))
        base = max(1.0 - cfg.lr * lam[0] / 2.0, 0.0)
        bound_ratio = base ** (k / 2.0)
    mult = vec @ np.diag(1.0 - (1.0 - cfg.lr * lam) ** cfg.steps) @ vec.T
    op = h_infinity(xt, x) @ np.linalg.solve(h, mult)  # kernel regression after `steps` GD steps
    return LazyTheory(
        h_inf=h,
        eigvals=lam,
        lambda_0=float(lam[0]),
        lambda_max=float(lam[-1]),
        lr_limit=float(2.0 / lam[-1]),
        steps=k,
        bound_ratio=bound_ratio,
        expected_residual=expected,
        kernel_prediction_test=op @ y,
        test_operator=op,
        in_theorem_regime=bool(cfg.lr * lam[-1] <= 1.0),
        lr=float(cfg.lr),
    )


def residual_prediction(h: np.ndarray, r0: np.ndarray, lr: float, steps: np.ndarray) -> np.ndarray:
    """|(I - eta H)^k r0| from the eigen-decomposition of H (spec 6)."""
    lam, vec = np.linalg.eigh(h)
    c2 = (vec.T @ r0) ** 2
    with np.errstate(over="ignore", invalid="ignore"):
        f = np.abs(1.0 - lr * lam)[None, :] ** (2 * np.asarray(steps)[:, None])
        return np.sqrt(np.sum(f * c2[None, :], axis=1))


def linearized_test_prediction(
    h0: np.ndarray,
    theta_test: np.ndarray,
    f0_test: np.ndarray,
    r0: np.ndarray,
    lr: float,
    steps: int,
) -> np.ndarray:
    """f_0(X*) + Theta(X*, X) Theta^(-1) (I - (I - eta Theta)^k) (y - f_0(X)) (spec 6, discrete)."""
    lam, vec = np.linalg.eigh(h0)
    lam = np.maximum(lam, 1e-300)
    coef = (1.0 - (1.0 - lr * lam) ** steps) / lam
    return f0_test + theta_test @ (vec @ (coef * (vec.T @ (-r0))))


def simulate(cfg: LazyConfig, seed: int, *, on_chunk=None, should_stop=None) -> Run:
    """GD on the finite network (spec 6); series share the record axis ``step``."""
    res = train(cfg, seed, on_chunk=on_chunk, should_stop=should_stop)
    s = res["series"]
    r0 = res["u0"] - res["y"]
    summary = {
        "final_residual": float(s["residual"][-1]),
        "initial_residual": float(s["residual"][0]),
        "max_weight_move": float(np.max(s["weight_move"])),
        "final_kernel_drift": float(s["kernel_drift"][-1]),
        "max_kernel_drift": float(np.max(s["kernel_drift"])),
        "rel_weight_move": res["rel_weight_move"],
        "lambda_min_h0": float(np.linalg.eigvalsh(res["h0"])[0]),
        "lambda_max_h0": float(np.linalg.eigvalsh(res["h0"])[-1]),
        "r0": r0.tolist(),
        "h0": res["h0"].tolist(),
        "f0_test": res["f0_test"].tolist(),
        "f_test": res["f_test"].tolist(),
        "theta_test": res["theta_test"].tolist(),
        "steps_done": int(s["step"][-1]),
        # GD steps taken (record k is the state after k steps) and their speed
        "steps": int(s["step"][-1]),
        "steps_per_second": float(s["step"][-1]) / max(res["seconds"], 1e-12),
        # the run's curves, as the CLI's JSON gives them (the series hold the same numbers)
        "residual": np.asarray(s["residual"], np.float64).tolist(),
        "weight_movement": np.asarray(s["weight_move"], np.float64).tolist(),
        "kernel_drift": np.asarray(s["kernel_drift"], np.float64).tolist(),
    }
    return Run(
        experiment=EXPERIMENT,
        config=cfg.to_dict(),
        seed=int(seed),
        status=res["status"],
        series=s,
        summary=summary,
        message=res["message"],
        timings={"simulate_seconds": res["seconds"]},
    )


def compare(run: Run, theory: LazyTheory) -> dict[str, Any]:
    """Agreement numbers between the run and spec 6's predictions."""
    cfg = LazyConfig.from_dict(run.config)
    s, sm = run.series, run.summary
    steps = np.asarray(s["step"])
    res = np.asarray(s["residual"])
    h0 = np.asarray(sm["h0"])
    r0 = np.asarray(sm["r0"])
    pred = residual_prediction(h0, r0, cfg.lr, steps)
    pred_inf = residual_prediction(theory.h_inf, r0, cfg.lr, steps)
    bound = theory.bound_ratio[steps] * res[0]

    # relative deviation over the first decade of decay, and over three decades (later on, the
    # O(m^-1/2) kernel drift shifts the slowest rates a little and the error compounds with k)
    def max_rel(p: np.ndarray, floor: float) -> float | None:
        ok = p > floor * res[0]
        return float(np.max(np.abs(res[ok] - p[ok]) / p[ok])) if ok.any() else None

    # the first record where the H(0) prediction has fallen by a decade (spec 6's eigen-formula
    # is a small-step, frozen-kernel statement: it holds best early in the run)
    decade = np.flatnonzero(pred <= 0.1 * res[0])
    k_dec = int(decade[0]) if decade.size else None
    out: dict[str, Any] = {
        "predicted": pred.tolist(),
        "bound": bound.tolist(),
        "predicted_final": float(pred[-1]),
        "decade_step": None if k_dec is None else int(steps[k_dec]),
        "residual_at_decade": None if k_dec is None else float(res[k_dec]),
        "predicted_at_decade": None if k_dec is None else float(pred[k_dec]),
        "max_rel_dev_residual": max_rel(pred, 0.1),
        "max_rel_dev_residual_3_decades": max_rel(pred, 1e-3),
        "max_rel_dev_residual_hinf": max_rel(pred_inf, 0.1),
        "bound_holds": bool(np.all(res <= bound * (1 + 1e-6) + 1e-12)),
        "max_residual_over_bound": float(np.max(res / np.maximum(bound, 1e-300))),
        "lambda_0": theory.lambda_0,
        "lambda_max": theory.lambda_max,
        "lr_times_lambda_max": cfg.lr * theory.lambda_max,
        # H(0) is a width-m Monte Carlo estimate of H^inf: entries off by O(m^-1/2)
        "h0_vs_hinf_max_abs": float(np.max(np.abs(h0 - theory.h_inf))),
        "lambda_min_h0": float(np.linalg.eigvalsh(h0)[0]),
        "lambda_max_h0": float(np.linalg.eigvalsh(h0)[-1]),
    }
    if cfg.alpha == 0 and run.status == "finished":
        lin = linearized_test_prediction(
            h0, np.asarray(sm["theta_test"]), np.asarray(sm["f0_test"]), r0, cfg.lr, cfg.steps
        )
        f = np.asarray(sm["f_test"])
        moved = float(np.linalg.norm(f - np.asarray(sm["f0_test"])))
        out["test_max_abs_dev_linearized"] = float(np.max(np.abs(f - lin)))
        out["test_rel_dev_linearized"] = float(np.linalg.norm(f - lin) / max(moved, 1e-300))
        out["test_rel_dev_kernel_inf"] = float(
            np.linalg.norm(f - np.asarray(sm["f0_test"]) - theory.kernel_prediction_test)
            / max(moved, 1e-300)
        )
    return out


def theory_to_dict(theory: LazyTheory) -> dict[str, Any]:
    """JSON of the theory: H^inf and its spectrum, the bound and the expected residual curve."""
    lr = theory.lr
    return {
        "lambda_0": theory.lambda_0,
        "lambda_max": theory.lambda_max,
        "lr_limit": theory.lr_limit,
        # relaxation times of the fastest and the slowest mode of H^inf, in steps: 1/(eta lambda)
        "relaxation_steps": [
            float(1.0 / (lr * theory.lambda_max)),
            float(1.0 / (lr * theory.lambda_0)) if theory.lambda_0 > 0 else None,
        ],
        "step": theory.steps.tolist(),
        "eigvals": theory.eigvals.tolist(),
        "h_inf": theory.h_inf.tolist(),
        "bound_ratio": theory.bound_ratio.tolist(),
        "expected_residual": theory.expected_residual.tolist(),
        "kernel_prediction_test": theory.kernel_prediction_test.tolist(),
        "in_theorem_regime": theory.in_theorem_regime,
    }


def lazy_report(run: Run, theory: LazyTheory, agreement: Mapping[str, Any]) -> dict[str, Any]:
    """The CLI's JSON: lambda_0, residual, predicted, bound, weight movement, kernel drift."""
    cfg = LazyConfig.from_dict(run.config)
    s = run.series
    steps = np.asarray(s["step"])
    res = np.asarray(s["residual"])
    pred = residual_prediction(
        np.asarray(run.summary["h0"]), np.asarray(run.summary["r0"]), cfg.lr, steps
    )
    return {
        "lambda_0": theory.lambda_0,
        "lambda_max": theory.lambda_max,
        "lr": cfg.lr,
        "lr_limit": theory.lr_limit,
        "status": run.status,
        "steps": steps.tolist(),
        "residual": res.tolist(),
        "predicted": pred.tolist(),
        "bound": (theory.bound_ratio[steps] * res[0]).tolist(),
        "weight_movement": np.asarray(s["weight_move"]).tolist(),
        "kernel_drift": np.asarray(s["kernel_drift"]).tolist(),
        "max_weight_movement": run.summary["max_weight_move"],
        "final_kernel_drift": run.summary["final_kernel_drift"],
        "agreement": dict(agreement),
    }


# -- sub-studies ---------------------------------------------------------------------------------
def _slope(x: Sequence[float], y: Sequence[float]) -> float:
    xa, ya = np.asarray(x, float), np.asarray(y, float)
    ok = (xa > 0) & (ya > 0) & np.isfinite(ya)
    return (
        float(np.polyfit(np.log(xa[ok]), np.log(ya[ok]), 1)[0]) if ok.sum() >= 2 else float("nan")
    )


#: ``progress(fraction, message)`` of the sub-studies (the declared studies report through it).
Progress = Callable[[float, str], None]


def width_scaling(
    cfg: LazyConfig,
    widths: Sequence[int] = (250, 1000, 4000, 16000),
    seed: int = 0,
    seeds: int = 1,
    *,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Max weight movement and kernel drift against m (spec 6: both O(m^(-1/2))).

    ``should_stop`` is polled between training runs: the rows done so far are returned.
    """
    widths = [as_int("widths", w, low=1) for w in widths]
    if len(widths) < 2:
        raise ConfigError("widths", "needs at least 2 widths; allowed: a list like 1000,4000")
    seeds = as_int("seeds", seeds, low=1)
    rows = []
    total = len(widths) * seeds
    for i, w in enumerate(widths):
        moves, drifts = [], []
        for s in range(seeds):
            if should_stop is not None and should_stop():
                break
            if progress is not None:
                progress((i * seeds + s) / total, f"width {w}, seed {seed + s}")
            r = train(cfg.replace(width=w, alpha=0.0), seed + s)
            moves.append(float(np.max(r["series"]["weight_move"])))
            drifts.append(float(np.max(r["series"]["kernel_drift"])))
        if len(moves) < seeds:
            break
        rows.append(
            {
                "width": w,
                "max_weight_move": float(np.mean(moves)),
                "max_kernel_drift": float(np.mean(drifts)),
            }
        )
    done = [r["width"] for r in rows]
    return {
        "rows": rows,
        "slope_weight_move": _slope(done, [r["max_weight_move"] for r in rows]),
        "slope_kernel_drift": _slope(done, [r["max_kernel_drift"] for r in rows]),
    }


def lazy_rich(
    cfg: LazyConfig,
    alphas: Sequence[float] = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0),
    seed: int = 0,
    *,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Relative kernel drift and weight movement against the output scale alpha (spec 6)."""
    rows = []
    for i, al in enumerate(alphas):
        al = as_float("alphas", al, low=0.0, low_open=True)
        if should_stop is not None and should_stop():
            break
        if progress is not None:
            progress(i / len(alphas), f"alpha {al:g}")
        r = train(cfg.replace(alpha=al), seed)
        s = r["series"]
        rows.append(
            {
                "alpha": al,
                "rel_kernel_drift": float(s["kernel_drift"][-1] / np.linalg.norm(r["h0"])),
                "rel_weight_move": r["rel_weight_move"],
                "final_residual": float(s["residual"][-1]),
                "status": r["status"],
            }
        )
    return {
        "rows": rows,
        "slope_kernel_drift": _slope(
            [r["alpha"] for r in rows], [r["rel_kernel_drift"] for r in rows]
        ),
    }


def lr_boundary(
    cfg: LazyConfig,
    factors: Sequence[float] = (0.9, 1.1),
    seed: int = 0,
    *,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Runs at eta = factor x 2 / lambda_max(H(0)) on both sides of spec 7's boundary.

    Reports the network's residual curve and the linearized model's, |(I - eta H(0))^k r0|.
    """
    if progress is not None:
        progress(0.0, "lambda_max(H(0))")
    probe = train(cfg.replace(steps=1, alpha=0.0), seed)
    lam_max = float(np.linalg.eigvalsh(probe["h0"])[-1])
    limit = 2.0 / lam_max
    runs = []
    for i, fac in enumerate(factors):
        fac = as_float("factors", fac, low=0.0, low_open=True)
        if should_stop is not None and should_stop():
            break
        if progress is not None:
            progress((i + 1) / (len(factors) + 1), f"eta = {fac:g} x 2/lambda_max")
        lr = fac * limit
        r = train(cfg.replace(lr=lr, alpha=0.0), seed)
        s = r["series"]
        lin = residual_prediction(r["h0"], r["u0"] - r["y"], lr, s["step"])
        runs.append(
            {
                "factor": fac,
                "lr": lr,
                "status": r["status"],
                "steps": s["step"].tolist(),
                "residual": s["residual"].tolist(),
                "linearized": lin.tolist(),
                "final_over_initial": float(s["residual"][-1] / s["residual"][0]),
                "max_over_initial": float(np.max(s["residual"]) / s["residual"][0]),
                "linearized_final_over_initial": float(lin[-1] / lin[0]),
            }
        )
    return {"lambda_max_h0": lam_max, "lr_limit": limit, "runs": runs}

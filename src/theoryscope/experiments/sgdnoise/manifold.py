"""Label-noise SGD drifts along a manifold of minima towards smaller Hessian trace.

Model: f(a, b) = a b with one data point and target y > 0, L = (ab - y)^2 / 2. The minima form
the hyperbola ab = y; at a minimum H = grad f grad f^T, so tr H = a^2 + b^2 = 2 y cosh(2 s) in
the coordinate (a, b) = sqrt(y) (e^s, e^-s) along it: flattest at the balanced point s = 0.

Label-noise SGD (fresh label y + eps, eps ~ N(0, sigma^2), every step):

    r~ = ab - y - eps,   a <- a - eta r~ b,   b <- b - eta r~ a.

Theory (Blanc et al. 2020; Damian, Ma, Lee 2021): near the manifold, label-noise SGD follows
gradient descent on the implicitly regularised loss L + (eta sigma^2 / 4) tr H, i.e. the
projected flow d theta / dk = -(eta^2 sigma^2 / 4) P_T grad tr H along the manifold (P_T the
tangent projector). The tangent is t = d theta/ds = (a, -b), |t|^2 = 2y cosh 2s, and
grad tr H . t = 2a^2 - 2b^2 = 4y sinh 2s, so P_T grad tr H = 2 tanh(2s) t and the flow reads
ds/dk = -(eta^2 sigma^2 / 2) tanh(2 s), i.e.

    zeta(k) := sinh(2 s(k)) = zeta_0 exp(-eta^2 sigma^2 k).                      (leading order)

zeta is measurable off the manifold too: zeta = (a^2 - b^2) / (2y), since a^2 - b^2 is conserved
by gradient flow (it labels the point of the manifold the flow would project onto). In fact one
step maps a^2 - b^2 to (a^2 - b^2)(1 - eta^2 r~^2) exactly, so E[zeta] shrinks at the rate
-log(1 - eta^2 E r~^2) per step with E r~^2 = sigma^2 + E r^2; the normal fluctuation r = ab - y
is an AR(1) process with h = a^2 + b^2 and stationary E r^2 = eta h sigma^2 / (2 - eta h), which
gives the finite-eta rate

    d log zeta / dk = log(1 - eta^2 (sigma^2 + eta h sigma^2 / (2 - eta h))),  h = 2y sqrt(1 + zeta^2)

(-> -eta^2 sigma^2 as eta -> 0). Without label noise (sigma = 0) the point stays put.
"""

from __future__ import annotations

import math
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy.integrate import solve_ivp

from theoryscope.experiments.sgdnoise.config import Config
from theoryscope.experiments.sgdnoise.stream import Stream, finish
from theoryscope.protocol import ChunkCallback, Run, StopPredicate

KEYS = ("step", "zeta", "zeta_se", "zeta_lo", "zeta_hi", "trace_h", "loss", "a", "b")


def start(target: float, s0: float) -> tuple[float, float]:
    """The point sqrt(y) (e^s0, e^-s0) of the manifold ab = y."""
    root = math.sqrt(target)
    return root * math.exp(s0), root * math.exp(-s0)


def trace_hessian(a: Any, b: Any) -> Any:
    """tr hess L = a^2 + b^2 everywhere (d^2 L/da^2 = b^2, d^2 L/db^2 = a^2; the residual term
    2ab - y sits off the diagonal)."""
    return a * a + b * b


def zeta_of(a: Any, b: Any, target: float) -> Any:
    """zeta = (a^2 - b^2) / (2y) = sinh(2s) of the manifold point gradient flow projects onto."""
    return (a * a - b * b) / (2.0 * target)


def point_of(zeta: Any, target: float) -> tuple[Any, Any]:
    """(a, b) on ab = y with (a^2 - b^2)/(2y) = zeta: s = asinh(zeta)/2."""
    s = np.arcsinh(np.asarray(zeta, dtype=np.float64)) / 2.0
    root = math.sqrt(target)
    return root * np.exp(s), root * np.exp(-s)


def drift_leading(zeta0: float, eta: float, sigma: float, steps: np.ndarray) -> np.ndarray:
    """zeta(k) = zeta_0 exp(-eta^2 sigma^2 k): the projected flow of L + (eta sigma^2/4) tr H."""
    return zeta0 * np.exp(-(eta**2) * sigma**2 * np.asarray(steps, dtype=np.float64))


def drift_rate(zeta: Any, eta: float, sigma: float, target: float) -> Any:
    """Finite-eta rate -log(1 - eta^2 (sigma^2 + E r^2)) with E r^2 = eta h sigma^2/(2 - eta h)
    and h = a^2 + b^2 = 2y sqrt(1 + zeta^2) on the manifold (module doc)."""
    h = 2.0 * target * np.sqrt(1.0 + np.asarray(zeta, dtype=np.float64) ** 2)
    r2 = eta * h * sigma**2 / (2.0 - eta * h)
    return -np.log1p(-(eta**2) * (sigma**2 + r2))


def trace_h_stationary(zeta: Any, eta: float, sigma: float, target: float) -> Any:
    """E[tr H] at the manifold point zeta with the normal fluctuation at stationarity.

    On the manifold tr H = h0 = 2y sqrt(1 + zeta^2). Off it, h = sqrt(D^2 + 4 (ab)^2) grows with
    r = ab - y as dh/dr = 4y/h0, so h and r correlate: averaging r' = r - eta h r~ + eta^2 r~^2 ab
    gives E r = (eta E[r~^2] y - (4y/h0) E[r^2]) / h0 (E r^2 as in :func:`drift_rate`), and
    E[tr H] = h0 + (4y/h0) E r: below h0 for small eta (the chain sits slightly inside ab < y).
    """
    h0 = 2.0 * target * np.sqrt(1.0 + np.asarray(zeta, dtype=np.float64) ** 2)
    r2 = eta * h0 * sigma**2 / (2.0 - eta * h0)
    mean_r = (eta * (sigma**2 + r2) * target - 4.0 * target / h0 * r2) / h0
    return h0 + 4.0 * target / h0 * mean_r


def drift_refined(
    zeta0: float, eta: float, sigma: float, target: float, steps: np.ndarray
) -> np.ndarray:
    """Integrate d log|zeta| / dk = -drift_rate(zeta) from zeta_0 (RK45, tight tolerances)."""
    steps = np.asarray(steps, dtype=np.float64)
    if zeta0 == 0.0 or sigma == 0.0 or len(steps) == 0:
        return np.full(len(steps), zeta0)
    sign = math.copysign(1.0, zeta0)

    def rhs(_: float, y: np.ndarray) -> np.ndarray:
        return -drift_rate(sign * np.exp(y), eta, sigma, target)

    sol = solve_ivp(rhs, (0.0, float(steps.max())), [math.log(abs(zeta0))], t_eval=steps,
                    rtol=1e-10, atol=1e-12)  # fmt: skip
    return np.asarray(sign * np.exp(sol.y[0]))


def stable(eta: float, target: float, zeta0: float) -> bool:
    """The normal direction is linearly stable along the path: eta h < 2 at the start (h
    shrinks as zeta does)."""
    return eta * 2.0 * target * math.sqrt(1.0 + zeta0**2) < 2.0


def make_runner(target: float, block_len: int, n_blocks: int) -> Any:
    """A jitted ``run((a, b, keys), eta, sigma)`` for C chains: per block the end values of a, b."""

    def run(state: Any, eta: jax.Array, sigma: jax.Array) -> Any:
        def step(carry: Any, _: Any) -> Any:
            a, b, keys = carry
            split = jax.vmap(jax.random.split)(keys)
            keys, sub = split[:, 0], split[:, 1]
            eps = sigma * jax.vmap(lambda k: jax.random.normal(k, (), a.dtype))(sub)
            r = a * b - target - eps
            return (a - eta * r * b, b - eta * r * a, keys), None

        def block(carry: Any, _: Any) -> Any:
            carry, _ = jax.lax.scan(step, carry, None, length=block_len)
            return carry, (carry[0], carry[1])

        return jax.lax.scan(block, state, None, length=n_blocks)

    return jax.jit(run)


def simulate_manifold(
    config: Config,
    seed: int,
    *,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
) -> Run:
    """Label-noise SGD on ab = y from the manifold point at s0, ``chains`` chains side by side.

    Series per block end: ``zeta`` (chain mean of (a^2 - b^2)/(2y)) with its standard error over
    chains and +-2 SE band, ``trace_h`` (chain mean of a^2 + b^2), ``loss`` (chain mean), ``a``,
    ``b`` of chain 0 (its path in the plane).
    """
    from theoryscope.experiments.sgdnoise.chains import chunk_blocks, dtype_of

    started = time.perf_counter()
    y = float(config.target)
    eta, sigma = float(config.lr or 0.0), float(config.noise or 0.0)
    chains, records = int(config.chains or 1), int(config.records)
    block_len = int(config.steps or 0) // records
    k = chunk_blocks(records)
    a0, b0 = start(y, float(config.s0))
    stream = Stream(on_chunk, cap=1e10 * max(1.0, y * y))
    done = 0
    final: dict[str, Any] = {}
    with jax.enable_x64(config.dtype == "float64"):
        dt = dtype_of(config)
        run = make_runner(y, block_len, k)
        state = (jnp.full(chains, a0, dtype=dt), jnp.full(chains, b0, dtype=dt),
                 jax.random.split(jax.random.PRNGKey(int(seed)), chains))  # fmt: skip
        eta_j, sigma_j = jnp.asarray(eta, dtype=dt), jnp.asarray(sigma, dtype=dt)
        for _ in range(records // k):
            if should_stop is not None and should_stop():
                stream.stopped = True
                break
            state, (aa, bb) = run(state, eta_j, sigma_j)
            aa, bb = np.asarray(aa, dtype=np.float64), np.asarray(bb, dtype=np.float64)  # (k, C)
            z = zeta_of(aa, bb, y)
            loss = 0.5 * (aa * bb - y) ** 2
            bad = stream.bad_index(np.concatenate([loss, np.abs(z)], axis=1))
            keep = k if bad is None else bad
            se = z.std(axis=1, ddof=1) / math.sqrt(chains) if chains > 1 else np.full(k, np.nan)
            mean = z.mean(axis=1)
            stream.add({
                "step": block_len * (done + np.arange(1, keep + 1, dtype=np.float64)),
                "zeta": mean[:keep], "zeta_se": se[:keep],
                "zeta_lo": (mean - 2 * se)[:keep], "zeta_hi": (mean + 2 * se)[:keep],
                "trace_h": trace_hessian(aa, bb).mean(axis=1)[:keep],
                "loss": loss.mean(axis=1)[:keep], "a": aa[:keep, 0], "b": bb[:keep, 0],
            })  # fmt: skip
            if bad is not None:
                stream.diverged_at = float(block_len * (done + bad + 1))
                break
            done += k
            final = {"zeta": z[-1].tolist()}
    series = stream.series(KEYS, {})
    summary: dict[str, Any] = {"mode": "manifold", "eta": eta, "sigma": sigma, "chains": chains,
                               "block": block_len, "a0": a0, "b0": b0,
                               "zeta0": zeta_of(a0, b0, y)}  # fmt: skip
    if len(series["step"]):
        summary["final_zeta"] = float(series["zeta"][-1])
        summary["final_zeta_se"] = float(series["zeta_se"][-1])
        summary["final_trace_h"] = float(series["trace_h"][-1])
        floor = 1e3 * float(np.finfo(np.float64 if config.dtype == "float64" else np.float32).eps)
        summary["rate_measured"] = measured_rate(series["step"], series["zeta"], floor)
        summary["rate_floor"] = floor
    summary.update({f"final_chain_{k}": v for k, v in final.items()})
    return finish(config, seed, stream, series, summary, started)


def measured_rate(steps: np.ndarray, zeta: np.ndarray, floor: float = 0.0) -> float | None:
    """Least-squares slope of -log|mean zeta| against the step (per-step decay rate) over the
    records with |zeta| > ``floor`` (below it the arithmetic's rounding of a^2 - b^2 dominates);
    None with fewer than 2 such records or a sign change among them."""
    steps, zeta = np.asarray(steps, dtype=np.float64), np.asarray(zeta, dtype=np.float64)
    keep = np.abs(zeta) > floor
    steps, zeta = steps[keep], zeta[keep]
    if len(steps) < 2 or not (np.all(zeta > 0) or np.all(zeta < 0)):
        return None
    slope = np.polyfit(steps, np.log(np.abs(zeta)), 1)[0]
    return float(-slope)

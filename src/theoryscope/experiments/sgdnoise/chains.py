"""SGD chains that measure both fluctuation-dissipation relations as they run (JAX).

Each step, at the current theta and a fresh Bernoulli batch B (one explicit PRNG key split per
step and chain, never reused), the chain evaluates

    o_l = (theta - c) . grad L   o_r = (eta/2) |g_B|^2            (FDR1: <o_l> = <o_r>)
    f_l = |grad L|^2             f_r = (eta/2) g_B . H g_B        (FDR2: <f_l> = <f_r> + O(eta^2))
    loss = L(theta),             sq = |theta - theta_ref|^2

(grad L and H g_B from one jvp of value_and_grad: :func:`.problems.hvp`; c = 0 as in Yaida, or
theta* in linreg, an L-BFGS minimiser in mlp: O = |theta - c|^2/2 gives FDR1 for any fixed c),
then steps
theta <- theta - eta g_B. A block of steps is a ``lax.scan``; a chunk of blocks is a scan of
blocks; chains are ``vmap``-ed. eta and p are traced arguments, so one compiled runner serves a
whole scan over learning rates and batch sizes. The host averages the block means over chains
and forms the half-running averages, ratios and error bars (:mod:`.fdr`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.experiments.sgdnoise import fdr, problems
from theoryscope.experiments.sgdnoise.config import Config
from theoryscope.experiments.sgdnoise.stream import Stream, finish
from theoryscope.protocol import ChunkCallback, Run, StopPredicate

#: The observables of one step, in the order of the runner's output.
OBS = ("o_l", "o_r", "f_l", "f_r", "loss", "sq")
#: Series of an FDR run (each with the record axis first).
KEYS = (
    "step", "loss", "sq", "o_l", "o_r", "f_l", "f_r",
    "fdr1_lhs", "fdr1_rhs", "fdr2_lhs", "fdr2_rhs",
    "ratio1", "ratio1_se", "ratio1_lo", "ratio1_hi",
    "ratio2", "ratio2_se", "ratio2_lo", "ratio2_hi",
)  # fmt: skip
#: Blocks per compiled call (a divisor of the number of records, for streaming and stops).
TARGET_CHUNKS = 10


def dtype_of(config: Config) -> Any:
    return jnp.float64 if config.dtype == "float64" else jnp.float32


def chunk_blocks(records: int, target_chunks: int = TARGET_CHUNKS) -> int:
    """The largest divisor of ``records`` that is at most records / target_chunks (>= 1)."""
    top = max(1, records // target_chunks)
    return max(k for k in range(1, top + 1) if records % k == 0)


def make_runner(
    problem: problems.Problem,
    block_len: int,
    n_blocks: int,
    moments: bool,
    centered: bool = False,
) -> Callable[..., Any]:
    """A jitted ``run(theta (C, P), keys (C, 2), eta, p) -> ((theta, keys), blocks)`` doing
    ``n_blocks`` blocks of ``block_len`` SGD steps on each of C chains. ``blocks`` is the
    (C, n_blocks, 6) array of block means of :data:`OBS`; with ``moments`` also the block means
    of theta (C, n_blocks, P) and of theta theta^T (C, n_blocks, P, P). ``centered``: the FDR1
    observable is centred at the problem's reference point (theta*) instead of the origin."""
    value_and_grad = jax.value_and_grad(problem.loss)

    def chain(theta: jax.Array, key: jax.Array, eta: jax.Array, p: jax.Array) -> Any:
        ref = jnp.asarray(problem.reference, dtype=theta.dtype)
        center = ref if centered else jnp.zeros_like(ref)

        def step(carry: Any, _: Any) -> Any:
            th, k = carry
            k, sub = jax.random.split(k)
            gb = problem.batch_grad(th, sub, p)
            (loss, g), (_, hg) = jax.jvp(value_and_grad, (th,), (gb,))
            dev = th - ref
            obs = jnp.stack([(th - center) @ g, 0.5 * eta * (gb @ gb), g @ g, 0.5 * eta * (gb @ hg), loss,
                             dev @ dev])  # fmt: skip
            return (th - eta * gb, k), ((obs, th) if moments else obs)

        def block(carry: Any, _: Any) -> Any:
            carry, out = jax.lax.scan(step, carry, None, length=block_len)
            if moments:
                obs, ths = out
                return carry, (obs.mean(0), ths.mean(0), ths.T @ ths / block_len)
            return carry, out.mean(0)

        return jax.lax.scan(block, (theta, key), None, length=n_blocks)

    return jax.jit(jax.vmap(chain, in_axes=(0, 0, None, None)))


def build_problem(config: Config, seed: int) -> problems.Problem:
    """The config's linreg or mlp problem (data from ``data_seed``; the MLP init from ``seed``;
    with ``center = minimum`` the MLP's reference point is the L-BFGS minimiser from the init)."""
    dt = dtype_of(config)
    d, m = int(config.d or 1), int(config.m or 1)
    noise, lam = float(config.noise or 0.0), float(config.weight_decay or 0.0)
    if config.mode == "linreg":
        x, y, _ = problems.linreg_data(d, m, noise, int(config.data_seed))
        return problems.linreg_problem(x, y, lam, dt)
    x, y = problems.mlp_data(d, m, noise, int(config.data_seed))
    theta0 = problems.mlp_init(np.random.default_rng(int(seed) + 1), d, int(config.width))
    ref = None
    if config.center == "minimum":
        ref = problems.mlp_minimum(x, y, int(config.width), lam, theta0)
    return problems.mlp_problem(x, y, int(config.width), lam, theta0, dt, ref)


def block_records(step: np.ndarray, blocks: np.ndarray, start: int) -> dict[str, np.ndarray]:
    """The records of blocks ``start+1 .. n``: their block means and the half-running averages,
    ratios and error bars over all blocks so far (``blocks``: (n, 6) chain means of OBS)."""
    out: dict[str, np.ndarray] = {"step": step[start:]}
    for i, name in enumerate(OBS):
        out[name] = blocks[start:, i]
    for pair, (a, b) in (("1", (0, 1)), ("2", (2, 3))):
        hr = fdr.half_running(blocks[:, a], blocks[:, b], start)
        out[f"fdr{pair}_lhs"], out[f"fdr{pair}_rhs"] = hr.a, hr.b
        out[f"ratio{pair}"], out[f"ratio{pair}_se"] = hr.ratio, hr.ratio_se
        out[f"ratio{pair}_lo"] = hr.ratio - 2.0 * hr.ratio_se
        out[f"ratio{pair}_hi"] = hr.ratio + 2.0 * hr.ratio_se
    return out


def run_chains(
    problem: problems.Problem,
    *,
    eta: float,
    p: float,
    steps: int,
    records: int,
    chains: int,
    seed: int,
    dtype: Any,
    moments: bool = False,
    centered: bool = False,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
    runner: Callable[..., Any] | None = None,
) -> tuple[Stream, dict[str, Any]]:
    """Run ``chains`` SGD chains for ``steps`` steps in ``records`` blocks, streaming the block
    records. Call inside ``jax.enable_x64(dtype is float64)``. Returns the stream and the raw
    block arrays (``blocks`` (n, 6) chain means; with ``moments`` the block means of theta and
    theta theta^T, pooled over chains)."""
    block_len = steps // records
    k = chunk_blocks(records)
    run = runner or make_runner(problem, block_len, k, moments, centered)
    theta = jnp.broadcast_to(
        jnp.asarray(problem.theta0, dtype=dtype), (chains, len(problem.theta0))
    )
    keys = jax.random.split(jax.random.PRNGKey(int(seed)), chains)
    loss0 = float(problem.loss(jnp.asarray(problem.theta0, dtype=dtype)))
    stream = Stream(on_chunk, cap=1e10 * max(1.0, abs(loss0)) if math.isfinite(loss0) else math.inf)
    blocks = np.zeros((0, len(OBS)))
    mean_th: list[np.ndarray] = []
    second: list[np.ndarray] = []
    eta_j, p_j = jnp.asarray(eta, dtype=dtype), jnp.asarray(p, dtype=dtype)
    for _ in range(records // k):
        if should_stop is not None and should_stop():
            stream.stopped = True
            break
        (theta, keys), out = run(theta, keys, eta_j, p_j)
        obs = np.asarray(out[0] if moments else out, dtype=np.float64).mean(axis=0)  # (k, 6)
        bad = stream.bad_index(obs[:, OBS.index("loss")])
        keep = k if bad is None else bad
        start = len(blocks)
        blocks = np.concatenate([blocks, obs[:keep]])
        if moments:
            mean_th.append(np.asarray(out[1], dtype=np.float64).mean(axis=0)[:keep])
            second.append(np.asarray(out[2], dtype=np.float64).mean(axis=0)[:keep])
        step = block_len * np.arange(1, len(blocks) + 1, dtype=np.float64)
        if keep:
            stream.add(block_records(step, blocks, start))
        if bad is not None:
            stream.diverged_at = float(block_len * (start + bad + 1))
            break
    raw: dict[str, Any] = {"blocks": blocks, "block_len": block_len}
    if moments:
        raw["theta_mean"] = np.concatenate(mean_th) if mean_th else np.zeros((0, 0))
        raw["theta_second"] = np.concatenate(second) if second else np.zeros((0, 0, 0))
    return stream, raw


def stationary_moments(raw: dict[str, Any]) -> dict[str, Any]:
    """Mean and covariance of theta over the last half of the blocks, pooled over chains and
    steps: Cov = E[theta theta^T] - E[theta] E[theta]^T."""
    means, seconds = raw.get("theta_mean"), raw.get("theta_second")
    if means is None or seconds is None or not len(means):
        return {}
    sl = fdr.window(len(means))
    mu = means[sl].mean(axis=0)
    cov = seconds[sl].mean(axis=0) - np.outer(mu, mu)
    return {"theta_mean": mu.tolist(), "cov_measured": cov.tolist(),
            "trace_cov_measured": float(np.trace(cov))}  # fmt: skip


def simulate_fdr(
    config: Config,
    seed: int,
    *,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
) -> Run:
    """SGD on the linreg or mlp problem with both FDR sides recorded (module doc).

    Series (one record per block, ``step`` its last step): block means ``loss``, ``sq`` (|theta -
    theta*|^2 in linreg, |theta|^2 in mlp), ``o_l``, ``o_r``, ``f_l``, ``f_r``; half-running
    ``fdr1_lhs/rhs``, ``fdr2_lhs/rhs``, ``ratio1``, ``ratio2`` with ``*_se`` and +-2 SE bands.
    """
    started = time.perf_counter()
    moments = config.mode == "linreg"
    with jax.enable_x64(config.dtype == "float64"):
        problem = build_problem(config, seed)
        stream, raw = run_chains(
            problem, eta=float(config.lr or 0.0), p=config.p, steps=int(config.steps or 0),
            records=int(config.records), chains=int(config.chains or 1), seed=seed,
            dtype=dtype_of(config), moments=moments, centered=config.center == "minimum",
            on_chunk=on_chunk, should_stop=should_stop,
        )  # fmt: skip
    series = stream.series(KEYS, {})
    summary: dict[str, Any] = {
        "mode": config.mode,
        "eta": float(config.lr or 0.0),
        "p": config.p,
        "block": int(raw["block_len"]),
        "parameters": len(problem.theta0),
        "chains": int(config.chains or 1),
    }
    if len(series["step"]):
        for name in ("ratio1", "ratio1_se", "ratio2", "ratio2_se", "fdr1_lhs", "fdr1_rhs",
                     "fdr2_lhs", "fdr2_rhs"):  # fmt: skip
            summary[f"final_{name}"] = float(series[name][-1])
        enters, settles = fdr.equilibration(series["step"], series["ratio1"], float(config.tol))
        summary["equilibrated_step"] = enters
        summary["settled_step"] = settles
        sl = fdr.window(len(series["sq"]))
        summary["sq_stationary"], summary["sq_stationary_se"] = fdr.mean_se(series["sq"][sl])
        summary["loss_stationary"], summary["loss_stationary_se"] = fdr.mean_se(series["loss"][sl])
    if moments:
        summary.update(stationary_moments(raw))
    return finish(config, seed, stream, series, summary, started)

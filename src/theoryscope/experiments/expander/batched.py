"""Online SGD for several seeds of one config as one vmapped computation.

The SGD engine (``experiments/expander/engine.py``) is built from pure pieces over one seed:
``_scalars`` (the run's numbers), ``_consts`` (frozen layer, data key, held-out sample from the
seed), ``_initial_carry``, ``_advance`` (a ``lax.while_loop`` of steps up to a runtime end step)
and ``_record``. Here the same pieces are ``jax.vmap``-ed over a leading seed axis and driven by
the engine's own record schedule, so every seed sees exactly the engine's batches and updates,
and the result is one :class:`~theoryscope.protocol.Run` per seed. Records (the exact population
loss, O(k^2 d) each) are taken seed by seed with the engine's own compiled record function: a
vmapped record of ten seeds was 30x slower than ten single ones.

Numerics: the vmapped matrix products are batched ``dot_general``s, which XLA may sum in another
order than the single-seed ones, so parameters can differ from ``engine.simulate`` in the last
bit (float32: ~1e-9 absolute after hundreds of steps; the recorded losses usually agree exactly).
The tests pin this at a tight tolerance. Every sweep executor (local pool, Dask) runs seeds
through this same function, so a sweep's stored results do not depend on the executor.

A seed whose loss turns non-finite stops inside the loop (the while-loop's predicate is per seed)
and is reported ``diverged`` exactly as the engine reports it; the others go on.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.experiments.expander.config import Config
from theoryscope.protocol import Run

__all__ = ["simulate_seeds"]

_CACHE: dict[tuple[Any, ...], tuple[Any, Any, Any]] = {}


def _compiled(sim: Any) -> tuple[Any, Any, Any]:
    """(make_consts, advance, record), each vmapped over seeds and jitted; cached per shape."""
    key = sim._cache_key()
    hit = _CACHE.get(key)
    if hit is None:
        hit = (
            jax.jit(jax.vmap(sim._consts)),
            jax.jit(jax.vmap(sim._advance, in_axes=(0, None, 0))),
            jax.jit(jax.vmap(sim._record)),
        )
        _CACHE.clear()  # one shape at a time: a worker runs one config after another
        _CACHE[key] = hit
    return hit


def _engine_record(sim: Any) -> Any:
    """The engine's compiled single-seed record, when the engine exposes it (else None)."""
    try:
        return sim._compiled()[2]
    except Exception:  # an engine without the cache: records are vmapped too
        return None


def simulate_seeds(config: Config, seeds: Sequence[int]) -> list[Run]:
    """``engine.simulate(config, seed)`` for every seed, as one vmapped computation."""
    from theoryscope.experiments.expander import engine

    if config.mode != "sgd":
        raise ValueError(f"simulate_seeds runs mode sgd, got {config.mode!r}")
    seeds = [int(s) for s in seeds]
    with jax.enable_x64(config.dtype == "float64"):
        return _run(engine, config, seeds)


def _stack(trees: Sequence[Any]) -> Any:
    return jax.tree_util.tree_map(lambda *a: np.stack([np.asarray(x) for x in a]), *trees)


def _run(engine: Any, cfg: Config, seeds: list[int]) -> list[Run]:
    n_seeds = len(seeds)
    sims = [engine._Simulation(cfg, s, None) for s in seeds]
    sim = sims[0]
    t_start = time.perf_counter()
    make, advance, record = _compiled(sim)
    scalars = _stack([s._scalars() for s in sims])
    consts = make(scalars)
    carry0 = sim._initial_carry()
    carry = jax.tree_util.tree_map(
        lambda a: np.broadcast_to(np.asarray(a), (n_seeds, *np.shape(a))).copy(), carry0
    )
    carry = advance(carry, np.asarray(0, np.int32), consts)
    jax.block_until_ready(carry)
    compile_seconds = time.perf_counter() - t_start

    schedule = engine.record_steps(cfg.steps, cfg.records)
    sub = max(1, int(engine.SUBCHUNK_WORK // (cfg.batch * cfg.k * n_seeds)))
    rows: list[list[dict[str, np.ndarray]]] = [[] for _ in seeds]
    status = ["finished"] * n_seeds
    message: list[str | None] = [None] * n_seeds
    summaries: list[dict[str, Any]] = [{} for _ in seeds]
    step_seconds = record_seconds = 0.0

    record_one = _engine_record(sim)

    def record_seed(state: Any, i: int) -> dict[str, np.ndarray]:
        """Seed i's record by the engine's own compiled record (the vmapped one as fallback)."""
        if record_one is not None:
            one = jax.tree_util.tree_map(lambda a: a[i], (state, consts))
            return {key: np.asarray(v, dtype=np.float64) for key, v in record_one(*one).items()}
        out = record(state, consts)
        return {key: np.asarray(v[i], dtype=np.float64) for key, v in out.items()}

    def take_records(state: Any) -> None:
        """One record for every still-running seed whose step moved (engine's take_record)."""
        nonlocal record_seconds
        steps = np.asarray(state.n)
        for i in range(n_seeds):
            if status[i] != "finished":
                continue
            step = int(steps[i])
            if rows[i] and step <= int(rows[i][-1]["step"]):
                continue
            t0 = time.perf_counter()
            mine = record_seed(state, i)
            record_seconds += time.perf_counter() - t0
            if not all(np.all(np.isfinite(mine[key])) for key in ("loss_batch", "loss_population")):
                status[i] = "diverged"
                message[i] = (
                    "loss non-finite at step 0"
                    if step == 0
                    else f"non-finite population loss at step {step}"
                )
                summaries[i]["diverged_at_step"] = step
                continue
            row = {"step": np.asarray(step, np.int64), "t_eff": np.asarray(cfg.lr * step)}
            row.update(mine)
            rows[i].append(row)

    loop_start = time.perf_counter()
    take_records(carry)
    n = 0
    for target in schedule[1:]:
        if all(s != "finished" for s in status):
            break
        while n < target:
            end = min(int(target), n + sub)
            t0 = time.perf_counter()
            carry = advance(carry, jnp.asarray(end, jnp.int32), consts)
            reached = np.asarray(carry.n)
            losses = np.asarray(carry.loss)
            step_seconds += time.perf_counter() - t0
            for i in range(n_seeds):
                if status[i] == "finished" and not np.isfinite(losses[i]):
                    status[i] = "diverged"
                    message[i] = f"loss became non-finite at step {int(reached[i])}"
                    summaries[i]["diverged_at_step"] = int(reached[i])
            n = end
            if all(s != "finished" for s in status):
                break
        take_records(carry)
    loop_seconds = time.perf_counter() - loop_start

    runs = []
    t_half_steps = np.asarray(carry.t_half_step)
    for i, seed in enumerate(seeds):
        series = (
            {key: np.stack([r[key] for r in rows[i]]) for key in engine.SERIES} if rows[i] else {}
        )
        summary = summaries[i]
        done = int(rows[i][-1]["step"]) if rows[i] else 0
        if status[i] == "diverged":
            done = max(0, int(summary["diverged_at_step"]) - 1)
        summary["steps"] = done
        # every seed advanced at the loop's rate; the batch as a whole did n_seeds times that
        summary["steps_per_second"] = done / step_seconds if step_seconds else None
        summary["steps_per_second_wall"] = done / loop_seconds if loop_seconds else None
        summary["batch_steps_per_second"] = n_seeds * done / step_seconds if step_seconds else None
        summary["t_half_sim"] = _t_half(engine, sims[i], t_half_steps[i], series)
        summary["exact_population"] = sims[i].exact
        summary["batched_seeds"] = n_seeds
        runs.append(
            Run(
                experiment="expander",
                config=cfg.to_dict(),
                seed=seed,
                status=status[i],
                series=series,
                summary=summary,
                message=message[i],
                timings={
                    "compile_seconds": compile_seconds,
                    "step_seconds": step_seconds,
                    "record_seconds": record_seconds,
                    "loop_seconds": loop_seconds,
                    "batched_seeds": float(n_seeds),
                },
            )
        )
    return runs


def _t_half(engine: Any, sim: Any, steps: np.ndarray, series: dict) -> list[float | None]:
    m = len(sim.config.terms)
    if sim.track:
        return [float(sim.config.lr * int(s)) if s >= 0 else None for s in steps]
    if not series:
        return [None] * m
    return engine._t_half_from_records(series["t_eff"], series["term_loss"])

"""Predicted peak memory and wall time of an Expander Nets run, from its shapes alone.

``estimate(config)`` is what the CLI and the web lab use to refuse a run that cannot fit in
memory and to show the cost before it starts. It evaluates nothing: every figure is a formula in
k, |B|, d, the dtype, the mode, the number of records and the held-out sample size.

Memory (bytes, peak): the process baseline (Python, NumPy, JAX: ``BASE_BYTES``) plus the largest
set of arrays alive at once,

- sgd: frozen layer, parameters and gradients (O(k d)); the batches of one block of
  ``engine.BATCH_BLOCK`` steps; one batch tile of activations, Z, sigma + i sigma' (complex),
  sigma and sigma' (``tile_rows`` x k, the tile being |B| rows or ``engine.TILE_ENTRIES / k``);
  and the record: a block of K (``kernel_sum.DIRECT_BLOCK_ENTRIES``) with its distance and
  exp arrays in float64, or for other nonlinearities a block of held-out activations;
- flow: the state and the NDF's 8 difference arrays (O(k + d^2)), the Newton matrix's k x d^2
  columns and k x 48 Nystrom factors, and a block of K rows with its temporaries;
- gd: the parameters and a block of K rows with its temporaries.

Time (seconds): ``step_seconds`` (SGD steps, GD steps or the flow's gradient evaluations) plus
``record_seconds`` (the exact population loss at every record). The per-operation constants are
calibrated on the development machine (2 shared CPU cores, AMD EPYC, jax 0.10; see
``benchmarks/bench_expander_*.py``); the flow's number of gradient evaluations (about 350 to
2 t_rise) and the Taylor degree of the records (that of the initial state; training spreads
the v_j and raises it) are typical values, so ``seconds`` is a rough prediction (within a
factor ~3), not a promise.
"""

from __future__ import annotations

from typing import Any

from theoryscope.experiments.expander import kernel_sum
from theoryscope.experiments.expander.config import Config

#: Resident memory of the process before any array (Python, NumPy, SciPy, JAX CPU runtime).
BASE_BYTES = 260 * 2**20
#: Seconds per activation (one entry of |B| x k) per SGD step, float32 / float64.
SGD_ACTIVATION_SECONDS = {"float32": 1.1e-9, "float64": 2.6e-9}
#: Fixed seconds per SGD step (batch sampling, loop, half-time tracking).
SGD_STEP_OVERHEAD = 2.5e-5
#: Seconds per kernel pair (one exp and its products) in a direct float64 sum.
PAIR_SECONDS = 1.6e-9
#: Seconds per (point, Taylor feature) in a moment sum.
FEATURE_SECONDS = 1.2e-9
#: Gradient evaluations of a flow run (typical; the NDF adapts its steps) and Newton matrices.
FLOW_GRADIENTS = 350
FLOW_NEWTON_MATRICES = 8
#: Seconds of fixed work per record (transfers, dispatch, the O(k d m) overlaps).
RECORD_OVERHEAD = 5e-4
_NYSTROM_COLUMNS = 48


def _itemsize(config: Config) -> int:
    return 8 if config.dtype == "float64" else 4


def _n_records(config: Config) -> int:
    from theoryscope.experiments.expander.engine import record_steps

    return len(record_steps(config.steps, config.records))


#: The estimate draws a (k, d) frozen layer to predict the Taylor degree only up to this size.
MAX_SAMPLED_ENTRIES = 4_000_000


def _initial_degree(config: Config) -> int | None:
    """The Taylor degree ``kernel_sum.choose_degree`` takes at the initial state (W1 = I,
    v_j = Gamma^{1/2} w_j) for a W2 of random signs, on a fixed pseudo-random frozen layer of
    the config's shape (O(k d), no JAX)."""
    import numpy as np

    if not kernel_sum.tiers(config.k, config.d):
        return None
    if config.k * config.d > MAX_SAMPLED_ENTRIES:
        # too big to draw for an estimate (the memory check refuses most such runs): assume the
        # direct sum, the dearer path, so the time estimate stays an upper bound
        return None
    rng = np.random.default_rng(0)
    V = rng.standard_normal((config.k, config.d)) * np.sqrt(np.asarray(config.gamma, float))
    return kernel_sum.choose_degree(V, rng.standard_normal(config.k))


def _quadratic_seconds(config: Config) -> float:
    """One exact W2 K W2^T: Taylor moments or the direct sum over K's upper triangle."""
    degree = _initial_degree(config)
    if degree is not None:
        return config.k * kernel_sum.n_features(config.d, degree) * FEATURE_SECONDS
    return 0.5 * config.k**2 * PAIR_SECONDS


def _record_seconds(config: Config) -> float:
    if not config.uses_default_nonlinearity:  # held-out Monte Carlo: |holdout| x k activations
        act = SGD_ACTIVATION_SECONDS["float64"]
        return RECORD_OVERHEAD + config.holdout * config.k * act
    return RECORD_OVERHEAD + _quadratic_seconds(config)


def _gradient_seconds(config: Config) -> float:
    """One exact population gradient: K times a k x (d + 1) matrix, directly or by moments."""
    k, d = config.k, config.d
    degree = _initial_degree(config)
    direct = k**2 * (PAIR_SECONDS + 2 * (d + 1) * 1e-10)
    if degree is None:
        return direct
    return min(direct, 2 * (d + 1) * k * kernel_sum.n_features(d, degree) * FEATURE_SECONDS)


def _memory(config: Config) -> int:
    from theoryscope.experiments.expander import engine

    k, d, B = config.k, config.d, config.batch
    item = _itemsize(config)
    kblock = min(k * k, kernel_sum.DIRECT_BLOCK_ENTRIES)
    kernel = 4 * kblock * 8  # a block of K: distances, exp, products (float64)
    degree = _initial_degree(config)
    if degree is not None:
        rows = min(k, kernel_sum.ROW_BLOCK)
        kernel = max(kernel // 4, 3 * kernel_sum.n_features(d, degree) * rows * 8)
    if config.mode == "sgd":
        params = (2 * k * d + 4 * k + 4 * d * d) * max(item, 8)  # + float64 copies for records
        rows = min(B, max(1, engine.TILE_ENTRIES // k))
        tile = rows * k * item * 6  # Z, sigma + i sigma' (2), sigma, sigma', products
        batches = engine.BATCH_BLOCK * B * (d + 1) * item
        if config.uses_default_nonlinearity:
            record = kernel
        else:
            hold_rows = min(config.holdout, max(1, kernel_sum.DIRECT_BLOCK_ENTRIES // k))
            record = config.holdout * (d + 2) * 8 + 2 * hold_rows * k * 8
        arrays = params + batches + max(tile, record)
    elif config.mode == "flow":
        n = k + d * d
        state = 12 * n * 8  # y, the NDF's 8 differences, Newton work vectors
        newton = (k * d * d + 4 * k * _NYSTROM_COLUMNS + k * d) * 8
        arrays = state + newton + kernel + (d * d + 2) * n * 8  # + finite-difference columns
    else:  # gd
        arrays = (2 * k * d + 6 * k) * max(item, 8) + kernel
    return int(BASE_BYTES + arrays)


def estimate(config: Config) -> dict[str, Any]:
    """Predicted peak memory and wall time of ``config`` on this machine (module docstring).

    Keys: ``memory_bytes`` (int, peak resident), ``seconds`` (= ``step_seconds`` +
    ``record_seconds``), ``step_seconds``, ``record_seconds``, ``records`` (the number of
    records the schedule takes) and ``record_method`` ("taylor", "direct" or "monte_carlo").
    """
    n_rec = _n_records(config)
    if config.mode == "sgd":
        act = SGD_ACTIVATION_SECONDS.get(config.dtype, SGD_ACTIVATION_SECONDS["float64"])
        step_s = config.steps * (SGD_STEP_OVERHEAD + config.batch * config.k * act)
    elif config.mode == "flow":
        jac = FLOW_NEWTON_MATRICES * (
            (config.d**2 + 1) * _gradient_seconds(config)
            + config.k**2 * (PAIR_SECONDS + 2 * _NYSTROM_COLUMNS * 1e-10)
        )
        step_s = FLOW_GRADIENTS * _gradient_seconds(config) + jac
    else:
        step_s = config.steps * _gradient_seconds(config)
    record_s = n_rec * _record_seconds(config)
    if not config.uses_default_nonlinearity:
        method = "monte_carlo"
    else:
        method = "taylor" if _initial_degree(config) is not None else "direct"
    return {
        "memory_bytes": _memory(config),
        "seconds": step_s + record_s,
        "step_seconds": step_s,
        "record_seconds": record_s,
        "records": n_rec,
        "record_method": method,
    }

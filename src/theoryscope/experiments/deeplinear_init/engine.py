"""The run: Monte Carlo over random deep linear nets, one record per batch of nets.

Record ``b`` draws ``nets`` networks (:func:`.sampling.sample_log_norm2`, key/stream ``b`` of the
run seed) and updates, over all nets so far (``step`` = their count):

    moment_ratio[k]  mean of ||theta||^{2k} / the exact E||theta||^{2k}, k = 1..4
    moment_se[k]     its Monte Carlo standard error (sample sd / sqrt(count) / exact)
    log_mean/var     mean and variance of log ||theta||^2 (exact: sum psi, sum psi')
    ks, ks_pvalue    Kolmogorov-Smirnov distance of the empirical CDF to the exact CDF, and
                     its p-value under the exact Kolmogorov law (scipy ``kstwo``)

A non-finite ``log ||theta||^2`` stops the run as ``diverged`` (its records kept).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from scipy.special import logsumexp

from theoryscope.experiments.deeplinear_init.config import Config
from theoryscope.experiments.deeplinear_init.productlaw import ks_pvalue, ks_statistic
from theoryscope.experiments.deeplinear_init.sampling import sample_log_norm2
from theoryscope.experiments.deeplinear_init.theory import MOMENTS, Theory, predict
from theoryscope.protocol import ChunkCallback, Run, StopPredicate

#: Histogram bins of log ||theta||^2 kept in the summary.
BINS = 60

SERIES = ("step", "moment_ratio", "moment_se", "log_mean", "log_var", "ks", "ks_pvalue")


def running_record(values: np.ndarray, theory: Theory) -> dict[str, Any]:
    """The statistics of all samples so far (``values`` = log ||theta||^2)."""
    m = values.size
    k = np.arange(1, MOMENTS + 1, dtype=np.float64)[:, None]
    log_exact = np.log(theory.moments)
    log_first = logsumexp(k * values[None, :], axis=1) - math.log(m)  # log mean x^k
    log_second = logsumexp(2.0 * k * values[None, :], axis=1) - math.log(m)
    ratio = np.exp(log_first - log_exact)
    var = np.maximum(np.exp(log_second - 2.0 * log_exact) - ratio**2, 0.0)
    se = np.sqrt(var * m / max(m - 1, 1) / m)
    d = ks_statistic(values, theory.law.cdf_log(values))
    return {
        "step": m,
        "moment_ratio": ratio,
        "moment_se": se,
        "log_mean": float(np.mean(values)),
        "log_var": float(np.var(values, ddof=1)) if m > 1 else 0.0,
        "ks": d,
        "ks_pvalue": ks_pvalue(d, m),
    }


def _stack(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {"step": np.asarray([r["step"] for r in rows], dtype=np.int64)}
    for key in ("moment_ratio", "moment_se"):
        out[key] = np.asarray([r[key] for r in rows], dtype=np.float64).reshape(-1, MOMENTS)
    for key in ("log_mean", "log_var", "ks", "ks_pvalue"):
        out[key] = np.asarray([r[key] for r in rows], dtype=np.float64)
    return out


def histogram(values: np.ndarray, theory: Theory) -> dict[str, list[float]]:
    """Density histogram of log ||theta||^2 over the exact law's 1e-4 .. 1 - 1e-4 quantiles."""
    lo, hi = theory.law.quantile_log(np.asarray([1e-4, 1.0 - 1e-4]))
    edges = np.linspace(float(lo), float(hi), BINS + 1)
    counts, _ = np.histogram(values, bins=edges)
    width = float(edges[1] - edges[0])
    return {
        "hist_centers": (0.5 * (edges[:-1] + edges[1:])).tolist(),
        "hist_density": (counts / (values.size * width)).tolist(),
    }


def simulate(
    config: Config,
    seed: int = 0,
    *,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
    theory: Theory | None = None,
) -> Run:
    """Draw ``records`` batches of nets and stream the running statistics (module docstring)."""
    theory = theory if theory is not None else predict(config)
    widths = config.all_widths()
    status, message = "finished", None
    rows: list[dict[str, Any]] = []
    draws: list[np.ndarray] = []
    started = time.perf_counter()
    sampling = 0.0
    for batch in range(int(config.records)):
        if should_stop is not None and should_stop():
            status, message = "interrupted", f"stopped after {batch} records"
            break
        t0 = time.perf_counter()
        values = sample_log_norm2(config.sampler, seed, batch, widths, config.nets, config.dtype)
        sampling += time.perf_counter() - t0
        if not np.all(np.isfinite(values)):
            status = "diverged"
            message = f"non-finite log ||theta||^2 in record {batch} (last finite {batch - 1})"
            break
        draws.append(values)
        row = running_record(np.concatenate(draws), theory)
        rows.append(row)
        if on_chunk is not None:
            on_chunk(_stack([row]))
    wall = time.perf_counter() - started
    series = _stack(rows) if rows else {k: np.zeros(0) for k in SERIES}
    summary: dict[str, Any] = {
        "nets": int(series["step"][-1]) if rows else 0,
        "nets_per_second": (config.nets * len(rows) / sampling) if sampling > 0 else None,
        "sampler": config.sampler,
    }
    if rows:
        summary.update(histogram(np.concatenate(draws), theory))
    return Run(
        experiment="deeplinear_init",
        config=config.to_dict(),
        seed=int(seed),
        status=status,
        series=series,
        summary=summary,
        message=message,
        timings={"simulate_seconds": wall, "sampling_seconds": sampling},
    )

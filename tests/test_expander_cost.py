"""cost.estimate: memory from shapes, time split into steps and records (no timing asserts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from theoryscope.experiments.expander import cost, kernel_sum
from theoryscope.experiments.expander.config import Config


def _est(**kw):
    return cost.estimate(Config.create(**kw))


def test_keys_and_consistency():
    e = _est(k=1000, batch=100, steps=500)
    assert set(e) >= {"memory_bytes", "seconds", "step_seconds", "record_seconds"}
    assert e["seconds"] == e["step_seconds"] + e["record_seconds"]
    assert e["memory_bytes"] > cost.BASE_BYTES and e["records"] > 0
    assert e["record_method"] in ("taylor", "direct")
    assert _est(k=1000, nonlinearity="tanh", steps=500)["record_method"] == "monte_carlo"


def test_scales_with_the_shapes():
    small, big = _est(k=1000, batch=100, steps=500), _est(k=8000, batch=100, steps=500)
    assert big["step_seconds"] > 5 * small["step_seconds"]
    assert big["memory_bytes"] > small["memory_bytes"]
    f32 = _est(k=4000, batch=500, steps=100)
    f64 = _est(k=4000, batch=500, steps=100, dtype="float64")
    assert f64["step_seconds"] > f32["step_seconds"]
    more = _est(k=4000, batch=500, steps=100, records=50)
    assert more["record_seconds"] < f32["record_seconds"]  # 50 records cost less than 100
    wide = _est(k=20000, batch=100, steps=100, gamma=1.0)  # large spread: direct sums
    assert wide["record_method"] == "direct"
    assert (
        wide["record_seconds"] > _est(k=20000, batch=100, steps=100, gamma=0.01)["record_seconds"]
    )
    for mode in ("flow", "gd"):
        e = _est(k=2000, gamma=0.05, mode=mode, t_eff=10.0)
        assert e["memory_bytes"] > cost.BASE_BYTES and e["seconds"] > 0


def test_memory_covers_the_direct_kernel_block():
    e = _est(k=6000, batch=10, steps=10, gamma=1.0)
    assert e["memory_bytes"] >= cost.BASE_BYTES + 8 * kernel_sum.DIRECT_BLOCK_ENTRIES


def test_memory_estimate_is_near_the_measured_rss():
    """A run in a fresh process: its resident memory at the end of the run (arrays and runtime
    still held; read from /proc, not the lifetime peak, which transient compiler memory can
    inflate) within a factor 2 of the estimate."""
    kw = dict(d=3, k=20000, batch=400, steps=3, records=2, gamma=1.0)
    code = (
        "import json, resource, sys\n"
        "from theoryscope.experiments.expander.config import Config\n"
        "from theoryscope.experiments.expander.engine import simulate\n"
        f"simulate(Config.create(**json.loads({json.dumps(json.dumps(kw))})), seed=0)\n"
        "try:\n"
        "    rss = int(open('/proc/self/statm').read().split()[1]) * resource.getpagesize()\n"
        "except OSError:\n"
        "    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
        "print(rss)\n"
    )
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-2000:]
    peak = int(out.stdout.strip().splitlines()[-1])
    est = _est(**kw)["memory_bytes"]
    assert 0.5 * peak <= est <= 2.0 * peak, (peak / 2**20, est / 2**20)


def test_the_estimate_of_a_huge_run_allocates_little():
    """k = 1e9 used to draw a (k, d) layer inside the estimate and die of MemoryError before the
    memory check could refuse the run; the estimate now assumes the direct sum past a size."""
    import tracemalloc

    config = Config.create(k=10**9, batch=10)
    tracemalloc.start()
    try:
        est = cost.estimate(config)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50e6 and est["memory_bytes"] > 1e10 and est["record_method"] == "direct"

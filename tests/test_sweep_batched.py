"""Vmapped-over-seeds SGD gives each seed the engine's own run (to the last bits of float32)."""

from __future__ import annotations

import numpy as np
import pytest

from theoryscope.experiments.expander import engine
from theoryscope.experiments.expander.batched import simulate_seeds
from theoryscope.experiments.expander.config import Config


def test_batched_seeds_match_engine_simulate_per_seed():
    cfg = Config.create(
        k=60, d=2, gamma=0.2, alpha=[(1, 1)], batch=20, lr=0.02, steps=1500, records=30
    )
    seeds = [0, 3, 11]
    batched = simulate_seeds(cfg, seeds)
    for seed, run in zip(seeds, batched, strict=True):
        single = engine.simulate(cfg, seed)
        assert run.seed == seed and run.status == single.status == "finished"
        assert run.config == single.config
        assert set(run.series) == set(single.series)
        np.testing.assert_array_equal(run.series["step"], single.series["step"])
        np.testing.assert_array_equal(run.series["t_eff"], single.series["t_eff"])
        for key in ("loss_batch", "loss_ema", "loss_population", "W1", "w2_scaled_norm",
                    "overlap", "term_loss"):  # fmt: skip
            np.testing.assert_allclose(run.series[key], single.series[key], rtol=1e-5, atol=1e-6)
        # the half time is tracked at step resolution: at most one step apart
        for a, b in zip(run.summary["t_half_sim"], single.summary["t_half_sim"], strict=True):
            assert a is not None and b is not None
            assert a == pytest.approx(b, abs=cfg.lr * 1.01)
        assert run.summary["steps"] == single.summary["steps"] == cfg.steps
    # different seeds really are different runs
    assert not np.allclose(batched[0].series["W1"][-1], batched[1].series["W1"][-1])


def test_each_batched_seed_diverges_at_its_own_step_like_the_engine():
    # same shape as above (compiled once), a step so large every seed overflows within ~10 steps
    cfg = Config.create(
        k=60, d=2, gamma=0.2, alpha=[(1, 1)], batch=20, lr=100.0, steps=1500, records=30
    )
    seeds = [0, 1, 2, 3]
    runs = simulate_seeds(cfg, seeds)
    at = []
    for seed, run in zip(seeds, runs, strict=True):
        single = engine.simulate(cfg, seed)
        assert single.status == run.status == "diverged"
        # an exploding run amplifies the last-bit differences of the batched products; with a
        # step this large it overflows within a few steps, where they cannot move it by more than 1
        assert abs(run.summary["diverged_at_step"] - single.summary["diverged_at_step"]) <= 1
        assert run.message == f"loss became non-finite at step {run.summary['diverged_at_step']}"
        assert run.summary["steps"] == run.summary["diverged_at_step"] - 1
        assert run.series["step"][-1] < run.summary["diverged_at_step"]
        assert np.all(np.isfinite(run.series["loss_population"]))
        at.append(run.summary["diverged_at_step"])
    assert len(set(at)) > 1  # the seeds stop at different steps, each on its own

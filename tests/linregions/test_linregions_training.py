"""The training run: gradients against finite differences, Adam's first step, seeds bit for bit,
clean stops (interrupted, diverged) with the data kept."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from theoryscope.experiments import linregions
from theoryscope.experiments.linregions import engine
from theoryscope.experiments.linregions.config import Config


def _params64(config: Config, seed: int) -> list:
    net = engine.init_net(config, seed)
    return [(jnp.asarray(w, jnp.float64), jnp.asarray(b, jnp.float64)) for w, b in net.layers]


def test_loss_gradient_matches_central_differences():
    config = Config(widths=(6, 5), train_points=24, freq=3)
    xs, ys = engine.training_data(config)
    rng = np.random.default_rng(0)
    with jax.enable_x64(True):
        params = _params64(config, 3)
        x, y = jnp.asarray(xs), jnp.asarray(ys)
        grad = jax.jit(jax.grad(engine.loss_fn))(params, x, y)
        loss = jax.jit(engine.loss_fn)
        h = 1e-6
        for layer in range(len(params)):
            for which in (0, 1):
                arr = np.asarray(params[layer][which])
                for _ in range(2):
                    idx = tuple(int(rng.integers(s)) for s in arr.shape)

                    def shifted(delta: float, layer=layer, which=which, idx=idx, arr=arr) -> float:
                        new = arr.copy()
                        new[idx] += delta
                        p = list(params)
                        pair = list(p[layer])
                        pair[which] = jnp.asarray(new)
                        p[layer] = tuple(pair)
                        return float(loss(p, x, y))

                    fd = (shifted(h) - shifted(-h)) / (2 * h)
                    g = float(np.asarray(grad[layer][which])[idx])
                    assert abs(g - fd) <= 1e-6 * max(1.0, abs(fd)), (layer, which, idx)


def test_first_adam_step_moves_each_parameter_by_lr_times_the_gradient_sign():
    config = Config(widths=(4, 4), train_points=16)
    xs, ys = engine.training_data(config)
    with jax.enable_x64(True):
        params = _params64(config, 1)
        x, y = jnp.asarray(xs), jnp.asarray(ys)
        grad = jax.grad(engine.loss_fn)(params, x, y)
        zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
        new, _, _, count = engine._adam(params, zeros, zeros, jnp.asarray(0), x, y,
                                        jnp.asarray(0.01), 1)  # fmt: skip
        assert int(count) == 1
        for (w, b), (w1, b1), (gw, gb) in zip(params, new, grad, strict=True):
            for a, a1, g in ((w, w1, gw), (b, b1, gb)):
                g = np.asarray(g)
                expected = -0.01 * g / (np.abs(g) + 1e-8)
                assert np.allclose(np.asarray(a1) - np.asarray(a), expected, atol=1e-12)


def test_seed_reproduces_the_run_bit_for_bit_and_another_seed_differs():
    config = Config(widths=(8, 8), steps=30, records=5, train_points=16)
    a = linregions.simulate(config, seed=5)
    b = linregions.simulate(config, seed=5)
    c = linregions.simulate(config, seed=6)
    assert a.status == "finished"
    assert list(a.series["step"]) == engine.record_steps(30, 5).tolist() == [0, 1, 3, 10, 30]
    for key in a.series:
        assert np.array_equal(a.series[key], b.series[key]), key
    assert not np.array_equal(a.series["loss"], c.series["loss"])


def test_the_run_counts_what_the_counter_counts_and_training_reduces_the_loss():
    from theoryscope.experiments.linregions.count1d import count_segment

    config = Config(widths=(8, 8), steps=300, records=4, train_points=16, lr=1e-2, freq=1)
    run = linregions.simulate(config, seed=2)
    net = engine.init_net(config, 2)
    first = count_segment(net, [config.lo], [config.hi])
    assert run.series["regions"][0] == first.regions
    assert run.series["activation_regions"][0] == first.activation_regions
    assert run.series["density"][0] == (first.activation_regions - 1) / 2.0
    assert run.series["loss"][-1] < 0.5 * run.series["loss"][0]
    theory = linregions.predict(config)
    agreement = linregions.compare(run, theory)
    assert agreement["initial_regions"] == first.regions
    assert math.isclose(agreement["final_over_initial"],
                        run.series["regions"][-1] / run.series["regions"][0])  # fmt: skip


def test_should_stop_keeps_the_records_made_so_far():
    config = Config(widths=(8, 8), steps=100, records=10, train_points=16)
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 3

    chunks = []
    run = linregions.simulate(config, seed=0, should_stop=stop, on_chunk=chunks.append)
    assert run.status == "interrupted" and len(run.series["step"]) == 3
    assert sum(len(c["step"]) for c in chunks) == 3


def test_a_diverging_run_stops_cleanly_and_keeps_its_data():
    config = Config(widths=(8, 8), optimizer="gd", lr=1000.0, steps=2000, records=12,
                    train_points=16)  # fmt: skip
    run = linregions.simulate(config, seed=0)
    assert run.status == "diverged" and "non-finite" in (run.message or "")
    assert len(run.series["step"]) >= 1 and np.all(np.isfinite(run.series["loss"]))
    assert run.summary["diverged_at_step"] > run.series["step"][-1]

"""The run: GD against its exact curve, Adam and GD reaching the exact least-squares solution,
the theory's identities, divergence, interruption and bit-for-bit seeds."""

from __future__ import annotations

import numpy as np
import pytest

from theoryscope.experiments.fem import bases, engine, theory
from theoryscope.experiments.fem.compare import compare as agree
from theoryscope.experiments.fem.config import Config


def _gd_reference(problem, steps):
    """Plain float64 NumPy GD in coefficient space, measured through the FE basis."""
    a = np.zeros(len(problem.load))
    out, done = [], 0
    for s in steps:
        for _ in range(int(s) - done):
            a = a - problem.eta * (problem.gram @ a - problem.load)
        done = int(s)
        out.append(problem.excess(problem.nodal(a)))
    return np.array(out)


@pytest.mark.parametrize("basis", ["relu", "fe"])
def test_exact_gd_curve_matches_gradient_descent(basis):
    cfg = Config(basis=basis, nodes="random", n=12, steps=3000, records=15, dtype="float64",
                 lr=1.5)  # fmt: skip
    problem = theory.build_problem(cfg)
    steps = theory.record_steps(cfg)
    ref = _gd_reference(problem, steps)
    pred = theory.gd_excess(problem, steps)
    keep = ref > 1e-13 * ref[0]
    assert np.max(np.abs(pred[keep] - ref[keep]) / ref[keep]) < 1e-9


def test_theory_identities():
    cfg = Config(basis="relu", n=25, nodes="adaptive", dtype="float64")
    p = theory.build_problem(cfg)
    m = bases.mass_matrix(p.nodes)
    pif2 = float(p.v_star @ m @ p.v_star)  # ||Pi f||^2
    assert np.sum(p.q**2) == pytest.approx(pif2, rel=1e-12)
    assert p.e_star == pytest.approx(0.5 * (p.norm2 - pif2), rel=1e-8)
    # the excess of a = 0 is 1/2 ||Pi f||^2 and equals the curve at s = 0
    assert p.excess(np.zeros(25)) == pytest.approx(0.5 * pif2, rel=1e-12)
    assert theory.gd_excess(p, np.array([0]))[0] == pytest.approx(0.5 * pif2, rel=1e-12)
    # the exact LS solution in the ReLU basis has the FE solution's nodal values
    a_star = np.linalg.solve(p.gram, p.load)
    assert np.max(np.abs(p.nodal(a_star) - p.v_star)) < 1e-8
    s = theory.steps_to_fraction(p)
    assert s is not None
    e0 = theory.gd_excess(p, np.array([0.0]))[0]
    assert theory.gd_excess(p, np.array([np.ceil(s)]))[0] <= 0.01 * e0
    assert theory.gd_excess(p, np.array([np.floor(s)]))[0] > 0.01 * e0


def test_float64_run_follows_the_exact_curve_and_its_readouts():
    cfg = Config(basis="relu", n=30, steps=20_000, records=40, dtype="float64")
    th = theory.predict(cfg)
    run = engine.simulate(cfg)
    ag = agree(run, th)
    assert run.status == "finished" and ag["records"] == len(run.series["step"])
    assert ag["excess_max_rel_error"] < 1e-8
    assert ag["steps_to_fraction"] == pytest.approx(ag["steps_to_fraction_predicted"], rel=0.05)
    modes = run.series["mode_residual"]
    pred = np.asarray(th.mode_residual)[: len(modes)]
    big = pred > 1e-10
    assert np.allclose(modes[big], pred[big], rtol=1e-6)
    # excess = loss - E*, and the loss never beats the LS floor
    assert np.all(run.series["loss"] >= th.loss_floor)


@pytest.mark.parametrize("mode", ["gd", "adam"])
def test_training_in_the_fe_basis_reaches_the_exact_least_squares_fit(mode):
    # cond(M) ~ 320 on these nodes: GD needs ~ 320 log(1/tol) steps
    cfg = Config(basis="fe", n=40, nodes="adaptive", steps=5000 if mode == "adam" else 3000,
                 mode=mode, adam_lr=1e-2, dtype="float64", records=30)  # fmt: skip
    th = theory.predict(cfg)
    run = engine.simulate(cfg)
    ag = agree(run, th)
    assert ag["final_excess"] < 1e-8 * th.initial_excess
    assert ag["final_max_error"] == pytest.approx(th.ls_max_error, rel=1e-3)
    assert ag["final_loss"] == pytest.approx(th.loss_floor, rel=1e-3)


def test_relu_gd_crawls_where_fe_gd_is_done():
    relu = theory.predict(Config(basis="relu", n=100, dtype="float64"))
    fe = theory.predict(Config(basis="fe", n=100, dtype="float64"))
    assert fe.steps_to_fraction is not None and fe.steps_to_fraction <= 10
    assert relu.steps_to_fraction is not None and relu.steps_to_fraction > 1000
    assert relu.condition_number > 1e8 > 10 > fe.condition_number


def test_diverging_step_stops_cleanly_with_its_data():
    cfg = Config(basis="relu", n=20, lr=2.5, steps=2000, records=60)
    run = engine.simulate(cfg)
    assert run.status == "diverged" and run.message and "diverged" in run.message
    assert len(run.series["step"]) > 3 and np.all(np.isfinite(run.series["loss"]))
    assert run.summary["diverged_at_step"] > run.series["step"][-1]


def test_should_stop_interrupts_with_the_records_so_far():
    calls = iter(range(100))
    run = engine.simulate(Config(n=10, steps=1000, records=30),
                          should_stop=lambda: next(calls) >= 5)  # fmt: skip
    assert run.status == "interrupted" and len(run.series["step"]) == 5


def test_runs_are_reproducible_bit_for_bit():
    cfg = Config(basis="relu", nodes="random", n=24, steps=500, records=20, mode="adam",
                 node_seed=3)  # fmt: skip
    a, b = engine.simulate(cfg, seed=3), engine.simulate(cfg, seed=3)
    for key in a.series:
        assert np.array_equal(a.series[key], b.series[key]), key
    other = engine.simulate(cfg.replace(node_seed=4), seed=4)
    assert not np.array_equal(a.series["excess"], other.series["excess"])

"""Polynomial networks: Gaussian closed forms, gradients, landscape, incremental learning, CLI.

Everything is NumPy (no compiles); runs are small (d <= 6, a few thousand steps).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from numpy.polynomial import hermite_e

from theoryscope.errors import ConfigError
from theoryscope.experiments import polynets
from theoryscope.experiments.polynets import population, theory
from theoryscope.experiments.polynets.config import Config
from theoryscope.experiments.polynets.model import make_teacher, teacher_spectrum
from theoryscope.store import RunStore


def _fd_grad(fun, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = h
        g.flat[i] = (fun(x + e) - fun(x - e)) / (2 * h)
    return g


# -- closed forms -----------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [1, 2, 3, 4, 5])
def test_hermite_coefficients_expand_the_monomial(p):
    coef = np.zeros(p + 1)
    for k, c in population.hermite_coefficients(p).items():
        coef[k] = c
    z = np.linspace(-2, 2, 7)
    np.testing.assert_allclose(hermite_e.hermeval(z, coef), z**p, atol=1e-12)


def test_degree_two_kernel_is_isserlis():
    rng = np.random.default_rng(1)
    u, v = rng.standard_normal(5), rng.standard_normal(5)
    k = population.kernel(2, np.float64(u @ v), np.float64(u @ u), np.float64(v @ v))
    assert k == pytest.approx(2 * (u @ v) ** 2 + (u @ u) * (v @ v))
    k3 = population.kernel(3, np.float64(u @ v), np.float64(u @ u), np.float64(v @ v))
    assert k3 == pytest.approx(6 * (u @ v) ** 3 + 9 * (u @ v) * (u @ u) * (v @ v))


@pytest.mark.parametrize("p", [2, 3, 4])
def test_population_loss_matches_monte_carlo(p):
    rng = np.random.default_rng(p)
    w = 0.5 * rng.standard_normal((1, 3, 4))
    w_star = 0.5 * rng.standard_normal((2, 4))
    exact = float(population.loss_and_grad(p, w, w_star, grad=False)[0][0])
    mean, err = population.monte_carlo_loss(p, w[0], w_star, 400_000, rng)
    assert abs(mean - exact) < 4 * err, (mean, exact, err)
    assert err < 0.03 * exact  # the check has teeth: a wrong constant would fail it


def test_matrix_form_equals_hermite_kernel_form_for_degree_two():
    rng = np.random.default_rng(0)
    w, w_star = rng.standard_normal((3, 4, 5)), rng.standard_normal((2, 5))
    a_loss, a_grad = population.loss_and_grad(2, w, w_star)
    b_loss, b_grad = population.kernel_loss_and_grad(2, w, w_star)
    np.testing.assert_allclose(a_loss, b_loss, rtol=1e-12)
    np.testing.assert_allclose(a_grad, b_grad, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("p", [2, 3, 4])
def test_population_gradient_matches_finite_differences(p):
    rng = np.random.default_rng(10 + p)
    w, w_star = 0.7 * rng.standard_normal((1, 3, 4)), 0.7 * rng.standard_normal((2, 4))
    _, g = population.loss_and_grad(p, w, w_star)

    def f(a):
        return float(population.loss_and_grad(p, a, w_star, grad=False)[0][0])

    np.testing.assert_allclose(g, _fd_grad(f, w), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("p", [2, 3])
def test_sample_gradient_matches_finite_differences(p):
    rng = np.random.default_rng(20 + p)
    w, w_star = rng.standard_normal((1, 2, 3)), rng.standard_normal((2, 3))
    x = rng.standard_normal((7, 3))
    _, g = population.sample_loss_and_grad(p, w, w_star, x)

    def f(a):
        return float(population.sample_loss_and_grad(p, a, w_star, x)[0][0])

    np.testing.assert_allclose(g, _fd_grad(f, w), rtol=1e-6, atol=1e-6)


# -- theory ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("r", [1, 2, 3, 5])
def test_best_rank_closed_form_matches_numeric_and_is_attained(r):
    rng = np.random.default_rng(r)
    lam = np.sort(rng.uniform(0.1, 2.0, 5))[::-1]
    closed, mu = theory.best_rank(lam, r)
    numeric, mu_num = theory.best_rank_numeric(lam, r)
    assert closed == pytest.approx(numeric, rel=1e-7, abs=1e-12)
    np.testing.assert_allclose(mu, mu_num, atol=1e-6)
    # the loss of M = sum mu_i u_i u_i^T (eigenvectors aligned with M*) is the closed form
    q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    w_star = np.sqrt(lam)[:, None] * q.T
    k = min(r, 5)
    w = (np.sqrt(mu)[:, None] * q.T[:k])[None]
    assert float(population.loss_and_grad(2, w, w_star, grad=False)[0][0]) == pytest.approx(closed)
    if r < 5:  # the trace term matters: plain Eckart-Young truncation (mu = lambda) is worse
        trunc = (np.sqrt(lam[:k])[:, None] * q.T[:k])[None]
        assert population.loss_and_grad(2, trunc, w_star, grad=False)[0][0] > closed + 1e-3


def test_learning_times_are_ordered_and_scale_with_log_init():
    lam = np.array([1.0, 0.5, 0.25, 0.0])
    t_a, _ = theory.learning_times(lam, 4, 1e-6)
    t_b, _ = theory.learning_times(lam, 4, 1e-12)
    assert np.all(np.diff(t_a) > 0)
    # halving log(m0) roughly doubles every time (exact for the first one)
    assert t_b[0] / t_a[0] == pytest.approx(math.log(2 * 0.625 / 1e-12) / math.log(1.25e6))


# -- simulations ----------------------------------------------------------------------------------
LANDSCAPE = Config(d=6, teacher_width=3, width=1, init=0.5, lr=0.01, steps=3000)


@pytest.fixture(scope="module")
def landscape_table():
    return polynets.landscape(LANDSCAPE, widths=[1, 2, 3, 4], seeds=range(4))


def test_over_parameterized_students_reach_zero_loss(landscape_table):
    rows = {row["width"]: row for row in landscape_table["rows"]}
    for r in (3, 4):
        assert rows[r]["regime"] == "over-parameterized"
        assert rows[r]["success_rate"] == 1.0
        assert rows[r]["final_loss_max"] < 1e-3 * landscape_table["teacher_norm"]


def test_under_parameterized_final_loss_is_the_best_rank_r_loss(landscape_table):
    rows = {row["width"]: row for row in landscape_table["rows"]}
    for r in (1, 2):
        assert rows[r]["regime"] == "under-parameterized"
        lam = [1.0, 0.5, 0.25]
        tail = lam[r:]
        expected = 2 * sum(x * x for x in tail) + 2 * sum(tail) ** 2 / (r + 2)
        assert rows[r]["optimal_loss"] == pytest.approx(expected)
        for final in rows[r]["final_losses"]:
            assert final == pytest.approx(expected, rel=1e-4)
        assert rows[r]["success_rate"] == 1.0


INCREMENTAL = Config(d=6, teacher_width=3, width=4, init=1e-4, lr=0.01, steps=400)


@pytest.fixture(scope="module")
def incremental():
    run = polynets.simulate(INCREMENTAL, seed=0)
    th = polynets.predict(INCREMENTAL)
    return run, th, polynets.compare(run, th)


def test_eigen_directions_are_learned_in_order_at_predicted_times(incremental):
    run, th, a = incremental
    assert run.status == "finished"
    assert a["learned_in_order"] is True
    measured, predicted = a["learn_times_measured"], a["learn_times_predicted"]
    assert len(measured) == 3 and None not in measured
    for m, p in zip(measured, predicted, strict=True):
        assert abs(m - p) / p < 0.3, (measured, predicted)
    # the trace-corrected ratio beats the naive lambda_1 / lambda_j for the last direction
    naive, pred = a["learn_ratio_naive"][-1], a["learn_ratio_predicted"][-1]
    assert abs(a["learn_ratio_measured"][-1] - pred) < abs(a["learn_ratio_measured"][-1] - naive)


def test_saddle_values_and_final_spectrum(incremental):
    run, th, a = incremental
    # the trace term lifts the first saddle to lambda_1 + T_1 / 3 = 1.25: the top eigenvalue
    # overshoots lambda_1 = 1 towards it before direction 2 pulls it back (no overshoot without it)
    assert 1.15 < max(run.series["eig_1"]) <= 1.25 + 1e-3
    np.testing.assert_allclose(a["final_eigs"][:3], [1.0, 0.5, 0.25], atol=0.02)


def test_run_reproduces_bit_for_bit_and_streams_chunks():
    cfg = Config(d=4, teacher_width=2, width=2, steps=120, record_every=1)
    chunks = []
    a = polynets.simulate(cfg, seed=3, on_chunk=chunks.append)
    b = polynets.simulate(cfg, seed=3)
    np.testing.assert_array_equal(a.series["loss"], b.series["loss"])
    assert sum(len(c["step"]) for c in chunks) == len(a.series["step"]) == 121


def test_finite_sample_training_records_population_loss():
    cfg = Config(d=4, teacher_width=2, width=3, init=0.3, lr=0.005, steps=2000, samples=200)
    run = polynets.simulate(cfg, seed=0)
    assert run.series["loss"][-1] < 1e-3 * run.series["loss"][0]
    assert run.series["population_loss"][-1] < 1e-2 * run.series["population_loss"][0]
    assert not np.allclose(run.series["loss"], run.series["population_loss"])


def test_diverging_run_is_marked_and_keeps_finite_data():
    cfg = Config(d=4, teacher_width=2, width=3, init=1.0, lr=1.0, steps=200, record_every=1)
    run = polynets.simulate(cfg, seed=0)
    assert run.status == "diverged"
    assert all(np.isfinite(v).all() for v in run.series.values())
    assert 0 < len(run.series["step"]) < 201


def test_degree_three_teacher_is_learned_by_a_wider_student():
    cfg = Config(d=4, teacher_width=2, width=3, degree=3, init=0.3, lr=0.002, steps=3000)
    run = polynets.simulate(cfg, seed=1)
    th = polynets.predict(cfg)
    assert th.optimal_loss == 0.0 and th.learn_times is None
    assert polynets.compare(run, th)["success"] is True


def test_teacher_spectrum_is_the_configured_decay():
    lam, _ = teacher_spectrum(make_teacher(Config(d=5, teacher_width=3, teacher_decay=0.4)))
    np.testing.assert_allclose(lam, [1.0, 0.4, 0.16, 0.0, 0.0], atol=1e-12)


# -- config and CLI -------------------------------------------------------------------------------
def test_config_round_trips():
    cfg = Config(d=7, samples=50)
    assert Config.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


@pytest.mark.parametrize(
    "data, field",
    [
        ({"d": 0}, "d"),
        ({"width": 0}, "width"),
        ({"teacher_width": 0}, "teacher_width"),
        ({"degree": 5}, "degree"),
        ({"init": 0.0}, "init"),
        ({"lr": -1.0}, "lr"),
        ({"steps": 0}, "steps"),
        ({"samples": 0}, "samples"),
        ({"teacher": "cats"}, "teacher"),
        ({"colour": 1}, "colour"),
    ],
)
def test_bad_config_names_the_field(data, field):
    with pytest.raises(ConfigError) as info:
        Config.from_dict(data)
    assert info.value.field == field and "allowed" in str(info.value)


def _runs_in(path) -> int:
    return len(RunStore(path).list_runs()) if path.exists() else 0


@pytest.mark.parametrize(
    "args, field",
    [
        (["train", "--d", "0"], "d"),
        (["train", "--width", "0"], "width"),
        (["train", "--teacher-width", "0"], "teacher_width"),
        (["train", "--degree", "7"], "degree"),
        (["train", "--init", "0"], "init"),
        (["train", "--init", "-1e-3"], "init"),
        (["train", "--lr", "0"], "lr"),
        (["train", "--steps", "0"], "steps"),
        (["train", "--seed", "-1"], "seed"),
        (["train", "--samples", "10", "--population"], "samples"),
        (["landscape", "--widths", "0,2"], "widths"),
        (["landscape", "--widths", "a"], "widths"),
        (["landscape", "--seeds", "5-2"], "seeds"),
        (["landscape", "--seeds", "x"], "seeds"),
        (["landscape", "--seeds", "-3"], "seeds"),
        (["landscape", "--d", "0"], "d"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2_nothing_stored(args, field, store_path, capsys):
    from theoryscope.cli.main import main

    code = main(["polynets", *args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {field}: "), err
    assert "allowed" in err
    assert _runs_in(store_path) == 0


def test_cli_train_json_stores_the_run_and_writes_the_figure(store_path, tmp_path, capsys):
    from theoryscope.cli.main import main

    code = main(
        ["polynets", "train", "--d", "4", "--teacher-width", "2", "--width", "1", "--steps",
         "300", "--init", "0.1", "--json", "--out", str(tmp_path / "figs")]
    )  # fmt: skip
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished"
    a = payload["agreement"]
    assert a["regime"] == "under-parameterized" and a["final_over_optimal"] == pytest.approx(1.0)
    assert payload["figure"].endswith(".png") and (tmp_path / "figs").exists()
    assert RunStore(store_path).get_run(payload["run_id"]).status == "finished"


def test_cli_diverging_run_exits_3_and_is_stored_as_diverged(store_path, tmp_path, capsys):
    from theoryscope.cli.main import main

    code = main(
        ["polynets", "train", "--d", "4", "--teacher-width", "2", "--width", "3", "--lr", "1",
         "--init", "1", "--steps", "100", "--json", "--no-figure"]
    )  # fmt: skip
    payload = json.loads(capsys.readouterr().out)
    assert code == 3 and payload["status"] == "diverged"
    stored = RunStore(store_path).get_run(payload["run_id"])
    assert stored.status == "diverged"


def test_plot_accepts_the_theory_object_or_its_stored_dict(incremental):
    run, th, _ = incremental
    counts = [len(polynets.plot(run, t).axes[1].lines) for t in (th, th.to_dict(), None)]
    # 4 eigenvalue curves; with theory also 3 teacher, 3 optimal and 3 learning-time lines
    assert counts == [13, 13, 4]

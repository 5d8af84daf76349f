"""Implicit bias: gradients, the Q_alpha limits, the SVM direction, conserved balancedness,
Saxe's sigmoids, divergence and the CLI.

All NumPy / SciPy in float64 (no JAX compile); problems are small (d <= 100, n <= 50, k = 3).
"""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from theoryscope.errors import ConfigError
from theoryscope.experiments import implicit
from theoryscope.experiments.implicit import deeplinear, diagonal, margin
from theoryscope.experiments.implicit.config import Config
from theoryscope.runner import execute
from theoryscope.store import RunStore


def _fd_grad(fun, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = h
        g.flat[i] = (fun(x + e) - fun(x - e)) / (2 * h)
    return g


@pytest.fixture(scope="module")
def small_problem():
    """d = 30, n = 12, two nonzeros: min-L1 recovers beta* exactly (checked below)."""
    return diagonal.make_data(30, 12, 2, 1)


# -- diagonal linear networks ---------------------------------------------------------------------
def test_diagonal_gradients_match_finite_differences(small_problem):
    x, y, _ = small_problem
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=30), rng.normal(size=30)
    gu, gv = diagonal.grads(u, v, x, y)
    np.testing.assert_allclose(gu, _fd_grad(lambda a: diagonal.loss(a, v, x, y), u), rtol=1e-6)
    np.testing.assert_allclose(gv, _fd_grad(lambda b: diagonal.loss(u, b, x, y), v), rtol=1e-6)


def test_q_derivative_is_arcsinh_and_limits():
    z = np.linspace(-20, 20, 41)
    np.testing.assert_allclose(_fd_grad(lambda t: float(np.sum(diagonal.q(t))), z),
                               np.arcsinh(z / 2), atol=1e-7)  # fmt: skip
    assert diagonal.q(np.array([0.0]))[0] == 0.0
    # alpha -> inf: Q_alpha(beta) -> ||beta||^2 / (4 alpha^2); alpha -> 0: ~ ||beta||_1 log(1/a^2)
    beta = np.array([1.0, -2.0, 0.5])
    a = 1e3
    assert abs(diagonal.q_alpha(beta, a) * 4 * a**2 / np.sum(beta**2) - 1) < 1e-6
    a = 1e-8
    ratio = diagonal.q_alpha(beta, a) / (np.sum(np.abs(beta)) * np.log(1 / a**2))
    assert abs(ratio - 1) < 0.1


def test_min_l1_recovers_the_sparse_target(small_problem):
    x, y, beta_star = small_problem
    assert diagonal.rel_dist(diagonal.min_l1(x, y), beta_star) < 1e-10
    assert diagonal.rel_dist(diagonal.min_l2(x, y), beta_star) > 0.5


def test_q_alpha_limit_is_feasible_and_minimal(small_problem):
    x, y, _ = small_problem
    alpha = 0.3
    beta = diagonal.q_alpha_limit(x, y, alpha)
    assert np.linalg.norm(x @ beta - y) < 1e-9
    null = np.linalg.svd(x)[2][x.shape[0] :]  # rows span the null space of X
    base = diagonal.q_alpha(beta, alpha)
    rng = np.random.default_rng(1)
    for _ in range(20):
        direction = rng.normal(size=null.shape[0]) @ null
        for eps in (1e-3, 1e-1):
            assert diagonal.q_alpha(beta + eps * direction, alpha) > base


@pytest.mark.parametrize("alpha, to_l1_max", [(1e-4, 0.15), (1e-8, 0.01), (1e-12, 5e-4)])
def test_small_alpha_limit_approaches_min_l1(small_problem, alpha, to_l1_max):
    x, y, _ = small_problem
    beta = diagonal.q_alpha_limit(x, y, alpha)
    assert diagonal.rel_dist(beta, diagonal.min_l1(x, y)) < to_l1_max


@pytest.mark.parametrize("alpha, to_l2_max", [(3.0, 1e-4), (100.0, 1e-9)])
def test_large_alpha_limit_is_min_l2(small_problem, alpha, to_l2_max):
    x, y, _ = small_problem
    beta = diagonal.q_alpha_limit(x, y, alpha)
    assert diagonal.rel_dist(beta, diagonal.min_l2(x, y)) < to_l2_max


def test_trained_beta_matches_q_alpha_limit_with_error_linear_in_the_step(small_problem):
    """At alpha = 0.1 GD converges to the predicted limit up to a finite-step bias ~ eta."""
    x, y, _ = small_problem
    limit = diagonal.q_alpha_limit(x, y, 0.1)
    dists = []
    for lr in (0.01, 0.04):
        u = np.full((1, 30), 0.1)
        u, v = diagonal.gd_chunk(u, u.copy(), x, y, np.array([lr]), int(100 / lr))
        assert diagonal.loss(u, v, x, y)[0] < 1e-8
        dists.append(diagonal.rel_dist(diagonal.beta_of(u, v)[0], limit))
    assert dists[0] < 0.003
    assert 3.0 < dists[1] / dists[0] < 5.0  # 4x the step, 4x the distance


def test_alpha_sweep_moves_from_l1_to_l2():
    cfg = Config(mode="diagonal", d=30, n=12, sparsity=2, data_seed=1, alpha_sweep=True,
                 sweep_min=1e-3, sweep_max=10.0, sweep_points=5, steps=6000, lr=0.02)  # fmt: skip
    theory = implicit.predict(cfg)
    run = implicit.simulate(cfg, 0)
    agr = implicit.compare(run, theory)
    assert run.status == "finished" and run.series["loss"].shape == (len(run.series["step"]), 5)
    to_l1, to_l2 = np.asarray(agr["to_l1"]), np.asarray(agr["to_l2"])
    assert to_l2[-1] < 1e-4 and to_l1[-1] > 0.5  # kernel regime: min-L2
    assert to_l1[0] < 0.35 < to_l2[0]  # rich side: nearer min-L1
    assert np.all(np.diff(to_l2) < 0)
    # the rich end converges slowest (off-support coordinates decay like 1/t): alpha >= 0.01 only
    assert np.max(agr["to_limit"][1:]) < 0.02


# -- max margin -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def margin_data():
    x, y = margin.make_data(2, 50, 0.1, 0.0, 0)
    return x, y, y[:, None] * x


def test_logistic_gradient_matches_finite_differences(margin_data):
    _, _, z = margin_data
    w = np.array([0.7, -1.3])
    np.testing.assert_allclose(margin.grad(w, z), _fd_grad(lambda a: margin.loss(a, z), w),
                               rtol=1e-6)  # fmt: skip


def test_svm_satisfies_kkt(margin_data):
    _, _, z = margin_data
    w, a = margin.svm(z)
    assert abs(np.min(z @ w) - 1.0) < 1e-9  # active constraints at exactly 1
    assert np.all(a >= 0)
    np.testing.assert_allclose(z.T @ a, w, atol=1e-9)  # stationarity w = sum a_i z_i
    assert np.all(a[z @ w > 1 + 1e-6] == 0)  # complementary slackness
    rng = np.random.default_rng(0)  # no feasible direction has a larger margin
    for _ in range(200):
        u = rng.normal(size=2)
        assert np.min(z @ u) / np.linalg.norm(u) <= 1 / np.linalg.norm(w) + 1e-12


def test_gd_direction_approaches_svm_like_one_over_log_t():
    cfg = Config(mode="margin", steps=20000, records=120)
    run = implicit.simulate(cfg, 0)
    agr = implicit.compare(run, implicit.predict(cfg))
    assert agr["angle_decreasing_late"]
    assert agr["final_angle"] < 0.02
    assert agr["fit_r2"] > 0.95 and agr["fit_slope"] > 0
    assert 0.9 < agr["final_margin_ratio"] < 1.0
    assert agr["offset_error"] < 0.2  # w(t) - w_hat log t heads to the predicted w_tilde


def test_non_separable_request_is_rejected():
    with pytest.raises(ConfigError, match="flip"):
        implicit.predict(Config(mode="margin", flip=0.2))


# -- deep linear networks -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def target():
    return deeplinear.make_target([3.0, 2.0, 1.0], 0)


def test_deep_linear_gradients_match_finite_differences(target):
    s, u, v = target
    ws = deeplinear.init_weights(u, v, 3, 4, 0.8, "random", 0)
    grads = deeplinear.grads(ws, s)
    for layer in range(3):

        def f(w, layer=layer):
            return deeplinear.loss([*ws[:layer], w, *ws[layer + 1 :]], s)

        np.testing.assert_allclose(grads[layer], _fd_grad(f, ws[layer]), rtol=1e-5, atol=1e-9)


def test_balancedness_is_conserved_by_gradient_flow(target):
    s, u, v = target
    ws = deeplinear.init_weights(u, v, 3, 4, 0.8, "random", 1)
    b0 = deeplinear.balancedness(ws)
    assert max(np.linalg.norm(b) for b in b0) > 0.1  # a nontrivial conserved quantity
    wt = deeplinear.gradient_flow(ws, s, 5.0)
    assert deeplinear.loss(wt, s) < 0.5 * deeplinear.loss(ws, s)  # it did train
    for b, c in zip(deeplinear.balancedness(wt), b0, strict=True):
        assert np.linalg.norm(b - c) < 1e-7


def test_gd_balancedness_drift_is_first_order_in_eta_over_fixed_time(target):
    """O(eta^2) per step, T / eta steps: the drift at a fixed time halves with eta."""
    s, u, v = target
    drifts = []
    for eta in (0.02, 0.01):
        ws = deeplinear.init_weights(u, v, 3, 4, 0.8, "random", 1)
        b0 = deeplinear.balancedness(ws)
        wt = deeplinear.gd_chunk(ws, s, eta, int(round(2.0 / eta)))
        drifts.append(max(np.linalg.norm(b - c) for b, c in
                          zip(deeplinear.balancedness(wt), b0, strict=True)))  # fmt: skip
    assert 1.6 < drifts[0] / drifts[1] < 2.5


def test_closed_form_sigmoid_matches_gradient_flow_of_the_matrices(target):
    s, u, v = target
    ws = deeplinear.init_weights(u, v, 2, 3, 1e-2, "balanced", 0)
    u0 = 1e-4
    np.testing.assert_allclose(deeplinear.mode_strengths(ws, u, v), u0, rtol=1e-12)
    for t in (1.5, 3.0, 5.0):
        wt = deeplinear.gradient_flow(ws, s, t)
        want = [deeplinear.mode_curve(sv, u0, np.array([t]))[0] for sv in (3.0, 2.0, 1.0)]
        np.testing.assert_allclose(deeplinear.mode_strengths(wt, u, v), want, rtol=1e-6)


def test_depth_three_mode_ode_matches_gradient_flow(target):
    s, u, v = target
    ws = deeplinear.init_weights(u, v, 3, 3, 0.2, "balanced", 0)
    wt = deeplinear.gradient_flow(ws, s, 4.0)
    want = [deeplinear.mode_curve(sv, 0.2**3, np.array([4.0]), 3)[0] for sv in (3.0, 2.0, 1.0)]
    np.testing.assert_allclose(deeplinear.mode_strengths(wt, u, v), want, rtol=1e-6)


def test_gd_modes_follow_the_sigmoids_larger_singular_values_first():
    cfg = Config(mode="deeplinear", singular_values=(3.0, 2.0, 1.0), init=1e-3, lr=0.005)
    run = implicit.simulate(cfg, 0)
    agr = implicit.compare(run, implicit.predict(cfg))
    assert agr["max_error_gd"] < 1e-10  # the per-mode discrete map is exact for balanced GD
    assert agr["max_error"] < 0.04  # gradient flow closed form, O(eta) away
    assert agr["order_agrees"] and agr["order_measured"] == [0, 1, 2]
    np.testing.assert_allclose(agr["half_time_measured"], agr["half_time_predicted"], rtol=0.05)
    np.testing.assert_allclose(agr["final_modes"], [3.0, 2.0, 1.0], rtol=1e-4)


# -- protocol, divergence, CLI --------------------------------------------------------------------
def test_config_round_trips_and_rejects_unknown_keys():
    cfg = Config(mode="deeplinear", singular_values="4,1", depth=3)
    again = Config.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and again.config_hash() == cfg.config_hash()
    with pytest.raises(ConfigError, match="bogus"):
        Config.from_dict({"bogus": 1})


def test_diverging_run_is_stored_as_diverged_with_finite_data(store_path):
    store = RunStore(store_path)
    cfg = Config(mode="diagonal", d=30, n=12, sparsity=2, alpha=1.0, lr=5.0, steps=2000)
    result = execute("implicit", cfg, 0, store=store)
    assert result.run.status == "diverged"
    series = store.get_series(result.run_id)
    assert len(series["step"]) >= 1 and np.isfinite(series["loss"]).all()
    assert store.get_run(result.run_id).status == "diverged"


def _runs_in(path) -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


@pytest.mark.parametrize(
    "args, field",
    [
        (["diagonal", "--alpha", "0"], "alpha"),
        (["diagonal", "--alpha", "-1"], "alpha"),
        (["diagonal", "--n", "0"], "n"),
        (["diagonal", "--d", "0"], "d"),
        (["diagonal", "--d", "10", "--sparsity", "11"], "sparsity"),
        (["diagonal", "--lr", "0"], "lr"),
        (["diagonal", "--steps", "0"], "steps"),
        (["diagonal", "--seed", "-1"], "seed"),
        (["margin", "--flip", "0.2"], "flip"),
        (["margin", "--n", "0"], "n"),
        (["margin", "--lr", "-0.5"], "lr"),
        (["deeplinear", "--depth", "1"], "depth"),
        (["deeplinear", "--singular-values", "3,0"], "singular_values"),
        (["deeplinear", "--init", "0"], "init"),
        (["deeplinear", "--init-mode", "orthogonal"], "init_mode"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2_nothing_stored(args, field, store_path, capsys):
    from theoryscope.cli.main import main

    code = main(["implicit", *args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {field}: "), err
    assert "allowed" in err
    assert _runs_in(store_path) == 0


def test_cli_diverged_run_exits_3_and_is_stored(store_path, tmp_path, capsys):
    from theoryscope.cli.main import main

    code = main(["implicit", "diagonal", "--d", "30", "--n", "12", "--sparsity", "2",
                 "--alpha", "1", "--lr", "5", "--steps", "2000", "--json", "--no-figure"])  # fmt: skip
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    assert code == 3 and payload["status"] == "diverged"
    assert len(captured.err.strip().splitlines()) == 1
    assert RunStore(store_path).get_run(payload["run_id"]).status == "diverged"


@pytest.mark.parametrize(
    "args, key",
    [
        (["diagonal", "--d", "30", "--n", "12", "--sparsity", "2", "--alpha", "0.1",
          "--steps", "3000"], "to_limit"),
        (["margin", "--steps", "2000"], "final_angle"),
        (["deeplinear", "--singular-values", "2,1", "--init", "0.05"], "max_error"),
    ],
)  # fmt: skip
def test_cli_runs_are_stored_with_a_figure(args, key, store_path, tmp_path, capsys):
    from theoryscope.cli.main import main

    code = main(["implicit", *args, "--json", "--out", str(tmp_path / "figs")])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished"
    assert key in payload["agreement"]
    assert payload["figure"].endswith(".png") and (tmp_path / "figs").exists()
    stored = RunStore(store_path).get_run(payload["run_id"])
    assert stored.status == "finished" and stored.experiment == "implicit"


@pytest.mark.parametrize(
    "cfg",
    [
        Config(mode="diagonal", d=30, n=12, sparsity=2, alpha_sweep=True, sweep_points=3,
               steps=500),
        Config(mode="margin", steps=500),
        Config(mode="deeplinear", singular_values=(2.0, 1.0), init=0.05),
    ],
)  # fmt: skip
def test_plot_accepts_the_stored_theory(cfg, store_path):
    from theoryscope.protocol import Run

    store = RunStore(store_path)
    result = execute("implicit", cfg, 0, store=store)
    stored = store.get_run(result.run_id)
    run = Run("implicit", stored.config, 0, stored.status, store.get_series(result.run_id),
              summary=stored.summary)  # fmt: skip
    fig = implicit.plot(run, stored.theory)
    assert len(fig.axes) >= 2
    from theoryscope.experiments.implicit.theory import theory_from_dict

    again = implicit.compare(run, theory_from_dict(stored.theory))
    assert again.keys() == result.agreement.keys()
    for key, value in result.agreement.items():
        np.testing.assert_allclose(np.asarray(again[key], dtype=float),
                                   np.asarray(value, dtype=float), rtol=1e-12, err_msg=key)  # fmt: skip

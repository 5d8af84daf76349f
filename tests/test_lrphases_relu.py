"""lrphases mode relu: the wide two-layer ReLU net's NTK against the arc-cosine closed form, its
gradient against finite differences, dead units, the phases at known eta lambda_0, the K-section
boundary search, reproducibility, and the mode and its study through the derived CLI.

Shapes are shared between tests (width 256 on the default 16 x 32 data) so that each compiled
GD chunk is built once.
"""

from __future__ import annotations

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

from theoryscope.cli.main import main
from theoryscope.errors import ConfigError
from theoryscope.experiments import lrphases
from theoryscope.experiments.lrphases import relu
from theoryscope.experiments.lrphases.boundaries import inversions, ksection, search_width
from theoryscope.experiments.lrphases.config import Config
from theoryscope.experiments.lrphases.declaration import ReluBoundaryParams
from theoryscope.experiments.lrphases.relu_theory import classify, phase_of
from theoryscope.plots.render import documents, figure_for, render_figure
from theoryscope.protocol import get_experiment
from theoryscope.store import RunStore

RELU = {"mode": "relu", "width": 256, "steps": 300}


def _inputs(n: int, d: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# -- the NTK -------------------------------------------------------------------------------------
@pytest.mark.parametrize("theta", [0.0, 0.3, 1.0, math.pi / 2, 2.5, math.pi])
def test_arc_cosine_closed_form_matches_quadrature(theta):
    """E relu(u.x) relu(u.x') and P(u.x > 0, u.x' > 0) for u ~ N(0, I), unit x, x' at angle
    theta: polar coordinates reduce both to an integral over the angle (E r^4 ... = 2)."""
    x = np.array([[1.0, 0.0], [math.cos(theta), math.sin(theta)]])

    def relu_prod(phi: float) -> float:
        return max(math.cos(phi), 0.0) * max(math.cos(phi - theta), 0.0)

    def both_on(phi: float) -> float:
        return float(math.cos(phi) > 0 and math.cos(phi - theta) > 0)

    pts = [math.pi / 2, 3 * math.pi / 2, (theta + math.pi / 2) % (2 * math.pi),
           (theta + 3 * math.pi / 2) % (2 * math.pi)]  # fmt: skip
    k1 = integrate.quad(relu_prod, 0, 2 * math.pi, points=pts, limit=200)[0] / math.pi
    k0 = integrate.quad(both_on, 0, 2 * math.pi, points=pts, limit=200)[0] / (2 * math.pi)
    expected = k1 + k0 * math.cos(theta)
    assert relu.infinite_width_ntk(x)[0, 1] == pytest.approx(expected, abs=1e-9)
    assert relu.infinite_width_ntk(x)[0, 0] == pytest.approx(1.0)  # Theta_inf(x, x) = |x|^2


def test_ntk_at_init_approaches_the_arc_cosine_kernel_at_large_width():
    """Theta_ab is a mean of m i.i.d. per-unit terms: it sits within 6 standard errors of the
    closed form, and the standard error is small (~ 1/sqrt(m))."""
    x = _inputs(5, 6)
    m = 2**15
    u, v = relu.init_params(0, m, 6)
    with jax.enable_x64(True):
        theta = np.asarray(jax.jit(relu.ntk_matrix)(jnp.asarray(u), jnp.asarray(v),
                                                    jnp.asarray(x)))  # fmt: skip
    pre = x @ u.T
    act, on = np.maximum(pre, 0.0), (pre > 0).astype(float)
    terms = (
        act[:, None, :] * act[None, :, :]
        + (on[:, None, :] * on[None, :, :]) * v**2 * (x @ x.T)[:, :, None]
    )
    stderr = terms.std(axis=2) / math.sqrt(m)
    np.testing.assert_allclose(theta, terms.mean(axis=2), rtol=1e-10)
    closed = relu.infinite_width_ntk(x)
    assert np.all(np.abs(theta - closed) < 6 * stderr)
    assert stderr.max() < 0.02


def test_ntk_matrix_equals_the_jacobian_gram():
    """Theta = J J^T / ... by autodiff: the closed per-unit formula is the NTK of this net."""
    x = _inputs(4, 3, seed=1)
    u, v = relu.init_params(3, 7, 3)
    with jax.enable_x64(True):
        uj, vj, xj = jnp.asarray(u), jnp.asarray(v), jnp.asarray(x)
        ju, jv = jax.jacrev(relu.outputs, argnums=(0, 1))(uj, vj, xj)
        jac = np.concatenate([np.asarray(ju).reshape(4, -1), np.asarray(jv)], axis=1)
        theta = np.asarray(relu.ntk_matrix(uj, vj, xj))
        top = float(relu.ntk_top(uj, vj, xj))
    np.testing.assert_allclose(theta, jac @ jac.T, rtol=1e-12, atol=1e-14)
    assert top == pytest.approx(np.linalg.eigvalsh(jac @ jac.T / 4)[-1], rel=1e-12)


def test_relu_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    m, d, n = 6, 3, 4
    u0, v0 = rng.standard_normal((m, d)), rng.standard_normal(m)
    x, y = rng.standard_normal((n, d)), rng.standard_normal(n)
    h = 1e-6
    assert np.min(np.abs(x @ u0.T)) > 100 * h * np.abs(x).max()  # no kink within reach

    def np_loss(uu: np.ndarray, vv: np.ndarray) -> float:  # independent NumPy version
        return 0.5 * float(np.mean((np.maximum(x @ uu.T, 0.0) @ vv / np.sqrt(m) - y) ** 2))

    def fd(fun, a: np.ndarray) -> np.ndarray:
        g = np.zeros_like(a)
        for i in range(a.size):
            e = np.zeros_like(a)
            e.flat[i] = h
            g.flat[i] = (fun(a + e) - fun(a - e)) / (2 * h)
        return g

    with jax.enable_x64(True):
        gu, gv = jax.jit(relu.grads)(*(jnp.asarray(a) for a in (u0, v0, x, y)))
    np.testing.assert_allclose(np.asarray(gu), fd(lambda a: np_loss(a, v0), u0), atol=1e-8)
    np.testing.assert_allclose(np.asarray(gv), fd(lambda b: np_loss(u0, b), v0), atol=1e-8)


def test_dead_units_keep_their_weights_and_the_alive_fraction_never_grows():
    """A unit off on every input gets no gradient in either layer (A = D = 0), so GD never
    revives it: units only die. At eta lambda_0 = 4.5 some do."""
    cfg = Config(lr_scale=4.5, **RELU)
    run = lrphases.simulate(cfg, seed=0)
    alive = run.series["alive"]
    assert run.status == "finished" and alive[0] == 1.0 and alive[-1] < 1.0
    assert np.all(np.diff(alive) <= 0)
    x = jnp.asarray([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    u = jnp.asarray([[1.0, 0.5], [-1.0, -2.0], [0.3, -1.0]])  # unit 1 is off on every input
    assert float(jnp.max(x @ u[1])) < 0
    v, y = jnp.asarray([1.0, 2.0, -1.0]), jnp.asarray([1.0, -1.0, 0.5])
    u2, v2 = relu.gd_step(u, v, x, y, jnp.asarray(0.7))
    assert np.array_equal(np.asarray(u2[1]), np.asarray(u[1])) and float(v2[1]) == 2.0


# -- phases --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "scale, phase, outcome",
    [(1.0, "lazy", "converged"), (1.9, "lazy", "converged"), (3.0, "catapult", "converged"),
     (20.0, "divergent", "blown up")],
)  # fmt: skip
def test_phase_at_known_eta_lambda0(scale, phase, outcome):
    """Lazy below 2, a catapult at 3 that ends with lambda below 2 / eta, divergence at 20
    (well above the boundary ~5 the study measures on these isotropic inputs)."""
    cfg = Config(lr_scale=scale, **RELU)
    run = lrphases.simulate(cfg, seed=0)
    a = lrphases.compare(run, lrphases.predict(cfg))
    assert a["eta_lambda0"] == pytest.approx(scale, rel=1e-6)
    assert (a["phase_measured"], a["outcome"]) == (phase, outcome)
    assert run.status == ("diverged" if outcome == "blown up" else "finished")
    if phase == "lazy":
        assert abs(a["ntk_change"]) < 0.05 and a["top_rise"] < 1.0
    if phase == "catapult":
        assert a["top_rise"] > 100  # the top mode's loss shot up ...
        assert a["final_ntk_over_two_over_eta"] < 1.0  # ... and lambda fell below 2 / eta
        assert a["final_loss"] < 1e-6 * a["initial_loss"]


def test_lazy_loss_follows_the_linearized_modes_at_large_width():
    """L_t = sum_k (e_k . g_0)^2 (1 - eta lambda_k)^(2t) / 2n from the init's NTK; the NTK moves
    by O(1/sqrt(m)), so at m = 16384 the loss follows it to a few percent over 12 decades."""
    cfg = Config(mode="relu", width=16384, steps=30, lr_scale=1.0, init_seed=1, dtype="float64")
    run = lrphases.simulate(cfg, seed=1)
    theory = lrphases.predict(cfg)
    a = lrphases.compare(run, theory)
    assert a["phase_measured"] == "lazy" and theory.phase == "lazy"
    assert theory.lambda0 == run.summary["lambda0"]
    assert a["lazy_loss_max_rel_err"] < 0.05
    assert run.series["loss"][-1] < 1e-3 * run.series["loss"][0]
    assert a["lambda0"] == pytest.approx(a["lambda0_infinite_width"], rel=0.02)


def test_theory_numbers():
    assert [phase_of(a) for a in (1.0, 1.99, 2.0, 11.9, 12.0)] == [
        "lazy", "lazy", "catapult", "catapult", "divergent",
    ]  # fmt: skip
    assert classify(1.0, math.inf, 1.0, 0.01) == ("divergent", "blown up")
    assert classify(1.0, 0.5, 1e6, 0.01) == ("divergent", "stalled")
    assert classify(1.0, 1e-9, 1e6, 0.01) == ("catapult", "converged")
    assert classify(1.0, 1e-9, 0.9, 0.01) == ("lazy", "converged")
    one = lrphases.predict(Config(mode="relu", n=1, lr=1.5))  # one unit-norm sample
    assert one.lambda0 == pytest.approx(1.0) and one.lambda0_source == "infinite width"
    assert one.eta_lambda0 == pytest.approx(1.5) and one.phase == "lazy"
    assert one.divergent_min == pytest.approx(12.0) and one.divergent_min_uv == pytest.approx(4.0)


# -- the boundary search -------------------------------------------------------------------------
def test_ksection_finds_a_known_threshold_in_every_row():
    thresholds = np.array([2.3, 7.77, 40.0])

    def evaluate(scales: np.ndarray) -> dict[str, np.ndarray]:
        return {"s": scales}

    (found,) = ksection(evaluate, [lambda o: o["s"] > thresholds[:, None]],
                        [(np.full(3, 1.0), np.array([10.0, 10.0, 10.0]))], points=3,
                        tol=1e-3)  # fmt: skip
    assert list(found["bracketed"]) == [True, True, False]  # 40 is outside [1, 10]
    assert np.isnan(found["boundary"][2])
    np.testing.assert_allclose(found["boundary"][:2], thresholds[:2], rtol=1e-3)
    assert np.all(found["hi"][:2] - found["lo"][:2] <= 1e-3 * found["hi"][:2])
    probes = [{"seed": 0, "eta_lambda0": a, "phase": p} for a, p in
              ((1.0, "lazy"), (2.0, "divergent"), (3.0, "catapult"))]  # fmt: skip
    assert inversions(probes) == 1


def test_boundary_search_brackets_both_boundaries_and_reproduces_bit_for_bit():
    cfg = Config(mode="relu", width=256, n=8, d=8, steps=150)
    first = search_width(cfg, [0, 1], max_scale=40.0, points=3, tol=0.02)
    again = search_width(cfg, [0, 1], max_scale=40.0, points=3, tol=0.02)
    assert first["lower"] == again["lower"] and first["upper"] == again["upper"]
    assert first["probes"] == again["probes"]
    for lower, upper in zip(first["lower"], first["upper"], strict=True):
        assert lower is not None and abs(lower - 2.0) < 0.2  # finite width: 2.08 - 2.14 here
        assert upper is not None and 3.0 < upper < 40.0
    for (lo, hi), lower in zip(first["upper_bracket"], first["upper"], strict=True):
        assert hi - lo <= 0.02 * hi and lo < lower < hi
    assert set(first["upper_outcome"]) <= {"blown up", "stalled"}


# -- reproducibility, config, CLI ----------------------------------------------------------------
def test_same_seed_reproduces_bit_for_bit_and_seeds_differ():
    cfg = Config(lr_scale=3.0, **RELU)
    a, b = lrphases.simulate(cfg, seed=7), lrphases.simulate(cfg, seed=7)
    for key in a.series:
        np.testing.assert_array_equal(a.series[key], b.series[key])
    c = lrphases.simulate(cfg, seed=8)
    assert c.summary["lambda0"] != a.summary["lambda0"]


@pytest.mark.parametrize(
    "data, field",
    [
        ({"mode": "relu", "depth": 2}, "depth"),
        ({"mode": "relu", "n": 600}, "n"),
        ({"mode": "relu", "input_mean": -1}, "input_mean"),
        ({"mode": "relu", "converge_tol": 0}, "converge_tol"),
        ({"mode": "relu", "lr": 1.0, "lr_scale": 2.0}, "lr_scale"),
    ],
)
def test_bad_relu_config_names_the_field(data, field):
    with pytest.raises(ConfigError) as info:
        Config.from_dict(data)
    assert info.value.field == field and "allowed" in str(info.value)


@pytest.mark.parametrize(
    "data, field",
    [({"widths": "0"}, "widths"), ({"widths": "64,64"}, "widths"), ({"seeds": 0}, "seeds"),
     ({"max_scale": 2}, "max_scale"), ({"points": 0}, "points"), ({"tol": 1}, "tol"),
     ({"n": 1000}, "n")],
)  # fmt: skip
def test_bad_boundary_params_name_the_field(data, field):
    with pytest.raises(ConfigError) as info:
        ReluBoundaryParams.from_dict(data)
    assert info.value.field == field and "allowed" in str(info.value)


def test_relu_command_stores_the_run_and_the_declared_figure_renders(store_path, capsys):
    code = main(["lrphases", "relu", "--preset", "relu-tiny", "--json", "--no-figure"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished"
    assert payload["config"]["mode"] == "relu" and payload["phase_measured"] == "catapult"
    names = {row["name"] for row in payload["metrics"]}
    assert {"relu_final_ntk", "relu_lambda0", "relu_paper_max"} <= names
    assert not names & {"peak_step", "final_ntk", "late_sharpness"}  # uv / eos rows stay out
    store = RunStore(store_path)
    stored = store.get_run(payload["run_id"])
    assert stored.theory["divergent_min_uv"] == pytest.approx(4.0 / stored.summary["lambda0"])
    docs = documents(series=store.get_series(stored.id), theory=stored.theory,
                     agreement=stored.agreement, summary=stored.summary,
                     config=stored.config)  # fmt: skip
    figure = figure_for(get_experiment("lrphases").figures, stored.config)
    assert figure is not None and figure.name == "relu"
    loss_ax, ntk_ax, alive_ax = render_figure(figure, docs).axes[:3]
    assert len(loss_ax.lines) >= 3  # loss, top-mode loss, linearized curve
    assert len(ntk_ax.lines) >= 4  # lambda_t, 2/eta, 4/eta, 12/eta
    assert len(alive_ax.lines) >= 1


def test_boundary_study_runs_through_the_cli_and_is_stored(store_path, tmp_path, capsys):
    code = main(["lrphases", "relu-boundaries", "--widths", "64,128", "--seeds", "2", "--steps",
                 "100", "--n", "8", "--d", "8", "--max-scale", "30", "--tol", "0.05", "--json",
                 "--out", str(tmp_path)])  # fmt: skip
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished" and payload["study"] == "relu-boundaries"
    assert payload["widths"] == [64, 128] and payload["seeds"] == [0, 1]
    rows = payload["per_width"]
    assert [r["width"] for r in rows] == [64, 128] and all(r["seeds"] == 2 for r in rows)
    # narrow nets: the NTK moves by O(1/sqrt(m)) ~ 10 %, so the lower boundary wanders about 2
    assert all(1.5 < r["lower_mean"] < 2.6 and r["upper_mean"] > r["lower_mean"] for r in rows)
    assert all(r["paper_upper"] == 12.0 and r["uv_upper"] == 4.0 for r in rows)
    labels = [row["label"] for row in payload["metrics"]]
    assert "catapult | divergent at width 128 vs the paper's 12" in labels
    assert payload["figure"].endswith(".png")
    stored = RunStore(store_path).get_run(payload["run_id"])
    assert stored.study == "relu-boundaries" and stored.status == "finished"

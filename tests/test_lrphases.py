"""Learning-rate phases: the uv model's exact map, the phases, the lazy rate, EoS, the CLI.

Runs are kept small (width <= 1000 for the uv model, a 32-wide MLP for EoS) and configurations
are shared between tests so that each compiled chunk is built once.
"""

from __future__ import annotations

import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theoryscope.errors import ConfigError
from theoryscope.experiments import lrphases
from theoryscope.experiments.lrphases import mlp, uv
from theoryscope.experiments.lrphases.config import Config
from theoryscope.experiments.lrphases.data import make_data
from theoryscope.experiments.lrphases.theory import lazy_loss, peak_step, phase_of
from theoryscope.runner import execute
from theoryscope.store import RunStore

CATAPULT = {"width": 1000, "steps": 200}
UV64 = {"width": 20000, "steps": 40, "dtype": "float64"}  # one compiled float64 chunk shape
EOS_SMALL = {"mode": "eos", "lr": 0.06, "steps": 600, "n": 32, "width": 32}


def _fd_grad(fun, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = h
        g.flat[i] = (fun(x + e) - fun(x - e)) / (2 * h)
    return g


# -- gradients and Hessians -----------------------------------------------------------------------
def test_uv_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    m, d, n = 6, 3, 4
    u0, v0 = rng.standard_normal((m, d)), rng.standard_normal(m)
    x, y = rng.standard_normal((n, d)), rng.standard_normal(n)

    def np_loss(uu, vv):  # independent NumPy version of L = (1/2n) sum (v^T U x / sqrt m - y)^2
        return 0.5 * np.mean(((x @ uu.T) @ vv / np.sqrt(m) - y) ** 2)

    with jax.enable_x64(True):
        gu, gv = jax.jit(uv.grads)(*(jnp.asarray(a) for a in (u0, v0, x, y)))
    np.testing.assert_allclose(np.asarray(gu), _fd_grad(lambda a: np_loss(a, v0), u0), atol=1e-8)
    np.testing.assert_allclose(np.asarray(gv), _fd_grad(lambda b: np_loss(u0, b), v0), atol=1e-8)


TINY_DIMS = (2, 3, 3, 1)


@functools.lru_cache(maxsize=1)
def _tiny_mlp():
    """A 25-parameter tanh MLP on 5 points whose Hessian at init has a negative eigenvalue larger
    in magnitude than the top one; jitted loss and gradient shared by the tests below."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((5, 2)), 2.0 * rng.standard_normal(5)
    theta, vec = mlp.init_flat(0, TINY_DIMS)
    with jax.enable_x64(True):
        loss_fn = mlp.make_loss(jnp.asarray(x), jnp.asarray(y), "tanh", TINY_DIMS)
        return theta, vec, loss_fn, jax.jit(loss_fn), jax.jit(jax.grad(loss_fn))


def test_mlp_gradient_matches_finite_differences():
    theta, _, _, loss_jit, grad_jit = _tiny_mlp()
    with jax.enable_x64(True):
        g = np.asarray(grad_jit(jnp.asarray(theta)))
        fd = _fd_grad(lambda t: float(loss_jit(jnp.asarray(t))), theta)
    np.testing.assert_allclose(g, fd, atol=1e-7)


def test_lanczos_and_power_iteration_match_the_dense_hessian():
    theta, vec, loss_fn, _, grad_jit = _tiny_mlp()
    with jax.enable_x64(True):
        # dense Hessian by central differences of the (tested) gradient
        def grad_np(t: np.ndarray) -> np.ndarray:
            return np.asarray(grad_jit(jnp.asarray(t)))

        h = np.stack([_fd_grad_vec(grad_np, theta, i) for i in range(theta.size)])
        eig = np.linalg.eigvalsh(0.5 * (h + h.T))
        # a negative eigenvalue is the largest in magnitude (power iteration would find it);
        # Lanczos still finds the top (algebraic) one, the sharpness
        assert abs(eig[0]) > eig[-1] > 0
        both = jax.jit(
            lambda t, v: (
                mlp.lanczos_top(loss_fn, t, v, 20),
                mlp.power_iteration(loss_fn, t, v, 3000),
            )
        )
        (top, ritz), (largest, _) = both(jnp.asarray(theta), jnp.asarray(vec))
    assert float(top) == pytest.approx(eig[-1], rel=1e-6)
    np.testing.assert_allclose(h @ np.asarray(ritz), eig[-1] * np.asarray(ritz), atol=1e-5)
    assert float(largest) == pytest.approx(eig[0], rel=1e-5)  # power iteration: largest |eig|


def _fd_grad_vec(grad_np, x: np.ndarray, i: int, h: float = 1e-5) -> np.ndarray:
    e = np.zeros_like(x)
    e[i] = h
    return (grad_np(x + e) - grad_np(x - e)) / (2 * h)


# -- the uv model and its exact 2-D map -----------------------------------------------------------
@pytest.mark.parametrize("target", ["zero", "random"])
def test_uv_network_follows_the_exact_f_lambda_map(target):
    cfg = Config(lr_scale=3.0, target=target, target_scale=0.5, **UV64)
    run = lrphases.simulate(cfg, seed=4)
    assert run.status == "finished"
    s = run.series
    y = 0.0 if target == "zero" else float(make_data(cfg)[1][0])
    f, lam = uv.exact_trajectory(s["output"][0], s["ntk"][0], y, run.summary["eta"], 20000, 40)
    np.testing.assert_allclose(s["output"], f, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(s["ntk"], lam, rtol=1e-9)
    assert np.max(np.abs(s["output"])) > 3.0  # the catapult really happened (f^2 grew to O(m))
    np.testing.assert_allclose(s["loss"], 0.5 * (s["output"] - y) ** 2, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("scale, phase", [(1.0, "lazy"), (3.0, "catapult"), (5.0, "divergent")])
def test_phase_classification_at_fixed_seed(scale, phase):
    cfg = Config(lr_scale=scale, **CATAPULT)
    run = lrphases.simulate(cfg, seed=0)
    agreement = lrphases.compare(run, lrphases.predict(cfg))
    assert agreement["eta_lambda0"] == pytest.approx(scale, rel=1e-6)
    assert agreement["phase_predicted"] == phase
    assert agreement["phase_measured"] == phase
    assert run.status == ("diverged" if phase == "divergent" else "finished")
    if phase == "catapult":
        assert agreement["final_ntk"] < agreement["two_over_eta"]
        assert agreement["max_loss"] > 100 * agreement["initial_loss"]
        assert agreement["final_loss"] < 1e-6 * agreement["initial_loss"]
    if phase == "lazy":
        assert abs(agreement["ntk_change"]) < 0.01


def test_lazy_loss_follows_the_linearized_rate_at_large_width():
    cfg = Config(lr_scale=0.5, **UV64)
    run = lrphases.simulate(cfg, seed=1)
    a = lrphases.compare(run, lrphases.predict(cfg))
    assert a["phase_measured"] == "lazy"
    loss = run.series["loss"]
    pred = lazy_loss(loss[0], 0.5, run.series["step"])
    ok = pred > 1e-10 * loss[0]  # below that, rounding in f = v.Ux / sqrt(m) dominates
    assert ok.sum() > 15
    # the exact map moves lambda by sum_t eta f_t^2 (4 - eta lambda) / m ~ 1e-4 lambda here, so
    # the linearized rate holds to ~ 2t eta dlambda / (1 - eta lambda) ~ 1.4e-4 t: 2.3e-3 at t = 16
    np.testing.assert_allclose(loss[ok], pred[ok], rtol=4e-3)
    assert a["lazy_loss_max_rel_err"] < 4e-3
    assert abs(a["ntk_change"]) < 1e-3


def test_catapult_final_lambda_below_two_over_eta_across_the_band():
    for scale in (2.3, 3.5):
        cfg = Config(lr_scale=scale, **CATAPULT)
        a = lrphases.compare(lrphases.simulate(cfg, seed=2), lrphases.predict(cfg))
        assert a["phase_measured"] == "catapult"
        assert a["final_ntk_over_two_over_eta"] < 1.0


def test_theory_boundaries_and_peak_estimate():
    assert [phase_of(a) for a in (0.5, 1.99, 2.01, 3.99, 4.01)] == [
        "lazy", "lazy", "catapult", "catapult", "divergent",
    ]  # fmt: skip
    assert peak_step(1.0, 1000) is None and peak_step(4.5, 1000) is None
    t_small, t_big = peak_step(3.0, 1000), peak_step(3.0, 100_000)
    assert t_small is not None and t_big is not None
    assert t_big - t_small == pytest.approx(np.log(100) / np.log(4.0), rel=1e-9)  # log m growth
    theory = lrphases.predict(Config(lr=1.5))
    assert theory.lambda0 == pytest.approx(2.0)  # one unit-norm sample: Theta_inf = 2
    assert theory.phase == "catapult" and theory.two_over_eta == pytest.approx(2 / 1.5)


def test_phase_diagram_matches_the_boundaries():
    d = lrphases.phase_diagram(Config(**CATAPULT), 0, points=14, min_scale=0.3, max_scale=5.5)
    assert len(d["final_loss"]) == 14
    for a, measured, predicted in zip(
        d["eta_lambda0"], d["phase_measured"], d["phase_predicted"], strict=True
    ):
        assert measured == predicted, a
    catapult = np.array(d["phase_measured"]) == "catapult"
    assert np.all(d["final_ntk"][catapult] * d["eta"][catapult] / 2 < 1.0)
    assert np.all(np.isinf(d["final_loss"][np.array(d["phase_measured"]) == "divergent"]))


def test_sweep_agrees_with_single_run():
    scales = np.linspace(0.3, 5.5, 14)  # the grid of test_phase_diagram_matches_the_boundaries
    d = lrphases.phase_diagram(Config(**CATAPULT), 0, scales=scales)
    for i in (2, 7):  # lazy (1.1) and catapult (3.1)
        run = lrphases.simulate(Config(lr_scale=float(scales[i]), **CATAPULT), seed=0)
        assert d["max_loss"][i] == pytest.approx(np.max(run.series["loss"]), rel=1e-4)
        assert d["final_ntk"][i] == pytest.approx(run.series["ntk"][-1], rel=1e-4)


def test_same_seed_reproduces_bit_for_bit_and_stop_interrupts():
    cfg = Config(lr_scale=3.0, **CATAPULT)
    a, b = lrphases.simulate(cfg, seed=7), lrphases.simulate(cfg, seed=7)
    for key in a.series:
        np.testing.assert_array_equal(a.series[key], b.series[key])
    stopped = lrphases.simulate(cfg, seed=7, should_stop=lambda: True)
    assert stopped.status == "interrupted" and len(stopped.series["step"]) == 0
    assert lrphases.compare(stopped, lrphases.predict(cfg))["phase_measured"] == "unknown"


def test_chunks_stream_the_whole_series():
    chunks: list = []
    cfg = Config(lr_scale=3.0, **CATAPULT)
    run = lrphases.simulate(cfg, seed=0, on_chunk=chunks.append)
    assert len(chunks) == 2  # 200 steps in one chunk, then the final state
    for key, value in run.series.items():
        np.testing.assert_array_equal(np.concatenate([c[key] for c in chunks]), value)
    np.testing.assert_array_equal(run.series["step"], np.arange(201))


# -- edge of stability ----------------------------------------------------------------------------
def test_edge_of_stability_sharpness_rises_to_two_over_eta_and_stays():
    cfg = Config(**EOS_SMALL)
    run = lrphases.simulate(cfg, seed=0)
    a = lrphases.compare(run, lrphases.predict(cfg))
    assert run.status == "finished"
    assert a["two_over_eta"] == pytest.approx(2 / 0.06)
    assert a["initial_sharpness"] < 0.5 * a["two_over_eta"]  # it starts well below the edge
    assert a["reached_edge"] and a["first_crossing_step"] > 0  # progressive sharpening
    assert 0.9 < a["late_sharpness_ratio_mean"] < 1.1
    assert a["late_sharpness_ratio_max"] < 1.2
    assert a["late_loss_increase_fraction"] > 0  # the loss is non-monotone at the edge
    assert a["final_loss"] < 0.1 * run.series["loss"][0]  # ... and still decreases overall


# -- storage, config and CLI ----------------------------------------------------------------------
def test_diverging_run_is_stored_as_diverged_with_its_finite_data(store_path):
    store = RunStore(store_path)
    result = execute("lrphases", Config(lr_scale=5.0, **CATAPULT), 0, store=store)
    stored = store.get_run(result.run_id)
    assert stored.status == "diverged" and "diverged" in (stored.message or "")
    series = store.get_series(result.run_id)
    assert len(series["loss"]) > 3 and np.all(np.isfinite(series["loss"]))
    assert stored.agreement is not None and stored.agreement["phase_measured"] == "divergent"
    assert stored.summary["diverged_at_step"] == len(series["loss"])


def test_config_round_trip_and_mode_defaults():
    cfg = Config(mode="eos")
    assert (cfg.width, cfg.depth, cfg.n, cfg.lr, cfg.lr_scale) == (64, 3, 64, 0.02, None)
    again = Config.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and again.config_hash() == cfg.config_hash()
    cat = Config()
    assert (cat.lr, cat.lr_scale, cat.depth) == (None, 3.0, 1)
    assert Config.from_dict(cat.to_dict()) == cat


@pytest.mark.parametrize(
    "data, field",
    [
        ({"mode": "sgd"}, "mode"),
        ({"lr": 0.0}, "lr"),
        ({"width": 0}, "width"),
        ({"steps": 0}, "steps"),
        ({"mode": "eos", "activation": "swish"}, "activation"),
        ({"lr": 1.0, "lr_scale": 2.0}, "lr_scale"),
        ({"mode": "eos", "lr_scale": 2.0}, "lr_scale"),
        ({"depth": 2}, "depth"),
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
        (["catapult", "--lr", "0"], "lr"),
        (["catapult", "--lr", "-1"], "lr"),
        (["catapult", "--lr-scale", "0"], "lr_scale"),
        (["catapult", "--lr", "1", "--lr-scale", "3"], "lr_scale"),
        (["catapult", "--width", "0"], "width"),
        (["catapult", "--steps", "0"], "steps"),
        (["catapult", "--target", "cats"], "target"),
        (["catapult", "--seed", "-1"], "seed"),
        (["eos", "--lr", "0"], "lr"),
        (["eos", "--width", "0"], "width"),
        (["eos", "--steps", "0"], "steps"),
        (["eos", "--activation", "swish"], "activation"),
        (["eos", "--depth", "0"], "depth"),
        (["phase-diagram", "--width", "0"], "width"),
        (["phase-diagram", "--min", "3", "--max", "2"], "max"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2_nothing_stored(args, field, store_path, capsys):
    from theoryscope.cli.main import main

    code = main(["lrphases", *args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {field}: "), err
    assert "allowed" in err
    assert _runs_in(store_path) == 0


def test_cli_unknown_mode_is_one_line_exit_2(store_path, capsys):
    from theoryscope.cli.main import main

    assert main(["lrphases", "sgd", "--lr", "0.1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and "sgd" in err
    assert _runs_in(store_path) == 0


def test_cli_catapult_json_stores_the_run_and_writes_the_figure(store_path, tmp_path, capsys):
    from theoryscope.cli.main import main

    code = main(
        ["lrphases", "catapult", "--width", "1000", "--lr-scale", "3.0", "--steps", "200",
         "--seed", "0", "--json", "--out", str(tmp_path / "figs")]
    )  # fmt: skip
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished"
    assert payload["agreement"]["phase_measured"] == "catapult"
    assert payload["agreement"]["final_ntk"] < payload["agreement"]["two_over_eta"]
    assert (tmp_path / "figs").exists() and payload["figure"].endswith(".png")
    assert RunStore(store_path).get_run(payload["run_id"]).status == "finished"

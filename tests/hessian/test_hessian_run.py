"""The hessian experiment end to end: config errors, seeds, the stored run and its figure, the
recorded spectra against dense ones, divergence, and the studies through the derived CLI."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

from theoryscope.cli.main import main
from theoryscope.errors import ConfigError
from theoryscope.experiments.hessian import linalg
from theoryscope.experiments.hessian.config import Config
from theoryscope.experiments.hessian.declaration import FIGURES, PRESETS
from theoryscope.experiments.hessian.engine import Trainer, simulate
from theoryscope.experiments.hessian.studies import SpectrumParams
from theoryscope.plots.render import documents, figure_for, render_figure
from theoryscope.store import RunStore

TINY = dict(next(p for p in PRESETS if p.name == "tiny").values)


@pytest.mark.parametrize(
    "data, field",
    [
        ({"classes": 1}, "classes"),
        ({"classes": 11}, "classes"),
        ({"per_class": 10**30}, "per_class"),
        ({"width": 0}, "width"),
        ({"depth": 5}, "depth"),
        ({"lr": 0}, "lr"),
        ({"lr": "nan"}, "lr"),
        ({"loss": "hinge"}, "loss"),
        ({"activation": "gelu"}, "activation"),
        ({"data": "mnist"}, "data"),
        ({"steps": 0}, "steps"),
        ({"records": 1}, "records"),
        ({"top_k": 0}, "top_k"),
        ({"data": "digits", "per_class": 175}, "per_class"),
        ({"dim": 3, "classes": 4}, "dim"),
        ({"optimizer": "sgd", "batch": 41, "classes": 2, "per_class": 20}, "batch"),
        ({"noise": 0}, "noise"),
    ],
)
def test_bad_values_raise_config_error_naming_the_field(data, field):
    with pytest.raises(ConfigError) as info:
        Config.from_dict(data)
    assert info.value.field == field and "allowed" in str(info.value)


def test_derived_sizes():
    cfg = Config(classes=3, dim=4, width=8, depth=2)
    assert cfg.dims == (4, 8, 8, 3)
    assert cfg.params == 4 * 8 + 8 + 8 * 8 + 8 + 8 * 3 + 3
    assert cfg.k == 6 and cfg.iters == min(cfg.params, 2 * (9 + 3) + 40)
    assert Config(data="digits", classes=10, width=4, depth=1).params == 64 * 4 + 4 + 4 * 10 + 10


@pytest.mark.parametrize("optimizer", ["gd", "sgd"])
def test_a_seed_reproduces_a_run_bit_for_bit(optimizer):
    cfg = Config(**{**TINY, "optimizer": optimizer, "batch": 10})
    a, b = simulate(cfg, 3), simulate(cfg, 3)
    other = simulate(cfg, 4)
    for key in a.series:
        np.testing.assert_array_equal(a.series[key], b.series[key])
    assert not np.array_equal(a.series["loss"], other.series["loss"])
    assert a.summary["final"] == b.summary["final"]


def test_recorded_top_eigenvalues_are_the_dense_ones_in_float64():
    cfg = Config(**{**TINY, "dtype": "float64", "records": 3, "hessian_every": 1})
    run = simulate(cfg, 0)
    with jax.enable_x64(True):
        trainer = Trainer(cfg, 0)
        trainer.step_to(cfg.steps)
        point = trainer.point()
        exact = np.linalg.eigvalsh(linalg.dense_hessian(point.loss_fn(), point.theta))[::-1]
    top = run.series["top_eigs"][-1]
    np.testing.assert_allclose(top[: cfg.classes], exact[: cfg.classes], rtol=1e-6)
    final = run.summary["final"]
    np.testing.assert_allclose(final["h_top"][: cfg.classes], exact[: cfg.classes], rtol=1e-6)
    assert final["n_class"] <= cfg.classes  # Weyl: a rank-C update moves at most C eigenvalues
    assert final["n_outliers"] <= cfg.classes**2
    # Hessian records carry numbers, the others NaN
    assert np.all(np.isfinite(run.series["grad_frac"]))


def test_run_through_the_cli_is_stored_exported_and_drawn(store_path, tmp_path, capsys):
    code = main(["hessian", "run", "--preset", "tiny", "--json", "--out", str(tmp_path)])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished"
    store = RunStore(store_path)
    stored = store.get_run(payload["run_id"])
    assert stored.experiment == "hessian" and stored.config["classes"] == 3
    assert stored.agreement["cos_limit"] == pytest.approx(-0.5)
    series = store.get_series(payload["run_id"])
    assert series["top_eigs"].shape == (len(series["step"]), 6)
    assert series["class_eigs"].shape == (len(series["step"]), 3)
    assert main(["runs", "export", payload["run_id"], "--format", "json", "--out",
                 str(tmp_path)]) == 0  # fmt: skip
    exported = json.loads((tmp_path / f"hessian-{payload['run_id']}.json").read_text())
    assert len(exported["series"]["nc1"]) == len(series["step"])
    docs = documents(series=series, theory=stored.theory, agreement=stored.agreement,
                     summary=stored.summary, config=stored.config)  # fmt: skip
    figure = figure_for(FIGURES, stored.config)
    fig = render_figure(figure, docs)
    assert len(fig.axes) == 5 and all(ax.lines for ax in fig.axes)


def test_a_diverging_run_stops_cleanly_with_its_data(store_path, capsys):
    code = main(["hessian", "run", "--preset", "tiny", "--lr", "1e4", "--loss", "mse", "--json",
                 "--no-figure"])  # fmt: skip
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    assert code == 3 and payload["status"] == "diverged"
    series = RunStore(store_path).get_series(payload["run_id"])
    assert len(series["step"]) >= 1 and np.all(np.isfinite(series["loss"]))


SPECTRUM = ["--classes", "3", "--dim", "4", "--per-class", "10", "--width", "8", "--depth", "1",
            "--steps", "40", "--lr", "0.5", "--probes", "10", "--slq-iters", "30"]  # fmt: skip


def test_spectrum_study_dense_checks(store_path, tmp_path, capsys):
    code = main(["hessian", "spectrum", *SPECTRUM, "--json", "--out", str(tmp_path)])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished" and payload["method"] == "dense"
    p = payload["P"]
    assert len(payload["eigenvalues"]["H"]) == p
    assert payload["ge_residual"] < 1e-12
    assert payload["lanczos_rel_error"] < 1e-6
    assert payload["slq_integral"] == pytest.approx(1.0, abs=1e-3)
    assert payload["slq_w1"] < 0.02
    assert payload["g_rank"] <= payload["g_rank_bound"] == min(p, 30 * 2)
    hier = payload["hierarchy"]
    assert hier["n_class"] <= 3 and hier["n_outliers"] <= 9
    assert payload["figure"].endswith(".png")
    assert RunStore(store_path).get_run(payload["run_id"]).study == "spectrum"


def test_spectrum_study_slq_mode_for_larger_nets(store_path, tmp_path, capsys):
    code = main(["hessian", "spectrum", *SPECTRUM, "--method", "slq", "--json", "--no-figure"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["method"] == "slq" and "eigenvalues" not in payload
    assert payload["slq_integral"] == pytest.approx(1.0, abs=1e-3)
    assert len(payload["density_g"]["grid"]) == len(payload["density"]["grid"])


def test_classes_and_digits_studies_through_the_cli(store_path, tmp_path, capsys):
    code = main(["hessian", "classes", "--class-list", "2,3", "--dim", "4", "--per-class", "8",
                 "--width", "6", "--depth", "1", "--steps", "30", "--json", "--out",
                 str(tmp_path)])  # fmt: skip
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and [r["classes"] for r in payload["rows"]] == [2, 3]
    assert all(r["n_class"] <= r["classes"] for r in payload["rows"])
    code = main(["hessian", "digits", "--classes", "3", "--per-class", "5", "--width", "4",
                 "--steps", "30", "--probes", "4", "--json", "--no-figure"])  # fmt: skip
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished" and payload["P"] == 64 * 4 + 4 + 4 * 3 + 3
    assert payload["lanczos_rel_error"] < 1e-6


def test_spectrum_params_choose_dense_or_slq():
    assert SpectrumParams(width=8, depth=1, classes=3, dim=4).use_dense
    assert not SpectrumParams(width=64, depth=2, dense_max=100).use_dense
    with pytest.raises(ConfigError) as info:
        SpectrumParams(probes=0)
    assert info.value.field == "probes"

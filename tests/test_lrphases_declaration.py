"""lrphases as a declared experiment: field bounds, one source of truth for the catapult theory
(issue 11), the phase-diagram study through the derived CLI and the store, the declared figure
drawn from a stored run, presets and cost estimates."""

from __future__ import annotations

import json

import pytest

from theoryscope.cli.main import main
from theoryscope.errors import ConfigError
from theoryscope.experiments import lrphases
from theoryscope.experiments.lrphases import declaration
from theoryscope.experiments.lrphases.config import Config
from theoryscope.experiments.lrphases.declaration import PhaseDiagramParams
from theoryscope.plots.render import documents, render_figure
from theoryscope.protocol import get_experiment
from theoryscope.store import RunStore

TINY = ["--width", "100", "--steps", "30"]


@pytest.mark.parametrize(
    "data, field",
    [
        ({"width": 1_000_001}, "width"),
        ({"mode": "eos", "depth": 9}, "depth"),
        ({"d": 2000}, "d"),
        ({"n": 5000}, "n"),
        ({"lr": "nan"}, "lr"),
        ({"lr_scale": 1e4}, "lr_scale"),
        ({"steps": 10**8}, "steps"),
        ({"target": "cats"}, "target"),
        ({"target_scale": -1}, "target_scale"),
        ({"data_seed": -1}, "data_seed"),
        ({"init_seed": 2**31}, "init_seed"),
        ({"mode": "eos", "sharpness_every": 0}, "sharpness_every"),
        ({"mode": "eos", "lanczos_iters": 1}, "lanczos_iters"),
        ({"dtype": "float16"}, "dtype"),
        ({"mode": "eos", "every": 0}, "every"),
        ({"mode": "eos", "every": 5, "sharpness_every": 5}, "every"),
    ],
)
def test_bad_values_raise_config_error_naming_the_field(data, field):
    with pytest.raises(ConfigError) as info:
        Config.from_dict(data)
    assert info.value.field == field and "allowed" in str(info.value)


@pytest.mark.parametrize(
    "data, field",
    [
        ({"points": 1}, "points"),
        ({"min_scale": 0}, "min_scale"),
        ({"min_scale": 3, "max_scale": 2}, "max_scale"),
        ({"min": 3, "max": 2}, "max"),
        ({"min": "x"}, "min"),
        ({"width": 0}, "width"),
        ({"dtype": "float16"}, "dtype"),
    ],
)
def test_bad_phase_diagram_params_name_the_field(data, field):
    with pytest.raises(ConfigError) as info:
        PhaseDiagramParams.from_dict(data)
    assert info.value.field == field and "allowed" in str(info.value)


def test_short_names_and_float64_flag_map_to_fields():
    assert Config.from_dict({"mode": "eos", "every": 5}).sharpness_every == 5
    params = PhaseDiagramParams.from_dict({"min": "0.5", "max": 5})
    assert (params.min_scale, params.max_scale) == (0.5, 5.0)


def test_stored_theory_and_agreement_are_one_source_of_truth(store_path, capsys):
    """Issue 11: the stored theory and the agreement gave two peak steps (4.19 against 8.23);
    with --lr the theory's boundaries used lambda_0 = 2 instead of the measured one."""
    store = RunStore(store_path)
    for extra in (["--lr-scale", "3"], ["--lr", "1.5"]):
        code = main(["lrphases", "catapult", *TINY, *extra, "--seed", "5", "--json",
                     "--no-figure"])  # fmt: skip
        payload = json.loads(capsys.readouterr().out)
        assert code == 0
        stored = store.get_run(payload["run_id"])
        theory, agreement, summary = stored.theory, stored.agreement, stored.summary
        assert stored.config["init_seed"] == 5 == summary["init_seed"]
        assert theory["lambda0_source"] == "initialized network"
        assert theory["lambda0"] == summary["lambda0"]  # the measured lambda_0, bit for bit
        assert theory["lambda0"] != theory["lambda0_infinite_width"]
        assert agreement["peak_step_predicted"] == theory["peak_step"] is not None
        assert theory["lazy_max"] == pytest.approx(2.0 / summary["lambda0"], rel=1e-12)
        assert theory["divergent_min"] == pytest.approx(4.0 / summary["lambda0"], rel=1e-12)
        assert agreement["eta_lambda0_predicted"] == pytest.approx(summary["eta_lambda0"])
    # the Python API: init_seed given -> the run's own lambda_0; left None -> infinite width
    cfg = Config(width=100, steps=30, lr=1.5, init_seed=2)
    run = lrphases.simulate(cfg, seed=9)  # the config's init seed wins over the run seed
    theory = lrphases.predict(cfg)
    assert theory.lambda0 == run.summary["lambda0"] and run.summary["init_seed"] == 2
    assert lrphases.compare(run, theory)["peak_step_predicted"] == theory.peak_step
    fallback = lrphases.predict(cfg.replace(init_seed=None))
    assert fallback.lambda0_source == "infinite width" and fallback.lambda0 == pytest.approx(2.0)


def test_phase_diagram_study_runs_through_the_cli_and_is_stored(store_path, tmp_path, capsys):
    code = main(["lrphases", "phase-diagram", "--width", "100", "--steps", "40", "--points",
                 "6", "--min", "1", "--max", "5", "--json", "--out", str(tmp_path)])  # fmt: skip
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished" and payload["study"] == "phase-diagram"
    assert payload["params"]["min_scale"] == 1.0 and len(payload["eta_lambda0"]) == 6
    assert payload["phase_predicted"] == ["lazy", "lazy", "catapult", "catapult", "divergent",
                                          "divergent"]  # fmt: skip
    assert payload["figure"].endswith(".png")
    stored = RunStore(store_path).get_run(payload["run_id"])
    assert stored.study == "phase-diagram" and stored.status == "finished"
    assert stored.summary["phase_measured"] == payload["phase_measured"]


def test_declared_figure_renders_from_a_stored_tiny_run(store_path, capsys):
    code = main(["lrphases", "run", "--preset", "tiny", "--json", "--no-figure"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["phase_measured"] == "catapult"
    store = RunStore(store_path)
    stored = store.get_run(payload["run_id"])
    docs = documents(series=store.get_series(stored.id), theory=stored.theory,
                     agreement=stored.agreement, summary=stored.summary,
                     config=stored.config)  # fmt: skip
    figures = {f.name: f for f in get_experiment("lrphases").figures}
    loss_ax, ntk_ax = render_figure(figures["catapult"], docs).axes[:2]
    assert len(loss_ax.lines) >= 2  # the loss and the predicted peak step
    assert len(ntk_ax.lines) >= 3  # lambda_t, 2/eta, 4/eta
    assert all(len(ax.lines) == 0 for ax in render_figure(figures["eos"], docs).axes[:1])


def test_presets_are_valid_and_estimates_positive():
    experiment = get_experiment("lrphases")
    names = [p.name for p in experiment.presets]
    assert names[0] == "tiny" and len(names) == len(set(names))
    for preset in experiment.presets:
        est = declaration.estimate(Config.from_dict(dict(preset.values)))
        assert est.seconds > 0 and est.memory_bytes > 0
    # two XLA compiles (~1.5 s each on this machine) dominate the tiny run
    assert declaration.estimate(Config(**experiment.presets[0].values)).seconds < 5.0
    huge = declaration.estimate(Config(width=1_000_000, d=1024, n=4096, steps=10**6))
    assert huge.seconds > 3600 and huge.memory_bytes > 1e10

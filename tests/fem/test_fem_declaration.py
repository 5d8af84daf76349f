"""fem as a declared experiment: field bounds, the run and every study through the derived CLI
and the store, the declared figure from a stored run, presets and cost estimates."""

from __future__ import annotations

import json

import pytest

from theoryscope.cli.main import main
from theoryscope.errors import ConfigError
from theoryscope.experiments.fem import declaration
from theoryscope.experiments.fem.config import Config
from theoryscope.protocol import get_experiment
from theoryscope.store import RunStore


@pytest.mark.parametrize(
    "data, field",
    [
        ({"n": 2}, "n"),
        ({"n": 5000}, "n"),
        ({"n": 3.5}, "n"),
        ({"basis": "chebyshev"}, "basis"),
        ({"nodes": "gauss"}, "nodes"),
        ({"target": "tanh"}, "target"),
        ({"freq": 0}, "freq"),
        ({"mode": "sgd"}, "mode"),
        ({"lr": 0}, "lr"),
        ({"lr": 5}, "lr"),
        ({"adam_lr": "nan"}, "adam_lr"),
        ({"steps": 0}, "steps"),
        ({"steps": 10**30}, "steps"),
        ({"records": 1}, "records"),
        ({"dtype": "float16"}, "dtype"),
        ({"node_seed": -1}, "node_seed"),
    ],
)
def test_bad_values_raise_config_error_naming_the_field(data, field):
    with pytest.raises(ConfigError) as info:
        Config.from_dict(data)
    assert info.value.field == field and "allowed" in str(info.value)


@pytest.mark.parametrize(
    "study, data, field",
    [
        ("conditioning", {"ns": "2,8"}, "ns"),
        ("conditioning", {"draws": 0}, "draws"),
        ("table", {"solver": "qr"}, "solver"),
        ("table", {"samples": 1}, "samples"),
        ("noise", {"levels": "-1"}, "levels"),
        ("noise", {"ns": "5000"}, "ns"),
        ("structured", {"pieces": 0}, "pieces"),
        ("structured", {"target": "tanh"}, "target"),
        ("structured", {"lr": 0}, "lr"),
    ],
)
def test_bad_study_params_name_the_field(study, data, field):
    params = get_experiment("fem").study(study).params
    with pytest.raises(ConfigError) as info:
        params.from_dict(data)
    assert info.value.field == field and "allowed" in str(info.value)


def test_tiny_run_through_the_cli_is_stored_exported_and_its_figure_renders(
    store_path, tmp_path, capsys
):
    from theoryscope.plots.render import documents, render_figure

    code = main(["fem", "run", "--preset", "tiny", "--json", "--no-figure"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished"
    store = RunStore(store_path)
    stored = store.get_run(payload["run_id"])
    series = store.get_series(stored.id)
    assert payload["agreement"]["records"] == len(series["step"]) > 10
    assert series["mode_residual"].shape == (len(series["step"]), 8)
    assert stored.theory["condition_number"] > 1e5
    docs = documents(series=series, theory=stored.theory, agreement=stored.agreement,
                     summary=stored.summary, config=stored.config)  # fmt: skip
    fig = render_figure(get_experiment("fem").figures[0], docs)
    excess_ax = fig.axes[0]
    assert len(excess_ax.lines) >= 2  # measured and the exact GD curve
    assert main(["runs", "export", payload["run_id"], "--format", "csv", "--out",
                 str(tmp_path)]) == 0  # fmt: skip
    assert any(tmp_path.iterdir())


def test_float64_flag_and_theory_command(capsys):
    code = main(["fem", "theory", "--basis", "fe", "--n", "50", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    theory = payload.get("theory", payload)
    assert 3.9 < theory["condition_number"] <= 4.0


STUDY_ARGS = {
    "conditioning": ["--ns", "8,16,32", "--draws", "2"],
    "table": ["--ns", "20"],
    "noise": ["--ns", "10,40", "--samples", "30", "--levels", "0,0.01", "--draws", "2",
              "--test-points", "500"],
    "structured": ["--target", "gauss", "--pieces", "2", "--units", "3", "--steps", "20",
                   "--samples", "50", "--test-points", "200"],
}  # fmt: skip


@pytest.mark.parametrize("study", sorted(STUDY_ARGS))
def test_every_study_runs_through_the_cli_and_is_stored(study, store_path, tmp_path, capsys):
    code = main(["fem", study, *STUDY_ARGS[study], "--json", "--out", str(tmp_path)])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished" and payload["study"] == study
    assert payload["figure"].endswith(".png")
    stored = RunStore(store_path).get_run(payload["run_id"])
    assert stored.study == study and stored.status == "finished"
    exact = {"conditioning": ("fe_bounds", "talk_bound"), "structured": ("construction",)}
    for name in exact.get(study, ()):
        rows = [m for m in payload["metrics"] if m["name"] == name]
        assert rows and all(m["within"] for m in rows), name


def test_studies_stop_when_asked(store_path):
    from theoryscope.runner import execute_study

    experiment = get_experiment("fem")
    small = {
        "conditioning": {"ns": "8,16"},
        "table": {"ns": "10"},
        "noise": {"ns": "10", "samples": 20},
        "structured": {"steps": 5, "samples": 20},
    }
    for name, values in small.items():
        params = experiment.study(name).params.from_dict(values)
        out = execute_study("fem", name, params, 0, store=RunStore(store_path),
                            should_stop=lambda: True)  # fmt: skip
        assert out.status == "interrupted" and out.result["stopped"], name


def test_presets_are_valid_and_estimates_are_positive():
    experiment = get_experiment("fem")
    names = [p.name for p in experiment.presets]
    assert "tiny" in names and len(names) == len(set(names))
    for preset in experiment.presets:
        est = declaration.estimate(Config.from_dict(dict(preset.values)))
        assert est.seconds > 0 and est.memory_bytes > 0
    tiny = Config.from_dict(dict(experiment.presets[0].values))
    assert declaration.estimate(tiny).seconds < 3
    for study in experiment.studies:
        assert study.estimate is not None
        est = study.estimate(study.params())
        assert 0 < est.seconds < 900 and est.memory_bytes > 0, study.name
    big = declaration.estimate(Config(n=4096, steps=10**8))
    assert big.seconds > 3600  # a web server would refuse it

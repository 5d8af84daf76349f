"""linregions as a declared experiment: field bounds, the run and every study through the derived
CLI and the store, the declared figure from a stored run, presets and cost estimates."""

from __future__ import annotations

import json

import pytest

from theoryscope.cli.main import main
from theoryscope.errors import ConfigError
from theoryscope.experiments.linregions import declaration
from theoryscope.experiments.linregions.config import Config
from theoryscope.protocol import get_experiment
from theoryscope.store import RunStore


@pytest.mark.parametrize(
    "data, field",
    [
        ({"widths": "0,2"}, "widths"),
        ({"widths": ""}, "widths"),
        ({"widths": "4096,4096,4096,4096,4096"}, "widths"),
        ({"c_w": 0}, "c_w"),
        ({"c_b": -1}, "c_b"),
        ({"c_b": 0}, "c_b"),
        ({"bias": "zero", "c_b": 0.5}, "c_b"),
        ({"bias": "cauchy"}, "bias"),
        ({"freq": 0}, "freq"),
        ({"train_points": 1}, "train_points"),
        ({"lr": "nan"}, "lr"),
        ({"steps": 10**30}, "steps"),
        ({"records": 1}, "records"),
        ({"lo": 1, "hi": 0}, "hi"),
        ({"optimizer": "sgd"}, "optimizer"),
        ({"colour": 3}, "colour"),
    ],
)
def test_bad_values_raise_config_error_naming_the_field(data, field):
    with pytest.raises(ConfigError) as info:
        Config.from_dict(data)
    assert info.value.field == field and "allowed" in str(info.value)


def test_zero_bias_sets_c_b_to_zero_unless_given():
    assert Config.from_dict({"bias": "zero"}).c_b == 0.0


@pytest.mark.parametrize(
    "study, data, field",
    [
        ("depth", {"depths": "1,1"}, "depths"),
        ("depth", {"totals": "0"}, "totals"),
        ("depth", {"offset": 0.5}, "offset"),  # n0 = 1: no room for an offset
        ("bias", {"c_bs": "0,1"}, "c_bs"),
        ("bias", {"bias": "zero"}, "bias"),
        ("coarea", {"c_b": 0}, "c_b"),
        ("coarea", {"points": 0}, "points"),
        ("map", {"n0": 1}, "n0"),
        ("map", {"offset": 1.0}, "offset"),  # n0 = 2: the plane cannot move along e_3
        ("area", {"totals": "8"}, "totals"),
        ("telgarsky", {"max_depth": 21}, "max_depth"),
        ("zaslavsky", {"n1s": "0,2"}, "n1s"),
    ],
)
def test_bad_study_params_name_the_field(study, data, field):
    params = get_experiment("linregions").study(study).params
    with pytest.raises(ConfigError) as info:
        params.from_dict(data)
    assert info.value.field == field and "allowed" in str(info.value)


def test_tiny_run_through_the_cli_is_stored_exported_and_its_figure_renders(
    store_path, tmp_path, capsys
):
    from theoryscope.plots.render import documents, render_figure

    code = main(["linregions", "run", "--preset", "tiny", "--json", "--no-figure"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished"
    store = RunStore(store_path)
    stored = store.get_run(payload["run_id"])
    series = store.get_series(stored.id)
    assert payload["agreement"]["records"] == len(series["step"]) == 6
    assert list(series["step"])[0] == 0 and series["regions"][0] >= 1
    docs = documents(series=series, theory=stored.theory, agreement=stored.agreement,
                     summary=stored.summary, config=stored.config)  # fmt: skip
    fig = render_figure(get_experiment("linregions").figures[0], docs)
    regions_ax, loss_ax = fig.axes[:2]
    assert len(regions_ax.lines) == 3 and len(loss_ax.lines) == 1
    assert main(["runs", "export", payload["run_id"], "--format", "csv", "--out",
                 str(tmp_path)]) == 0  # fmt: skip
    assert any(tmp_path.iterdir())


STUDY_ARGS = {
    "depth": ["--depths", "1,2", "--totals", "8,16", "--nets", "3"],
    "bias": ["--widths", "4,4", "--c-bs", "0.1,1", "--nets", "3"],
    "coarea": ["--widths", "4,4", "--nets", "8", "--points", "16"],
    "map": ["--widths", "6,6", "--half", "1"],
    "area": ["--depths", "1", "--totals", "4,8", "--nets", "2"],
    "telgarsky": ["--max-depth", "4", "--nets", "2"],
    "zaslavsky": ["--n1s", "1,3", "--nets", "2"],
}


@pytest.mark.parametrize("study", sorted(STUDY_ARGS))
def test_every_study_runs_through_the_cli_and_is_stored(study, store_path, tmp_path, capsys):
    code = main(["linregions", study, *STUDY_ARGS[study], "--json", "--out", str(tmp_path)])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished" and payload["study"] == study
    assert payload["figure"].endswith(".png")
    stored = RunStore(store_path).get_run(payload["run_id"])
    assert stored.study == study and stored.status == "finished"
    exact = {"telgarsky": "pieces", "zaslavsky": "arrangement", "map": "line"}
    if study in exact:  # exact identities: every row within tolerance 0
        rows = [m for m in payload["metrics"] if m["name"] == exact[study]]
        assert rows and all(m["within"] for m in rows)


def test_studies_stop_when_asked(store_path):
    from theoryscope.runner import execute_study

    experiment = get_experiment("linregions")
    for name in ("depth", "bias", "area", "telgarsky", "zaslavsky", "coarea"):
        params = experiment.study(name).params()
        out = execute_study("linregions", name, params, 0, store=RunStore(store_path),
                            should_stop=lambda: True)  # fmt: skip
        assert out.status == "interrupted" and out.result["stopped"], name


def test_presets_are_valid_and_estimates_are_positive():
    experiment = get_experiment("linregions")
    names = [p.name for p in experiment.presets]
    assert "tiny" in names and len(names) == len(set(names))
    for preset in experiment.presets:
        cfg = Config.from_dict(dict(preset.values))
        est = declaration.estimate(cfg)
        assert est.seconds > 0 and est.memory_bytes > 0
    assert declaration.estimate(Config.from_dict(dict(experiment.presets[0].values))).seconds < 3
    for study in experiment.studies:
        assert study.estimate is not None
        est = study.estimate(study.params())
        assert 0 < est.seconds < 600 and est.memory_bytes > 0, study.name
    big = declaration.depth_estimate(declaration.DepthParams(totals="8192", nets=10_000))
    assert big.seconds > 3600  # a web server would refuse it


@pytest.mark.parametrize(
    "args",
    [["--depths", "1,2", "--totals", "8,16", "--nets", "2"],  # se 0: the old math domain error
     ["--depths", "4", "--totals", "1,2", "--nets", "2"],  # one distinct N: no line
     ["--depths", "1,2", "--totals", "8,16", "--nets", "1"]],  # one net: no se
)  # fmt: skip
def test_depth_study_with_degenerate_fits_finishes(args, store_path, capsys):
    code = main(["linregions", "depth", *args, "--json", "--no-figure"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished"

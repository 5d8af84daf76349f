"""polynets as a declared experiment: field bounds, the landscape study through the derived CLI
and the store, the declared figure drawn from a stored run, presets and cost estimates."""

from __future__ import annotations

import json

import pytest

from theoryscope.cli.main import main
from theoryscope.errors import ConfigError
from theoryscope.experiments.polynets import declaration
from theoryscope.experiments.polynets.config import Config
from theoryscope.experiments.polynets.declaration import LandscapeParams
from theoryscope.protocol import get_experiment
from theoryscope.store import RunStore


@pytest.mark.parametrize(
    "data, field",
    [
        ({"d": 257}, "d"),
        ({"width": 10**30}, "width"),
        ({"teacher_width": 1.5}, "teacher_width"),
        ({"degree": 1}, "degree"),
        ({"degree": True}, "degree"),
        ({"init": 101}, "init"),
        ({"lr": "nan"}, "lr"),
        ({"lr": 1e7}, "lr"),
        ({"steps": 10_000_001}, "steps"),
        ({"samples": 0}, "samples"),
        ({"teacher_decay": 1.5}, "teacher_decay"),
        ({"data_seed": -1}, "data_seed"),
        ({"record_every": 0}, "record_every"),
        ({"samples": 5, "population": True}, "samples"),
    ],
)
def test_bad_values_raise_config_error_naming_the_field(data, field):
    with pytest.raises(ConfigError) as info:
        Config.from_dict(data)
    assert info.value.field == field and "allowed" in str(info.value)


@pytest.mark.parametrize(
    "data, field",
    [
        ({"widths": "0,2"}, "widths"),
        ({"widths": "1,1"}, "widths"),
        ({"widths": ""}, "widths"),
        ({"seeds": "9-1"}, "seeds"),
        ({"seeds": "0-5000"}, "seeds"),
        ({"seeds": "1,1"}, "seeds"),
        ({"steps": 0}, "steps"),
        ({"degree": 5}, "degree"),
    ],
)
def test_bad_landscape_params_name_the_field(data, field):
    with pytest.raises(ConfigError) as info:
        LandscapeParams.from_dict(data)
    assert info.value.field == field and "allowed" in str(info.value)


def test_population_flag_and_seed_ranges_are_read():
    assert Config.from_dict({"population": True}).samples is None
    assert LandscapeParams.from_dict({"seeds": "2-4"}).seeds == (2, 3, 4)
    assert LandscapeParams.from_dict({"seeds": "0,5"}).seeds == (0, 5)


def test_landscape_study_runs_through_the_cli_and_is_stored(store_path, tmp_path, capsys):
    code = main(["polynets", "landscape", "--d", "4", "--teacher-width", "2", "--widths", "1,2",
                 "--seeds", "0-1", "--steps", "200", "--json", "--out", str(tmp_path)])  # fmt: skip
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished" and payload["study"] == "landscape"
    assert [row["width"] for row in payload["rows"]] == [1, 2]
    assert payload["params"]["seeds"] == [0, 1]
    # width 1 < r* = 2: GD from both seeds lands on the best rank-1 loss
    row = next(m for m in payload["metrics"] if m["label"].endswith("width 1"))
    assert row["ratio"] == pytest.approx(1.0, rel=1e-3)
    assert payload["figure"].endswith(".png")
    stored = RunStore(store_path).get_run(payload["run_id"])
    assert stored.study == "landscape" and stored.status == "finished"
    assert stored.summary["rows"][1]["width"] == 2


def test_landscape_stops_when_asked(store_path):
    from theoryscope.runner import execute_study

    params = LandscapeParams(d=4, teacher_width=2, widths=(1, 2), seeds=(0,), steps=2000)
    out = execute_study("polynets", "landscape", params, 0, store=RunStore(store_path),
                        should_stop=lambda: True)  # fmt: skip
    assert out.status == "interrupted" and out.result["stopped"] and out.result["rows"] == []


def test_declared_figure_renders_from_a_stored_tiny_run(store_path, capsys):
    from theoryscope.plots.render import documents, render_figure

    code = main(["polynets", "run", "--preset", "tiny", "--json", "--no-figure"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished"
    assert payload["config"]["width"] == 3 and "regime" in payload and "final" in payload
    store = RunStore(store_path)
    stored = store.get_run(payload["run_id"])
    docs = documents(series=store.get_series(stored.id), theory=stored.theory,
                     agreement=stored.agreement, summary=stored.summary,
                     config=stored.config)  # fmt: skip
    experiment = get_experiment("polynets")
    fig = render_figure(experiment.figures[0], docs)
    loss_ax, eig_ax, proj_ax = fig.axes[:3]
    assert len(loss_ax.lines) >= 2  # training and population loss
    assert len(eig_ax.get_lines()) >= 3  # three eigenvalues of M (width 3 <= d)
    assert len(proj_ax.lines) >= 2  # two teacher directions


def test_presets_are_valid_and_estimates_are_positive():
    experiment = get_experiment("polynets")
    names = [p.name for p in experiment.presets]
    assert "tiny" in names and len(names) == len(set(names))
    for preset in experiment.presets:
        cfg = Config.from_dict(dict(preset.values))
        est = declaration.estimate(cfg)
        assert est.seconds > 0 and est.memory_bytes > 0
    tiny = declaration.estimate(Config.from_dict(dict(experiment.presets[0].values)))
    assert tiny.seconds < 2.0
    big = declaration.landscape_estimate(LandscapeParams(seeds="0-999", widths="64,128",
                                                         d=128, steps=100_000))  # fmt: skip
    assert big.seconds > 3600  # a web server would refuse it

"""Conformance: every declared experiment gets the same surfaces from its declaration alone.

For each experiment (the built-ins and a toy registered only here): the schema round-trips;
every field's bad value is one line and exit 2 from the CLI with nothing stored; a tiny run is
stored, exported and drawn from its declared figure; a 2 x 2 sweep runs and is reported.
"""

from __future__ import annotations

import json
import sqlite3

import pytest
from toy_experiment import experiment as get_experiment
from toy_experiment import experiments_under_test

from theoryscope.cli.main import main
from theoryscope.store import RunStore

EXPERIMENTS = experiments_under_test()


def _tiny(experiment):
    (preset,) = [p for p in experiment.presets if p.name == "tiny"]
    return preset


def _runs_in(path) -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_schema_round_trips_and_every_field_is_declared(name):
    experiment = get_experiment(name)
    cls = experiment.config
    config = cls()
    assert cls.from_dict(config.to_dict()) == config
    assert (
        cls.from_dict(json.loads(json.dumps(config.to_dict()))).config_hash()
        == config.config_hash()
    )
    schema = json.loads(json.dumps(cls.json_schema()))
    assert set(schema["properties"]) == {f.name for f in cls.fields()}
    for spec in cls.fields():
        assert spec.help, f"{name}.{spec.name} has no help"
        if spec.kind == "int":
            assert spec.le is not None or spec.cap is not None, f"{name}.{spec.name} unbounded"
        assert spec.allowed()
    cls.from_dict(dict(_tiny(experiment).values))  # the tiny preset is a valid config
    for preset in experiment.presets:
        cls.from_dict(dict(preset.values))


def _bad_value(spec) -> str | None:
    if spec.kind == "int":
        top = spec.le if spec.le is not None else spec.cap
        return str(int(top) + 1) if top is not None else "x"
    if spec.kind == "float":
        return "nan"
    if spec.kind == "choice":
        return "no-such-choice"
    if spec.kind in ("int_list", "float_list"):
        return "x"
    return None


def _field_cases():
    cases = []
    for name in EXPERIMENTS:
        for spec in get_experiment(name).config.fields():
            bad = _bad_value(spec)
            if bad is not None:
                cases.append(
                    pytest.param(name, spec.name, spec.option, bad, id=f"{name}-{spec.name}")
                )
    return cases


@pytest.mark.parametrize(("name", "field", "option", "bad"), _field_cases())
def test_every_field_bad_value_is_one_line_exit_2_nothing_stored(
    name, field, option, bad, store_path, capsys
):
    code = main([name, "run", "--preset", "tiny", option, bad, "--no-figure"])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert field in err and "allowed" in err, err
    assert _runs_in(store_path) == 0


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_tiny_run_is_stored_exported_and_drawn(name, store_path, tmp_path, capsys):
    assert main([name, "run", "--preset", "tiny", "--json", "--out", str(tmp_path)]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["status"] == "finished" and payload["experiment"] == name
    assert isinstance(payload["metrics"], list)
    store = RunStore(store_path)
    stored = store.get_run(payload["run_id"])
    assert stored.status == "finished" and stored.theory is not None and stored.versions
    series = store.get_series(stored.id)
    assert series and all(len(v) == len(next(iter(series.values()))) for v in series.values())
    for fmt in ("csv", "json", "npz"):
        assert main(["runs", "export", stored.id, "--format", fmt, "--out", str(tmp_path)]) == 0
        path = capsys.readouterr().out.strip()
        assert path.endswith(fmt) and (tmp_path / path.split("/")[-1]).stat().st_size > 100
    from theoryscope.plots.render import documents, figure_for, render_figure

    experiment = get_experiment(name)
    figure = figure_for(experiment.figures, stored.config)
    assert figure is not None, f"{name} declares no figure for its tiny run"
    docs = documents(series=series, theory=stored.theory, agreement=stored.agreement,
                     summary=stored.summary, config=stored.config)  # fmt: skip
    fig = render_figure(figure, docs)
    fig.savefig(tmp_path / "declared.png")
    assert (tmp_path / "declared.png").stat().st_size > 5000


def _two_values(experiment):
    values = dict(_tiny(experiment).values)
    specs = [s for s in experiment.config.fields() if s.sweepable and s.name in values]
    for spec in specs:
        v = values[spec.name]
        if spec.kind == "float" and isinstance(v, (int, float)) and v > 0:
            return spec.name, [v, v * 0.9]
    for spec in specs:
        v = values[spec.name]
        if spec.kind == "int" and isinstance(v, int):
            top = spec.le if spec.le is not None else spec.cap
            return spec.name, [v, v + 1 if top is None or v + 1 <= top else v - 1]
    raise AssertionError(f"{experiment.name}: no sweepable number in its tiny preset")


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_sweep_of_two_configs_and_two_seeds_runs_and_reports(name, store_path, tmp_path, capsys):
    experiment = get_experiment(name)
    key, values = _two_values(experiment)
    fixed = []
    for field, value in _tiny(experiment).values.items():
        if field == key:
            continue
        text = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
        spec = next((s for s in experiment.config.fields() if s.name == field), None)
        option = spec.option if spec else "--" + field.replace("_", "-")
        if isinstance(value, list) and spec is None:  # a repeatable input (e.g. --alpha)
            for item in value:
                fixed += [option, str(item)]
            continue
        fixed += [option, text]
    args = ["sweep", name, "--grid", f"{key}={','.join(map(str, values))}", "--seeds", "0-1",
            *fixed, "--executor", "serial", "--quiet", "--json"]  # fmt: skip
    assert main(args) == 0, capsys.readouterr().err
    result = json.loads(capsys.readouterr().out)
    assert result["total"] == 4 and result["finished"] == 4 and result["failed"] == 0
    assert main(["sweep", "show", result["sweep_id"]]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 5
    out = tmp_path / "report"
    assert main(["report", name, result["sweep_id"], "--out", str(out), "--json"]) == 0, (
        capsys.readouterr().err
    )
    report = json.loads(capsys.readouterr().out)
    assert report["runs"] == 4 and (out / "report.png").stat().st_size > 5000
    assert (out / "report.csv").read_text().count("\n") >= 1


# -- studies ---------------------------------------------------------------------------------------
def _studies():
    return [
        pytest.param(name, study.name, id=f"{name}-{study.name}")
        for name in EXPERIMENTS
        for study in get_experiment(name).studies
    ]


#: What a study's ``tiny`` may be estimated to take (the CLI fuzz refuses more than 20 s).
TINY_STUDY_SECONDS = 15.0


@pytest.mark.parametrize(("name", "study_name"), _studies())
def test_every_study_declares_valid_tiny_params(name, study_name):
    study = get_experiment(name).study(study_name)
    assert study.tiny is not None, f"{name} {study_name}: declare Study.tiny (about a second)"
    params = study.params.from_dict(dict(study.tiny))
    assert set(study.tiny) <= {f.name for f in study.params.fields()}
    if study.estimate is not None:
        seconds = study.estimate(params).seconds
        assert seconds <= TINY_STUDY_SECONDS, f"{name} {study_name}: tiny estimated {seconds} s"


@pytest.mark.parametrize(("name", "study_name"), _studies())
def test_every_study_runs_at_its_tiny_params_and_is_stored(name, study_name, store_path, capsys):
    from theoryscope.cli.derive import options_for

    study = get_experiment(name).study(study_name)
    options = options_for(study.params, dict(study.tiny or {}))
    code = main([name, study_name, *options, "--json", "--no-figure"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    payload = json.loads(captured.out)
    assert payload["status"] == "finished" and payload["study"] == study_name
    stored = RunStore(store_path).get_run(payload["run_id"])
    assert stored.study == study_name and stored.status == "finished"
    assert main(["runs", "list", "--json"]) == 0
    listed = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert listed[payload["run_id"]]["study"] == study_name
    assert main(["runs", "list"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if payload["run_id"] in x)
    assert f"study {study_name}" in line

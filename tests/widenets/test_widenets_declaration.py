"""The declared wide-networks experiment: every field refuses bad input naming itself, every study
runs through the derived CLI and is stored, the declared figure draws a stored run."""

from __future__ import annotations

import json

import pytest

from theoryscope.cli.main import main
from theoryscope.errors import ConfigError
from theoryscope.experiments.widenets import config as wconfig
from theoryscope.experiments.widenets import declaration
from theoryscope.spec import FieldSpec
from theoryscope.store import RunStore

CONFIGS = (
    wconfig.LazyConfig,
    wconfig.PropagateParams,
    wconfig.KernelsParams,
    wconfig.ConvergenceParams,
    wconfig.CriticalParams,
    wconfig.PhaseParams,
    wconfig.JacobianParams,
    wconfig.LazyWidthParams,
    wconfig.LazyRichParams,
    wconfig.LrBoundaryParams,
)


def _bad_values(spec: FieldSpec) -> list[object]:
    """Values the field must refuse: the wrong type and, where bounded, just past each bound."""
    if spec.kind == "choice":
        return ["__nope__", 3]
    if spec.kind == "bool":
        return ["maybe", 2]
    if spec.kind in ("int", "float"):
        out: list[object] = ["abc", "nan" if spec.kind == "float" else "1.5", True]
        high = spec.le if spec.le is not None else spec.cap
        if high is not None:
            out.append(high * 2 + 1 if spec.kind == "int" else high * 2 + 1.0)
        if spec.ge is not None:
            out.append(spec.ge - 1)
        if spec.gt is not None:
            out.append(spec.gt)
        return out
    assert spec.is_list, spec
    out = ["a,b", ""]
    high = spec.item_le if spec.item_le is not None else spec.item_cap
    if high is not None:
        out.append(str(high * 2 + 1))
    low = spec.item_ge if spec.item_ge is not None else spec.item_gt
    if low is not None:
        out.append(str(low - 1))
    if spec.max_items is not None:
        out.append(",".join(["1"] * (spec.max_items + 1)))
    return out


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__name__)
def test_every_field_refuses_bad_values_naming_itself(cls):
    defaults = cls()
    assert cls.from_dict(defaults.to_dict()) == defaults
    for spec in cls.fields():
        assert spec.help and spec.kind != "custom", spec.name
        if spec.kind == "int":  # every integer is bounded above: 10**30 never allocates
            assert spec.le is not None or spec.cap is not None, spec.name
        for value in _bad_values(spec):
            with pytest.raises(ConfigError) as err:
                cls(**{spec.name: value})
            assert err.value.field == spec.name, (spec.name, value, str(err.value))
            assert "allowed" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("cls", "values", "field"),
    [
        (wconfig.PropagateParams, {"depth": 3, "cw": "1,2"}, "cw"),
        (wconfig.KernelsParams, {"depth": 2, "cb": "0,0,0"}, "cb"),
        (wconfig.PhaseParams, {"cw_min": 2, "cw_max": 1}, "cw_max"),
        (wconfig.PhaseParams, {"cb_min": 0.3, "cb_max": 0.3}, "cb_max"),
        (wconfig.JacobianParams, {"ntk_nets": 1}, "ntk_nets"),
        (wconfig.JacobianParams, {"widths": "3"}, "widths"),
        (wconfig.LazyWidthParams, {"widths": "500"}, "widths"),
        (wconfig.LazyConfig, {"bogus": 1}, "bogus"),
    ],
)
def test_cross_field_rules_name_the_field(cls, values, field):
    with pytest.raises(ConfigError) as err:
        cls(**values)
    assert err.value.field == field and "allowed" in err.value.message


def test_activation_choices_match_the_activation_table():
    from theoryscope.experiments.widenets.activations import ACTIVATIONS

    assert wconfig.ACTIVATION_NAMES == ACTIVATIONS
    spec = wconfig.PropagateParams.field("activation")
    assert spec.choices == ACTIVATIONS


def test_presets_are_valid_and_tiny_is_cheap():
    names = [p.name for p in declaration.PRESETS]
    assert "tiny" in names and len(set(names)) == len(names)
    for preset in declaration.PRESETS:
        cfg = wconfig.LazyConfig(**preset.values)
        assert declaration.estimate(cfg).memory_bytes < 4e9
    tiny = wconfig.LazyConfig(**next(p for p in declaration.PRESETS if p.name == "tiny").values)
    assert declaration.estimate(tiny).seconds < 3


def test_estimates_grow_with_the_work():
    small, big = wconfig.LazyConfig(), wconfig.LazyConfig(width=200_000, steps=5000)
    base = declaration.BASE_BYTES
    grown = declaration.estimate(big).memory_bytes - base
    assert grown > 5 * (declaration.estimate(small).memory_bytes - base)
    assert declaration.estimate(big).seconds > 50 * declaration.estimate(small).seconds
    for study in declaration.STUDIES:
        est = study.estimate(study.params())
        assert est.memory_bytes > 0 and est.seconds > 0 and est.fields, study.name
        assert set(est.fields) <= set(study.params.model_fields), study.name


def test_a_run_too_big_for_memory_is_refused_before_it_is_stored(store_path, capsys):
    code = main(["widenets", "lazy", "--n", "5000", "--steps", "10000000", "--no-figure"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith("error: n, width, steps: this run needs about") and "allowed" in err
    assert not store_path.exists() or RunStore(store_path).list_runs() == []


def test_a_study_too_big_for_memory_is_refused(store_path, capsys, monkeypatch):
    monkeypatch.setenv("THEORYSCOPE_MEMORY", str(10**8))
    assert main(["widenets", "phase", "--n", "1000", "--no-figure"]) == 2
    assert capsys.readouterr().err.startswith("error: n: this study needs about")


TINY_LAZY = ["--n", "4", "--d", "3", "--steps", "5"]
STUDY_ARGS = {
    "propagate": ["--activation", "tanh", "--depth", "3", "--cw", "1.5", "--cb", "0.05"],
    "kernels": ["--inputs", "3", "--depth", "2", "--seed", "4"],
    "convergence": ["--widths", "8,16", "--nets", "4", "--inputs", "2", "--depth", "2"],
    "critical": ["--activation", "relu", "--grid", "5"],
    "phase": ["--activation", "relu", "--n", "5"],
    "jacobian": ["--widths", "3,5,1", "--nets", "200", "--ntk-nets", "0", "--seed", "2"],
    "lazy-width": ["--widths", "50,100", *TINY_LAZY],
    "lazy-rich": ["--alphas", "1,10", "--width", "50", *TINY_LAZY],
    "lr-boundary": ["--factors", "0.9", "--width", "50", *TINY_LAZY],
}


def test_every_study_has_tiny_arguments():
    assert set(STUDY_ARGS) == {s.name for s in declaration.STUDIES}


@pytest.mark.parametrize("name", list(STUDY_ARGS))
def test_study_runs_through_the_cli_and_is_stored(name, store_path, tmp_path, capsys):
    argv = ["widenets", name, *STUDY_ARGS[name], "--json", "--out", str(tmp_path)]
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    payload = json.loads(captured.out)
    assert payload["study"] == name and payload["status"] == "finished"
    assert payload["figure"] and (tmp_path / payload["figure"].split("/")[-1]).stat().st_size > 5000
    study = next(s for s in declaration.STUDIES if s.name == name)
    # one row per declared metric (per list entry for `*` paths), even when a value is missing
    names = [row["name"] for row in payload["metrics"]]
    assert set(names) <= {m.name for m in study.metrics}
    assert {m.name for m in study.metrics if "*" not in (m.simulated or "")} <= set(names)
    # stored: `runs list` shows it, the stored row knows its study and keeps the result
    assert main(["runs", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in listed] == [payload["run_id"]]
    assert listed[0]["experiment"] == "widenets"
    stored = RunStore(store_path).get_run(payload["run_id"])
    assert stored.study == name and stored.status == "finished"
    assert stored.config == payload["params"]
    # the stored result draws the same figure again
    study.figure(stored.summary)


def test_study_results_match_the_python_api(store_path, capsys):
    from theoryscope.experiments.widenets import jacobian_theory, propagate_correlation

    assert main(["widenets", "propagate", *STUDY_ARGS["propagate"], "--json", "--no-figure"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["layers"] == propagate_correlation(
        1.0, 0.0, activation="tanh", cw=1.5, cb=0.05, depth=3
    )
    assert main(["widenets", "jacobian", *STUDY_ARGS["jacobian"], "--json", "--no-figure"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["theory"] == jacobian_theory((3, 5, 1)) and payload["seed"] == 2
    assert abs(payload["z2"]) < 5 and abs(payload["z4"]) < 5


def test_lazy_run_payload_and_declared_figure_from_the_stored_run(store_path, tmp_path, capsys):
    from theoryscope.plots.render import documents, render_figure

    code = main(["widenets", "lazy", "--preset", "tiny", "--seed", "3", "--json", "--no-figure"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished" and payload["steps"] == 30
    assert payload["config"]["width"] == 500 and payload["seed"] == 3
    assert payload["final"]["step"] == 30
    rows = {row["name"]: row for row in payload["metrics"]}
    assert rows["residual_decade"]["within"] is True  # spec 6: first decade within 15%
    store = RunStore(store_path)
    stored = store.get_run(payload["run_id"])
    docs = documents(
        series=store.get_series(payload["run_id"]), theory=stored.theory,
        agreement=stored.agreement, summary=stored.summary, config=stored.config,
    )  # fmt: skip
    fig = render_figure(declaration.FIGURES[0], docs)
    residual_axes = fig.axes[0]
    labels = [line.get_label() for line in residual_axes.get_lines()]
    for label in ("GD residual", "|(I - eta H(0))^k r0|", "E over init, H^inf", "Du et al. bound"):
        assert label in labels
    assert all(len(ax.get_lines()) >= 1 for ax in fig.axes[:3])
    fig.savefig(tmp_path / "lazy.png")
    assert (tmp_path / "lazy.png").stat().st_size > 10_000


def test_float64_flag_and_seed_reproduce(store_path, capsys):
    argv = ["widenets", "run", "--preset", "tiny", "--float64", "--seed", "5", "--json",
            "--no-figure"]  # fmt: skip
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(argv) == 0
    second = json.loads(capsys.readouterr().out)
    assert first["config"]["dtype"] == "float64"
    assert first["residual"] == second["residual"] and first["run_id"] != second["run_id"]


def test_studies_report_progress_and_stop_between_runs():
    from theoryscope.experiments.widenets import studies
    from theoryscope.spec import StudyContext

    seen: list[float] = []
    polls = {"n": 0}

    def stop_after_first_run() -> bool:
        polls["n"] += 1
        return polls["n"] > 1

    params = wconfig.LazyRichParams(alphas="1,3,10", n=4, d=3, width=50, steps=5)
    context = StudyContext(lambda f, _msg: seen.append(f), stop_after_first_run)
    result = studies.run_lazy_rich(params, 0, context)
    assert [r["alpha"] for r in result["rows"]] == [1.0]  # stopped before alpha = 3
    assert seen == sorted(seen) and seen[0] >= 0 and seen[-1] == 1.0

"""deeplinear_init as a declared experiment: field bounds, the Monte Carlo run (seeds, stops,
divergence), the run and every study through the derived CLI and the store, the declared figure
from a stored run, presets and cost estimates."""

from __future__ import annotations

import json

import numpy as np
import pytest

from theoryscope.cli.main import main
from theoryscope.errors import ConfigError
from theoryscope.experiments.deeplinear_init import config as dconfig
from theoryscope.experiments.deeplinear_init import declaration, engine
from theoryscope.experiments.deeplinear_init.compare import compare
from theoryscope.experiments.deeplinear_init.config import Config
from theoryscope.experiments.deeplinear_init.theory import predict
from theoryscope.protocol import get_experiment
from theoryscope.store import RunStore

PARAMS = (
    Config, dconfig.NormLawParams, dconfig.CollapseParams, dconfig.MarchenkoPasturParams,
    dconfig.FussCatalanParams, dconfig.LyapunovParams, dconfig.BayesCheckParams,
    dconfig.BayesDepthParams,
)  # fmt: skip


@pytest.mark.parametrize("cls", PARAMS, ids=lambda c: c.__name__)
def test_every_field_is_declared_and_bounded(cls):
    defaults = cls()
    assert cls.from_dict(defaults.to_dict()) == defaults
    for spec in cls.fields():
        assert spec.help, spec.name
        if spec.kind == "int":
            assert spec.le is not None or spec.cap is not None, spec.name


@pytest.mark.parametrize(
    "cls, data, field",
    [
        (Config, {"depth": 4097}, "depth"),
        (Config, {"width": 0}, "width"),
        (Config, {"nets": 1}, "nets"),
        (Config, {"nets": 10**30}, "nets"),
        (Config, {"records": 1.5}, "records"),
        (Config, {"sampler": "magic"}, "sampler"),
        (Config, {"widths": "3,0"}, "widths"),
        (Config, {"dtype": "float16"}, "dtype"),
        (dconfig.NormLawParams, {"tau": "nan"}, "tau"),
        (dconfig.NormLawParams, {"widths": "4,4"}, "widths"),
        (dconfig.MarchenkoPasturParams, {"alphas": "0,1"}, "alphas"),
        (dconfig.FussCatalanParams, {"depths": "17"}, "depths"),
        (dconfig.LyapunovParams, {"taus": "16", "widths": "128"}, "taus"),
        (dconfig.BayesCheckParams, {"points": 4, "input_dim": 4}, "points"),
        (dconfig.BayesDepthParams, {"sigma2": 0}, "sigma2"),
        (dconfig.BayesDepthParams, {"depths": "-1"}, "depths"),
    ],
)
def test_bad_values_raise_one_line_naming_the_field(cls, data, field):
    with pytest.raises(ConfigError) as info:
        cls.from_dict(data)
    assert info.value.field == field and "allowed" in str(info.value)
    assert "\n" not in str(info.value)


def test_widths_override_depth_and_width():
    cfg = Config(widths="5,7,9", input_dim=3)
    assert cfg.hidden() == (5, 7, 9) and cfg.all_widths() == (3, 5, 7, 9)
    assert Config(depth=2, width=4, input_dim=3).all_widths() == (3, 4, 4)
    assert Config(depth=0, input_dim=6).all_widths() == (6,)


def test_run_reproduces_bit_for_bit_and_records_converge_to_the_exact_law():
    cfg = Config(depth=3, width=6, input_dim=5, nets=2000, records=4, sampler="exact")
    theory = predict(cfg)
    a = engine.simulate(cfg, 5, theory=theory)
    b = engine.simulate(cfg, 5, theory=theory)
    c = engine.simulate(cfg, 6, theory=theory)
    for key in engine.SERIES:
        assert np.array_equal(a.series[key], b.series[key]), key
    assert not np.array_equal(a.series["log_mean"], c.series["log_mean"])
    assert a.status == "finished" and list(a.series["step"]) == [2000, 4000, 6000, 8000]
    agreement = compare(a, theory)
    assert agreement["ks_pvalue"] > 1e-3 and abs(agreement["log_mean_z"]) < 5
    first = agreement["moments"][0]
    assert abs(first["z"]) < 5 and first["exact"] == pytest.approx(1.0)
    assert theory.moments[1] == pytest.approx((1 + 2 / 5) * (1 + 2 / 6) ** 3)


def test_matrix_run_agrees_with_the_exact_law():
    cfg = Config(depth=4, width=5, input_dim=6, nets=2500, records=2)
    run = engine.simulate(cfg, 0)
    agreement = compare(run, predict(cfg))
    assert run.status == "finished" and agreement["ks_pvalue"] > 1e-3
    assert max(abs(r["z"]) for r in agreement["moments"][:2]) < 5


def test_run_stops_when_asked_and_diverges_cleanly(monkeypatch):
    cfg = Config(depth=2, width=4, input_dim=4, nets=100, records=5, sampler="exact")
    calls = iter([False, False, True])
    run = engine.simulate(cfg, 0, should_stop=lambda: next(calls))
    assert run.status == "interrupted" and len(run.series["step"]) == 2
    real = engine.sample_log_norm2

    def broken(sampler, seed, batch, widths, nets, dtype):
        out = real(sampler, seed, batch, widths, nets, dtype)
        if batch == 2:
            out[3] = np.nan
        return out

    monkeypatch.setattr(engine, "sample_log_norm2", broken)
    run = engine.simulate(cfg, 0)
    assert run.status == "diverged" and len(run.series["step"]) == 2 and "record 2" in run.message


def test_tiny_run_through_the_cli_is_stored_exported_and_drawn(store_path, tmp_path, capsys):
    from theoryscope.plots.render import documents, figure_for, render_figure

    code = main(["deeplinear_init", "run", "--preset", "tiny", "--json", "--no-figure"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished"
    names = {m["name"] for m in payload["metrics"]}
    assert {"moment", "log_mean", "log_var", "ks_pvalue"} <= names
    store = RunStore(store_path)
    stored = store.get_run(payload["run_id"])
    assert main(["runs", "export", stored.id, "--format", "csv", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    docs = documents(series=store.get_series(stored.id), theory=stored.theory,
                     agreement=stored.agreement, summary=stored.summary,
                     config=stored.config)  # fmt: skip
    experiment = get_experiment("deeplinear_init")
    fig = render_figure(figure_for(experiment.figures, stored.config), docs)
    moments, logs, ks, density = fig.axes[:4]
    assert len(moments.lines) >= 8 and len(ks.lines) >= 3 and len(density.lines) >= 3


STUDY_ARGS = {
    "norm-law": ["--widths", "4,8,16", "--nets", "500"],
    "collapse": ["--depths", "1,3", "--widths", "4,8", "--nets", "200", "--sampler", "exact"],
    "marchenko-pastur": ["--alphas", "0.5,2", "--input-dim", "60", "--draws", "1"],
    "fuss-catalan": ["--depths", "1,2", "--width", "40", "--draws", "1"],
    "lyapunov": ["--taus", "0.25,2", "--widths", "4,8", "--draws", "8"],
    "bayes-check": ["--nets", "5000", "--rejection-nets", "50000"],
    "bayes-depth": ["--input-dim", "12", "--points", "6", "--widths", "4,16", "--depths",
                    "0,1,4", "--tests", "50"],
}  # fmt: skip


@pytest.mark.parametrize("study", list(STUDY_ARGS))
def test_every_study_runs_through_the_cli_and_is_stored(study, store_path, tmp_path, capsys):
    code = main(["deeplinear_init", study, *STUDY_ARGS[study], "--json", "--out", str(tmp_path)])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished" and payload["study"] == study
    assert payload["figure"].endswith(".png") and payload["metrics"]
    stored = RunStore(store_path).get_run(payload["run_id"])
    assert stored.study == study and stored.status == "finished"


def test_study_results_say_what_the_theory_says(capsys):
    """Small but decisive: the collapse groups equal (L+1)/n, MP atoms are exact, the evidence
    rises with depth from the shallow data-agnostic prior."""
    from theoryscope.experiments.deeplinear_init import studies
    from theoryscope.spec import StudyContext

    ctx = StudyContext()
    col = studies.run_collapse(
        dconfig.CollapseParams(depths="1,3,7", widths="4,8,16", nets=200, sampler="exact"), 0, ctx
    )
    assert col["spread_at_fixed_tau"] < 0.35 < 1.0 < col["spread_at_fixed_depth"]
    mp = studies.run_marchenko_pastur(
        dconfig.MarchenkoPasturParams(alphas="2", input_dim=50, draws=1), 0, ctx
    )
    assert mp["rows"][0]["mc_atom"] == pytest.approx(0.5)
    depth = studies.run_bayes_depth(dconfig.BayesDepthParams(
        input_dim=24, points=12, widths="8", depths="0,2,8", tests=40), 0, ctx)  # fmt: skip
    gaps = [r["evidence_gap"] for r in depth["rows"]]
    assert gaps[0] < gaps[1] < 0 and depth["evidence_gain"] > 0
    scales = [abs(r["scale_ratio"] - 1) for r in depth["rows"]]
    assert scales[0] > scales[1] > scales[2]


def test_studies_stop_between_points():
    from theoryscope.experiments.deeplinear_init import studies
    from theoryscope.spec import StudyContext

    ctx = StudyContext(should_stop=lambda: True)
    out = studies.run_norm_law(dconfig.NormLawParams(widths="4,8"), 0, ctx)
    assert out["stopped"] and out["rows"] == []
    out = studies.run_bayes_depth(
        dconfig.BayesDepthParams(input_dim=8, points=4, widths="4", depths="1", tests=10), 0, ctx
    )
    assert out["stopped"] and out["rows"] == []


def test_presets_are_valid_and_estimates_are_positive_and_refuse_huge_runs():
    from theoryscope.runner import check_cost

    experiment = get_experiment("deeplinear_init")
    names = [p.name for p in experiment.presets]
    assert "tiny" in names and len(names) == len(set(names))
    for preset in experiment.presets:
        est = declaration.estimate(Config.from_dict(dict(preset.values)))
        assert est.seconds > 0 and est.memory_bytes > 0
    huge = Config(nets=1_000_000, records=10_000)
    with pytest.raises(ConfigError) as info:
        check_cost(experiment, huge, memory_bytes=16e9)
    assert "nets" in str(info.value)
    for study in experiment.studies:
        est = study.estimate(study.params())
        assert est.seconds > 0 and est.memory_bytes > 0, study.name

"""sgdnoise as a declared experiment: mode-dependent bounds, seeds reproducing runs bit for bit,
the derived commands and studies through the CLI, the declared figures from stored runs,
divergence and interruption, presets and estimates."""

from __future__ import annotations

import json

import numpy as np
import pytest

from theoryscope.cli.main import main
from theoryscope.errors import ConfigError
from theoryscope.experiments import sgdnoise
from theoryscope.experiments.sgdnoise import declaration
from theoryscope.experiments.sgdnoise.config import Config
from theoryscope.plots.render import documents, render_figure
from theoryscope.protocol import get_experiment
from theoryscope.store import RunStore

SMALL = {
    "linreg": {"mode": "linreg", "d": 3, "m": 16, "batch": 4, "steps": 400, "records": 4,
               "chains": 2},
    "mlp": {"mode": "mlp", "d": 2, "width": 4, "m": 16, "batch": 4, "steps": 400, "records": 4,
            "chains": 2},
    "diagonal": {"mode": "diagonal", "d": 12, "m": 6, "sparsity": 2, "steps": 400, "records": 4,
                 "chains": 2},
    "manifold": {"mode": "manifold", "steps": 400, "records": 4, "chains": 8},
}  # fmt: skip


@pytest.mark.parametrize(
    "data, field",
    [
        ({"mode": "sgd"}, "mode"),
        ({"steps": 1001, "records": 200}, "steps"),
        ({"batch": 65, "m": 64}, "batch"),
        ({"mode": "linreg", "d": 17}, "d"),
        ({"mode": "linreg", "d": 8, "m": 8}, "m"),
        ({"mode": "diagonal", "d": 10, "m": 10}, "m"),
        ({"mode": "diagonal", "d": 10, "m": 5, "sparsity": 11}, "sparsity"),
        ({"lr": 0}, "lr"),
        ({"tol": 1.0}, "tol"),
        ({"center": "mean"}, "center"),
        ({"alpha": 20.0}, "alpha"),
        ({"chains": 5000}, "chains"),
        ({"target": -1.0}, "target"),
        ({"s0": 6.0}, "s0"),
        ({"data_seed": 2**31}, "data_seed"),
    ],
)
def test_bad_values_raise_config_error_naming_the_field(data, field):
    with pytest.raises(ConfigError) as info:
        Config.from_dict(data)
    assert info.value.field == field and "allowed" in str(info.value)


def test_mode_defaults_and_weight_decay_admits_underdetermined_linreg():
    assert (Config().lr, Config().batch, Config().steps) == (0.05, 4, 20_000)
    manifold = Config(mode="manifold")
    assert (manifold.chains, manifold.noise, manifold.p) == (256, 1.0, 1.0)
    assert Config(mode="diagonal").p == pytest.approx(1 / 40)
    assert Config(mode="linreg", d=8, m=8, weight_decay=0.1).m == 8
    cfg = Config(mode="mlp")
    assert Config.from_dict(cfg.to_dict()) == cfg and cfg.block == 200


@pytest.mark.parametrize("mode", ["linreg", "mlp", "diagonal", "manifold"])
def test_an_explicit_seed_reproduces_a_run_bit_for_bit(mode):
    cfg = Config(**SMALL[mode])
    a, b = sgdnoise.simulate(cfg, seed=7), sgdnoise.simulate(cfg, seed=7)
    c = sgdnoise.simulate(cfg, seed=8)
    assert a.status == b.status == "finished"
    for key, value in a.series.items():
        np.testing.assert_array_equal(value, b.series[key], err_msg=key)
    noisy = [k for k in a.series if k not in ("step",)]
    assert any(not np.array_equal(a.series[k], c.series[k]) for k in noisy)


def test_chunks_stream_every_record_and_stop_on_request():
    cfg = Config(**{**SMALL["linreg"], "records": 20, "steps": 2000})
    chunks = []
    run = sgdnoise.simulate(cfg, seed=0, on_chunk=chunks.append)
    assert sum(len(c["step"]) for c in chunks) == 20 == len(run.series["step"])
    np.testing.assert_array_equal(np.concatenate([c["ratio1"] for c in chunks]),
                                  run.series["ratio1"])  # fmt: skip
    calls = []
    stopped = sgdnoise.simulate(cfg, seed=0, should_stop=lambda: calls.append(1) or len(calls) > 2)
    assert stopped.status == "interrupted" and 0 < len(stopped.series["step"]) < 20
    np.testing.assert_array_equal(
        stopped.series["loss"], run.series["loss"][: len(stopped.series["loss"])]
    )


@pytest.mark.parametrize("mode, lr", [("linreg", 5.0), ("manifold", 1.5)])
def test_a_diverging_run_stops_cleanly_with_its_finite_data(mode, lr):
    cfg = Config(**{**SMALL[mode], "lr": lr})
    run = sgdnoise.simulate(cfg, seed=0)
    assert run.status == "diverged" and "diverged" in run.message
    assert all(np.isfinite(v).all() for k, v in run.series.items() if k in ("loss", "zeta"))


def test_cli_diverged_run_exits_3_and_is_stored(store_path, capsys):
    code = main(["sgdnoise", "linreg", "--d", "3", "--m", "16", "--steps", "400", "--records",
                 "4", "--lr", "5", "--json", "--no-figure"])  # fmt: skip
    payload = json.loads(capsys.readouterr().out)
    assert code == 3 and payload["status"] == "diverged"
    assert RunStore(store_path).get_run(payload["run_id"]).status == "diverged"


def _docs(store: RunStore, run_id: str) -> dict:
    stored = store.get_run(run_id)
    return documents(series=store.get_series(run_id), theory=stored.theory,
                     agreement=stored.agreement, summary=stored.summary,
                     config=stored.config)  # fmt: skip


def _figure(name: str):
    return next(f for f in get_experiment("sgdnoise").figures if f.name == name)


@pytest.mark.parametrize(
    "command, figure, lines",
    [
        (["linreg", "--d", "3", "--m", "16", "--steps", "2000", "--records", "20"], "fdr", 4),
        (["mlp", "--d", "2", "--width", "4", "--m", "16", "--steps", "400", "--records", "4",
          "--center", "minimum"], "fdr", 2),
        (["diagonal", "--d", "12", "--m", "6", "--sparsity", "2", "--steps", "2000", "--records",
          "20", "--chains", "2"], "diagonal", 2),
        (["manifold", "--steps", "400", "--records", "4", "--chains", "16"], "manifold", 4),
    ],
)  # fmt: skip
def test_commands_store_runs_whose_declared_figure_renders(command, figure, lines, store_path,
                                                           capsys):  # fmt: skip
    code = main(["sgdnoise", *command, "--seed", "3", "--json", "--no-figure"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished", payload.get("message")
    assert payload["config"]["mode"] == command[0] and payload["metrics"]
    if command[0] != "manifold":
        assert payload["config"]["data_seed"] == 3
    fig = render_figure(_figure(figure), _docs(RunStore(store_path), payload["run_id"]))
    assert len(fig.axes[0].lines) >= lines - 2 and sum(len(ax.lines) for ax in fig.axes) >= lines
    empty = render_figure(_figure("manifold" if figure != "manifold" else "fdr"),
                          _docs(RunStore(store_path), payload["run_id"]))  # fmt: skip
    assert all(len(ax.lines) == 0 for ax in empty.axes)


def test_metrics_pair_the_linreg_run_with_its_exact_theory(store_path, capsys):
    from theoryscope.spec.metrics import metric_rows

    code = main(["sgdnoise", "linreg", "--d", "3", "--m", "16", "--steps", "4000", "--records",
                 "40", "--chains", "4", "--center", "minimum", "--json", "--no-figure"])  # fmt: skip
    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    rows = metric_rows(get_experiment("sgdnoise").metrics, _docs(RunStore(store_path),
                                                                  payload["run_id"]))  # fmt: skip
    names = {r["name"] for r in rows}
    assert {"ratio1", "ratio2", "sq", "fdr1_rhs"} <= names and "alpha_eff" not in names
    assert all(isinstance(r["within"], bool) for r in rows if r["good"] is not None)
    assert next(r for r in rows if r["name"] == "fdr1_rhs")["within"]  # the precise side


@pytest.mark.parametrize(
    "study, args, key",
    [
        ("fdr-scan", ["--lrs", "0.05,0.1", "--batches", "4", "--steps", "2000", "--records", "20",
                      "--chains", "2", "--d", "3", "--m", "16"], "points"),
        ("alpha-eff", ["--lrs", "0.02", "--batches", "1", "--steps", "2000", "--records", "10",
                       "--chains", "1", "--d", "12", "--m", "6", "--sparsity", "2"], "points"),
        ("manifold-drift", ["--lrs", "0.05", "--sigmas", "1", "--steps", "1000", "--records",
                            "10", "--chains", "32"], "points"),
    ],
)  # fmt: skip
def test_studies_run_through_the_cli_and_are_stored(study, args, key, store_path, tmp_path, capsys):
    code = main(["sgdnoise", study, *args, "--json", "--out", str(tmp_path)])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished" and payload["study"] == study
    assert payload[key] and payload["figure"].endswith(".png")
    stored = RunStore(store_path).get_run(payload["run_id"])
    assert stored.study == study and stored.status == "finished"
    first = payload[key][0]
    if study == "fdr-scan":
        assert "ratio1" in first and "ratio1_predicted" in first
    elif study == "alpha-eff":
        assert first["alpha_fit"] < 0.1 and first["alpha_pesme_fit"] < 0.1
    else:
        assert first["rate_measured"] == pytest.approx(first["rate_predicted"], rel=0.3)


def test_presets_are_valid_and_estimates_positive():
    experiment = get_experiment("sgdnoise")
    names = [p.name for p in experiment.presets]
    assert names[0] == "tiny" and len(names) == len(set(names))
    for preset in experiment.presets:
        est = declaration.estimate(Config.from_dict(dict(preset.values)))
        assert est.seconds > 0 and est.memory_bytes > 0
    assert declaration.estimate(Config(**experiment.presets[0].values)).seconds < 5
    for study in experiment.studies:
        assert study.estimate(study.params.from_dict({"data_seed": 0} if "data_seed" in
                              study.params.model_fields else {})).seconds > 0  # fmt: skip

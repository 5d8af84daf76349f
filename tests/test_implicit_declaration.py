"""implicit as a declared experiment: field and mode-dependent bounds, mode defaults, the derived
commands (data seed following --seed), the declared figures drawn from stored runs, presets,
estimates and the progress hook."""

from __future__ import annotations

import json

import numpy as np
import pytest

from theoryscope.cli.main import main
from theoryscope.errors import ConfigError
from theoryscope.experiments.implicit import declaration
from theoryscope.experiments.implicit.config import Config
from theoryscope.plots.render import documents, render_figure
from theoryscope.protocol import get_experiment
from theoryscope.runner import execute
from theoryscope.store import RunStore


@pytest.mark.parametrize(
    "data, field",
    [
        ({"mode": "sgd"}, "mode"),
        ({"d": 5000}, "d"),
        ({"mode": "margin", "n": 0}, "n"),
        ({"mode": "diagonal", "d": 0}, "d"),
        ({"steps": 0}, "steps"),
        ({"steps": 10**8}, "steps"),
        ({"d": 10, "sparsity": 11}, "sparsity"),
        ({"sparsity": 10**6}, "sparsity"),
        ({"alpha": 1e-13}, "alpha"),
        ({"alpha_sweep": "maybe"}, "alpha_sweep"),
        ({"sweep_min": 2.0, "sweep_max": 1.0}, "sweep_max"),
        ({"sweep_points": 65}, "sweep_points"),
        ({"lr": 0}, "lr"),
        ({"mode": "margin", "gap": 4.0}, "gap"),
        ({"mode": "margin", "flip": 0.6}, "flip"),
        ({"mode": "deeplinear", "depth": 9}, "depth"),
        ({"mode": "deeplinear", "singular_values": "1,2000"}, "singular_values"),
        ({"mode": "deeplinear", "singular_values": ""}, "singular_values"),
        ({"mode": "deeplinear", "width": 2}, "width"),
        ({"mode": "deeplinear", "init": 2.0}, "init"),
        ({"mode": "deeplinear", "init_mode": "orthogonal"}, "init_mode"),
        ({"data_seed": 2**31}, "data_seed"),
        ({"records": 1}, "records"),
    ],
)
def test_bad_values_raise_config_error_naming_the_field(data, field):
    with pytest.raises(ConfigError) as info:
        Config.from_dict(data)
    assert info.value.field == field and "allowed" in str(info.value)


def test_mode_defaults_fill_fields_left_as_none():
    margin = Config(mode="margin")
    assert (margin.d, margin.n, margin.lr, margin.steps) == (2, 50, 1.0, 100_000)
    deep = Config(mode="deeplinear", lr=None)
    assert (deep.steps, deep.lr, deep.hidden) == (0, 0.005, 3)
    assert Config(d=None).d == 100  # None means the mode's default, as create() always did
    assert Config.from_dict(deep.to_dict()) == deep
    assert Config(mode="diagonal", alpha_sweep=True, sweep_points=3).alphas == pytest.approx(
        (1e-3, 0.1, 10.0)
    )


def test_seed_draws_the_data_and_mode_is_fixed_by_the_command(store_path, capsys):
    code = main(["implicit", "margin", "--steps", "200", "--seed", "3", "--json", "--no-figure"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["config"]["data_seed"] == 3 and payload["seed"] == 3
    assert payload["config"]["mode"] == "margin" and "final_angle" in payload
    assert main(["implicit", "margin", "--mode", "diagonal"]) == 2
    assert capsys.readouterr().err.startswith("error: mode: is fixed to 'margin'")


def _docs(store: RunStore, run_id: str) -> dict:
    stored = store.get_run(run_id)
    return documents(series=store.get_series(run_id), theory=stored.theory,
                     agreement=stored.agreement, summary=stored.summary,
                     config=stored.config)  # fmt: skip


def _figure(name: str):
    return next(f for f in get_experiment("implicit").figures if f.name == name)


def test_declared_figures_render_from_stored_runs(store_path, capsys):
    code = main(["implicit", "run", "--preset", "tiny", "--json", "--no-figure"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished"
    store = RunStore(store_path)
    docs = _docs(store, payload["run_id"])
    fig = render_figure(_figure("diagonal"), docs)
    loss, recovery, distances = fig.axes[:3]
    assert len(loss.lines) == 1 and len(recovery.lines) >= 2  # the curve and the limit's marker
    assert len(distances.lines) == 4  # trained and limit, to min-L1 and min-L2
    # a diagonal run draws nothing in the margin figure (its curves are for mode margin)
    empty = render_figure(_figure("margin"), docs)
    assert all(len(ax.lines) == 0 for ax in empty.axes)

    for cfg, name, lines in (
        (Config(mode="margin", steps=300, records=30), "margin", 2),
        (Config(mode="deeplinear", singular_values=(2.0, 1.0), init=0.05, records=30),
         "deeplinear", 4),
    ):  # fmt: skip
        result = execute("implicit", cfg, 0, store=store)
        fig = render_figure(_figure(name), _docs(store, result.run_id))
        assert len(fig.axes[0].lines) == lines, name


def test_metrics_pair_the_run_with_the_theory(store_path):
    from theoryscope.spec.metrics import metric_rows

    store = RunStore(store_path)
    cfg = Config(mode="deeplinear", singular_values=(2.0, 1.0), init=0.05, records=60)
    result = execute("implicit", cfg, 0, store=store)
    rows = metric_rows(get_experiment("implicit").metrics, _docs(store, result.run_id))
    half = [r for r in rows if r["name"] == "half_time"]
    assert [r["label"] for r in half] == ["half time, s[0]", "half time, s[1]"]
    assert all(r["within"] for r in half)
    assert not [r for r in rows if r["name"] == "to_l1"]  # per-alpha rows only in diagonal


def test_presets_are_valid_estimates_positive_and_progress_counts_auto_steps():
    experiment = get_experiment("implicit")
    names = [p.name for p in experiment.presets]
    assert names[0] == "tiny" and len(names) == len(set(names))
    for preset in experiment.presets:
        est = declaration.estimate(Config.from_dict(dict(preset.values)))
        assert est.seconds > 0 and est.memory_bytes > 0
    assert declaration.estimate(Config(**experiment.presets[0].values)).seconds < 1.0
    deep = Config(mode="deeplinear")  # steps 0: auto
    from theoryscope.experiments.implicit.engine import deeplinear_steps

    total = deeplinear_steps(deep)
    assert declaration.progress(deep, {"step": np.array([total / 2])}) == pytest.approx(0.5)

"""Sweep grids: parsing, expansion, sweep ids, and one clear error per bad grid."""

from __future__ import annotations

import pytest

from theoryscope.cli.main import main
from theoryscope.errors import ConfigError
from theoryscope.experiments.expander.config import Config as ExpanderConfig
from theoryscope.experiments.expander.declaration import auto_t_eff
from theoryscope.sweep.driver import make_tasks, plan_configs
from theoryscope.sweep.grid import SweepSpec, build_spec, parse_grid, parse_seeds


def test_grid_parsing_scalars_vectors_terms_and_order():
    grid = parse_grid(
        ["gamma=0.001,0.01", "alpha=1,0,0:2,1,0:1,0,0+0,1,0", "k=500,1000", "lr=0.01"],
        ExpanderConfig,
    )
    assert grid == (
        ("gamma", (0.001, 0.01)),
        ("alpha", (((1, 0, 0),), ((2, 1, 0),), ((1, 0, 0), (0, 1, 0)))),
        ("k", (500, 1000)),
        ("lr", (0.01,)),
    )
    assert parse_grid(["gamma=0.01,0.1,0.1:0.1"], ExpanderConfig) == (
        ("gamma", ((0.01, 0.1, 0.1), (0.1,))),
    )


def test_seeds_parsing():
    assert parse_seeds("0-9") == tuple(range(10))
    assert parse_seeds("7,3,0") == (0, 3, 7)
    assert parse_seeds("0-2,10-11") == (0, 1, 2, 10, 11)
    assert parse_seeds("5") == (5,)


@pytest.mark.parametrize(
    ("items", "needle"),
    [
        (["gamma"], "has no '='"),
        (["gamma="], "no values"),
        (["colour=red"], "unknown key 'colour'"),
        (["seed=1,2"], "set by --seeds"),
        (["mode=flow"], "set by --mode"),
        (["gamma=0.1,abc"], "'abc' is not a number"),
        (["k=10,2.5"], "'2.5' is not an integer"),
        (["gamma=0.1,0.1"], "value 0.1 is repeated"),
        (["gamma=0.1", "gamma=0.2"], "gamma given twice"),
        (["alpha=1,,0"], "has an empty entry"),
        (["alpha=1,0:"], "has an empty entry"),
        (["alpha=1,0+1,0,0"], "differ in length"),
        (["alpha=1,-1,0"], "negative entry"),
    ],
)
def test_bad_grid_items_raise_one_clear_error(items, needle):
    with pytest.raises(ConfigError) as info:
        parse_grid(items, ExpanderConfig)
    message = str(info.value)
    assert message.startswith("grid: ") and needle in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "needle"),
    [("3-1", "runs backwards"), ("a", "not a seed"), ("-1", "not a seed"), ("1,1", "twice")],
)
def test_bad_seeds(text, needle):
    with pytest.raises(ConfigError, match=needle):
        parse_seeds(text)


def test_points_that_are_invalid_configs_name_the_point():
    spec = build_spec("expander", ["gamma=0.1,-0.5", "alpha=1,0,0"], "0", settings={"t_eff": "10"})
    with pytest.raises(ConfigError) as info:
        plan_configs(spec)
    assert "point gamma=-0.5 alpha=1,0,0" in str(info.value) and "gamma" in str(info.value)
    spec = build_spec("expander", ["alpha=1,0,0", "d=2"], "0", settings={"t_eff": "10"})
    with pytest.raises(ConfigError, match="alpha"):
        plan_configs(spec)


def test_sweep_id_is_deterministic_and_spec_round_trips():
    a = build_spec("expander", ["gamma=0.01,0.1", "alpha=1,1,0"], "0-3", fixed={"mode": "flow"})
    b = build_spec("expander", ["gamma=0.01,0.1", "alpha=1,1,0"], "0-3", fixed={"mode": "flow"})
    c = build_spec("expander", ["gamma=0.01,0.1", "alpha=1,1,0"], "0-4", fixed={"mode": "flow"})
    assert a.sweep_id() == b.sweep_id() != c.sweep_id()
    assert SweepSpec.from_dict(a.to_dict()) == a
    assert SweepSpec.from_dict(a.to_dict()).sweep_id() == a.sweep_id()


def test_t_eff_auto_is_three_times_the_slowest_predicted_time():
    spec = build_spec(
        "expander", ["gamma=0.01", "alpha=2,1,0", "k=50"], "0", fixed={"mode": "flow"}
    )
    (config,) = plan_configs(spec)
    from theoryscope.experiments.expander import Config, predict, theory_to_dict

    th = theory_to_dict(predict(Config.from_dict(config)))
    term = th["terms"][0]
    expected = 3 * max(term["t_half_ode"], term["t_rise"])
    assert auto_t_eff(th, 3.0) == pytest.approx(expected)
    assert config["lr"] * config["steps"] == pytest.approx(expected, rel=1e-4)
    assert config["d"] == 3 and config["k"] == 50 and config["mode"] == "flow"


def test_tasks_keep_sgd_seeds_together_and_split_flow_seeds():
    spec = build_spec("expander", ["gamma=0.01,0.1", "k=20"], "0-9", settings={"t_eff": "1"})
    configs = plan_configs(spec)
    tasks = make_tasks(spec, configs, ["a", "b"], [list(range(10)), list(range(4))], slots=2)
    assert [t.seeds for t in tasks] == [list(range(10)), [0, 1, 2, 3]]
    tasks = make_tasks(spec, configs[:1], ["a"], [list(range(10))], slots=2)
    assert [len(t.seeds) for t in tasks] == [5, 5]  # one config, two cores: split
    flow = build_spec(
        "expander", ["gamma=0.01", "k=20"], "0-2", fixed={"mode": "flow"}, settings={"t_eff": "1"}
    )
    tasks = make_tasks(flow, plan_configs(flow), ["a"], [[0, 1, 2]], slots=2)
    assert [t.seeds for t in tasks] == [[0], [1], [2]]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--grid", "gamma0.1"], "grid: 'gamma0.1' has no '='"),
        (["--grid", "gamma=0.1", "--seeds", "5-2"], "seeds: range '5-2' runs backwards"),
        (["--grid", "gamma=-1"], "grid: point gamma=-1"),
        (["--executor", "ray"], "executor: got 'ray'"),
        (["--scheduler", "tcp://x:1"], "scheduler: given without --executor dask"),
        (["--workers", "0"], "workers: got 0"),
        (["--mode", "adam"], "mode: got 'adam'"),
        (["--preset", "nope"], "preset: unknown 'nope'"),
        (["--t-eff", "-3"], "t_eff"),
    ],
)
def test_cli_bad_sweeps_exit_2_with_one_line(args, needle, store_path, capsys):
    code = main(["sweep", "expander", "--quiet", *args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and err.startswith("error: ") and needle in err, err
    from theoryscope.store import RunStore

    assert RunStore(store_path).list_runs() == [] and RunStore(store_path).list_sweeps() == []


def test_cli_unknown_sweep_id(store_path, capsys):
    assert main(["sweep", "show", "sw-nope"]) == 2
    assert "no sweep with id 'sw-nope'" in capsys.readouterr().err
    assert main(["sweep", "expander", "--resume", "sw-nope"]) == 2

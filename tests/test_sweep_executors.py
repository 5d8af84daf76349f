"""Executors: a spawn process pool and a real Dask LocalCluster store identical results; a run
whose worker raises is stored as failed with its message while the rest finish."""

from __future__ import annotations

import numpy as np
import pytest

from theoryscope.store import RunStore
from theoryscope.sweep.driver import run_sweep
from theoryscope.sweep.executors import DaskExecutor, LocalExecutor
from theoryscope.sweep.grid import build_spec
from theoryscope.sweep.table import sweep_rows

# GD on the exact population loss; the tanh points raise inside the worker (mode gd needs the
# closed form of the default nonlinearity), the sqrt2cos points finish.
GRID = ["gamma=0.2", "alpha=1,0", "k=40", "nonlinearity=sqrt2cos,tanh", "records=20"]
TIMING_KEYS = {"steps_per_second", "steps_per_second_wall", "batch_steps_per_second"}


def _stored(store: RunStore, sweep_id: str) -> dict:
    out = {}
    for row in sweep_rows(store, sweep_id):
        run = store.get_run(row["run_id"])
        assert run.sweep_id == sweep_id
        out[(row["config_hash"], row["seed"])] = (run, store.get_series(run.id))
    return out


def test_local_and_dask_executors_store_identical_results_and_failures(tmp_path):
    spec = build_spec("expander", GRID, "0-1", fixed={"mode": "gd"}, settings={"t_eff": "15"})
    stores = {
        "local": RunStore(tmp_path / "local.sqlite"),
        "dask": RunStore(tmp_path / "dask.sqlite"),
    }
    executors = {"local": LocalExecutor(2), "dask": DaskExecutor(workers=2)}
    results = {}
    for name, ex in executors.items():
        results[name] = run_sweep(spec, store=stores[name], executor=ex, show_progress=False)
        assert results[name].finished == 2 and results[name].failed == 2, name
    assert results["local"].sweep_id == results["dask"].sweep_id == spec.sweep_id()
    assert results["dask"].executor.startswith("dask (LocalCluster)")

    local = _stored(stores["local"], spec.sweep_id())
    dask = _stored(stores["dask"], spec.sweep_id())
    assert set(local) == set(dask) and len(local) == 4
    for key, (run_a, series_a) in local.items():
        run_b, series_b = dask[key]
        assert run_a.status == run_b.status
        assert run_a.config == run_b.config and run_a.seed == run_b.seed
        assert run_a.message == run_b.message
        assert run_a.theory == run_b.theory
        assert run_a.agreement == run_b.agreement
        summary_a = {k: v for k, v in run_a.summary.items() if k not in TIMING_KEYS}
        summary_b = {k: v for k, v in run_b.summary.items() if k not in TIMING_KEYS}
        assert summary_a == summary_b
        assert set(series_a) == set(series_b)
        for name in series_a:
            np.testing.assert_array_equal(series_a[name], series_b[name], err_msg=name)
        if run_a.config["nonlinearity"] == "tanh":
            assert run_a.status == "failed"
            assert run_a.message.startswith("ConfigError: nonlinearity: mode gd needs")
            assert run_a.theory is not None and series_a == {}
        else:
            assert run_a.status == "finished"
            assert len(series_a["step"]) > 5
            assert run_a.agreement["terms"][0]["t_half_sim"] is not None


def test_rerunning_a_finished_sweep_skips_everything(tmp_path):
    spec = build_spec("expander", ["gamma=0.1", "alpha=1,0", "k=20", "records=10"], "0-1",
                      fixed={"mode": "gd"}, settings={"t_eff": "1"})  # fmt: skip
    store = RunStore(tmp_path / "s.sqlite")
    from theoryscope.sweep.executors import SerialExecutor

    first = run_sweep(spec, store=store, executor=SerialExecutor(), show_progress=False)
    again = run_sweep(spec, store=store, executor=SerialExecutor(), show_progress=False)
    assert (first.finished, first.skipped) == (2, 0)
    assert (again.finished, again.skipped) == (0, 2)
    assert len(store.list_runs(sweep_id=spec.sweep_id(), limit=None)) == 2


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_show_and_export_one_row_per_run(tmp_path, store_path, capsys, fmt):
    from theoryscope.cli.main import main

    args = ["sweep", "expander", "--grid", "gamma=0.2,0.5", "--grid", "alpha=1,0",
            "--grid", "k=20", "--grid", "records=10", "--seeds", "0-1", "--mode", "gd",
            "--t-eff", "15", "--executor", "serial", "--quiet", "--json"]  # fmt: skip
    assert main(args) == 0
    import json

    sweep_id = json.loads(capsys.readouterr().out)["sweep_id"]
    assert main(["sweep", "export", sweep_id, "--format", fmt]) == 0
    text = capsys.readouterr().out
    if fmt == "csv":
        import csv
        import io

        rows = list(csv.DictReader(io.StringIO(text)))
        assert {r["gamma"] for r in rows} == {"0.2", "0.5"}
    else:
        rows = json.loads(text)
        assert rows[0]["config"]["mode"] == "gd"
    assert len(rows) == 4
    for row in rows:
        assert row["status"] == "finished" and row["alpha"] == "1,0"
        for key in ("t_half_sim", "t_half_ode", "t_rise", "ratio_sim_ode", "ratio_sim_rise"):
            assert row[key] not in (None, "")
        assert float(row["ratio_sim_ode"]) == pytest.approx(
            float(row["t_half_sim"]) / float(row["t_half_ode"])
        )
    assert main(["sweep", "show", sweep_id]) == 0
    shown = capsys.readouterr().out.strip().splitlines()
    assert len(shown) == 5 and shown[0].startswith("alpha")
    assert main(["sweep", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["sweeps"]
    assert listed[0]["id"] == sweep_id and listed[0]["counts"] == {"finished": 4}


def test_another_experiment_sweeps_on_dask_like_locally(tmp_path):
    """The sweep layer is generic: a polynets grid (no Expander code involved) gives the same
    stored runs on a Dask LocalCluster as on the local pool, and the report reads them."""
    from theoryscope.reports.metrics import collect

    fixed = {"d": 4, "teacher_width": 2, "init": 0.1, "steps": 100}
    spec = build_spec("polynets", ["width=1,3"], "0-1", fixed=fixed)
    stores = {"local": RunStore(tmp_path / "l.sqlite"), "dask": RunStore(tmp_path / "d.sqlite")}
    executors = {"local": LocalExecutor(2), "dask": DaskExecutor(workers=2)}
    for name, ex in executors.items():
        result = run_sweep(spec, store=stores[name], executor=ex, show_progress=False)
        assert result.finished == 4 and result.failed == 0, name
    local, dask = (_stored(stores[n], spec.sweep_id()) for n in ("local", "dask"))
    assert local.keys() == dask.keys() and len(local) == 4
    for key, (run, series) in local.items():
        other_run, other_series = dask[key]
        assert run.agreement == other_run.agreement
        for column, values in series.items():
            np.testing.assert_array_equal(values, other_series[column])
    report = collect(stores["dask"], spec.sweep_id())
    assert report["runs"] == 4 and report["x"] == "width" and report["series"]

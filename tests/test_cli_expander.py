"""The ``expander`` commands end to end: JSON keys, stored runs, figures, divergence, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np

from theoryscope.cli.main import main
from theoryscope.store import RunStore

SMALL = ["--k", "40", "--batch", "20", "--gamma", "0.05", "--steps", "300", "--records", "30"]


def _json_out(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_run_json_has_the_documented_keys_and_is_stored(store_path, tmp_path, capsys):
    code = main(["expander", "run", *SMALL, "--json", "--out", str(tmp_path)])
    payload = _json_out(capsys)
    assert code == 0
    for key in ("run_id", "status", "steps", "steps_per_second", "terms", "final"):
        assert key in payload
    assert payload["status"] == "finished" and payload["steps"] == 300
    (term,) = payload["terms"]
    for key in ("alpha", "t_half_sim", "t_half_ode", "t_rise", "ratio_sim_ode", "ratio_sim_rise"):
        assert key in term
    for key in ("loss_batch_ema", "loss_population", "W1", "w2_scaled_norm"):
        assert key in payload["final"]
    assert np.asarray(payload["final"]["W1"]).shape == (3, 3)
    assert os.path.getsize(payload["figure"]) > 10_000
    stored = RunStore(store_path).get_run(payload["run_id"])
    assert stored.status == "finished" and stored.config["k"] == 40
    assert stored.versions["jax"] and stored.revision
    assert stored.agreement["terms"][0]["t_rise"] == term["t_rise"]


def test_same_seed_same_run_through_the_cli(store_path, capsys):
    finals = []
    for seed in ("5", "5", "6"):
        assert main(["expander", "run", *SMALL, "--seed", seed, "--json", "--no-figure"]) == 0
        finals.append(_json_out(capsys)["final"]["W1"])
    assert finals[0] == finals[1] and finals[0] != finals[2]


def test_diverging_run_exits_3_and_is_stored_as_diverged(store_path, capsys):
    args = ["--k", "50", "--steps", "300", "--lr", "5", "--gamma", "1", "--nonlinearity", "relu"]
    code = main(["expander", "run", *args, "--json", "--no-figure"])
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    assert code == 3 and payload["status"] == "diverged"
    assert "non-finite" in captured.err and len(captured.err.strip().splitlines()) == 1
    store = RunStore(store_path)
    run = store.get_run(payload["run_id"])
    series = store.get_series(run.id)
    assert run.status == "diverged" and len(series["step"]) >= 1
    assert np.all(np.isfinite(series["loss_batch"]))


def test_ctrl_c_stores_interrupted_with_data(store_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "theoryscope.cli.main", "expander", "run", "--k", "200",
         "--steps", "2000000", "--records", "2000", "--no-figure"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "THEORYSCOPE_STORE": str(store_path)},
    )  # fmt: skip
    store = None
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(0.5)
        if store_path.exists():
            store = RunStore(store_path)
            runs = store.list_runs()
            if runs and len(store.get_series(runs[0].id).get("step", [])) >= 3:
                break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert store is not None
    (run,) = store.list_runs()
    assert run.status == "interrupted"
    assert len(store.get_series(run.id)["step"]) >= 3
    assert "Traceback" not in err


def test_theory_json(capsys):
    assert main(["expander", "theory", "--gamma", "0.01", "--alpha", "2,1,0", "--json"]) == 0
    (term,) = _json_out(capsys)["terms"]
    for key in (
        "alpha",
        "c",
        "kappa",
        "ell",
        "d_rel",
        "beta",
        "r",
        "r_b",
        "F",
        "t_rise",
        "t_half_ode",
    ):
        assert key in term
    assert abs(term["t_rise"] - 250 * np.pi) < 1e-6 * 250 * np.pi  # hand value, spec 6
    assert term["kappa"] == 2.0 and term["ell"] == 4


def test_runs_commands_round_trip(store_path, tmp_path, capsys):
    assert main(["expander", "run", *SMALL, "--json", "--no-figure"]) == 0
    run_id = _json_out(capsys)["run_id"]
    assert main(["runs", "list", "--json"]) == 0
    assert [r["id"] for r in _json_out(capsys)] == [run_id]
    assert main(["runs", "show", run_id, "--json"]) == 0
    shown = _json_out(capsys)
    assert (
        shown["series_lengths"]["step"]
        == len(shown["series_lengths"]) * 0 + shown["series_lengths"]["t_eff"]
    )
    assert main(["runs", "export", run_id, "--format", "csv", "--out", str(tmp_path)]) == 0
    csv_path = capsys.readouterr().out.strip()
    header = open(csv_path).readline().strip().split(",")
    assert header[:2] == ["step", "t_eff"] and "W1_1_2" in header
    assert main(["runs", "delete", run_id]) == 0
    capsys.readouterr()
    assert main(["runs", "show", run_id]) == 2

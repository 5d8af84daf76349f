"""The ``spectral`` commands end to end: JSON keys, stored runs, figures, bad input, divergence."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from theoryscope.cli.main import main
from theoryscope.store import RunStore

SMALL = ["--neurons", "24", "--freqs", "1,2", "--lr", "2", "--steps", "200", "--records", "20"]


def _runs(store_path) -> list:
    return RunStore(store_path).list_runs() if os.path.exists(store_path) else []


def test_gram_json_reports_decay_condition_and_ranks(tmp_path, capsys):
    code = main(["spectral", "gram", "--neurons", "80", "--json", "--out", str(tmp_path)])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    assert len(payload["eigenvalues"]) == 80
    assert abs(payload["fit"]["exponent"] - 4.0) < 0.4
    assert payload["condition_number"] > 1e6
    assert payload["numerical_rank"]["float32"] < payload["numerical_rank"]["float64"]
    assert os.path.getsize(payload["figure"]) > 10_000


def test_train_json_is_stored_with_its_agreement(store_path, tmp_path, capsys):
    code = main(["spectral", "train", *SMALL, "--json", "--out", str(tmp_path)])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "finished" and payload["steps"] == 200
    rows = payload["agreement"]["freqs"]
    assert [row["freq"] for row in rows] == [1, 2]
    for key in ("t_half_measured", "t_half_predicted", "ratio", "dominant_eig"):
        assert key in rows[0]
    assert os.path.getsize(payload["figure"]) > 10_000
    stored = RunStore(store_path).get_run(payload["run_id"])
    assert stored.experiment == "spectral" and stored.config["neurons"] == 24
    assert stored.agreement["freqs"][0]["t_half_predicted"] == rows[0]["t_half_predicted"]
    series = RunStore(store_path).get_series(payload["run_id"])
    assert series["residual"].shape == (len(series["step"]), 2)
    # the web lab redraws a stored run from its stored (JSON) theory
    from theoryscope.experiments import spectral
    from theoryscope.protocol import Run

    as_run = Run("spectral", stored.config, stored.seed, stored.status, series)
    fig = spectral.plot(as_run, stored.theory)
    assert len(fig.axes[0].lines) >= 4


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--neurons", "0"], "neurons"),
        (["--lr", "0"], "lr"),
        (["--lr", "-0.1"], "lr"),
        (["--steps", "0"], "steps"),
        (["--freqs", "1,0"], "freqs"),
        (["--freqs", "2.5"], "freqs"),
        (["--freqs", "a,b"], "freqs"),
        (["--mode", "adam"], "mode"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_stored(store_path, capsys, args, field):
    code = main(["spectral", "train", *args, "--no-figure"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {field}:")
    assert "allowed" in err
    assert _runs(store_path) == []


def test_gram_bad_neurons_is_one_line(capsys):
    assert main(["spectral", "gram", "--neurons", "-3", "--no-figure"]) == 2
    assert capsys.readouterr().err.strip().startswith("error: neurons:")


def test_diverging_train_exits_3_and_keeps_finite_data(store_path, capsys):
    args = ["--neurons", "24", "--freqs", "1,2", "--lr", "80", "--steps", "500", "--records", "50"]
    code = main(["spectral", "train", *args, "--json", "--no-figure"])
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    assert code == 3 and payload["status"] == "diverged"
    assert len(captured.err.strip().splitlines()) == 1
    store = RunStore(store_path)
    assert store.get_run(payload["run_id"]).status == "diverged"
    series = store.get_series(payload["run_id"])
    assert len(series["step"]) >= 2 and np.all(np.isfinite(series["loss"]))

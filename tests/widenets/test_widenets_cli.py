"""``theoryscope widenets``: JSON keys later checks rely on; bad input is one line, exit code 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from theoryscope.cli.main import main


def _run(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_propagate_json(capsys, store_path):
    argv = "widenets propagate --activation relu --cw 2 --cb 0 --q0 1 --rho0 0.0 --depth 10 --json"
    code, out, err = _run(capsys, argv.split())
    assert code == 0, err
    layers = json.loads(out)["layers"]
    assert [r["l"] for r in layers] == list(range(1, 11))
    assert layers[0] == {"l": 1, "q": 1.0, "rho": 0.0}
    assert all(abs(r["q"] - 1.0) < 1e-12 for r in layers)
    assert abs(layers[1]["rho"] - 1 / np.pi) < 1e-12
    assert all(b["rho"] > a["rho"] for a, b in zip(layers, layers[1:], strict=False))


@pytest.mark.parametrize(
    ("activation", "expected"),
    [("relu", {"cb": 0.0, "cw": 2.0}), ("tanh", {"cb": 0.0, "cw": 1.0, "k_star": 0.0})],
)
def test_critical_json(capsys, store_path, activation, expected):
    code, out, err = _run(capsys, ["widenets", "critical", "--activation", activation, "--json"])
    assert code == 0, err
    data = json.loads(out)
    assert {"cb", "cw", "k_star", "chi_par", "chi_perp"} <= set(data)
    assert "curve" not in data
    for k, v in expected.items():
        assert data[k] == v


def test_critical_without_exact_point_adds_curve(capsys, store_path):
    code, out, _ = _run(capsys, ["widenets", "critical", "--activation", "cos", "--json"])
    assert code == 0
    data = json.loads(out)
    assert "curve" in data and len(data["curve"]["cw"]) > 0 and data["exact"] is False


def test_jacobian_json(capsys, store_path):
    argv = "widenets jacobian --widths 3,20,20,1 --nets 4000 --seed 1 --ntk-nets 0 --json".split()
    code, out, err = _run(capsys, argv)
    assert code == 0, err
    data = json.loads(out)
    assert {"m2", "m4"} <= set(data["theory"]) and {"m2", "se2", "m4", "se4"} <= set(data["mc"])
    assert abs(data["mc"]["m4"] - data["theory"]["m4"]) < 4 * data["mc"]["se4"]


def test_lazy_json_and_store(capsys, store_path, tmp_path):
    argv = (
        "widenets lazy --n 8 --d 5 --width 2000 --lr 0.5 --steps 30 --seed 0 --json --out "
        + str(tmp_path / "figs")
    ).split()
    code, out, err = _run(capsys, argv)
    assert code == 0, err
    data = json.loads(out)
    for key in ("lambda_0", "residual", "predicted", "bound", "weight_movement", "kernel_drift"):
        assert key in data
    assert len(data["residual"]) == len(data["predicted"]) == len(data["bound"]) == 31
    assert data["lambda_0"] > 0
    assert (tmp_path / "figs").glob("lazy-*.png")
    from theoryscope.store import RunStore

    runs = RunStore(store_path).list_runs(experiment="widenets")
    assert len(runs) == 1 and runs[0].status == "finished"


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        ("propagate --activation swishy", "activation"),
        ("critical --activation nope", "activation"),
        ("propagate --cw -1", "cw"),
        ("propagate --cb -0.5", "cb"),
        ("propagate --q0 -2", "q0"),
        ("propagate --depth 0", "depth"),
        ("propagate --rho0 1.5", "rho0"),
        ("propagate --rho0 -3", "rho0"),
        ("jacobian --widths 3,0,1", "widths"),
        ("kernels --depth 0", "depth"),
        ("lazy --lr 0", "lr"),
        ("lazy --lr -0.1", "lr"),
        ("lazy --width 0", "width"),
        ("convergence --widths 8,0", "widths"),
    ],
)
def test_bad_input_is_one_line_with_exit_2(capsys, store_path, argv, option):
    code, out, err = _run(capsys, ["widenets", *argv.split(), "--json"])
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {option}: ")
    assert "allowed" in lines[0] and "Traceback" not in err
    assert out == ""

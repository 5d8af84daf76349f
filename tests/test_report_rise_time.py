"""The rise-time report: grouping over seeds, verdicts, and the files the CLI writes."""

from __future__ import annotations

import csv
import json

import pytest

from theoryscope.experiments.expander.report import group_rows


def _row(alpha, gamma, seed, t_half, t_ode=10.0, t_rise=12.0, status="finished"):
    return {
        "sweep_id": "sw-x", "run_id": f"r{alpha}{gamma}{seed}", "seed": seed, "status": status,
        "alpha": alpha, "gamma": str(gamma), "k": 100, "d": 3, "lr": 0.01, "batch": 100,
        "mode": "flow", "t_eff": 50.0, "t_half_sim": t_half, "t_half_ode": t_ode,
        "t_rise": t_rise, "ratio_sim_ode": None if t_half is None else t_half / t_ode,
        "ratio_sim_rise": None, "message": None, "config_hash": f"h{alpha}{gamma}",
    }  # fmt: skip


def test_groups_take_seed_mean_and_sd_and_give_verdicts():
    rows = [
        _row("1,0,0", 0.01, 0, 10.0),
        _row("1,0,0", 0.01, 1, 11.0),
        _row("1,0,0", 0.1, 0, 20.0),
        _row("1,0,0", 0.1, 1, 22.0),
        _row("2,0,0", 0.1, 0, None),  # plateau: never reached half within t_eff
        _row("2,0,0", 0.1, 1, None, status="failed"),
        _row("2,0,0", 0.01, 0, 8.0),
    ]
    groups = {(g.alpha, g.gamma): g for g in group_rows(rows)}
    g = groups[("1,0,0", 0.01)].to_row()
    assert g["runs"] == 2 and g["reached_half"] == 2
    assert g["t_half_sim_mean"] == pytest.approx(10.5)
    assert g["t_half_sim_sd"] == pytest.approx(0.7071067811865476)
    assert g["ratio_sim_ode_mean"] == pytest.approx(1.05)
    assert g["ratio_sim_rise_mean"] == pytest.approx(10.5 / 12)
    assert g["verdict"] == "holds"
    assert groups[("1,0,0", 0.1)].verdict == "slower"
    assert groups[("2,0,0", 0.01)].verdict == "faster"
    plateau = groups[("2,0,0", 0.1)].to_row()
    assert (plateau["runs"], plateau["reached_half"], plateau["failed"]) == (2, 0, 1)
    assert plateau["verdict"] == "no rise"


def test_report_cli_writes_figure_and_tables(tmp_path, store_path, capsys):
    from theoryscope.cli.main import main

    args = ["sweep", "expander", "--grid", "gamma=0.05,0.2", "--grid", "alpha=1,0:1,1",
            "--grid", "k=30", "--grid", "records=30", "--seeds", "0-1", "--mode", "flow",
            "--executor", "serial", "--quiet", "--json"]  # fmt: skip
    assert main(args) == 0
    sweep_id = json.loads(capsys.readouterr().out)["sweep_id"]
    out = tmp_path / "report"
    assert main(["report", "rise-time", sweep_id, "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    png = out / "rise-time.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    table = list(csv.DictReader((out / "rise-time.csv").open()))
    assert len(table) == 4
    assert {(r["alpha"], r["gamma"]) for r in table} == {
        ("1,0", "0.05"),
        ("1,0", "0.2"),
        ("1,1", "0.05"),
        ("1,1", "0.2"),
    }
    for r in table:
        assert r["runs"] == "2" and r["reached_half"] == "2"  # t_eff auto: every run rises
        assert float(r["ratio_sim_ode_mean"]) > 0.5
    assert "| alpha |" in (out / "rise-time.md").read_text()
    assert len(result["breakdown"]) == 2
    assert main(["report", "rise-time", "sw-nope"]) == 2

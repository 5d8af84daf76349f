"""Every bad input through the CLI: one line naming the argument, exit code 2, nothing stored."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from theoryscope.cli.main import main

BAD_RUNS = [
    (["--gamma", "0"], "gamma"),
    (["--gamma", "-0.1"], "gamma"),
    (["--gamma", "nan"], "gamma"),
    (["--alpha", "1,-1,0"], "alpha"),
    (["--alpha", "1.5,0,0"], "alpha"),
    (["--alpha", "1,1"], "alpha"),
    (["--d", "5", "--alpha", "1,1,0"], "alpha"),
    (["--k", "0"], "k"),
    (["--k", "many"], "k"),
    (["--lr", "0"], "lr"),
    (["--lr", "-1"], "lr"),
    (["--batch", "0"], "batch"),
    (["--steps", "0"], "steps"),
    (["--steps", "10", "--t-eff", "1"], "steps"),
    (["--t-eff", "nan"], "t_eff"),
    (["--nonlinearity", "swish"], "nonlinearity"),
    (["--seed", "-3"], "seed"),
    (["--mode", "adam"], "mode"),
    (["--coef", "2"], "coef"),
    (["--x", "time"], "x"),
]


def _runs_in(path) -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]


@pytest.mark.parametrize("args, field", BAD_RUNS)
def test_expander_run_bad_input(args, field, store_path, capsys):
    code = main(
        ["expander", "run", "--steps", "5", *args]
        if "--steps" not in args and "--t-eff" not in args
        else ["expander", "run", *args]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {field}: ")
    assert "allowed" in err
    assert _runs_in(store_path) == 0


def test_unknown_option_is_one_line(capsys):
    assert main(["expander", "run", "--width", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--width" in err


@pytest.mark.parametrize(
    "args",
    [
        ["runs", "show", "nope"],
        ["runs", "export", "nope"],
        ["runs", "delete", "nope"],
        ["runs", "export", "x", "--format", "xls"],
    ],
)
def test_runs_bad_input(args, store_path, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ")


def test_theory_bad_input(capsys):
    assert main(["expander", "theory", "--gamma", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: gamma: ")


def test_console_script_prints_no_traceback(store_path):
    proc = subprocess.run(
        [sys.executable, "-m", "theoryscope.cli.main", "expander", "run", "--k", "-1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: k: got -1; allowed: an integer >= 1"
    assert "Traceback" not in proc.stderr + proc.stdout


def test_serve_on_a_taken_port_is_one_line(store_path, capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: port: {port} on 127.0.0.1 is not available")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--batch", "2000000000"], "batch"),
        (["--k", "1e30"], "k"),
    ],
)
def test_a_value_above_a_resource_cap_states_the_cap(args, field, store_path, capsys):
    """Issue 9, item 9: '--k 1e9' said only 'allowed: an integer >= 1'; the message now names the
    cap the value is over, and nothing is stored."""
    assert main(["expander", "run", *args, "--no-figure"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {field}: got ")
    assert "(at most 1,000,000,000)" in err
    assert (
        not store_path.exists()
        or not sqlite3.connect(store_path).execute("SELECT count(*) FROM runs").fetchone()[0]
    )

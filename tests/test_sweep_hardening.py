"""Sweeps: pool workers die with their driver (even a SIGKILLed one), --workers is capped at a
sane multiple of the cores, and diverged runs are counted apart from finished ones."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from theoryscope.cli.main import main
from theoryscope.errors import ConfigError
from theoryscope.store import RunStore
from theoryscope.sweep.driver import Progress, run_sweep
from theoryscope.sweep.executors import SerialExecutor, make_executor, max_workers
from theoryscope.sweep.grid import build_spec

#: Two long SGD configs (minutes each): the workers are busy computing when the driver dies.
LONG_SWEEP = ["sweep", "expander", "--grid", "gamma=0.05,0.07", "--grid", "alpha=1,0",
              "--grid", "k=40", "--grid", "batch=10", "--grid", "steps=5000000",
              "--grid", "records=100", "--t-eff", "steps", "--workers", "2", "--quiet"]  # fmt: skip


def test_pool_workers_die_with_a_killed_driver(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "theoryscope.cli.main", *LONG_SWEEP,
         "--store", str(tmp_path / "runs.sqlite")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        env={**os.environ, "JAX_PLATFORMS": "cpu"},
    )  # fmt: skip
    try:
        driver = psutil.Process(proc.pid)
        deadline = time.monotonic() + 120
        workers: list[psutil.Process] = []
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            workers = [
                p for p in driver.children(recursive=True) if p.cpu_percent(interval=None) >= 0
            ]
            busy = [p for p in workers if p.cpu_times().user > 2.0]  # computing a run
            if len(busy) >= 2:
                break
            time.sleep(0.5)
        assert len(workers) >= 2, "the pool did not start in time"
        proc.kill()  # SIGKILL the driver alone, not its process group
        proc.wait(timeout=10)
        gone, alive = psutil.wait_procs(workers, timeout=5)
        assert not alive, f"workers outlived their driver: {[p.pid for p in alive]}"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


def test_workers_are_capped_at_a_multiple_of_the_cores(tmp_path, capsys):
    cap = max_workers()
    assert cap == 4 * (os.cpu_count() or 1)
    for bad in (cap + 1, 4096, 10**30):
        code = main(["sweep", "expander", "--grid", "gamma=0.1", "--workers", str(bad),
                     "--store", str(tmp_path / "runs.sqlite")])  # fmt: skip
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1, err
        assert err.startswith("error: workers: ") and f"from 1 to {cap}" in err
    assert RunStore(tmp_path / "runs.sqlite").list_sweeps() == []
    with pytest.raises(ConfigError, match="workers"):
        make_executor("local", workers=cap + 1)
    assert make_executor("local", workers=cap).slots == cap


def test_diverged_runs_are_counted_apart_from_finished(tmp_path, capsys):
    """lr 5, gamma 1, relu diverges (see test_cli_expander); gamma 0.05 at lr 0.01 finishes."""
    spec = build_spec("expander", ["gamma=1", "lr=5,0.01", "nonlinearity=relu", "k=50",
                                   "records=20", "steps=300"], "0", fixed={"mode": "sgd"},
                      settings={"t_eff": "steps"})  # fmt: skip
    store = RunStore(tmp_path / "runs.sqlite")
    progress = Progress(total=2, enabled=False)
    result = run_sweep(spec, store=store, executor=SerialExecutor(), progress=progress)
    statuses = sorted(r.status for r in store.list_runs(limit=None))
    assert statuses == ["diverged", "finished"]
    assert (result.finished, result.diverged, result.failed) == (1, 1, 0)
    assert result.to_dict()["diverged"] == 1 and result.to_dict()["finished"] == 1
    assert progress.diverged == 1 and " 1 diverged " in progress.line()

    args = ["sweep", "expander", "--grid", "gamma=1", "--grid", "lr=5,0.01", "--grid",
            "nonlinearity=relu", "--grid", "k=50", "--grid", "records=20", "--grid",
            "steps=300", "--t-eff", "steps", "--executor", "serial", "--quiet"]  # fmt: skip
    assert main([*args, "--store", str(tmp_path / "cli.sqlite")]) == 0
    assert "1 finished, 1 diverged, 0 failed" in capsys.readouterr().out
    # the same sweep again: both stored already (a diverged run is a result), both skipped
    assert main([*args, "--store", str(tmp_path / "cli.sqlite"), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert (payload["skipped"], payload["finished"], payload["diverged"]) == (2, 0, 0)

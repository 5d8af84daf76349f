"""Ctrl-C (a real SIGINT) on every experiment's run command: exit 130, one message, no
traceback, and the run stored as ``interrupted`` with the data it had.

The exit code comes from the shared CLI entry point (``theoryscope.cli.main``), which exits 130
after any command the runner's ``stop_on_sigint`` saw interrupted, so a command added later
gets it without doing anything.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from theoryscope.store import RunStore

#: One long run per experiment: many steps, small sizes (it is stopped long before the end).
LONG_RUNS = {
    "expander": ["expander", "run", "--k", "40", "--batch", "10", "--steps", "20000000",
                 "--records", "20000", "--no-figure"],
    "widenets": ["widenets", "lazy", "--n", "8", "--d", "4", "--width", "64", "--n-test", "4",
                 "--steps", "10000000"],
    "lrphases": ["lrphases", "catapult", "--width", "32", "--steps", "10000000", "--no-figure"],
    "spectral": ["spectral", "train", "--neurons", "16", "--freqs", "1,2", "--steps",
                 "10000000", "--no-figure"],
    "implicit": ["implicit", "diagonal", "--d", "10", "--n", "5", "--sparsity", "2", "--steps",
                 "10000000", "--no-figure"],
    "polynets": ["polynets", "train", "--d", "4", "--width", "2", "--teacher-width", "1",
                 "--steps", "10000000", "--no-figure"],
    "hessian": ["hessian", "run", "--preset", "tiny", "--steps", "10000000", "--records", "1000",
                "--no-figure"],
    "linregions": ["linregions", "run", "--preset", "tiny", "--steps", "10000000", "--records",
                   "1000", "--no-figure"],
    "deeplinear_init": ["deeplinear_init", "run", "--preset", "tiny", "--records", "10000",
                        "--nets", "20000", "--no-figure"],
    "sgdnoise": ["sgdnoise", "linreg", "--preset", "tiny", "--steps", "10000000", "--records",
                 "1000", "--no-figure"],
    "fem": ["fem", "run", "--preset", "tiny", "--mode", "adam", "--n", "64", "--steps",
            "100000000", "--records", "1000", "--no-figure"],
}  # fmt: skip


def _start(args: list[str], store_path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "theoryscope.cli.main", *args, "--store", str(store_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "JAX_PLATFORMS": "cpu"},
    )


def _running(store_path) -> bool:
    if not store_path.exists():
        return False
    runs = RunStore(store_path).list_runs()
    return bool(runs) and runs[0].status == "running"


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """Start every long run at once (they share the cores), send each a SIGINT once its run is
    stored as running, and collect (exit code, stdout, stderr, store path) per experiment."""
    root = tmp_path_factory.mktemp("ctrl_c")
    procs = {name: (_start(args, root / f"{name}.sqlite"), root / f"{name}.sqlite")
             for name, args in LONG_RUNS.items()}  # fmt: skip
    signalled: dict[str, float] = {}
    deadline = time.monotonic() + 600  # eleven JAX processes sharing the cores
    try:
        sent = float("inf")
        while time.monotonic() < deadline:
            for name, (proc, store_path) in procs.items():
                if name in signalled or proc.poll() is not None:
                    continue
                if _running(store_path):
                    signalled[name] = time.monotonic()
            for name, at in signalled.items():
                proc = procs[name][0]
                if proc.poll() is None and time.monotonic() - at > 0.5:
                    proc.send_signal(signal.SIGINT)
                    signalled[name] = sent
            if all(procs[n][0].poll() is not None or signalled.get(n) == sent for n in procs):
                break
            time.sleep(0.1)
        results = {}
        for name, (proc, store_path) in procs.items():
            out, err = proc.communicate(timeout=120)
            results[name] = (proc.returncode, out, err, store_path, name in signalled)
        return results
    finally:
        for proc, _ in procs.values():
            if proc.poll() is None:
                proc.kill()


@pytest.mark.parametrize("experiment", sorted(LONG_RUNS))
def test_ctrl_c_exits_130_and_stores_interrupted(experiment, interrupted):
    code, out, err, store_path, started = interrupted[experiment]
    assert started, f"the run did not start: exit {code}: {err}"
    assert code == 130, (out, err)
    assert "Traceback" not in out + err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "interrupt" in lines[0], err
    (run,) = RunStore(store_path).list_runs()
    assert run.status == "interrupted" and run.experiment.startswith(experiment)

"""A sweep killed for real (SIGKILL of its whole process group) resumes and runs only what is
missing: every finished (config, seed) ends up with exactly one finished run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from theoryscope.store import RunStore

ARGS = [
    "sweep", "expander",
    "--grid", "gamma=0.05,0.1,0.2,0.3,0.4,0.5,0.6,0.7",
    "--grid", "alpha=1,0", "--grid", "k=40", "--grid", "batch=10", "--grid", "records=20",
    "--seeds", "0-1", "--mode", "sgd", "--t-eff", "150", "--workers", "1", "--quiet",
]  # fmt: skip
TOTAL = 16


def _command(store_path) -> list[str]:
    return [sys.executable, "-m", "theoryscope.cli.main", *ARGS, "--store", str(store_path)]


def _finished(store: RunStore) -> list:
    return [r for r in store.list_runs(limit=None) if r.status == "finished"]


def test_killed_sweep_resumes_with_only_the_missing_runs(tmp_path):
    store_path = tmp_path / "runs.sqlite"
    store = RunStore(store_path)
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    proc = subprocess.Popen(
        _command(store_path),
        env=env,
        start_new_session=True,  # its own process group: the kill takes its pool workers too
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 90
    try:
        while len(_finished(store)) < 2:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "no runs stored in time"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    before = {(r.config_hash, r.seed): r.id for r in _finished(store)}
    assert 2 <= len(before) < TOTAL, "the sweep must really be cut short"
    (sweep,) = store.list_sweeps()
    assert all(r.sweep_id == sweep["id"] for r in store.list_runs(limit=None))

    done = subprocess.run(
        [*_command(store_path), "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["sweep_id"] == sweep["id"]
    assert summary["skipped"] == len(before)
    assert summary["finished"] == TOTAL - len(before)

    finished = _finished(store)
    keys = [(r.config_hash, r.seed) for r in finished]
    assert len(keys) == len(set(keys)) == TOTAL  # one finished run per (config, seed)
    for key, run_id in before.items():  # the runs from before the kill were kept, not redone
        assert dict(zip(keys, [r.id for r in finished], strict=True))[key] == run_id
    assert len(store.list_sweeps()) == 1

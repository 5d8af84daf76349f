"""core.recording: the shared record schedules and the one Recorder (chunks, divergence)."""

from __future__ import annotations

import math

import numpy as np

from theoryscope.core.recording import Recorder, exact_log_steps, linear_steps, log_steps


def test_log_steps_start_at_zero_end_at_steps_and_are_increasing():
    for steps, records in [(10, 5), (1000, 50), (10**6, 400), (3, 10), (1, 5)]:
        s = log_steps(steps, records)
        assert s[0] == 0 and s[-1] == steps and np.all(np.diff(s) > 0)
        assert len(s) <= records + 1
    assert list(log_steps(5, 2)) == [0, 5]


def test_exact_log_steps_give_exactly_the_number_asked_for():
    for steps, records in [(20000, 400), (300, 30), (10**6, 2000)]:
        s = exact_log_steps(steps, records)
        assert len(s) == records + 1 and s[-1] == steps and np.all(np.diff(s) > 0)
    assert list(exact_log_steps(5, 10)) == [0, 1, 2, 3, 4, 5]  # every step when records >= steps


def test_linear_steps():
    assert list(linear_steps(10, 6)) == [0, 2, 4, 6, 8, 10]


def test_recorder_streams_chunks_and_keeps_everything():
    chunks = []
    rec = Recorder(chunks.append, chunk_records=3)
    for i in range(7):
        assert rec.add({"step": i, "loss": 1.0 / (i + 1), "w": np.ones(2) * i})
    rec.flush()
    assert [len(c["step"]) for c in chunks] == [3, 3, 1]
    series = rec.series()
    assert series["w"].shape == (7, 2) and rec.status == "finished" and len(rec) == 7
    np.testing.assert_array_equal(np.concatenate([c["step"] for c in chunks]), series["step"])


def test_recorder_stops_at_the_first_non_finite_record_and_keeps_the_rest():
    chunks = []
    rec = Recorder(chunks.append, chunk_records=10)
    assert rec.add({"step": 1, "loss": 0.5})
    assert not rec.add({"step": 2, "loss": math.nan})
    assert not rec.add({"step": 3, "loss": 0.1})  # nothing more after divergence
    assert rec.status == "diverged" and "step 2" in rec.message and "loss" in rec.message
    assert list(rec.series()["step"]) == [1]
    assert [list(c["step"]) for c in chunks] == [[1]]  # flushed at divergence


def test_recorder_loss_cap_and_interrupt():
    rec = Recorder(cap=10.0)
    assert rec.add({"step": 0, "loss": 9.0})
    assert not rec.add({"step": 1, "loss": 11.0})
    assert rec.status == "diverged" and "above 10" in rec.message
    other = Recorder()
    other.add({"step": 0, "loss": 1.0})
    other.interrupt("stopped at step 0")
    assert other.status == "interrupted" and other.series(shapes={"x": (3,)})["x"].shape == (0, 3)

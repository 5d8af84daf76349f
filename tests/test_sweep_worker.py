"""A sweep worker computes each config's theory once per process (seeds are separate tasks on a
CPU); the outcomes are those of computing it every time."""

from __future__ import annotations

import dataclasses

from theoryscope.protocol import get_experiment, register, unregister
from theoryscope.sweep import worker
from theoryscope.sweep.worker import Task, run_task


def test_the_theory_of_a_config_is_computed_once_per_process():
    base = get_experiment("polynets")
    calls = []

    def predict(config):
        calls.append(config)
        return base.predict(config)

    register(dataclasses.replace(base, name="polynets-counted", predict=predict))
    try:
        config = base.config.from_dict({"d": 4, "teacher_width": 2, "width": 3, "steps": 20})
        task = dict(experiment="polynets-counted", config=config.to_dict(), config_hash="h-1")
        first = run_task(Task(**task, seeds=[0]))
        second = run_task(Task(**task, seeds=[1]))
        other = run_task(Task(**{**task, "config_hash": "h-2"}, seeds=[0]))
        assert len(calls) == 2  # h-1 once, h-2 once
        assert first[0].theory == second[0].theory == other[0].theory
        assert all(o.error is None for o in (*first, *second, *other))
    finally:
        unregister("polynets-counted")
        worker._THEORIES.clear()

"""The runner stores every outcome of a simulation: finished, diverged, failed, interrupted.

A tiny fake experiment stands in for the real ones, so these tests pin the runner's contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from theoryscope.errors import ConfigError
from theoryscope.protocol import Experiment, Run, get_experiment, register
from theoryscope.runner import execute
from theoryscope.store import RunStore


@dataclass(frozen=True)
class ToyConfig:
    n: int = 4
    behaviour: str = "finish"

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "behaviour": self.behaviour}

    def config_hash(self) -> str:
        return f"toy-{self.n}-{self.behaviour}"


def toy_simulate(config: ToyConfig, seed: int, *, on_chunk=None, should_stop=None) -> Run:
    steps = []
    for i in range(config.n):
        if config.behaviour == "raise" and i == 2:
            raise RuntimeError("boom at 2")
        if config.behaviour == "ctrl-c" and i == 2:
            raise KeyboardInterrupt
        if should_stop is not None and should_stop():
            return Run("toy", config.to_dict(), seed, "interrupted", {"step": np.array(steps)})
        chunk = {"step": np.array([i]), "loss": np.array([1.0 / (i + 1)])}
        steps.append(i)
        if on_chunk:
            on_chunk(chunk)
    status = "diverged" if config.behaviour == "diverge" else "finished"
    return Run(
        "toy", config.to_dict(), seed, status, {"step": np.array(steps)}, {"steps": len(steps)}
    )


register(
    Experiment(
        name="toy",
        title="Toy",
        config_from_dict=lambda d: ToyConfig(**d),
        simulate=toy_simulate,
        predict=lambda cfg: {"prediction": cfg.n},
        compare=lambda run, theory: {"match": len(run.series["step"]) == theory["prediction"]},
        theory_to_dict=lambda theory: dict(theory),
    )
)


def test_finished_run_is_stored_with_theory_and_agreement(store_path):
    store = RunStore(store_path)
    seen = []
    result = execute("toy", ToyConfig(), 3, store=store, on_chunk=seen.append)
    stored = store.get_run(result.run_id)
    assert stored.status == "finished" and stored.seed == 3 and stored.config_hash == "toy-4-finish"
    assert stored.theory == {"prediction": 4} and stored.agreement == {"match": True}
    assert "theory_seconds" in stored.timings
    np.testing.assert_array_equal(store.get_series(result.run_id)["step"], [0, 1, 2, 3])
    assert len(seen) == 4


def test_config_given_as_dict_is_validated_first(store_path):
    store = RunStore(store_path)
    result = execute("toy", {"n": 2}, 0, store=store)
    assert store.get_run(result.run_id).config == {"n": 2, "behaviour": "finish"}


@pytest.mark.parametrize("behaviour, status", [("diverge", "diverged")])
def test_final_status_comes_from_the_run(store_path, behaviour, status):
    store = RunStore(store_path)
    result = execute("toy", ToyConfig(behaviour=behaviour), 0, store=store)
    assert store.get_run(result.run_id).status == status


def test_exception_is_stored_as_failed_with_message_and_data(store_path):
    store = RunStore(store_path)
    with pytest.raises(RuntimeError):
        execute("toy", ToyConfig(behaviour="raise"), 0, store=store)
    (run,) = store.list_runs()
    assert run.status == "failed" and "boom at 2" in run.message
    np.testing.assert_array_equal(store.get_series(run.id)["step"], [0, 1])


def test_ctrl_c_is_stored_as_interrupted_with_data(store_path):
    store = RunStore(store_path)
    with pytest.raises(KeyboardInterrupt):
        execute("toy", ToyConfig(behaviour="ctrl-c"), 0, store=store)
    (run,) = store.list_runs()
    assert run.status == "interrupted"
    assert len(store.get_series(run.id)["step"]) == 2


def test_should_stop_interrupts(store_path):
    store = RunStore(store_path)
    calls = iter([False, False, True])
    result = execute("toy", ToyConfig(n=10), 0, store=store, should_stop=lambda: next(calls))
    assert store.get_run(result.run_id).status == "interrupted"


def test_unknown_experiment_is_a_config_error():
    with pytest.raises(ConfigError, match="experiment: unknown 'nope'"):
        get_experiment("nope")


def test_without_store_nothing_is_written(store_path):
    result = execute("toy", ToyConfig(), 0, store=None)
    assert result.run_id is None and result.agreement == {"match": True}
    assert not store_path.exists()


def test_compare_that_raises_leaves_the_run_failed_not_running(store_path):
    register(
        Experiment(
            name="toy-bad-compare",
            title="Toy with a broken compare",
            config_from_dict=lambda d: ToyConfig(**d),
            simulate=toy_simulate,
            predict=lambda cfg: {"prediction": cfg.n},
            compare=lambda run, theory: 1 / 0,
            theory_to_dict=lambda theory: dict(theory),
        )
    )
    store = RunStore(store_path)
    with pytest.raises(ZeroDivisionError):
        execute("toy-bad-compare", ToyConfig(), 0, store=store)
    (run,) = store.list_runs()
    assert run.status == "failed" and "ZeroDivisionError" in run.message
    assert len(store.get_series(run.id)["step"]) == 4


def test_series_are_batched_into_few_transactions(store_path):
    import sqlite3

    store = RunStore(store_path)
    result = execute("toy", ToyConfig(n=50), 0, store=store)
    np.testing.assert_array_equal(store.get_series(result.run_id)["step"], np.arange(50))
    with sqlite3.connect(store_path) as conn:
        seqs = conn.execute("SELECT COUNT(DISTINCT seq) FROM chunks").fetchone()[0]
    assert seqs < 50

"""What a sweep worker runs: one config with one or more seeds, never touching the store.

:func:`run_task` is a plain module-level function of a picklable :class:`Task`, so a spawned
process pool and a Dask worker (which needs only the installed package) call the same code and
return the same :class:`~theoryscope.sweep.persist.Outcome` objects. Per seed it does what
:func:`theoryscope.runner.execute` does: predict, simulate, compare. Seeds of one config run as
one batched computation where the experiment declares ``simulate_seeds`` and the executor's
plan batches (on accelerators; :mod:`theoryscope.sweep.plan`); if that raises, the seeds are run
one by one so a failure is pinned to its seed. Every exception becomes a failed outcome carrying ``"<ExceptionType>: <message>"``; nothing a run raises stops the sweep.
"""

from __future__ import annotations

import importlib
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from theoryscope.sweep.persist import Outcome

__all__ = ["Task", "run_task", "worker_platform"]


@dataclass
class Task:
    """One config and the seeds to run with it (all picklable)."""

    experiment: str
    config: dict[str, Any]
    config_hash: str | None
    seeds: list[int]
    #: A module whose import registers the experiment (for experiments outside the built-ins).
    module: str | None = None
    batch_seeds: bool = True
    index: int = 0
    meta: dict[str, Any] = field(default_factory=dict)


def _error(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"


def _experiment(task: Task) -> Any:
    from theoryscope.protocol import _REGISTRY, get_experiment

    if task.experiment not in _REGISTRY and task.module:
        importlib.import_module(task.module)
    return get_experiment(task.experiment)


#: Theories this process has computed, by (experiment, config hash): the seeds of a config are
#: separate tasks on a CPU, and the theory depends on the config alone, so each config's theory
#: is computed once per process (a loop over the same runs predicts once per run).
_THEORIES: dict[tuple[str, str], tuple[Any, dict[str, Any], float]] = {}
_THEORIES_MAX = 256


def _theory(experiment: Any, task: Task, config: Any) -> tuple[Any, dict[str, Any], float]:
    """(theory, its JSON, seconds it took) of ``config``, from the cache when the task's config
    hash was seen before in this process (0 seconds then)."""
    key = (task.experiment, task.config_hash) if task.config_hash else None
    if key is not None and key in _THEORIES:
        theory, theory_dict, _ = _THEORIES[key]
        return theory, theory_dict, 0.0
    started = time.perf_counter()
    theory = experiment.predict(config)
    seconds = time.perf_counter() - started
    theory_dict = experiment.theory_to_dict(theory)
    if key is not None:
        if len(_THEORIES) >= _THEORIES_MAX:
            _THEORIES.pop(next(iter(_THEORIES)))
        _THEORIES[key] = (theory, theory_dict, seconds)
    return theory, theory_dict, seconds


def worker_platform() -> str:
    """The JAX backend this worker computes on (``cpu``, ``gpu``, ``tpu``); loads JAX early."""
    from theoryscope.sweep.plan import detect_platform

    return detect_platform()


def run_task(task: Task, should_stop: Callable[[], bool] | None = None) -> list[Outcome]:
    """Predict, simulate and compare every seed of ``task``; one Outcome per seed, in order.

    ``should_stop`` (in-process runs only) stops each run at its next chunk, stored
    ``interrupted`` with its data (a batch of seeds runs to its end)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    where = {"host": socket.gethostname(), "pid": os.getpid()}

    def outcome(seed: int, **kw: Any) -> Outcome:
        return Outcome(
            experiment=task.experiment,
            config=task.config,
            config_hash=task.config_hash,
            seed=int(seed),
            worker=where,
            **kw,
        )

    try:
        experiment = _experiment(task)
        config = experiment.config_from_dict(task.config)
        theory, theory_dict, theory_seconds = _theory(experiment, task, config)
    except Exception as err:  # the config or its theory is broken: every seed fails alike
        return [outcome(s, error=_error(err)) for s in task.seeds]

    runs: dict[int, Any] = {}
    errors: dict[int, str] = {}
    simulate_seeds = experiment.hooks.simulate_seeds
    if task.batch_seeds and len(task.seeds) > 1 and simulate_seeds is not None:
        try:
            runs = dict(zip(task.seeds, simulate_seeds(config, task.seeds), strict=True))
        except Exception:
            runs = {}  # fall back to one seed at a time, so the failure is pinned to its seed
    stop = {} if should_stop is None else {"should_stop": should_stop}
    for seed in task.seeds:
        if seed in runs:
            continue
        try:
            runs[seed] = experiment.simulate(config, seed, **stop)
        except Exception as err:
            errors[seed] = _error(err)

    out = []
    for seed in task.seeds:
        if seed in errors:
            out.append(outcome(seed, theory=theory_dict, error=errors[seed]))
            continue
        run = runs[seed]
        try:
            agreement = experiment.compare(run, theory)
        except Exception as err:
            out.append(outcome(seed, theory=theory_dict, error=_error(err)))
            continue
        run.timings["theory_seconds"] = theory_seconds
        out.append(outcome(seed, run=run, theory=theory_dict, agreement=agreement))
    return out

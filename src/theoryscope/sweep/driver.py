"""The sweep driver: plan the runs, skip what is finished, farm out the rest, store results.

    spec (grid x seeds) -> configs (t_eff resolved) -> register the sweep -> skip every
    (config hash, seed) already finished in the store -> tasks (one config, several seeds) ->
    executor -> outcomes -> store (driver only) -> progress

Resumption: the sweep id is derived from the spec (:meth:`SweepSpec.sweep_id`), so running the
same command again names the same sweep; a (config hash, seed) already ``finished`` (or
``diverged``, also a result) anywhere in the store is skipped, so a killed sweep finishes only
what is missing. ``failed`` and ``interrupted`` runs are tried again.

An experiment's declared sweep settings (``Hooks.sweep_settings``) are resolved per grid point
by its ``plan_point`` hook, which sees the point's theory (Expander's ``t_eff=auto``).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from theoryscope.errors import ConfigError
from theoryscope.protocol import get_experiment
from theoryscope.store import RunStore
from theoryscope.sweep.grid import SweepSpec
from theoryscope.sweep.persist import Outcome, store_outcome
from theoryscope.sweep.worker import Task

__all__ = ["Progress", "SweepResult", "plan_configs", "run_sweep"]


# ------------------------------------------------------------------------------------------------
# planning
# ------------------------------------------------------------------------------------------------
def plan_runs(spec: SweepSpec) -> list[tuple[dict[str, Any], list[int]]]:
    """Every grid point as a validated config dict with the seeds it runs, the experiment's
    sweep settings resolved (its ``plan_point`` hook, e.g. ``t_eff=auto``, sees the point's
    theory). A field the Config declares ``follows_seed`` (a data or feature seed that the
    theory must see) takes each run seed unless the sweep fixes or grids it, so such a point
    becomes one config per seed.

    Raises ConfigError naming the grid point for any point that is not a valid config.
    """
    experiment = get_experiment(spec.experiment)
    plan = experiment.hooks.plan_point
    given = set(spec.fixed) | {key for key, _ in spec.grid}
    follow = [f for f in getattr(experiment.config, "follows_seed", ()) if f not in given]
    implied = [
        extra for extra in getattr(experiment.config, "cli_inputs", ())
        if getattr(extra, "grid_defaults", None) is not None
    ]  # fmt: skip
    out: list[tuple[dict[str, Any], list[int]]] = []
    for kw in spec.points():
        for extra in implied:  # e.g. a multi-index implies its dimension
            if kw.get(extra.name) is not None:
                for key, value in extra.grid_defaults(kw[extra.name]).items():
                    kw.setdefault(key, value)
        variants = [(kw, list(spec.seeds))]
        if follow:
            variants = [({**kw, **dict.fromkeys(follow, seed)}, [seed]) for seed in spec.seeds]
        for point, seeds in variants:
            try:
                config = experiment.config_from_dict(point)
                if plan is not None:
                    theory = experiment.theory_to_dict(experiment.predict(config))
                    config = plan(config, theory, {**spec.settings, "given": sorted(given)})
            except ConfigError as err:
                if not spec.grid:
                    raise
                raise ConfigError("grid", f"point {spec.point_label(kw)}: {err}") from None
            out.append((config.to_dict(), seeds))
    return out


def plan_configs(spec: SweepSpec) -> list[dict[str, Any]]:
    """The configs of :func:`plan_runs` (one per grid point, or per point and seed)."""
    return [config for config, _ in plan_runs(spec)]


def config_hash(experiment: str, config: Mapping[str, Any]) -> str | None:
    cfg = get_experiment(experiment).config_from_dict(config)
    return cfg.config_hash() if hasattr(cfg, "config_hash") else None


def batches_seeds(experiment: Any, config: Mapping[str, Any]) -> bool:
    """Whether the experiment can run several seeds of this config as one batched computation."""
    from theoryscope.plots.render import when_holds

    hooks = experiment.hooks
    return hooks.simulate_seeds is not None and when_holds(hooks.batch_when, config)


def estimate_work(
    experiment_name: str, configs: list[dict[str, Any]], missing: list[list[int]]
) -> tuple[float | None, float | None]:
    """(seconds of all missing runs together, memory of the largest) from the experiment's
    declared estimate; (None, None) where it declares none."""
    experiment = get_experiment(experiment_name)
    if experiment.estimate is None:
        return None, None
    seconds = memory = 0.0
    for config, seeds in zip(configs, missing, strict=True):
        if not seeds:
            continue
        try:
            found = experiment.estimate(experiment.config_from_dict(config))
        except Exception:  # an estimate is advice: without it the plan does without
            return None, None
        seconds += float(found.seconds) * len(seeds)
        memory = max(memory, float(found.memory_bytes))
    return seconds, memory


# ------------------------------------------------------------------------------------------------
# progress
# ------------------------------------------------------------------------------------------------
def _duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "--"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


@dataclass
class Progress:
    """A one-line progress bar: done / running / diverged / failed of the total, and an ETA.

    ``done`` counts every run that ended (finished, diverged or other); ``diverged`` and
    ``failed`` say how many of them did not finish.

    On a terminal the line is redrawn in place; otherwise a line is written per completed task
    (and at most every ``every`` seconds otherwise), so logs stay readable.
    """

    total: int
    skipped: int = 0
    stream: TextIO | None = None
    enabled: bool = True
    every: float = 10.0
    done: int = 0
    diverged: int = 0
    failed: int = 0
    running: int = 0
    started: float = field(default_factory=time.perf_counter)
    _last: float = 0.0

    def __post_init__(self) -> None:
        self.stream = self.stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    @property
    def eta(self) -> float | None:
        finished_now = self.done + self.failed
        remaining = self.total - self.skipped - finished_now
        if finished_now == 0:
            return None
        return (time.perf_counter() - self.started) / finished_now * remaining

    def line(self) -> str:
        width = 24
        complete = self.skipped + self.done + self.failed
        filled = int(width * complete / self.total) if self.total else width
        bar = "#" * filled + "." * (width - filled)
        skipped = f" ({self.skipped} already stored)" if self.skipped else ""
        return (
            f"[{bar}] {self.skipped + self.done}/{self.total} done{skipped}  {self.running} running"
            f"  {self.diverged} diverged  {self.failed} failed  ETA {_duration(self.eta)}"
            f"  elapsed {_duration(time.perf_counter() - self.started)}"
        )

    def show(self, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and not self.tty and now - self._last < self.every:
            return
        self._last = now
        assert self.stream is not None
        if self.tty:
            self.stream.write("\r" + self.line() + "\x1b[K")
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        """One line of its own above the bar (the executor's plan)."""
        if not self.enabled:
            return
        assert self.stream is not None
        self.stream.write(("\r\x1b[K" if self.tty else "") + text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty and self.stream is not None:
            self.stream.write("\n")
            self.stream.flush()


# ------------------------------------------------------------------------------------------------
# running
# ------------------------------------------------------------------------------------------------
@dataclass
class SweepResult:
    sweep_id: str
    total: int
    skipped: int
    finished: int
    failed: int
    other: int
    seconds: float
    executor: str
    run_ids: list[str] = field(default_factory=list)
    #: runs that ended ``diverged`` (a result, so not retried on resume, but not ``finished``)
    diverged: int = 0
    #: where the tasks ran (:class:`~theoryscope.sweep.plan.Plan`), None if nothing ran
    plan: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "sweep_id": self.sweep_id,
            "total": self.total,
            "skipped": self.skipped,
            "finished": self.finished,
            "diverged": self.diverged,
            "failed": self.failed,
            "other": self.other,
            "seconds": self.seconds,
            "executor": self.executor,
            "plan": self.plan,
            "run_ids": self.run_ids,
        }


def register_sweep(
    store: RunStore, spec: SweepSpec, sweep_id: str | None = None
) -> tuple[str, list[dict[str, Any]], list[str | None]]:
    """Resolve the configs and register the sweep (idempotent); returns (id, configs, hashes).
    The stored spec also keeps each config's seeds (``config_seeds``)."""
    planned = plan_runs(spec)
    configs = [c for c, _ in planned]
    hashes = [config_hash(spec.experiment, c) for c in configs]
    sweep_id = sweep_id or spec.sweep_id()
    store.create_sweep(
        spec.experiment,
        {
            **spec.to_dict(),
            "configs": configs,
            "config_hashes": hashes,
            "config_seeds": [seeds for _, seeds in planned],
        },
        sweep_id=sweep_id,
    )
    return sweep_id, configs, hashes


def make_tasks(
    spec: SweepSpec,
    configs: list[dict[str, Any]],
    hashes: list[str | None],
    missing: list[list[int]],
    slots: int,
    batch: bool = True,
) -> list[Task]:
    """One task per config with its missing seeds, split so that every slot has work.

    Where the executor batches (``batch``, on accelerators) and the experiment can (its
    ``simulate_seeds`` hook), a config's seeds stay together unless there are fewer configs
    than slots; other seeds each get their own task (better balance).
    """
    experiment = get_experiment(spec.experiment)
    module = getattr(experiment.simulate, "__module__", None)
    n_configs = sum(1 for m in missing if m)
    tasks: list[Task] = []
    allowed = batch
    for i, (config, h, seeds) in enumerate(zip(configs, hashes, missing, strict=True)):
        if not seeds:
            continue
        batch = allowed and batches_seeds(experiment, config)
        if batch:
            parts = max(1, min(len(seeds), slots // max(1, n_configs)))
            size = math.ceil(len(seeds) / parts)
            groups = [seeds[j : j + size] for j in range(0, len(seeds), size)]
        else:
            groups = [[s] for s in seeds]
        for group in groups:
            tasks.append(
                Task(spec.experiment, config, h, list(group), module, batch_seeds=batch, index=i)
            )
    return tasks


def run_sweep(
    spec: SweepSpec,
    *,
    store: RunStore,
    executor: Any,
    sweep_id: str | None = None,
    progress: Progress | None = None,
    show_progress: bool = True,
    on_outcome: Callable[[Outcome, str], None] | None = None,
    poll_seconds: float = 0.5,
) -> SweepResult:
    """Run every missing (config, seed) of ``spec`` on ``executor`` and store each result."""
    started = time.perf_counter()
    sweep_id, configs, hashes = register_sweep(store, spec, sweep_id)
    seed_sets = store.get_sweep(sweep_id)["spec"].get("config_seeds") or [list(spec.seeds)] * len(
        configs
    )
    missing: list[list[int]] = []
    skipped = 0
    for h, seeds in zip(hashes, seed_sets, strict=True):
        todo = []
        for seed in seeds:
            if h is not None and store.find_finished(spec.experiment, h, seed):
                skipped += 1
            else:
                todo.append(seed)
        missing.append(todo)
    total = sum(len(seeds) for seeds in seed_sets)
    result = SweepResult(sweep_id, total, skipped, 0, 0, 0, 0.0, "")
    if progress is None:
        progress = Progress(total=total, skipped=skipped, enabled=show_progress)
    if skipped == total:
        progress.show(force=True)
        progress.close()
        result.seconds = time.perf_counter() - started
        return result

    configure = getattr(executor, "configure", None)
    if configure is not None:  # the local executor plans processes x threads from the work
        seconds, memory = estimate_work(spec.experiment, configs, missing)
        configure(runs=total - skipped, work_seconds=seconds, run_bytes=memory)
    with executor as ex:
        result.executor = ex.describe()
        plan = getattr(ex, "plan", None)
        result.plan = plan.to_dict() if plan is not None else None
        progress.note(f"plan: {result.executor}")
        batch = bool(getattr(ex, "batches", lambda: True)())
        tasks = make_tasks(spec, configs, hashes, missing, ex.capacity(), batch)
        # longest first (a rough cost: steps x seeds), so the pool drains evenly
        tasks.sort(key=lambda t: -float(t.config.get("steps", 1)) * len(t.seeds))
        queue = list(reversed(tasks))
        in_flight: dict[Any, Task] = {}
        changed = True
        try:
            while queue or in_flight:
                while queue and len(in_flight) < ex.capacity():
                    task = queue.pop()
                    in_flight[ex.submit(task)] = task
                progress.running = sum(len(t.seeds) for t in in_flight.values())
                progress.show(force=changed)
                done, _ = ex.wait(list(in_flight), timeout=poll_seconds)
                changed = bool(done)
                for future in done:
                    task = in_flight.pop(future)
                    try:
                        outcomes = ex.result(future)
                    except Exception as err:  # the worker itself died: every seed failed
                        outcomes = [
                            Outcome(
                                task.experiment,
                                task.config,
                                task.config_hash,
                                s,
                                error=f"worker lost: {type(err).__name__}: {err}",
                            )
                            for s in task.seeds
                        ]
                    for outcome in outcomes:
                        run_id = store_outcome(store, outcome, sweep_id=sweep_id)
                        result.run_ids.append(run_id)
                        if outcome.status == "failed":
                            result.failed += 1
                            progress.failed += 1
                        else:
                            if outcome.status == "finished":
                                result.finished += 1
                            elif outcome.status == "diverged":
                                result.diverged += 1
                                progress.diverged += 1
                            else:
                                result.other += 1
                            progress.done += 1
                        if on_outcome is not None:
                            on_outcome(outcome, run_id)
            progress.running = 0
            progress.show(force=True)
        finally:
            progress.close()
    result.seconds = time.perf_counter() - started
    return result

"""Sweeps: a grid of configs x seeds, run on local cores or a Dask cluster, stored and resumable.

    from theoryscope.sweep import build_spec, run_sweep, make_executor, sweep_rows
    spec = build_spec("expander", ["gamma=0.01,0.1"], "0-9", fixed={"mode": "flow"})
    result = run_sweep(spec, store=RunStore(), executor=make_executor("local"))
    rows = sweep_rows(RunStore(), result.sweep_id)

See ``docs/sweeps.md``.
"""

from __future__ import annotations

from theoryscope.sweep.driver import Progress, SweepResult, plan_configs, run_sweep
from theoryscope.sweep.executors import EXECUTORS, make_executor
from theoryscope.sweep.grid import SweepSpec, build_spec, parse_grid, parse_seeds
from theoryscope.sweep.persist import Outcome, store_outcome
from theoryscope.sweep.table import export_sweep, sweep_rows, sweep_summaries

__all__ = [
    "EXECUTORS",
    "Outcome",
    "Progress",
    "SweepResult",
    "SweepSpec",
    "build_spec",
    "export_sweep",
    "make_executor",
    "parse_grid",
    "parse_seeds",
    "plan_configs",
    "run_sweep",
    "store_outcome",
    "sweep_rows",
    "sweep_summaries",
]

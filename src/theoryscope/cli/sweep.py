"""``theoryscope sweep``: grids of runs on local cores or a Dask cluster (see docs/sweeps.md).

theoryscope sweep expander --grid gamma=0.001,0.01,0.1 --grid alpha=1,0,0:2,1,0 --seeds 0-9
theoryscope sweep expander --preset rise-time
theoryscope sweep list | show ID | export ID --format csv|json [--out PATH]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from theoryscope.cli.common import (
    EXIT_FAILED,
    STORE_HELP,
    emit_json,
    fail,
    open_store,
)

app = typer.Typer(
    help="Sweeps: a grid of configs x seeds, stored under one sweep id and resumable.",
    no_args_is_help=True,
)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@app.command("expander")
def expander_command(
    grid: list[str] = typer.Option(
        None,
        "--grid",
        help="KEY=V1,V2,... (repeat per key). Vector keys use ':' between values: "
        "alpha=1,0,0:2,1,0 ('+' joins terms). Keys: alpha, gamma, k, d, lr, batch, steps, "
        "records, ema_window, holdout, b0, nonlinearity, dtype.",
    ),
    seeds: str = typer.Option(None, "--seeds", help="Seeds: 0-9, 0,3,7 or 0-4,10-12 (default 0)."),
    mode: str = typer.Option(None, "--mode", help="sgd (default), flow or gd."),
    t_eff: str = typer.Option(
        None,
        "--t-eff",
        help="auto (default: 3 x max(t_half_ode, t_rise) over the terms), a time T, or steps "
        "(keep each config's steps).",
    ),
    t_eff_factor: str = typer.Option(
        None, "--t-eff-factor", help="The multiple used by --t-eff auto (default 3)."
    ),
    preset: str = typer.Option(
        None, "--preset", help="A named sweep (rise-time); --grid/--seeds/--mode override it."
    ),
    resume: str = typer.Option(
        None, "--resume", help="Finish the stored sweep ID (no grid options with it)."
    ),
    executor: str = typer.Option("local", "--executor", help="local (process pool) or dask."),
    scheduler: str = typer.Option(
        None,
        "--scheduler",
        help="Dask scheduler address tcp://host:8786 (default: a LocalCluster).",
    ),
    workers: str = typer.Option(
        None, "--workers", help="Worker processes (default: every core); dask: LocalCluster size."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object at the end."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """Run a sweep of Expander Nets; each run is stored under the sweep id (resumable)."""
    from theoryscope.core.validation import as_choice, as_float, as_int
    from theoryscope.sweep.driver import run_sweep
    from theoryscope.sweep.executors import EXECUTORS, check_workers, make_executor
    from theoryscope.sweep.grid import SweepSpec, build_spec

    as_choice("executor", executor, EXECUTORS)
    n_workers = check_workers(as_int("workers", workers, low=1)) if workers is not None else None
    store = open_store(store_path)
    sweep_id = None
    if resume is not None:
        if grid or seeds or mode or t_eff or preset or t_eff_factor:
            fail("resume: give the sweep id alone (its grid, seeds and mode are stored)")
        stored = store.get_sweep(resume)
        spec = SweepSpec.from_dict(stored["spec"])
        sweep_id = resume
    else:
        base: dict[str, Any] = {"grid": [], "seeds": "0", "mode": "sgd", "t_eff": "auto"}
        if preset is not None:
            from theoryscope.sweep.presets import preset as get_preset

            base.update(get_preset(preset))
        items = list(base["grid"])
        if grid:
            given = {g.partition("=")[0].strip() for g in grid}
            items = [g for g in items if g.partition("=")[0].strip() not in given] + list(grid)
        mode_value = mode or base["mode"]
        from theoryscope.experiments.expander.config import MODES_ALLOWED

        as_choice("mode", mode_value, MODES_ALLOWED)
        factor = (
            as_float("t_eff_factor", t_eff_factor, low=0.0, low_open=True)
            if t_eff_factor is not None
            else 3.0
        )
        spec = build_spec(
            "expander",
            items,
            seeds or base["seeds"],
            mode=mode_value,
            t_eff=t_eff or base["t_eff"],
            t_eff_factor=factor,
        )
    ex = make_executor(executor, workers=n_workers, scheduler=scheduler)
    if not quiet and not as_json:
        typer.echo(f"sweep {sweep_id or spec.sweep_id()}", err=True)
    result = run_sweep(spec, store=store, executor=ex, sweep_id=sweep_id, show_progress=not quiet)
    payload = result.to_dict()
    payload.pop("run_ids")
    if as_json:
        emit_json(payload)
    else:
        typer.echo(
            f"sweep {result.sweep_id}: {result.finished} finished, {result.diverged} diverged, "
            f"{result.failed} failed, "
            f"{result.skipped} already stored, of {result.total}  ({result.seconds:.1f} s"
            f"{', ' + result.executor if result.executor else ''})"
        )
        typer.echo(f"  see: theoryscope sweep show {result.sweep_id}")
    if result.failed:
        raise typer.Exit(EXIT_FAILED)


@app.command("list")
def list_command(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """Every sweep in the store with its counts by status."""
    from theoryscope.sweep.table import sweep_summaries

    sweeps = sweep_summaries(open_store(store_path))
    if as_json:
        emit_json({"sweeps": sweeps})
        return
    if not sweeps:
        typer.echo("no sweeps yet; start one with `theoryscope sweep expander --grid ...`")
        return
    for s in sweeps:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(s["counts"].items()))
        grid = " ".join(f"{k}={len(v)}" for k, v in s["grid"].items())
        typer.echo(
            f"{s['id']}  {s['experiment']} {s['mode']}  {grid} x {s['seeds']} seeds  {counts}"
        )


@app.command("show")
def show_command(
    sweep_id: str = typer.Argument(..., help="The sweep id (see `theoryscope sweep list`)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """One row per run: config, seed, status, t_half_sim, t_half_ode, t_rise and the ratios."""
    from theoryscope.sweep.table import sweep_rows

    rows = sweep_rows(open_store(store_path), sweep_id)
    if as_json:
        emit_json({"sweep_id": sweep_id, "rows": rows})
        return
    head = ("alpha", "gamma", "k", "mode", "seed", "status", "t_half_sim", "t_half_ode", "t_rise",
            "ratio_sim_ode", "ratio_sim_rise", "run_id")  # fmt: skip
    widths = (9, 7, 6, 5, 5, 11, 11, 11, 11, 14, 15, 12)
    typer.echo("".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip())
    for row in rows:
        cells = [_fmt(row.get(h)) for h in head]
        typer.echo("".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        if row["status"] == "failed" and row.get("message"):
            typer.echo(f"    ! {row['message']}")


@app.command("export")
def export_command(
    sweep_id: str = typer.Argument(..., help="The sweep id."),
    fmt: str = typer.Option("csv", "--format", help="csv or json."),
    out: str = typer.Option(
        None,
        "--out",
        help="File, or directory (an existing one, or a path ending in /) for <id>.<format> "
        "(default: stdout).",
    ),
    force: bool = typer.Option(
        False, "--force", help="Replace the file if it exists (only ever a regular file)."
    ),
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """Write the sweep's rows (one per run) as CSV or JSON."""
    from theoryscope.core.validation import as_choice
    from theoryscope.sweep.table import export_sweep

    as_choice("format", fmt, ("csv", "json"))
    text = export_sweep(open_store(store_path), sweep_id, fmt, out, force=force)
    if out is None:
        typer.echo(text, nl=False)
    else:
        typer.echo(text)

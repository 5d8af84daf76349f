"""``theoryscope sweep``: grids of runs on local cores or a Dask cluster (see docs/sweeps.md).

    theoryscope sweep <exp> --grid FIELD=V1,V2 [--grid ...] --seeds 0-9 [--FIELD VALUE ...]
                            [--preset NAME] [--executor local|dask] [--workers N] [--json]
    theoryscope sweep list | show ID | export ID --format csv|json [--out PATH]

One ``sweep <exp>`` command per registered experiment, derived from its declaration: every
sweepable field is a grid key, every field is also an option that fixes it for all points, and
the experiment's declared sweep settings (``Hooks.sweep_settings``) and sweep presets become
options too.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
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
from theoryscope.errors import ConfigError

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


def _kw(name: str, default: Any, annotation: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=annotation)  # fmt: skip


def _sweep_parameters(experiment: Any) -> list[inspect.Parameter]:
    from theoryscope.cli.derive import field_options

    settings = dict(experiment.hooks.sweep_settings)
    params = [
        p for p in field_options(experiment.config)
        if p.name.removeprefix("f_") not in settings
    ]  # fmt: skip
    keys = ", ".join(_grid_key_names(experiment))
    params += [
        _kw("grid", typer.Option(None, "--grid", help="KEY=V1,V2,... (repeat per key). List "
            "values use ':' between values (gamma=0.01,0.1,0.1:0.1). Keys: " + keys + "."),
            list[str] | None),
        _kw("seeds", typer.Option(None, "--seeds", help="Seeds: 0-9, 0,3,7 or 0-4,10-12 "
            "(default 0)."), str | None),
    ]  # fmt: skip
    for name, text in settings.items():
        params.append(
            _kw(f"s_{name}", typer.Option(None, f"--{name.replace('_', '-')}", help=text),
                str | None)
        )  # fmt: skip
    presets = ", ".join(p.name for p in experiment.sweeps) or "none"
    params += [
        _kw("preset", typer.Option(None, "--preset", help=f"A named sweep ({presets}); the "
            "other options override it."), str | None),
        _kw("resume", typer.Option(None, "--resume", help="Finish the stored sweep ID (no grid "
            "options with it)."), str | None),
        _kw("executor", typer.Option("local", "--executor", help="local (process pool), dask "
            "or serial."), str),
        _kw("scheduler", typer.Option(None, "--scheduler", help="Dask scheduler address "
            "tcp://host:8786 (default: a LocalCluster)."), str | None),
        _kw("workers", typer.Option(None, "--workers", help="Worker processes (default: every "
            "core); dask: LocalCluster size."), str | None),
        _kw("as_json", typer.Option(False, "--json", help="Print one JSON object at the end."),
            bool),
        _kw("quiet", typer.Option(False, "--quiet", help="No progress bar."), bool),
        _kw("store", typer.Option(None, "--store", help=STORE_HELP), Path | None),
    ]  # fmt: skip
    return params


def _grid_key_names(experiment: Any) -> list[str]:
    from theoryscope.sweep.grid import grid_keys

    return list(grid_keys(experiment.config))


def _preset(experiment: Any, name: str | None) -> Any:
    if name is None:
        return None
    for preset in experiment.sweeps:
        if preset.name == name:
            return preset
    allowed = ", ".join(p.name for p in experiment.sweeps) or "none"
    raise ConfigError("preset", f"unknown {name!r}; allowed: {allowed}")


def _sweep_body(experiment: Any) -> Callable[[dict[str, Any]], None]:
    def body(options: dict[str, Any]) -> None:
        from theoryscope.cli.derive import values_from_options
        from theoryscope.sweep.driver import run_sweep
        from theoryscope.sweep.executors import make_executor, parse_executor
        from theoryscope.sweep.grid import SweepSpec, build_spec

        executor, n_workers = parse_executor(
            options["executor"], options["workers"], options["scheduler"]
        )
        settings_given = {
            name: options[f"s_{name}"]
            for name in experiment.hooks.sweep_settings
            if options.get(f"s_{name}") is not None
        }
        fixed_given = values_from_options(experiment.config, options)
        for name in experiment.hooks.sweep_settings:
            fixed_given.pop(name, None)
        store = open_store(options["store"])
        sweep_id = None
        if options["resume"] is not None:
            if (
                options["grid"]
                or options["seeds"]
                or options["preset"]
                or settings_given
                or fixed_given
            ):
                fail("resume: give the sweep id alone (its grid, seeds and settings are stored)")
            stored = store.get_sweep(options["resume"])
            spec = SweepSpec.from_dict(stored["spec"])
            sweep_id = options["resume"]
        else:
            preset = _preset(experiment, options["preset"])
            items = list(preset.grid) if preset else []
            if options["grid"]:
                given = {g.partition("=")[0].strip().replace("-", "_") for g in options["grid"]}
                items = [
                    g for g in items if g.partition("=")[0].strip().replace("-", "_") not in given
                ] + list(options["grid"])
            fixed = {**(dict(preset.fixed) if preset else {}), **fixed_given}
            settings = {**(dict(preset.settings) if preset else {}), **settings_given}
            seeds = options["seeds"] or (preset.seeds if preset else "0")
            spec = build_spec(experiment.name, items, seeds, fixed=fixed, settings=settings)
        ex = make_executor(executor, workers=n_workers, scheduler=options["scheduler"])
        if not options["quiet"] and not options["as_json"]:
            typer.echo(f"sweep {sweep_id or spec.sweep_id()}", err=True)
        result = run_sweep(
            spec, store=store, executor=ex, sweep_id=sweep_id, show_progress=not options["quiet"]
        )
        payload = result.to_dict()
        payload.pop("run_ids")
        if options["as_json"]:
            emit_json(payload)
        else:
            typer.echo(
                f"sweep {result.sweep_id}: {result.finished} finished, {result.diverged} "
                f"diverged, {result.failed} failed, {result.skipped} already stored, of "
                f"{result.total}  ({result.seconds:.1f} s"
                f"{', ' + result.executor if result.executor else ''})"
            )
            typer.echo(f"  see: theoryscope sweep show {result.sweep_id}; "
                       f"theoryscope report {experiment.name} {result.sweep_id}")  # fmt: skip
        if result.failed:
            raise typer.Exit(EXIT_FAILED)

    return body


def attach_experiments(group: typer.Typer, only: str | None = None) -> None:
    """One ``sweep <exp>`` command per declared experiment."""
    from theoryscope.cli.derive import _make_command
    from theoryscope.protocol import all_experiments

    for experiment in all_experiments():
        if experiment.config is None or (only is not None and experiment.name != only):
            continue
        doc = (f"Sweep {experiment.title}: a grid of configs x seeds, each run stored under the "
               "sweep id (re-running the same command resumes it).")  # fmt: skip
        group.command(experiment.name)(
            _make_command(
                experiment.name, doc, _sweep_parameters(experiment), _sweep_body(experiment)
            )
        )


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
        typer.echo("no sweeps yet; start one with `theoryscope sweep <experiment> --grid ...`")
        return
    for s in sweeps:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(s["counts"].items()))
        grid = " ".join(f"{k}={len(v)}" for k, v in s["grid"].items())
        fixed = " ".join(f"{k}={v}" for k, v in s["fixed"].items())
        typer.echo(f"{s['id']}  {s['experiment']} {fixed}  {grid} x {s['seeds']} seeds  {counts}")


@app.command("show")
def show_command(
    sweep_id: str = typer.Argument(..., help="The sweep id (see `theoryscope sweep list`)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """One row per run: the config's columns, seed, status, the agreement's numbers, run id."""
    from theoryscope.sweep.table import RUN_COLUMNS, sweep_rows

    rows = sweep_rows(open_store(store_path), sweep_id)
    if as_json:
        emit_json({"sweep_id": sweep_id, "rows": rows})
        return
    columns: list[str] = []
    for row in rows:
        for key, value in row.items():
            if key in columns or key in RUN_COLUMNS or key == "config" or key.startswith("final"):
                continue
            if value is None or isinstance(value, (int, float, str)):
                columns.append(key)
    order = _ordered(rows, columns)
    widths = [max(len(h), *(len(_fmt(r.get(h))) for r in rows)) + 2 for h in order]
    typer.echo("".join(h.ljust(w) for h, w in zip(order, widths, strict=True)).rstrip())
    for row in rows:
        cells = [_fmt(row.get(h)) for h in order]
        typer.echo("".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        if row["status"] == "failed" and row.get("message"):
            typer.echo(f"    ! {row['message']}")


def _ordered(rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    """The config's columns, then seed and status, then the numbers, then the run id."""
    if not rows:
        return ["seed", "status", "run_id"]
    first = list(rows[0])
    config_cols = [c for c in first[: first.index("seed")] if c in columns]
    numbers = [c for c in columns if c not in config_cols]
    return [*config_cols, "seed", "status", *numbers, "run_id"]


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


def build_group() -> typer.Typer:
    """The ``sweep`` group: list/show/export plus one command per declared experiment."""
    group = typer.Typer(help=app.info.help, no_args_is_help=True)
    group.registered_commands = list(app.registered_commands)
    attach_experiments(group)
    return group

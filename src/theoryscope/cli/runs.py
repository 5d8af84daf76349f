"""``theoryscope runs``: list, show, export and delete stored runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from theoryscope.cli.common import STORE_HELP, emit_json, open_store
from theoryscope.core.validation import as_choice, as_int
from theoryscope.protocol import RUN_STATUSES
from theoryscope.store import EXPORT_FORMATS

app = typer.Typer(help="Stored runs: list, show, export, delete.", no_args_is_help=True)


def _when(ts: float | None) -> str:
    return "—" if ts is None else dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


@app.command("list")
def list_command(
    experiment: str = typer.Option(None, "--experiment", help="Only runs of this experiment."),
    status: str = typer.Option(None, "--status", help="Only runs with this status."),
    sweep: str = typer.Option(None, "--sweep", help="Only runs of this sweep id."),
    limit: str = typer.Option("50", "--limit", help="At most this many (newest first)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list."),
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """List runs, newest first."""
    if status is not None:
        as_choice("status", status, RUN_STATUSES)
    store = open_store(store_path)
    runs = store.list_runs(
        experiment=experiment, status=status, sweep_id=sweep, limit=as_int("limit", limit, low=1)
    )
    if as_json:
        emit_json(
            [
                {
                    k: r.to_dict()[k]
                    for k in (
                        "id",
                        "experiment",
                        "study",
                        "seed",
                        "status",
                        "sweep_id",
                        "created_at",
                        "config",
                    )
                }
                for r in runs
            ]
        )
        return
    if not runs:
        typer.echo(f"no runs in {store.path}")
        return
    typer.echo(
        f"{'id':<13} {'experiment':<12} {'status':<12} {'seed':>5}  {'created':<19}  summary"
    )
    for r in runs:
        steps = r.summary.get("steps")
        extra = f"study {r.study}" if r.study else (f"steps={steps}" if steps is not None else "")
        typer.echo(
            f"{r.id:<13} {r.experiment:<12} {r.status:<12} {r.seed:>5}  {_when(r.created_at):<19}  {extra}"
        )


@app.command("show")
def show_command(
    run_id: str = typer.Argument(..., help="The run id (see `theoryscope runs list`)."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole stored record as JSON."),
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """Show one run: config, status, provenance, summary and agreement."""
    store = open_store(store_path)
    run = store.get_run(run_id)
    if as_json:
        record = run.to_dict()
        record["series_lengths"] = {k: len(v) for k, v in store.get_series(run_id).items()}
        emit_json(record)
        return
    typer.echo(f"run {run.id} ({run.experiment})  status {run.status}  seed {run.seed}")
    if run.message:
        typer.echo(f"  message: {run.message}")
    typer.echo(
        f"  created {_when(run.created_at)}  finished {_when(run.finished_at)}  sweep {run.sweep_id or '—'}"
    )
    typer.echo(f"  revision {run.revision}")
    # reading the series verifies their checksums: a damaged run is reported, not shown as good
    lengths = {k: len(v) for k, v in store.get_series(run_id).items()}
    records = max(lengths.values(), default=0)
    typer.echo(f"  series   {len(lengths)} ({records} records): " + ", ".join(lengths))
    typer.echo(
        "  versions " + ", ".join(f"{k} {v}" for k, v in run.versions.items() if k != "platform")
    )
    typer.echo("  config   " + ", ".join(f"{k}={v}" for k, v in run.config.items()))
    for key, value in run.summary.items():
        typer.echo(f"  {key}: {value}")
    for term in (run.agreement or {}).get("terms", []):
        typer.echo(
            "  term " + ",".join(str(a) for a in term.get("alpha", []))
            + "  " + "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in term.items() if k != "alpha")
        )  # fmt: skip


@app.command("export")
def export_command(
    run_id: str = typer.Argument(..., help="The run id."),
    fmt: str = typer.Option("csv", "--format", help="csv, json or npz."),
    out: str = typer.Option(
        ".",
        "--out",
        help="A file, or a directory (an existing one, or a path ending in /) to write "
        "<experiment>-<id>.<format> in.",
    ),
    force: bool = typer.Option(
        False, "--force", help="Replace the file if it exists (only ever a regular file)."
    ),
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """Export a run's series (and, for json/npz, everything else) to a file."""
    as_choice("format", fmt, EXPORT_FORMATS)
    store = open_store(store_path)
    path = store.export_run(run_id, fmt, out, force=force)
    typer.echo(str(path))


@app.command("delete")
def delete_command(
    run_id: str = typer.Argument(..., help="The run id."),
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """Delete a run and its series."""
    open_store(store_path).delete_run(run_id)
    typer.echo(f"deleted {run_id}")

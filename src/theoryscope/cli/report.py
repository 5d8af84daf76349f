"""``theoryscope report``: figures and tables from a stored sweep."""

from __future__ import annotations

from pathlib import Path

import typer

from theoryscope.cli.common import STORE_HELP, emit_json, open_store

app = typer.Typer(help="Reports computed from stored sweeps.", no_args_is_help=True)


@app.command("rise-time")
def rise_time_command(
    sweep_id: str = typer.Argument(..., help="The sweep id (see `theoryscope sweep list`)."),
    out: Path = typer.Option(
        None, "--out", help="Directory for rise-time.png/.csv/.md (default theoryscope-out/ID)."
    ),
    figure: Path = typer.Option(None, "--figure", help="Write the figure here instead."),
    force: bool = typer.Option(
        False, "--force", help="Replace the report's files if they exist (regular files only)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """Measured t_half against t_half_ode and t_rise (log-log, per alpha, seed mean and band),
    and the ratio against gamma: where the small-gamma theory holds and where it breaks."""
    from theoryscope.reports.rise_time import write_report
    from theoryscope.sweep.table import sweep_rows

    rows = sweep_rows(open_store(store_path), sweep_id)
    result = write_report(
        rows,
        out or Path("theoryscope-out") / sweep_id,
        sweep_id=sweep_id,
        figure_path=figure,
        force=force,
    )
    if as_json:
        emit_json(result)
        return
    for line in result["breakdown"]:
        typer.echo(line)
    typer.echo(f"figure: {result['figure']}")
    typer.echo(f"table:  {result['table_csv']}  {result['table_md']}")

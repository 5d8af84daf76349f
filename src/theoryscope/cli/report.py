"""``theoryscope report``: figures and tables from a stored sweep, derived from declarations.

theoryscope report <exp> SWEEP_ID [--x FIELD] [--out DIR]   every declared metric against
                                                             the swept field, bands over seeds
theoryscope report <report> SWEEP_ID [--out DIR]             an experiment's own declared
                                                             report (e.g. rise-time)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from theoryscope.cli.common import STORE_HELP, emit_json, open_store

HELP = "Reports computed from stored sweeps."


def _kw(name: str, default: Any, annotation: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=annotation)  # fmt: skip


def _common() -> list[inspect.Parameter]:
    return [
        _kw("sweep_id", typer.Argument(..., help="The sweep id (see `theoryscope sweep list`)."),
            str),
        _kw("out", typer.Option(None, "--out", help="Directory for the figure and tables "
            "(default theoryscope-out/SWEEP_ID)."), Path | None),
        _kw("force", typer.Option(False, "--force", help="Replace the report's files if they "
            "exist (regular files only)."), bool),
        _kw("as_json", typer.Option(False, "--json", help="Print one JSON object."), bool),
        _kw("store", typer.Option(None, "--store", help=STORE_HELP), Path | None),
    ]  # fmt: skip


def _check_sweep(store: Any, sweep_id: str, experiment: str) -> None:
    from theoryscope.errors import ConfigError

    found = store.get_sweep(sweep_id)["experiment"]
    if found != experiment:
        raise ConfigError("sweep", f"{sweep_id} is a {found} sweep; allowed: a {experiment} sweep")


def _metrics_body(name: str) -> Callable[[dict[str, Any]], None]:
    def body(options: dict[str, Any]) -> None:
        from theoryscope.reports.metrics import write_metrics_report

        store = open_store(options["store"])
        _check_sweep(store, options["sweep_id"], name)
        out = options["out"] or Path("theoryscope-out") / options["sweep_id"]
        result = write_metrics_report(
            store, options["sweep_id"], out, x=options["x"], force=options["force"]
        )
        if options["as_json"]:
            emit_json(result)
            return
        typer.echo(f"{result['runs']} runs, x = {result['x']}")
        for row in result["rows"]:
            within = {True: "ok", False: "off", None: ""}[row["within"]]
            typer.echo(f"  {row['label']:<40} {row['group']:<20} {row['x_value']:<10} "
                       f"ratio {row['ratio_mean'] if row['ratio_mean'] is None else round(row['ratio_mean'], 3)} {within}")  # fmt: skip
        typer.echo(f"figure: {result['figure']}")
        typer.echo(f"table:  {result['table_csv']}  {result['table_md']}")

    return body


def _declared_body(experiment: str, report: Any) -> Callable[[dict[str, Any]], None]:
    def body(options: dict[str, Any]) -> None:
        store = open_store(options["store"])
        _check_sweep(store, options["sweep_id"], experiment)
        out = options["out"] or Path("theoryscope-out") / options["sweep_id"]
        result = report.write(
            store, options["sweep_id"], out, options.get("figure"), force=options["force"]
        )
        if options["as_json"]:
            emit_json(result)
            return
        for line in result.get("breakdown", []):
            typer.echo(line)
        typer.echo(f"figure: {result.get('figure')}")
        tables = [result.get(k) for k in ("table_csv", "table_md") if result.get(k)]
        if tables:
            typer.echo("table:  " + "  ".join(tables))

    return body


def build_group() -> typer.Typer:
    """``report <exp>`` per declared experiment plus each declared report by its name."""
    from theoryscope.cli.derive import _make_command
    from theoryscope.protocol import all_experiments

    group = typer.Typer(help=HELP, no_args_is_help=True)
    names: set[str] = set()
    for experiment in all_experiments():
        if experiment.config is None:
            continue
        params = _common() + [
            _kw("x", typer.Option(None, "--x", help="The swept field on the x axis (default: "
                "the first numeric grid key)."), str | None),
        ]  # fmt: skip
        doc = (f"{experiment.title}: every metric against the swept field, simulation against "
               "theory with bands over seeds.")  # fmt: skip
        group.command(experiment.name)(_make_command(experiment.name, doc, params,
                                                     _metrics_body(experiment.name)))  # fmt: skip
        names.add(experiment.name)
        for report in experiment.reports:
            if report.name in names:
                raise ValueError(f"report {report.name!r} is declared twice")
            names.add(report.name)
            params = _common() + [
                _kw("figure", typer.Option(None, "--figure", help="Write the figure here "
                    "instead."), Path | None),
            ]  # fmt: skip
            group.command(report.name)(
                _make_command(report.name, f"{report.title} ({experiment.name}).", params,
                              _declared_body(experiment.name, report))
            )  # fmt: skip
    return group

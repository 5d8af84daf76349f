"""Command groups derived from experiment declarations: nothing here names an experiment.

For every registered experiment ``theoryscope <exp> ...`` offers:

    run        one stored run: an option per config field (``--help`` shows its range), the
               config's extra inputs (``--t-eff``, ``--float64``, ...), and the common
               ``--seed --preset --store --out --json --figure/--no-figure``
    <command>  ``run`` with some fields fixed (declared ``commands``, e.g. ``lrphases catapult``)
    theory     the theory alone (``predict``), its readouts as JSON or lines
    presets    the declared canonical configurations
    <study>    each declared study, an option per parameter, stored like a run

Every option is read as text and validated by the declared Config, so every bad value gets the
same one-line message (``error: field: got X; allowed: ...``, exit 2) and nothing is stored.
"""

from __future__ import annotations

import inspect
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import typer

from theoryscope.cli.common import (
    STORE_HELP,
    emit_json,
    exit_with_run_status,
    fail,
    open_store,
    parse_seed,
)
from theoryscope.errors import ConfigError
from theoryscope.protocol import Experiment
from theoryscope.runner import with_seed
from theoryscope.spec.config import CliInput
from theoryscope.spec.declare import Preset, Study
from theoryscope.spec.fields import FieldSpec
from theoryscope.spec.metrics import format_number, metric_rows

__all__ = ["experiment_app", "field_options", "options_for", "values_from_options"]

#: Options every run command has; a field may not take these names.
COMMON = ("seed", "preset", "store", "out", "json", "figure")
OUT_HELP = "Directory for the PNG figure."


# ------------------------------------------------------------------------------------------------
# options from declarations
# ------------------------------------------------------------------------------------------------
def _default_text(spec: FieldSpec) -> str:
    default = spec.default
    if default is None:
        return "none" if spec.optional else "see the config"
    if isinstance(default, (tuple, list)):
        return ",".join(str(v) for v in default)
    return str(default).lower() if isinstance(default, bool) else str(default)


def _field_help(spec: FieldSpec) -> str:
    text = spec.help.rstrip(".")
    return f"{text}. Allowed: {spec.allowed()}. Default: {_default_text(spec)}."


def _metavar(spec: FieldSpec) -> str:
    if spec.kind == "choice":
        return "[" + "|".join(str(c) for c in spec.choices) + "]"
    return {"int": "INT", "float": "NUMBER", "int_list": "INTS", "float_list": "NUMBERS"}.get(
        spec.kind, "TEXT"
    )


def _param_name(name: str) -> str:
    return f"f_{name}"


def field_options(config_cls: Any) -> list[inspect.Parameter]:
    """One typer option per field (all read as text) plus one per declared extra input."""
    params: list[inspect.Parameter] = []
    for spec in config_cls.fields():
        if spec.kind not in ("int", "float", "bool", "choice", "str", "int_list", "float_list"):
            continue  # a custom kind is reached through the config's cli_inputs
        if spec.name in COMMON:
            raise ValueError(f"field {spec.name!r} collides with a common option")
        if spec.kind == "bool":
            option = typer.Option(
                None, f"{spec.option}/--no-{spec.option[2:]}", help=_field_help(spec)
            )
            annotation: Any = bool | None
        else:
            option = typer.Option(
                None, spec.option, help=_field_help(spec), show_default=False,
                metavar=_metavar(spec),
            )  # fmt: skip
            annotation = str | None
        params.append(
            inspect.Parameter(
                _param_name(spec.name),
                inspect.Parameter.KEYWORD_ONLY,
                default=option,
                annotation=annotation,
            )
        )
    for extra in getattr(config_cls, "cli_inputs", ()):
        params.append(_input_parameter(extra))
    return params


def _input_parameter(extra: CliInput) -> inspect.Parameter:
    if extra.flag:
        option = typer.Option(False, extra.option, help=extra.help)
        annotation: Any = bool
    elif extra.multiple:
        option = typer.Option(None, extra.option, help=extra.help + " (repeatable)")
        annotation = list[str] | None
    else:
        option = typer.Option(None, extra.option, help=extra.help, show_default=False)
        annotation = str | None
    return inspect.Parameter(
        _param_name(extra.name), inspect.Parameter.KEYWORD_ONLY, default=option,
        annotation=annotation,
    )  # fmt: skip


def values_from_options(config_cls: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    """The raw config mapping the user gave: only what was set, extra inputs applied."""
    raw: dict[str, Any] = {}
    for spec in config_cls.fields():
        value = options.get(_param_name(spec.name))
        if value is not None:
            raw[spec.name] = value
    for extra in getattr(config_cls, "cli_inputs", ()):
        value = options.get(_param_name(extra.name))
        if extra.flag:
            if value:
                raw.update(extra.sets or {extra.name: True})
        elif value not in (None, [], ()):
            raw[extra.name] = list(value) if extra.multiple else value
    return raw


def options_for(config_cls: Any, values: Mapping[str, Any]) -> list[str]:
    """The command-line options that set ``values`` (what :func:`values_from_options` reads
    back): a field by its option (a list comma-separated, a boolean as ``--x``/``--no-x``,
    None as ``none``), an extra input by its own (repeated when it is multiple; a flag when
    true). The tests build commands from declared presets and a study's ``tiny`` with it."""
    specs = {spec.name: spec for spec in config_cls.fields()}
    inputs = {extra.name: extra for extra in getattr(config_cls, "cli_inputs", ())}
    argv: list[str] = []
    for name, value in values.items():
        if name in specs:
            spec = specs[name]
            if spec.kind == "bool":
                argv.append(spec.option if value else f"--no-{spec.option[2:]}")
            elif value is None:
                argv += [spec.option, "none"]
            elif isinstance(value, (list, tuple)):
                argv += [spec.option, ",".join(map(str, value))]
            else:
                argv += [spec.option, str(value)]
        elif name in inputs:
            extra = inputs[name]
            if extra.flag:
                argv += [extra.option] if value else []
            elif extra.multiple and isinstance(value, (list, tuple)):
                for item in value:
                    argv += [extra.option, str(item)]
            else:
                argv += [extra.option, str(value)]
        else:
            raise ValueError(f"{config_cls.__name__} has no field or input {name!r}")
    return argv


def _common_parameters(*, seed: bool, figure_dir: bool = True) -> list[inspect.Parameter]:
    def kw(name: str, default: Any, annotation: Any) -> inspect.Parameter:
        return inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
        )

    params = []
    if seed:
        params.append(
            kw(
                "seed",
                typer.Option("0", "--seed", help="PRNG seed (0 to 2^31-1): the same seed "
                             "reproduces the run bit for bit."),
                str,
            )
        )  # fmt: skip
    params += [
        kw("store", typer.Option(None, "--store", help=STORE_HELP), Path | None),
        kw("out", typer.Option(Path("theoryscope-out"), "--out", help=OUT_HELP), Path),
        kw("as_json", typer.Option(False, "--json", help="Print one JSON object."), bool),
        kw(
            "figure",
            typer.Option(True, "--figure/--no-figure", help="Write the PNG figure."),
            bool,
        ),
    ]
    return params


def _preset_parameter(presets: tuple[Preset, ...]) -> list[inspect.Parameter]:
    if not presets:
        return []
    names = ", ".join(p.name for p in presets)
    return [
        inspect.Parameter(
            "preset",
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(
                None, "--preset", help=f"Start from a canonical configuration: {names}.",
                show_default=False,
            ),
            annotation=str | None,
        )
    ]  # fmt: skip


def _make_command(
    name: str, doc: str, params: list[inspect.Parameter], body: Callable[[dict[str, Any]], None]
) -> Callable[..., None]:
    """A function typer can read: its signature is ``params``; calling it runs ``body``."""

    def command(**kwargs: Any) -> None:
        body(kwargs)

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__name__ = name.replace("-", "_")
    command.__doc__ = doc
    return command


def _preset(presets: tuple[Preset, ...], name: str | None) -> Preset | None:
    if name is None:
        return None
    for preset in presets:
        if preset.name == name:
            return preset
    allowed = ", ".join(p.name for p in presets) or "none"
    raise ConfigError("preset", f"unknown {name!r}; allowed: {allowed}")


# ------------------------------------------------------------------------------------------------
# run
# ------------------------------------------------------------------------------------------------
def build_config(
    experiment: Experiment,
    options: Mapping[str, Any],
    seed: int,
    fixed: Mapping[str, Any] | None = None,
) -> Any:
    """Validate the options (over a preset and fixed values) into the experiment's Config."""
    config_cls = experiment.config
    preset = _preset(experiment.presets, options.get("preset"))
    given = values_from_options(config_cls, options)
    for name, value in (fixed or {}).items():
        if name in given and str(given[name]) != str(value):
            raise ConfigError(name, f"is fixed to {value!r} by this command; allowed: {value}")
    raw: dict[str, Any] = {**(dict(preset.values) if preset else {}), **given, **dict(fixed or {})}
    return experiment.config_from_dict(with_seed(config_cls, raw, seed))


def _progress_callback(
    experiment: Experiment, config: Any
) -> tuple[Callable[..., None] | None, Callable[[], None]]:
    """A rich progress bar with an ETA on a terminal's stderr (nothing otherwise)."""
    if not sys.stderr.isatty():
        return None, lambda: None
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from theoryscope.runner import progress_fraction

    bar = Progress(
        TextColumn(f"{experiment.name}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), transient=True,
        console=None,
    )  # fmt: skip
    task = bar.add_task("run", total=1.0)
    bar.start()

    def on_chunk(chunk: Mapping[str, Any]) -> None:
        fraction = progress_fraction(experiment, config, chunk)
        if fraction is not None:
            bar.update(task, completed=fraction)

    return on_chunk, bar.stop


def run_documents(result: Any, theory_dict: Mapping[str, Any]) -> dict[str, Any]:
    from theoryscope.plots.render import documents

    run = result.run
    return documents(
        series=run.series, theory=theory_dict, agreement=result.agreement, summary=run.summary,
        config=run.config,
    )  # fmt: skip


def draw_run(
    experiment: Experiment,
    result: Any,
    theory_dict: Mapping[str, Any],
    views: Mapping[str, str] | None = None,
) -> Any:
    """The run's figure: the experiment's own ``plot`` if it has one (with the view options),
    else its first declared figure through the generic renderer; None when it has neither."""
    if experiment.plot is not None:
        return experiment.plot(result.run, result.theory, **dict(views or {}))
    from theoryscope.plots.render import figure_for, render_figure

    figure = figure_for(experiment.figures, result.run.config)
    if figure is None:
        return None
    return render_figure(figure, run_documents(result, theory_dict), title=experiment.title)


def run_payload(
    experiment: Experiment, result: Any, theory_dict: Mapping[str, Any], wall: float,
    figure: Path | None,
) -> dict[str, Any]:  # fmt: skip
    """The ``--json`` object: the run's summary and agreement keys at the top level, plus the
    standard ``run_id, status, message, seed, wall_seconds, figure, config, agreement, metrics,
    final`` (the last record of every series)."""
    run = result.run
    final: dict[str, Any] = {}
    for name, values in run.series.items():
        if len(values):
            last = values[-1]
            final[name] = last.tolist() if hasattr(last, "tolist") else last
    rows = metric_rows(experiment.metrics, run_documents(result, theory_dict))
    payload: dict[str, Any] = {**run.summary, **(result.agreement or {})}
    payload.update(
        {
            "run_id": result.run_id,
            "experiment": experiment.name,
            "status": run.status,
            "message": run.message,
            "seed": run.seed,
            "steps": run.summary.get("steps"),
            "steps_per_second": run.summary.get("steps_per_second"),
            "wall_seconds": wall,
            "figure": str(figure) if figure else None,
            "config": run.config,
            "agreement": result.agreement,
            "metrics": rows,
            "final": {**final, **(payload.get("final") or {})},
        }
    )
    return payload


def print_metrics(rows: list[dict[str, Any]], echo: Callable[[str], None]) -> None:
    """The metric table: simulated, predicted, ratio (and whether it is within tolerance)."""
    if not rows:
        return
    width = max(24, *(len(r["label"]) for r in rows))
    echo(f"  {'metric':<{width}}  {'simulated':>12}  {'predicted':>12}  {'ratio':>8}")
    for row in rows:
        flag = {True: "  ok", False: "  off", None: ""}[row["within"]]
        echo(
            f"  {row['label']:<{width}}  {format_number(row['simulated']):>12}  "
            f"{format_number(row['predicted']):>12}  {format_number(row['ratio'], 3):>8}{flag}"
        )


def _print_run(experiment: Experiment, payload: dict[str, Any]) -> None:
    echo = typer.echo
    speed = payload.get("steps_per_second")
    speed_text = f", {format_number(speed)} steps/s" if speed else ""
    echo(
        f"run {payload['run_id']}  {experiment.name}  status {payload['status']}  "
        f"({payload['wall_seconds']:.2f} s{speed_text})"
    )
    config = payload["config"]
    described = experiment.hooks.describe(config) if experiment.hooks.describe else config
    shown = " ".join(f"{k}={_short(v)}" for k, v in described.items())
    echo(f"  config: {shown}")
    print_metrics(payload["metrics"], echo)
    if payload.get("figure"):
        echo(f"  figure: {payload['figure']}")


def _short(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(_short(v) for v in value) if len(value) <= 8 else f"[{len(value)} values]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _run_body(experiment: Experiment, fixed: Mapping[str, Any]) -> Callable[[dict[str, Any]], None]:
    def body(options: dict[str, Any]) -> None:
        from theoryscope.cli.common import execute_stored
        from theoryscope.plots import save_figure

        seed = parse_seed(options["seed"])
        config = build_config(experiment, options, seed, fixed)
        views = _views(experiment, options)
        if options["figure"]:  # where the figure goes is checked before anything runs
            from theoryscope.core.safe_write import ensure_directory

            ensure_directory(options["out"], option="out")
        on_chunk, close = _progress_callback(experiment, config)
        try:
            result, wall = execute_stored(
                experiment.name, config, seed, options["store"], on_chunk=on_chunk
            )
        finally:
            close()
        theory_dict = experiment.theory_to_dict(result.theory)
        figure_path = None
        if options["figure"] and any(len(v) for v in result.run.series.values()):
            fig = draw_run(experiment, result, theory_dict, views)
            if fig is not None:
                figure_path = save_figure(
                    fig, Path(options["out"]) / f"{experiment.name}-{result.run_id}.png"
                )
        payload = run_payload(experiment, result, theory_dict, wall, figure_path)
        if options["as_json"]:
            emit_json(payload)
        else:
            _print_run(experiment, payload)
        exit_with_run_status(result.run_id, result.run.status, result.run.message)

    return body


def _view_parameters(experiment: Experiment) -> list[inspect.Parameter]:
    return [
        inspect.Parameter(
            f"view_{name}", inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(choices[0], f"--{name.replace('_', '-')}",
                                 help=f"Figure {name}: {' or '.join(choices)}."),
            annotation=str,
        )
        for name, choices in experiment.views.items()
    ]  # fmt: skip


def _views(experiment: Experiment, options: Mapping[str, Any]) -> dict[str, str]:
    from theoryscope.core.validation import as_choice

    return {
        name: as_choice(name, options[f"view_{name}"], choices)
        for name, choices in experiment.views.items()
    }


def _run_command(
    experiment: Experiment, name: str, fixed: Mapping[str, Any]
) -> Callable[..., None]:
    params = field_options(experiment.config)
    params += _common_parameters(seed=True) + _preset_parameter(experiment.presets)
    params += _view_parameters(experiment)
    fixed_text = ", ".join(f"{k}={v}" for k, v in fixed.items())
    doc = (
        f"One run{f' with {fixed_text}' if fixed_text else ''}: simulate, predict, compare "
        f"and store it ({experiment.title}). Prints each metric beside its prediction; exit 0 finished, 2 bad input,"
        " 3 diverged, 130 interrupted."
    )
    return _make_command(name, doc, params, _run_body(experiment, fixed))


# ------------------------------------------------------------------------------------------------
# theory and presets
# ------------------------------------------------------------------------------------------------
def _theory_command(experiment: Experiment) -> Callable[..., None]:
    def kw(name: str, default: Any, annotation: Any) -> inspect.Parameter:
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                 annotation=annotation)  # fmt: skip

    params = field_options(experiment.config) + _preset_parameter(experiment.presets)
    params += [
        kw("as_json", typer.Option(False, "--json", help="Print one JSON object."), bool),
        kw("figure", typer.Option(None, "--figure", help="Also draw the theory to this PNG."),
           Path | None),
    ]  # fmt: skip

    def body(options: dict[str, Any]) -> None:
        config = build_config(experiment, options, 0)
        if experiment.hooks.check is not None:
            experiment.hooks.check(config)
        started = time.perf_counter()
        theory = experiment.predict(config)
        seconds = time.perf_counter() - started
        theory_dict = experiment.theory_to_dict(theory)
        if options["figure"] is not None:
            from theoryscope.plots import save_figure
            from theoryscope.plots.render import documents, figure_for, render_figure

            figure = figure_for(experiment.figures, config.to_dict())
            if figure is not None:
                docs = documents(theory=theory_dict, config=config.to_dict())
                save_figure(render_figure(figure, docs), options["figure"])
        if options["as_json"]:
            emit_json({**theory_dict, "seconds": seconds, "config": config.to_dict()})
            return
        from theoryscope.plots.render import documents

        rows = metric_rows(
            experiment.metrics, documents(theory=theory_dict, config=config.to_dict())
        )
        typer.echo(f"{experiment.title}: theory in {seconds * 1e3:.0f} ms")
        shown = [row for row in rows if row["predicted"] is not None]
        for row in shown:
            typer.echo(f"  {row['label']:<32} {format_number(row['predicted'])}")
        if not shown:  # no metric reads the theory alone: show its scalar readouts
            for key, value in theory_dict.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    typer.echo(f"  {key:<32} {format_number(float(value))}")

    doc = f"The theory alone (predict), its readouts and curves: {experiment.title}."
    return _make_command("theory", doc, params, body)


def _presets_command(experiment: Experiment) -> Callable[..., None]:
    params = [
        inspect.Parameter(
            "as_json", inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(False, "--json", help="Print one JSON object."), annotation=bool,
        )
    ]  # fmt: skip

    def body(options: dict[str, Any]) -> None:
        rows: list[dict[str, Any]] = [
            {"name": p.name, "title": p.title, "values": dict(p.values), "cite": p.cite}
            for p in experiment.presets
        ]
        if options["as_json"]:
            emit_json({"presets": rows})
            return
        for row in rows:
            values = " ".join(
                f"--{k.replace('_', '-')} {_short(v)}" for k, v in row["values"].items()
            )
            typer.echo(
                f"{row['name']:<18} {row['title']}" + (f"  [{row['cite']}]" if row["cite"] else "")
            )
            typer.echo(f"{'':<18} {values}")

    return _make_command(
        "presets", f"Canonical configurations of {experiment.title}.", params, body
    )


# ------------------------------------------------------------------------------------------------
# studies
# ------------------------------------------------------------------------------------------------
def _study_body(experiment: Experiment, study: Study) -> Callable[[dict[str, Any]], None]:
    def body(options: dict[str, Any]) -> None:
        from theoryscope.plots import save_figure
        from theoryscope.plots.render import documents
        from theoryscope.runner import execute_study, stop_on_sigint

        seed = parse_seed(options["seed"]) if study.seeded else 0
        if options["figure"] and study.figure is not None:
            from theoryscope.core.safe_write import ensure_directory

            ensure_directory(options["out"], option="out")
        raw = values_from_options(study.params, options)
        params = study.params.from_dict(with_seed(study.params, raw, seed))  # type: ignore[attr-defined]
        store = open_store(options["store"])
        bar, close = _study_progress(study)
        try:
            with stop_on_sigint() as should_stop:
                outcome = execute_study(
                    experiment.name, study.name, params, seed, store=store, progress=bar,
                    should_stop=should_stop,
                )  # fmt: skip
        finally:
            close()
        figure_path = None
        if options["figure"] and study.figure is not None:
            figure_path = save_figure(
                study.figure(outcome.result),
                Path(options["out"]) / f"{experiment.name}-{study.name}-{outcome.run_id}.png",
            )
        rows = metric_rows(study.metrics, documents(result=outcome.result, config=params.to_dict()))
        payload = {
            **outcome.result,
            "run_id": outcome.run_id,
            "experiment": experiment.name,
            "study": study.name,
            "status": outcome.status,
            "params": params.to_dict(),
            "seed": seed,
            "seconds": outcome.seconds,
            "metrics": rows,
            "figure": str(figure_path) if figure_path else None,
        }
        if options["as_json"]:
            emit_json(payload)
        else:
            typer.echo(f"{study.title} ({experiment.name} {study.name}, stored as "
                       f"{outcome.run_id}, {outcome.seconds:.2f} s)")  # fmt: skip
            if study.summary_lines is not None:
                for line in study.summary_lines(outcome.result):
                    typer.echo(f"  {line}")
            print_metrics(rows, typer.echo)
            if figure_path:
                typer.echo(f"  figure: {figure_path}")
        exit_with_run_status(outcome.run_id, outcome.status, outcome.message)

    return body


def _study_progress(study: Study) -> tuple[Callable[[float, str], None] | None, Callable[[], None]]:
    if not sys.stderr.isatty():
        return None, lambda: None
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn(study.name), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        TextColumn("{task.description}"), transient=True,
    )  # fmt: skip
    task = bar.add_task("", total=1.0)
    bar.start()

    def update(fraction: float, message: str) -> None:
        bar.update(task, completed=fraction, description=message)

    return update, bar.stop


def _study_command(experiment: Experiment, study: Study) -> Callable[..., None]:
    params = field_options(study.params) + _common_parameters(seed=study.seeded)
    doc = f"{study.title}: {study.summary} (stored like a run)."
    return _make_command(study.name, doc, params, _study_body(experiment, study))


# ------------------------------------------------------------------------------------------------
# the group
# ------------------------------------------------------------------------------------------------
def experiment_app(experiment: Experiment) -> typer.Typer:
    """The ``theoryscope <exp>`` command group of one experiment."""
    app = typer.Typer(
        help=f"{experiment.title}: {experiment.summary}".rstrip(": "),
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
    )
    names = {"run", "theory", "presets"}
    if experiment.config is None:
        return app
    app.command("run")(_run_command(experiment, "run", {}))
    for name, fixed in experiment.commands.items():
        if name in names:
            raise ValueError(f"{experiment.name}: command {name!r} is declared twice")
        names.add(name)
        app.command(name)(_run_command(experiment, name, fixed))
    app.command("theory")(_theory_command(experiment))
    if experiment.presets:
        app.command("presets")(_presets_command(experiment))
    for study in experiment.studies:
        if study.name in names:
            raise ValueError(f"{experiment.name}: study {study.name!r} clashes with a command")
        names.add(study.name)
        app.command(study.name)(_study_command(experiment, study))
    return app


def ensure(condition: bool, message: str) -> None:
    if not condition:
        fail(message)

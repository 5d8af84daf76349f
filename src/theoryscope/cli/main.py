"""Entry point of the ``theoryscope`` command.

Every error a user can cause ends as one line on stderr (``error: ...``) and exit code 2;
no traceback reaches the terminal. A store whose disk is full exits 1 (the run failed). Any
command interrupted by Ctrl-C exits 130, whatever the command itself returned: the runner records
each Ctrl-C it turned into a clean stop (:func:`theoryscope.runner.ctrl_c_received`). Command
groups live in their own modules and are attached here; a group whose module is absent (an
optional part) is simply not offered.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from theoryscope import __version__
from theoryscope.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED
from theoryscope.errors import TheoryscopeError
from theoryscope.runner import ctrl_c_received, reset_ctrl_c

#: (module, attribute, group name) of the groups that are not experiments. Groups are typer
#: apps; ``serve`` is a single command. Every experiment's group is derived from its declaration
#: (:mod:`theoryscope.cli.derive`).
_GROUPS = [
    ("theoryscope.cli.runs", "app", "runs"),
    ("theoryscope.cli.sweep", "build_group", "sweep"),
    ("theoryscope.cli.report", "build_group", "report"),
]
_COMMANDS = [("theoryscope.cli.serve", "serve", "serve")]


def _new_app() -> typer.Typer:
    app = typer.Typer(
        name="theoryscope",
        help="theoryscope: train small, precisely specified networks and lay the theory over the run.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    app.callback(invoke_without_command=True)(_root)
    return app


def _attach_experiment(app: typer.Typer, name: str) -> None:
    from theoryscope.cli.derive import experiment_app
    from theoryscope.protocol import get_experiment

    app.add_typer(experiment_app(get_experiment(name)), name=name)


def build_app(only: str | None = None) -> typer.Typer:
    """The CLI with every command group; with ``only``, just that one (importing every group,
    and with them JAX and SciPy, costs seconds that ``theoryscope runs list`` should not pay).
    Built afresh on each call, so experiments registered meanwhile (tests' toys) appear."""
    from theoryscope.protocol import experiment_names

    app = _new_app()
    for name in experiment_names():
        if only is not None and name != only:
            continue
        _attach_experiment(app, name)
    for module_name, attr, name in _GROUPS + _COMMANDS:
        if only is not None and name != only:
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name == module_name:
                continue
            raise
        if (module_name, attr, name) in _COMMANDS:
            app.command(name=name)(getattr(module, attr))
        else:
            group = getattr(module, attr)
            app.add_typer(group() if callable(group) and not isinstance(group, typer.Typer)
                          else group, name=name)  # fmt: skip
    return app


def _requested_group(args: list[str]) -> str | None:
    """The command group named on the command line, if it is a known one."""
    from theoryscope.protocol import experiment_names

    names = {name for _, _, name in _GROUPS + _COMMANDS} | set(experiment_names())
    for arg in args:
        if not arg.startswith("-"):
            return arg if arg in names else None
    return None


def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(f"theoryscope {__version__}")
        raise typer.Exit(0)


def enable_compilation_cache() -> None:
    """Keep JAX's compiled programs on disk (``~/.cache/theoryscope/jax``) so the next run of the
    same shapes skips compilation (measured: a tiny expander run 24 s -> 10 s on a loaded 2-core
    machine). ``THEORYSCOPE_JAX_CACHE=off`` turns it off; ``JAX_COMPILATION_CACHE_DIR`` wins."""
    choice = os.environ.get("THEORYSCOPE_JAX_CACHE", "")
    if choice.lower() in ("0", "off", "no", "false") or "JAX_COMPILATION_CACHE_DIR" in os.environ:
        return
    try:
        from platformdirs import user_cache_dir

        path = choice or os.path.join(user_cache_dir("theoryscope"), "jax")
        os.makedirs(path, exist_ok=True)
    except OSError:
        return  # no writable cache directory: compile every time, as before
    os.environ["JAX_COMPILATION_CACHE_DIR"] = path
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (used by the console script and by tests)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    enable_compilation_cache()
    args = sys.argv[1:] if argv is None else argv
    reset_ctrl_c()
    try:
        app = build_app(_requested_group(args))
        result = app(args=args, prog_name="theoryscope", standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except typer.Exit as exit_:
        code = exit_.exit_code
    except TheoryscopeError as err:
        typer.echo(f"error: {err}", err=True)
        code = getattr(err, "exit_code", EXIT_BAD_INPUT)
    except Exception as err:
        code = _report_unexpected(err)
    except KeyboardInterrupt:
        typer.echo("error: interrupted by Ctrl-C", err=True)
        code = EXIT_INTERRUPTED
    if ctrl_c_received() and code != EXIT_INTERRUPTED:
        # the command stopped cleanly at a Ctrl-C but exited as it saw fit: it was interrupted
        typer.echo("error: interrupted by Ctrl-C", err=True)
        code = EXIT_INTERRUPTED
    return int(code or 0)


def _report_unexpected(err: Exception) -> int:
    """Usage errors of the argument parser become one line; anything else is a bug, reported as such.

    (Typer vendors click, so its exception classes are matched by shape, not by import.)
    """
    name = type(err).__name__
    if name == "Abort":
        typer.echo("error: aborted", err=True)
        return EXIT_INTERRUPTED
    if hasattr(err, "format_message"):
        ctx = getattr(err, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        typer.echo(f"error: {err.format_message()}{hint}", err=True)
        return EXIT_BAD_INPUT
    if isinstance(err, BrokenPipeError):
        return 0
    if isinstance(err, OSError) and err.filename is not None:
        # a path the user gave that cannot be written (every output path should be checked
        # where it is named; this keeps any one that is not from ending as "internal error")
        typer.echo(f"error: cannot use {err.filename}: {err.strerror or name}", err=True)
        return EXIT_BAD_INPUT
    typer.echo(f"error: internal error ({name}: {err}); please report it", err=True)
    if os.environ.get("THEORYSCOPE_DEBUG"):
        raise err
    return EXIT_FAILED


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry()

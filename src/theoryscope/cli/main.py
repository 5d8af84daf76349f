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

app = typer.Typer(
    name="theoryscope",
    help="theoryscope: train small, precisely specified networks and lay the theory over the run.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

#: (module, attribute, group name). Groups are typer apps; ``serve`` is a single command.
_GROUPS = [
    ("theoryscope.cli.expander", "app", "expander"),
    ("theoryscope.cli.runs", "app", "runs"),
    ("theoryscope.cli.sweep", "app", "sweep"),
    ("theoryscope.cli.report", "app", "report"),
    ("theoryscope.cli.widenets", "app", "widenets"),
    ("theoryscope.cli.lrphases", "app", "lrphases"),
    ("theoryscope.cli.spectral", "app", "spectral"),
    ("theoryscope.cli.implicit", "app", "implicit"),
    ("theoryscope.cli.polynets", "app", "polynets"),
]
_COMMANDS = [("theoryscope.cli.serve", "serve", "serve")]


_attached: set[str] = set()


def _attach(only: str | None = None) -> None:
    """Attach command groups; with ``only``, just that one (importing every group, and with them
    JAX and SciPy, costs seconds that ``theoryscope runs list`` should not pay)."""
    for module_name, attr, name in _GROUPS + _COMMANDS:
        if (only is not None and name != only) or name in _attached:
            continue
        _attached.add(name)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name == module_name:
                continue
            raise
        if (module_name, attr, name) in _COMMANDS:
            app.command(name=name)(getattr(module, attr))
        else:
            app.add_typer(getattr(module, attr), name=name)


def _requested_group(args: list[str]) -> str | None:
    """The command group named on the command line, if it is a known one."""
    names = {name for _, _, name in _GROUPS + _COMMANDS}
    for arg in args:
        if not arg.startswith("-"):
            return arg if arg in names else None
    return None


@app.callback(invoke_without_command=True)
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(f"theoryscope {__version__}")
        raise typer.Exit(0)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (used by the console script and by tests)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    args = sys.argv[1:] if argv is None else argv
    reset_ctrl_c()
    try:
        _attach(_requested_group(args))
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

"""Helpers every CLI command group shares: the store option, JSON output, one-line failures."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from theoryscope.store import RunStore, to_json

if TYPE_CHECKING:
    from theoryscope.runner import RunResult

STORE_HELP = "Run store file (SQLite). Default: $THEORYSCOPE_STORE or the user data directory."

#: Exit codes shared by every command.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 130


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print ``error: <message>`` on one line to stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def open_store(path: Path | None) -> RunStore:
    """The run store at ``path`` (or the default one)."""
    return RunStore(path)


def emit_json(obj: Any) -> None:
    """Print one JSON object on stdout (NaN/inf as null)."""
    sys.stdout.write(to_json(obj) + "\n")
    sys.stdout.flush()


def parse_json_arg(name: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        fail(f"{name}: not valid JSON ({err.msg} at position {err.pos})")


#: The exit code of a run's final status (same for every experiment's command).
STATUS_EXIT = {
    "finished": EXIT_OK,
    "diverged": EXIT_DIVERGED,
    "interrupted": EXIT_INTERRUPTED,
    "failed": EXIT_FAILED,
}


def parse_seed(text: str) -> int:
    """A ``--seed`` value: an integer from 0 to 2^31 - 1."""
    from theoryscope.core.validation import as_int

    return as_int("seed", text, low=0, high=2**31 - 1)


def execute_stored(
    experiment: str,
    config: Any,
    seed: int,
    store_path: Path | None,
    *,
    theory: Any = None,
    on_chunk: Any = None,
) -> tuple[RunResult, float]:
    """Run ``config`` through the runner into the store, the first Ctrl-C stopping it cleanly.

    Returns the runner's result and the wall-clock seconds it took.
    """
    from theoryscope.runner import execute, stop_on_sigint

    store = open_store(store_path)
    started = time.perf_counter()
    with stop_on_sigint() as should_stop:
        result = execute(
            experiment,
            config,
            seed,
            store=store,
            should_stop=should_stop,
            theory=theory,
            on_chunk=on_chunk,
        )
    return result, time.perf_counter() - started


def exit_with_run_status(run_id: str | None, status: str, message: str | None) -> NoReturn:
    """Print one error line unless the run finished, then exit with its status's code."""
    if status != "finished":
        typer.echo(f"error: run {run_id} {status}: {message or ''}".rstrip(": "), err=True)
    raise typer.Exit(STATUS_EXIT.get(status, EXIT_FAILED))

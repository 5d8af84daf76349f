"""Helpers every CLI command group shares: the store option, JSON output, one-line failures."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer

from theoryscope.store import RunStore, to_json

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

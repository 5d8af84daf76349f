"""``theoryscope serve``: the web lab (FastAPI + uvicorn), bound to 127.0.0.1 by default."""

from __future__ import annotations

from pathlib import Path

import typer

from theoryscope.cli.common import STORE_HELP
from theoryscope.core.validation import as_int
from theoryscope.errors import ConfigError


def _check_port_free(host: str, port: int) -> None:
    """One clear line instead of the server's start-up failure when the port is taken."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise ConfigError("host", f"cannot resolve {host!r} ({err.strerror})") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as err:
            raise ConfigError(
                "port", f"{port} on {host} is not available ({err.strerror}); allowed: a free port"
            ) from None


def serve(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Interface to bind (loopback by default)."
    ),
    port: str = typer.Option("8000", "--port", help="TCP port, 1..65535."),
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
    open_browser: bool = typer.Option(False, "--open", help="Open the lab in the default browser."),
    allow_host: list[str] = typer.Option(
        None,
        "--allow-host",
        help="Also accept requests addressed to this host name (repeatable; '*.domain' matches"
        " subdomains, '*' anything). Default: 127.0.0.1, localhost, [::1] and the --host.",
    ),
    allow_origin: list[str] = typer.Option(
        None,
        "--allow-origin",
        help="Also accept runs started and controlled from pages at this origin, e.g."
        " http://lab.example.org:8000 (repeatable). Default: the lab's own pages only.",
    ),
) -> None:
    """Serve the lab: live training plots next to the theory, the run history and exports."""
    from theoryscope.store import RunStore
    from theoryscope.web.guard import check_host_pattern, normalize_origin
    from theoryscope.web.server import serve as run_server

    port_number = as_int("port", port, low=1, high=65535)
    hosts = [check_host_pattern(h) for h in allow_host or []]
    origins = [normalize_origin(o) for o in allow_origin or []]
    _check_port_free(host, port_number)
    RunStore(store_path)  # fail early, in one line, if the store cannot be opened
    run_server(
        host=host,
        port=port_number,
        store_path=store_path,
        open_browser=open_browser,
        allow_hosts=hosts,
        allow_origins=origins,
    )

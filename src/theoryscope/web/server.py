"""``theoryscope serve``: run the web lab with uvicorn, bound to loopback by default."""

from __future__ import annotations

import sys
import threading
import webbrowser
from pathlib import Path

from theoryscope.web.limits import Limits


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    store_path: str | Path | None = None,
    open_browser: bool = False,
    limits: Limits | None = None,
) -> None:
    """Serve the lab at ``http://host:port/`` until Ctrl-C; live runs are then stored as interrupted."""
    import uvicorn

    from theoryscope.web.app import ASSETS_HINT, create_app, missing_assets

    limits = limits or Limits()
    app = create_app(store_path, limits)
    if missing_assets():
        print(f"theoryscope serve: {ASSETS_HINT}", file=sys.stderr)
    shown = "localhost" if host in ("127.0.0.1", "::1", "localhost") else host
    url = f"http://{shown}:{port}/"
    print(
        f"theoryscope web lab on {url} (store: {app.state.store_path}); Ctrl-C stops it",
        file=sys.stderr,
    )
    if host not in ("127.0.0.1", "::1", "localhost"):
        print(
            "theoryscope serve: listening beyond loopback; anyone who can reach this port can"
            " run experiments on this machine",
            file=sys.stderr,
        )
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        ws_max_size=limits.max_body_bytes,
        timeout_graceful_shutdown=5,
    )

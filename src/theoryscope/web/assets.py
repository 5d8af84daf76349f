"""Where the page's files are, and which third-party ones (installed from npm by
``scripts/install_web_assets.sh``, never committed) are missing. A module of its own so the app,
the routers and ``serve`` read it without importing each other."""

from __future__ import annotations

from pathlib import Path

__all__ = ["ASSETS_HINT", "STATIC", "VENDOR", "VENDOR_FILES", "missing_assets"]

STATIC = Path(__file__).parent / "static"
VENDOR = STATIC / "vendor"
#: Files the page loads from the vendor folder (installed from npm, never committed).
VENDOR_FILES = (
    "katex/katex.min.js",
    "katex/katex.min.css",
    "uplot/uPlot.iife.min.js",
    "uplot/uPlot.min.css",
)
ASSETS_HINT = (
    "web assets missing: run `scripts/install_web_assets.sh` (installs KaTeX and uPlot from npm"
    " into src/theoryscope/web/static/vendor/)"
)


def missing_assets() -> list[str]:
    """Vendor files the page needs that are not installed."""
    return [name for name in VENDOR_FILES if not (VENDOR / name).is_file()]

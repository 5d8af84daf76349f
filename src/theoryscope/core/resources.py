"""What this machine can give a run: available memory, and short human units for costs."""

from __future__ import annotations

import math
import os

__all__ = ["available_memory_bytes", "format_bytes", "format_seconds"]

#: A run may plan on this fraction of the memory available when it starts.
MEMORY_SHARE = 0.8


def available_memory_bytes() -> int:
    """MemAvailable from /proc/meminfo (Linux), else physical memory; ``THEORYSCOPE_MEMORY``
    (bytes) overrides both (tests and shared machines use it)."""
    override = os.environ.get("THEORYSCOPE_MEMORY")
    if override:
        try:
            return max(0, int(float(override)))
        except ValueError:
            pass
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 * 1024**3


def format_bytes(n: float) -> str:
    """``1.5 GB``-style text (powers of 1024)."""
    if not math.isfinite(n):
        return "unbounded memory"
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1024 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.3g} EB"


def format_seconds(seconds: float | None) -> str:
    """``2h05m`` / ``3m07s`` / ``12s`` / ``0.4s``; ``--`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "--"
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(round(seconds))
    days, rem = divmod(whole, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    if days:
        return f"{days}d{h:02d}h"
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")

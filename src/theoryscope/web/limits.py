"""Per-run work caps of the web server, so that one request cannot take the machine down.

The checks come on top of the config's own validation (``Config.from_dict``, the same rules as
the CLI) and raise the same :class:`~theoryscope.errors.ConfigError`, naming the field.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from theoryscope.errors import ConfigError


@dataclass(frozen=True)
class Limits:
    """Caps on what one web request may ask for (defaults suit a laptop or a 2-core box)."""

    max_k: int = 30_000
    max_batch: int = 1000
    max_d: int = 8
    max_steps: int = 2_000_000
    #: k * |B|: the size of the per-step activation matrix.
    max_k_batch: int = 3_000_000
    max_terms: int = 5
    max_alpha: int = 6
    max_records: int = 20_000
    max_holdout: int = 65_536
    #: The population modes (flow / gd) cost O(k^2 d) per step.
    max_k_population: int = 4000
    #: Runs simulating at the same time (each holds a worker thread).
    max_live_runs: int = 4
    #: Largest request body (bytes) and WebSocket message.
    max_body_bytes: int = 64 * 1024
    #: A live run with no page attached for this long is stopped (stored as interrupted).
    detach_grace_s: float = 10.0
    # -- every declared experiment (on top of each field's declared ``web_max``) ----------------
    #: A run or study whose declared estimate exceeds this many seconds is refused up front.
    max_run_seconds: float = 900.0
    #: Entries of any list-valued setting (a declared ``max_items`` may be lower).
    max_list_items: int = 64
    #: Studies computing at the same time (each holds a worker thread).
    max_jobs: int = 2
    #: A theory preview (``predict``) that takes longer is answered 503 (it keeps computing, and
    #: is cached when done, so asking again later gets it).
    theory_budget_s: float = 20.0
    # -- the HTTP server (uvicorn, see theoryscope.web.server) --------------------------------
    #: A request's line, headers and body must all arrive within this many seconds of its first
    #: byte (or of the connection opening): slow-sending clients cannot hold connections open.
    request_timeout_s: float = 10.0
    #: An idle keep-alive connection is closed after this many seconds.
    keep_alive_s: int = 5
    #: Open connections (WebSockets included) at once; beyond, new requests get a 503.
    max_connections: int = 64
    #: Largest request line + headers (bytes); beyond, the connection gets a 400.
    max_header_bytes: int = 16 * 1024

    def check(self, config: Any) -> None:
        """Raise ConfigError(field, message) if ``config`` asks for more than these caps."""
        _cap("k", config.k, self.max_k)
        _cap("batch", config.batch, self.max_batch)
        _cap("d", config.d, self.max_d)
        _cap("steps", config.steps, self.max_steps, hint=" (steps = t_eff / lr)")
        if config.k * config.batch > self.max_k_batch:
            raise ConfigError(
                "batch",
                f"k * batch = {config.k * config.batch:,} is too much work per step;"
                f" allowed: k * batch <= {self.max_k_batch:,} on this server",
            )
        _cap("terms", len(config.terms), self.max_terms, what="number of terms")
        worst = max(max(t.alpha) for t in config.terms)
        _cap("alpha", worst, self.max_alpha, what="entry")
        _cap("records", config.records, self.max_records)
        _cap("holdout", config.holdout, self.max_holdout)
        if getattr(config, "mode", "sgd") != "sgd":
            _cap("k", config.k, self.max_k_population, what=f"k in mode {config.mode!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cap(field: str, value: int, high: int, *, what: str | None = None, hint: str = "") -> None:
    if value > high:
        raise ConfigError(
            field,
            f"{what or field} {value:,} is above this server's cap; allowed: <= {high:,}{hint}",
        )

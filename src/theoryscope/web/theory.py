"""Theory for the page: ``predict`` in a small thread pool, with a time budget and a cache.

``predict`` is pure, so its result is cached by (experiment, config hash). It runs in one of a
few worker threads, never on the event loop; a prediction still running after the budget is
answered 503 (it keeps computing and lands in the cache, so the page's next try gets it), and a
second request for the same config waits on the first instead of starting it again.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from theoryscope.core.resources import format_seconds
from theoryscope.protocol import get_experiment
from theoryscope.web.errors import ApiError

__all__ = ["TheoryService", "config_key"]


def config_key(experiment: str, config: Any) -> str:
    """Cache key of a config: its declared hash (or its JSON when it has none)."""
    if hasattr(config, "config_hash"):
        return f"{experiment}:{config.config_hash()}"
    import json

    return f"{experiment}:{json.dumps(config.to_dict(), sort_keys=True, default=str)}"


class TheoryService:
    """Cached, budgeted ``predict`` for every experiment of one server."""

    def __init__(self, budget_s: float, workers: int = 2, size: int = 128) -> None:
        self.budget_s = budget_s
        self.size = size
        self._pool = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="theoryscope-theory"
        )
        self._cache: OrderedDict[str, tuple[Any, dict[str, Any]]] = OrderedDict()
        self._pending: dict[str, Future[tuple[Any, dict[str, Any]]]] = {}
        self._lock = threading.Lock()

    def _compute(self, key: str, experiment: str, config: Any) -> tuple[Any, dict[str, Any]]:
        exp = get_experiment(experiment)
        theory = exp.predict(config)
        value = (theory, exp.theory_to_dict(theory))
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
            self._pending.pop(key, None)
        return value

    def cached(self, experiment: str, config: Any) -> tuple[Any, dict[str, Any]] | None:
        key = config_key(experiment, config)
        with self._lock:
            value = self._cache.get(key)
            if value is not None:
                self._cache.move_to_end(key)
            return value

    def submit(self, experiment: str, config: Any) -> Future[tuple[Any, dict[str, Any]]]:
        """The (possibly shared) future of this config's theory."""
        key = config_key(experiment, config)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                done: Future[tuple[Any, dict[str, Any]]] = Future()
                done.set_result(self._cache[key])
                return done
            pending = self._pending.get(key)
            if pending is not None:
                return pending
            future = self._pool.submit(self._compute, key, experiment, config)
            self._pending[key] = future

        def forget(f: Future[Any]) -> None:
            if f.exception() is not None:
                with self._lock:
                    self._pending.pop(key, None)

        future.add_done_callback(forget)
        return future

    async def get(
        self, experiment: str, config: Any, budget_s: float | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """(Theory, its JSON dict); 503 when it is not ready within the budget."""
        future = self.submit(experiment, config)
        budget = self.budget_s if budget_s is None else budget_s
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), budget)
        except TimeoutError:
            raise ApiError(
                503,
                f"the theory for this config takes longer than {format_seconds(budget)} on this"
                " server; it keeps computing, ask again shortly",
            ) from None

    def get_blocking(self, experiment: str, config: Any) -> tuple[Any, dict[str, Any]]:
        """The same from a worker thread (no budget: the caller owns its own time)."""
        return self.submit(experiment, config).result()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

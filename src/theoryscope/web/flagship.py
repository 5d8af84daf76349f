"""THE ONE PLACE the generic web layer names an experiment: the Expander lab until it is declared.

The Expander Nets lab is a hand-made page (``static/index.html`` + ``lab.js``) with its own API
(``/api/meta``, ``/api/validate``, ``/api/theory``) and the server caps of
:class:`~theoryscope.web.limits.Limits`. Once ``expander`` declares ``Hooks(page="index.html")``
the page fallback below is dead code; the caps stay, since they bound work per request (k * |B|)
beyond what single fields can say. Delete the fallback when the declaration lands.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from theoryscope.protocol import Experiment

#: The flagship experiment the Expander lab page serves, and its hand-made page file.
FLAGSHIP = "expander"
FLAGSHIP_PAGE = "index.html"


def hand_made_page(experiment: Experiment) -> str | None:
    """The static file of an experiment's hand-made page: its declared ``Hooks.page``, or, while
    the flagship is undeclared, the Expander lab."""
    if experiment.hooks.page:
        return experiment.hooks.page
    if is_legacy(experiment):  # fallback until declared
        return FLAGSHIP_PAGE
    return None


def is_legacy(experiment: Experiment) -> bool:
    """Whether requests for this experiment go through the Expander lab's own API (its config
    parser, caps and theory cache) because it is not declared yet."""
    return experiment.name == FLAGSHIP and experiment.config is None


def server_checks(name: str) -> Callable[[Any, Any], None] | None:
    """Extra per-request work caps of an experiment (``check(config, limits)``), if any."""
    if name != FLAGSHIP:
        return None

    def check(config: Any, limits: Any) -> None:
        from theoryscope.web.routers.api import check_mode

        limits.check(config)
        check_mode(config)

    return check

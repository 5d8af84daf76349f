"""Dotted paths into a run's documents (``series``, ``theory``, ``agreement``, ``summary``,
``config``, ``result``): how declarations point at numbers without naming code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["MISSING", "expand", "lookup"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


#: Returned by :func:`lookup` when a path does not resolve.
MISSING: Any = _Missing()


def _step(node: Any, key: str) -> Any:
    if isinstance(node, Mapping):
        return node.get(key, MISSING)
    if isinstance(node, Sequence) and not isinstance(node, (str, bytes)) and _is_index(key):
        index = int(key)
        return node[index] if -len(node) <= index < len(node) else MISSING
    if hasattr(node, "shape") and _is_index(key):  # a NumPy array
        index = int(key)
        return node[index] if -len(node) <= index < len(node) else MISSING
    return MISSING


def _is_index(key: str) -> bool:
    return key.lstrip("-").isdigit()


def lookup(documents: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` (``"theory.ode.loss"``), or :data:`MISSING`."""
    node: Any = documents
    for key in path.split("."):
        node = _step(node, key)
        if node is MISSING:
            return MISSING
    return node


def expand(documents: Mapping[str, Any], path: str) -> list[tuple[dict[str, Any], str]]:
    """Every concrete path of a path with ``*`` (one per list entry), with that entry's fields.

    ``"agreement.terms.*.t_rise"`` -> ``[({...term 0...}, "agreement.terms.0.t_rise"), ...]``.
    A path without ``*`` expands to itself with no fields.
    """
    if "*" not in path:
        return [({}, path)]
    head, _, tail = path.partition(".*")
    items = lookup(documents, head)
    if items is MISSING or not isinstance(items, Sequence) or isinstance(items, str):
        return []
    out = []
    for i, item in enumerate(items):
        fields = dict(item) if isinstance(item, Mapping) else {}
        fields.setdefault("i", i)
        out.append((fields, f"{head}.{i}{tail}"))
    return out

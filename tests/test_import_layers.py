"""The layers import one way (issue 8, item 7): no web router imports the app that mounts it,
and the store's export module does not import the run store back at run time (the store and
the web layer share plain-JSON encoding through ``core.jsonable``)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "theoryscope"


def _runtime_imports(path: Path) -> set[str]:
    """Modules imported by ``path`` outside ``if TYPE_CHECKING:`` blocks (lazy ones included)."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_router_imports_the_web_app():
    routers = sorted((SRC / "web" / "routers").glob("*.py"))
    assert routers
    for path in routers:
        assert "theoryscope.web.app" not in _runtime_imports(path), path.name


def test_the_export_module_does_not_import_the_run_store_back():
    assert "theoryscope.store.runstore" not in _runtime_imports(SRC / "store" / "export.py")


def test_the_json_encoding_is_shared():
    import numpy as np

    from theoryscope.core.jsonable import jsonable

    value = {1: np.array([1.0, np.nan]), "b": (np.int64(3), np.bool_(True), np.float32(0.5))}
    assert jsonable(value) == {"1": [1.0, None], "b": [3, True, 0.5]}

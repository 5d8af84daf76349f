"""Shared fixtures: every test gets its own store file; JAX stays on the CPU."""

from __future__ import annotations

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import pytest  # noqa: E402


@pytest.fixture()
def store_path(tmp_path, monkeypatch):
    """A fresh store file, also exported as THEORYSCOPE_STORE for CLI calls."""
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("THEORYSCOPE_STORE", str(path))
    return path

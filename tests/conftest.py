"""Shared fixtures: every test gets its own store file; JAX stays on the CPU."""

from __future__ import annotations

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# One compilation cache for the session (subprocess CLI tests and sweep workers share it).
os.environ.setdefault(
    "JAX_COMPILATION_CACHE_DIR", __import__("tempfile").mkdtemp(prefix="theoryscope-jax-")
)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")

import pytest  # noqa: E402


@pytest.fixture()
def store_path(tmp_path, monkeypatch):
    """A fresh store file, also exported as THEORYSCOPE_STORE for CLI calls."""
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("THEORYSCOPE_STORE", str(path))
    return path

"""Shared fixtures: every test gets its own store file; JAX stays on the CPU."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# One compilation cache for the session (subprocess CLI tests and sweep workers share it).
os.environ.setdefault(
    "JAX_COMPILATION_CACHE_DIR", __import__("tempfile").mkdtemp(prefix="theoryscope-jax-")
)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")
# A test that does not ask for a store never writes into the user's own data directory:
# the default store (platformdirs' user data dir) points into a fresh folder for the session.
os.environ["XDG_DATA_HOME"] = __import__("tempfile").mkdtemp(prefix="theoryscope-data-")

import pytest  # noqa: E402


@pytest.fixture()
def store_path(tmp_path, monkeypatch):
    """A fresh store file, also exported as THEORYSCOPE_STORE for CLI calls."""
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("THEORYSCOPE_STORE", str(path))
    return path


# A toy experiment that exists only in the tests (tests/conformance/toy_experiment.py) is
# registered for the whole session, so every registry-driven test (CLI, web API, pages, sweeps)
# proves that a new experiment needs nothing outside its own package.
sys.path.insert(0, str(Path(__file__).parent / "conformance"))
import toy_experiment  # noqa: E402

from theoryscope.protocol import _REGISTRY, register  # noqa: E402

if toy_experiment.EXPERIMENT.name not in _REGISTRY:
    register(toy_experiment.EXPERIMENT)

"""What produced a run: package versions and the code revision, recorded with every stored run."""

from __future__ import annotations

import functools
import platform
import subprocess
from importlib import metadata
from pathlib import Path

_PACKAGES = ("theoryscope", "jax", "jaxlib", "numpy", "scipy", "matplotlib")


@functools.cache
def package_versions() -> dict[str, str]:
    """Versions of Python, the platform and the numerical packages a run depends on."""
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


@functools.cache
def code_revision() -> str:
    """The git commit of the source tree (``+dirty`` when it has uncommitted changes).

    Falls back to ``theoryscope==<version>`` for an installed (non-git) copy.
    """
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
        if rev.returncode == 0 and rev.stdout.strip():
            dirty = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=here,
                capture_output=True,
                text=True,
                timeout=5,
            )
            suffix = "+dirty" if dirty.returncode == 0 and dirty.stdout.strip() else ""
            return rev.stdout.strip() + suffix
    except (OSError, subprocess.SubprocessError):
        pass
    return f"theoryscope=={package_versions()['theoryscope']}"

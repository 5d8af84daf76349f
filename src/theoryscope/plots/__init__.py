"""Figure helpers shared by every experiment's ``plots`` module."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from theoryscope.core.safe_write import write_output
from theoryscope.errors import ConfigError


def figure_format(path: str | Path, *, option: str = "out") -> str:
    """The image format named by ``path``'s suffix (png when there is none); ConfigError naming
    ``option`` for a suffix matplotlib cannot write."""
    from matplotlib.backend_bases import FigureCanvasBase

    suffix = Path(path).suffix.lstrip(".").lower() or "png"
    allowed = FigureCanvasBase.get_supported_filetypes()
    if suffix not in allowed:
        raise ConfigError(
            option, f"cannot write a .{suffix} figure; allowed: {', '.join(sorted(allowed))}"
        )
    return suffix


def save_figure(
    fig: Figure, path: str | Path, *, dpi: int = 150, option: str = "out", **savefig: object
) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix, parent directories created) through
    :func:`theoryscope.core.safe_write.write_output`: a figure replaces an earlier figure (a
    regular file), never a directory or a device; errors name ``option``."""
    fmt = figure_format(path, option=option)
    return write_output(
        path,
        lambda fh: fig.savefig(fh, dpi=dpi, format=fmt, **savefig),  # type: ignore[arg-type]
        option=option,
        force=True,
    )

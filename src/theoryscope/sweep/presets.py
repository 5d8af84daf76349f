"""Named sweeps: ``theoryscope sweep expander --preset NAME`` fills in the grid, seeds and mode.

``rise-time`` answers "where does the small-gamma theory of the rise time hold?" (spec 6): the
exact population gradient flow (no SGD noise, so a few seeds span the frozen layer's randomness)
for six targets over five gammas, each run to 3 x its predicted rise. It is sized to finish in
under 10 minutes on a 2-core machine; ``theoryscope report rise-time ID`` then draws it.
"""

from __future__ import annotations

from typing import Any

from theoryscope.errors import ConfigError

PRESETS: dict[str, dict[str, Any]] = {
    "rise-time": {
        "experiment": "expander",
        "grid": [
            "gamma=0.001,0.003,0.01,0.03,0.1",
            "alpha=1,0,0:2,0,0:1,1,0:3,0,0:2,1,0:1,1,1",
            "k=500",
            "records=150",
        ],
        "seeds": "0-2",
        "mode": "flow",
        "t_eff": "auto",
    },
}


def preset(name: str) -> dict[str, Any]:
    """The preset called ``name``."""
    if name not in PRESETS:
        raise ConfigError("preset", f"unknown {name!r}; allowed: {', '.join(PRESETS)}")
    return PRESETS[name]

"""What every benchmark prints last: one machine-readable line per target, which
``benchmarks/run_all`` gathers into one table (figure, baseline, ratio, target, met or not).

    from _bench import result
    result("expander SGD float32", "3653 steps/s", "plain JAX 1017 steps/s", 3.59,
           ">= 5x plain JAX", met=False)
"""

from __future__ import annotations

import json
import sys
from typing import Any

PREFIX = "BENCH-RESULT "


def result(
    name: str,
    figure: str,
    baseline: str,
    ratio: float | None,
    target: str,
    met: bool | None,
    **extra: Any,
) -> None:
    """Print one target's outcome (the ratio is figure over baseline, measured in this run)."""
    row = {"name": name, "figure": figure, "baseline": baseline, "ratio": ratio,
           "target": target, "met": met, **extra}  # fmt: skip
    sys.stdout.write(PREFIX + json.dumps(row) + "\n")
    sys.stdout.flush()

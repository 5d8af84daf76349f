"""Configuration of the lazy-training run, the protocol experiment ``widenets`` (spec 6).

A :class:`LazyConfig` is immutable and JSON-serializable; every value is validated on
construction and a bad one raises :class:`~theoryscope.errors.ConfigError` naming the field and
the allowed range.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from theoryscope.core.validation import as_choice, as_float, as_int
from theoryscope.errors import ConfigError

DTYPES = ("float32", "float64")
LABELS = ("sign", "gaussian")


@dataclass(frozen=True)
class LazyConfig:
    """Two-layer ReLU network f(x) = m^(-1/2) sum_r a_r relu(w_r . x), W trained by GD (spec 6).

    Attributes:
        n: training points (>= 1), uniform on the unit sphere S^(d-1).
        d: input dimension (>= 2).
        width: hidden width m (>= 1).
        lr: step size eta > 0.
        steps: GD steps (>= 1).
        kappa: initial weight scale, w_r(0) ~ N(0, kappa^2 I) (> 0).
        n_test: test points for the linearized-model comparison (>= 1).
        labels: ``sign`` (y = +-1 at random) or ``gaussian`` (y ~ N(0, 1)).
        data_seed: seed of the data set (the run's seed draws the network), >= 0.
        alpha: output scale of the lazy/rich study; 0 (default) trains f itself, alpha > 0
            trains alpha (f(x; W) - f(x; W(0))) with the loss divided by alpha^2 (spec 6).
        dtype: ``float32`` (default) or ``float64``.
        chunk: GD steps per recorded chunk (>= 1).
    """

    n: int = 20
    d: int = 10
    width: int = 20000
    lr: float = 0.5
    steps: int = 500
    kappa: float = 1.0
    n_test: int = 50
    labels: str = "sign"
    data_seed: int = 0
    alpha: float = 0.0
    dtype: str = "float32"
    chunk: int = 250

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "n", as_int("n", self.n, low=1, high=5000))
        set_(self, "d", as_int("d", self.d, low=2, high=100000))
        set_(self, "width", as_int("width", self.width, low=1, high=10_000_000))
        set_(self, "lr", as_float("lr", self.lr, low=0.0, low_open=True))
        set_(self, "steps", as_int("steps", self.steps, low=1, high=10_000_000))
        set_(self, "kappa", as_float("kappa", self.kappa, low=0.0, low_open=True))
        set_(self, "n_test", as_int("n_test", self.n_test, low=1, high=100000))
        as_choice("labels", self.labels, LABELS)
        set_(self, "data_seed", as_int("data_seed", self.data_seed, low=0))
        set_(self, "alpha", as_float("alpha", self.alpha, low=0.0))
        as_choice("dtype", self.dtype, DTYPES)
        set_(self, "chunk", as_int("chunk", self.chunk, low=1))

    def replace(self, **changes: Any) -> LazyConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LazyConfig:
        """Inverse of :meth:`to_dict`; unknown keys are rejected with one clear line."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(unknown[0], f"unknown setting; allowed: {', '.join(sorted(known))}")
        return cls(**dict(data))

    def config_hash(self) -> str:
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

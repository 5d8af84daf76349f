"""Implicit-bias configuration: diagonal linear nets, max margin, deep linear nets.

A :class:`Config` is immutable and JSON-serializable; every value is validated on construction and
a bad one raises :class:`~theoryscope.errors.ConfigError` naming the field and the allowed range.
Fields left as ``None`` take the default of the chosen ``mode`` (:data:`MODE_DEFAULTS`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from theoryscope.core.validation import as_choice, as_float, as_int
from theoryscope.errors import ConfigError

#: ``diagonal``: beta = u*u - v*v on underdetermined least squares (Woodworth et al. 2020);
#: ``margin``: GD on the logistic loss of separable data (Soudry et al. 2018);
#: ``deeplinear``: W_L ... W_1 on a whitened linear regression (Saxe et al. 2014).
MODES = ("diagonal", "margin", "deeplinear")
#: Deep linear init: ``balanced`` aligns every layer with the target's singular vectors (each
#: mode then follows the closed form exactly); ``random`` draws small Gaussian layers.
INITS = ("balanced", "random")

MAX_D = 4096
MAX_N = 4096
MAX_STEPS = 10_000_000
MAX_DEPTH = 8
MAX_SWEEP = 64
MIN_ALPHA = 1e-12
MAX_ALPHA = 1e6

MODE_DEFAULTS: dict[str, dict[str, Any]] = {
    "diagonal": {"d": 100, "n": 40, "lr": 0.02, "steps": 20_000},
    "margin": {"d": 2, "n": 50, "lr": 1.0, "steps": 100_000},
    "deeplinear": {"d": 0, "n": 0, "lr": 0.005, "steps": 0},  # steps 0: auto (from the theory)
}


def _float_tuple(field: str, value: Any) -> tuple[float, ...]:
    if isinstance(value, str):
        parts: Iterable[Any] = [p for p in value.split(",") if p.strip()]
    elif isinstance(value, Iterable):
        parts = list(value)
    else:
        raise ConfigError(field, f"got {value!r}; allowed: a comma-separated list of numbers > 0")
    items = tuple(as_float(field, p, low=0.0, low_open=True) for p in parts)
    if not items:
        raise ConfigError(field, "is empty; allowed: at least one number > 0")
    return items


@dataclass(frozen=True)
class Config:
    """Everything that defines one implicit-bias run.

    Attributes:
        mode: ``diagonal``, ``margin`` or ``deeplinear`` (:data:`MODES`).
        d: input dimension (diagonal: d > n for an underdetermined problem; margin: default 2).
        n: number of samples (diagonal default 40, margin default 50).
        sparsity: diagonal: nonzero entries (+-1, random signs) of the planted beta*, 1..d.
        alpha: diagonal: init scale, u = v = alpha * 1, from 1e-12 to 1e6.
        alpha_sweep: diagonal: train a geometric grid of ``sweep_points`` alphas from
            ``sweep_min`` to ``sweep_max`` side by side instead of the single ``alpha``.
        lr: step size > 0. Diagonal: the step at alpha is lr / max(1, alpha^2) (the beta-space
            curvature grows like alpha^2); margin: eta on the mean logistic loss; deeplinear:
            eta on the loss 1/2 ||S - W_L...W_1||_F^2, gradient-flow time t = eta * step.
        steps: GD steps >= 1 (deeplinear: 0 means auto, 1.5 x the time the weakest mode needs
            to reach 99 % of its target by the theory).
        gap: margin: points with |w* . x| < gap are dropped, so the data keep margin >= gap.
        flip: margin: fraction of labels flipped; data that end up non-separable are rejected.
        depth: deeplinear: number of layers L >= 2.
        singular_values: deeplinear: the target's singular values s_i (d_in = d_out = their
            count); comma-separated in the CLI.
        width: deeplinear hidden width (0: the number of singular values).
        init: deeplinear: per-layer weight scale a_0 (balanced: u_0 = a_0^L per mode).
        init_mode: deeplinear init (:data:`INITS`).
        data_seed: seed of the data (planted beta* and X; margin points; target rotations).
        records: number of (log-spaced) records of the training curves.
    """

    mode: str = "diagonal"
    d: int | None = None
    n: int | None = None
    sparsity: int = 5
    alpha: float = 0.01
    alpha_sweep: bool = False
    sweep_min: float = 1e-3
    sweep_max: float = 10.0
    sweep_points: int = 9
    lr: float | None = None
    steps: int | None = None
    gap: float = 0.1
    flip: float = 0.0
    depth: int = 2
    singular_values: tuple[float, ...] = (3.0, 2.0, 1.0)
    width: int = 0
    init: float = 1e-3
    init_mode: str = "balanced"
    data_seed: int = 0
    records: int = 200

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        mode = as_choice("mode", self.mode, MODES)
        defaults = MODE_DEFAULTS[mode]
        for name in ("d", "n", "lr", "steps"):
            if getattr(self, name) is None:
                set_(self, name, defaults[name])
        low_dn = 0 if mode == "deeplinear" else 1
        set_(self, "d", as_int("d", self.d, low=low_dn, high=MAX_D))
        set_(self, "n", as_int("n", self.n, low=low_dn, high=MAX_N))
        set_(self, "sparsity", as_int("sparsity", self.sparsity, low=1))
        if mode == "diagonal" and self.sparsity > int(self.d or 0):
            raise ConfigError(
                "sparsity", f"got {self.sparsity}; allowed: an integer from 1 to d = {self.d}"
            )
        # below 1e-12 the limit is min-L1 to ~1e-4 and 2 alpha^2 meets float64 underflow
        set_(self, "alpha", as_float("alpha", self.alpha, low=MIN_ALPHA, high=MAX_ALPHA))
        if not isinstance(self.alpha_sweep, bool):
            raise ConfigError("alpha_sweep", f"got {self.alpha_sweep!r}; allowed: true, false")
        set_(
            self, "sweep_min", as_float("sweep_min", self.sweep_min, low=MIN_ALPHA, high=MAX_ALPHA)
        )
        set_(
            self, "sweep_max", as_float("sweep_max", self.sweep_max, low=MIN_ALPHA, high=MAX_ALPHA)
        )
        if self.sweep_max <= self.sweep_min:
            raise ConfigError("sweep_max", f"got {self.sweep_max:g}; allowed: a number > sweep_min")
        set_(self, "sweep_points", as_int("sweep_points", self.sweep_points, low=2, high=MAX_SWEEP))
        set_(self, "lr", as_float("lr", self.lr, low=0.0, low_open=True))
        set_(self, "steps", as_int("steps", self.steps, low=0 if mode == "deeplinear" else 1,
                                   high=MAX_STEPS))  # fmt: skip
        set_(self, "gap", as_float("gap", self.gap, low=0.0))
        set_(self, "flip", as_float("flip", self.flip, low=0.0, high=0.5))
        set_(self, "depth", as_int("depth", self.depth, low=2, high=MAX_DEPTH))
        svs = _float_tuple("singular_values", self.singular_values)
        if len(svs) > 64:
            raise ConfigError("singular_values", f"has {len(svs)} entries; allowed: 1 to 64")
        set_(self, "singular_values", svs)
        set_(self, "width", as_int("width", self.width, low=0, high=MAX_D))
        if mode == "deeplinear" and 0 < self.width < len(svs):
            raise ConfigError(
                "width", f"got {self.width}; allowed: 0 (auto) or >= {len(svs)} (one per mode)"
            )
        set_(self, "init", as_float("init", self.init, low=0.0, low_open=True, high=1.0))
        as_choice("init_mode", self.init_mode, INITS)
        set_(self, "data_seed", as_int("data_seed", self.data_seed, low=0, high=2**31 - 1))
        set_(self, "records", as_int("records", self.records, low=2, high=100_000))

    @property
    def alphas(self) -> tuple[float, ...]:
        """The init scales trained side by side (one, or the geometric sweep grid)."""
        if not self.alpha_sweep:
            return (float(self.alpha),)
        import numpy as np

        grid = np.geomspace(self.sweep_min, self.sweep_max, int(self.sweep_points))
        return tuple(float(a) for a in grid)

    @property
    def hidden(self) -> int:
        """Deep linear hidden width (``width`` or the number of singular values)."""
        return int(self.width) or len(self.singular_values)

    # -- convenience ---------------------------------------------------------------------------
    @classmethod
    def create(cls, **kwargs: Any) -> Config:
        """Build and validate a config from keyword arguments (None means 'mode default')."""
        return cls(**{k: v for k, v in kwargs.items() if v is not None})

    def replace(self, **changes: Any) -> Config:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``from_dict(to_dict())`` round-trips."""
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["singular_values"] = list(self.singular_values)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Config:
        """Inverse of :meth:`to_dict`; unknown keys are rejected with one clear line."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(unknown[0], f"unknown setting; allowed: {', '.join(sorted(known))}")
        return cls.create(**dict(data))

    def config_hash(self) -> str:
        """A stable hash of the config (used by sweeps to skip finished runs)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

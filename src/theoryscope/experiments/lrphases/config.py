"""Learning-rate phases configuration: the catapult (uv model) and edge-of-stability (MLP) modes.

A :class:`Config` is immutable and JSON-serializable. Every value is validated on construction;
a bad one raises :class:`~theoryscope.errors.ConfigError` naming the field and the allowed range.
Fields left as ``None`` take the default of the chosen ``mode`` (see :data:`MODE_DEFAULTS`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from theoryscope.core.validation import as_choice, as_float, as_int
from theoryscope.errors import ConfigError

#: ``catapult``: two-layer linear net f = v^T U x / sqrt(m) (Lewkowycz et al. 2020, section 2);
#: ``eos``: full-batch GD on a small MLP with its sharpness tracked (Cohen et al. 2021).
MODES = ("catapult", "eos")
#: Activations of the ``eos`` MLP (the catapult model is linear by definition).
ACTIVATIONS = ("tanh", "relu")
#: ``zero``: y = 0 (the paper's section-2 setting); ``random``: y_a ~ N(0, target_scale^2)
#: i.i.d. (a random-label teacher, fixed by ``data_seed``); ``teacher``: a fixed random tanh
#: network of width 16, its outputs normalized to standard deviation ``target_scale``.
TARGETS = ("zero", "random", "teacher")
DTYPES = ("float32", "float64")

MAX_WIDTH = 1_000_000
MAX_D = 1024
MAX_N = 4096
MAX_DEPTH = 8
MAX_STEPS = 10_000_000

#: Defaults per mode for the fields left as None.
MODE_DEFAULTS: dict[str, dict[str, Any]] = {
    "catapult": {
        "width": 1000,
        "d": 4,
        "n": 1,
        "steps": 200,
        "depth": 1,
        "target": "zero",
        "target_scale": 1.0,
    },
    "eos": {
        "width": 64,
        "d": 4,
        "n": 64,
        "steps": 3000,
        "depth": 3,
        "target": "random",
        "target_scale": 2.0,
    },
}
DEFAULT_LR_SCALE = 3.0
DEFAULT_EOS_LR = 0.02


@dataclass(frozen=True)
class Config:
    """Everything that defines one learning-rate-phases run.

    Attributes:
        mode: ``catapult`` or ``eos`` (:data:`MODES`).
        width: hidden width m >= 1 (catapult default 1000, eos default 64).
        depth: hidden layers of the eos MLP, 1..8 (default 3; catapult: the uv model, always 1).
        d: input dimension (inputs are drawn on the unit sphere, |x| = 1).
        n: number of training samples (catapult default 1, eos default 64).
        activation: eos MLP nonlinearity (:data:`ACTIVATIONS`).
        lr: step size eta > 0. In catapult mode give either ``lr`` or ``lr_scale``.
        lr_scale: catapult only: eta = lr_scale / lambda_0 with lambda_0 the NTK top eigenvalue of
            the initialized network, so the phase is set by lr_scale alone (default 3.0).
        steps: number of full-batch GD steps >= 1.
        target: labels (:data:`TARGETS`); target_scale their size (>= 0).
        data_seed: seed of the fixed data set and labels (the network init uses the run seed).
        sharpness_every: eos: record (loss and sharpness) every this many steps.
        lanczos_iters: eos: Lanczos steps (Hessian-vector products) per sharpness estimate.
        dtype: ``float32`` (default) or ``float64``.
    """

    mode: str = "catapult"
    width: int | None = None
    depth: int | None = None
    d: int | None = None
    n: int | None = None
    activation: str = "tanh"
    lr: float | None = None
    lr_scale: float | None = None
    steps: int | None = None
    target: str | None = None
    target_scale: float | None = None
    data_seed: int = 0
    sharpness_every: int = 10
    lanczos_iters: int = 10
    dtype: str = "float32"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        mode = as_choice("mode", self.mode, MODES)
        defaults = MODE_DEFAULTS[mode]
        for name in ("width", "depth", "d", "n", "steps", "target", "target_scale"):
            if getattr(self, name) is None:
                set_(self, name, defaults[name])
        set_(self, "width", as_int("width", self.width, low=1, high=MAX_WIDTH))
        set_(self, "depth", as_int("depth", self.depth, low=1, high=MAX_DEPTH))
        if mode == "catapult" and self.depth != 1:
            raise ConfigError(
                "depth", f"got {self.depth} in mode catapult; allowed: 1 (the uv model)"
            )
        set_(self, "d", as_int("d", self.d, low=1, high=MAX_D))
        set_(self, "n", as_int("n", self.n, low=1, high=MAX_N))
        as_choice("activation", self.activation, ACTIVATIONS)
        set_(self, "steps", as_int("steps", self.steps, low=1, high=MAX_STEPS))
        as_choice("target", self.target, TARGETS)
        set_(self, "target_scale", as_float("target_scale", self.target_scale, low=0.0))
        set_(self, "data_seed", as_int("data_seed", self.data_seed, low=0, high=2**31 - 1))
        set_(
            self,
            "sharpness_every",
            as_int("sharpness_every", self.sharpness_every, low=1, high=100_000),
        )
        set_(self, "lanczos_iters", as_int("lanczos_iters", self.lanczos_iters, low=2, high=1000))
        as_choice("dtype", self.dtype, DTYPES)
        lr, lr_scale = self.lr, self.lr_scale
        if lr is not None:
            lr = as_float("lr", lr, low=0.0, low_open=True)
        if lr_scale is not None:
            lr_scale = as_float("lr_scale", lr_scale, low=0.0, low_open=True)
        if mode == "catapult":
            if lr is not None and lr_scale is not None:
                raise ConfigError(
                    "lr_scale", "given together with lr; allowed: one of lr, lr_scale"
                )
            if lr is None and lr_scale is None:
                lr_scale = DEFAULT_LR_SCALE
        else:
            if lr_scale is not None:
                raise ConfigError("lr_scale", "only for mode catapult; allowed: lr in mode eos")
            if lr is None:
                lr = DEFAULT_EOS_LR
        set_(self, "lr", lr)
        set_(self, "lr_scale", lr_scale)

    # -- convenience ---------------------------------------------------------------------------
    @classmethod
    def create(cls, **kwargs: Any) -> Config:
        """Build and validate a config from keyword arguments (None means 'mode default')."""
        return cls(**{k: v for k, v in kwargs.items() if v is not None})

    def replace(self, **changes: Any) -> Config:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    # -- serialization -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``from_dict(to_dict())`` round-trips."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

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

"""Spectral-bias configuration: a shallow ReLU network on [-1, 1] fitting Fourier modes.

A :class:`Config` is immutable and JSON-serializable; every value is validated on construction
and a bad one raises :class:`~theoryscope.errors.ConfigError` naming the field and the range.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from theoryscope.core.validation import as_choice, as_float, as_int, as_int_tuple
from theoryscope.errors import ConfigError

MODES = ("features", "full")
BIASES = ("uniform", "grid")
WEIGHTS = ("plus", "sign")
DTYPES = ("float32", "float64")
MAX_NEURONS = 4096
MAX_FREQ = 1024
MAX_STEPS = 10**9


@dataclass(frozen=True)
class Config:
    """Everything that defines one spectral-bias run.

    Attributes:
        neurons: width n >= 1 of ``h(x) = n^{-1/2} sum_i a_i relu(w_i x - b_i)``.
        freqs: the target's frequencies k (distinct positive integers), ``f = sum_k sin(pi k x)``.
        lr: gradient-descent step eta > 0 (stable for eta < 2 / lambda_max(G)).
        steps: number of GD steps >= 1.
        mode: ``features`` (train a only: linear least squares, the talk's "linear" dynamics) or
            ``full`` (train a and the biases b: the talk's "nonlinear" dynamics).
        bias: ``uniform`` (i.i.d. U(-1, 1)) or ``grid`` (equispaced).
        weights: ``plus`` (w = 1, as in the talk's 1-D slides) or ``sign`` (w = +-1).
        feature_seed: seed of the random features. It is part of the config (not the run seed)
            so that ``predict(config)`` sees the very features the run trains.
        dtype: ``float32`` (default) or ``float64`` arithmetic of the training loop.
        records: number of recorded points (log-spaced in the step), >= 2.
        bias_lr: in ``full`` mode the biases step with ``bias_lr * lr`` (>= 0; 1 is plain GD,
            0 freezes them and reproduces ``features`` mode).
    """

    neurons: int = 200
    freqs: tuple[int, ...] = (1, 4, 16)
    lr: float = 1.0
    steps: int = 10000
    mode: str = "features"
    bias: str = "uniform"
    weights: str = "plus"
    feature_seed: int = 0
    dtype: str = "float32"
    records: int = 200
    bias_lr: float = 1.0

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "neurons", as_int("neurons", self.neurons, low=1, high=MAX_NEURONS))
        freqs = _freqs(self.freqs)
        set_(self, "freqs", freqs)
        set_(self, "lr", as_float("lr", self.lr, low=0.0, low_open=True))
        set_(self, "steps", as_int("steps", self.steps, low=1, high=MAX_STEPS))
        as_choice("mode", self.mode, MODES)
        as_choice("bias", self.bias, BIASES)
        as_choice("weights", self.weights, WEIGHTS)
        set_(self, "feature_seed", as_int("feature_seed", self.feature_seed, low=0, high=2**31 - 1))
        as_choice("dtype", self.dtype, DTYPES)
        set_(self, "records", as_int("records", self.records, low=2, high=100_000))
        set_(self, "bias_lr", as_float("bias_lr", self.bias_lr, low=0.0))

    def replace(self, **changes: Any) -> Config:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``from_dict(to_dict())`` round-trips."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["freqs"] = list(self.freqs)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Config:
        """Inverse of :meth:`to_dict`; unknown keys are rejected with one clear line.

        ``t_eff`` (as sweeps pass it) sets ``steps = ceil(t_eff / lr)``: GD time ``t = lr * step``.
        """
        data = dict(data)
        known = sorted([f.name for f in fields(cls)] + ["t_eff"])
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(unknown[0], f"unknown setting; allowed: {', '.join(known)}")
        t_eff = data.pop("t_eff", None)
        if t_eff is not None:
            if "steps" in data:
                raise ConfigError("t_eff", "given together with steps; allowed: one of them")
            lr = as_float("lr", data.get("lr", cls.lr), low=0.0, low_open=True)
            t = as_float("t_eff", t_eff, low=0.0, low_open=True)
            data["steps"] = max(1, math.ceil(t / lr - 1e-9))
        return cls(**data)

    def config_hash(self) -> str:
        """A stable hash of the config (used by sweeps to skip finished runs)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _freqs(value: Any) -> tuple[int, ...]:
    """Distinct positive integer frequencies, from a sequence or ``"1,4,16"``."""
    allowed = f"distinct integers from 1 to {MAX_FREQ}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = (value,)
    try:
        freqs = as_int_tuple("freqs", value, low=1)
    except ConfigError as err:
        raise ConfigError("freqs", f"{err.message.split(';')[0]}; allowed: {allowed}") from None
    if max(freqs) > MAX_FREQ:
        raise ConfigError("freqs", f"got {max(freqs)}; allowed: {allowed}")
    if len(set(freqs)) != len(freqs):
        raise ConfigError("freqs", f"repeats a frequency in {list(freqs)}; allowed: {allowed}")
    return freqs


def parse_freqs(text: str) -> tuple[int, ...]:
    """``"1,4,16"`` -> (1, 4, 16), with the same one-line errors as the config."""
    return _freqs(text)


#: float machine epsilon of each dtype (unit roundoff times 2): 2^-23 and 2^-52.
EPS = {"float32": math.ldexp(1.0, -23), "float64": math.ldexp(1.0, -52)}

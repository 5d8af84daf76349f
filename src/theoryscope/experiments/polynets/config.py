"""Polynomial-network teacher-student configuration.

A :class:`Config` is immutable and JSON-serializable. Every value is validated on construction;
a bad one raises :class:`~theoryscope.errors.ConfigError` naming the field and the allowed range.

Model (Arjevani, Bruna, Kileel, Polak, Trager 2025, arXiv 2501.06074, section 2): a shallow
polynomial network of width r and degree p, f_W(x) = sum_{i<=r} a_i (w_i . x)^p, with the outer
weights fixed to a_i = +1 (teacher and student), so that for p = 2, f_W(x) = x^T M x with
M = W^T W positive semi-definite of rank <= r (Du & Lee 2018; Soltanolkotabi, Javanmard & Lee
2019; Sarao Mannelli et al. 2020).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from theoryscope.core.validation import as_choice, as_float, as_int
from theoryscope.errors import ConfigError

#: Degrees p with a closed-form Gaussian population loss (Hermite expansion, population.py).
DEGREES = (2, 3, 4)
#: ``orthogonal``: w*_j = sqrt(lambda_j) u_j with u_j orthonormal and lambda_j = decay^(j-1), so
#: for p = 2 the teacher matrix M* has the known eigenvalues lambda_j; ``gaussian``: w*_j i.i.d.
#: N(0, I_d / d).
TEACHERS = ("orthogonal", "gaussian")

MAX_D = 256
MAX_WIDTH = 256
MAX_STEPS = 10_000_000
MAX_SAMPLES = 1_000_000
#: Records kept per run when ``record_every`` is left as None.
DEFAULT_RECORDS = 500


@dataclass(frozen=True)
class Config:
    """Everything that defines one polynomial-network teacher-student run.

    Attributes:
        d: input dimension (x ~ N(0, I_d)).
        teacher_width: r* >= 1, the teacher's number of neurons.
        width: r >= 1, the student's number of neurons.
        degree: p in :data:`DEGREES`.
        init: student init scale: W_ij ~ N(0, init^2) i.i.d. (> 0; small init gives incremental
            learning).
        lr: GD step size eta > 0 (gradient-flow time t = eta * step).
        steps: number of GD steps >= 1.
        samples: None for GD on the exact population loss; n >= 1 for full-batch GD on a fixed
            training set of n Gaussian inputs (the population loss is still recorded).
        teacher: :data:`TEACHERS`; teacher_decay: lambda_j = decay^(j-1) for ``orthogonal``.
        data_seed: seed of the teacher and the training set (the student init uses the run seed).
        record_every: record every this many steps (None: about 500 records).
    """

    d: int = 10
    teacher_width: int = 3
    width: int = 5
    degree: int = 2
    init: float = 1e-3
    lr: float = 0.01
    steps: int = 5000
    samples: int | None = None
    teacher: str = "orthogonal"
    teacher_decay: float = 0.5
    data_seed: int = 0
    record_every: int | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "d", as_int("d", self.d, low=1, high=MAX_D))
        set_(self, "teacher_width", as_int("teacher_width", self.teacher_width, low=1,
                                           high=MAX_WIDTH))  # fmt: skip
        set_(self, "width", as_int("width", self.width, low=1, high=MAX_WIDTH))
        degree = as_int("degree", self.degree)
        if degree not in DEGREES:
            raise ConfigError(
                "degree", f"got {degree}; allowed: one of {', '.join(map(str, DEGREES))}"
            )
        set_(self, "degree", degree)
        set_(self, "init", as_float("init", self.init, low=0.0, low_open=True, high=100.0))
        set_(self, "lr", as_float("lr", self.lr, low=0.0, low_open=True))
        set_(self, "steps", as_int("steps", self.steps, low=1, high=MAX_STEPS))
        if self.samples is not None:
            set_(self, "samples", as_int("samples", self.samples, low=1, high=MAX_SAMPLES))
        as_choice("teacher", self.teacher, TEACHERS)
        set_(self, "teacher_decay", as_float("teacher_decay", self.teacher_decay, low=0.0,
                                             low_open=True, high=1.0))  # fmt: skip
        set_(self, "data_seed", as_int("data_seed", self.data_seed, low=0, high=2**31 - 1))
        if self.record_every is not None:
            set_(self, "record_every", as_int("record_every", self.record_every, low=1,
                                              high=MAX_STEPS))  # fmt: skip

    @property
    def every(self) -> int:
        """Steps between records."""
        if self.record_every is not None:
            return int(self.record_every)
        return max(1, int(self.steps) // DEFAULT_RECORDS)

    @property
    def population(self) -> bool:
        """True when GD runs on the exact population loss."""
        return self.samples is None

    # -- convenience ---------------------------------------------------------------------------
    @classmethod
    def create(cls, **kwargs: Any) -> Config:
        """Build and validate a config from keyword arguments (None means 'default')."""
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
        return cls(**dict(data))

    def config_hash(self) -> str:
        """A stable hash of the config (used by sweeps to skip finished runs)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

"""Expander Nets configuration (spec ``expander-nets.md`` sections 1-3 and 5).

A :class:`Config` is immutable and JSON-serializable. Construct it with keyword arguments;
every value is validated on construction and a bad one raises
:class:`~theoryscope.errors.ConfigError` naming the field and the allowed range.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from theoryscope.core.validation import as_choice, as_float, as_int, as_int_tuple
from theoryscope.errors import ConfigError

#: Built-in nonlinearities. ``sqrt2cos`` is sqrt(2) cos(z + pi/4) = cos z - sin z (spec 1).
NONLINEARITIES = ("sqrt2cos", "relu", "tanh", "erf")
DEFAULT_NONLINEARITY = "sqrt2cos"
DTYPES = ("float32", "float64")
MODES = ("sgd",)  # extended by the population-dynamics modes ("flow", "gd")
#: EMA windows offered on the page (spec 5); 0 means off.
EMA_WINDOWS = (0, 10, 20, 30, 50, 70, 100, 200, 300, 500, 700, 1000, 2000, 3000, 5000, 7000, 10000)

MAX_D = 64
MAX_ALPHA = 32


@dataclass(frozen=True)
class Term:
    """One target term: ``coef * prod_i h_{alpha_i}(x_i / sqrt(gamma_i))`` (spec 2)."""

    alpha: tuple[int, ...]
    coef: float = 1.0

    @property
    def order(self) -> int:
        """|alpha| = sum_i alpha_i."""
        return int(sum(self.alpha))


@dataclass(frozen=True)
class Config:
    """Everything that defines one Expander Nets run.

    Attributes:
        d: input dimension (>= 1).
        k: width of the frozen layer (>= 1).
        gamma: per-dimension data variances gamma_i > 0 (length d). A single value is broadcast.
        terms: the target terms; alpha has length d, entries >= 0 (default h_1(x_1) h_1(x_2)).
        lr: learning rate eta > 0 (W1 uses eta, W2 uses eta / k).
        batch: minibatch size |B| >= 1 (fresh Gaussian samples every step).
        steps: number of SGD steps (>= 1). Give ``t_eff`` instead to set steps = ceil(t_eff / eta).
        nonlinearity: a name from :data:`NONLINEARITIES` or, in the Python API, a JAX function.
        dtype: ``float32`` (default) or ``float64``.
        mode: ``sgd`` (online SGD, spec 3); population modes are added by later modules.
        ema_window: EMA window W of the recorded minibatch loss, 0 = off (spec 5).
        records: number of recorded points (log-spaced: dense early, sparse late), >= 2.
        holdout: held-out sample size for Monte Carlo population estimates (non-default sigma).
        b0: the modeling ODE's b(0) (spec 6; the page uses 1e-10).
    """

    d: int = 3
    k: int = 1000
    gamma: tuple[float, ...] = (0.1,)
    terms: tuple[Term, ...] = ()
    lr: float = 0.01
    batch: int = 100
    steps: int = 20000
    nonlinearity: str | Callable[..., Any] = DEFAULT_NONLINEARITY
    dtype: str = "float32"
    mode: str = "sgd"
    ema_window: int = 100
    records: int = 400
    holdout: int = 8192
    b0: float = 1e-10
    custom_nonlinearity_name: str = field(default="", compare=False)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def create(cls, *, t_eff: float | str | None = None, **kwargs: Any) -> Config:
        """Build and validate a config; ``t_eff`` (if given) sets ``steps = ceil(t_eff / lr)``.

        Accepts loose inputs: ``gamma`` as a scalar or list, ``alpha`` as a list of multi-indices
        (or ``"1,1,0"`` strings) with optional ``coef`` list, or ``terms`` directly.
        """
        alphas = kwargs.pop("alpha", None)
        coefs = kwargs.pop("coef", None)
        if alphas is not None:
            if "terms" in kwargs:
                raise ConfigError("alpha", "give either alpha/coef or terms, not both")
            if isinstance(alphas, str) or (
                isinstance(alphas, Sequence)
                and alphas
                and not isinstance(alphas[0], (Sequence, str))
            ):
                alphas = [alphas]
            coefs_list = list(coefs) if coefs is not None else [1.0] * len(alphas)
            if len(coefs_list) != len(alphas):
                raise ConfigError(
                    "coef",
                    f"has {len(coefs_list)} values for {len(alphas)} terms; allowed: one per term",
                )
            kwargs["terms"] = tuple(
                Term(tuple(as_int_tuple("alpha", a, low=0)), float(c))
                for a, c in zip(alphas, coefs_list, strict=True)
            )
        elif coefs is not None:
            raise ConfigError("coef", "given without alpha; allowed: one coef per --alpha")
        if t_eff is not None:
            lr = as_float("lr", kwargs.get("lr", cls.lr), low=0.0, low_open=True)
            t = as_float("t_eff", t_eff, low=0.0, low_open=True)
            kwargs["steps"] = max(1, math.ceil(t / lr - 1e-9))
        return cls(**kwargs)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        d = as_int("d", self.d, low=1, high=MAX_D)
        set_(self, "d", d)
        set_(self, "k", as_int("k", self.k, low=1))
        gamma = self.gamma
        if isinstance(gamma, (int, float, str)) and not isinstance(gamma, bool):
            gamma = (gamma,)
        try:
            gammas = tuple(as_float("gamma", g, low=0.0, low_open=True) for g in gamma)  # type: ignore[union-attr]
        except TypeError:
            raise ConfigError("gamma", f"got {gamma!r}; allowed: positive numbers") from None
        if len(gammas) == 1:
            gammas = gammas * d
        if len(gammas) != d:
            raise ConfigError(
                "gamma", f"has {len(gammas)} values; allowed: 1 (broadcast) or d = {d}"
            )
        set_(self, "gamma", gammas)
        terms = tuple(self.terms) or (default_term(d),)
        clean: list[Term] = []
        for t in terms:
            if isinstance(t, Mapping):
                t = Term(tuple(t["alpha"]), float(t.get("coef", 1.0)))
            alpha = as_int_tuple("alpha", t.alpha, length=d, low=0)
            if max(alpha) > MAX_ALPHA:
                raise ConfigError(
                    "alpha", f"entry {max(alpha)} too large; allowed: integers 0..{MAX_ALPHA}"
                )
            coef = as_float("coef", t.coef)
            clean.append(Term(alpha, coef))
        if len({t.alpha for t in clean}) != len(clean):
            raise ConfigError(
                "alpha",
                "repeats a multi-index; allowed: distinct multi-indices (merge their coefs)",
            )
        set_(self, "terms", tuple(clean))
        set_(self, "lr", as_float("lr", self.lr, low=0.0, low_open=True))
        set_(self, "batch", as_int("batch", self.batch, low=1))
        set_(self, "steps", as_int("steps", self.steps, low=1))
        if callable(self.nonlinearity):
            if not self.custom_nonlinearity_name:
                name = getattr(self.nonlinearity, "__name__", "custom")
                set_(self, "custom_nonlinearity_name", f"custom:{name}")
        else:
            as_choice("nonlinearity", self.nonlinearity, NONLINEARITIES)
        as_choice("dtype", self.dtype, DTYPES)
        as_choice("mode", self.mode, MODES_ALLOWED)
        set_(self, "ema_window", as_int("ema_window", self.ema_window, low=0))
        set_(self, "records", as_int("records", self.records, low=2, high=100_000))
        set_(self, "holdout", as_int("holdout", self.holdout, low=16))
        set_(self, "b0", as_float("b0", self.b0, low=0.0))

    # -- derived ------------------------------------------------------------------------------
    @property
    def t_eff(self) -> float:
        """Continuous time reached at the end: t_eff = eta * steps (spec 3)."""
        return self.lr * self.steps

    @property
    def alphas(self) -> tuple[tuple[int, ...], ...]:
        return tuple(t.alpha for t in self.terms)

    @property
    def coefs(self) -> tuple[float, ...]:
        return tuple(t.coef for t in self.terms)

    @property
    def uses_default_nonlinearity(self) -> bool:
        """True when the exact closed forms of spec 4 apply."""
        return self.nonlinearity == DEFAULT_NONLINEARITY

    @property
    def nonlinearity_name(self) -> str:
        return (
            self.custom_nonlinearity_name if callable(self.nonlinearity) else str(self.nonlinearity)
        )

    def replace(self, **changes: Any) -> Config:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    # -- serialization ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``from_dict(to_dict())`` round-trips (except custom functions)."""
        return {
            "d": self.d,
            "k": self.k,
            "gamma": list(self.gamma),
            "terms": [{"alpha": list(t.alpha), "coef": t.coef} for t in self.terms],
            "lr": self.lr,
            "batch": self.batch,
            "steps": self.steps,
            "nonlinearity": self.nonlinearity_name,
            "dtype": self.dtype,
            "mode": self.mode,
            "ema_window": self.ema_window,
            "records": self.records,
            "holdout": self.holdout,
            "b0": self.b0,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Config:
        """Inverse of :meth:`to_dict`; unknown keys are rejected with one clear line."""
        data = dict(data)
        known = {f for f in cls.__dataclass_fields__ if f != "custom_nonlinearity_name"} | {
            "alpha",
            "coef",
            "t_eff",
        }
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(unknown[0], f"unknown setting; allowed: {', '.join(sorted(known))}")
        if "terms" in data:
            data["terms"] = tuple(
                Term(tuple(t["alpha"]), float(t.get("coef", 1.0))) if isinstance(t, Mapping) else t
                for t in data["terms"]
            )
        if "gamma" in data and isinstance(data["gamma"], list):
            data["gamma"] = tuple(data["gamma"])
        return cls.create(**data)

    def config_hash(self) -> str:
        """A stable hash of the config (used by sweeps to skip finished runs)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


MODES_ALLOWED: tuple[str, ...] = ("sgd", "flow", "gd")


def default_term(d: int) -> Term:
    """The default target h_1(x_1) h_1(x_2) (ell = 3), or h_1(x_1) when d = 1."""
    return Term(tuple(1 if i < 2 else 0 for i in range(d)))

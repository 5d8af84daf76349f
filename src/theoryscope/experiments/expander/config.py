"""Expander Nets configuration (spec ``expander-nets.md`` sections 1-3 and 5), declared once.

Every field carries its bounds, help, TeX symbol and spec section (:func:`~theoryscope.spec.param`);
validation, the CLI options, the web form and the sweep grid come from these declarations. A bad
value raises :class:`~theoryscope.errors.ConfigError` naming the field and the allowed range.

Inputs beyond the fields: ``alpha`` / ``coef`` (one multi-index and coefficient per target term,
building ``terms``), ``t_eff`` (continuous time; sets ``steps = ceil(t_eff / lr)``) and, on the
command line, ``--float64``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import WithJsonSchema, field_serializer, field_validator, model_validator

from theoryscope.core.validation import as_float, as_int_tuple
from theoryscope.errors import ConfigError
from theoryscope.spec import CliInput, ExperimentConfig, Float, FloatTuple, Int, param
from theoryscope.spec.fields import show_value

#: Built-in nonlinearities. ``sqrt2cos`` is sqrt(2) cos(z + pi/4) = cos z - sin z (spec 1).
NONLINEARITIES = ("sqrt2cos", "relu", "tanh", "erf")
DEFAULT_NONLINEARITY = "sqrt2cos"
DTYPES = ("float32", "float64")
MODES = ("sgd",)  # extended by the population-dynamics modes ("flow", "gd")
MODES_ALLOWED: tuple[str, ...] = ("sgd", "flow", "gd")
#: EMA windows offered on the page (spec 5); 0 means off.
EMA_WINDOWS = (0, 10, 20, 30, 50, 70, 100, 200, 300, 500, 700, 1000, 2000, 3000, 5000, 7000, 10000)

MAX_D = 64
MAX_ALPHA = 32
MAX_TERMS = 64
#: |coef| bound: the target's scale is O(1) (spec 2); 1e3 leaves room and keeps the ODE finite.
MAX_COEF = 1e3
SPEC = "spec expander-nets.md"


@dataclass(frozen=True)
class Term:
    """One target term: ``coef * prod_i h_{alpha_i}(x_i / sqrt(gamma_i))`` (spec 2)."""

    alpha: tuple[int, ...]
    coef: float = 1.0

    @property
    def order(self) -> int:
        """|alpha| = sum_i alpha_i."""
        return int(sum(self.alpha))


def default_term(d: int) -> Term:
    """The default target h_1(x_1) h_1(x_2) (ell = 3), or h_1(x_1) when d = 1."""
    return Term(tuple(1 if i < 2 else 0 for i in range(d)))


_NONLINEARITY_SCHEMA = WithJsonSchema({"type": "string", "enum": list(NONLINEARITIES)})


class Config(ExperimentConfig):
    """Everything that defines one Expander Nets run: ``f_hat(x) = W2 . sigma(W_froz W1 x)``
    trained on Gaussian inputs ``x_i ~ N(0, gamma_i)`` against ``sum_j coef_j prod_i
    h_{alpha_ji}(x_i / sqrt(gamma_i))`` (spec 1-3)."""

    cli_inputs: ClassVar[tuple[CliInput, ...]] = (
        CliInput("alpha", "A target term's multi-index, e.g. 1,1,0 (repeat for more terms; "
                 "default 1,1,0,...).", multiple=True, tex=r"\alpha",
                 grid_reader=lambda text: read_alpha_grid_value(text),
                 grid_defaults=lambda value: {"d": len(value[0])}),
        CliInput("coef", "Coefficient of each term (one per --alpha).", multiple=True, tex="c_j"),
        CliInput("t_eff", "Run to continuous time t_eff = eta * steps instead of --steps.",
                 tex=r"t_{\mathrm{eff}}"),
        CliInput("float64", "Compute in float64 (default float32).", flag=True,
                 sets={"dtype": "float64"}),
    )  # fmt: skip

    d: Int = param(
        3, ge=1, le=MAX_D, help="Input dimension d.", tex="d", cite=f"{SPEC} 1", web_max=8,
        group="data", sweepable=True,
    )  # fmt: skip
    k: Int = param(
        1000, ge=1, cap=10**9, help="Width of the frozen layer (W_froz is k x d).", tex="k",
        cite=f"{SPEC} 1", web_max=30_000, group="model", widget="log-slider",
    )  # fmt: skip
    gamma: FloatTuple = param(
        (0.1,), item_gt=0, item_cap=1e6, min_items=1, max_items=MAX_D,
        help="Data variances gamma_i: one value for all dimensions, or d values.",
        tex=r"\gamma", cite=f"{SPEC} 2", group="data", widget="log-slider",
    )  # fmt: skip
    terms: tuple[Term, ...] = param(
        (), kind="terms", help="Target terms (multi-index alpha, coefficient); give them as "
        "alpha and coef.", tex=r"\alpha", cite=f"{SPEC} 2", group="data",
    )  # fmt: skip
    lr: Float = param(
        0.01, gt=0, cap=1e6, help="Learning rate eta (W1 steps by eta, W2 by eta/k).",
        tex=r"\eta", cite=f"{SPEC} 3", group="training", widget="log-slider",
    )  # fmt: skip
    batch: Int = param(
        100, ge=1, cap=10**9, help="Minibatch size |B| (fresh Gaussian samples every step).",
        tex="|B|", cite=f"{SPEC} 3", web_max=1000, group="training", widget="log-slider",
    )  # fmt: skip
    steps: Int = param(
        20000, ge=1, cap=10**12, help="Number of SGD steps (or give --t-eff).", tex="T",
        cite=f"{SPEC} 3", web_max=2_000_000, group="training",
    )  # fmt: skip
    nonlinearity: Annotated[Any, _NONLINEARITY_SCHEMA] = param(
        DEFAULT_NONLINEARITY, choices=NONLINEARITIES, kind="choice",
        help="sigma: sqrt2cos has the exact population loss and the modeling ODE (spec 4, 6); "
        "the others are Monte Carlo only. A JAX function in the Python API.",
        tex=r"\sigma", cite=f"{SPEC} 1", group="model",
    )  # fmt: skip
    dtype: Literal["float32", "float64"] = param(
        "float32", help="Arithmetic of the SGD engine.", group="numerics",
    )  # fmt: skip
    mode: Literal["sgd", "flow", "gd"] = param(
        "sgd", help="sgd: online SGD; flow: the exact population gradient flow; gd: full-batch "
        "GD on the exact population loss (flow and gd need sigma = sqrt2cos).",
        cite=f"{SPEC} 3-4", group="training", sweepable=False,
    )  # fmt: skip
    ema_window: Int = param(
        100, ge=0, le=100_000, cli="--ema", choices=EMA_WINDOWS, help="EMA window W of the "
        "recorded minibatch loss (0 = off; the page offers the listed windows).", tex="W",
        cite=f"{SPEC} 5", group="recording", advanced=True, modes=("sgd",),
    )  # fmt: skip
    records: Int = param(
        400, ge=2, le=100_000, help="Recorded points (log-spaced: dense early, sparse late).",
        web_max=20_000, group="recording", advanced=True,
    )  # fmt: skip
    holdout: Int = param(
        8192, ge=16, cap=10**8, help="Held-out sample for Monte Carlo population losses "
        "(sigma other than sqrt2cos).", web_max=65_536, group="recording", advanced=True,
    )  # fmt: skip
    b0: Float = param(
        1e-10, ge=0, le=1, help="The modeling ODE's b(0) (the page uses 1e-10).", tex="b(0)",
        cite=f"{SPEC} 6", group="theory", advanced=True,
    )  # fmt: skip

    # -- inputs beyond the fields ----------------------------------------------------------------
    @model_validator(mode="before")
    @classmethod
    def _inputs(cls, data: Any) -> Any:
        """alpha/coef -> terms, t_eff -> steps, a scalar gamma -> one per dimension."""
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        for key in ("terms", "alpha"):
            # Left out, the target is the default term; asked for explicitly with no terms at
            # all, the request is told so instead of training something it did not ask for.
            if isinstance(data.get(key), (list, tuple)) and not data[key]:
                raise ConfigError(
                    key, "got an empty list; allowed: at least one term (omit it for the default)"
                )
        alphas = data.pop("alpha", None)
        coefs = data.pop("coef", None)
        t_eff = data.pop("t_eff", None)
        if alphas is not None:
            if data.get("terms"):
                raise ConfigError("alpha", "give either alpha/coef or terms, not both")
            data["terms"] = _terms_from(alphas, coefs)
        elif coefs is not None:
            raise ConfigError("coef", "given without alpha; allowed: one coef per --alpha")
        if data.get("terms") is None:
            data["terms"] = ()
        d = _d_of(data.get("d", 3))
        if d is not None and not data.get("terms"):
            data["terms"] = (default_term(d),)
        data["gamma"] = _broadcast_gamma(data.get("gamma", (0.1,)), d)
        if t_eff is not None:
            if data.get("steps") is not None:
                raise ConfigError(
                    "steps", "given together with t_eff; allowed: one of --steps or --t-eff"
                )
            lr = as_float("lr", data.get("lr", 0.01), low=0.0, low_open=True)
            t = as_float("t_eff", t_eff, low=0.0, low_open=True)
            data["steps"] = max(1, math.ceil(t / lr - 1e-9))
        return data

    @field_validator("terms", mode="before")
    @classmethod
    def _terms(cls, value: Any) -> Any:
        """Terms given as objects (the web API, stored runs): a malformed one is a malformed
        ``config``; a bad multi-index still names ``alpha``."""
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise ConfigError("config", f"malformed setting (terms: got {show_value(value)}; "
                              "allowed: a list of {alpha, coef} objects)")  # fmt: skip
        out = []
        for t in value:
            if isinstance(t, Term):
                alpha, coef = t.alpha, t.coef
            elif isinstance(t, Mapping) and "alpha" in t and not set(t) - {"alpha", "coef"}:
                alpha, coef = t["alpha"], t.get("coef", 1.0)
            else:
                raise ConfigError("config", f"malformed setting (term {show_value(t)}; allowed: "
                                  "{alpha, coef})")  # fmt: skip
            try:
                coef = as_float("coef", coef, low=-MAX_COEF, high=MAX_COEF)
            except ConfigError as err:
                raise ConfigError("config", f"malformed setting (terms: {err})") from None
            out.append(_term("alpha", alpha, coef))
        return tuple(out)

    @field_validator("nonlinearity", mode="before")
    @classmethod
    def _nonlinearity(cls, value: Any) -> Any:
        if callable(value):
            return value
        if not isinstance(value, str) or value not in NONLINEARITIES:
            raise ConfigError(
                "nonlinearity", f"got {show_value(value)}; allowed: {', '.join(NONLINEARITIES)}"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        """Every multi-index has d entries in 0..MAX_ALPHA, and no two are the same."""
        if len(self.gamma) != self.d:
            raise ConfigError(
                "gamma", f"has {len(self.gamma)} values; allowed: 1 (broadcast) or d = {self.d}"
            )
        if len(self.terms) > MAX_TERMS:
            raise ConfigError("alpha", f"{len(self.terms)} terms; allowed: at most {MAX_TERMS}")
        for term in self.terms:
            if len(term.alpha) != self.d:
                raise ConfigError(
                    "alpha",
                    f"has {len(term.alpha)} entries; allowed: exactly {self.d} (one per input "
                    "dimension d)",
                )
        if len({t.alpha for t in self.terms}) != len(self.terms):
            raise ConfigError(
                "alpha",
                "repeats a multi-index; allowed: distinct multi-indices (merge their coefs)",
            )
        return self

    @field_serializer("nonlinearity")
    def _name(self, value: Any) -> str:
        return self.nonlinearity_name

    @field_serializer("terms")
    def _terms_json(self, value: tuple[Term, ...]) -> list[dict[str, Any]]:
        return [{"alpha": list(t.alpha), "coef": t.coef} for t in value]

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
        return isinstance(self.nonlinearity, str) and self.nonlinearity == DEFAULT_NONLINEARITY

    @property
    def nonlinearity_name(self) -> str:
        fn = self.nonlinearity
        if callable(fn):
            return f"custom:{getattr(fn, '__name__', 'custom')}"
        return str(fn)

    @property
    def custom_nonlinearity_name(self) -> str:
        return self.nonlinearity_name if callable(self.nonlinearity) else ""


# ------------------------------------------------------------------------------------------------
# input helpers
# ------------------------------------------------------------------------------------------------
def _term(field: str, alpha: Any, coef: Any) -> Term:
    items = as_int_tuple("alpha", alpha, low=0)
    if max(items) > MAX_ALPHA:
        raise ConfigError(
            "alpha", f"entry {max(items)} too large; allowed: integers 0..{MAX_ALPHA}"
        )
    value = as_float("coef", coef, low=-MAX_COEF, high=MAX_COEF)
    return Term(items, value)


def _terms_from(alphas: Any, coefs: Any) -> tuple[Term, ...]:
    """``alpha`` (one multi-index, or a list of them, as lists or ``"1,1,0"`` strings) and the
    matching ``coef`` list -> terms."""
    if isinstance(alphas, str) or (
        isinstance(alphas, Sequence) and alphas and not isinstance(alphas[0], (Sequence, str))
    ):
        alphas = [alphas]
    if not isinstance(alphas, Sequence) or not alphas:
        raise ConfigError("alpha", "is empty; allowed: at least one multi-index like 1,1,0")
    if coefs is not None and not isinstance(coefs, Sequence) or isinstance(coefs, str):
        coefs = [coefs]
    coef_list = list(coefs) if coefs is not None else [1.0] * len(alphas)
    if len(coef_list) != len(alphas):
        raise ConfigError(
            "coef", f"has {len(coef_list)} values for {len(alphas)} terms; allowed: one per term"
        )
    return tuple(_term("alpha", a, c) for a, c in zip(alphas, coef_list, strict=True))


def _d_of(value: Any) -> int | None:
    from theoryscope.spec.fields import _loose_int

    d = _loose_int(value)
    return d if isinstance(d, int) and 1 <= d <= MAX_D else None


def _broadcast_gamma(value: Any, d: int | None) -> Any:
    """A scalar, ``"0.1"`` or a one-entry list -> one variance per dimension."""
    if isinstance(value, str):
        value = [p for p in value.split(",")] if value.strip() else []
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, Sequence) and len(value) == 1 and d is not None:
        return list(value) * d
    return value


def read_alpha_grid_value(text: str) -> tuple[tuple[int, ...], ...]:
    """One grid value of ``alpha``: ``1,0,0`` or several terms joined by '+' (``1,0,0+0,1,0``)."""
    terms = []
    for term in text.split("+"):
        parts = term.split(",")
        if not term.strip() or any(not p.strip() for p in parts):
            raise ConfigError(
                "grid",
                f"alpha: {text!r} has an empty entry; allowed: multi-indices like 1,1,0 "
                "separated by ':' (e.g. alpha=1,0,0:2,1,0)",
            )
        try:
            terms.append(tuple(int(p) for p in parts))
        except ValueError:
            raise ConfigError(
                "grid", f"alpha: {text!r} is not a multi-index; allowed: integers like 1,1,0"
            ) from None
    if len({len(t) for t in terms}) != 1:
        raise ConfigError("grid", f"alpha: terms of {text!r} differ in length; allowed: equal d")
    if any(v < 0 for t in terms for v in t):
        raise ConfigError("grid", f"alpha: {text!r} has a negative entry; allowed: integers >= 0")
    return tuple(terms)


def parse_alpha(text: str) -> tuple[int, ...]:
    """``"2,1,0"`` -> (2, 1, 0) with the config's one-line errors."""
    return _term("alpha", text, 1.0).alpha


__all__ = [
    "DEFAULT_NONLINEARITY",
    "DTYPES",
    "EMA_WINDOWS",
    "MODES",
    "MODES_ALLOWED",
    "NONLINEARITIES",
    "Config",
    "Term",
    "default_term",
]

"""Field declarations: one place says what a config field is, every surface reads it from there.

A config field is declared once, as a pydantic field built by :func:`param`::

    neurons: Int = param(200, ge=1, cap=4096, help="width n of the hidden layer", tex="n",
                         cite="seed 004, slide 7", web_max=2048, group="model")

From that declaration come validation (with the one-line ``field: got X; allowed: ...`` message),
the JSON schema (bounds, help, TeX, citation and web cap travel as schema keywords), the CLI
option (``--neurons``, its help with the range) and the web form control.

Bounds:
    ``ge``/``gt``/``le``/``lt``   the field's domain (shown as ``from 1 to 64``, ``> 0``)
    ``cap``                       a resource ceiling, not part of the maths (shown as
                                  ``(at most 4,096)``); every integer field has one, so a
                                  value like 10**30 is refused before anything is allocated
    ``item_*``, ``min_items``, ``max_items``   the same for the entries of a list field
    ``web_max``                   the web server's tighter cap (the API refuses more)

The lenient types :data:`Int`, :data:`Float`, :data:`IntTuple`, :data:`FloatTuple` accept what a
command line gives (``"1e3"`` for an integer, ``"1,4,16"`` for a list) and nothing looser: a bool
is never a number, a fraction never an integer, NaN and inf never a float.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BeforeValidator, Field
from pydantic.fields import FieldInfo

__all__ = [
    "Bool",
    "FieldSpec",
    "Float",
    "FloatTuple",
    "Int",
    "IntTuple",
    "field_spec",
    "param",
    "show_value",
]

#: Integers at or above this size are refused before any arithmetic (no field needs more).
INT_LIMIT = 10**18


class _Invalid:
    """Marks a value a lenient parser could not read; pydantic then rejects it by type."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return show_value(self.value)


def _loose_int(value: Any) -> Any:
    """``3``, ``3.0``, ``"3"``, ``"1e3"`` -> int; a bool, a fraction or garbage stays invalid."""
    raw = value
    if isinstance(value, bool):
        return _Invalid(raw)
    if isinstance(value, int):
        return value if abs(value) < INT_LIMIT else _Invalid(raw)
    try:
        if isinstance(value, str):
            text = value.strip().replace("_", "")
            if len(text) > 40:
                return _Invalid(raw)
            try:
                out = int(text)
                return out if abs(out) < INT_LIMIT else _Invalid(raw)
            except ValueError:
                value = float(text)
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return _Invalid(raw)
    if not math.isfinite(number) or number != int(number) or abs(number) >= INT_LIMIT:
        return _Invalid(raw)
    return int(number)


def _loose_float(value: Any) -> Any:
    """Numbers and numeric strings -> a finite float; a bool, NaN, inf or garbage stays invalid."""
    if isinstance(value, bool):
        return _Invalid(value)
    try:
        if isinstance(value, str):
            if len(value) > 64:
                return _Invalid(value)
            number = float(value.strip())
        elif isinstance(value, (int, float)):
            number = float(value)
        else:
            return value
    except (ValueError, OverflowError):
        return _Invalid(value)
    return number if math.isfinite(number) else _Invalid(value)


def _loose_bool(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "yes", "on", "1"):
            return True
        if text in ("false", "no", "off", "0"):
            return False
        return _Invalid(value)
    return value


def _split_list(value: Any) -> Any:
    """``"1,4,16"`` -> ``["1", "4", "16"]``; a single number -> a one-entry list."""
    if isinstance(value, str):
        return [p for p in value.split(",")] if value.strip() else []
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [value]
    return value


Int = Annotated[int, BeforeValidator(_loose_int)]
Float = Annotated[float, BeforeValidator(_loose_float)]
Bool = Annotated[bool, BeforeValidator(_loose_bool)]
IntTuple = Annotated[tuple[Int, ...], BeforeValidator(_split_list)]
FloatTuple = Annotated[tuple[Float, ...], BeforeValidator(_split_list)]

#: Keys of the declaration stored on each field (and shown in its JSON schema).
_META_KEYS = (
    "tex",
    "cite",
    "cap",
    "web_max",
    "sweepable",
    "widget",
    "group",
    "modes",
    "advanced",
    "cli",
    "allowed",
    "kind",
    "item_ge",
    "item_gt",
    "item_le",
    "item_lt",
    "item_cap",
    "min_items",
    "max_items",
    "distinct",
    "unit",
)


def param(
    default: Any = ...,
    *,
    help: str,
    tex: str | None = None,
    cite: str | None = None,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    cap: float | None = None,
    item_ge: float | None = None,
    item_gt: float | None = None,
    item_le: float | None = None,
    item_lt: float | None = None,
    item_cap: float | None = None,
    min_items: int | None = None,
    max_items: int | None = None,
    distinct: bool = False,
    web_max: float | None = None,
    sweepable: bool = True,
    widget: str | None = None,
    group: str | None = None,
    modes: Sequence[str] | None = None,
    advanced: bool = False,
    cli: str | None = None,
    allowed: str | None = None,
    kind: str | None = None,
    choices: Sequence[Any] | None = None,
    unit: str | None = None,
    exclude: bool = False,
) -> Any:
    """Declare a config field (see the module docstring for what each argument means).

    ``modes`` lists the values of the config's ``mode`` field for which the field matters (the
    web form hides it otherwise); ``widget`` hints the form control (``log-slider``, ``slider``,
    ``select``, ``multiindex``, ...); ``cli`` overrides the option name; ``allowed`` overrides the
    text that says what is allowed; ``kind`` names a custom type for the CLI and the web form.
    """
    extra: dict[str, Any] = {}
    for key, value in (
        ("tex", tex),
        ("cite", cite),
        ("cap", cap),
        ("web_max", web_max),
        ("widget", widget),
        ("group", group),
        ("modes", list(modes) if modes is not None else None),
        ("cli", cli),
        ("allowed", allowed),
        ("kind", kind),
        ("choices", list(choices) if choices is not None else None),
        ("item_ge", item_ge),
        ("item_gt", item_gt),
        ("item_le", item_le),
        ("item_lt", item_lt),
        ("item_cap", item_cap),
        ("min_items", min_items),
        ("max_items", max_items),
        ("unit", unit),
    ):
        if value is not None:
            extra[key] = value
    extra["sweepable"] = sweepable
    if advanced:
        extra["advanced"] = True
    if distinct:
        extra["distinct"] = True
    upper = le if cap is None else (cap if le is None else min(le, cap))
    return Field(
        default,
        description=help,
        ge=ge,
        gt=gt,
        le=upper,
        lt=lt,
        json_schema_extra=extra,
        exclude=exclude or None,
    )


# ------------------------------------------------------------------------------------------------
# reading a declaration back
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldSpec:
    """Everything a surface needs to know about one config field."""

    name: str
    kind: str  # int | float | bool | choice | str | int_list | float_list | <custom kind>
    default: Any
    help: str
    optional: bool = False
    choices: tuple[Any, ...] = ()
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    cap: float | None = None
    item_ge: float | None = None
    item_gt: float | None = None
    item_le: float | None = None
    item_lt: float | None = None
    item_cap: float | None = None
    min_items: int | None = None
    max_items: int | None = None
    distinct: bool = False
    tex: str | None = None
    cite: str | None = None
    web_max: float | None = None
    sweepable: bool = True
    widget: str | None = None
    group: str | None = None
    modes: tuple[str, ...] | None = None
    advanced: bool = False
    cli: str | None = None
    unit: str | None = None
    allowed_override: str | None = None

    @property
    def option(self) -> str:
        """The CLI option name, ``--like-this``."""
        return self.cli or "--" + self.name.replace("_", "-")

    @property
    def is_list(self) -> bool:
        return self.kind in ("int_list", "float_list")

    def allowed(self, *, with_cap: bool = True) -> str:
        """What the field allows, in words: the tail of every one-line error about it.

        ``with_cap=False`` leaves out the resource cap (an error shows it only to a value that
        exceeds it, so ``k: got -1`` reads ``allowed: an integer >= 1``).
        """
        if self.allowed_override:
            return self.allowed_override
        text = _allowed_text(self, with_cap)
        return text + (" or none" if self.optional else "")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (for the web form and the API schema endpoint)."""
        out = {k: v for k, v in self.__dict__.items() if v is not None and k != "allowed_override"}
        out["choices"] = list(self.choices)
        if self.modes is not None:
            out["modes"] = list(self.modes)
        out["option"] = self.option
        out["allowed"] = self.allowed()
        if isinstance(self.default, tuple):
            out["default"] = _jsonable(self.default)
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value


def _bound_text(
    what: str,
    ge: float | None,
    gt: float | None,
    le: float | None,
    lt: float | None,
    cap: float | None,
    integer: bool,
) -> str:
    fmt = _int_text if integer else _num_text
    if integer and ge is not None and le is not None:
        text = f"{what} from {fmt(ge)} to {fmt(le)}"
    else:
        parts = []
        if ge is not None:
            parts.append(f">= {fmt(ge)}")
        if gt is not None:
            parts.append(f"> {fmt(gt)}")
        if le is not None:
            parts.append(f"<= {fmt(le)}")
        if lt is not None:
            parts.append(f"< {fmt(lt)}")
        text = f"{what} " + " and ".join(parts) if parts else what
    if cap is not None and (le is None or cap < le):
        text += f" (at most {fmt(cap)})"
    return text


def _int_text(value: float) -> str:
    value = int(value)
    return f"{value:,}" if abs(value) >= 10_000 else str(value)


def _num_text(value: float) -> str:
    return f"{value:g}"


def _allowed_text(spec: FieldSpec, with_cap: bool = True) -> str:
    if spec.kind == "choice":
        return ", ".join(str(c) for c in spec.choices)
    if spec.kind == "bool":
        return "true or false"
    if spec.kind in ("int", "float"):
        integer = spec.kind == "int"
        what = "an integer" if integer else "a finite number"
        cap = spec.cap if with_cap else None
        return _bound_text(what, spec.ge, spec.gt, spec.le, spec.lt, cap, integer)
    if spec.is_list:
        integer = spec.kind == "int_list"
        what = "integers" if integer else "finite numbers"
        item_cap = spec.item_cap if with_cap else None
        text = "a comma-separated list of " + _bound_text(
            what, spec.item_ge, spec.item_gt, spec.item_le, spec.item_lt, item_cap, integer
        )
        if spec.distinct:
            text = text.replace("list of ", "list of distinct ")
        lo, hi = spec.min_items, spec.max_items
        if lo is not None and hi is not None:
            text += f", {lo} to {hi} entries" if lo != hi else f", exactly {lo} entries"
        elif lo is not None:
            text += f", at least {lo} " + ("entry" if lo == 1 else "entries")
        elif hi is not None:
            text += f", at most {hi} entries"
        return text
    if spec.kind == "str":
        return "a name"
    return spec.help


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the annotation without Annotated/Optional wrappers, whether None is allowed)."""
    optional = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
            continue
        if origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(get_args(annotation))
            if len(args) == 1:
                annotation = args[0]
                continue
            return annotation, optional
        return annotation, optional


def _kind_of(annotation: Any) -> tuple[str, tuple[Any, ...]]:
    origin = get_origin(annotation)
    if origin is Literal:
        return "choice", get_args(annotation)
    if annotation is bool:
        return "bool", ()
    if annotation is int:
        return "int", ()
    if annotation is float:
        return "float", ()
    if annotation is str:
        return "str", ()
    if origin is tuple:
        args = get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            inner, _ = _unwrap(args[0])
            if inner is int:
                return "int_list", ()
            if inner is float:
                return "float_list", ()
    return "custom", ()


def _metadata_bound(info: FieldInfo, name: str) -> float | None:
    for item in info.metadata:
        value = getattr(item, name, None)
        if value is not None:
            return typing.cast(float, value)
    return None


def field_spec(name: str, info: FieldInfo) -> FieldSpec:
    """Read the declaration of one pydantic field back as a :class:`FieldSpec`."""
    annotation, optional = _unwrap(info.annotation)
    kind, choices = _kind_of(annotation)
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    if "kind" in extra:
        kind = typing.cast(str, extra["kind"])
    if "choices" in extra:
        choices = tuple(typing.cast(list[Any], extra["choices"]))
    cap = typing.cast("float | None", extra.get("cap"))
    le = _metadata_bound(info, "le")
    if cap is not None and le is not None and le == cap:
        le = None  # the metadata bound is the cap itself
    elif cap is not None and le is not None and le < cap:
        cap = None
    modes = extra.get("modes")
    default = info.default if info.default is not ... else None
    if default is not None and not isinstance(default, (int, float, str, bool, tuple, list)):
        default = None
    return FieldSpec(
        name=name,
        kind=kind,
        default=default,
        help=info.description or "",
        optional=optional,
        choices=tuple(choices),
        ge=_metadata_bound(info, "ge"),
        gt=_metadata_bound(info, "gt"),
        le=le,
        lt=_metadata_bound(info, "lt"),
        cap=cap,
        item_ge=typing.cast("float | None", extra.get("item_ge")),
        item_gt=typing.cast("float | None", extra.get("item_gt")),
        item_le=typing.cast("float | None", extra.get("item_le")),
        item_lt=typing.cast("float | None", extra.get("item_lt")),
        item_cap=typing.cast("float | None", extra.get("item_cap")),
        min_items=typing.cast("int | None", extra.get("min_items")),
        max_items=typing.cast("int | None", extra.get("max_items")),
        distinct=bool(extra.get("distinct", False)),
        tex=typing.cast("str | None", extra.get("tex")),
        cite=typing.cast("str | None", extra.get("cite")),
        web_max=typing.cast("float | None", extra.get("web_max")),
        sweepable=bool(extra.get("sweepable", True)),
        widget=typing.cast("str | None", extra.get("widget")),
        group=typing.cast("str | None", extra.get("group")),
        modes=tuple(typing.cast(list[str], modes)) if modes is not None else None,
        advanced=bool(extra.get("advanced", False)),
        cli=typing.cast("str | None", extra.get("cli")),
        unit=typing.cast("str | None", extra.get("unit")),
        allowed_override=typing.cast("str | None", extra.get("allowed")),
    )


def is_huge(value: Any) -> bool:
    """Whether a user's value is a number (or numeric text) beyond any field's range."""
    if isinstance(value, _Invalid):
        value = value.value
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) >= INT_LIMIT
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError, AttributeError):
        return isinstance(value, str) and value.strip().lstrip("+-").isdigit()
    return math.isfinite(number) and abs(number) >= INT_LIMIT


def show_value(value: Any, limit: int = 40) -> str:
    """A short repr of a user's value for an error line (long input is cut, never echoed whole)."""
    if isinstance(value, _Invalid):
        value = value.value
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**limit:
        return f"an integer of {len(str(abs(value)))} digits"
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__
        text = f"<{type(value).__name__}>"
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."

"""The base of every experiment's Config: a frozen pydantic model whose fields are declarations.

Subclasses declare fields with :func:`~theoryscope.spec.fields.param`; this base derives the rest:

    Config(**values)         validates; a bad value raises ConfigError("field", "got X; allowed: ...")
    Config.from_dict(data)   the same from a JSON-like mapping (the CLI, the web API, the store)
    config.to_dict()         JSON-ready; ``from_dict(to_dict())`` round-trips
    config.replace(**kw)     a validated copy
    config.config_hash()     stable 16-hex-digit hash (sweeps skip finished runs by it)
    Config.fields()          the :class:`~theoryscope.spec.fields.FieldSpec` of every field
    Config.json_schema()     the JSON schema, declarations included

Every error is one line naming the field and what is allowed, whether pydantic found it (a type
or a bound) or a validator of the subclass did (raising ConfigError itself).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from pydantic_core import PydanticUndefined

from theoryscope.errors import ConfigError
from theoryscope.spec.fields import FieldSpec, field_spec, is_huge, show_value

__all__ = ["CliInput", "ExperimentConfig", "config_error"]


class CliInput:
    """An input the CLI and the web form offer that is not itself a field.

    ``to`` turns the given value into field values (e.g. ``--float64`` -> ``{"dtype":
    "float64"}``); without it the value passes to ``from_dict`` under ``name`` (which the Config's
    ``before`` validator then understands, e.g. ``t_eff`` -> ``steps``).
    """

    def __init__(
        self,
        name: str,
        help: str,
        *,
        flag: bool = False,
        multiple: bool = False,
        option: str | None = None,
        sets: Mapping[str, Any] | None = None,
        tex: str | None = None,
        grid_reader: Any = None,
        grid_defaults: Any = None,
    ) -> None:
        self.name = name
        self.help = help
        self.flag = flag
        self.multiple = multiple
        self.option = option or "--" + name.replace("_", "-")
        self.sets = dict(sets) if sets is not None else None
        self.tex = tex
        #: Reads one grid value of this input (``alpha=1,0,0+0,1,0``); None: not sweepable.
        self.grid_reader = grid_reader
        #: Settings a grid value of this input implies unless given (alpha=1,0 -> d=2).
        self.grid_defaults = grid_defaults

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "help": self.help,
            "flag": self.flag,
            "multiple": self.multiple,
            "option": self.option,
            "sets": self.sets,
            "tex": self.tex,
            "sweepable": self.grid_reader is not None,
        }


class ExperimentConfig(BaseModel):
    """Base class of declared configs (frozen, unknown keys refused)."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_default=True,
        arbitrary_types_allowed=True,
        protected_namespaces=(),
    )

    #: Inputs beyond the fields (shortcuts such as ``--float64`` or ``--t-eff``).
    cli_inputs: ClassVar[tuple[CliInput, ...]] = ()

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as err:
            raise config_error(type(self), err) from None

    # -- construction and serialization --------------------------------------------------------
    @classmethod
    def create(cls, **kwargs: Any) -> Any:
        """Build and validate (alias of the constructor, kept for the Python API)."""
        return cls(**kwargs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Any:
        """Validate a JSON-like mapping; unknown keys are refused with one line."""
        if not isinstance(data, Mapping):
            raise ConfigError("config", f"got {show_value(data)}; allowed: an object of settings")
        return cls(**{str(k): v for k, v in data.items()})

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return self.model_dump(mode="json")

    def replace(self, **changes: Any) -> Any:
        """A copy with some fields changed (validated again)."""
        values = {name: getattr(self, name) for name in type(self).model_fields}
        values.update(changes)
        return type(self)(**values)

    def config_hash(self) -> str:
        """A stable hash of the config (used by sweeps to skip finished runs)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    # -- declarations ---------------------------------------------------------------------------
    @classmethod
    def fields(cls) -> list[FieldSpec]:
        """The declaration of every field, in declaration order."""
        return [field_spec(name, info) for name, info in cls.model_fields.items()]

    @classmethod
    def field(cls, name: str) -> FieldSpec:
        return field_spec(name, cls.model_fields[name])

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON schema of the config, each field's declaration included."""
        return cls.model_json_schema()

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """The default config as a dict."""
        return cls().to_dict()

    # -- generic checks of the declared list bounds -----------------------------------------------
    @field_validator("*", mode="after")
    @classmethod
    def _check_declared_lists(cls, value: Any, info: Any) -> Any:
        name = info.field_name
        if not isinstance(value, tuple) or name not in cls.model_fields:
            return value
        spec = field_spec(name, cls.model_fields[name])
        if not spec.is_list:
            return value
        problem = _list_problem(spec, value)
        if problem is not None:
            raise ConfigError(name, f"{problem}; allowed: {spec.allowed(with_cap=True)}")
        return value


def _list_problem(spec: FieldSpec, value: tuple[Any, ...]) -> str | None:
    n = len(value)
    if spec.min_items is not None and n < spec.min_items:
        return "is empty" if n == 0 else f"has {n} entries"
    if spec.max_items is not None and n > spec.max_items:
        return f"has {n} entries"
    for item in value:
        low_bad = (spec.item_ge is not None and item < spec.item_ge) or (
            spec.item_gt is not None and item <= spec.item_gt
        )
        high = spec.item_le if spec.item_cap is None else spec.item_cap
        if spec.item_le is not None and spec.item_cap is not None:
            high = min(spec.item_le, spec.item_cap)
        high_bad = (high is not None and item > high) or (
            spec.item_lt is not None and item >= spec.item_lt
        )
        if low_bad or high_bad:
            return f"entry {show_value(item)} is out of range"
    if spec.distinct and len(set(value)) != n:
        repeated = next(v for v in value if value.count(v) > 1)
        return f"repeats {show_value(repeated)}"
    return None


def config_error(cls: type[ExperimentConfig], err: ValidationError) -> ConfigError:
    """The first problem pydantic found, as one line naming the field and what is allowed."""
    problems = err.errors(include_url=False)
    if not problems:
        return ConfigError("config", "invalid")
    first = problems[0]
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, ConfigError):
        return cause
    loc = [str(p) for p in first.get("loc", ())]
    name = loc[0] if loc else "config"
    kind = first.get("type", "")
    if kind == "extra_forbidden":
        inputs = [i.name for i in cls.cli_inputs if i.sets is None]
        known = ", ".join(list(cls.model_fields) + inputs)
        return ConfigError(name, f"unknown setting; allowed: {known}")
    if name not in cls.model_fields:
        return ConfigError(name, str(first.get("msg", "invalid")))
    spec = field_spec(name, cls.model_fields[name])
    shown = first.get("input", PydanticUndefined)
    # the resource cap is news only to a value above it
    over = kind in ("less_than_equal", "less_than") or is_huge(shown)
    allowed = spec.allowed(with_cap=over)
    if kind == "missing":
        return ConfigError(name, f"is required; allowed: {allowed}")
    if cause is not None and not isinstance(cause, ConfigError):
        return ConfigError(name, f"{cause}; allowed: {allowed}")
    if len(loc) > 1 and loc[1].isdigit():
        return ConfigError(name, f"entry {show_value(shown)} is not valid; allowed: {allowed}")
    return ConfigError(name, f"got {show_value(shown)}; allowed: {allowed}")

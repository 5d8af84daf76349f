"""Sweep grids: parse ``--grid key=values`` and ``--seeds`` for any declared experiment.

The grid's keys are the experiment's sweepable fields (and the sweepable inputs its Config
declares, e.g. Expander's ``alpha``); how a value is read comes from the field's declaration::

    k=500,1000  lr=0.01,0.1  dtype=float32,float64     scalar fields: values separated by ','
    gamma=0.01,0.1,0.1:0.1                              list fields: values separated by ':',
                                                        entries by ','; without ':' each ','
                                                        item is one scalar value (a one-entry
                                                        list, which e.g. gamma broadcasts)
    alpha=1,0,0:2,0,0  alpha=1,0,0+0,1,0                an input with its own reader

Seeds: ``0-9``, ``0,3,7``, ``0-4,10-12``. A single value is a fixed setting. Fields a sweep must
not vary (``sweepable=False``) are set by their own option (``--mode flow``), never by a grid.

Every error is a :class:`~theoryscope.errors.ConfigError` naming the bad piece and what is
allowed, raised before anything is stored or run.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from theoryscope.errors import ConfigError
from theoryscope.spec.fields import FieldSpec

__all__ = [
    "MAX_POINTS",
    "SweepSpec",
    "build_spec",
    "grid_keys",
    "parse_grid",
    "parse_seeds",
]

MAX_SEEDS = 100_000
MAX_POINTS = 100_000
RESERVED = {"seed": "--seeds", "seeds": "--seeds"}


@dataclass(frozen=True)
class SweepSpec:
    """A user-level sweep: what the command line says. Its hash is the sweep id.

    ``grid`` keeps the given order of keys and values (as parsed Python values); ``fixed`` holds
    the settings every point shares (``--mode flow``, ``--k 500``); ``settings`` the experiment's
    declared sweep settings (Expander's ``t_eff=auto``).
    """

    experiment: str
    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    seeds: tuple[int, ...]
    fixed: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "grid": [[key, [_jsonable(v) for v in values]] for key, values in self.grid],
            "seeds": list(self.seeds),
            "fixed": {k: _jsonable(v) for k, v in self.fixed.items()},
            "settings": {k: _jsonable(v) for k, v in self.settings.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepSpec:
        grid = tuple(
            (str(key), tuple(_from_jsonable(v) for v in values)) for key, values in data["grid"]
        )
        fixed = dict(data.get("fixed") or {})
        settings = dict(data.get("settings") or {})
        # sweeps stored before the generic layer kept mode and t_eff at the top level
        if "mode" in data and "fixed" not in data:
            fixed["mode"] = data["mode"]
        if "t_eff" in data and "settings" not in data:
            settings["t_eff"] = data["t_eff"]
            settings["t_eff_factor"] = data.get("t_eff_factor", 3.0)
        return cls(
            experiment=str(data["experiment"]),
            grid=grid,
            seeds=tuple(int(s) for s in data["seeds"]),
            fixed={k: _from_jsonable(v) for k, v in fixed.items()},
            settings=settings,
        )

    def sweep_id(self) -> str:
        """Deterministic id: the same command line always names the same sweep (resumption)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return "sw-" + hashlib.sha256(blob.encode()).hexdigest()[:10]

    def points(self) -> list[dict[str, Any]]:
        """The grid's Cartesian product over the fixed settings (first key varies slowest)."""
        keys = [key for key, _ in self.grid]
        out = []
        for combo in itertools.product(*(values for _, values in self.grid)):
            point = {k: _listed(v) for k, v in self.fixed.items()}
            point.update({k: _listed(v) for k, v in zip(keys, combo, strict=True)})
            out.append(point)
        return out

    def point_label(self, point: Mapping[str, Any]) -> str:
        """``gamma=0.1 alpha=1,0,0``: the grid's keys of one point (for messages and rows)."""
        return " ".join(f"{key}={show(point.get(key))}" for key, _ in self.grid)

    @property
    def size(self) -> int:
        n = 1
        for _, values in self.grid:
            n *= len(values)
        return n * len(self.seeds)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value


def _from_jsonable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_from_jsonable(v) for v in value)
    return value


def _listed(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_listed(v) for v in value]
    return value


def show(value: Any) -> str:
    """A grid value as the command line writes it: ``1,0,0``, ``1,0+0,1``, ``0.1``."""
    if isinstance(value, (tuple, list)):
        if value and isinstance(value[0], (tuple, list)):
            return "+".join(",".join(str(x) for x in t) for t in value)
        return ",".join(show(x) for x in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# ------------------------------------------------------------------------------------------------
# what can be swept
# ------------------------------------------------------------------------------------------------
#: A reader of one grid value (the text between ':' or ','), raising ConfigError("grid", ...).
Reader = Callable[[str], Any]


def grid_keys(config_cls: Any) -> dict[str, tuple[FieldSpec | None, Reader | None, str]]:
    """Every key a grid may vary: name -> (field spec or None, its input's reader, separator)."""
    keys: dict[str, tuple[FieldSpec | None, Reader | None, str]] = {}
    for spec in config_cls.fields():
        if spec.sweepable and spec.kind in (
            "int", "float", "bool", "choice", "str", "int_list", "float_list",
        ):  # fmt: skip
            keys[spec.name] = (spec, None, ":" if spec.is_list else ",")
    for extra in getattr(config_cls, "cli_inputs", ()):
        reader = getattr(extra, "grid_reader", None)
        if reader is not None:
            keys[extra.name] = (None, reader, ":")
    return keys


def _fixed_only(config_cls: Any) -> dict[str, str]:
    """Fields set by their own option and never by a grid: name -> option."""
    return {spec.name: spec.option for spec in config_cls.fields() if not spec.sweepable}


def _number(key: str, text: str, kind: str) -> Any:
    text = text.strip()
    if not text:
        raise ConfigError("grid", f"{key}: empty value; allowed: {_kind_name(kind)} values")
    try:
        if kind == "int":
            value = float(text)
            if value != int(value):
                raise ValueError
            return int(value)
        if kind == "float":
            return float(text)
    except (ValueError, OverflowError):
        raise ConfigError(
            "grid", f"{key}: {text!r} is not {_kind_name(kind)}; allowed: e.g. {key}=1,2,3"
        ) from None
    if kind == "bool":
        lowered = text.lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        raise ConfigError("grid", f"{key}: {text!r} is not true or false")
    return text


def _kind_name(kind: str) -> str:
    return {"int": "an integer", "float": "a number", "bool": "true or false"}.get(kind, "a name")


def _values(key: str, text: str, spec: FieldSpec | None, reader: Reader | None) -> list[Any]:
    if reader is not None:
        return [reader(v) for v in text.split(":")]
    assert spec is not None
    if spec.is_list:
        kind = "int" if spec.kind == "int_list" else "float"
        if ":" in text:
            return [tuple(_number(key, p, kind) for p in v.split(",")) for v in text.split(":")]
        return [_number(key, v, kind) for v in text.split(",")]  # one-entry values, as scalars
    return [_number(key, v, spec.kind) for v in text.split(",")]


def parse_grid_item(item: str, config_cls: Any) -> tuple[str, tuple[Any, ...]]:
    """One ``key=v1,v2`` argument -> (key, values)."""
    if "=" not in item:
        raise ConfigError("grid", f"{item!r} has no '='; allowed: key=v1,v2,... (e.g. lr=0.01,0.1)")
    key, _, text = item.partition("=")
    key = key.strip().replace("-", "_")
    text = text.strip()
    keys = grid_keys(config_cls)
    if key in RESERVED:
        raise ConfigError("grid", f"{key} is set by {RESERVED[key]}, not by --grid")
    fixed = _fixed_only(config_cls)
    if key in fixed:
        raise ConfigError("grid", f"{key} is set by {fixed[key]}, not by --grid")
    if key not in keys:
        raise ConfigError("grid", f"unknown key {key!r}; allowed: {', '.join(sorted(keys))}")
    if not text:
        raise ConfigError("grid", f"{key}: no values; allowed: {key}=v1,v2,...")
    spec, reader, _ = keys[key]
    values = _values(key, text, spec, reader)
    if len(set(map(repr, values))) != len(values):
        reprs = [repr(v) for v in values]
        dup = next(v for v, r in zip(values, reprs, strict=True) if reprs.count(r) > 1)
        raise ConfigError("grid", f"{key}: value {show(dup)} is repeated; allowed: distinct values")
    return key, tuple(values)


def parse_grid(items: Sequence[str], config_cls: Any) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """Every ``--grid`` argument, in order; a key given twice is an error."""
    grid: list[tuple[str, tuple[Any, ...]]] = []
    seen: set[str] = set()
    for item in items:
        key, values = parse_grid_item(item, config_cls)
        if key in seen:
            raise ConfigError("grid", f"{key} given twice; allowed: one --grid per key")
        seen.add(key)
        grid.append((key, values))
    return tuple(grid)


def parse_seeds(text: str) -> tuple[int, ...]:
    """``0-9`` / ``0,3,7`` / ``0-4,10-12`` -> sorted distinct seeds."""
    seeds: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        lo_text, dash, hi_text = part.partition("-")
        try:
            if len(part) > 40:
                raise ValueError
            lo = int(lo_text)
            hi = int(hi_text) if dash else lo
        except ValueError:
            raise ConfigError(
                "seeds", f"{part[:40]!r} is not a seed or range; allowed: e.g. 0-9 or 0,3,7"
            ) from None
        if lo < 0 or hi > 2**31 - 1:
            raise ConfigError("seeds", f"{part!r} out of range; allowed: 0..2147483647")
        if hi < lo:
            raise ConfigError("seeds", f"range {part!r} runs backwards; allowed: LOW-HIGH")
        if len(seeds) + hi - lo + 1 > MAX_SEEDS:
            raise ConfigError("seeds", f"more than {MAX_SEEDS} seeds")
        seeds.extend(range(lo, hi + 1))
    if len(set(seeds)) != len(seeds):
        raise ConfigError("seeds", f"{text!r} lists a seed twice; allowed: distinct seeds")
    return tuple(sorted(seeds))


def build_spec(
    experiment: str,
    grid_items: Sequence[str],
    seeds: str,
    *,
    fixed: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> SweepSpec:
    """Parse a command line's pieces into a :class:`SweepSpec` (validated, nothing run)."""
    from theoryscope.protocol import get_experiment

    exp = get_experiment(experiment)
    if exp.config is None:
        raise ConfigError("experiment", f"{experiment} declares no config; it cannot be swept")
    known = set(exp.hooks.sweep_settings)
    for name in settings or {}:
        if name not in known:
            raise ConfigError(
                name,
                f"is not a sweep setting of {experiment}; allowed: {', '.join(known) or 'none'}",
            )
    spec = SweepSpec(
        experiment=experiment,
        grid=parse_grid(grid_items, exp.config),
        seeds=parse_seeds(seeds),
        fixed=dict(fixed or {}),
        settings=dict(settings or {}),
    )
    if spec.size > MAX_POINTS:
        raise ConfigError(
            "grid", f"{spec.size // len(spec.seeds)} points x {len(spec.seeds)} seeds is over "
            f"{MAX_POINTS} runs",
        )  # fmt: skip
    return spec

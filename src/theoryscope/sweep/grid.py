"""Sweep grids: parse ``--grid key=values`` and ``--seeds`` and expand them into run points.

Grammar (one ``--grid`` per key; every key at most once)::

    gamma=0.001,0.003,0.01          scalar keys: values separated by ','
    alpha=1,0,0:2,0,0:1,1,0         vector keys: values separated by ':', components by ','
    alpha=1,0,0+0,2,0               '+' joins several target terms into one value
    gamma=0.01,0.1,0.1:0.1          a ':' in gamma switches it to per-dimension vectors
    k=500,1000  lr=0.01  batch=100  d=3  dtype=float32,float64  ...

Seeds: ``0-9``, ``0,3,7``, ``0-4,10-12``. A single value is a fixed setting.

Every error is a :class:`~theoryscope.errors.ConfigError` naming the bad piece and what is
allowed, raised before anything is stored or run.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from theoryscope.errors import ConfigError

#: Keys a grid may vary, with how their values are read.
SCALAR_KEYS = {
    "d": int,
    "k": int,
    "lr": float,
    "batch": int,
    "steps": int,
    "records": int,
    "ema_window": int,
    "holdout": int,
    "b0": float,
    "nonlinearity": str,
    "dtype": str,
}
VECTOR_KEYS = ("alpha", "gamma")
GRID_KEYS = tuple(sorted([*SCALAR_KEYS, *VECTOR_KEYS]))
#: Keys set by their own option rather than by a grid.
RESERVED = {"mode": "--mode", "t_eff": "--t-eff", "seed": "--seeds", "seeds": "--seeds"}
MAX_SEEDS = 100_000
MAX_POINTS = 100_000


@dataclass(frozen=True)
class SweepSpec:
    """A user-level sweep: what the command line says. Its hash is the sweep id.

    ``grid`` keeps the given order of keys and values (as parsed Python values); ``t_eff`` is
    ``"auto"``, a number, or ``None`` (the config's own ``steps``).
    """

    experiment: str
    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    seeds: tuple[int, ...]
    mode: str = "sgd"
    t_eff: str | float | None = "auto"
    t_eff_factor: float = 3.0
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "grid": [[key, [_jsonable(v) for v in values]] for key, values in self.grid],
            "seeds": list(self.seeds),
            "mode": self.mode,
            "t_eff": self.t_eff,
            "t_eff_factor": self.t_eff_factor,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepSpec:
        grid = tuple(
            (str(key), tuple(_from_jsonable(key, v) for v in values))
            for key, values in data["grid"]
        )
        return cls(
            experiment=str(data["experiment"]),
            grid=grid,
            seeds=tuple(int(s) for s in data["seeds"]),
            mode=str(data.get("mode", "sgd")),
            t_eff=data.get("t_eff", "auto"),
            t_eff_factor=float(data.get("t_eff_factor", 3.0)),
            extra=dict(data.get("extra") or {}),
        )

    def sweep_id(self) -> str:
        """Deterministic id: the same command line always names the same sweep (resumption)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return "sw-" + hashlib.sha256(blob.encode()).hexdigest()[:10]

    def points(self) -> list[dict[str, Any]]:
        """The grid's Cartesian product as config keyword dicts (first key varies slowest)."""
        keys = [key for key, _ in self.grid]
        out = []
        for combo in itertools.product(*(values for _, values in self.grid)):
            kw = dict(zip(keys, combo, strict=True))
            out.append(point_kwargs(kw, self.mode))
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def _from_jsonable(key: str, value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_from_jsonable(key, v) for v in value)
    return value


def point_kwargs(kw: Mapping[str, Any], mode: str) -> dict[str, Any]:
    """Keyword arguments for ``Config.create`` of one grid point (d inferred from alpha)."""
    out: dict[str, Any] = {}
    for key, value in kw.items():
        if key == "alpha":
            out["alpha"] = [list(term) for term in value]
        elif key == "gamma":
            out["gamma"] = list(value) if isinstance(value, tuple) else value
        else:
            out[key] = value
    if "d" not in out and "alpha" in out:
        out["d"] = len(out["alpha"][0])
    out["mode"] = mode
    return out


# -- parsing ----------------------------------------------------------------------------------
def _number(key: str, text: str, kind: type) -> Any:
    text = text.strip()
    if not text:
        raise ConfigError("grid", f"{key}: empty value; allowed: {_kind_name(kind)} values")
    try:
        if kind is int:
            value = float(text)
            if value != int(value):
                raise ValueError
            return int(value)
        if kind is float:
            return float(text)
    except (ValueError, OverflowError):
        raise ConfigError(
            "grid", f"{key}: {text!r} is not {_kind_name(kind)}; allowed: e.g. {key}=1,2,3"
        ) from None
    return text


def _kind_name(kind: type) -> str:
    return {int: "an integer", float: "a number", str: "a name"}[kind]


def _alpha_value(text: str) -> tuple[tuple[int, ...], ...]:
    terms = []
    for term in text.split("+"):
        parts = term.split(",")
        if not term.strip() or any(not p.strip() for p in parts):
            raise ConfigError(
                "grid",
                f"alpha: {text!r} has an empty entry; allowed: multi-indices like 1,1,0 "
                "separated by ':' (e.g. alpha=1,0,0:2,1,0)",
            )
        terms.append(tuple(_number("alpha", p, int) for p in parts))
    lengths = {len(t) for t in terms}
    if len(lengths) != 1:
        raise ConfigError("grid", f"alpha: terms of {text!r} differ in length; allowed: equal d")
    if any(v < 0 for t in terms for v in t):
        raise ConfigError("grid", f"alpha: {text!r} has a negative entry; allowed: integers >= 0")
    return tuple(terms)


def parse_grid_item(item: str) -> tuple[str, tuple[Any, ...]]:
    """One ``key=v1,v2`` argument -> (key, values)."""
    if "=" not in item:
        raise ConfigError(
            "grid", f"{item!r} has no '='; allowed: key=v1,v2,... (e.g. gamma=0.01,0.1)"
        )
    key, _, text = item.partition("=")
    key = key.strip().replace("-", "_")
    text = text.strip()
    if key in RESERVED:
        raise ConfigError("grid", f"{key} is set by {RESERVED[key]}, not by --grid")
    if key not in GRID_KEYS:
        raise ConfigError("grid", f"unknown key {key!r}; allowed: {', '.join(GRID_KEYS)}")
    if not text:
        raise ConfigError("grid", f"{key}: no values; allowed: {key}=v1,v2,...")
    values: list[Any]
    if key == "alpha":
        values = [_alpha_value(v) for v in text.split(":")]
    elif key == "gamma" and ":" in text:
        values = [tuple(_number("gamma", p, float) for p in v.split(",")) for v in text.split(":")]
    else:
        kind = float if key == "gamma" else SCALAR_KEYS[key]
        values = [_number(key, v, kind) for v in text.split(",")]
    if len(set(values)) != len(values):
        dup = next(v for v in values if values.count(v) > 1)
        raise ConfigError(
            "grid", f"{key}: value {_show(dup)} is repeated; allowed: distinct values"
        )
    return key, tuple(values)


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        if value and isinstance(value[0], tuple):
            return "+".join(",".join(str(x) for x in t) for t in value)
        return ",".join(str(x) for x in value)
    return str(value)


def parse_grid(items: Sequence[str]) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """Every ``--grid`` argument, in order; a key given twice is an error."""
    grid: list[tuple[str, tuple[Any, ...]]] = []
    seen: set[str] = set()
    for item in items:
        key, values = parse_grid_item(item)
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
            lo = int(lo_text)
            hi = int(hi_text) if dash else lo
        except ValueError:
            raise ConfigError(
                "seeds", f"{part!r} is not a seed or range; allowed: e.g. 0-9 or 0,3,7"
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


def parse_t_eff(text: str | None) -> str | float | None:
    """``auto``, a positive number, or None (``steps``: keep each config's own steps)."""
    if text is None or str(text).strip().lower() == "steps":
        return None
    if str(text).strip().lower() == "auto":
        return "auto"
    from theoryscope.core.validation import as_float

    return as_float("t_eff", text, low=0.0, low_open=True)


def build_spec(
    experiment: str,
    grid_items: Sequence[str],
    seeds: str,
    *,
    mode: str = "sgd",
    t_eff: str | None = "auto",
    t_eff_factor: float = 3.0,
) -> SweepSpec:
    """Parse a command line's pieces into a :class:`SweepSpec` (validated, nothing run)."""
    spec = SweepSpec(
        experiment=experiment,
        grid=parse_grid(grid_items),
        seeds=parse_seeds(seeds),
        mode=mode,
        t_eff=parse_t_eff(t_eff),
        t_eff_factor=float(t_eff_factor),
    )
    n = 1
    for _, values in spec.grid:
        n *= len(values)
    if n * len(spec.seeds) > MAX_POINTS:
        raise ConfigError("grid", f"{n} points x {len(spec.seeds)} seeds is over {MAX_POINTS} runs")
    return spec

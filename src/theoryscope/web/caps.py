"""Validating a web request against an experiment's declarations plus this server's caps.

    config = parse_declared(experiment, raw, limits, seed)

does what the CLI does (``Config.from_dict``, fields that follow the seed), then what only the
server adds: every field's declared ``web_max`` (per entry for lists), a cap on list lengths,
the experiment's own extra checks (``Hooks.check``) and the declared cost estimate against
``limits.max_run_seconds`` (:func:`theoryscope.runner.check_cost`). Every refusal is a
:class:`~theoryscope.errors.ConfigError` naming the field, answered as 422 ``{error, field}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from theoryscope.core.resources import format_bytes, format_seconds
from theoryscope.errors import ConfigError
from theoryscope.protocol import Experiment
from theoryscope.runner import check_cost
from theoryscope.spec.declare import Estimate, Study
from theoryscope.spec.fields import FieldSpec
from theoryscope.web.flagship import server_checks
from theoryscope.web.limits import Limits

__all__ = [
    "check_web_caps",
    "cost_text",
    "estimate_payload",
    "parse_declared",
    "parse_study_params",
    "require_declared",
]


def require_declared(experiment: Experiment) -> type:
    """The experiment's declared Config class, or a 422 saying it has none yet."""
    if experiment.config is None:
        raise ConfigError(
            "experiment",
            f"{experiment.name!r} is not yet declared (no Config declaration); allowed: a"
            " declared experiment, see GET /api/experiments",
        )
    return experiment.config


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return None


def _cap_text(value: float) -> str:
    """``200,000`` for a whole number of a readable size, ``1e+30`` or ``0.5`` otherwise."""
    return f"{int(value):,}" if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


def _refuse_above_cap(spec: FieldSpec, value: Any) -> None:
    """A single number above the field's ``web_max``: a ConfigError stating this server's cap."""
    number = _number(value)
    if spec.web_max is not None and number is not None and number > spec.web_max:
        raise ConfigError(
            spec.name,
            f"{_cap_text(number)} is above this server's cap; allowed: <= {_cap_text(spec.web_max)}",
        )


def check_web_caps(config_cls: type, config: Any, limits: Limits) -> None:
    """Each field's declared ``web_max`` (every entry of a list) and the list-length cap."""
    specs: list[FieldSpec] = config_cls.fields()  # type: ignore[attr-defined]
    for spec in specs:
        value = getattr(config, spec.name, None)
        if value is None:
            continue
        if isinstance(value, (tuple, list)):
            if len(value) > limits.max_list_items:
                raise ConfigError(
                    spec.name,
                    f"has {len(value)} entries, above this server's cap; allowed: at most"
                    f" {limits.max_list_items} entries",
                )
            if spec.web_max is not None:
                for item in value:
                    number = _number(item)
                    if number is not None and number > spec.web_max:
                        raise ConfigError(
                            spec.name,
                            f"entry {item!r} is above this server's cap; allowed: entries <="
                            f" {_cap_text(spec.web_max)}",
                        )
            continue
        _refuse_above_cap(spec, value)


def _with_seed(config_cls: type, raw: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """The raw values with the fields that follow the run seed filled in (as the CLI does)."""
    out = {str(k): v for k, v in raw.items()}
    for name in getattr(config_cls, "follows_seed", ()):
        if out.get(name) in (None, ""):
            out[name] = seed
    return out


def _raw_above_cap(config_cls: type, raw: Mapping[str, Any]) -> None:
    """A plain number above a field's ``web_max`` is refused with this server's cap before the
    Config sees it, so the error states the cap the page shows, not a looser model bound."""
    for spec in config_cls.fields():  # type: ignore[attr-defined]
        _refuse_above_cap(spec, raw.get(spec.name))


def _from_dict(config_cls: type, raw: Any, seed: int, what: str) -> Any:
    if not isinstance(raw, Mapping):
        raise ConfigError(what, "must be a JSON object of settings")
    _raw_above_cap(config_cls, raw)
    try:
        return config_cls.from_dict(_with_seed(config_cls, raw, seed))  # type: ignore[attr-defined]
    except ConfigError:
        raise
    except (TypeError, KeyError, ValueError, AttributeError) as err:
        raise ConfigError(what, f"malformed setting ({type(err).__name__}: {err})") from None


def parse_declared(
    experiment: Experiment, raw: Any, limits: Limits, seed: int = 0, *, cost: bool = True
) -> Any:
    """Validate a config dict for ``experiment`` with the CLI's rules and this server's caps."""
    config_cls = require_declared(experiment)
    config = _from_dict(config_cls, raw, seed, "config")
    check_web_caps(config_cls, config, limits)
    extra = server_checks(experiment.name)
    if extra is not None:
        extra(config, limits)
    if experiment.hooks.check is not None:
        experiment.hooks.check(config)
    if cost:
        check_cost(experiment, config, max_seconds=limits.max_run_seconds)
    return config


def parse_study_params(study: Study, raw: Any, limits: Limits, seed: int = 0) -> Any:
    """Validate a study's parameters: its declared params model, web caps, cost estimate."""
    params = _from_dict(study.params, raw, seed, "params")
    check_web_caps(study.params, params, limits)
    if study.estimate is not None:
        estimate = study.estimate(params)
        fields = ", ".join(estimate.fields) or "params"
        if not estimate.seconds <= limits.max_run_seconds:
            raise ConfigError(
                fields,
                f"this study would take about {format_seconds(estimate.seconds)}; allowed: at"
                f" most {format_seconds(limits.max_run_seconds)} on this server (smaller"
                f" {fields})",
            )
    return params


def cost_text(estimate: Estimate | None) -> str | None:
    """``about 3.2s, 61.1 MB`` for the page's cost line (None without an estimate)."""
    if estimate is None:
        return None
    seconds = estimate.seconds
    when = "under 0.1s" if seconds < 0.1 else f"about {format_seconds(seconds)}"
    text = f"{when}, {format_bytes(estimate.memory_bytes)} of memory"
    return text + (f" ({estimate.note})" if estimate.note else "")


def estimate_payload(estimate: Estimate | None) -> dict[str, Any]:
    """``{"estimate": {...} | None, "eta": "<human text>" | None}``."""
    return {
        "estimate": estimate.to_dict() if estimate is not None else None,
        "eta": cost_text(estimate),
    }

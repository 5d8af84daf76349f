"""What Expander Nets shows and how it is swept: figures, metrics, presets, cost, hooks.

Read by every surface (CLI, web page, sweeps, reports); nothing heavy is imported at module
level. The hand-tuned web lab (``static/index.html``) reads the same schema.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from theoryscope.errors import ConfigError
from theoryscope.experiments.expander.config import SPEC, Config
from theoryscope.spec import (
    Curve,
    Estimate,
    Figure,
    Hooks,
    Marker,
    Metric,
    Panel,
    Preset,
    Report,
    SweepPreset,
)

PAGE = "the Expander Nets page (seed 000)"

FIGURES = (
    Figure(
        name="training",
        title="Expander Nets: the run and the modeling ODE",
        panels=(
            Panel(
                title="loss",
                x_label="t_eff = eta * step",
                y_label="loss",
                x_log=True,
                y_log=True,
                curves=(
                    Curve(y="series.loss_population", x="series.t_eff", label="population loss",
                          color=7),
                    Curve(y="series.loss_ema", x="series.t_eff", label="EMA minibatch loss",
                          color=5, when={"mode": ["sgd"]}),
                    Curve(y="theory.ode.loss", x="theory.ode.t", label="ODE loss",
                          style="dashed", color=7),
                    Curve(y="series.term_loss", x="series.t_eff", label="term {i}", columns=True),
                    Curve(y="theory.ode.term_loss", x="theory.ode.t", label="term {i} ODE",
                          style="dashed", columns=True),
                ),
                markers=(
                    Marker(at="theory.terms.*.t_rise", label="t_rise (ODE)", each=True),
                    Marker(at="agreement.terms.*.t_half_sim", label="t_half measured", each=True),
                ),
            ),
            Panel(
                title="parameter size",
                x_label="t_eff = eta * step",
                y_label="value",
                x_log=True,
                curves=(
                    Curve(y="series.W1", x="series.t_eff", label="W1[{i},{i}]", columns=True,
                          transform="diag"),
                    Curve(y="theory.ode.a", x="theory.ode.t", label="ODE a_{i}", style="dashed",
                          columns=True),
                    Curve(y="series.w2_scaled_norm", x="series.t_eff", label="sqrt(k) |W2|",
                          color=7),
                    Curve(y="theory.ode.b_norm", x="theory.ode.t", label="ODE |b|",
                          style="dashed", color=7),
                ),
            ),
        ),
    ),
)  # fmt: skip

METRICS = (
    Metric("t_half_ode", "t_half, alpha={alpha}: run / ODE", "agreement.terms.*.t_half_sim",
           "agreement.terms.*.t_half_ode", tex=r"t_{1/2}", cite=f"{SPEC} 6", good=0.35),
    Metric("t_rise", "t_half, alpha={alpha}: run / t_rise", "agreement.terms.*.t_half_sim",
           "agreement.terms.*.t_rise", tex=r"t_{\mathrm{rise}}", cite=f"{SPEC} 6"),
    Metric("loss_final", "final population loss", "agreement.loss_population_final",
           cite=f"{SPEC} 4"),
)  # fmt: skip

PRESETS = (
    Preset("page", "The page's defaults: h1(x1) h1(x2), gamma = 0.01",
           {"d": 3, "k": 1000, "gamma": 0.01, "alpha": ["1,1,0"], "lr": 0.01, "batch": 100,
            "t_eff": 400}, cite=PAGE),
    Preset("rise-time", "A slow term: h2(x1) h1(x2), exact population flow",
           {"d": 3, "k": 1000, "gamma": 0.01, "alpha": ["2,1,0"], "mode": "flow", "t_eff": 3000},
           cite=f"{SPEC} 6"),
    Preset("two-terms", "Two terms with coefficients",
           {"d": 3, "k": 1000, "gamma": 0.01, "alpha": ["1,0,0", "0,2,0"], "coef": [1.0, 0.5],
            "t_eff": 2000}, cite=f"{SPEC} 2"),
    Preset("tiny", "A run of a second", {"d": 3, "k": 40, "batch": 20, "gamma": 0.05,
           "steps": 300, "records": 30}),
)  # fmt: skip


def estimate(config: Config) -> Estimate:
    """Memory and time before the run starts, from the shapes (:func:`.cost.estimate`, calibrated
    on the 2-core machine; rough, within about 3x)."""
    from theoryscope.experiments.expander.cost import estimate as cost_estimate

    found = cost_estimate(config)
    note = f"records by {found['record_method']}" if found.get("record_method") else ""
    return Estimate(memory_bytes=float(found["memory_bytes"]), seconds=float(found["seconds"]),
                    fields=("k", "batch"), note=note)  # fmt: skip


def check(config: Config) -> None:
    """flow / gd need the exact population loss, which exists for sqrt2cos only (spec 4)."""
    if config.mode != "sgd" and not config.uses_default_nonlinearity:
        raise ConfigError(
            "mode",
            f"{config.mode!r} needs the exact population loss, which exists for the default"
            f" nonlinearity only; allowed: sgd with {config.nonlinearity_name!r}",
        )


def auto_t_eff(theory_dict: Mapping[str, Any], factor: float) -> float | None:
    """factor x max over terms of max(t_half_ode, t_rise), finite values only (None if none)."""
    times = []
    for term in theory_dict.get("terms", []):
        for key in ("t_half_ode", "t_rise"):
            v = term.get(key)
            if v is not None and math.isfinite(float(v)) and float(v) > 0:
                times.append(float(v))
    return factor * max(times) if times else None


def plan_point(
    config: Config, theory_dict: Mapping[str, Any], settings: Mapping[str, Any]
) -> Config:
    """Resolve a sweep's ``t_eff`` for one grid point: ``auto`` runs to ``t_eff_factor`` x the
    latest predicted time (t_half_ode or t_rise) of any term; a number runs to that time;
    ``steps`` keeps the config's own steps. Without a ``t_eff`` setting it is ``auto``, unless
    the sweep fixes or grids ``steps`` itself (``settings["given"]`` lists those keys)."""
    from theoryscope.core.validation import as_float

    default = "steps" if "steps" in settings.get("given", ()) else "auto"
    t_eff = settings.get("t_eff", default)
    t_eff = t_eff.strip().lower() if isinstance(t_eff, str) else t_eff
    if t_eff is None or t_eff == "steps":
        return config
    if t_eff == "auto":
        factor = as_float("t_eff_factor", settings.get("t_eff_factor", 3.0), low=0.0,
                          low_open=True)  # fmt: skip
        t = auto_t_eff(theory_dict, factor)
        if t is None:
            raise ConfigError("t_eff", "auto: the theory predicts no finite time here")
        return Config.from_dict({**config.to_dict(), "steps": None, "t_eff": t})
    return Config.from_dict({**config.to_dict(), "steps": None, "t_eff": t_eff})


def simulate_seeds(config: Config, seeds: Any) -> list[Any]:
    """Several SGD seeds of one config as one vmapped computation (population modes: one by
    one, nothing to batch)."""
    from theoryscope.experiments.expander.batched import simulate_seeds as batched

    return batched(config, list(seeds))


def describe(config: Mapping[str, Any]) -> dict[str, Any]:
    """A config's columns in sweep tables: alpha (terms joined by '+'), gamma (one value when
    all equal), k, d, lr, batch, mode and t_eff = lr * steps."""
    terms = config.get("terms") or []
    gamma = list(config.get("gamma") or [])
    return {
        "alpha": "+".join(",".join(str(a) for a in t["alpha"]) for t in terms),
        "gamma": f"{gamma[0]:g}"
        if gamma and all(g == gamma[0] for g in gamma)
        else ",".join(f"{g:g}" for g in gamma),
        "k": config.get("k"),
        "d": config.get("d"),
        "lr": config.get("lr"),
        "batch": config.get("batch"),
        "mode": config.get("mode"),
        "t_eff": float(config.get("lr", 0.0)) * float(config.get("steps", 0)),
    }


SWEEPS = (
    SweepPreset(
        "rise-time",
        "Where does the small-gamma theory of the rise time hold? Six targets over five gammas, "
        "exact population flow, each run to 3 x its predicted rise (about 5 minutes on 2 cores)",
        grid=("gamma=0.001,0.003,0.01,0.03,0.1", "alpha=1,0,0:2,0,0:1,1,0:3,0,0:2,1,0:1,1,1",
              "k=500", "records=150"),
        seeds="0-2", fixed={"mode": "flow"}, settings={"t_eff": "auto"}, cite=f"{SPEC} 6",
    ),
)  # fmt: skip


def write_rise_time(
    store: Any, sweep_id: str, out_dir: Any, figure_path: Any = None, *, force: bool = False
) -> dict[str, Any]:
    """The rise-time report of a sweep (see :mod:`.report`)."""
    from theoryscope.experiments.expander.report import write_report
    from theoryscope.sweep.table import sweep_rows

    return write_report(sweep_rows(store, sweep_id), out_dir, sweep_id=sweep_id,
                        figure_path=figure_path, force=force)  # fmt: skip


REPORTS = (
    Report(
        "rise-time", "Measured half-loss time against the modeling ODE and t_rise", write_rise_time
    ),
)

HOOKS = Hooks(
    describe=describe,
    simulate_seeds=simulate_seeds,
    plan_point=plan_point,
    sweep_settings={
        "t_eff": "auto (t_eff_factor x the latest predicted time of any term), a time, or "
        "steps (each config's own)",
        "t_eff_factor": "the factor of t_eff=auto (default 3)",
    },
    check=check,
    page="index.html",
    batch_when={"mode": ["sgd"]},
)

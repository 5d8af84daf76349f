"""``theoryscope expander``: run Expander Nets (spec expander-nets.md) and print its theory."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import typer

from theoryscope.cli.common import (
    STORE_HELP,
    emit_json,
    execute_stored,
    exit_with_run_status,
    parse_seed,
)
from theoryscope.errors import ConfigError
from theoryscope.experiments.expander.config import MODES_ALLOWED, NONLINEARITIES, Config

app = typer.Typer(
    help="Expander Nets: a frozen random layer learning a Hermite-product target.",
    no_args_is_help=True,
)


def _gamma(text: str) -> Any:
    parts = [p for p in text.split(",")]
    return parts[0] if len(parts) == 1 else parts


def build_config(
    *,
    d: str,
    k: str | None,
    gamma: str,
    alpha: list[str] | None,
    coef: list[str] | None,
    lr: str | None,
    batch: str | None,
    steps: str | None,
    t_eff: str | None,
    nonlinearity: str | None = None,
    float64: bool = False,
    mode: str | None = None,
    records: str | None = None,
    ema: str | None = None,
) -> Config:
    """Turn CLI strings into a validated Config (all range checks live in Config)."""
    if steps is not None and t_eff is not None:
        raise ConfigError(
            "steps", "given together with --t-eff; allowed: one of --steps or --t-eff"
        )
    kwargs: dict[str, Any] = {"d": d, "gamma": _gamma(gamma)}
    for name, value in (
        ("k", k),
        ("lr", lr),
        ("batch", batch),
        ("steps", steps),
        ("nonlinearity", nonlinearity),
        ("mode", mode),
        ("records", records),
        ("ema_window", ema),
    ):
        if value is not None:
            kwargs[name] = value
    if alpha:
        kwargs["alpha"] = list(alpha)
    if coef:
        kwargs["coef"] = [_float("coef", c) for c in coef]
    if float64:
        kwargs["dtype"] = "float64"
    # d must be an int before the default alpha is built from it
    from theoryscope.core.validation import as_int

    kwargs["d"] = as_int("d", d, low=1)
    return Config.create(t_eff=t_eff, **kwargs)


def _float(field: str, text: str) -> float:
    from theoryscope.core.validation import as_float

    return as_float(field, text)


@app.command("run")
def run_command(
    d: str = typer.Option("3", "--d", help="Input dimension d >= 1."),
    k: str = typer.Option("1000", "--k", help="Width of the frozen layer, k >= 1."),
    gamma: str = typer.Option(
        "0.1", "--gamma", help="Data variances: one value for all, or d comma-separated."
    ),
    alpha: list[str] = typer.Option(
        None,
        "--alpha",
        help="A target term's multi-index, e.g. 1,1,0 (repeat for more terms). Default 1,1,0,...",
    ),
    coef: list[str] = typer.Option(
        None, "--coef", help="Coefficient of each term (repeat, one per --alpha)."
    ),
    lr: str = typer.Option("0.01", "--lr", help="Learning rate eta > 0 (W2 uses eta/k)."),
    batch: str = typer.Option("100", "--batch", help="Minibatch size |B| >= 1."),
    steps: str = typer.Option(None, "--steps", help="Number of SGD steps (default 20000)."),
    t_eff: str = typer.Option(
        None, "--t-eff", help="Run to continuous time t_eff = eta * steps instead."
    ),
    seed: str = typer.Option(
        "0", "--seed", help="PRNG seed: the same seed reproduces the run bit for bit."
    ),
    nonlinearity: str = typer.Option(
        "sqrt2cos", "--nonlinearity", help="One of: " + ", ".join(NONLINEARITIES)
    ),
    float64: bool = typer.Option(False, "--float64", help="Compute in float64 (default float32)."),
    mode: str = typer.Option(
        "sgd", "--mode", help="sgd (online SGD), flow or gd (exact population dynamics)."
    ),
    records: str = typer.Option(None, "--records", help="Number of recorded points (log-spaced)."),
    ema: str = typer.Option(
        None, "--ema", help="EMA window of the minibatch loss (0 = off; default 100)."
    ),
    out: Path = typer.Option(
        Path("theoryscope-out"), "--out", help="Directory for the PNG figure."
    ),
    figure: bool = typer.Option(True, "--figure/--no-figure", help="Write the PNG figure."),
    x_axis: str = typer.Option("t_eff", "--x", help="Figure x axis: step or t_eff."),
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON object instead of the summary."
    ),
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """Train one network, store the run, write its figure and print how run and theory agree."""
    from theoryscope.core.validation import as_choice

    config = build_config(
        d=d, k=k, gamma=gamma, alpha=alpha, coef=coef, lr=lr, batch=batch, steps=steps, t_eff=t_eff,
        nonlinearity=nonlinearity, float64=float64, mode=mode, records=records, ema=ema,
    )  # fmt: skip
    seed_value = parse_seed(seed)
    as_choice("x", x_axis, ("step", "t_eff"))
    if mode not in MODES_ALLOWED:
        raise ConfigError("mode", f"got {mode!r}; allowed: {', '.join(MODES_ALLOWED)}")
    result, wall = execute_stored("expander", config, seed_value, store_path)
    run = result.run
    figure_path = None
    if figure and len(run.series.get("step", ())) > 0:
        from theoryscope.experiments.expander.plots import plot_run, save_figure

        fig = plot_run(run, result.theory, x=x_axis)
        figure_path = out / f"expander-{result.run_id}.png"
        save_figure(fig, figure_path)
    payload = run_payload(result.run_id, run, result.agreement, figure_path, wall)
    if as_json:
        emit_json(payload)
    else:
        print_summary(payload, config)
    exit_with_run_status(result.run_id, run.status, run.message)


def run_payload(
    run_id: str | None, run: Any, agreement: dict[str, Any], figure_path: Path | None, wall: float
) -> dict[str, Any]:
    """The ``--json`` object (keys relied on by scripts: see the README)."""
    series = run.series
    final: dict[str, Any] = {}
    if len(series.get("step", ())) > 0:
        final = {
            "step": int(series["step"][-1]),
            "t_eff": float(series["t_eff"][-1]),
            "loss_batch_ema": float(series["loss_ema"][-1]),
            "loss_population": float(series["loss_population"][-1]),
            "W1": np.asarray(series["W1"][-1]).tolist(),
            "w2_scaled_norm": float(series["w2_scaled_norm"][-1]),
        }
    return {
        "run_id": run_id,
        "status": run.status,
        "message": run.message,
        "steps": run.summary.get("steps"),
        "steps_per_second": run.summary.get("steps_per_second"),
        "wall_seconds": wall,
        "terms": agreement.get("terms", []),
        "final": final,
        "figure": str(figure_path) if figure_path else None,
    }


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if not np.isfinite(value):
            return "—"
        return f"{value:.4g}"
    return str(value)


def print_summary(payload: dict[str, Any], config: Config) -> None:
    echo = typer.echo
    echo(f"run {payload['run_id']}  status {payload['status']}  mode {config.mode}")
    echo(
        f"  d={config.d} k={config.k} gamma={','.join(f'{g:g}' for g in config.gamma)} lr={config.lr:g} "
        f"batch={config.batch} steps={payload['steps']} (t_eff={config.lr * (payload['steps'] or 0):g}) "
        f"sigma={config.nonlinearity_name} {config.dtype}"
    )
    if config.mode == "flow":  # no steps are taken: t_eff = lr * step only indexes the records
        echo(
            f"  exact gradient flow (adaptive BDF, float64)   wall: {payload['wall_seconds']:.2f} s"
        )
    else:
        sps = payload.get("steps_per_second")
        echo(f"  speed: {_fmt(sps)} steps/s   wall: {payload['wall_seconds']:.2f} s")
    final = payload.get("final") or {}
    if final:
        echo(
            f"  final: population loss {_fmt(final['loss_population'])}   EMA minibatch loss "
            f"{_fmt(final['loss_batch_ema'])}   sqrt(k)|W2| {_fmt(final['w2_scaled_norm'])}"
        )
    echo("  term        t_half_sim   t_half_ode   t_rise      sim/ode   sim/rise")
    for term in payload["terms"]:
        alpha = ",".join(str(a) for a in term["alpha"])
        echo(
            f"  {alpha:<11} {_fmt(term.get('t_half_sim')):<12} {_fmt(term.get('t_half_ode')):<12} "
            f"{_fmt(term.get('t_rise')):<11} {_fmt(term.get('ratio_sim_ode')):<9} {_fmt(term.get('ratio_sim_rise'))}"
        )
    if payload.get("figure"):
        echo(f"  figure: {payload['figure']}")


@app.command("theory")
def theory_command(
    d: str = typer.Option("3", "--d", help="Input dimension d >= 1."),
    gamma: str = typer.Option(
        "0.1", "--gamma", help="Data variances: one value for all, or d comma-separated."
    ),
    alpha: list[str] = typer.Option(
        None, "--alpha", help="A term's multi-index, e.g. 2,1,0 (repeat for more)."
    ),
    coef: list[str] = typer.Option(None, "--coef", help="Coefficient of each term."),
    b0: str = typer.Option(None, "--b0", help="The ODE's b(0) (default 1e-10)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    figure: Path = typer.Option(
        None, "--figure", help="Also write the ODE solution as a PNG here."
    ),
) -> None:
    """Print the modeling ODE's readouts per term: d_rel, |alpha|, ell, c, kappa, beta, r, r_b, F, t_rise, t_half_ode."""
    config = build_config(
        d=d,
        k=None,
        gamma=gamma,
        alpha=alpha,
        coef=coef,
        lr=None,
        batch=None,
        steps=None,
        t_eff=None,
    )
    if b0 is not None:
        config = config.replace(b0=b0)
    from theoryscope.experiments.expander.theory import predict, theory_to_dict

    started = time.perf_counter()
    theory = predict(config)
    seconds = time.perf_counter() - started
    terms = [t.to_dict() for t in theory.terms]
    if figure is not None:
        from theoryscope.experiments.expander.plots import plot_theory, save_figure

        save_figure(plot_theory(theory), figure)
    if as_json:
        payload = {"terms": terms, "seconds": seconds}
        ode = theory_to_dict(theory)["ode"]
        payload["ode_t_end"] = ode["t"][-1] if ode.get("t") else None
        emit_json(payload)
        return
    typer.echo(
        f"gamma={','.join(f'{g:g}' for g in config.gamma)}  b0={config.b0:g}  ({seconds * 1e3:.0f} ms)"
    )
    keys = ("d_rel", "order", "ell", "c", "kappa", "beta", "r", "r_b", "F", "t_rise", "t_half_ode")
    for term in terms:
        typer.echo(f"term alpha={','.join(str(a) for a in term['alpha'])} coef={term['coef']:g}")
        for key in keys:
            value = term.get(key)
            shown = ", ".join(_fmt(v) for v in value) if isinstance(value, list) else _fmt(value)
            typer.echo(f"  {key:<11} {shown}")

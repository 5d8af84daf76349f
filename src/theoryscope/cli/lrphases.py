"""``theoryscope lrphases``: catapult (uv model), edge of stability (MLP), phase diagram."""

from __future__ import annotations

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
from theoryscope.core.validation import as_float, as_int
from theoryscope.errors import ConfigError
from theoryscope.experiments.lrphases.config import ACTIVATIONS, TARGETS, Config

app = typer.Typer(
    help="Learning-rate phases: lazy / catapult / divergent (uv model) and the edge of stability.",
    no_args_is_help=True,
)


def _run_and_report(
    config: Config, seed: int, store_path: Path | None, out: Path, figure: bool, as_json: bool
) -> None:
    """Execute through the runner (stored), write the figure, print JSON or a summary."""
    result, wall = execute_stored("lrphases", config, seed, store_path)
    run = result.run
    figure_path = None
    if figure and len(run.series.get("step", ())) > 0:
        from theoryscope.experiments.lrphases.plots import plot_run, save_figure

        figure_path = out / f"lrphases-{config.mode}-{result.run_id}.png"
        save_figure(plot_run(run, result.theory), figure_path)
    payload = {
        "run_id": result.run_id,
        "mode": config.mode,
        "status": run.status,
        "message": run.message,
        "steps": run.summary.get("steps"),
        "wall_seconds": wall,
        "summary": run.summary,
        "theory": result.theory.to_dict(),
        "agreement": result.agreement,
        "figure": str(figure_path) if figure_path else None,
    }
    if as_json:
        emit_json(payload)
    else:
        _print_summary(payload)
    exit_with_run_status(result.run_id, run.status, run.message)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if np.isfinite(value) else "-"
    return str(value)


def _print_summary(payload: dict[str, Any]) -> None:
    echo = typer.echo
    a = payload["agreement"]
    echo(
        f"run {payload['run_id']}  mode {payload['mode']}  status {payload['status']}  "
        f"steps {payload['steps']}  wall {payload['wall_seconds']:.2f} s"
    )
    if payload["mode"] == "catapult":
        echo(
            f"  eta={_fmt(a.get('eta'))}  lambda0={_fmt(a.get('lambda0'))}  "
            f"eta*lambda0={_fmt(a.get('eta_lambda0'))}  2/eta={_fmt(a.get('two_over_eta'))}"
        )
        echo(
            f"  phase predicted {a.get('phase_predicted')}  measured {a.get('phase_measured')}  "
            f"(agree: {a.get('phase_agrees')})"
        )
        echo(
            f"  final lambda {_fmt(a.get('final_ntk'))}  (x eta/2 = "
            f"{_fmt(a.get('final_ntk_over_two_over_eta'))})  loss: initial "
            f"{_fmt(a.get('initial_loss'))}  max {_fmt(a.get('max_loss'))} at step "
            f"{_fmt(a.get('peak_step_measured'))} (predicted ~{_fmt(a.get('peak_step_predicted'))})"
            f"  final {_fmt(a.get('final_loss'))}"
        )
        if a.get("lazy_loss_max_rel_err") is not None:
            echo(
                "  lazy prediction L0(1-eta*lambda0)^(2t): max relative error "
                f"{_fmt(a['lazy_loss_max_rel_err'])}"
            )
    else:
        echo(
            f"  eta={_fmt(a.get('eta'))}  2/eta={_fmt(a.get('two_over_eta'))}  sharpness: initial "
            f"{_fmt(a.get('initial_sharpness'))}  max {_fmt(a.get('max_sharpness'))}  final "
            f"{_fmt(a.get('final_sharpness'))}"
        )
        echo(
            f"  first reaches 0.9 x 2/eta at step {_fmt(a.get('first_crossing_step'))}; late "
            f"window (from step {_fmt(a.get('late_window_start_step'))}): sharpness/(2/eta) mean "
            f"{_fmt(a.get('late_sharpness_ratio_mean'))} std "
            f"{_fmt(a.get('late_sharpness_ratio_std'))}; loss rose on "
            f"{_fmt(a.get('late_loss_increase_fraction'))} of records; final loss "
            f"{_fmt(a.get('final_loss'))}"
        )
    if payload.get("figure"):
        echo(f"  figure: {payload['figure']}")


_OUT = typer.Option(Path("theoryscope-out"), "--out", help="Directory for the PNG figure.")
_FIGURE = typer.Option(True, "--figure/--no-figure", help="Write the PNG figure.")
_JSON = typer.Option(False, "--json", help="Print one JSON object instead of the summary.")


@app.command("catapult")
def catapult_command(
    width: str = typer.Option("1000", "--width", help="Hidden width m >= 1."),
    lr_scale: str = typer.Option(
        None, "--lr-scale", help="eta = lr_scale / lambda_0 (sets the phase; default 3.0)."
    ),
    lr: str = typer.Option(None, "--lr", help="Step size eta > 0 (instead of --lr-scale)."),
    steps: str = typer.Option("200", "--steps", help="Number of GD steps >= 1."),
    d: str = typer.Option("4", "--d", help="Input dimension (inputs on the unit sphere)."),
    n: str = typer.Option("1", "--n", help="Number of training samples."),
    target: str = typer.Option("zero", "--target", help="Labels: " + ", ".join(TARGETS)),
    target_scale: str = typer.Option("1.0", "--target-scale", help="Label size >= 0."),
    seed: str = typer.Option("0", "--seed", help="PRNG seed of the initialization."),
    float64: bool = typer.Option(False, "--float64", help="Compute in float64."),
    out: Path = _OUT,
    figure: bool = _FIGURE,
    as_json: bool = _JSON,
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """GD on f = v^T U x / sqrt(m): lazy (eta*lambda0 < 2), catapult (2..4), divergent (> 4)."""
    config = Config.create(
        mode="catapult", width=width, lr=lr, lr_scale=lr_scale, steps=steps, d=d, n=n,
        target=target, target_scale=target_scale, dtype="float64" if float64 else "float32",
    )  # fmt: skip
    _run_and_report(config, parse_seed(seed), store_path, out, figure, as_json)


@app.command("eos")
def eos_command(
    lr: str = typer.Option("0.02", "--lr", help="Step size eta > 0 (2/eta is the edge)."),
    steps: str = typer.Option("3000", "--steps", help="Number of GD steps >= 1."),
    width: str = typer.Option("64", "--width", help="Hidden width >= 1."),
    depth: str = typer.Option("3", "--depth", help="Hidden layers, 1..8."),
    activation: str = typer.Option(
        "tanh", "--activation", help="One of: " + ", ".join(ACTIVATIONS)
    ),
    d: str = typer.Option("4", "--d", help="Input dimension."),
    n: str = typer.Option("64", "--n", help="Number of training points."),
    target: str = typer.Option("random", "--target", help="Labels: " + ", ".join(TARGETS)),
    target_scale: str = typer.Option("2.0", "--target-scale", help="Label size >= 0."),
    every: str = typer.Option("10", "--every", help="Measure the sharpness every this many steps."),
    lanczos_iters: str = typer.Option(
        "10",
        "--lanczos-iters",
        help="Lanczos steps (Hessian-vector products) per sharpness estimate.",
    ),
    seed: str = typer.Option("0", "--seed", help="PRNG seed of the initialization."),
    float64: bool = typer.Option(False, "--float64", help="Compute in float64."),
    out: Path = _OUT,
    figure: bool = _FIGURE,
    as_json: bool = _JSON,
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """Full-batch GD on an MLP with its sharpness tracked: progressive sharpening, then 2/eta."""
    config = Config.create(
        mode="eos", lr=lr, steps=steps, width=width, depth=depth, activation=activation, d=d, n=n,
        target=target, target_scale=target_scale, sharpness_every=every,
        lanczos_iters=lanczos_iters, dtype="float64" if float64 else "float32",
    )  # fmt: skip
    _run_and_report(config, parse_seed(seed), store_path, out, figure, as_json)


@app.command("phase-diagram")
def phase_diagram_command(
    width: str = typer.Option("1000", "--width", help="Hidden width m >= 1."),
    steps: str = typer.Option("200", "--steps", help="GD steps per learning rate."),
    points: str = typer.Option("60", "--points", help="Number of eta*lambda0 values."),
    min_scale: str = typer.Option("0.1", "--min", help="Smallest eta*lambda0 (> 0)."),
    max_scale: str = typer.Option("6.0", "--max", help="Largest eta*lambda0."),
    d: str = typer.Option("4", "--d", help="Input dimension."),
    n: str = typer.Option("1", "--n", help="Number of training samples."),
    seed: str = typer.Option("0", "--seed", help="PRNG seed of the shared initialization."),
    float64: bool = typer.Option(False, "--float64", help="Compute in float64."),
    out: Path = _OUT,
    figure: bool = _FIGURE,
    as_json: bool = _JSON,
) -> None:
    """Final and max loss against eta*lambda0 for the uv model (vmap over eta; not stored)."""
    config = Config.create(
        mode="catapult", width=width, steps=steps, d=d, n=n,
        dtype="float64" if float64 else "float32",
    )  # fmt: skip
    seed_value = parse_seed(seed)
    points_value = as_int("points", points, low=2, high=10_000)
    lo = as_float("min", min_scale, low=0.0, low_open=True)
    hi = as_float("max", max_scale, low=0.0, low_open=True)
    if hi <= lo:
        raise ConfigError("max", f"got {hi:g}; allowed: a number > min = {lo:g}")
    from theoryscope.experiments.lrphases.phase import phase_diagram

    diagram = phase_diagram(config, seed_value, points=points_value, min_scale=lo, max_scale=hi)
    figure_path = None
    if figure:
        from theoryscope.experiments.lrphases.plots import plot_phase_diagram, save_figure

        figure_path = out / f"lrphases-phase-diagram-w{config.width}-s{seed_value}.png"
        save_figure(plot_phase_diagram(diagram), figure_path)
    diagram["figure"] = str(figure_path) if figure_path else None
    if as_json:
        emit_json(diagram)
        return
    echo = typer.echo
    echo(
        f"uv model width {diagram['width']}, {diagram['steps']} steps, lambda0 "
        f"{diagram['lambda0']:.4g}, L0 {diagram['initial_loss']:.4g}  ({diagram['seconds']:.2f} s)"
    )
    echo("  eta*lambda0   final loss   max loss     final lambda*eta/2  measured   predicted")
    for i, a in enumerate(diagram["eta_lambda0"]):
        lam_ratio = diagram["final_ntk"][i] * diagram["eta"][i] / 2.0
        echo(
            f"  {a:<12.3g} {_fmt(float(diagram['final_loss'][i])):<12} "
            f"{_fmt(float(diagram['max_loss'][i])):<12} {_fmt(float(lam_ratio)):<19} "
            f"{diagram['phase_measured'][i]:<10} {diagram['phase_predicted'][i]}"
        )
    echo(f"  measured phase = predicted phase for {diagram['agreement']:.0%} of the points")
    if figure_path:
        echo(f"  figure: {figure_path}")

"""``theoryscope implicit``: diagonal linear nets, max margin, deep linear nets."""

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
from theoryscope.experiments.implicit.config import INITS, Config

app = typer.Typer(
    help="Implicit bias: diagonal nets (L1 vs L2), max margin (SVM), deep linear nets (modes).",
    no_args_is_help=True,
)


def _run_and_report(
    config: Config, seed: int, store_path: Path | None, out: Path, figure: bool, as_json: bool
) -> None:
    """Execute through the runner (stored), write the figure, print JSON or a summary."""
    from theoryscope.experiments.implicit.theory import predict

    theory = predict(config)  # bad data (non-separable) fail here, before the store is opened
    result, wall = execute_stored("implicit", config, seed, store_path, theory=theory)
    run = result.run
    figure_path = None
    if figure and len(run.series.get("step", ())) > 0:
        from theoryscope.experiments.implicit.plots import plot_run, save_figure

        suffix = "-sweep" if config.mode == "diagonal" and config.alpha_sweep else ""
        figure_path = out / f"implicit-{config.mode}{suffix}-{result.run_id}.png"
        save_figure(plot_run(run, result.theory), figure_path)
    payload = {
        "run_id": result.run_id,
        "mode": config.mode,
        "status": run.status,
        "message": run.message,
        "steps": run.summary.get("steps"),
        "wall_seconds": wall,
        "agreement": {k: v for k, v in result.agreement.items() if k != "angle"},
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
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def _print_summary(p: dict[str, Any]) -> None:
    echo = typer.echo
    a = p["agreement"]
    echo(
        f"run {p['run_id']}  mode {p['mode']}  status {p['status']}  steps {p['steps']}  "
        f"wall {p['wall_seconds']:.2f} s"
    )
    if p["mode"] == "diagonal":
        echo(
            f"  min-L1 recovers beta* to {_fmt(a.get('l1_recovery'))}, min-L2 to "
            f"{_fmt(a.get('l2_recovery'))} (relative error)"
        )
        echo("  alpha        trained->limit  trained->L1  trained->L2  limit->L1   limit->L2  "
             "recovery    final loss")  # fmt: skip
        for i, alpha in enumerate(a.get("alphas", [])):
            cells = [a.get(k, [None] * (i + 1))[i] for k in
                     ("to_limit", "to_l1", "to_l2", "limit_to_l1", "limit_to_l2", "recovery",
                      "final_loss")]  # fmt: skip
            echo(f"  {alpha:<12.4g} " + " ".join(f"{_fmt(c):<11}" for c in cells))
    elif p["mode"] == "margin":
        echo(
            f"  SVM margin {_fmt(a.get('svm_margin'))} ({a.get('support_vectors')} support "
            f"vectors); final angle to the SVM direction {_fmt(a.get('final_angle'))} rad; "
            f"normalized margin / SVM margin {_fmt(a.get('final_margin_ratio'))}; final loss "
            f"{_fmt(a.get('final_loss'))}"
        )
        echo(
            f"  fit angle = slope / log t + c (t >= {_fmt(a.get('fit_t_min'))}): slope "
            f"{_fmt(a.get('fit_slope'))}, c {_fmt(a.get('fit_intercept'))}, R^2 "
            f"{_fmt(a.get('fit_r2'))}; asymptote: final angle "
            f"{_fmt(a.get('predicted_final_angle'))}, slope {_fmt(a.get('predicted_slope'))}, "
            f"offset error {_fmt(a.get('offset_error'))}"
        )
    else:
        echo(
            f"  singular values {_fmt(a.get('singular_values'))}: half-time predicted "
            f"{_fmt(a.get('half_time_predicted'))} measured {_fmt(a.get('half_time_measured'))} "
            f"(order agrees: {a.get('order_agrees')})"
        )
        echo(
            f"  max |u - closed form| / s per mode {_fmt(a.get('max_abs_error_over_s'))}; vs "
            f"the discrete-GD map {_fmt(a.get('max_abs_error_over_s_gd'))}; balancedness drift "
            f"{_fmt(a.get('max_balance_drift'))}; final loss {_fmt(a.get('final_loss'))}"
        )
    if p.get("figure"):
        echo(f"  figure: {p['figure']}")


_OUT = typer.Option(Path("theoryscope-out"), "--out", help="Directory for the PNG figure.")
_FIGURE = typer.Option(True, "--figure/--no-figure", help="Write the PNG figure.")
_JSON = typer.Option(False, "--json", help="Print one JSON object instead of the summary.")
_SEED = typer.Option("0", "--seed", help="Seed of the data (and of a random init).")
_STORE = typer.Option(None, "--store", help=STORE_HELP)


@app.command("diagonal")
def diagonal_command(
    d: str = typer.Option("100", "--d", help="Dimension d >= 1."),
    n: str = typer.Option("40", "--n", help="Samples n >= 1 (n < d: underdetermined)."),
    sparsity: str = typer.Option("5", "--sparsity", help="Nonzeros of the planted beta*, 1..d."),
    alpha: str = typer.Option("0.01", "--alpha", help="Init scale alpha > 0 (u = v = alpha)."),
    alpha_sweep: bool = typer.Option(
        False, "--alpha-sweep", help="Train a geometric grid of alphas side by side."
    ),
    sweep_min: str = typer.Option("1e-3", "--sweep-min", help="Smallest alpha of the sweep."),
    sweep_max: str = typer.Option("10", "--sweep-max", help="Largest alpha of the sweep."),
    sweep_points: str = typer.Option("9", "--sweep-points", help="Alphas in the sweep, 2..64."),
    lr: str = typer.Option("0.02", "--lr", help="Step lr > 0; at alpha the step is lr/max(1,a^2)."),
    steps: str = typer.Option("20000", "--steps", help="GD steps >= 1."),
    seed: str = _SEED,
    out: Path = _OUT,
    figure: bool = _FIGURE,
    as_json: bool = _JSON,
    store_path: Path = _STORE,
) -> None:
    """beta = u*u - v*v on X beta = y: GD's limit vs argmin Q_alpha (L1 at small, L2 at large alpha)."""
    seed_value = parse_seed(seed)
    config = Config.create(
        mode="diagonal", d=d, n=n, sparsity=sparsity, alpha=alpha, alpha_sweep=alpha_sweep,
        sweep_min=sweep_min, sweep_max=sweep_max, sweep_points=sweep_points, lr=lr, steps=steps,
        data_seed=seed_value,
    )  # fmt: skip
    _run_and_report(config, seed_value, store_path, out, figure, as_json)


@app.command("margin")
def margin_command(
    n: str = typer.Option("50", "--n", help="Samples n >= 1."),
    d: str = typer.Option("2", "--d", help="Dimension d >= 1 (d = 2 draws the separators)."),
    gap: str = typer.Option("0.1", "--gap", help="Drop points with |w* . x| < gap (>= 0)."),
    flip: str = typer.Option(
        "0", "--flip", help="Fraction of labels flipped (must stay separable), 0..0.5."
    ),  # fmt: skip
    lr: str = typer.Option("1.0", "--lr", help="Step eta > 0 on the mean logistic loss."),
    steps: str = typer.Option("100000", "--steps", help="GD steps >= 1."),
    seed: str = _SEED,
    out: Path = _OUT,
    figure: bool = _FIGURE,
    as_json: bool = _JSON,
    store_path: Path = _STORE,
) -> None:
    """Logistic GD on separable data: w/||w|| -> SVM direction, angle ~ 1/log t."""
    seed_value = parse_seed(seed)
    config = Config.create(
        mode="margin", n=n, d=d, gap=gap, flip=flip, lr=lr, steps=steps, data_seed=seed_value
    )
    _run_and_report(config, seed_value, store_path, out, figure, as_json)


@app.command("deeplinear")
def deeplinear_command(
    depth: str = typer.Option("2", "--depth", help="Layers L >= 2."),
    singular_values: str = typer.Option(
        "3,2,1", "--singular-values", help="Target singular values, comma-separated, > 0."
    ),
    init: str = typer.Option("1e-3", "--init", help="Per-layer init scale a0 in (0, 1]."),
    init_mode: str = typer.Option("balanced", "--init-mode", help="One of: " + ", ".join(INITS)),
    width: str = typer.Option("0", "--width", help="Hidden width (0: number of modes)."),
    lr: str = typer.Option("0.005", "--lr", help="Step eta > 0 (time t = eta * step)."),
    steps: str = typer.Option("0", "--steps", help="GD steps (0: auto from the theory)."),
    seed: str = _SEED,
    out: Path = _OUT,
    figure: bool = _FIGURE,
    as_json: bool = _JSON,
    store_path: Path = _STORE,
) -> None:
    """W_L..W_1 on whitened regression: sigmoidal, incremental mode learning (Saxe et al.)."""
    seed_value = parse_seed(seed)
    config = Config.create(
        mode="deeplinear", depth=depth, singular_values=singular_values, init=init,
        init_mode=init_mode, width=width, lr=lr, steps=steps, data_seed=seed_value,
    )  # fmt: skip
    _run_and_report(config, seed_value, store_path, out, figure, as_json)

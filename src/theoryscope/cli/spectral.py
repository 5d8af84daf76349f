"""``theoryscope spectral``: ReLU Gram conditioning and spectral bias (talk seed 004)."""

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
from theoryscope.experiments.spectral.config import BIASES, MODES, WEIGHTS, Config, parse_freqs

app = typer.Typer(
    help="Spectral bias: ReLU Gram-matrix conditioning and slow learning of high frequencies.",
    no_args_is_help=True,
)


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}" if np.isfinite(value) else "—"
    return str(value)


@app.command("gram")
def gram_command(
    neurons: str = typer.Option("200", "--neurons", help="Width n >= 1."),
    bias: str = typer.Option("uniform", "--bias", help="Biases: " + " or ".join(BIASES) + "."),
    weights: str = typer.Option("plus", "--weights", help="w = 1 (plus) or w = +-1 (sign)."),
    seed: str = typer.Option("0", "--seed", help="Seed of the random features."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    out: Path = typer.Option(Path("theoryscope-out"), "--out", help="Directory for the PNG."),
    figure: bool = typer.Option(True, "--figure/--no-figure", help="Write the PNG figure."),
) -> None:
    """Eigenvalues of the exact ReLU Gram matrix, fitted decay exponent, condition number and
    its growth with n, float32 / float64 numerical ranks."""
    seed_value = parse_seed(seed)
    config = Config.from_dict(
        {"neurons": neurons, "bias": bias, "weights": weights, "feature_seed": seed_value}
    )
    from theoryscope.experiments.spectral.spectrum import analyze

    started = time.perf_counter()
    spectrum = analyze(config.neurons, bias=config.bias, weights=config.weights, seed=seed_value)
    seconds = time.perf_counter() - started
    figure_path = None
    if figure:
        from theoryscope.experiments.spectral.plots import plot_spectrum, save_figure

        figure_path = save_figure(
            plot_spectrum(spectrum), out / f"spectral-gram-n{config.neurons}-{config.bias}.png"
        )
    payload = spectrum.to_dict()
    payload["seconds"] = seconds
    payload["figure"] = str(figure_path) if figure_path else None
    if as_json:
        emit_json(payload)
        return
    echo = typer.echo
    fit = spectrum.fit
    echo(f"ReLU Gram matrix G = Phi^T Phi / n on [-1, 1]: n={config.neurons} biases {config.bias}"
         f" weights {config.weights} seed {seed_value}  ({seconds:.2f} s)")  # fmt: skip
    echo(f"  lambda_1 {_fmt(float(spectrum.eigenvalues[0]))}   lambda_n "
         f"{_fmt(float(spectrum.eigenvalues[-1]))}   cond {_fmt(spectrum.condition_number)}")  # fmt: skip
    if fit is not None:
        echo(f"  decay lambda_j ~ C j^-p: p = {fit.exponent:.3f} (fit j={fit.lo}..{fit.hi}); "
             "talk: p = 4")  # fmt: skip
    for row in spectrum.condition_growth:
        echo(f"  n={row['neurons']:<6} cond {_fmt(row['condition_number'])}")
    echo(f"  condition growth exponent {_fmt(spectrum.condition_exponent)} "
         "(talk: >= n^3/log n for i.i.d. biases)")  # fmt: skip
    for name in ("float32", "float64"):
        echo(f"  {name}: numerical rank {spectrum.numerical_rank[name]} (eigenvalues > eps "
             f"lambda_1; fit predicts {_fmt(spectrum.predicted_rank[name])}); talk's stable "
             f"modes eps^-1/5 = {spectrum.talk_stable_modes[name]:.0f}")  # fmt: skip
    echo(f"  float32 reproduces the leading {spectrum.resolved_float32} eigenvalues within 10%")
    if figure_path:
        echo(f"  figure: {figure_path}")


@app.command("train")
def train_command(
    neurons: str = typer.Option("200", "--neurons", help="Width n >= 1."),
    freqs: str = typer.Option("1,4,16", "--freqs", help="Target frequencies k, e.g. 1,4,16."),
    lr: str = typer.Option("1.0", "--lr", help="GD step eta > 0 (stable below 2/lambda_max)."),
    steps: str = typer.Option("10000", "--steps", help="Number of GD steps >= 1."),
    seed: str = typer.Option("0", "--seed", help="Seed of the random features (and the run)."),
    mode: str = typer.Option("features", "--mode", help="features (train a) or full (a and b)."),
    bias: str = typer.Option("uniform", "--bias", help="Biases: " + " or ".join(BIASES) + "."),
    weights: str = typer.Option("plus", "--weights", help="w = 1 (plus) or w = +-1 (sign)."),
    float64: bool = typer.Option(False, "--float64", help="Train in float64 (default float32)."),
    records: str = typer.Option("200", "--records", help="Recorded points (log-spaced)."),
    bias_lr: str = typer.Option(
        "1.0", "--bias-lr", help="full mode: biases step with bias_lr * lr (>= 0)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    out: Path = typer.Option(Path("theoryscope-out"), "--out", help="Directory for the PNG."),
    figure: bool = typer.Option(True, "--figure/--no-figure", help="Write the PNG figure."),
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """Train on sum_k sin(pi k x) by gradient descent, store the run, and compare each
    frequency's half time with the Gram eigen-decomposition's prediction."""
    seed_value = parse_seed(seed)
    config = Config.from_dict({
        "neurons": neurons, "freqs": parse_freqs(freqs), "lr": lr, "steps": steps, "mode": mode,
        "bias": bias, "weights": weights, "feature_seed": seed_value,
        "dtype": "float64" if float64 else "float32", "records": records, "bias_lr": bias_lr,
    })  # fmt: skip
    result, wall = execute_stored("spectral", config, seed_value, store_path)
    run = result.run
    figure_path = None
    if figure and len(run.series.get("step", ())) > 0:
        from theoryscope.experiments.spectral.plots import plot_run, save_figure

        figure_path = save_figure(
            plot_run(run, result.theory), out / f"spectral-{result.run_id}.png"
        )
    payload = {
        "run_id": result.run_id,
        "status": run.status,
        "message": run.message,
        "steps": run.summary.get("steps"),
        "steps_per_second": run.summary.get("steps_per_second"),
        "wall_seconds": wall,
        "final_loss": run.summary.get("final_loss"),
        "agreement": result.agreement,
        "figure": str(figure_path) if figure_path else None,
    }
    if as_json:
        emit_json(payload)
    else:
        _print_train(payload, config)
    exit_with_run_status(result.run_id, run.status, run.message)


def _print_train(payload: dict[str, Any], config: Config) -> None:
    echo = typer.echo
    agree = payload["agreement"]
    echo(f"run {payload['run_id']}  status {payload['status']}  mode {config.mode}  "
         f"{config.dtype}")  # fmt: skip
    echo(f"  n={config.neurons} freqs={','.join(map(str, config.freqs))} lr={config.lr:g} "
         f"(stable below {_fmt(agree['lr_stable_max'])}) steps={payload['steps']}  "
         f"{_fmt(payload['steps_per_second'])} steps/s")  # fmt: skip
    echo(f"  Gram: decay exponent {_fmt(agree['decay_exponent'])} (talk 4), cond "
         f"{_fmt(agree['condition_number'])}, numerical rank float32 "
         f"{agree['numerical_rank']['float32']} / float64 {agree['numerical_rank']['float64']}")  # fmt: skip
    echo("  freq   t_half measured   t_half predicted   ratio    final residual (meas / pred)")
    for row in agree["freqs"]:
        echo(f"  {row['freq']:<6} {_fmt(row['t_half_measured']):<17} "
             f"{_fmt(row['t_half_predicted']):<18} {_fmt(row['ratio']):<8} "
             f"{_fmt(row['final_residual_measured'])} / {_fmt(row['final_residual_predicted'])}")  # fmt: skip
    echo(f"  half-time exponent in k: measured {_fmt(agree['t_half_exponent_measured'])}, "
         f"predicted {_fmt(agree['t_half_exponent_predicted_reached'])} on the same freqs, "
         f"{_fmt(agree['t_half_exponent_predicted'])} on all (talk, fixed biases: 4)")  # fmt: skip
    echo(f"  low frequencies first: {agree['low_frequencies_first']}   eigen-component error "
         f"{_fmt(agree['eig_residual_max_error'])}")  # fmt: skip
    if payload.get("figure"):
        echo(f"  figure: {payload['figure']}")


__all__ = ["MODES", "WEIGHTS", "app"]

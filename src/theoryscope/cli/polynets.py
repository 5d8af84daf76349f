"""``theoryscope polynets``: teacher-student training of shallow polynomial networks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import typer

from theoryscope.cli.common import (
    EXIT_DIVERGED,
    STORE_HELP,
    emit_json,
    execute_stored,
    exit_with_run_status,
    parse_seed,
)
from theoryscope.core.validation import as_int_tuple
from theoryscope.errors import ConfigError
from theoryscope.experiments.polynets.config import DEGREES, MAX_WIDTH, TEACHERS, Config

app = typer.Typer(
    help="Shallow polynomial networks: teacher-student landscape and incremental learning.",
    no_args_is_help=True,
)

MAX_SEEDS = 1000


def parse_seeds(text: str) -> list[int]:
    """``"0-9"`` (inclusive range), ``"3"`` or ``"0,2,5"`` -> a list of distinct seeds >= 0."""
    allowed = "allowed: a range like 0-9 (low <= high) or a list like 0,2,5 of integers >= 0"
    value = text.strip()
    if "-" in value and "," not in value:
        lo_text, _, hi_text = value.partition("-")
        try:
            lo, hi = int(lo_text), int(hi_text)
        except ValueError:
            raise ConfigError("seeds", f"got {text!r}; {allowed}") from None
        if lo < 0 or hi < lo:
            raise ConfigError("seeds", f"got {text!r}; {allowed}")
        seeds = list(range(lo, hi + 1))
    else:
        try:
            seeds = [int(p) for p in value.split(",")]
        except ValueError:
            raise ConfigError("seeds", f"got {text!r}; {allowed}") from None
        if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
            raise ConfigError("seeds", f"got {text!r}; {allowed} (distinct)")
    if len(seeds) > MAX_SEEDS or max(seeds) > 2**31 - 1:
        raise ConfigError("seeds", f"got {text!r}; allowed: at most {MAX_SEEDS} seeds < 2^31")
    return seeds


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if np.isfinite(value) else "-"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


_OUT = typer.Option(Path("theoryscope-out"), "--out", help="Directory for the PNG figure.")
_FIGURE = typer.Option(True, "--figure/--no-figure", help="Write the PNG figure.")
_JSON = typer.Option(False, "--json", help="Print one JSON object instead of the summary.")


@app.command("train")
def train_command(
    d: str = typer.Option("10", "--d", help="Input dimension d >= 1 (x ~ N(0, I_d))."),
    teacher_width: str = typer.Option("3", "--teacher-width", help="Teacher width r* >= 1."),
    width: str = typer.Option("5", "--width", help="Student width r >= 1."),
    degree: str = typer.Option(
        "2", "--degree", help="Degree p, one of " + ", ".join(map(str, DEGREES))
    ),
    init: str = typer.Option("1e-3", "--init", help="Init scale > 0: W_ij ~ N(0, init^2)."),
    lr: str = typer.Option("0.01", "--lr", help="GD step size > 0."),
    steps: str = typer.Option("5000", "--steps", help="Number of GD steps >= 1."),
    samples: str = typer.Option(
        None, "--samples", help="Train on n fixed Gaussian samples (default: population loss)."
    ),
    population: bool = typer.Option(
        False, "--population", help="Train on the exact population loss (the default)."
    ),
    teacher: str = typer.Option("orthogonal", "--teacher", help="One of " + ", ".join(TEACHERS)),
    teacher_decay: str = typer.Option(
        "0.5", "--teacher-decay", help="Orthogonal teacher: lambda_j = decay^(j-1), in (0, 1]."
    ),
    data_seed: str = typer.Option("0", "--data-seed", help="Seed of the teacher and samples."),
    seed: str = typer.Option("0", "--seed", help="Seed of the student initialization."),
    out: Path = _OUT,
    figure: bool = _FIGURE,
    as_json: bool = _JSON,
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """GD of a width-r student on a width-r* teacher; final loss vs the best rank-r loss."""
    if population and samples is not None:
        raise ConfigError("samples", "given together with --population; allowed: one of them")
    config = Config.create(
        d=d, teacher_width=teacher_width, width=width, degree=degree, init=init, lr=lr,
        steps=steps, samples=samples, teacher=teacher, teacher_decay=teacher_decay,
        data_seed=data_seed,
    )  # fmt: skip
    seed_value = parse_seed(seed)
    result, wall = execute_stored("polynets", config, seed_value, store_path)
    run = result.run
    figure_path = None
    if figure and len(run.series.get("step", ())) > 0:
        from theoryscope.experiments.polynets.plots import plot_run, save_figure

        figure_path = out / f"polynets-train-{result.run_id}.png"
        save_figure(plot_run(run, result.theory), figure_path)
    payload = {
        "run_id": result.run_id,
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
        _print_train(payload)
    exit_with_run_status(result.run_id, run.status, run.message)


def _print_train(payload: dict[str, Any]) -> None:
    echo = typer.echo
    a = payload["agreement"]
    echo(
        f"run {payload['run_id']}  status {payload['status']}  steps {payload['steps']}  "
        f"wall {payload['wall_seconds']:.2f} s  ({a.get('regime')})"
    )
    echo(
        f"  population loss: initial {_fmt(a.get('initial_loss'))}  final "
        f"{_fmt(a.get('final_loss'))}  predicted optimum {_fmt(a.get('optimal_loss'))}  "
        f"(excess / E[f*^2] = {_fmt(a.get('excess_over_teacher_norm'))}, success "
        f"{a.get('success')})"
    )
    if a.get("learn_times_predicted") is not None:
        echo(
            f"  learning times: measured {_fmt(a.get('learn_times_measured'))}  predicted "
            f"{_fmt(a.get('learn_times_predicted'))}  in order: {a.get('learned_in_order')}"
        )
        echo(
            f"  ratios t_j/t_1: measured {_fmt(a.get('learn_ratio_measured'))}  predicted "
            f"{_fmt(a.get('learn_ratio_predicted'))}  naive lambda_1/lambda_j "
            f"{_fmt(a.get('learn_ratio_naive'))}"
        )
        echo(
            f"  final eigenvalues of M {_fmt(a.get('final_eigs'))}  optimal "
            f"{_fmt(a.get('optimal_eigs'))}"
        )
    if payload.get("figure"):
        echo(f"  figure: {payload['figure']}")


@app.command("landscape")
def landscape_command(
    d: str = typer.Option("6", "--d", help="Input dimension d >= 1."),
    teacher_width: str = typer.Option("3", "--teacher-width", help="Teacher width r* >= 1."),
    widths: str = typer.Option("1,2,3,4,6", "--widths", help="Student widths, e.g. 1,2,3,4,6."),
    seeds: str = typer.Option("0-9", "--seeds", help="Init seeds: a range 0-9 or a list 0,2,5."),
    degree: str = typer.Option(
        "2", "--degree", help="Degree p, one of " + ", ".join(map(str, DEGREES))
    ),
    init: str = typer.Option("0.5", "--init", help="Init scale > 0: W_ij ~ N(0, init^2)."),
    lr: str = typer.Option("0.01", "--lr", help="GD step size > 0."),
    steps: str = typer.Option("5000", "--steps", help="GD steps per run >= 1."),
    samples: str = typer.Option(
        None, "--samples", help="Train on n fixed samples (default: population loss)."
    ),
    teacher: str = typer.Option("orthogonal", "--teacher", help="One of " + ", ".join(TEACHERS)),
    teacher_decay: str = typer.Option("0.5", "--teacher-decay", help="lambda_j = decay^(j-1)."),
    data_seed: str = typer.Option("0", "--data-seed", help="Seed of the teacher and samples."),
    out: Path = _OUT,
    figure: bool = _FIGURE,
    as_json: bool = _JSON,
) -> None:
    """Success rate and final / optimal loss per student width over seeds (not stored)."""
    width_list = list(as_int_tuple("widths", widths, low=1))
    if max(width_list) > MAX_WIDTH:
        raise ConfigError("widths", f"got {max(width_list)}; allowed: integers 1..{MAX_WIDTH}")
    seed_list = parse_seeds(seeds)
    config = Config.create(
        d=d, teacher_width=teacher_width, width=width_list[0], degree=degree, init=init, lr=lr,
        steps=steps, samples=samples, teacher=teacher, teacher_decay=teacher_decay,
        data_seed=data_seed,
    )  # fmt: skip
    from theoryscope.experiments.polynets.engine import landscape

    table = landscape(config, width_list, seed_list)
    figure_path = None
    if figure:
        from theoryscope.experiments.polynets.plots import plot_landscape, save_figure

        figure_path = out / (
            f"polynets-landscape-p{config.degree}-d{config.d}-r{config.teacher_width}.png"
        )
        save_figure(plot_landscape(table), figure_path)
    table["figure"] = str(figure_path) if figure_path else None
    if as_json:
        emit_json(table)
    else:
        echo = typer.echo
        echo(
            f"p={table['degree']} d={table['d']} r*={table['teacher_width']} init={init} "
            f"lr={lr} steps={table['steps']} seeds {len(seed_list)}  "
            f"E[f*^2]={table['teacher_norm']:.4g}  ({table['seconds']:.2f} s)"
        )
        echo("  width  regime               success  optimal loss  median final  final/optimal")
        for row in table["rows"]:
            echo(
                f"  {row['width']:<6} {row['regime']:<20} {_fmt(row['success_rate']):<8} "
                f"{_fmt(row['optimal_loss']):<13} {_fmt(row['final_loss_median']):<13} "
                f"{_fmt(row['median_final_over_optimal'])}"
            )
        if figure_path:
            echo(f"  figure: {figure_path}")
    if any(row["diverged"] for row in table["rows"]):
        typer.echo("error: some runs diverged (non-finite loss); lower --lr", err=True)
        raise typer.Exit(EXIT_DIVERGED)

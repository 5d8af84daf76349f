"""A toy experiment that exists only in the tests: gradient descent on least squares.

It declares itself like any experiment and is registered by the conformance tests alone, so it
proves that a new phenomenon needs no file outside its own package to get the CLI, the store,
sweeps, reports and the web API.

Maths: L(w) = 1/(2n) |X w - y|^2 with y = X w* (so the minimum is 0). With H = X^T X / n =
sum_j lambda_j u_j u_j^T and w_0 = 0, gradient descent gives, exactly,
    w_t - w* = (I - eta H)^t (w_0 - w*),
    L(t) = 1/2 sum_j lambda_j (1 - eta lambda_j)^(2t) (u_j . w*)^2.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from theoryscope.protocol import Experiment, Run
from theoryscope.spec import (
    Curve,
    Estimate,
    ExperimentConfig,
    Figure,
    Float,
    Int,
    Metric,
    Panel,
    Preset,
    Study,
    param,
)


class Config(ExperimentConfig):
    follows_seed: ClassVar[tuple[str, ...]] = ("data_seed",)

    d: Int = param(5, ge=1, le=64, help="Dimension of w.", tex="d")
    n: Int = param(20, ge=1, le=10_000, help="Samples.", tex="n")
    lr: Float = param(0.1, gt=0, le=10, help="Step size.", tex=r"\eta")
    steps: Int = param(200, ge=1, le=100_000, help="GD steps.", tex="T")
    data_seed: Int = param(0, ge=0, le=2**31 - 1, help="Seed of X and w*.", advanced=True)


def _problem(config: Config) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(config.data_seed)
    x = rng.standard_normal((config.n, config.d))
    w_star = rng.standard_normal(config.d)
    return x, w_star


def simulate(
    config: Config, seed: int = 0, *, on_chunk: Any = None, should_stop: Any = None
) -> Run:
    x, w_star = _problem(config)
    y = x @ w_star
    w = np.zeros(config.d)
    steps = np.unique(np.geomspace(1, config.steps, 40).astype(int))
    rows: dict[str, list[float]] = {"step": [], "loss": []}
    status, message, done = "finished", None, 0
    for target in steps:
        if should_stop is not None and should_stop():
            status, message = "interrupted", f"stopped at step {done}"
            break
        while done < target:
            w = w - config.lr * x.T @ (x @ w - y) / config.n
            done += 1
        loss = 0.5 * float(np.mean((x @ w - y) ** 2))
        if not np.isfinite(loss):
            status, message = "diverged", f"non-finite loss at step {done}"
            break
        rows["step"].append(done)
        rows["loss"].append(loss)
        if on_chunk is not None:
            on_chunk({"step": np.asarray([done]), "loss": np.asarray([loss])})
    series = {"step": np.asarray(rows["step"], np.int64), "loss": np.asarray(rows["loss"])}
    return Run("toyls", config.to_dict(), seed, status, series, summary={"steps": done},
               message=message)  # fmt: skip


def predict(config: Config) -> dict[str, Any]:
    x, w_star = _problem(config)
    lam, u = np.linalg.eigh(x.T @ x / config.n)
    c = u.T @ w_star
    t = np.unique(np.geomspace(1, config.steps, 200).astype(int))
    loss = 0.5 * np.sum(lam[None, :] * (1 - config.lr * lam[None, :]) ** (2 * t[:, None])
                        * c[None, :] ** 2, axis=1)  # fmt: skip
    return {"t": t.tolist(), "loss": loss.tolist(), "final": float(loss[-1]),
            "lambda_max": float(lam[-1])}  # fmt: skip


def compare(run: Run, theory: dict[str, Any]) -> dict[str, Any]:
    final = float(run.series["loss"][-1]) if len(run.series["loss"]) else None
    return {"final_loss": final, "final_loss_theory": theory["final"]}


def _spectrum(params: Any, seed: int, context: Any) -> dict[str, Any]:
    x, _ = _problem(Config(d=params.d, n=params.n, data_seed=seed))
    lam = np.linalg.eigvalsh(x.T @ x / params.n)
    context.progress(1.0, "done")
    return {"eigenvalues": lam.tolist(), "lambda_max": float(lam[-1]),
            "mp_edge": (1 + np.sqrt(params.d / params.n)) ** 2}  # fmt: skip


class SpectrumParams(ExperimentConfig):
    d: Int = param(5, ge=1, le=64, help="Dimension.")
    n: Int = param(20, ge=1, le=10_000, help="Samples.")


EXPERIMENT = Experiment(
    name="toyls",
    title="Toy least squares",
    summary="Gradient descent on least squares against its exact eigen-decomposition.",
    config_from_dict=Config.from_dict,
    simulate=simulate,
    predict=predict,
    compare=compare,
    theory_to_dict=lambda theory: dict(theory),
    config=Config,
    figures=(
        Figure(
            "loss",
            "Toy: loss",
            (
                Panel(
                    "loss",
                    "step",
                    "loss",
                    (
                        Curve("series.loss", "series.step", "GD"),
                        Curve("theory.loss", "theory.t", "exact", style="dashed"),
                    ),
                    x_log=True,
                    y_log=True,
                ),
            ),
        ),
    ),  # fmt: skip
    metrics=(
        Metric(
            "final", "final loss", "agreement.final_loss", "agreement.final_loss_theory", good=1e-6
        ),
    ),  # fmt: skip
    studies=(
        Study(
            "spectrum",
            "Spectrum of X^T X / n",
            "eigenvalues against the MP edge",
            SpectrumParams,
            _spectrum,
            metrics=(
                Metric("edge", "lambda_max vs MP edge", "result.lambda_max", "result.mp_edge"),
            ),
            tiny={"d": 3, "n": 10},
        ),
    ),  # fmt: skip
    presets=(Preset("tiny", "A quick run", {"d": 3, "n": 10, "steps": 50}),),
    estimate=lambda c: Estimate(8.0 * c.n * c.d + 1e6, 1e-6 * c.steps * c.n * c.d, ("n", "d")),
    order=999,
)


# -- for the conformance tests ---------------------------------------------------------------------
def experiments_under_test() -> list:
    """Every built-in experiment with a declared config, and the toy."""
    from theoryscope.protocol import all_experiments

    names = [e.name for e in all_experiments() if e.config is not None]
    return sorted(set(names) | {"toyls"})


def experiment(name: str):
    """The experiment called ``name`` (the toy even before the session registers it)."""
    from theoryscope.protocol import get_experiment

    return EXPERIMENT if name == "toyls" else get_experiment(name)

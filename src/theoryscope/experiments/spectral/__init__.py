"""Spectral bias and conditioning of shallow ReLU networks on [-1, 1].

Source: H. Zhao, "Numerical understanding of neural networks" (talk, seed 004) and S. Zhang,
H. Zhao, Y. Zhong, H. Zhou, "Why shallow networks struggle with approximating and learning high
frequency", arXiv:2306.17301. The ReLU features ``relu(w x - b)`` are global and highly
correlated: their Gram matrix has eigenvalues decaying like ``j^{-4}``, so (i) finite precision
keeps only the leading ~``(eps)^{-1/4}`` eigen-directions (a low-pass filter) and (ii) gradient
descent learns the Fourier mode ``sin(pi k x)`` in a time growing like ``k^4``.

Python API::

    from theoryscope.experiments import spectral
    cfg = spectral.Config(neurons=200, freqs=(1, 4, 16), lr=3.0, steps=100_000)
    run = spectral.simulate(cfg)           # Run: series step, time, loss, residual, eig_residual
    theory = spectral.predict(cfg)         # Theory: spectrum, predicted residuals and half times
    agreement = spectral.compare(run, theory)
    spectral.analyze(1000)                 # eigenvalue decay, condition number, numerical ranks
"""

from __future__ import annotations

from typing import Any

from theoryscope.experiments.spectral import declaration
from theoryscope.experiments.spectral.config import MODES, Config
from theoryscope.protocol import ChunkCallback, Experiment, Run, StopPredicate, register

__all__ = ["MODES", "Config", "analyze", "compare", "plot", "predict", "simulate"]


def simulate(
    config: Config,
    seed: int = 0,
    *,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
) -> Run:
    """Gradient descent from a = 0 on the exact L2 loss (``features`` or ``full`` mode)."""
    from theoryscope.experiments.spectral.engine import simulate as run_gd

    return run_gd(config, seed, on_chunk=on_chunk, should_stop=should_stop)


def predict(config: Config) -> Any:
    """Kernel-regime theory: Gram spectrum, per-frequency residual curves, half times."""
    from theoryscope.experiments.spectral.theory import predict as predict_theory

    return predict_theory(config)


def compare(run: Run, theory: Any) -> dict[str, Any]:
    """Decay exponent, numerical ranks, measured vs predicted half times per frequency."""
    from theoryscope.experiments.spectral.compare import compare as compare_run

    return compare_run(run, theory)


def theory_to_dict(theory: Any) -> dict[str, Any]:
    from theoryscope.experiments.spectral.theory import theory_to_dict as to_dict

    return to_dict(theory)


def analyze(neurons: int, **kwargs: Any) -> Any:
    """The Gram matrix's spectrum alone (see :func:`.spectrum.analyze`)."""
    from theoryscope.experiments.spectral.spectrum import analyze as analyze_gram

    return analyze_gram(neurons, **kwargs)


def plot(run: Run, theory: Any = None, **kwargs: Any) -> Any:
    """Residual per frequency against the step, measured solid and predicted dashed."""
    from theoryscope.experiments.spectral.plots import plot_run

    return plot_run(run, theory, **kwargs)


EXPERIMENT = register(
    Experiment(
        name="spectral",
        title="Spectral bias of shallow ReLU networks",
        summary="ReLU features on [-1, 1]: Gram eigenvalues decay like j^-4, so gradient descent "
        "learns sin(pi k x) in a time growing like k^4 and float32 keeps only the low modes.",
        config_from_dict=Config.from_dict,
        simulate=simulate,
        predict=predict,
        compare=compare,
        theory_to_dict=theory_to_dict,
        plot=plot,
        config=Config,
        figures=declaration.FIGURES,
        metrics=declaration.METRICS,
        studies=declaration.STUDIES,
        presets=declaration.PRESETS,
        estimate=declaration.estimate,
        commands={"train": {}},
        cite=declaration.PAPER,
        order=40,
    )
)

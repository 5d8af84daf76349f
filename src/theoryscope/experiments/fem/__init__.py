"""ReLU features against finite elements, and structured multilayer networks (seed 004).

Source: H. Zhao, "Numerical understanding of neural networks" (talk, seed 004); S. Zhang,
H. Zhao, Y. Zhong, H. Zhou, arXiv:2306.17301. On nodes ``-1 = x_1 < ... < x_n = 1`` the ReLU
features ``sigma(x - x_i)`` and the P1 hat functions span the same space, but the ReLU Gram
matrix is dense with condition number ~n^4 on a grid (at least n^3/log n for random nodes, the
talk's theorem), while the FE mass matrix is tridiagonal with condition number O(h_max/h_min).
Finite precision therefore turns least squares in the ReLU basis into a low-pass filter (the
talk's Table 1), and gradient descent in it crawls. The talk's remedy for depth: structured,
balanced networks that divide the domain with ReLU maps and conquer each piece with a shallow
net, ``f = sum_i f_i(psi_i(x)) - const``.

The run: GD or Adam on the exact L2 loss in either basis, recorded against the exact
least-squares solution and the exact GD curve. Studies: ``conditioning``, ``table``,
``noise``, ``structured``.

Python API::

    from theoryscope.experiments import fem
    cfg = fem.Config(basis="relu", n=100, steps=100_000, dtype="float64")
    run = fem.simulate(cfg)              # series step, loss, excess, max_error, mode_residual
    theory = fem.predict(cfg)            # LS floor, exact GD excess curve, spectrum of G
    agreement = fem.compare(run, theory)
"""

from __future__ import annotations

from typing import Any

from theoryscope.experiments.fem import declaration
from theoryscope.experiments.fem.config import PAPER, TALK, Config
from theoryscope.protocol import ChunkCallback, Experiment, Hooks, Run, StopPredicate, register

__all__ = ["Config", "compare", "predict", "simulate", "theory_to_dict"]


def simulate(
    config: Config,
    seed: int = 0,
    *,
    on_chunk: ChunkCallback | None = None,
    should_stop: StopPredicate | None = None,
) -> Run:
    """GD or Adam from a = 0 on the exact L2 loss in the config's basis."""
    from theoryscope.experiments.fem.engine import simulate as train

    return train(config, seed, on_chunk=on_chunk, should_stop=should_stop)


def predict(config: Config) -> Any:
    """The exact LS solution, the exact GD excess curve and the conditioning of G."""
    from theoryscope.experiments.fem.theory import predict as predict_theory

    return predict_theory(config)


def compare(run: Run, theory: Any) -> dict[str, Any]:
    from theoryscope.experiments.fem.compare import compare as agree

    return agree(run, theory)


def theory_to_dict(theory: Any) -> dict[str, Any]:
    from theoryscope.experiments.fem.theory import theory_to_dict as to_dict

    return to_dict(theory)


EXPERIMENT = register(
    Experiment(
        name="fem",
        title="ReLU features against finite elements",
        summary="The same piecewise-linear space in two bases: the ReLU Gram matrix is dense "
        "with cond ~ n^4 (float32 least squares becomes a low-pass filter, GD crawls), the FE "
        "mass matrix tridiagonal with cond O(h_max/h_min); the talk's Table 1, noise, and "
        "structured divide-and-conquer networks against shallow ones.",
        config_from_dict=Config.from_dict,
        simulate=simulate,
        predict=predict,
        compare=compare,
        theory_to_dict=theory_to_dict,
        config=Config,
        figures=declaration.FIGURES,
        metrics=declaration.METRICS,
        studies=declaration.STUDIES,
        presets=declaration.PRESETS,
        estimate=declaration.estimate,
        hooks=Hooks(describe=declaration.describe),
        commands={"train": {}},
        cite=f"{TALK}; {PAPER}",
        order=110,
    )
)

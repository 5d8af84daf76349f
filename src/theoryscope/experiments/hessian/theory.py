"""What the theory predicts for a run, from its config alone (pure and fast).

    neural collapse (Papyan, Han, Donoho 2020, section 3, NC1-NC4), in the terminal phase of
    training past zero training error:
        NC1 = tr(Sigma_W Sigma_B^+)/C -> 0,  std/mean of ||mu_c - mu_G|| -> 0,
        cos(mu_c - mu_G, mu_c' - mu_G) -> -1/(C-1) (simplex ETF),  NC3 -> 0,  NC4 -> 0
    Hessian outliers (Sagun et al. 2017; Papyan 2019, 2020; seed 002, 10/3 and 10/5):
        C outliers from G_class, C(C-1) from G_cross (Papyan's count of cross-class means), the
        rest a bulk. Exactly: rank G_class <= C and rank G_cross <= C(C-2), since for every class
        c the weighted deviations sum to zero, sum_{k != c} w_ck (g_ck - g_c) = 0 (:mod:`.curvature`)
    ranks: rank G <= min(P, N (C-1)) for cross-entropy (each H_i = diag(p) - p p^T has rank C-1:
        its null vector is the all-ones vector) and <= min(P, N C) for MSE (H_i = I); the lectures'
        "rank at most min{#data, #params}" (10/3) for C outputs per example.

The Gauss-Newton structure "predicted from the model's outputs at that point" needs the trained
model, so it is recorded with the run (``series.class_eigs``, ``summary.final``), not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from theoryscope.experiments.hessian.config import Config, as_dict
from theoryscope.experiments.hessian.engine import record_steps


@dataclass
class Theory:
    config: dict[str, Any]
    classes: int
    params: int
    examples: int
    cos_limit: float  # -1/(C-1)
    outliers_class: int  # C
    outliers_cross: int  # C(C-1): Papyan's count of cross-class means
    cross_rank: int  # C(C-2): the rank bound of G_cross (each class's deviations sum to zero)
    outliers_total: int  # C^2
    rank_bound_g: int
    step: np.ndarray


def predict(config: Config) -> Theory:
    c = config.classes
    n = config.examples
    per_example = c - 1 if config.loss == "ce" else c
    return Theory(
        config=as_dict(config),
        classes=c,
        params=config.params,
        examples=n,
        cos_limit=-1.0 / (c - 1),
        outliers_class=c,
        outliers_cross=c * (c - 1),
        cross_rank=c * (c - 2),
        outliers_total=c * c,
        rank_bound_g=min(config.params, n * per_example),
        step=record_steps(config.steps, config.records),
    )


def theory_to_dict(theory: Theory) -> dict[str, Any]:
    steps = theory.step.astype(float).tolist()
    return {
        "config": theory.config,
        "classes": theory.classes,
        "params": theory.params,
        "examples": theory.examples,
        "nc1_limit": 0.0,
        "nc2_equinorm_limit": 0.0,
        "nc3_limit": 0.0,
        "nc4_limit": 0.0,
        "cos_limit": theory.cos_limit,
        "outliers_class": theory.outliers_class,
        "outliers_cross": theory.outliers_cross,
        "cross_rank": theory.cross_rank,
        "outliers_total": theory.outliers_total,
        "rank_bound_g": theory.rank_bound_g,
        "step": steps,
        "cos_limit_curve": [theory.cos_limit] * len(steps),
    }

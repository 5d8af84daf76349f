"""Condition numbers against n: the ReLU Gram matrix grows like n^4 on a grid and at least like
n^3/log n on random nodes (the talk's theorem), the FE mass matrix stays O(h_max/h_min)."""

from __future__ import annotations

import math

import numpy as np

from theoryscope.experiments.fem import bases
from theoryscope.experiments.fem.mesh import make_nodes

NS = (16, 32, 64, 128, 256)


def _exponent(kind, basis, ns=NS, **kw):
    conds = [bases.condition_number(basis, make_nodes(kind, n, **kw)) for n in ns]
    return float(np.polyfit(np.log(ns), np.log(conds), 1)[0]), conds


def test_relu_condition_number_grows_like_n4_on_a_grid():
    p, conds = _exponent("uniform", "relu")
    assert abs(p - 4.0) < 0.05
    # and its constant: lambda_1/lambda_n ~ 3.7 n^4 here (docs/fem.md)
    assert 3.0 < conds[-1] / NS[-1] ** 4 < 4.5


def test_relu_condition_number_on_adaptive_nodes_grows_like_n4_too():
    p, _ = _exponent("adaptive", "relu", ns=(32, 64, 128, 256))
    assert 3.9 < p < 4.2  # the mesh ratio h_max/h_min saturates: quasi-uniform in the limit


def test_relu_condition_number_on_random_nodes_beats_the_talks_lower_bound():
    medians = []
    for n in (32, 64, 128):
        draws = [bases.condition_number("relu", make_nodes("random", n, seed=(7, n, d)))
                 for d in range(4)]  # fmt: skip
        assert min(draws) >= n**3 / math.log(n)  # talk: with probability 1 - 1/n
        medians.append(float(np.median(draws)))
    p = float(np.polyfit(np.log([32, 64, 128]), np.log(medians), 1)[0])
    assert p >= 3.0


def test_fe_condition_number_is_flat_on_a_grid_and_bounded_by_the_mesh_ratio():
    p, conds = _exponent("uniform", "fe")
    assert abs(p) < 0.02 and all(3.9 < c <= 4.0 for c in conds)
    for kind, seed in (("adaptive", 0), ("random", 1)):
        for n in NS:
            x = make_nodes(kind, n, seed=seed)
            h = np.diff(x)
            assert bases.condition_number("fe", x) <= 6 * h.max() / h.min()

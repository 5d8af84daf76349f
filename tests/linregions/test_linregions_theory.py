"""The average-case theory against Monte Carlo and exact counts: the second-moment recursion (exact
at any width), Rice's closed forms against sampled Gaussians, depth one exactly, and Hanin &
Rolnick's co-area formula (Monte Carlo over t and nets) against the exact counts of the same nets.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest

from theoryscope.experiments.linregions import theory as th
from theoryscope.experiments.linregions.coarea import coarea_layers
from theoryscope.experiments.linregions.count1d import count_segment
from theoryscope.experiments.linregions.count2d import region_map
from theoryscope.experiments.linregions.network import net_rng, random_net


def _z(sample: np.ndarray, expected: float) -> float:
    return (sample.mean() - expected) / (sample.std(ddof=1) / math.sqrt(len(sample)))


def test_second_moment_recursion_is_exact_at_width_four():
    rng = np.random.default_rng(0)
    nets, n0, widths, c_w, c_b = 40_000, 3, (4, 4, 4), 2.0, 0.3
    x = np.array([0.7, -0.2, 0.4])
    u = np.array([0.3, 0.5, -1.1])
    h = np.broadcast_to(x, (nets, n0))
    dh = np.broadcast_to(u, (nets, n0))
    moments = th.layer_moments(len(widths), n0, c_w, c_b, x @ x, x @ u, u @ u)
    fan = n0
    for width, (kw, c, d) in zip(widths, moments, strict=True):
        w = rng.normal(0, math.sqrt(c_w / fan), size=(nets, width, fan))
        y = np.einsum("bij,bj->bi", w, h)
        dy = np.einsum("bij,bj->bi", w, dh)
        for sample, expected in ((y[:, 0] ** 2, kw), (y[:, 0] * dy[:, 0], c),
                                 (dy[:, 0] ** 2, d)):  # fmt: skip
            assert abs(_z(sample, float(expected))) < 4.5
        z = y + rng.normal(0, math.sqrt(c_b), size=y.shape)
        h, dh = np.maximum(z, 0), np.where(z > 0, dy, 0.0)
        fan = width


@pytest.mark.parametrize("bias", ["gaussian", "uniform"])
def test_rice_density_matches_sampled_gaussians(bias):
    rng = np.random.default_rng(1)
    kw, c, d, c_b = 0.8, 0.35, 1.3, 0.25
    cov = np.array([[kw, c], [c, d]])
    y, dy = rng.multivariate_normal([0, 0], cov, size=600_000).T
    if bias == "gaussian":
        dens = np.exp(-0.5 * y * y / c_b) / math.sqrt(2 * math.pi * c_b)
    else:
        half = math.sqrt(3 * c_b)
        dens = np.where(np.abs(y) <= half, 1 / (2 * half), 0.0)
    sample = np.abs(dy) * dens
    expected = float(th.crossing_density(np.array(kw), np.array(c), np.array(d), c_b, bias))
    assert abs(_z(sample, expected)) < 4


def test_expected_abs_determinant_matches_sampled_gaussians():
    rng = np.random.default_rng(2)
    s1 = np.array([[1.0, 0.3], [0.3, 0.5]])
    s2 = np.array([[0.4, -0.1], [-0.1, 2.0]])
    g1 = rng.multivariate_normal([0, 0], s1, size=400_000)
    g2 = rng.multivariate_normal([0, 0], s2, size=400_000)
    sample = np.abs(g1[:, 0] * g2[:, 1] - g1[:, 1] * g2[:, 0])
    assert abs(_z(sample, float(th._expected_abs_det(s1, s2)))) < 4


@pytest.mark.parametrize("bias", ["gaussian", "uniform"])
@pytest.mark.parametrize("n0", [1, 3])
def test_depth_one_count_along_a_segment_matches_the_closed_form(bias, n0):
    x0 = np.array([-1.0, 0.5, 0.2][:n0])
    x1 = np.array([2.0, -0.5, 0.3][:n0])
    counts = np.array([count_segment(random_net(net_rng(10, i), n0, [20], c_b=0.5, bias=bias),
                                     x0, x1).activation_regions for i in range(400)])  # fmt: skip
    expected = th.expected_segment_regions([20], x0, x1, c_w=2.0, c_b=0.5, bias=bias)
    assert abs(_z(counts.astype(float), expected)) < 4


def test_depth_one_count_in_a_square_matches_the_closed_form():
    counts = np.array(
        [
            region_map(
                random_net(net_rng(11, i), 2, [10], c_b=0.3), 1.0, linear=False
            ).activation_regions
            for i in range(150)
        ]
    )
    sq = th.expected_square([10], 1.0, c_w=2.0, c_b=0.3, bias="gaussian")
    assert sq is not None
    assert abs(_z(counts.astype(float), sq.regions)) < 4


def test_bias_free_one_d_net_breaks_only_at_the_origin():
    layers = th.segment_layer_counts([5, 5], [-1.0], [2.0], c_w=2.0, c_b=0.0, bias="zero")
    assert list(layers) == [1.0, 0.0]
    net = random_net(net_rng(12, 0), 1, [5, 5], c_b=0.0, bias="zero")
    counted = count_segment(net, [-1.0], [2.0])
    assert counted.activation_regions == 2 and counted.breaks[0] == pytest.approx(1 / 3)


@pytest.mark.parametrize("bias", ["gaussian", "uniform"])
def test_coarea_formula_matches_exact_counts_of_the_same_nets(bias):
    x0, x1 = np.array([-1.0, 0.5]), np.array([1.5, 0.5])
    widths = [6, 6, 6]
    nets = [random_net(net_rng(13, i), 2, widths, c_b=0.2, bias=bias) for i in range(150)]
    exact = np.array([count_segment(n, x0, x1).per_layer(3) for n in nets], dtype=float)
    co = coarea_layers(nets, x0, x1, c_b=0.2, bias=bias, points=128,
                       key=jax.random.PRNGKey(0))  # fmt: skip
    for l in range(3):
        diff = exact[:, l] - co[:, l]
        assert abs(_z(diff, 0.0)) < 4, l
    diff = exact.sum(1) - co.sum(1)
    assert abs(_z(diff, 0.0)) < 4
    # and the estimate is not trivially close: nonzero spread per net
    assert co.sum(1).std() > 0.1


def test_count_grows_linearly_in_neurons_not_exponentially_in_depth():
    x0, x1 = np.array([-1.0]), np.array([1.0])
    slopes = {}
    for depth in (1, 4):
        means = []
        for total in (32, 64):
            widths = [total // depth] * depth
            means.append(np.mean([count_segment(random_net(net_rng(14, 97 * total + i), 1,
                                                           widths), x0, x1).activation_regions
                                  for i in range(30)]))  # fmt: skip
        slopes[depth] = (means[1] - means[0]) / 32
    assert 0.5 < slopes[4] / slopes[1] < 1.5

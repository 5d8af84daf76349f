"""Exact region counters: Telgarsky's 2^L, Zaslavsky at depth one (1-D and 2-D, general and
concurrent position), the 1-D count against a brute-force grid of activation patterns, and the
2-D map against the 1-D count along a line."""

from __future__ import annotations

import math

import numpy as np
import pytest

from theoryscope.experiments.linregions import theory as th
from theoryscope.experiments.linregions.count1d import count_segment, grid_count
from theoryscope.experiments.linregions.count2d import (
    arrangement_regions,
    greedy_colours,
    line_count,
    plane_basis,
    region_map,
)
from theoryscope.experiments.linregions.network import (
    Net,
    net_rng,
    random_net,
    telgarsky_net,
    tent_power,
)
from theoryscope.experiments.linregions.studies import global_count_1d, global_count_2d


@pytest.mark.parametrize("depth", range(1, 13))
def test_telgarsky_sawtooth_has_exactly_two_to_the_L_pieces(depth):
    net = telgarsky_net(depth)
    assert net.neurons == 3 * depth - 1 and len(net.layers) == 2 * depth
    x = np.linspace(0.0, 1.0, 1001)[:, None]
    assert np.allclose(net(x)[:, 0], tent_power(x[:, 0], depth), atol=1e-12)
    counted = count_segment(net, [0.0], [1.0])
    assert counted.regions == 2**depth
    # the pieces alternate slopes +-2^L and the knots sit at j / 2^L
    assert np.allclose(np.abs(counted.slopes), 2.0**depth)
    assert np.allclose(counted.knots, np.arange(1, 2**depth) / 2.0**depth, atol=1e-12)


def test_depth_one_global_count_is_zaslavsky_in_1d():
    for n1 in (1, 2, 5, 17, 40):
        for i in range(5):
            net = random_net(net_rng(1, 100 * n1 + i), 1, [n1], c_b=1.0)
            assert global_count_1d(net) == th.zaslavsky(n1, 1) == n1 + 1


def test_depth_one_global_count_is_zaslavsky_in_2d():
    for n1 in (1, 2, 3, 7, 20, 32):
        for i in range(3):
            net = random_net(net_rng(2, 100 * n1 + i), 2, [n1], c_b=1.0)
            w, b = net.hidden[0]
            expected = 1 + n1 + math.comb(n1, 2)
            assert th.zaslavsky(n1, 2) == expected
            assert arrangement_regions(w, b) == expected
            assert global_count_2d(net) == expected


def test_depth_one_in_general_position_by_construction():
    # lines tangent to the unit circle at distinct angles: no two parallel, no three concurrent
    angles = np.linspace(0.1, np.pi - 0.1, 9)
    w = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    b = -np.ones(9)
    net = Net(((w, b), (np.ones((1, 9)), np.zeros(1))))
    assert global_count_2d(net) == th.zaslavsky(9, 2) == 46
    assert (
        global_count_1d(Net(((np.ones((4, 1)), -np.arange(4.0)), (np.ones((1, 4)), np.zeros(1)))))
        == 5
    )


def test_concurrent_and_parallel_lines_follow_the_arrangement_count():
    # zero biases: every line through the origin, 2 n regions (Zaslavsky's formula is only a bound)
    for n1 in (1, 3, 8):
        net = random_net(net_rng(3, n1), 2, [n1], c_b=0.0, bias="zero")
        assert region_map(net, 1.0, linear=False).activation_regions == 2 * n1
        assert arrangement_regions(*net.hidden[0]) == 2 * n1 <= th.zaslavsky(n1, 2)
    # x = 0, x = -1 (parallel), y = 0 and x + y = 0 (concurrent at the origin): 9 regions
    w = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    b = np.array([0.0, 1.0, 0.0, 0.0])
    net = Net(((w, b), (np.ones((1, 4)), np.zeros(1))))
    assert arrangement_regions(w, b) == 9
    assert region_map(net, 3.0, linear=False).activation_regions == 9


def test_one_d_count_equals_a_fine_grid_of_activation_patterns_on_small_nets():
    for i, widths in enumerate(([3], [4, 3], [5, 4, 3], [6, 6])):
        net = random_net(net_rng(4, i), 1, widths, c_b=0.3)
        exact = count_segment(net, [-2.0], [2.0])
        # the grid resolves every region once its spacing is below the narrowest one
        narrowest = np.min(np.diff(np.concatenate([[0.0], exact.breaks, [1.0]])))
        points = int(min(2e6, 20.0 / narrowest + 10))
        assert grid_count(net, [-2.0], [2.0], points) == exact.activation_regions
        # the per-layer attribution adds up
        assert exact.per_layer(len(widths)).sum() == exact.activation_regions - 1


def test_grid_count_misses_regions_narrower_than_its_spacing():
    net = telgarsky_net(8)
    assert grid_count(net, [0.0], [1.0], 64) < 256 == count_segment(net, [0.0], [1.0]).regions


def test_linear_regions_merge_pieces_where_no_active_path_reaches_the_output():
    # neuron 2 of layer 1 feeds only a dead layer-2 neuron: its kink changes the pattern, not f
    w1 = np.array([[1.0], [1.0]])
    b1 = np.array([0.0, -0.5])
    w2 = np.array([[1.0, 0.0], [0.0, -1.0]])  # second unit: -relu(x - 1/2) <= 0, always off
    b2 = np.array([0.0, 0.0])
    net = Net(((w1, b1), (w2, b2), (np.array([[1.0, 1.0]]), np.zeros(1))))
    counted = count_segment(net, [-1.0], [1.0])
    assert counted.activation_regions == 3  # kinks at 0 and 1/2
    assert counted.regions == 2 and np.allclose(counted.knots, [0.5])  # only x = 0 bends f


def test_two_d_map_counts_along_a_line_like_the_1d_counter():
    net = random_net(net_rng(5, 0), 2, [12, 12, 12], c_b=0.2)
    pmap = region_map(net, 1.2)
    assert pmap.layer_counts[-1] == pmap.activation_regions
    for level in (-0.9, -0.31, 0.0123, 0.77):
        exact = count_segment(net, [-1.2, level], [1.2, level])
        assert line_count(pmap, level) == exact.activation_regions
    # polygons tile the square, patterns are distinct, linear regions <= activation regions
    area = sum(abs(0.5 * np.sum(p[:, 0] * np.roll(p[:, 1], -1) - p[:, 1] * np.roll(p[:, 0], -1)))
               for p in pmap.polygons)  # fmt: skip
    assert area == pytest.approx(pmap.area, rel=1e-12)
    assert len({row.tobytes() for row in pmap.patterns}) == pmap.activation_regions
    assert pmap.linear_regions <= pmap.activation_regions


def test_two_d_slice_of_a_higher_dimensional_input():
    net = random_net(net_rng(6, 0), 5, [10, 10], c_b=0.1)
    center, basis = plane_basis(5, offset=0.4)
    pmap = region_map(net, 1.0, center=center, basis=basis)
    a = center + basis @ np.array([-1.0, 0.25])
    b = center + basis @ np.array([1.0, 0.25])
    assert line_count(pmap, 0.25) == count_segment(net, a, b).activation_regions


def test_neighbouring_regions_get_different_colours():
    net = random_net(net_rng(7, 0), 2, [8, 8], c_b=0.2)
    pmap = region_map(net, 1.0)
    colours = greedy_colours(pmap, 8)
    assert pmap.adjacency and all(colours[i] != colours[j] for i, j in pmap.adjacency)


def test_counts_respect_the_worst_case_bounds():
    assert th.serra_bound(1, [5]) == 6 and th.serra_bound(2, [5]) == 16
    assert th.serra_bound(3, [2]) == 4  # n1 <= n0: 2^n1
    for widths in ([4, 4], [3, 2, 3]):
        bound = th.serra_bound(1, widths)
        assert bound <= 3 ** sum(widths)
        for i in range(20):
            net = random_net(net_rng(8, i), 1, widths, c_b=1.0)
            assert count_segment(net, [-50.0], [50.0]).regions <= bound
    assert th.bounds(2, [300, 300])["log10_three_power"] == pytest.approx(600 * math.log10(3))

"""Node sets: the adaptive map F (monotone, hits the ends, its closed form for arctan(25x)),
the targets' derivatives, random nodes reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from theoryscope.errors import ConfigError
from theoryscope.experiments.fem import mesh
from theoryscope.experiments.fem.targets import get_target

TARGETS = ["arctan", "gauss", "cosine", "sine"]


@pytest.mark.parametrize("name", TARGETS)
def test_derivatives_match_central_differences(name):
    target = get_target(name, 3)
    x = np.linspace(-0.97, 0.97, 41)
    step = 1e-6
    fd = (target.f(x + step) - target.f(x - step)) / (2 * step)
    assert np.allclose(target.df(x), fd, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("name", TARGETS)
def test_adaptive_map_is_monotone_from_zero_to_one(name):
    z, fz = mesh.adaptive_map(get_target(name, 2))
    assert fz[0] == 0.0 and fz[-1] == pytest.approx(1.0, abs=1e-15)
    assert np.all(np.diff(fz) >= 0)
    assert z[0] == -1.0 and z[-1] == 1.0


@pytest.mark.parametrize("name", TARGETS)
@pytest.mark.parametrize("n", [3, 10, 100, 1000])
def test_adaptive_nodes_hit_the_ends_and_increase(name, n):
    x = mesh.make_nodes("adaptive", n, target=name, freq=2)
    assert len(x) == n and x[0] == -1.0 and x[-1] == 1.0
    assert np.all(np.diff(x) > 0)


def test_arctan_map_closed_form_matches_the_numerical_map_and_its_inverse():
    target = get_target("arctan")
    z, fz = mesh.adaptive_map(target)
    assert np.max(np.abs(mesh.arctan_map(z) - fz)) < 3e-9  # trapezoid rule, O(grid^-2)
    t = np.linspace(0, 1, 11)
    assert np.allclose(mesh.arctan_map(mesh.arctan_inverse_map(t)), t, atol=1e-14)
    x = mesh.adaptive_nodes(target, 200)
    # F(x_i) = (i - 1)/(n - 1): the talk's definition
    assert np.allclose(mesh.arctan_map(x), np.arange(200) / 199, atol=1e-14)
    numeric = mesh.adaptive_nodes(target, 200, closed_form=False)
    assert np.max(np.abs(numeric - x)) < 1e-8
    # nodes crowd where |f'| is large: the smallest element sits at x = 0
    h = np.diff(x)
    assert abs(x[np.argmin(h)]) < 0.01 and h.max() / h.min() > 100


def test_uniform_and_random_nodes():
    assert np.allclose(mesh.make_nodes("uniform", 5), [-1, -0.5, 0, 0.5, 1])
    a = mesh.make_nodes("random", 50, seed=3)
    assert np.array_equal(a, mesh.make_nodes("random", 50, seed=3))
    assert not np.array_equal(a, mesh.make_nodes("random", 50, seed=4))
    assert a[0] == -1 and a[-1] == 1 and np.all(np.diff(a) > 0)


def test_bad_node_requests_are_config_errors():
    with pytest.raises(ConfigError) as info:
        mesh.make_nodes("uniform", 2)
    assert info.value.field == "n"
    with pytest.raises(ConfigError) as info:
        mesh.make_nodes("chebyshev", 10)
    assert info.value.field == "nodes"

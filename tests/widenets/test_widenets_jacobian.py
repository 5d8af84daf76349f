"""Random ReLU networks (spec 5): exact finite-width Jacobian moments against Monte Carlo."""

from __future__ import annotations

import pytest

from theoryscope.errors import ConfigError
from theoryscope.experiments.widenets.jacobian import (
    jacobian_moments,
    jacobian_theory,
    ntk_diagonal,
    parse_widths,
)


def test_theory_values():
    th = jacobian_theory("3,20,20,1")
    assert th["m2"] == pytest.approx(2 / 3)
    assert th["m4"] == pytest.approx(12 / 9 * 1.25**2)
    assert jacobian_theory([4, 1])["m4"] == pytest.approx(12 / 16)  # Gaussian: 3 (2/n0)^2


@pytest.mark.parametrize("widths", ["3,20,20,1", "2,3,4,1"])
def test_moments_by_monte_carlo_within_4_standard_errors(widths):
    th = jacobian_theory(widths)
    mc = jacobian_moments(widths, nets=20000, seed=7)
    assert abs(mc["m2"] - th["m2"]) < 4 * mc["se2"]
    assert abs(mc["m4"] - th["m4"]) < 4 * mc["se4"]


def test_narrow_nets_reject_the_exponential_form():
    # at widths 3,3 the exact product (1 + 5/3)^2 = 7.1 is far from exp(10/3) = 28
    th = jacobian_theory("2,3,3,1")
    mc = jacobian_moments("2,3,3,1", nets=20000, seed=3)
    assert abs(mc["m4"] - th["m4"]) < 4 * mc["se4"]
    assert abs(mc["m4"] - th["m4_exp_approx"]) > 10 * mc["se4"]


def test_ntk_diagonal_is_2L_norm_over_n0():
    out = ntk_diagonal("3,10,10,1", nets=400, seed=0)
    assert out["theory"] == 6.0
    assert abs(out["mc"] - out["theory"]) < 4 * out["se"]


def test_bad_widths():
    with pytest.raises(ConfigError, match="widths: got 0; allowed: an integer >= 1"):
        parse_widths("3,0,1")
    with pytest.raises(ConfigError, match="widths: has 1 entry"):
        parse_widths("3")

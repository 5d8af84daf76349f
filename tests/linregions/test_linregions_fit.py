"""The slope fit of the depth study against the closed form of weighted least squares, and its
degenerate inputs (found by the CLI fuzz: two points whose counts do not vary gave se = 0, a
weight of 1e18 and a negative variance from the normal equations, ``math domain error``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from theoryscope.experiments.linregions.studies import _fit_line


def _closed_form(x, y, se):
    """slope = S_xy / S_xx and var(slope) = 1 / S_xx, weights 1/se^2 about the weighted means."""
    x, y, w = np.asarray(x, float), np.asarray(y, float), 1.0 / np.asarray(se, float) ** 2
    xb, yb = (w * x).sum() / w.sum(), (w * y).sum() / w.sum()
    sxx = (w * (x - xb) ** 2).sum()
    slope = (w * (x - xb) * (y - yb)).sum() / sxx
    return slope, 1.0 / math.sqrt(sxx), yb - slope * xb


@pytest.mark.parametrize("se", [(0.2, 0.3, 2.0, 1.0), (1e-9, 0.3, 2.0, 1.0), (1e-9,) * 4])
def test_weighted_fit_matches_the_closed_form(se):
    rng = np.random.default_rng(3)
    x = np.array([8.0, 16.0, 32.0, 64.0])
    y = 0.5 * x + rng.normal(size=4)
    fit = _fit_line(x, y, se)
    slope, slope_se, intercept = _closed_form(x, y, se)
    assert fit["slope"] == pytest.approx(slope, rel=1e-9)
    assert fit["slope_se"] == pytest.approx(slope_se, rel=1e-9)
    assert fit["intercept"] == pytest.approx(intercept, rel=1e-9, abs=1e-9)


def test_two_points_with_zero_spread_give_the_line_through_them():
    fit = _fit_line([8, 16], [7, 15], [1e-9, 1e-9])  # the fuzz's input: se floored at 1e-9
    assert fit["slope"] == pytest.approx(1.0) and fit["intercept"] == pytest.approx(-1.0)
    assert fit["slope_se"] is not None and 0 <= fit["slope_se"] < 1e-8


def test_unweighted_without_a_standard_error():
    fit = _fit_line([1, 2, 3], [2.0, 4.0, 6.0])
    assert fit["slope"] == pytest.approx(2.0) and fit["slope_se"] is None
    # one net per point has no se (NaN): the fit is unweighted, with no slope se
    fit = _fit_line([1, 2, 3], [2.0, 4.0, 6.0], [float("nan")] * 3)
    assert fit["slope"] == pytest.approx(2.0) and fit["slope_se"] is None


def test_no_line_from_a_single_distinct_x():
    # depth 4 with totals 1 and 2: both points have width 1, N = 4
    assert _fit_line([4, 4], [2.0, 3.0], [0.5, 0.5]) == {
        "slope": None, "slope_se": None, "intercept": None}  # fmt: skip

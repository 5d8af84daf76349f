"""Criticality (spec 3): the relu and tanh critical points, the chi_perp = 1 curve, phases."""

from __future__ import annotations

import numpy as np

from theoryscope.experiments.widenets.criticality import (
    critical_point,
    fixed_point,
    phase_diagram,
    susceptibilities,
    tanh_decay,
    variance_map,
)


def test_relu_critical_point_is_he_initialization():
    c = critical_point("relu")
    assert (c.cw, c.cb) == (2.0, 0.0)
    assert c.exact and c.k_star_free
    assert abs(c.chi_par - 1) < 1e-12 and abs(c.chi_perp - 1) < 1e-12


def test_tanh_critical_point_is_cb0_cw1_kstar0():
    c = critical_point("tanh")
    assert (c.cb, c.cw, c.k_star) == (0.0, 1.0, 0.0)
    assert c.exact and not c.k_star_free and c.curve is None


def test_erf_is_in_the_tanh_class():
    c = critical_point("erf")
    assert c.k_star == 0.0 and c.cb == 0.0
    assert abs(c.cw - np.pi / 4) < 1e-10  # 1 / erf'(0)^2


def test_gelu_has_a_nonzero_critical_point_with_both_susceptibilities_one():
    c = critical_point("gelu")
    assert c.exact and c.k_star > 1 and c.cb > 0
    chi_par, chi_perp = susceptibilities("gelu", c.k_star, c.cw)
    assert abs(chi_par - 1) < 1e-8 and abs(chi_perp - 1) < 1e-8
    assert abs(float(variance_map("gelu", c.k_star, c.cw, c.cb)[0]) - c.k_star) < 1e-9
    assert (
        abs(
            fixed_point("tanh", 0.8, 0.1)
            - float(variance_map("tanh", fixed_point("tanh", 0.8, 0.1), 0.8, 0.1)[0])
        )
        < 1e-10
    )


def test_no_exact_point_returns_the_chi_perp_curve():
    c = critical_point("sqrt2cos")
    assert not c.exact and c.curve is not None and len(c.curve["cw"]) > 10
    for i in (0, len(c.curve["cw"]) // 2, -1):
        k, cw = c.curve["k"][i], c.curve["cw"][i]
        assert abs(susceptibilities("sqrt2cos", k, cw)[1] - 1) < 1e-10
        assert c.curve["cb"][i] >= 0


def test_tanh_variance_decays_like_one_over_2l():
    out = tanh_decay(2000)
    assert abs(out["l_times_k"] - 0.5) < 0.01


def test_phase_diagram_orders_and_chaos():
    pd = phase_diagram("tanh", (0.5, 4.0), (0.0, 0.3), n=8)
    chi = pd["chi_perp"]
    assert chi[0, 0] < 1 < chi[-1, 0]  # small C_w ordered, large C_w chaotic (C_b = 0)
    relu = phase_diagram("relu", (0.5, 1.9), (0.0, 0.3), n=5)
    assert np.allclose(relu["chi_perp"], relu["cw"][:, None] / 2, rtol=1e-10)

"""Least-squares fits: the FE rows of the talk's Table 1 reproduced, the two bases giving the
same fit in float64, the ReLU basis losing it in float32, and the solvers themselves."""

from __future__ import annotations

import numpy as np
import pytest

from theoryscope.experiments.fem import bases, lsq
from theoryscope.experiments.fem.mesh import make_nodes
from theoryscope.experiments.fem.studies import TALK_TABLE
from theoryscope.experiments.fem.targets import get_target

ARCTAN = get_target("arctan")


@pytest.mark.parametrize("kind", ["uniform", "adaptive"])
@pytest.mark.parametrize("n", [100, 1000])
def test_fe_rows_of_the_talks_table_are_reproduced_to_the_printed_digits(kind, n):
    x = make_nodes(kind, n)
    load = bases.loads(ARCTAN, x).fe
    for dtype in ("float32", "float64"):
        fit = lsq.fit("fe", x, ARCTAN, dtype, "solve", fe_load=load)
        talk_max, talk_mse = TALK_TABLE[("fe", kind, n, dtype)]
        assert fit.max_error == pytest.approx(talk_max, rel=0.01), dtype
        assert fit.mse == pytest.approx(talk_mse, rel=0.01), dtype


def test_relu_and_fe_give_the_same_fit_in_float64_and_not_in_float32():
    x = make_nodes("uniform", 100)
    load = bases.loads(ARCTAN, x).fe
    fits = {(b, d): lsq.fit(b, x, ARCTAN, d, "solve", fe_load=load)
            for b in ("relu", "fe") for d in ("float32", "float64")}  # fmt: skip
    test = lsq.test_grid()
    h_relu = bases.evaluate("relu", x, fits[("relu", "float64")].coefficients, test)
    h_fe = bases.evaluate("fe", x, fits[("fe", "float64")].coefficients, test)
    assert np.max(np.abs(h_relu - h_fe)) < 1e-7  # cond(G) ~ 4e8: rounding ~ 1e-8
    assert fits[("relu", "float64")].mse == pytest.approx(
        TALK_TABLE[("relu", "uniform", 100, "float64")][1], rel=0.01
    )
    # float32: the ReLU fit is far off (low-pass filter), the FE fit is not
    assert fits[("relu", "float32")].max_error > 3 * fits[("fe", "float32")].max_error
    assert fits[("fe", "float32")].max_error == pytest.approx(0.0137, rel=0.01)


def test_the_fit_is_the_exact_l2_projection():
    # residual orthogonal to the basis: G a = F, and the FE nodal values solve M v = F_fe
    x = make_nodes("random", 30, seed=2)
    loads = bases.loads(ARCTAN, x)
    fit = lsq.fit("fe", x, ARCTAN, "float64", "solve", fe_load=loads.fe)
    assert np.allclose(bases.mass_matrix(x) @ fit.coefficients, loads.fe, atol=1e-15)
    relu = lsq.fit("relu", x, ARCTAN, "float64", "pinv", fe_load=loads.fe)
    v = bases.nodal_values("relu", x, relu.coefficients)
    assert np.max(np.abs(v - fit.coefficients)) < 1e-9 and relu.rank == 30
    # dense samples converge to it: sampled least squares = quadrature of the L2 problem
    sampled = lsq.fit("fe", x, ARCTAN, "float64", "samples", samples=20_000)
    assert np.max(np.abs(sampled.coefficients - fit.coefficients)) < 2e-3


def test_pinv_solve_follows_matlab_tolerance():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 8))
    y = rng.normal(size=50)
    coef, rank = lsq.pinv_solve(a, y, "float64")
    assert rank == 8 and np.allclose(coef, np.linalg.lstsq(a, y, rcond=None)[0], atol=1e-12)
    # a singular value at 1e-10 sigma_1 is kept in float64 (tol 50 eps) and dropped in float32
    u, _, vt = np.linalg.svd(a, full_matrices=False)
    s = np.array([1.0, 0.5, 0.2, 0.1, 0.05, 0.01, 1e-3, 1e-10])
    b = (u * s) @ vt
    assert lsq.pinv_solve(b, y, "float64")[1] == 8
    assert lsq.pinv_solve(b, y, "float32")[1] == 7


def test_float32_relu_gram_loses_rank_with_n_not_the_fe_gram():
    x = make_nodes("uniform", 100)
    load = bases.loads(ARCTAN, x).fe
    relu = lsq.fit("relu", x, ARCTAN, "float32", "pinv", fe_load=load)
    fe = lsq.fit("fe", x, ARCTAN, "float32", "pinv", fe_load=load)
    assert relu.rank is not None and relu.rank < 20 and fe.rank == 100

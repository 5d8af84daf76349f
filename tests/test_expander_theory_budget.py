"""Every modeling-ODE solve has a budget (evaluations and seconds) and fails in one line.

``coef = 1e308`` (or 1e200) used to keep LSODA looping inside a single step forever: the CLI
hung, and on the web lab the worker thread kept spinning after the request was gone. ``1e30``
printed raw SciPy / NumPy warnings and an "internal error (LSODA)". Now each of them is a
:class:`~theoryscope.errors.SolveError` naming the fields to change, and nothing else is printed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from theoryscope.cli.main import main
from theoryscope.errors import ConfigError, SolveBudgetError, SolveError
from theoryscope.experiments.expander import Config
from theoryscope.experiments.expander import theory as th

HUGE = [1e308, -1e308, 1e200]


@pytest.mark.parametrize("coef", HUGE)
def test_a_huge_coefficient_stops_at_the_evaluation_budget(coef):
    with pytest.raises(SolveBudgetError) as caught:
        th.solve_ode(alphas=[(1, 1, 0)], gamma=0.1, coefs=[coef], max_evals=3000)
    err = caught.value
    assert isinstance(err, ConfigError) and err.field == "coef"
    assert err.budget == "evaluations" and err.limit == 3000
    line = str(err)
    assert "\n" not in line and "3,000" in line and "coef, gamma, alpha or b0" in line


def test_the_wall_clock_budget_is_checked_inside_the_solve():
    with pytest.raises(SolveBudgetError) as caught:
        th.solve_ode(alphas=[(1, 1, 0)], gamma=0.1, coefs=[1e308], max_evals=10**9, max_seconds=0.3)
    assert caught.value.budget == "seconds" and "0.3 s" in str(caught.value)


def test_predict_uses_the_default_budget(monkeypatch):
    """predict (what the CLI, the web lab and sweeps call) is budgeted without being asked.

    A coefficient above 1e3 is now refused by the Config's bound before any solve, so the
    budget is shown by lowering it below what an ordinary solve needs."""
    monkeypatch.setattr(th, "SOLVE_MAX_EVALS", 5)
    cfg = Config.create(d=3, gamma=0.1, alpha=[(1, 1, 0)], coef=[1.0])
    with pytest.raises(SolveBudgetError, match="5 "):
        th.predict(cfg)


def test_huge_coefficients_are_refused_by_the_bound_before_any_solve():
    for coef in (*HUGE, 1e30):
        with pytest.raises(ConfigError, match="coef: got .*; allowed: a number >= -1000"):
            Config.create(d=3, gamma=0.1, alpha=[(1, 1, 0)], coef=[coef])


def test_solver_failures_are_one_line_and_print_no_warnings():
    """1e30: LSODA gives up ('repeated convergence failures'); no raw warning escapes."""
    with warnings.catch_warnings(record=True) as seen, np.errstate(all="warn"):
        warnings.simplefilter("always")
        with pytest.raises(SolveError) as caught:
            th.solve_ode(alphas=[(1, 1, 0)], gamma=0.1, coefs=[1e30])
    assert seen == []
    line = str(caught.value)
    assert "\n" not in line and line.startswith("coef: the modeling ODE")
    assert "convergence" in line and "change coef, gamma, alpha or b0" in line


def test_a_normal_solve_is_untouched_by_the_budget():
    """The budget only counts: a default config uses a small part of it and warns nothing."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        sol = th.solve_ode(Config())
    assert seen == []
    assert sol.converged and 0 < sol.nfev < th.SOLVE_MAX_EVALS / 10
    # the same numbers whatever the budget, as long as it suffices
    tight = th.solve_ode(Config(), max_evals=sol.nfev + 200)
    np.testing.assert_array_equal(tight.loss, sol.loss)
    np.testing.assert_array_equal(tight.t_half, sol.t_half)


def test_warnings_elsewhere_are_left_alone():
    """The solve captures warnings only while it runs; the process's filters are restored."""
    before = list(warnings.filters)
    th.solve_ode(alphas=[(1, 0)], gamma=0.1)
    assert warnings.filters == before
    with pytest.warns(UserWarning, match="still shown"):
        warnings.warn("still shown", UserWarning, stacklevel=1)


def test_the_cli_prints_one_line_and_exits_2(monkeypatch, capsys):
    monkeypatch.setattr(th, "SOLVE_MAX_EVALS", 5)
    code = main(["expander", "theory", "--alpha", "1,1,0"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "the modeling ODE did not settle within its budget" in err
    code = main(["expander", "theory", "--alpha", "1,1,0", "--coef", "1e308"])
    out, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "internal error" not in err
    assert err.startswith("error: coef: got 1e+308; allowed:") and "Warning" not in err

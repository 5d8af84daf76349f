"""Tests of the Expander Nets figures on a synthetic run (no simulation needed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure

from theoryscope.experiments.expander.config import Config
from theoryscope.experiments.expander.plots import plot_run, plot_theory, save_figure
from theoryscope.experiments.expander.theory import predict, theory_to_dict
from theoryscope.protocol import Run


@pytest.fixture(scope="module")
def cfg():
    return Config.create(d=3, gamma=0.01, alpha=[(1, 1, 0)], lr=0.01, t_eff=300, k=100)


@pytest.fixture(scope="module")
def theory(cfg):
    return predict(cfg)


def _fake_run(cfg, theory, *, t_half_sim=(140.0,), m=1, with_ema=True):
    n = 120
    step = np.unique(np.geomspace(1, cfg.steps, n).astype(int)).astype(float)
    n = step.size
    t = step * cfg.lr
    rng = np.random.default_rng(1)
    ode = theory.ode
    lp = np.interp(t / 1.1, ode.t, ode.loss) + 1e-4
    W1 = np.zeros((n, 3, 3))
    for i in range(3):
        W1[:, i, i] = np.interp(t / 1.1, ode.t, ode.a[:, i])
    W1[:, 0, 1] = 0.01 * rng.standard_normal(n)
    series = {
        "step": step,
        "t_eff": t,
        "loss_batch": lp * rng.uniform(0.5, 1.5, n),
        "loss_population": lp,
        "W1": W1,
        "w2_scaled_norm": np.interp(t / 1.1, ode.t, ode.b_norm),
        "overlap": np.zeros((n, m)),
        "term_loss": np.tile(lp[:, None], (1, m)) / m,
    }
    if with_ema:
        series["loss_ema"] = lp * 1.05
    return Run(
        experiment="expander",
        config=cfg.to_dict(),
        seed=0,
        status="finished",
        series=series,
        summary={"t_half_sim": list(t_half_sim)},
    )


@pytest.mark.parametrize("x", ["t_eff", "step"])
@pytest.mark.parametrize("logx,logy", [(False, True), (True, True), (True, False)])
def test_plot_run_axes_and_lines(cfg, theory, x, logx, logy):
    fig = plot_run(_fake_run(cfg, theory), theory, x=x, logx=logx, logy=logy)
    assert isinstance(fig, Figure)
    left, right = fig.axes
    # left: batch, EMA, population, ODE loss + t_rise, t_half_ode, t_half_sim markers
    assert len(left.lines) == 7
    # right: off-diagonals (one line), 3 diagonals, sqrt(k)|W2|, 3 a_i(t), |b|
    assert len(right.lines) == 9
    assert left.get_xscale() == ("log" if logx else "linear")
    assert left.get_yscale() == ("log" if logy else "linear")
    assert right.get_yscale() == "linear"
    labels = left.get_legend_handles_labels()[1]
    assert any("t_{\\mathrm{rise}}" in s for s in labels)
    assert any("ODE" in s for s in labels)
    # theory time is drawn at t / eta on the step axis
    ode_line = next(ln for ln in left.lines if ln.get_label() == "ODE loss (theory)")
    xmax = float(np.max(ode_line.get_xdata()))
    scale = cfg.lr if x == "step" else 1.0
    assert xmax == pytest.approx(cfg.t_eff / scale, rel=0.02)
    rise = next(ln for ln in left.lines if "rise" in ln.get_label())
    assert rise.get_xdata()[0] == pytest.approx(theory.terms[0].t_rise / scale)


def test_plot_run_without_theory_and_missing_pieces(cfg, theory):
    run = _fake_run(cfg, theory, t_half_sim=(None,), with_ema=False)
    fig = plot_run(run)
    left, right = fig.axes
    assert len(left.lines) == 2  # batch + population; no theory, no marker for None
    assert len(right.lines) == 5  # off-diagonals, 3 diagonals, W2 norm


def test_plot_run_theory_dict_and_multi_term(theory):
    cfg2 = Config.create(d=3, gamma=0.01, alpha=[(1, 1, 0), (0, 0, 1)], lr=0.01, t_eff=300)
    th2 = predict(cfg2)
    run = _fake_run(cfg2, th2, t_half_sim=(130.0, None), m=2)
    fig = plot_run(run, theory_to_dict(th2), logx=True)
    left, _ = fig.axes
    labels = left.get_legend_handles_labels()[1]
    assert sum("term 1" in s for s in labels) >= 3
    assert sum("term 2" in s for s in labels) >= 3
    assert "$h_{(1,1,0)}$" in fig._suptitle.get_text()


def test_bad_axis_raises(cfg, theory):
    with pytest.raises(ValueError):
        plot_run(_fake_run(cfg, theory), theory, x="time")


def test_plot_theory_and_save_png(theory, tmp_path):
    fig = plot_theory(theory)
    left, right = fig.axes
    assert len(left.lines) == 3  # ODE loss + t_rise + t_half_ode
    assert len(right.lines) == 4  # a_1..a_3, |b|
    path = save_figure(fig, tmp_path / "sub" / "theory.png", dpi=60)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000

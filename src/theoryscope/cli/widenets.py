"""``theoryscope widenets``: kernels at initialization, criticality, random ReLU nets, lazy training.

Every command validates its options (one line ``error: --option: ...`` and exit code 2 on bad
input), stores its result as a run (``--store PATH``, default ``$THEORYSCOPE_STORE`` or the user
data directory; ``--no-store`` to skip), writes PNG figures to ``--out DIR`` when given, and prints
either a short text summary or one JSON object (``--json``).

Stored experiments: ``widenets`` (the lazy-training run, through the protocol runner) and
``widenets.<study>`` for the pure studies (series share one record axis per run).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import typer

from theoryscope.cli.common import (
    EXIT_DIVERGED,
    EXIT_FAILED,
    STORE_HELP,
    emit_json,
    fail,
    open_store,
)
from theoryscope.core.validation import as_choice, as_float, as_int, as_int_tuple
from theoryscope.errors import ConfigError, TheoryscopeError

app = typer.Typer(
    help="Wide networks: NNGP/NTK kernels, criticality, random ReLU nets, lazy training.",
    no_args_is_help=True,
)

ACT_HELP = "Activation: relu, erf, identity, sqrt2cos, cos (closed forms); tanh, gelu, softplus, sin, swish (quadrature)."
OUT_HELP = "Directory for PNG figures (none written unless given)."


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a ConfigError into ``error: --option: ...`` on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConfigError as err:
            fail(f"--{err.field.replace('_', '-')}: {err.message}")
        except TheoryscopeError as err:
            fail(str(err))

    return wrapper


def _floats(field: str, text: str, *, low: float | None = None, low_open: bool = False) -> Any:
    """One number or a comma-separated list (per-layer values)."""
    parts = [p for p in str(text).split(",") if p.strip() != ""]
    if not parts:
        raise ConfigError(field, "is empty; allowed: a number or a comma-separated list")
    vals = [as_float(field, p, low=low, low_open=low_open) for p in parts]
    return vals[0] if len(vals) == 1 else vals


def _activation(name: str) -> str:
    from theoryscope.experiments.widenets.activations import ACTIVATIONS

    return as_choice("activation", name, ACTIVATIONS)


def _store_run(
    store_path: Path | None,
    no_store: bool,
    experiment: str,
    config: Mapping[str, Any],
    seed: int,
    series: Mapping[str, np.ndarray] | None,
    summary: Mapping[str, Any],
    seconds: float,
) -> str | None:
    """Store a pure study's result as a finished run; returns its id (None with --no-store)."""
    if no_store:
        return None
    store = open_store(store_path)
    run_id = store.create_run(experiment, dict(config), int(seed))
    if series:
        store.append_series(run_id, {k: np.asarray(v) for k, v in series.items()})
    store.finish_run(run_id, status="finished", summary=dict(summary), timings={"seconds": seconds})
    return run_id


def _figure(out: Path | None, name: str, make: Callable[[], Any]) -> str | None:
    if out is None:
        return None
    from theoryscope.experiments.widenets import plots

    return str(plots.save(make(), out, name))


def _echo_pairs(pairs: Mapping[str, Any]) -> None:
    for k, v in pairs.items():
        typer.echo(f"  {k:<22} {v:.6g}" if isinstance(v, float) else f"  {k:<22} {v}")


# -- kernels ---------------------------------------------------------------------------------------
@app.command("propagate")
@_guard
def propagate_command(
    activation: str = typer.Option("relu", "--activation", help=ACT_HELP),
    cw: str = typer.Option(
        "2", "--cw", help="Weight variance C_w > 0 (or one per layer, comma-separated)."
    ),
    cb: str = typer.Option("0", "--cb", help="Bias variance C_b >= 0 (or one per layer)."),
    q0: str = typer.Option("1", "--q0", help="Layer-1 pre-activation variance q0 > 0."),
    rho0: str = typer.Option(
        "0.0", "--rho0", help="Layer-1 correlation of the two inputs, in [-1, 1]."
    ),
    depth: str = typer.Option("10", "--depth", help="Number of layers >= 1."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
    no_store: bool = typer.Option(False, "--no-store", help="Do not store the run."),
    out: Path = typer.Option(None, "--out", help=OUT_HELP),
) -> None:
    """Depth propagation of the variance q and correlation rho of two inputs (spec 2, 3)."""
    from theoryscope.experiments.widenets.kernels import propagate_correlation

    act = _activation(activation)
    cfg = {
        "activation": act,
        "cw": _floats("cw", cw, low=0.0, low_open=True),
        "cb": _floats("cb", cb, low=0.0),
        "q0": as_float("q0", q0, low=0.0, low_open=True),
        "rho0": as_float("rho0", rho0, low=-1.0, high=1.0),
        "depth": as_int("depth", depth, low=1),
    }
    t0 = time.perf_counter()
    layers = propagate_correlation(
        cfg["q0"], cfg["rho0"], activation=act, cw=cfg["cw"], cb=cfg["cb"], depth=cfg["depth"]
    )
    series = {k: np.asarray([r[k] for r in layers]) for k in ("l", "q", "rho")}
    _store_run(
        store_path,
        no_store,
        "widenets.propagate",
        cfg,
        0,
        series,
        {"final": layers[-1]},
        time.perf_counter() - t0,
    )
    from theoryscope.experiments.widenets import plots

    _figure(
        out, f"propagate-{act}", lambda: plots.propagation(layers, f"{act}, C_w={cw}, C_b={cb}")
    )
    if as_json:
        emit_json({"layers": layers})
        return
    typer.echo("  l     q              rho")
    for r in layers:
        typer.echo(f"  {r['l']:<5} {r['q']:<14.8g} {r['rho']:.8g}")


@app.command("kernels")
@_guard
def kernels_command(
    activation: str = typer.Option("relu", "--activation", help=ACT_HELP),
    depth: str = typer.Option("3", "--depth", help="Weight layers L >= 1."),
    cw: str = typer.Option("2", "--cw", help="C_w > 0 (or one per layer)."),
    cb: str = typer.Option("0", "--cb", help="C_b >= 0 (or one per layer)."),
    inputs: str = typer.Option("4", "--inputs", help="Number of random inputs >= 1."),
    dim: str = typer.Option("3", "--dim", help="Input dimension n_0 >= 1."),
    normalize: bool = typer.Option(
        True, "--normalize/--no-normalize", help="Unit-norm inputs (|x|^2 = n_0)."
    ),
    method: str = typer.Option("auto", "--method", help="auto, closed, quadrature or table."),
    float64: bool = typer.Option(True, "--float64/--float32", help="Precision (default float64)."),
    seed: str = typer.Option("0", "--seed", help="Seed of the random inputs."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
    no_store: bool = typer.Option(False, "--no-store", help="Do not store the run."),
    out: Path = typer.Option(None, "--out", help=OUT_HELP),
) -> None:
    """NNGP K^(L) and NTK Theta^(L) of random inputs (spec 2, 4)."""
    from theoryscope.experiments.widenets.kernels import METHODS, kernels

    act = _activation(activation)
    n = as_int("inputs", inputs, low=1, high=20000)
    d = as_int("dim", dim, low=1)
    s = as_int("seed", seed, low=0)
    L = as_int("depth", depth, low=1)
    cfg = {
        "activation": act, "depth": L, "cw": _floats("cw", cw, low=0.0, low_open=True),
        "cb": _floats("cb", cb, low=0.0), "inputs": n, "dim": d, "normalize": normalize,
        "method": as_choice("method", method, METHODS), "dtype": "float64" if float64 else "float32",
    }  # fmt: skip
    x = np.random.default_rng(s).standard_normal((n, d))
    if normalize:
        x *= np.sqrt(d) / np.linalg.norm(x, axis=1, keepdims=True)
    t0 = time.perf_counter()
    res = kernels(
        x,
        activation=act,
        depth=L,
        cw=cfg["cw"],
        cb=cfg["cb"],
        method=cfg["method"],
        dtype=cfg["dtype"],
    )
    secs = time.perf_counter() - t0
    payload = {
        "nngp": res.nngp.tolist(),
        "ntk": res.ntk.tolist(),
        "method": res.method,
        "seconds": secs,
    }
    series = {"row": np.arange(n), "nngp": np.asarray(res.nngp), "ntk": np.asarray(res.ntk)}
    payload["run_id"] = _store_run(
        store_path, no_store, "widenets.kernels", cfg, s, series, {"method": res.method}, secs
    )
    if out is not None:
        import matplotlib.pyplot as plt

        def make() -> Any:
            fig, axes = plt.subplots(1, 2, figsize=(9, 4))
            for ax, mat, name in zip(axes, (res.nngp, res.ntk), ("NNGP", "NTK"), strict=True):
                im = ax.imshow(mat, cmap="viridis")
                ax.set_title(f"{name}, {act}, L={L}")
                fig.colorbar(im, ax=ax)
            return fig

        _figure(out, f"kernels-{act}", make)
    if as_json:
        emit_json(payload)
        return
    typer.echo(f"method {res.method}, {secs:.3f} s")
    typer.echo("NNGP:\n" + np.array2string(np.asarray(res.nngp), precision=5))
    typer.echo("NTK:\n" + np.array2string(np.asarray(res.ntk), precision=5))


@app.command("convergence")
@_guard
def convergence_command(
    activation: str = typer.Option("relu", "--activation", help=ACT_HELP),
    depth: str = typer.Option("3", "--depth", help="Weight layers L >= 1."),
    cw: str = typer.Option("2", "--cw", help="C_w > 0 (or one per layer)."),
    cb: str = typer.Option("0", "--cb", help="C_b >= 0 (or one per layer)."),
    widths: str = typer.Option(
        "16,32,64,128,256", "--widths", help="Hidden widths, comma-separated, each >= 1."
    ),
    nets: str = typer.Option("64", "--nets", help="Random networks per width >= 2."),
    inputs: str = typer.Option("4", "--inputs", help="Number of random unit-norm inputs >= 1."),
    dim: str = typer.Option("3", "--dim", help="Input dimension n_0 >= 1."),
    seed: str = typer.Option("0", "--seed", help="PRNG seed."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
    no_store: bool = typer.Option(False, "--no-store", help="Do not store the run."),
    out: Path = typer.Option(None, "--out", help=OUT_HELP),
) -> None:
    """Monte Carlo at finite width against the infinite-width kernels, with log-log slopes."""
    from theoryscope.experiments.widenets.montecarlo import convergence

    act = _activation(activation)
    s = as_int("seed", seed, low=0)
    cfg = {
        "activation": act, "depth": as_int("depth", depth, low=1),
        "cw": _floats("cw", cw, low=0.0, low_open=True), "cb": _floats("cb", cb, low=0.0),
        "widths": list(as_int_tuple("widths", widths, low=1)), "nets": as_int("nets", nets, low=2),
        "inputs": as_int("inputs", inputs, low=1, high=1000), "dim": as_int("dim", dim, low=1),
    }  # fmt: skip
    x = np.random.default_rng(s).standard_normal((cfg["inputs"], cfg["dim"]))
    x *= np.sqrt(cfg["dim"]) / np.linalg.norm(x, axis=1, keepdims=True)
    t0 = time.perf_counter()
    res = convergence(
        x, activation=act, depth=cfg["depth"], widths=cfg["widths"], nets=cfg["nets"],
        cw=cfg["cw"], cb=cfg["cb"], seed=s,
    )  # fmt: skip
    rows = res["rows"]
    payload = {"rows": rows, "slope_ntk": res["slope_ntk"], "slope_nngp": res["slope_nngp"]}
    series = {k: np.asarray([r[k] for r in rows]) for k in rows[0]}
    payload["run_id"] = _store_run(
        store_path, no_store, "widenets.convergence", cfg, s, series,
        {"slope_ntk": res["slope_ntk"], "slope_nngp": res["slope_nngp"]}, time.perf_counter() - t0,
    )  # fmt: skip
    from theoryscope.experiments.widenets import plots

    _figure(out, f"convergence-{act}", lambda: plots.convergence(res, f"{act}, L={cfg['depth']}"))
    if as_json:
        emit_json(payload)
        return
    typer.echo("  width   NTK dev (se)          NNGP dev (se)         cov dev")
    for r in rows:
        typer.echo(
            f"  {r['width']:<7} {r['ntk_dev']:.4f} ({r['ntk_dev_se']:.4f})     "
            f"{r['nngp_dev']:.4f} ({r['nngp_dev_se']:.4f})     {r['cov_dev']:.4f}"
        )
    typer.echo(
        f"  log-log slope: NTK {res['slope_ntk']:.3f}, NNGP {res['slope_nngp']:.3f} (theory -0.5)"
    )


# -- criticality -----------------------------------------------------------------------------------
@app.command("critical")
@_guard
def critical_command(
    activation: str = typer.Option("tanh", "--activation", help=ACT_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
    no_store: bool = typer.Option(False, "--no-store", help="Do not store the run."),
    out: Path = typer.Option(None, "--out", help=OUT_HELP + " Writes the phase diagram."),
) -> None:
    """Critical (C_b, C_w), K*, chi_par, chi_perp; the chi_perp = 1 curve when none is exact (spec 3)."""
    from theoryscope.experiments.widenets.criticality import critical_point

    act = _activation(activation)
    t0 = time.perf_counter()
    crit = critical_point(act)
    d = crit.to_dict()
    payload = {k: d[k] for k in ("cb", "cw", "k_star", "chi_par", "chi_perp")}
    payload.update({"activation": act, "exact": crit.exact, "k_star_free": crit.k_star_free})
    if crit.curve is not None:
        payload["curve"] = crit.curve
    series = {k: np.asarray(v) for k, v in crit.curve.items()} if crit.curve else None
    summary = {k: v for k, v in payload.items() if k != "curve"}
    payload["run_id"] = _store_run(
        store_path,
        no_store,
        "widenets.critical",
        {"activation": act},
        0,
        series,
        summary,
        time.perf_counter() - t0,
    )
    if out is not None:
        from theoryscope.experiments.widenets import plots
        from theoryscope.experiments.widenets.criticality import chi_perp_curve, phase_diagram

        cur = chi_perp_curve(act)
        keep = np.isfinite(cur["cb"]) & (cur["cb"] >= 0)
        curve = {"cw": cur["cw"][keep], "cb": cur["cb"][keep]}
        _figure(out, f"phase-{act}", lambda: plots.phase(phase_diagram(act), curve, payload, act))
    if as_json:
        emit_json(payload)
        return
    typer.echo(
        f"{act}: {'exact critical point' if crit.exact else 'no exact critical point (closest point on chi_perp = 1)'}"
    )
    _echo_pairs({k: payload[k] for k in ("cb", "cw", "k_star", "chi_par", "chi_perp")})
    if crit.k_star_free:
        typer.echo("  any K* >= 0 is a fixed point at these (C_b, C_w)")


@app.command("phase")
@_guard
def phase_command(
    activation: str = typer.Option("tanh", "--activation", help=ACT_HELP),
    cw_min: str = typer.Option("0.5", "--cw-min", help="Smallest C_w > 0."),
    cw_max: str = typer.Option("4", "--cw-max", help="Largest C_w."),
    cb_min: str = typer.Option("0", "--cb-min", help="Smallest C_b >= 0."),
    cb_max: str = typer.Option("0.5", "--cb-max", help="Largest C_b."),
    n: str = typer.Option("61", "--n", help="Grid points per axis, 2..1000."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
    no_store: bool = typer.Option(False, "--no-store", help="Do not store the run."),
    out: Path = typer.Option(None, "--out", help=OUT_HELP),
) -> None:
    """Order/chaos phase diagram: chi_perp at the fixed point over a (C_w, C_b) grid (spec 3)."""
    from theoryscope.experiments.widenets.criticality import chi_perp_curve, phase_diagram

    act = _activation(activation)
    cw0 = as_float("cw_min", cw_min, low=0.0, low_open=True)
    cw1 = as_float("cw_max", cw_max, low=cw0, low_open=True)
    cb0 = as_float("cb_min", cb_min, low=0.0)
    cb1 = as_float("cb_max", cb_max, low=cb0, low_open=True)
    t0 = time.perf_counter()
    pd = phase_diagram(act, (cw0, cw1), (cb0, cb1), n=as_int("n", n, low=2, high=1000))
    cur = chi_perp_curve(act)
    keep = (
        np.isfinite(cur["cb"])
        & (cur["cb"] >= cb0)
        & (cur["cb"] <= cb1)
        & (cur["cw"] >= cw0)
        & (cur["cw"] <= cw1)
    )
    curve = {
        "cw": cur["cw"][keep].tolist(),
        "cb": cur["cb"][keep].tolist(),
        "k": cur["k"][keep].tolist(),
    }
    cfg = {"activation": act, "cw": [cw0, cw1], "cb": [cb0, cb1], "n": len(pd["cw"])}
    CW, CB = np.meshgrid(pd["cw"], pd["cb"], indexing="ij")
    series = {
        "cw": CW.ravel(),
        "cb": CB.ravel(),
        "chi_perp": pd["chi_perp"].ravel(),
        "k_star": pd["k_star"].ravel(),
    }
    chi = pd["chi_perp"]
    summary = {
        "ordered_fraction": float(np.nanmean(chi < 1)),
        "chaotic_fraction": float(np.nanmean(chi > 1)),
    }
    run_id = _store_run(
        store_path, no_store, "widenets.phase", cfg, 0, series, summary, time.perf_counter() - t0
    )
    from theoryscope.experiments.widenets import plots

    _figure(out, f"phase-{act}", lambda: plots.phase(pd, curve, None, act))
    payload = {
        "cw": pd["cw"].tolist(), "cb": pd["cb"].tolist(), "chi_perp": pd["chi_perp"].tolist(),
        "k_star": pd["k_star"].tolist(), "curve": curve, "run_id": run_id, **summary,
    }  # fmt: skip
    if as_json:
        emit_json(payload)
        return
    typer.echo(
        f"{act}: ordered {summary['ordered_fraction']:.1%}, chaotic {summary['chaotic_fraction']:.1%} of the grid"
    )
    typer.echo(f"  chi_perp = 1 curve: {len(curve['cw'])} points in range")


# -- random ReLU networks ----------------------------------------------------------------------------
@app.command("jacobian")
@_guard
def jacobian_command(
    widths: str = typer.Option(
        "3,20,20,1", "--widths", help="Widths n_0,...,n_L,n_out, each >= 1."
    ),
    nets: str = typer.Option("20000", "--nets", help="Random networks >= 2."),
    seed: str = typer.Option("0", "--seed", help="PRNG seed."),
    ntk_nets: str = typer.Option(
        "500", "--ntk-nets", help="Networks for E[Theta(x,x)] (0 = skip)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
    no_store: bool = typer.Option(False, "--no-store", help="Do not store the run."),
    out: Path = typer.Option(None, "--out", help=OUT_HELP),
) -> None:
    """Moments of dz/dx_p for He-initialized ReLU nets: exact theory and Monte Carlo (spec 5)."""
    from theoryscope.experiments.widenets.jacobian import (
        jacobian_moments,
        jacobian_theory,
        ntk_diagonal,
        parse_widths,
    )

    w = parse_widths(widths)
    n_nets = as_int("nets", nets, low=2)
    s = as_int("seed", seed, low=0)
    k_nets = as_int("ntk_nets", ntk_nets, low=0)
    t0 = time.perf_counter()
    theory = jacobian_theory(w)
    mc = jacobian_moments(w, nets=n_nets, seed=s)
    payload: dict[str, Any] = {"widths": list(w), "theory": theory, "mc": mc}
    payload["z4"] = (mc["m4"] - theory["m4"]) / mc["se4"] if mc["se4"] > 0 else None
    payload["z2"] = (mc["m2"] - theory["m2"]) / mc["se2"] if mc["se2"] > 0 else None
    if k_nets >= 2:
        payload["ntk_diag"] = ntk_diagonal(w, nets=k_nets, seed=s)
    cfg = {"widths": list(w), "nets": n_nets, "ntk_nets": k_nets}
    summary = {k: v for k, v in payload.items() if k != "widths"}
    payload["run_id"] = _store_run(
        store_path, no_store, "widenets.jacobian", cfg, s, None, summary, time.perf_counter() - t0
    )
    if out is not None:
        from theoryscope.experiments.widenets import plots
        from theoryscope.experiments.widenets.jacobian import fourth_moment_growth

        _figure(
            out,
            "jacobian-growth",
            lambda: plots.jacobian_growth(
                fourth_moment_growth(w[0], nets=min(n_nets, 20000), seed=s)
            ),
        )
    if as_json:
        emit_json(payload)
        return
    typer.echo(f"widths {','.join(map(str, w))}, {n_nets} nets")
    typer.echo(f"  E[(dz/dx)^2]: theory {theory['m2']:.6g}   MC {mc['m2']:.6g} +- {mc['se2']:.2g}")
    typer.echo(
        f"  E[(dz/dx)^4]: theory {theory['m4']:.6g}   MC {mc['m4']:.6g} +- {mc['se4']:.2g}   (exp(5 sum 1/n) form {theory['m4_exp_approx']:.6g})"
    )
    if "ntk_diag" in payload:
        nd = payload["ntk_diag"]
        typer.echo(
            f"  E[Theta(x,x)]: theory 2L|x|^2/n0 = {nd['theory']:.6g}   MC {nd['mc']:.6g} +- {nd['se']:.2g}"
        )


# -- lazy training -------------------------------------------------------------------------------------
def _lazy_config(
    n: str,
    d: str,
    width: str,
    lr: str,
    steps: str,
    kappa: str,
    n_test: str,
    labels: str,
    data_seed: str,
    float64: bool,
) -> Any:
    from theoryscope.experiments.widenets.config import LazyConfig

    # The raw CLI strings go straight to LazyConfig, whose __post_init__ validates and
    # converts them (as_int/as_float), so its error messages name the field and its range.
    raw: dict[str, Any] = dict(
        n=n, d=d, width=width, lr=lr, steps=steps, kappa=kappa, n_test=n_test, labels=labels,
        data_seed=data_seed, dtype="float64" if float64 else "float32",
    )  # fmt: skip
    return LazyConfig(**raw)


_N = typer.Option("20", "--n", help="Training points n >= 1 (unit sphere).")
_D = typer.Option("10", "--d", help="Input dimension d >= 2.")
_KAPPA = typer.Option("1.0", "--kappa", help="Initial weight scale kappa > 0.")
_NTEST = typer.Option("50", "--n-test", help="Test points >= 1.")
_LABELS = typer.Option("sign", "--labels", help="sign (y = +-1) or gaussian.")
_DSEED = typer.Option("0", "--data-seed", help="Seed of the data set >= 0.")
_F64 = typer.Option(False, "--float64", help="Compute in float64 (default float32).")


@app.command("lazy")
@_guard
def lazy_command(
    n: str = _N,
    d: str = _D,
    width: str = typer.Option("20000", "--width", help="Hidden width m >= 1."),
    lr: str = typer.Option("0.5", "--lr", help="Step size eta > 0."),
    steps: str = typer.Option("500", "--steps", help="GD steps >= 1."),
    seed: str = typer.Option("0", "--seed", help="Seed of the network >= 0."),
    kappa: str = _KAPPA,
    n_test: str = _NTEST,
    labels: str = _LABELS,
    data_seed: str = _DSEED,
    float64: bool = _F64,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
    no_store: bool = typer.Option(False, "--no-store", help="Do not store the run."),
    out: Path = typer.Option(None, "--out", help=OUT_HELP),
) -> None:
    """GD on the wide two-layer net against its NTK theory (spec 6): the protocol run ``widenets``."""
    import theoryscope.experiments.widenets  # noqa: F401  (registers the experiment)
    from theoryscope.experiments.widenets.lazy import lazy_report
    from theoryscope.runner import execute, stop_on_sigint

    cfg = _lazy_config(n, d, width, lr, steps, kappa, n_test, labels, data_seed, float64)
    s = as_int("seed", seed, low=0, high=2**31 - 1)
    store = None if no_store else open_store(store_path)
    with stop_on_sigint() as should_stop:
        result = execute("widenets", cfg, s, store=store, should_stop=should_stop)
    report = lazy_report(result.run, result.theory, result.agreement)
    report["run_id"] = result.run_id
    from theoryscope.experiments.widenets import plots

    report["figure"] = _figure(out, f"lazy-{result.run_id or 'run'}", lambda: plots.lazy(report))
    if as_json:
        emit_json(report)
    else:
        ag = result.agreement
        typer.echo(f"run {result.run_id}  status {result.run.status}")
        _echo_pairs({
            "lambda_0": report["lambda_0"], "lambda_max": report["lambda_max"], "lr * lambda_max": ag["lr_times_lambda_max"],
            "initial residual": report["residual"][0], "final residual": report["residual"][-1],
            "max rel dev (pred)": ag.get("max_rel_dev_residual"), "bound holds": ag["bound_holds"],
            "max weight movement": report["max_weight_movement"], "final kernel drift": report["final_kernel_drift"],
            "test dev (linearized)": ag.get("test_rel_dev_linearized"),
        })  # fmt: skip
    if result.run.status == "diverged":
        raise typer.Exit(EXIT_DIVERGED)
    if result.run.status != "finished":
        raise typer.Exit(EXIT_FAILED)


@app.command("lazy-width")
@_guard
def lazy_width_command(
    widths: str = typer.Option(
        "500,2000,8000,32000", "--widths", help="Widths m, comma-separated, each >= 1."
    ),
    n: str = _N,
    d: str = _D,
    lr: str = typer.Option("0.5", "--lr", help="Step size eta > 0."),
    steps: str = typer.Option("200", "--steps", help="GD steps >= 1."),
    seed: str = typer.Option("0", "--seed", help="Seed of the networks >= 0."),
    kappa: str = _KAPPA,
    labels: str = _LABELS,
    data_seed: str = _DSEED,
    float64: bool = _F64,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
    no_store: bool = typer.Option(False, "--no-store", help="Do not store the run."),
    out: Path = typer.Option(None, "--out", help=OUT_HELP),
) -> None:
    """Maximum weight movement and kernel drift against width m, with log-log slopes (spec 6)."""
    from theoryscope.experiments.widenets.lazy import width_scaling

    ws = list(as_int_tuple("widths", widths, low=1))
    cfg = _lazy_config(n, d, str(ws[0]), lr, steps, kappa, "1", labels, data_seed, float64)
    s = as_int("seed", seed, low=0)
    t0 = time.perf_counter()
    res = width_scaling(cfg, ws, s)
    rows = res["rows"]
    series = {k: np.asarray([r[k] for r in rows]) for k in rows[0]}
    summary = {
        "slope_weight_move": res["slope_weight_move"],
        "slope_kernel_drift": res["slope_kernel_drift"],
    }
    res["run_id"] = _store_run(
        store_path,
        no_store,
        "widenets.lazy_width",
        {**cfg.to_dict(), "widths": ws},
        s,
        series,
        summary,
        time.perf_counter() - t0,
    )
    from theoryscope.experiments.widenets import plots

    _figure(out, "lazy-width", lambda: plots.width_scaling(res))
    if as_json:
        emit_json(res)
        return
    for r in rows:
        typer.echo(
            f"  m={r['width']:<8} max weight move {r['max_weight_move']:.4g}   max kernel drift {r['max_kernel_drift']:.4g}"
        )
    typer.echo(
        f"  slopes: weight move {res['slope_weight_move']:.3f}, kernel drift {res['slope_kernel_drift']:.3f} (theory -0.5)"
    )


@app.command("lazy-rich")
@_guard
def lazy_rich_command(
    alphas: str = typer.Option(
        "0.1,0.3,1,3,10,30", "--alphas", help="Output scales alpha > 0, comma-separated."
    ),
    n: str = _N,
    d: str = _D,
    width: str = typer.Option("2000", "--width", help="Hidden width m >= 1."),
    lr: str = typer.Option("0.5", "--lr", help="Step size eta > 0."),
    steps: str = typer.Option("300", "--steps", help="GD steps >= 1."),
    seed: str = typer.Option("0", "--seed", help="Seed of the network >= 0."),
    kappa: str = _KAPPA,
    labels: str = _LABELS,
    data_seed: str = _DSEED,
    float64: bool = _F64,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
    no_store: bool = typer.Option(False, "--no-store", help="Do not store the run."),
    out: Path = typer.Option(None, "--out", help=OUT_HELP),
) -> None:
    """Lazy-to-rich transition: kernel and weight movement against the output scale alpha."""
    from theoryscope.experiments.widenets.lazy import lazy_rich

    al = _floats("alphas", alphas, low=0.0, low_open=True)
    al = [al] if isinstance(al, float) else al
    cfg = _lazy_config(n, d, width, lr, steps, kappa, "1", labels, data_seed, float64)
    s = as_int("seed", seed, low=0)
    t0 = time.perf_counter()
    res = lazy_rich(cfg, al, s)
    rows = res["rows"]
    series = {
        k: np.asarray([r[k] for r in rows])
        for k in ("alpha", "rel_kernel_drift", "rel_weight_move", "final_residual")
    }
    res["run_id"] = _store_run(
        store_path,
        no_store,
        "widenets.lazy_rich",
        {**cfg.to_dict(), "alphas": al},
        s,
        series,
        {"slope_kernel_drift": res["slope_kernel_drift"]},
        time.perf_counter() - t0,
    )
    from theoryscope.experiments.widenets import plots

    _figure(out, "lazy-rich", lambda: plots.lazy_rich(res))
    if as_json:
        emit_json(res)
        return
    for r in rows:
        typer.echo(
            f"  alpha={r['alpha']:<8g} |dH|/|H| {r['rel_kernel_drift']:.4g}   |dW|/|W| {r['rel_weight_move']:.4g}   final residual {r['final_residual']:.3g}"
        )


@app.command("lr-boundary")
@_guard
def lr_boundary_command(
    factors: str = typer.Option(
        "0.9,1.1", "--factors", help="eta as multiples of 2/lambda_max(H(0)), > 0."
    ),
    n: str = _N,
    d: str = _D,
    width: str = typer.Option("20000", "--width", help="Hidden width m >= 1."),
    steps: str = typer.Option("100", "--steps", help="GD steps >= 1."),
    seed: str = typer.Option("0", "--seed", help="Seed of the network >= 0."),
    kappa: str = _KAPPA,
    labels: str = _LABELS,
    data_seed: str = _DSEED,
    float64: bool = _F64,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    store_path: Path = typer.Option(None, "--store", help=STORE_HELP),
    no_store: bool = typer.Option(False, "--no-store", help="Do not store the run."),
    out: Path = typer.Option(None, "--out", help=OUT_HELP),
) -> None:
    """Runs on both sides of eta = 2 / lambda_max (spec 7): network and linearized model."""
    from theoryscope.experiments.widenets.lazy import lr_boundary

    fs = _floats("factors", factors, low=0.0, low_open=True)
    fs = [fs] if isinstance(fs, float) else fs
    cfg = _lazy_config(n, d, width, "1", steps, kappa, "1", labels, data_seed, float64)
    s = as_int("seed", seed, low=0)
    t0 = time.perf_counter()
    res = lr_boundary(cfg, fs, s)
    steps_axis = np.asarray(res["runs"][0]["steps"])
    series: dict[str, np.ndarray] = {}
    if all(len(r["steps"]) == len(steps_axis) for r in res["runs"]):
        series["step"] = steps_axis
        for i, r in enumerate(res["runs"]):
            series[f"residual_{i}"] = np.asarray(r["residual"])
            series[f"linearized_{i}"] = np.asarray(r["linearized"])
    summary = {
        "lr_limit": res["lr_limit"],
        "runs": [
            {k: r[k] for k in ("factor", "lr", "status", "final_over_initial", "max_over_initial")}
            for r in res["runs"]
        ],
    }
    res["run_id"] = _store_run(
        store_path,
        no_store,
        "widenets.lr_boundary",
        {**cfg.to_dict(), "factors": fs},
        s,
        series,
        summary,
        time.perf_counter() - t0,
    )
    from theoryscope.experiments.widenets import plots

    _figure(out, "lr-boundary", lambda: plots.lr_boundary(res))
    if as_json:
        emit_json(res)
        return
    typer.echo(
        f"lambda_max(H(0)) = {res['lambda_max_h0']:.5g}, 2/lambda_max = {res['lr_limit']:.5g}"
    )
    for r in summary["runs"]:
        typer.echo(
            f"  eta = {r['factor']:g} x limit: final/initial residual {r['final_over_initial']:.3g}, max/initial {r['max_over_initial']:.3g} ({r['status']})"
        )

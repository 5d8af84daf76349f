"""The rise-time report: does the measured half-loss time follow the small-gamma theory (spec 6)?

From a sweep's rows (one per run) it groups runs by target term and gamma (and any other config
key the sweep varies) and, over the seeds of a group, takes the mean and the sample standard
deviation of the measured ``t_half_sim`` and of the ratios to ``t_half_ode`` and ``t_rise``.

Figure (three panels):
  (a) measured t_half against t_half_ode, log-log, one colour per alpha, seed mean +- 1 sd,
      the line y = x;
  (b) the same against t_rise;
  (c) the ratio t_half_sim / t_half_ode against gamma (log x), mean with a +-1 sd band per alpha,
      the band |ratio - 1| <= 15% shaded: where the curves leave it, the theory breaks.
Runs that never reached half their initial loss within their t_eff are drawn as lower bounds
(open triangles at t_eff) and counted in the table.

Table (CSV and Markdown): per group n runs, n reached, the mean and sd of t_half_sim, t_half_ode,
t_rise, the ratios and a verdict: ``holds`` (|mean ratio - 1| <= 15%), ``slower``, ``faster``,
or ``no rise`` (no seed reached half within t_eff).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["HOLD_TOLERANCE", "Group", "group_rows", "rise_time_figure", "write_report"]

#: |t_half_sim / t_half_ode - 1| within this counts as the theory holding.
HOLD_TOLERANCE = 0.15
_VARYING_SKIP = {"alpha", "gamma", "seed", "status", "run_id", "message", "config_hash",
                 "sweep_id", "config", "t_eff"}  # fmt: skip


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


@dataclass
class Group:
    """The seeds of one (term alpha, gamma, other varying settings) point."""

    alpha: str
    gamma: float
    other: str
    t_half_ode: float | None
    t_rise: float | None
    t_eff: float
    t_half: list[float] = field(default_factory=list)  # seeds that reached half
    n_runs: int = 0
    n_failed: int = 0

    @property
    def reached(self) -> int:
        return len(self.t_half)

    def stats(self, values: Sequence[float]) -> tuple[float | None, float | None]:
        if not values:
            return None, None
        arr = np.asarray(values, dtype=float)
        return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else 0.0

    def ratios(self, to: float | None) -> list[float]:
        return [t / to for t in self.t_half] if to else []

    @property
    def verdict(self) -> str:
        if self.reached == 0:
            return "no rise" if self.n_runs > self.n_failed else "failed"
        mean, _ = self.stats(self.ratios(self.t_half_ode))
        if mean is None:
            return "no theory"
        if abs(mean - 1) <= HOLD_TOLERANCE:
            return "holds"
        return "slower" if mean > 1 else "faster"

    def to_row(self) -> dict[str, Any]:
        t_mean, t_sd = self.stats(self.t_half)
        r_mean, r_sd = self.stats(self.ratios(self.t_half_ode))
        q_mean, q_sd = self.stats(self.ratios(self.t_rise))
        return {
            "alpha": self.alpha,
            "gamma": self.gamma,
            "other": self.other,
            "runs": self.n_runs,
            "reached_half": self.reached,
            "failed": self.n_failed,
            "t_eff": self.t_eff,
            "t_half_sim_mean": t_mean,
            "t_half_sim_sd": t_sd,
            "t_half_ode": self.t_half_ode,
            "t_rise": self.t_rise,
            "ratio_sim_ode_mean": r_mean,
            "ratio_sim_ode_sd": r_sd,
            "ratio_sim_rise_mean": q_mean,
            "ratio_sim_rise_sd": q_sd,
            "verdict": self.verdict,
        }


#: Config columns of a sweep row (the expander's ``describe``) that can split groups.
_CONFIG_COLUMNS = ("k", "d", "lr", "batch", "mode")


def _varying(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    keys = []
    for key in rows[0] if rows else []:
        if key in _VARYING_SKIP or key not in _CONFIG_COLUMNS:
            continue
        if len({str(r.get(key)) for r in rows}) > 1:
            keys.append(key)
    return keys


def group_rows(rows: Sequence[Mapping[str, Any]]) -> list[Group]:
    """Group a sweep's rows by (term alpha, gamma, other varying keys), one entry per term."""
    varying = _varying(rows)
    groups: dict[tuple[str, float, str], Group] = {}
    for row in rows:
        terms = str(row.get("alpha", "")).split("+")
        gamma = _num(str(row.get("gamma", "")).split(",")[0]) or math.nan
        other = " ".join(f"{k}={row.get(k)}" for k in varying)
        for j, alpha in enumerate(terms):
            suffix = "" if j == 0 else f"_{j + 1}"
            label = alpha if len(terms) == 1 else f"{alpha} (in {row.get('alpha')})"
            key = (label, gamma, other)
            group = groups.get(key)
            if group is None:
                group = groups[key] = Group(
                    alpha=label,
                    gamma=gamma,
                    other=other,
                    t_half_ode=_num(row.get("t_half_ode" + suffix)),
                    t_rise=_num(row.get("t_rise" + suffix)),
                    t_eff=float(row.get("t_eff") or 0.0),
                )
            if row.get("status") == "pending":
                continue
            group.n_runs += 1
            if row.get("status") == "failed":
                group.n_failed += 1
                continue
            t = _num(row.get("t_half_sim" + suffix))
            if t is not None:
                group.t_half.append(t)
    return sorted(groups.values(), key=lambda g: (g.other, g.alpha, g.gamma))


def rise_time_figure(groups: Sequence[Group], title: str = "") -> Any:
    """The three-panel figure (see the module docstring); returns a matplotlib Figure."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(16, 5.2), layout="constrained")
    ax_ode, ax_rise, ax_ratio = fig.subplots(1, 3)
    labels = sorted({(g.alpha, g.other) for g in groups})
    alphas = sorted({g.alpha for g in groups})
    colours = {a: f"C{i % 10}" for i, a in enumerate(alphas)}
    others = sorted({g.other for g in groups})
    styles = {o: s for o, s in zip(others, ["-", "--", ":", "-."] * 8, strict=False)}

    lo, hi = math.inf, 0.0
    for ax, which in ((ax_ode, "t_half_ode"), (ax_rise, "t_rise")):
        for g in groups:
            x = getattr(g, which)
            if x is None:
                continue
            c = colours[g.alpha]
            if g.reached:
                mean, sd = g.stats(g.t_half)
                assert mean is not None and sd is not None
                ax.errorbar(x, mean, yerr=sd, fmt="o", color=c, ms=5, capsize=3)
                lo, hi = min(lo, x, mean), max(hi, x, mean)
            if g.reached < g.n_runs - g.n_failed:  # some seeds never reached half: lower bound
                ax.plot(x, g.t_eff, marker="^", mfc="none", color=c, ms=7, ls="none")
                lo, hi = min(lo, x), max(hi, x, g.t_eff)
    for ax, name in ((ax_ode, "t_half_ode (modeling ODE)"), (ax_rise, "t_rise (spec 6)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        if hi > 0:
            line = np.array([lo / 2, hi * 2])
            ax.plot(line, line, color="0.5", lw=1, ls="--", label="measured = predicted")
        ax.set_xlabel(name)
        ax.set_ylabel("measured t_half (seed mean ± sd)")
        ax.grid(True, which="both", alpha=0.25)
    ax_ode.set_title("measured half-loss time vs the ODE's half time")
    ax_rise.set_title("measured half-loss time vs t_rise")

    ax_ratio.axhspan(
        1 - HOLD_TOLERANCE, 1 + HOLD_TOLERANCE, color="0.9", label="±15%: theory holds"
    )
    ax_ratio.axhline(1.0, color="0.5", lw=1, ls="--")
    for alpha, other in labels:
        mine = sorted(
            (g for g in groups if g.alpha == alpha and g.other == other), key=lambda g: g.gamma
        )
        c, ls = colours[alpha], styles[other]
        xs, means, sds = [], [], []
        for g in mine:
            mean, sd = g.stats(g.ratios(g.t_half_ode))
            if mean is not None and sd is not None:
                xs.append(g.gamma)
                means.append(mean)
                sds.append(sd)
            elif g.t_half_ode and g.n_runs > g.n_failed:  # no rise within t_eff: a lower bound
                ax_ratio.plot(
                    g.gamma, g.t_eff / g.t_half_ode, marker="^", mfc="none", color=c, ms=7
                )
        label = f"alpha={alpha}" + (f" {other}" if other else "")
        if xs:
            m, s = np.array(means), np.array(sds)
            ax_ratio.plot(xs, m, marker="o", color=c, ls=ls, label=label)
            ax_ratio.fill_between(xs, m - s, m + s, color=c, alpha=0.18, lw=0)
    ax_ratio.set_xscale("log")
    ax_ratio.set_yscale("log")
    from matplotlib.ticker import FormatStrFormatter

    ax_ratio.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax_ratio.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    ax_ratio.set_xlabel("gamma (data variance)")
    ax_ratio.set_ylabel("t_half_sim / t_half_ode (seed mean, ±1 sd band)")
    ax_ratio.set_title("where the theory holds (grey) and breaks")
    ax_ratio.grid(True, which="both", alpha=0.25)
    ax_ratio.legend(fontsize=8, loc="upper left")
    handles = [
        matplotlib.lines.Line2D([], [], color=colours[a], marker="o", ls="none", label=f"alpha={a}")
        for a in alphas
    ]
    handles.append(
        matplotlib.lines.Line2D(
            [],
            [],
            color="0.3",
            marker="^",
            mfc="none",
            ls="none",
            label="no rise by t_eff (lower bound)",
        )  # fmt: skip
    )
    ax_ode.legend(handles=handles, fontsize=8, loc="upper left")
    if title:
        fig.suptitle(title)
    return fig


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def table_markdown(groups: Sequence[Group]) -> str:
    rows = [g.to_row() for g in groups]
    head = ["alpha", "gamma", "other", "runs", "reached_half", "t_half_sim_mean", "t_half_sim_sd",
            "t_half_ode", "t_rise", "ratio_sim_ode_mean", "ratio_sim_ode_sd",
            "ratio_sim_rise_mean", "verdict"]  # fmt: skip
    if not any(r["other"] for r in rows):
        head.remove("other")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r[h]) for h in head) + " |")
    return "\n".join(lines) + "\n"


def breakdown(groups: Sequence[Group]) -> list[str]:
    """One sentence per alpha: the gammas where the theory holds and where it stops holding."""
    out = []
    for alpha in sorted({g.alpha for g in groups}):
        mine = sorted((g for g in groups if g.alpha == alpha), key=lambda g: g.gamma)
        held = [g.gamma for g in mine if g.verdict == "holds"]
        broke = [(g.gamma, g.verdict) for g in mine if g.verdict not in ("holds",)]
        text = f"alpha={alpha}: holds (±{HOLD_TOLERANCE:.0%}) at gamma " + (
            ", ".join(f"{v:g}" for v in held) if held else "none"
        )
        if broke:
            text += "; off at " + ", ".join(f"{v:g} ({why})" for v, why in broke)
        out.append(text)
    return out


def write_report(
    rows: Sequence[Mapping[str, Any]],
    out_dir: str | Path,
    *,
    sweep_id: str = "",
    figure_path: str | Path | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Write rise-time.png, rise-time.csv and rise-time.md; returns paths and the table rows.

    Files go through :mod:`theoryscope.core.safe_write`: all three targets are checked first,
    so an existing file (without ``force``) or a device stops the report before anything is
    written.
    """
    from theoryscope.core.safe_write import check_target, write_output
    from theoryscope.plots import figure_format

    groups = group_rows(rows)
    if not any(g.n_runs for g in groups):
        from theoryscope.errors import ConfigError

        raise ConfigError("sweep", f"{sweep_id or 'this sweep'} has no stored runs yet")
    out = Path(out_dir)
    figure = Path(figure_path) if figure_path is not None else out / "rise-time.png"
    figure_option = "figure" if figure_path is not None else "out"
    targets = [
        (figure, figure_option),
        (out / "rise-time.csv", "out"),
        (out / "rise-time.md", "out"),
    ]
    for path, option in targets:
        check_target(path, option=option, force=force)
    figure_format(figure, option=figure_option)
    modes = sorted({str(r.get("mode")) for r in rows})
    title = f"Expander Nets rise time: sweep {sweep_id} ({', '.join(modes)})" if sweep_id else ""
    fig = rise_time_figure(groups, title)
    suffix = figure.suffix.lstrip(".").lower() or "png"
    write_output(
        figure,
        lambda fh: fig.savefig(fh, dpi=130, format=suffix),
        option=figure_option,
        force=force,
    )
    table = [g.to_row() for g in groups]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(table[0]), lineterminator="\n")
    writer.writeheader()
    for r in table:
        writer.writerow({k: "" if v is None else v for k, v in r.items()})
    csv_text = buf.getvalue()
    write_output(out / "rise-time.csv", lambda fh: fh.write(csv_text.encode()), force=force)
    lines = breakdown(groups)
    md = [f"# Rise time: sweep {sweep_id}", "", f"![rise time]({figure.resolve()})", ""]
    md += [f"- {line}" for line in lines]
    md += ["", table_markdown(groups)]
    md_text = "\n".join(md)
    write_output(out / "rise-time.md", lambda fh: fh.write(md_text.encode()), force=force)
    return {
        "figure": str(figure),
        "table_csv": str(out / "rise-time.csv"),
        "table_md": str(out / "rise-time.md"),
        "groups": table,
        "breakdown": lines,
    }

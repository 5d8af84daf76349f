"""The generic sweep report: every declared metric against the swept field, simulation against
theory, with error bands over seeds. Any experiment gets it; nothing here names one.

For each stored run of a sweep the metric rows are read from its documents (theory, agreement,
summary, config). A row is keyed by (metric, its entry label, the other swept keys' values); per
value of the x field (the first numeric grid key, or one given) it keeps the seeds' simulated
values, the predicted values and the ratios. The figure has one panel per metric: simulated mean
with a +-1 sd band over seeds (solid), predicted (dashed, same colour). The table (CSV and
Markdown) gives n, mean and sd of the simulated value, the predicted mean, the mean ratio and
whether it lies within the metric's declared tolerance.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from theoryscope.errors import ConfigError
from theoryscope.plots.render import OKABE_ITO, documents
from theoryscope.spec.metrics import format_number, metric_rows
from theoryscope.store import RunStore

__all__ = ["collect", "report_figure", "write_metrics_report"]

MAX_PANELS = 6


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _x_key(grid: Sequence[Sequence[Any]], wanted: str | None) -> str | None:
    keys = [str(k) for k, _ in grid]
    if wanted is not None:
        if wanted not in keys:
            raise ConfigError("x", f"{wanted!r} is not swept; allowed: {', '.join(keys) or 'none'}")
        return wanted
    for key, values in grid:
        if len(values) > 1 and _numeric(values):
            return str(key)
    for key, values in grid:
        if len(values) > 1:
            return str(key)
    return None


def _value_of(config: Mapping[str, Any], key: str, described: Mapping[str, Any]) -> Any:
    value = described.get(key, config.get(key))
    if isinstance(value, list) and len(value) >= 1 and all(v == value[0] for v in value):
        return value[0]
    return value


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ",".join(_show(v) for v in value)
    return str(value)


def collect(store: RunStore, sweep_id: str, x: str | None = None) -> dict[str, Any]:
    """Group the sweep's metric rows: ``{"x": key, "series": {(metric, label, group): {x_value:
    {"sim": [...], "pred": [...], "ratio": [...]}}}, "metrics": {name: Metric}, "runs": n}``."""
    from theoryscope.protocol import get_experiment
    from theoryscope.sweep.table import describe_config, sweep_runs

    sweep = store.get_sweep(sweep_id)
    experiment = get_experiment(sweep["experiment"])
    grid = sweep["spec"].get("grid") or []
    x_key = _x_key(grid, x)
    others = [str(k) for k, values in grid if str(k) != x_key and len(values) > 1]
    series: dict[tuple[str, str, str], dict[Any, dict[str, list[float]]]] = {}
    used = 0
    for config, _, _, run in sweep_runs(store, sweep_id):
        if run is None or run.status not in ("finished", "diverged"):
            continue
        used += 1
        described = describe_config(sweep["experiment"], config)
        xv = _value_of(config, x_key, described) if x_key else 0
        group = " ".join(f"{k}={_show(_value_of(config, k, described))}" for k in others)
        docs = documents(theory=run.theory, agreement=run.agreement, summary=run.summary,
                         config=config)  # fmt: skip
        for row in metric_rows(experiment.metrics, docs):
            cell = series.setdefault((row["name"], row["label"], group), {}).setdefault(
                _hashable(xv), {"sim": [], "pred": [], "ratio": []}
            )
            for key, name in (("sim", "simulated"), ("pred", "predicted"), ("ratio", "ratio")):
                if row[name] is not None:
                    cell[key].append(float(row[name]))
    if used == 0:
        raise ConfigError("sweep", f"{sweep_id} has no finished runs yet")
    return {
        "experiment": experiment,
        "x": x_key,
        "series": series,
        "metrics": {m.name: m for m in experiment.metrics},
        "runs": used,
    }


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _stats(values: Sequence[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    arr = np.asarray(values, dtype=float)
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 0.0


def table_rows(collected: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per (metric entry, group, x value)."""
    rows = []
    metrics = collected["metrics"]
    for (name, label, group), cells in collected["series"].items():
        good = metrics[name].good if name in metrics else None
        for xv in sorted(cells, key=_sort_key):
            cell = cells[xv]
            sim_mean, sim_sd = _stats(cell["sim"])
            pred_mean, _ = _stats(cell["pred"])
            ratio_mean, ratio_sd = _stats(cell["ratio"])
            within = (
                abs(ratio_mean - 1.0) <= good if ratio_mean is not None and good is not None
                else None
            )  # fmt: skip
            rows.append({
                "metric": name, "label": label, "group": group, "x": collected["x"],
                "x_value": _show(xv), "runs": len(cell["sim"]), "simulated_mean": sim_mean,
                "simulated_sd": sim_sd, "predicted_mean": pred_mean, "ratio_mean": ratio_mean,
                "ratio_sd": ratio_sd, "tolerance": good, "within": within,
            })  # fmt: skip
    return rows


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, (int, float)) else (1, str(value))


def report_figure(collected: Mapping[str, Any], title: str = "") -> Any:
    """One panel per metric: simulated mean +- sd over seeds against x, predicted dashed."""
    from matplotlib.figure import Figure

    names = list(dict.fromkeys(name for name, _, _ in collected["series"]))[:MAX_PANELS]
    n = max(1, len(names))
    fig = Figure(figsize=(4.8 * min(n, 3), 3.9 * math.ceil(n / 3)), layout="constrained")
    axes = fig.subplots(math.ceil(n / 3), min(n, 3), squeeze=False).ravel()
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    x_key = collected["x"] or "run"
    for ax, name in zip(axes, names, strict=False):
        lines = [(k, v) for k, v in collected["series"].items() if k[0] == name]
        numeric_x = True
        positive = True
        for j, ((_, label, group), cells) in enumerate(lines[: len(OKABE_ITO) * 2]):
            color = OKABE_ITO[j % len(OKABE_ITO)]
            xs = sorted(cells, key=_sort_key)
            if not _numeric(xs):
                numeric_x = False
                positions: list[float] = [float(i) for i in range(len(xs))]
            else:
                positions = [float(v) for v in xs]
                positive = positive and all(p > 0 for p in positions)
            sim = [_stats(cells[v]["sim"]) for v in xs]
            pred = [_stats(cells[v]["pred"])[0] for v in xs]
            mean = np.array([m if m is not None else np.nan for m, _ in sim])
            sd = np.array([s if s is not None else np.nan for _, s in sim])
            tag = label + (f" [{group}]" if group else "")
            ax.plot(positions, mean, "-o", ms=3, color=color, label=tag)
            ax.fill_between(positions, mean - sd, mean + sd, color=color, alpha=0.18, lw=0)
            if any(p is not None for p in pred):
                ax.plot(positions, [np.nan if p is None else p for p in pred], "--", color=color)
            if not numeric_x:
                ax.set_xticks(positions, [_show(v) for v in xs], rotation=30, fontsize=7)
        if numeric_x and positive:
            ax.set_xscale("log")
        ax.set_title(
            collected["metrics"][name].label.split(",")[0]
            if name in collected["metrics"]
            else name,
            fontsize=9,
        )
        ax.set_xlabel(x_key)
        ax.grid(True, alpha=0.25)
        if len(lines) <= 10:
            ax.legend(fontsize=6)
    fig.suptitle(title or "simulated (solid, band: +-1 sd over seeds) vs predicted (dashed)",
                 fontsize=10)  # fmt: skip
    return fig


def _markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    head = ["metric", "group", "x", "runs", "simulated", "predicted", "ratio", "within"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        sim = format_number(r["simulated_mean"]) + (
            f" ± {format_number(r['simulated_sd'], 2)}" if r["simulated_sd"] else ""
        )
        lines.append(
            f"| {r['label']} | {r['group'] or '-'} | {r['x_value']} | {r['runs']} | {sim} | "
            f"{format_number(r['predicted_mean'])} | {format_number(r['ratio_mean'], 3)} | "
            f"{'-' if r['within'] is None else ('yes' if r['within'] else 'no')} |"
        )
    return "\n".join(lines) + "\n"


def write_metrics_report(
    store: RunStore,
    sweep_id: str,
    out_dir: str | Path,
    *,
    x: str | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Write report.png, report.csv and report.md for a sweep; returns the paths and rows.

    Files go through :mod:`theoryscope.core.safe_write`: every target is checked first, so an
    existing file (without ``force``) or a device stops the report before anything is written.
    """
    from theoryscope.core.safe_write import check_target, write_output

    collected = collect(store, sweep_id, x)
    rows = table_rows(collected)
    out = Path(out_dir)
    targets = (out / "report.png", out / "report.csv", out / "report.md")
    for path in targets:
        check_target(path, option="out", force=force)
    experiment = collected["experiment"]
    fig = report_figure(collected, f"{experiment.title}: sweep {sweep_id}")
    write_output(targets[0], lambda fh: fig.savefig(fh, dpi=130, format="png"), force=force)
    buf = io.StringIO()
    columns = list(rows[0]) if rows else ["metric"]
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: "" if v is None else v for k, v in r.items()})
    csv_text = buf.getvalue()
    write_output(targets[1], lambda fh: fh.write(csv_text.encode()), force=force)
    md = [f"# {experiment.title}: sweep {sweep_id}", "",
          f"{collected['runs']} runs; x = {collected['x']}", "", "![report](report.png)", "",
          _markdown(rows)]  # fmt: skip
    md_text = "\n".join(md)
    write_output(targets[2], lambda fh: fh.write(md_text.encode()), force=force)
    return {
        "figure": str(targets[0]),
        "table_csv": str(targets[1]),
        "table_md": str(targets[2]),
        "x": collected["x"],
        "runs": collected["runs"],
        "rows": rows,
    }

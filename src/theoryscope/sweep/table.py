"""A sweep as a table: one row per (config, seed) of its spec, with the run that answers it.

For each planned (config hash, seed) the row shows the best stored run: this sweep's finished
(or diverged) run, else a finished run of the same config and seed from anywhere in the store
(the one that made resumption skip it), else this sweep's latest failed/interrupted attempt,
else status ``pending``. Columns: the config (alpha, gamma, k, d, lr, batch, mode, t_eff), seed,
status, and per term t_half_sim, t_half_ode, t_rise and the ratios (a second term's columns get
a ``_2`` suffix, and so on).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from theoryscope.core.safe_write import output_path, write_output
from theoryscope.store import RunStore, StoredRun, to_json

__all__ = ["TERM_KEYS", "export_sweep", "sweep_rows", "sweep_summaries"]

TERM_KEYS = ("t_half_sim", "t_half_ode", "t_rise", "ratio_sim_ode", "ratio_sim_rise")
CONFIG_KEYS = ("alpha", "gamma", "k", "d", "lr", "batch", "mode", "t_eff")
_RANK = {"finished": 0, "diverged": 1, "running": 2, "interrupted": 3, "failed": 4}


def _alpha_text(config: Mapping[str, Any]) -> str:
    return "+".join(",".join(str(a) for a in t["alpha"]) for t in config.get("terms", []))


def _gamma_text(config: Mapping[str, Any]) -> str:
    g = list(config.get("gamma", []))
    if g and all(v == g[0] for v in g):
        return f"{g[0]:g}"
    return ",".join(f"{v:g}" for v in g)


def _best(runs: Sequence[StoredRun]) -> StoredRun | None:
    if not runs:
        return None
    return sorted(runs, key=lambda r: (_RANK.get(r.status, 9), -r.created_at))[0]


def sweep_rows(store: RunStore, sweep_id: str) -> list[dict[str, Any]]:
    """One dict per planned run of the sweep (see the module docstring)."""
    sweep = store.get_sweep(sweep_id)
    spec = sweep["spec"]
    configs = spec.get("configs") or []
    hashes = spec.get("config_hashes") or [None] * len(configs)
    seeds = spec.get("seeds") or []
    by_key: dict[tuple[Any, int], list[StoredRun]] = {}
    for stored in store.list_runs(sweep_id=sweep_id, limit=None):
        by_key.setdefault((stored.config_hash, stored.seed), []).append(stored)
    rows = []
    for config, h in zip(configs, hashes, strict=False):
        for seed in seeds:
            run: StoredRun | None = _best(by_key.get((h, int(seed)), []))
            if (run is None or run.status not in ("finished", "diverged")) and h is not None:
                other = store.find_finished(sweep["experiment"], h, int(seed))
                if other is not None:
                    run = store.get_run(other)
            rows.append(_row(sweep_id, config, h, int(seed), run))
    return rows


def _row(
    sweep_id: str, config: Mapping[str, Any], h: str | None, seed: int, run: StoredRun | None
) -> dict[str, Any]:
    t_eff = float(config.get("lr", 0.0)) * float(config.get("steps", 0))
    row: dict[str, Any] = {
        "sweep_id": sweep_id,
        "run_id": run.id if run else None,
        "seed": seed,
        "status": run.status if run else "pending",
        "alpha": _alpha_text(config),
        "gamma": _gamma_text(config),
        "k": config.get("k"),
        "d": config.get("d"),
        "lr": config.get("lr"),
        "batch": config.get("batch"),
        "mode": config.get("mode"),
        "t_eff": t_eff,
    }
    terms = (run.agreement or {}).get("terms", []) if run else []
    theory_terms = ((run.theory or {}).get("terms", []) if run else []) or []
    n_terms = max(len(config.get("terms", [])), 1)
    for j in range(n_terms):
        suffix = "" if j == 0 else f"_{j + 1}"
        term = terms[j] if j < len(terms) else {}
        th = theory_terms[j] if j < len(theory_terms) else {}
        for key in TERM_KEYS:
            value = term.get(key)
            if value is None and key in ("t_half_ode", "t_rise"):
                value = th.get(key)  # a failed run still has its theory
            row[key + suffix] = value
    row["message"] = run.message if run else None
    row["config_hash"] = h
    row["config"] = dict(config)
    return row


def sweep_summaries(store: RunStore) -> list[dict[str, Any]]:
    """Every sweep with its counts by status (for ``sweep list``)."""
    out = []
    for sweep in store.list_sweeps():
        rows = sweep_rows(store, sweep["id"])
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        spec = sweep["spec"]
        out.append(
            {
                "id": sweep["id"],
                "experiment": sweep["experiment"],
                "created_at": sweep["created_at"],
                "mode": spec.get("mode"),
                "grid": {key: values for key, values in spec.get("grid", [])},
                "seeds": len(spec.get("seeds", [])),
                "runs": len(rows),
                "counts": counts,
            }
        )
    return out


def _flat(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key != "config"}


def rows_to_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """CSV text: one line per row, every column of the widest row (config dicts left out)."""
    columns: list[str] = []
    for row in rows:
        for key in _flat(row):
            if key not in columns:
                columns.append(key)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in _flat(row).items()})
    return buf.getvalue()


def rows_to_json(rows: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps(json.loads(to_json(list(rows))), indent=1) + "\n"


def export_sweep(
    store: RunStore, sweep_id: str, fmt: str, path: str | Path | None, *, force: bool = False
) -> str:
    """The sweep's rows as csv or json text; with ``path``, written there by the safe writer
    (a directory gets ``<sweep id>.<fmt>``; an existing file only with ``force``) and the
    written path returned instead."""
    rows = sweep_rows(store, sweep_id)
    text = rows_to_csv(rows) if fmt == "csv" else rows_to_json(rows)
    if path is None:
        return text
    target = output_path(path, f"{sweep_id}.{fmt}", option="out")
    return str(write_output(target, lambda fh: fh.write(text.encode()), force=force))

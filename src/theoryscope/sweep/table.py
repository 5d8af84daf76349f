"""A sweep as a table: one row per (config, seed) of its spec, with the run that answers it.

For each planned (config hash, seed) the row shows the best stored run: this sweep's finished
(or diverged) run, else a finished run of the same config and seed from anywhere in the store
(the one that made resumption skip it), else this sweep's latest failed/interrupted attempt,
else status ``pending``. Columns: the config as the experiment describes it (its
``Hooks.describe``, else every field, lists written ``1,4,16``), seed, status, run id, and the
run's agreement flattened to scalars (a list of per-entry dicts such as per-term results gives
its first entry's keys as they are and the next ones with a ``_2``, ``_3`` ... suffix).
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

__all__ = ["describe_config", "export_sweep", "flat_agreement", "sweep_rows", "sweep_summaries"]

_RANK = {"finished": 0, "diverged": 1, "running": 2, "interrupted": 3, "failed": 4}
#: Columns every row has besides the config and the agreement.
RUN_COLUMNS = ("seed", "status", "run_id", "sweep_id", "message", "config_hash")


def _text(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return ",".join(str(_text(v)) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return value


def describe_config(experiment: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The config's columns in a table: the experiment's ``describe`` hook, else every field."""
    from theoryscope.protocol import get_experiment

    hook = get_experiment(experiment).hooks.describe
    if hook is not None:
        return dict(hook(config))
    return {key: _text(value) for key, value in config.items() if not isinstance(value, dict)}


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (int, float, str, bool))


def flat_agreement(agreement: Mapping[str, Any] | None) -> dict[str, Any]:
    """Scalar leaves of an agreement: ``key``, ``key_sub`` for dicts, and list-of-dict entries
    with ``_2``, ``_3``... suffixes after the first (non-scalars, e.g. matrices, are left out)."""
    out: dict[str, Any] = {}
    for key, value in (agreement or {}).items():
        if _scalar(value):
            out[key] = value
        elif isinstance(value, Mapping):
            for sub, v in value.items():
                if _scalar(v):
                    out[f"{key}_{sub}"] = v
        elif isinstance(value, (list, tuple)) and value and isinstance(value[0], Mapping):
            for i, entry in enumerate(value):
                suffix = "" if i == 0 else f"_{i + 1}"
                for sub, v in entry.items():
                    if _scalar(v):
                        out[f"{sub}{suffix}"] = v
    return out


def _best(runs: Sequence[StoredRun]) -> StoredRun | None:
    if not runs:
        return None
    return sorted(runs, key=lambda r: (_RANK.get(r.status, 9), -r.created_at))[0]


def sweep_runs(
    store: RunStore, sweep_id: str
) -> list[tuple[dict[str, Any], str | None, int, StoredRun | None]]:
    """Every planned (config, hash, seed) of the sweep with the run that answers it (or None)."""
    sweep = store.get_sweep(sweep_id)
    spec = sweep["spec"]
    configs = spec.get("configs") or []
    hashes = spec.get("config_hashes") or [None] * len(configs)
    seed_sets = spec.get("config_seeds") or [spec.get("seeds") or []] * len(configs)
    by_key: dict[tuple[Any, int], list[StoredRun]] = {}
    for stored in store.list_runs(sweep_id=sweep_id, limit=None):
        by_key.setdefault((stored.config_hash, stored.seed), []).append(stored)
    out = []
    for config, h, seeds in zip(configs, hashes, seed_sets, strict=False):
        for seed in seeds:
            run: StoredRun | None = _best(by_key.get((h, int(seed)), []))
            if (run is None or run.status not in ("finished", "diverged")) and h is not None:
                other = store.find_finished(sweep["experiment"], h, int(seed))
                if other is not None:
                    run = store.get_run(other)
            out.append((config, h, int(seed), run))
    return out


def sweep_rows(store: RunStore, sweep_id: str) -> list[dict[str, Any]]:
    """One dict per planned run of the sweep (see the module docstring)."""
    experiment = store.get_sweep(sweep_id)["experiment"]
    return [
        _row(experiment, sweep_id, config, h, seed, run)
        for config, h, seed, run in sweep_runs(store, sweep_id)
    ]


def _row(
    experiment: str,
    sweep_id: str,
    config: Mapping[str, Any],
    h: str | None,
    seed: int,
    run: StoredRun | None,
) -> dict[str, Any]:
    row: dict[str, Any] = describe_config(experiment, config)
    row.update(
        {
            "seed": seed,
            "status": run.status if run else "pending",
            "run_id": run.id if run else None,
            "sweep_id": sweep_id,
        }
    )
    for key, value in flat_agreement(run.agreement if run else None).items():
        row.setdefault(key, value)
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
                "fixed": spec.get("fixed") or ({"mode": spec["mode"]} if "mode" in spec else {}),
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

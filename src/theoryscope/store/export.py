"""Exporting a stored run: CSV (one row per record), JSON (everything) or NPZ (arrays + JSON).

Files are written by :func:`theoryscope.core.safe_write.write_output`: ``--out`` ending in ``/``
or naming a directory gets ``<experiment>-<id>.<format>`` inside it; only a regular file is
ever replaced, and only with ``force``; modes follow the umask; a killed export leaves nothing.
Everything is read (and its checksums verified) before the file is created, so a damaged store
never yields a file.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from theoryscope.core.jsonable import jsonable
from theoryscope.core.safe_write import output_path, write_output
from theoryscope.errors import ConfigError

if TYPE_CHECKING:
    from theoryscope.store.runstore import RunStore

EXPORT_FORMATS = ("csv", "json", "npz")


def flatten_series(series: dict[str, np.ndarray]) -> tuple[list[str], np.ndarray]:
    """Columns for a table: a series of shape (n, a, b) becomes columns ``name_i_j`` (1-based)."""
    names: list[str] = []
    columns: list[np.ndarray] = []
    n = min((len(v) for v in series.values()), default=0)
    for name, arr in series.items():
        arr = np.asarray(arr)[:n]
        if arr.ndim == 1:
            names.append(name)
            columns.append(arr.astype(np.float64))
            continue
        flat = arr.reshape(n, -1)
        for flat_index, idx in enumerate(np.ndindex(*arr.shape[1:])):
            names.append(name + "_" + "_".join(str(i + 1) for i in idx))
            columns.append(flat[:, flat_index].astype(np.float64))
    table = np.stack(columns, axis=1) if columns else np.zeros((0, 0))
    return names, table


def run_to_csv(series: dict[str, np.ndarray]) -> str:
    names, table = flatten_series(series)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(names)
    for row in table:
        writer.writerow([repr(float(v)) if np.isfinite(v) else "nan" for v in row])
    return buf.getvalue()


def run_to_json_dict(store: RunStore, run_id: str) -> dict[str, Any]:
    run = store.get_run(run_id)
    out = run.to_dict()
    out["series"] = jsonable(store.get_series(run_id))
    return out


def export_run(
    store: RunStore, run_id: str, fmt: str, path: str | Path, *, force: bool = False
) -> Path:
    """Write run ``run_id`` in format ``fmt`` to ``path`` (a file, or a directory to put it in)."""
    if fmt not in EXPORT_FORMATS:
        raise ConfigError("format", f"got {fmt!r}; allowed: {', '.join(EXPORT_FORMATS)}")
    run = store.get_run(run_id)
    target = output_path(path, f"{run.experiment}-{run_id}.{fmt}", option="out")
    series = store.get_series(run_id)  # read (and verified) before anything is created
    if fmt == "csv":
        payload = run_to_csv(series).encode()
    elif fmt == "json":
        out = run.to_dict()
        out["series"] = jsonable(series)
        payload = json.dumps(out, allow_nan=False).encode()
    else:
        payload = b""

    def write(fh: BinaryIO) -> None:
        if fmt == "npz":
            meta = json.dumps(run.to_dict(), allow_nan=False)
            arrays: dict[str, Any] = {**series, "__run__": np.array(meta)}
            np.savez_compressed(fh, **arrays)
        else:
            fh.write(payload)

    return write_output(target, write, option="out", force=force)

"""What the store's checksums cost: writing and reading a run's series with CRC-32 per chunk
(``RunStore.append_series`` / ``get_series``) against the same code with the checksum switched
off (``chunk_checksum`` returning None: NULL stored, nothing verified).

    python benchmarks/bench_store_checksums.py              # 200 chunks of 5,000 records
    python benchmarks/bench_store_checksums.py --chunks 50

Both paths use one store file each, in alternating order, best of ``--repeat``. Prints plain
text and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from _bench import result
from theoryscope.store import RunStore, runstore


def _chunks(n_chunks: int, records: int) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    return [
        {
            "step": np.arange(i * records, (i + 1) * records),
            "loss": rng.normal(size=records),
            "W1": rng.normal(size=(records, 3, 3)).astype(np.float32),
        }
        for i in range(n_chunks)
    ]


@contextlib.contextmanager
def _no_checksums() -> Iterator[None]:
    saved = runstore.chunk_checksum
    runstore.chunk_checksum = lambda *args: None  # type: ignore[assignment]
    try:
        yield
    finally:
        runstore.chunk_checksum = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=200)
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    chunks = _chunks(args.chunks, args.records)
    mb = sum(v.nbytes for c in chunks for v in c.values()) / 2**20
    times: dict[str, list[float]] = {"write": [], "write_plain": [], "read": [], "read_plain": []}
    for rep in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            store = RunStore(Path(tmp) / "checked.sqlite")
            plain = RunStore(Path(tmp) / "plain.sqlite")
            run_id = store.create_run("bench", {}, seed=0)
            plain_id = plain.create_run("bench", {}, seed=0)
            # the order flips every repeat, so that drift (cache, other load) hits both alike
            first = ("checked", "plain") if rep % 2 == 0 else ("plain", "checked")
            for side in first:
                if side == "checked":
                    t = time.perf_counter()
                    for chunk in chunks:
                        store.append_series(run_id, chunk)
                    times["write"].append(time.perf_counter() - t)
                else:
                    with _no_checksums():
                        t = time.perf_counter()
                        for chunk in chunks:
                            plain.append_series(plain_id, chunk)
                        times["write_plain"].append(time.perf_counter() - t)
            for side in first:
                t = time.perf_counter()
                if side == "checked":
                    checked = store.get_series(run_id)
                    times["read"].append(time.perf_counter() - t)
                else:
                    raw = plain.get_series(plain_id)  # NULL checksums: nothing to verify
                    times["read_plain"].append(time.perf_counter() - t)
            assert all(np.array_equal(checked[k], raw[k]) for k in raw)
    best = {k: min(v) for k, v in times.items()}
    ratio_write = best["write"] / best["write_plain"]
    ratio_read = best["read"] / best["read_plain"]
    print(f"{args.chunks} chunks, {mb:.1f} MiB of series")
    print(f"write: {best['write']:.3f} s with checksums, {best['write_plain']:.3f} s without "
          f"({ratio_write:.2f}x)")  # fmt: skip
    print(f"read:  {best['read']:.3f} s verified,       {best['read_plain']:.3f} s unverified "
          f"({ratio_read:.2f}x)")  # fmt: skip
    print(json.dumps({"mib": mb, **best, "ratio_write": ratio_write, "ratio_read": ratio_read}))
    # figure over baseline is a time here: the ratio is the checksums' cost factor (1 = free)
    result(f"store write with CRC-32 checksums, {mb:.0f} MiB", f"{best['write']:.3f} s",
           f"no checksums {best['write_plain']:.3f} s", ratio_write,
           "time ratio; none set", None)  # fmt: skip
    result(f"store read verifying checksums, {mb:.0f} MiB", f"{best['read']:.3f} s",
           f"unverified {best['read_plain']:.3f} s", ratio_read, "time ratio; none set",
           None)  # fmt: skip


if __name__ == "__main__":
    main()

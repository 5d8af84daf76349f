"""What live streaming to a browser costs the engine.

Runs one Expander config three ways in one process, after a warm-up that compiles it:

    plain   simulate(config) in-process: no store, no callbacks (the engine alone)
    cli     runner.execute(...) with a run store: what ``theoryscope expander run`` does
    web     the web lab: uvicorn serving create_app() in a thread, POST /api/live, and a
            WebSocket client receiving every chunk until ``done`` (the run is stored too)

and prints steps/s for each (the engine's own loop clock, records and callbacks included,
compilation excluded) and the ratios web / cli and web / plain. The bar (issue 8): live
streaming, now with progress and ETA on every chunk and metric rows at the end, costs at most
10 % of the CLI's steps/s, i.e. web / cli >= 0.90.

    python benchmarks/bench_web_streaming.py            # k=1000, |B|=100, 10000 steps, 3 repeats
    python benchmarks/bench_web_streaming.py --quick    # a smaller config for a smoke check
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from websockets.sync.client import connect

from _bench import result
from theoryscope.experiments.expander import Config, simulate
from theoryscope.runner import execute
from theoryscope.store import RunStore
from theoryscope.web.app import create_app
from theoryscope.web.limits import Limits
from theoryscope.web.server import uvicorn_options

#: web / cli steps per second must stay at or above this (streaming costs at most 10 %).
BAR = 0.90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_plain(config: Config, seed: int) -> float:
    run = simulate(config, seed)
    return float(run.summary["steps_per_second_wall"])


def run_cli(config: Config, seed: int, store: RunStore) -> float:
    result = execute("expander", config, seed, store=store)
    return float(result.run.summary["steps_per_second_wall"])


def run_web(config: Config, seed: int, base: str, store: RunStore) -> tuple[float, int]:
    """Start a run over HTTP, receive every chunk over the WebSocket; steps/s and points seen."""
    import httpx

    res = httpx.post(f"http://{base}/api/live", json={"config": config.to_dict(), "seed": seed})
    res.raise_for_status()
    run_id = res.json()["run_id"]
    points = 0
    with connect(f"ws://{base}/api/live/{run_id}/ws", max_size=None) as ws:
        while True:
            msg = json.loads(ws.recv())
            points += len((msg.get("data") or {}).get("step", []))
            if msg["type"] == "done":
                break
    stored = store.get_run(run_id)
    assert stored.status == "finished", stored.message
    assert points == len(store.get_series(run_id)["step"]), "points received != points stored"
    return float(stored.summary["steps_per_second_wall"]), points


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="k=200, 4000 steps, 2 repeats")
    args = parser.parse_args(argv)
    if args.quick:
        args.k, args.steps, args.repeats = 200, 4000, 2
    config = Config.create(
        d=3, k=args.k, gamma=0.01, lr=0.05, batch=args.batch, steps=args.steps,
        records=args.records,
    )  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        store_path = Path(tmp) / "runs.sqlite"
        store = RunStore(store_path)
        port = _free_port()
        limits = Limits()  # the server exactly as `theoryscope serve` runs it (guards, timeouts)
        options = {**uvicorn_options(limits), "log_level": "error"}
        server = uvicorn.Server(
            uvicorn.Config(create_app(store_path, limits), host="127.0.0.1", port=port, **options)
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"127.0.0.1:{port}"

        run_plain(config, 0)  # warm-up: compiles once for the process
        results: dict[str, list[float]] = {"plain": [], "cli": [], "web": []}
        points = 0
        for rep in range(args.repeats):
            # alternate the order so that drift (thermal, other load) hits every variant alike
            order = ("plain", "cli", "web") if rep % 2 == 0 else ("web", "cli", "plain")
            for name in order:
                seed = rep + 1
                if name == "plain":
                    results[name].append(run_plain(config, seed))
                elif name == "cli":
                    results[name].append(run_cli(config, seed, store))
                else:
                    sps, points = run_web(config, seed, base, store)
                    results[name].append(sps)
        server.should_exit = True
        thread.join(10)

    med = {name: statistics.median(v) for name, v in results.items()}
    report = {
        "config": {"d": 3, "k": args.k, "batch": args.batch, "steps": args.steps,
                   "records": args.records},
        "repeats": args.repeats,
        "points_streamed_per_run": points,
        "steps_per_second": {name: round(v, 1) for name, v in med.items()},
        "ratio_web_vs_cli": round(med["web"] / med["cli"], 3),
        "ratio_web_vs_plain": round(med["web"] / med["plain"], 3),
    }  # fmt: skip
    print(
        f"Expander k={args.k} |B|={args.batch} steps={args.steps} records={args.records},"
        f" median of {args.repeats}:"
    )
    for name, label in (
        ("plain", "plain in-process simulate"),
        ("cli", "CLI path (execute + store)"),
        ("web", "web lab (HTTP + WebSocket)"),
    ):
        print(f"  {label:28s} {med[name]:10.1f} steps/s")
    verdict = "ok" if report["ratio_web_vs_cli"] >= BAR else "TOO SLOW"
    print(f"  ratio web / cli   = {report['ratio_web_vs_cli']:.3f}  (bar: >= {BAR:.2f}, {verdict})")
    print(f"  ratio web / plain = {report['ratio_web_vs_plain']:.3f}")
    print(json.dumps(report))
    result(f"web lab live streaming, k={args.k} |B|={args.batch} {args.steps} steps",
           f"web {med['web']:.0f} steps/s", f"CLI path {med['cli']:.0f} steps/s",
           report["ratio_web_vs_cli"], f">= {BAR:.2f}x (streaming costs <= 10%)",
           report["ratio_web_vs_cli"] >= BAR)  # fmt: skip
    return report


if __name__ == "__main__":
    main()

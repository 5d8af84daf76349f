"""Probe the lab's pages for the defects of issue 9 (item 16): cases tried and failures.

Starts the lab of whatever ``theoryscope`` is on the path in a thread and drives it in headless
Chromium (Playwright + Debian's chromium), so the same command measures a checkout before and
after the fixes::

    PYTHONPATH=src python benchmarks/probe_web_page.py
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("JAX_PLATFORMS", "cpu")

SMALL = "#k=50&d=2&gamma=0.05,0.05&terms=1,1:1&lr=0.05&batch=50&steps=3000&records=200"


def serve(store: Path) -> tuple[Any, str]:
    import uvicorn

    from theoryscope.web.app import create_app
    from theoryscope.web.limits import Limits

    app = create_app(store, Limits(detach_grace_s=2.0))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}/"


def visible(page: Any, selector: str, timeout_ms: int = 2000) -> bool:
    try:
        page.wait_for_selector(selector, state="visible", timeout=timeout_ms)
        return True
    except Exception:
        return False


def main() -> None:
    from playwright.sync_api import sync_playwright

    import theoryscope

    print(f"theoryscope from {Path(theoryscope.__file__).parent}")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    rows: dict[str, list[int]] = {}
    notes: list[str] = []

    def case(name: str, failed: bool, note: str = "") -> None:
        row = rows.setdefault(name, [0, 0])
        row[0] += 1
        row[1] += int(failed)
        if failed and note:
            notes.append(f"{name}: {note}")

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        server, url = serve(Path(tmp) / "runs.sqlite")
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])

        def fresh(hash_: str = SMALL) -> Any:
            page = browser.new_context(viewport={"width": 1600, "height": 1050}).new_page()
            page.errors = []
            page.on("pageerror", lambda e: page.errors.append(str(e)))
            page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
            page.goto(url + hash_)
            page.wait_for_selector("body[data-ready='1']", timeout=60_000)
            return page

        def put(page: Any, testid: str, value: Any) -> None:
            box = page.get_by_test_id(testid)
            box.fill(str(value))
            box.press("Tab")

        # log-x during live runs: six starts
        page = fresh()
        page.get_by_test_id("logx").check()
        for _attempt in range(6):
            before = len(page.errors)
            page.get_by_test_id("start").click()
            page.wait_for_function(
                "window.lab.run && window.lab.run.state === 'done'", timeout=120_000
            )
            page.wait_for_timeout(300)
            case(
                "16 log-x live run: console/page error",
                len(page.errors) > before,
                page.errors[-1:] and page.errors[-1],
            )
            page.get_by_test_id("reset").click()
        page.context.close()

        # r_i for alpha = (0,1,0,0,2): two values, as the CLI
        page = fresh("#k=50&d=5&gamma=0.05&terms=0,1,0,0,2:1&lr=0.05&batch=50&steps=3000")
        page.wait_for_function("window.lab.preview && window.lab.preview.config.d === 5")
        page.wait_for_timeout(300)
        expected = page.evaluate("window.lab.preview.theory.terms[0].r")
        cell = page.locator("#readouts tbody tr:first-child td:nth-child(10)").inner_text()
        shown = [x for x in cell.split(",") if x.strip() not in ("", "–")]
        case(
            "16 r_i readout matches the CLI",
            len(shown) != len(expected),
            f"shows {cell!r}, CLI r = {expected}",
        )
        page.context.close()

        # zero terms
        page = fresh()
        put(page, "nterms", 0)
        page.wait_for_timeout(500)
        terms = page.evaluate("window.lab.form.terms.length")
        case("16 zero terms accepted by the page", terms < 1, f"form has {terms} terms")
        page.context.close()

        # flow with tanh: said at once, beside the field
        page = fresh()
        page.get_by_test_id("nonlinearity").select_option("tanh")
        page.get_by_test_id("mode").select_option("flow")
        said = visible(page, "text=/needs the exact population loss/")
        case("16 flow + tanh flagged before Start", not said, "nothing shown until Start")
        page.context.close()

        # seeds
        for typed in ("1e20", "-3", "2.5", "2147483648"):
            page = fresh()
            put(page, "seed", typed)
            page.wait_for_timeout(300)
            kept = page.get_by_test_id("seed").input_value() == typed
            seed = page.evaluate("window.lab.seed")
            flagged = visible(page, "text=/allowed: an integer from 0 to 2147483647/", 1000)
            ok = kept and flagged and seed != float(typed)
            case(
                "16 bad seed flagged inline, not coerced",
                not ok,
                f"{typed}: box {page.get_by_test_id('seed').input_value()!r}, seed {seed}, flagged {flagged}",
            )
            page.context.close()

        # Defaults resets the seed
        page = fresh(SMALL.replace("#", "#seed=42&"))
        page.get_by_test_id("defaults").click()
        page.wait_for_timeout(300)
        box = page.get_by_test_id("seed").input_value()
        case("16 Defaults resets the seed", box != "0", f"seed box {box!r} after Defaults")
        page.context.close()

        # /widenets: the width error states the caps line's limit
        page = browser.new_context().new_page()
        page.goto(url + "widenets")
        page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        caps = page.locator("#lz-caps").inner_text()
        for width in (200_001, 20_000_000):
            put(page, "lz-width", width)
            page.get_by_test_id("lz-start").click()
            page.get_by_test_id("error").wait_for(state="visible", timeout=10_000)
            said = page.get_by_test_id("error").inner_text()
            case(
                "16 widenets width error states the caps line's limit",
                "200,000" not in said,
                f"caps {caps!r}; error {said!r}",
            )
        page.context.close()
        browser.close()
        server.should_exit = True

    print(f"{'category':52} {'cases':>6} {'failures':>9}")
    for name, (tried, failed) in rows.items():
        print(f"{name:52} {tried:6d} {failed:9d}")
    for note in notes:
        print("  e.g.", note[:200])
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()

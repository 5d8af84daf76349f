"""End to end in headless Chromium (Playwright + Debian's chromium) against a real server.

The page is driven the way a researcher would: change the controls, start, watch the loss fall,
pause, reset, reload, toggle the axes, reopen and overlay stored runs, export, share a link.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from theoryscope.store import RunStore
from theoryscope.web.app import create_app, missing_assets
from theoryscope.web.limits import Limits
from theoryscope.web.server import uvicorn_options

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

if CHROMIUM is None:
    pytest.skip(
        "Debian's chromium is not installed (apt-get install -y chromium; CI installs it)",
        allow_module_level=True,
    )
if missing_assets():
    pytest.skip("web assets missing: run scripts/install_web_assets.sh", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The real app under uvicorn in a thread, on a fresh store."""
    import uvicorn

    store_path = tmp_path_factory.mktemp("browser") / "runs.sqlite"
    app = create_app(store_path, Limits(detach_grace_s=3.0))
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, **uvicorn_options(Limits()))
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    # the Expander lab's page ("/" is the landing page listing every experiment)
    yield {"url": f"http://127.0.0.1:{port}/expander", "store": RunStore(store_path)}
    srv.should_exit = True
    thread.join(15)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 1050}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda err: errors.append(str(err)))
    pg.errors = errors  # type: ignore[attr-defined]
    yield pg
    context.close()
    assert not errors, errors


def _load(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)


def _set(page, testid: str, value) -> None:
    box = page.get_by_test_id(testid)
    box.fill(str(value))
    box.press("Tab")


def _wait(page, expression: str, timeout: float = 90_000) -> None:
    page.wait_for_function(expression, timeout=timeout)


def _t_rise(page) -> str:
    return page.get_by_test_id("t-rise-1").inner_text()


def test_the_lab_end_to_end(server, page):
    _load(page, server["url"])
    # typeset formulas and the two charts are there
    assert page.locator(".katex").count() > 15
    assert page.locator("#chart-loss canvas").count() >= 1
    assert page.locator("#chart-params canvas").count() >= 1

    # -- change k, d, gamma, alpha and eta: the theory preview follows the controls
    _set(page, "k", 50)
    _set(page, "d", 2)
    before = _t_rise(page)
    _set(page, "gamma-1", 0.05)
    _wait(page, f"document.querySelector('[data-testid=t-rise-1]').innerText !== '{before}'")
    page.get_by_test_id("alpha-1-2").select_option("0")
    _wait(page, "window.lab.preview && window.lab.preview.theory.terms[0].ell === 2")
    page.get_by_test_id("alpha-1-2").select_option("1")
    _wait(page, "window.lab.preview && window.lab.preview.theory.terms[0].ell === 3")
    _set(page, "lr", 0.05)
    _set(page, "batch", 50)
    _set(page, "steps", 2000)
    _wait(page, "window.lab.preview && window.lab.preview.config.lr === 0.05")
    assert "follows the controls" in page.get_by_test_id("theory-tag").inner_text()
    # the declared cost of what Start would run is shown before it starts (issue 9, item 7)
    _wait(page, "document.querySelector('[data-testid=ro-cost]').innerText.startsWith('about')")

    # -- start and see the loss fall
    page.get_by_test_id("start").click()
    _wait(page, "window.lab.run && window.lab.run.state === 'done'")
    first_id = page.evaluate("window.lab.run.id")
    first, last = page.evaluate(
        "(() => { const c = window.lab.run.cols.loss_population; return [c[0], c[c.length-1]]; })()"
    )
    assert last < 0.5 * first
    assert page.get_by_test_id("status").inner_text() == "done"
    assert "frozen to run" in page.get_by_test_id("theory-tag").inner_text()
    stored = server["store"].get_series(first_id)
    assert page.evaluate("window.lab.run.n") == len(stored["step"])

    # -- a long run: reload keeps it, pause freezes its config, reset stops it
    _set(page, "steps", 2_000_000)
    assert page.get_by_test_id("notice").is_visible()  # the shown run keeps its own config
    page.get_by_test_id("start").click()
    _wait(page, "window.lab.run && window.lab.run.state === 'running' && window.lab.run.n > 3")
    long_id = page.evaluate("window.lab.run.id")
    assert long_id != first_id
    # a long run shows the time left at its current speed
    _wait(page, "/\\d/.test(document.querySelector('[data-testid=ro-eta]').innerText)")
    page.reload()
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    _wait(page, f"window.lab.run && window.lab.run.id === '{long_id}' && window.lab.run.n > 3")
    assert page.evaluate("window.lab.form.steps") == 2_000_000
    page.get_by_test_id("start").click()  # pause
    _wait(page, "window.lab.run.state === 'paused'")
    _set(page, "lr", 0.02)  # changing eta while paused must not touch the run
    notice = page.get_by_test_id("notice")
    assert notice.is_visible() and "apply after Reset" in notice.inner_text()
    assert page.evaluate("window.lab.run.config.lr") == 0.05
    step = page.evaluate("window.lab.run.step")
    shown = float(page.locator("#ro-teff").inner_text())
    assert shown == pytest.approx(step * 0.05, rel=1e-3)  # the t_eff axis keeps the run's eta
    page.get_by_test_id("reset").click()
    assert page.get_by_test_id("status").inner_text() == "idle"
    deadline = time.monotonic() + 60
    while server["store"].get_run(long_id).status == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert server["store"].get_run(long_id).status == "interrupted"

    # -- reopen the first stored run; toggle t_eff and EMA
    page.get_by_test_id("refresh").click()
    page.get_by_test_id(f"open-{first_id}").click()
    _wait(page, f"window.lab.run && window.lab.run.id === '{first_id}' && window.lab.run.n > 10")
    assert page.get_by_test_id("lr").input_value() == "0.05"  # its config is in the controls
    page.get_by_test_id("x-teff").click()
    _wait(page, "window.lab.charts.loss.spec.xLabel.startsWith('t_eff')", timeout=10_000)
    assert page.evaluate("window.lab.charts.params.spec.xLabel").startswith("t_eff")
    page.get_by_test_id("ema").select_option("10")
    _wait(
        page,
        "document.getElementById('legend-loss').textContent.includes('EMA 10')",
        timeout=10_000,
    )
    page.get_by_test_id("logx").check()
    page.get_by_test_id(f"overlay-{long_id}").check()
    _wait(page, f"window.lab.overlays.has('{long_id}')", timeout=10_000)
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-lab.png"), full_page=True)

    # -- export CSV
    with page.expect_download() as info:
        page.get_by_test_id("export-csv").click()
    text = Path(info.value.path()).read_text()
    header, *rows = text.strip().splitlines()
    assert header.startswith("step,t_eff,loss_batch") and len(rows) == len(stored["step"])

    # -- a shared URL opens the same config in a fresh browser
    url = page.url
    form = page.evaluate("JSON.stringify(window.lab.form)")
    other = page.context.browser.new_context().new_page()
    _load(other, url)
    assert other.evaluate("JSON.stringify(window.lab.form)") == form
    assert other.get_by_test_id("k").input_value() == "50"
    assert other.get_by_test_id("d").input_value() == "2"
    other.context.close()


def test_closing_the_tab_stops_the_run(server, page):
    _load(
        page, server["url"] + "#k=50&d=2&gamma=0.05,0.05&terms=1,1:1&lr=0.05&batch=50&steps=2000000"
    )
    assert page.get_by_test_id("k").input_value() == "50"
    page.get_by_test_id("start").click()
    _wait(page, "window.lab.run && window.lab.run.state === 'running' && window.lab.run.n > 2")
    run_id = page.evaluate("window.lab.run.id")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-lab-running.png"), full_page=False)
    page.close()
    store = server["store"]
    deadline = time.monotonic() + 60
    while store.get_run(run_id).status == "running":
        assert time.monotonic() < deadline, "the run kept going after its tab closed"
        time.sleep(0.1)
    assert store.get_run(run_id).status == "interrupted"
    assert len(store.get_series(run_id)["step"]) > 2


def test_bad_input_shows_one_line_naming_the_field(server, page):
    _load(page, server["url"])
    _set(page, "k", 99999)
    error = page.get_by_test_id("error")
    error.wait_for(state="visible", timeout=10_000)
    assert error.inner_text().startswith("k:")
    assert page.get_by_test_id("k").evaluate("e => e.classList.contains('invalid')")


# -- issue 9 (hardening), defect 16: the page's own bugs ----------------------------------------------
SMALL_HASH = "#k=50&d=2&gamma=0.05,0.05&terms=1,1:1&lr=0.05&batch=50&steps=3000&records=200"


def _console_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def test_log_x_live_runs_never_blank_the_charts(server, page):
    """Start runs with log x on, several times: no console error, and both charts hold as many
    data columns as series (a live run's first record, step 0, cannot be drawn on a log axis;
    its table used to be dropped, shifting every column onto the wrong series)."""
    console = _console_errors(page)
    _load(page, server["url"] + SMALL_HASH)
    page.get_by_test_id("logx").check()
    for attempt in range(6):
        page.get_by_test_id("start").click()
        _wait(page, "window.lab.run && window.lab.run.state === 'done'")
        _wait(
            page,
            "['loss', 'params'].every((k) => { const p = window.lab.charts[k].plot;"
            " return p && p.data.length === p.series.length && p.data[0].length > 10; })",
            timeout=10_000,
        )
        assert console == [], (attempt, console)
        page.get_by_test_id("reset").click()
    assert not page.errors  # type: ignore[attr-defined]


def test_r_i_readouts_follow_the_relevant_directions(server, page):
    """alpha = (0,1,0,0,2): r has one value per relevant direction (i = 2 and 5), as the CLI."""
    _load(
        page, server["url"] + "#k=50&d=5&gamma=0.05&terms=0,1,0,0,2:1&lr=0.05&batch=50&steps=3000"
    )
    _wait(page, "window.lab.preview && window.lab.preview.config.d === 5")
    expected = page.evaluate("window.lab.preview.theory.terms[0].r")
    assert len(expected) == 2
    cell = page.get_by_test_id("r-1")
    shown = [float(x) for x in cell.inner_text().split(",")]
    assert shown == pytest.approx(expected, rel=1e-2)
    assert cell.get_attribute("title") == "r_i for i = 2, 5"


def test_the_last_term_cannot_be_removed(server, page):
    _load(page, server["url"] + SMALL_HASH)
    _set(page, "nterms", 0)
    msg = page.get_by_test_id("terms-error")
    msg.wait_for(state="visible", timeout=5_000)
    assert "at least one term" in msg.inner_text()
    assert page.evaluate("window.lab.form.terms.length") == 1
    assert page.get_by_test_id("nterms").input_value() == "1"
    _set(page, "nterms", 2)
    assert page.evaluate("window.lab.form.terms.length") == 2
    assert not msg.is_visible()


def test_a_population_mode_with_another_nonlinearity_is_flagged_at_once(server, page):
    _load(page, server["url"] + SMALL_HASH)
    if "flow" not in page.evaluate("window.lab.meta.modes_supported"):
        pytest.skip("this build has no population-dynamics engine")
    page.get_by_test_id("nonlinearity").select_option("tanh")
    page.get_by_test_id("mode").select_option("flow")
    beside = page.get_by_test_id("mode-error")
    beside.wait_for(state="visible", timeout=2_000)  # no Start needed
    assert beside.inner_text().startswith("mode: flow needs the exact population loss")
    assert page.get_by_test_id("nl-mode-error").is_visible()
    assert page.get_by_test_id("mode").evaluate("e => e.classList.contains('invalid')")
    page.get_by_test_id("start").click()  # refused on the page: nothing is sent
    page.get_by_test_id("error").wait_for(state="visible", timeout=2_000)
    assert page.evaluate("window.lab.run") is None
    assert "flow" in page.evaluate("window.lab.meta.modes_supported")  # still offered
    page.get_by_test_id("mode").select_option("sgd")
    assert not beside.is_visible()


@pytest.mark.parametrize("typed", ["1e20", "-3", "2.5", "2147483648"])
def test_a_bad_seed_is_flagged_at_once_and_never_coerced(server, page, typed):
    _load(page, server["url"] + SMALL_HASH)
    _set(page, "seed", 5)
    assert page.evaluate("window.lab.seed") == 5
    _set(page, "seed", typed)
    msg = page.get_by_test_id("seed-error")
    msg.wait_for(state="visible", timeout=2_000)
    assert msg.inner_text() == f"seed: got {typed}; allowed: an integer from 0 to 2147483647"
    assert page.get_by_test_id("seed").input_value() == typed  # not rounded, not clipped
    assert page.evaluate("window.lab.seed") == 5
    page.get_by_test_id("start").click()
    page.get_by_test_id("error").wait_for(state="visible", timeout=2_000)
    assert page.evaluate("window.lab.run") is None
    _set(page, "seed", 2147483647)
    assert not msg.is_visible() and page.evaluate("window.lab.seed") == 2147483647


def test_defaults_resets_the_seed(server, page):
    _load(page, server["url"] + SMALL_HASH.replace("#", "#seed=42&"))
    assert page.get_by_test_id("seed").input_value() == "42"
    page.get_by_test_id("defaults").click()
    assert page.get_by_test_id("seed").input_value() == "0"
    assert page.evaluate("window.lab.seed") == 0
    assert "seed=0" in page.url

"""The derived pages end to end in headless Chromium (Playwright + Debian's chromium): the landing
page, every declared experiment's page (its ``tiny`` preset: change a field, see the inline
error come and go, run, see simulation and theory drawn, metrics filled, export, share the
settings and the view), every declared study, and the layout at 1366x768, 800 and 400 px.
Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import csv
import io
import json
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from theoryscope.protocol import all_experiments, get_experiment
from theoryscope.runner import execute
from theoryscope.store import RunStore
from theoryscope.web.app import create_app, missing_assets
from theoryscope.web.describe import default_values
from theoryscope.web.limits import Limits

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DECLARED = [e.name for e in all_experiments() if e.config is not None]
#: Declared experiments shown on the derived page (a hand-made ``Hooks.page`` has its own tests).
DERIVED = [n for n in DECLARED if get_experiment(n).hooks.page is None]


def _cheapest_study(experiment):
    """The study whose default parameters the declaration estimates to be quickest."""

    def cost(study):
        params = study.params.from_dict({f: 0 for f in getattr(study.params, "follows_seed", ())})
        return study.estimate(params).seconds if study.estimate else 1.0

    return min(experiment.studies, key=cost).name


#: One study per derived page (the API tests run every study).
STUDIES = [(n, _cheapest_study(get_experiment(n))) for n in DERIVED if get_experiment(n).studies]
VIEWPORTS = ((1366, 768), (800, 900), (400, 800))

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
    import uvicorn

    store_path = tmp_path_factory.mktemp("pages") / "runs.sqlite"
    app = create_app(store_path, Limits(detach_grace_s=3.0))
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield {"url": f"http://127.0.0.1:{port}", "store": RunStore(store_path), "app": app}
    srv.should_exit = True
    thread.join(15)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


class Pages:
    """Opens pages in fresh contexts and fails the test on any uncaught page error."""

    def __init__(self, browser) -> None:
        self.browser = browser
        self.contexts: list = []
        self.errors: list[str] = []

    def new(self, width: int = 1366, height: int = 900, **kw):
        ctx = self.browser.new_context(
            viewport={"width": width, "height": height}, accept_downloads=True, **kw
        )
        self.contexts.append(ctx)
        page = ctx.new_page()
        page.on("pageerror", lambda err: self.errors.append(str(err)))
        return page

    def close(self) -> None:
        for ctx in self.contexts:
            ctx.close()


@pytest.fixture()
def pages(browser):
    p = Pages(browser)
    yield p
    p.close()
    assert not p.errors, p.errors


def _load(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=60_000)


def _wait(page, expression: str, timeout: float = 120_000) -> None:
    page.wait_for_function(expression, timeout=timeout)


def _shot(page, name: str, full: bool = True) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=full)
    return path


def _download(page, testid: str) -> bytes:
    with page.expect_download() as info:
        page.get_by_test_id(testid).click()
    return Path(info.value.path()).read_bytes()


def _text_field(name: str):
    """A plain (not advanced, no mode condition) int or float field to type into."""
    for spec in get_experiment(name).config.fields():
        if spec.kind in ("int", "float") and not spec.advanced and spec.modes is None:
            return spec
    return None


def _same(text: str, value) -> bool:
    """Whether a form text shows a declared value (numbers compared as numbers)."""
    if isinstance(value, bool):
        return text == str(value).lower()
    if isinstance(value, (int, float)):
        return float(text) == float(value)
    if isinstance(value, (list, tuple)):
        parts = text.split(",")
        return len(parts) == len(value) and all(
            _same(p, v) for p, v in zip(parts, value, strict=True)
        )
    return text == str(value)


def _renderer_lines(store, run_id: str) -> tuple[int, int]:
    """(simulated, theory) lines with finite data that plots/render.py draws for a stored run."""
    import numpy as np

    from theoryscope.plots.render import curve_data
    from theoryscope.web.figures import run_documents

    stored = store.get_run(run_id)
    docs = run_documents(stored, store.get_series(run_id))
    counts = [0, 0]
    for figure in get_experiment(stored.experiment).figures:
        for panel in figure.panels:
            for curve in panel.curves:
                for _, _, y, _, _ in curve_data(curve, docs):
                    if np.isfinite(y).any():
                        counts[curve.style == "dashed"] += 1
    return counts[0], counts[1]


# -- the landing page ----------------------------------------------------------------------------
def test_landing_page_lists_every_experiment(server, pages):
    page = pages.new(1366, 768)
    _load(page, server["url"] + "/")
    cards = [
        c.get_attribute("data-testid")[5:] for c in page.locator("[data-testid^='card-']").all()
    ]
    assert cards == [e.name for e in all_experiments()]  # flagship (lowest order) first
    for name in DECLARED:
        assert page.get_by_test_id(f"link-{name}").get_attribute("href") == f"/{name}"
        if get_experiment(name).figures:  # a picture, or a note when the theory draws none
            card = page.get_by_test_id(f"card-{name}")
            card.scroll_into_view_if_needed()
            _wait(
                page,
                f"(() => {{ const c = document.querySelector('[data-testid=card-{name}]');"
                " const i = c.querySelector('img');"
                " return (i && i.complete && i.naturalWidth > 0)"
                " || c.querySelector('.thumb-none') !== null; })()",
            )
        for study in get_experiment(name).studies:
            assert study.title in page.get_by_test_id(f"card-{name}").inner_text()
    _shot(page, "web-landing.png")


# -- every declared experiment's page ------------------------------------------------------------
@pytest.mark.parametrize("name", DERIVED)
def test_experiment_page_end_to_end(server, pages, name):
    experiment = get_experiment(name)
    page = pages.new(1366, 900)
    _load(page, f"{server['url']}/{name}")
    assert page.get_by_test_id("title").inner_text() == experiment.title
    assert page.locator("[data-testid^='panel-']").count() == sum(
        len(f.panels) for f in experiment.figures
    )

    # the tiny preset from the presets menu puts its values in the form
    tiny = default_values(experiment)
    if tiny:
        page.get_by_test_id("preset").select_option("tiny")
        _wait(page, "window.exp.valid !== null && !document.querySelector('#start').disabled")
        texts = page.evaluate("window.exp.form.texts()")
        for key, value in tiny.items():
            assert _same(texts[key], value), (key, texts[key], value)

    # a bad value: the error shows beside the field while typing, and goes when it is fixed
    spec = _text_field(name)
    if spec is not None:
        box = page.get_by_test_id(f"field-{spec.name}")
        good = box.input_value()
        box.fill("abc")
        error = page.get_by_test_id(f"error-{spec.name}")
        error.wait_for(state="visible", timeout=15_000)
        assert error.inner_text().startswith(f"{spec.name}:")
        assert "allowed" in error.inner_text()
        assert box.evaluate("e => e.classList.contains('invalid')")
        assert page.get_by_test_id("start").is_disabled()
        box.fill(good)
        error.wait_for(state="hidden", timeout=15_000)
        _wait(page, "!document.querySelector('#start').disabled")
    assert (
        page.get_by_test_id("cost").inner_text().startswith("cost:") or experiment.estimate is None
    )

    # run: simulation and theory drawn, progress at the end, metrics filled
    page.get_by_test_id("start").click()
    _wait(page, "window.exp.run && window.exp.run.state === 'done'")
    run_id = page.evaluate("window.exp.run.id")
    status = server["store"].get_run(run_id).status
    assert status in ("finished", "diverged")
    page.wait_for_timeout(300)
    drawn = page.evaluate("window.exp.figs.charts.map(c => c.drawn)")
    solid, dashed = _renderer_lines(server["store"], run_id)  # what plots/render.py draws
    assert solid > 0 and sum(d["solid"] for d in drawn) > 0
    assert (sum(d["dashed"] for d in drawn) > 0) == (dashed > 0)
    if status == "finished":
        assert page.get_by_test_id("progress").evaluate("e => e.value") == 1
        assert page.get_by_test_id("progress-text").inner_text().startswith("100%")
    if experiment.metrics:
        rows = page.locator("[data-testid=metrics] tr")
        metrics = page.evaluate("window.exp.run.metrics")
        shown = [m for m in metrics if m["simulated"] is not None or m["predicted"] is not None]
        assert shown, metrics  # a tiny run has numbers to compare
        assert rows.count() == 1 + len(shown) + (len(shown) < len(metrics))
        numbers = page.locator("[data-testid=metrics] td.num").all_inner_texts()
        assert any(t not in ("—", "") for t in numbers)
    _shot(page, f"web-{name}.png")

    # exports: CSV and JSON of the stored run, PNG of the charts on screen, SVG of the figure
    stored = server["store"].get_series(run_id)
    n = len(next(iter(stored.values())))
    rows = list(csv.reader(io.StringIO(_download(page, "export-csv").decode())))
    assert len(rows) == n + 1
    data = json.loads(_download(page, "export-json"))
    assert data["id"] == run_id and "metrics" in data
    assert _download(page, "export-png")[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in _download(page, "export-svg")[:2000]

    # a second run with another seed; the first overlaid, labelled by how it differs
    page.get_by_test_id("seed").fill("1")
    _wait(page, "window.exp.valid !== null && !document.querySelector('#start').disabled")
    page.get_by_test_id("start").click()
    _wait(
        page,
        f"window.exp.run && window.exp.run.id !== '{run_id}' && window.exp.run.state === 'done'",
    )
    second = page.evaluate("window.exp.run.id")
    page.get_by_test_id("refresh").click()
    page.get_by_test_id(f"overlay-{run_id}").check()
    _wait(page, f"window.exp.overlays.has('{run_id}')", timeout=15_000)
    _wait(page, "window.exp.figs.charts.some(c => c.drawn.overlays > 0)", timeout=15_000)
    legends = " ".join(page.locator(".fig-legend").all_inner_texts())
    assert "seed=0" in legends and run_id not in legends

    # the view: flip panel 0's log y; the share link restores settings, run, overlay and view
    logy = page.get_by_test_id("logy-0")
    was = logy.is_checked()
    logy.set_checked(not was)
    _wait(page, "location.hash.includes('_log=')", timeout=10_000)
    page.get_by_test_id("share").click()
    url = page.get_by_test_id("share").get_attribute("data-url")
    assert url and "_run=" + second in url and "_ov=" + run_id in url
    form = page.evaluate("JSON.stringify(window.exp.form.texts())")
    _shot(page, f"web-{name}-overlay.png")
    other = pages.new(1366, 900)
    _load(other, url)
    _wait(other, f"window.exp.run && window.exp.run.id === '{second}'", timeout=30_000)
    _wait(other, f"window.exp.overlays.has('{run_id}')", timeout=30_000)
    assert other.evaluate("JSON.stringify(window.exp.form.texts())") == form
    assert other.get_by_test_id("seed").input_value() == "1"
    assert other.get_by_test_id("logy-0").is_checked() == (not was)
    assert other.evaluate("window.exp.figs.charts[0].view.logy") == (not was)
    _wait(other, "window.exp.figs.charts.some(c => c.drawn.solid > 0)", timeout=15_000)


@pytest.mark.parametrize(("name", "study"), STUDIES)
def test_study_runs_with_progress(server, pages, name, study):
    page = pages.new(1366, 900)
    _load(page, f"{server['url']}/{name}")
    box = page.get_by_test_id(f"study-{study}")
    box.scroll_into_view_if_needed()
    page.get_by_test_id(f"study-run-{study}").click()
    line = page.get_by_test_id(f"study-line-{study}")
    _wait(
        page,
        f"document.querySelector('[data-testid=study-line-{study}]').innerText.startsWith('done')",
    )
    assert "100%" in line.inner_text()
    assert box.locator("progress").evaluate("e => e.value") == 1
    if get_experiment(name).study(study).figure is not None:
        _wait(
            page, f"document.querySelector('[data-testid=study-figure-{study}]').naturalWidth > 0"
        )
    if get_experiment(name).study(study).metrics:
        assert box.locator("table.metrics tr").count() > 1
    box.screenshot(path=str(ARTIFACTS / f"web-{name}-study-{study}.png"))


# -- figures.js resolves the declared paths exactly as plots/render.py does ---------------------
SYNTHETIC = {
    "series": {
        "step": [0, 1, 2, 3],
        "y": [1.0, -2.0, None, 4.0],
        "cols": [[1, -2], [3, -4], [5, -6], [7, -8]],
        "cube": [[[1, 2], [3, 4]], [[5, 6], [7, 8]], [[9, 10], [11, 12]], [[13, 14], [15, 16]]],
        "wide": [[[1, 2, 3], [4, 5, 6]]] * 4,
    },
    "theory": {"t": [0, 2, 4], "lo": [0.5, 0.25, 0.125], "hi": [2, 4, 8], "marks": [1.5, 2.5]},
    "agreement": {"terms": [{"t": 1.0}, {"t": 2.0}]},
    "summary": {},
    "config": {"mode": "a", "freqs": [3, 5]},
}


def _synthetic_curves():
    from theoryscope.spec import Curve

    return [
        Curve(y="series.y", x="series.step", label="plain"),
        Curve(y="series.y", x="series.step", label="abs", transform="abs"),
        Curve(y="series.cols", x="series.step", label="k={value}", columns=True,
              column_labels="config.freqs", color=2),
        Curve(y="series.cols", x="series.step", label="first column only"),
        Curve(y="series.cube", x="series.step", label="({row},{col}) #{i}", columns=True,
              transform="neg"),
        Curve(y="series.cols", x="series.step", label="{missing}", columns=True),
        Curve(y="theory.lo", x="theory.t", label="band", style="band", y2="theory.hi"),
        Curve(y="series.y", x="series.step", label="when b", when={"mode": ["b"]}),
        Curve(y="series.y", x="series.step", label="when a", when={"mode": ["a", "c"]}),
        Curve(y="theory.nothing", x="theory.t", label="absent"),
        Curve(y="series.y", x="series.step", label="sqrt", transform="sqrt"),
        Curve(y="series.cube", x="series.step", label="d{i}", columns=True, transform="diag"),
        Curve(y="series.wide", x="series.step", label="w{i}", columns=True, transform="diag"),
        Curve(y="series.cols", x="series.step", label="flat", transform="diag"),
    ]  # fmt: skip


def _py_lines(curve, docs):
    import numpy as np

    from theoryscope.plots.render import curve_data

    def plain(a):
        return None if a is None else [None if not np.isfinite(v) else float(v) for v in a]

    return [
        {"label": label, "x": plain(x), "y": plain(y), "y2": plain(y2), "column": column}
        for label, x, y, y2, column in curve_data(curve, docs)
    ]


def _close(a, b) -> bool:
    """Equal up to float round-off (the browser hands back large integral floats as ints)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(float(a) - float(b)) <= 1e-12 * max(abs(float(a)), abs(float(b)), 1e-300)
    return a == b


def test_figures_js_resolves_paths_like_the_renderer(server, pages):
    import dataclasses

    from theoryscope.store import to_json

    cases = [(c, SYNTHETIC) for c in _synthetic_curves()]
    for name in DECLARED:  # every declared curve on a real tiny run of every declared experiment
        experiment = get_experiment(name)
        cls = experiment.config
        raw = {**{f: 0 for f in getattr(cls, "follows_seed", ())}, **default_values(experiment)}
        result = execute(name, cls.from_dict(raw), 0, store=None)
        docs = json.loads(to_json({
            "series": result.run.series, "theory": experiment.theory_to_dict(result.theory),
            "agreement": result.agreement, "summary": result.run.summary,
            "config": result.run.config,
        }))  # fmt: skip
        cases += [(c, docs) for f in experiment.figures for p in f.panels for c in p.curves]
    page = pages.new(800, 600)
    _load(page, server["url"] + "/")
    for curve, docs in cases:
        js = page.evaluate(
            "async ([c, d]) => (await import('/static/figures.js')).curveLines(c, d)",
            [json.loads(json.dumps(dataclasses.asdict(curve), default=list)), docs],
        )
        assert _close(js, _py_lines(curve, docs)), curve
    from theoryscope.plots.render import _marker_values
    from theoryscope.spec import Marker

    for at in ("theory.marks", "agreement.terms.*.t", "theory.nothing", "agreement.terms.0.t"):
        marker = page.evaluate(
            "async ([at, d]) => (await import('/static/figures.js')).markerValues({at}, d)",
            [at, SYNTHETIC],
        )
        assert marker == _marker_values(Marker(at=at, label=""), SYNTHETIC), at
    found = page.evaluate(
        "async (d) => { const m = await import('/static/figures.js');"
        " return [m.lookup(d, 'agreement.terms.-1.t'), m.lookup(d, 'agreement.terms.2.t') ?? null,"
        " m.lookup(d, 'series.cols.1.0')]; }",
        SYNTHETIC,
    )
    assert found == [2.0, None, 3]


# -- sweeps ----------------------------------------------------------------------------------------
@pytest.mark.skipif(not DERIVED, reason="no declared experiment")
def test_sweep_pages_show_progress_and_the_metric_summary(server, pages):
    name = DERIVED[0]
    experiment = get_experiment(name)
    cls = experiment.config
    raw = {**{f: 0 for f in getattr(cls, "follows_seed", ())}, **default_values(experiment)}
    config = cls.from_dict(raw)
    store = server["store"]
    sweep_id = store.create_sweep(
        name,
        {"experiment": name, "grid": [["seed", [7, 8]]], "seeds": [7, 8],
         "configs": [config.to_dict()], "config_hashes": [config.config_hash()]},
        sweep_id="sw-page-test",
    )  # fmt: skip
    execute(name, config, 7, store=store, sweep_id=sweep_id)  # seeds no other test runs
    page = pages.new(1366, 768)
    _load(page, server["url"] + "/sweeps")
    page.get_by_test_id(f"sweep-{sweep_id}").click()
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    assert page.get_by_test_id("count-finished").inner_text() == "done: 1"
    assert page.get_by_test_id("count-pending").inner_text() == "pending: 1"
    rows = page.locator("[data-testid=summary] tr")
    if experiment.metrics:
        assert rows.count() == 1 + len(page.evaluate("window.sweep.metrics"))
        assert page.evaluate("window.sweep.metrics.every(m => m.runs === 1)")
    assert page.locator("[data-testid=rows] tr").count() == 3  # header, one done, one pending
    # the report figure (every metric against the swept field) is drawn for the finished run
    page.wait_for_function(
        "(() => { const i = document.querySelector('#report-img');"
        " return i && i.complete && i.naturalWidth > 0; })()",
        timeout=60_000,
    )
    _shot(page, "web-sweep.png")


# -- layout: nothing clipped, no sideways scrolling ----------------------------------------------
CLIPPED = """(formulas) => {
  const W = document.documentElement.clientWidth;
  const sel = 'input, select, button, a[href], textarea, label' + (formulas ? ', .katex' : '');
  const out = [];
  for (const e of document.querySelectorAll(sel)) {
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || e.closest('[hidden], details:not([open]) > :not(summary)')) continue;
    if (getComputedStyle(e).visibility === 'hidden') continue;
    if (r.left < -0.5 || r.right > W + 0.5) out.push(`${e.tagName}.${e.className}#${e.id} ${Math.round(r.left)}..${Math.round(r.right)}`);
  }
  return {scroll: document.documentElement.scrollWidth, client: W, clipped: out.slice(0, 10)};
}"""


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_layout_fits(server, pages, width, height):
    hand_made = [f"/{n}" for n in DECLARED if n not in DERIVED]
    paths = ["/", "/sweeps", *hand_made] + [f"/{n}" for n in DERIVED]  # last: a derived page
    page = pages.new(width, height)
    for path in paths:
        _load(page, server["url"] + path)
        page.wait_for_timeout(400)
        found = page.evaluate(CLIPPED, width > 500)  # formulas too at 1366 and 800 px
        assert found["scroll"] <= found["client"], (path, found)
        assert not found["clipped"], (path, found)
    _shot(page, f"web-layout-{width}px.png")
    if width == 1366:
        dark = pages.new(width, height, color_scheme="dark")
        for path in paths[:1] + [f"/{n}" for n in DERIVED[:1]]:
            _load(dark, server["url"] + path)
            bg = dark.evaluate("getComputedStyle(document.body).backgroundColor")
            assert bg != "rgb(255, 255, 255)" and bg != "rgb(244, 246, 249)", (path, bg)
        _shot(dark, "web-dark.png", full=False)

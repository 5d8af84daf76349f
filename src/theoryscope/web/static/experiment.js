// The generic experiment page, built from GET /api/experiments/{name}: a form from the declared
// fields (validated as you type), presets, cost line, live runs over the WebSocket drawn as the
// declared figures, the declared metrics, run history with overlays, exports, a share link that
// restores settings and view, and the declared studies. Nothing here names an experiment.
import { FieldForm, textOf } from "./form.js";
import { FigureView } from "./figures.js";
import { $, api, checkAssets, downloadBlob, escapeHtml, fmt, fmtSeconds, tex, toast } from "./common.js";

const NAME = decodeURIComponent(location.pathname.replace(/^\/+/, "").split("/")[0]);
const BASE = `/api/experiments/${encodeURIComponent(NAME)}`;
const FRAME_MS = 100; // at most ~10 redraws per second while streaming
const LIVE = new Set(["starting", "running", "paused", "stopping"]);

const S = {
  name: NAME,
  detail: null,
  form: null,
  figs: null,
  valid: null, // the normalized config of the form, once the server accepted it
  cost: null,
  preview: null, // {config, theory} of the form, before a run
  run: null, // the run on screen: {id, config, seed, theory, cols, n, state, status, metrics, ...}
  ws: null,
  overlays: new Map(), // id -> {config, seed, docs}
  history: [],
  studies: new Map(),
  dirty: true,
  lastDraw: 0,
  vtoken: 0,
  ptoken: 0,
};
window.exp = S; // for the browser tests and the console

// -------------------------------------------------------------------------------------------
// small helpers
// -------------------------------------------------------------------------------------------
function showError(message) {
  const el = $("error");
  el.textContent = message || "";
  el.hidden = !message;
}

function seedValue() {
  const text = $("seed").value.trim();
  if (text === "") return 0;
  return /^\d+$/.test(text) ? Number(text) : text;
}

function setStatus(state) {
  const pill = $("status");
  pill.textContent = state;
  pill.className = `pill pill-${state}`;
  const live = LIVE.has(state);
  $("pause").disabled = !(state === "running" || state === "paused");
  $("pause").textContent = state === "paused" ? "▶ Resume" : "❚❚ Pause";
  $("stop").disabled = !live;
  $("start").disabled = live || !S.valid;
}

function refreshButtons() {
  setStatus(S.run ? S.run.state : "idle");
}

function docsOf(run) {
  return {
    series: run.cols,
    theory: run.theory || {},
    agreement: run.agreement || {},
    summary: run.summary || {},
    config: run.config || {},
  };
}

/** "lr=0.5, neurons=200": how a config differs from the one on screen (not its run id). */
function diffLabel(config, seed) {
  const ref = S.run ? S.run.config : S.valid;
  const refSeed = S.run ? S.run.seed : seedValue();
  const parts = [];
  if (ref) {
    for (const f of S.detail.fields) {
      const a = config[f.name];
      const b = ref[f.name];
      if (JSON.stringify(a) !== JSON.stringify(b)) parts.push(`${f.name}=${textOf(a)}`);
    }
  }
  if (seed !== refSeed) parts.push(`seed=${seed}`);
  if (!parts.length) return "same settings";
  return parts.length > 4 ? `${parts.slice(0, 4).join(", ")}, …` : parts.join(", ");
}

// -------------------------------------------------------------------------------------------
// validation as you type, the cost line and the theory preview
// -------------------------------------------------------------------------------------------
let vTimer = null;
function scheduleValidate() {
  clearTimeout(vTimer);
  vTimer = setTimeout(validate, 250);
  updateNotice();
}

async function validate() {
  const token = ++S.vtoken;
  const body = { config: S.form.values(), seed: seedValue() };
  try {
    const res = await api("POST", `${BASE}/validate`, body);
    if (token !== S.vtoken) return;
    S.valid = res.config;
    S.cost = res.eta;
    S.form.clearErrors();
    $("seed").classList.remove("invalid");
    $("form-error").hidden = true;
    $("cost").textContent = res.eta ? `cost: ${res.eta}` : "";
    if (!S.run) schedulePreview();
  } catch (err) {
    if (token !== S.vtoken) return;
    S.valid = null;
    $("cost").textContent = "";
    if (err.status === 422) {
      const onField = S.form.setError(err.field, err.message);
      $("seed").classList.toggle("invalid", err.field === "seed");
      const formErr = $("form-error");
      formErr.textContent = onField ? "" : err.message;
      formErr.hidden = onField;
    } else {
      showError(err.message);
    }
  }
  refreshButtons();
  renderHistory();
  updateHash();
  updateNotice();
  S.dirty = true;
}

let pTimer = null;
function schedulePreview() {
  clearTimeout(pTimer);
  pTimer = setTimeout(preview, 150);
}

async function preview() {
  const token = ++S.ptoken;
  try {
    const res = await api("POST", `${BASE}/theory`, { config: S.form.values(), seed: seedValue() });
    if (token !== S.ptoken) return;
    S.preview = res;
  } catch (err) {
    if (token !== S.ptoken) return;
    S.preview = null;
    if (err.status !== 422) $("metrics-tag").textContent = err.message;
  }
  S.dirty = true;
}

function updateNotice() {
  const el = $("notice");
  if (!S.run || !S.valid) {
    el.hidden = true;
    return;
  }
  const changed = diffLabel(S.valid, seedValue());
  const same = changed === "same settings";
  el.hidden = same;
  if (!same) el.textContent = `The shown run keeps its own settings (${changed} differ); they apply to the next run after Reset.`;
}

// -------------------------------------------------------------------------------------------
// live runs
// -------------------------------------------------------------------------------------------
function newRun(id, config, seed, theory) {
  return { id, config, seed, theory, cols: {}, n: 0, state: "starting", status: null, metrics: null, summary: {}, agreement: {}, progress: null, eta: null, sps: null, step: 0, message: null };
}

function appendData(run, data) {
  const entries = Object.entries(data || {});
  for (const [name, values] of entries) {
    if (!run.cols[name]) run.cols[name] = [];
    const col = run.cols[name];
    for (const v of values) col.push(v);
  }
  const lead = (data && data.step) || (entries.length ? entries[0][1] : []);
  run.n += lead.length;
}

function applyProgress(run, msg) {
  if (msg.state) run.state = msg.state;
  if (msg.progress !== undefined) run.progress = msg.progress;
  if (msg.eta !== undefined) run.eta = msg.eta;
  if (msg.steps_per_second !== undefined) run.sps = msg.steps_per_second;
  if (msg.step !== undefined) run.step = msg.step;
}

function renderProgress() {
  const run = S.run;
  const bar = $("progress");
  const text = $("progress-text");
  if (!run) {
    bar.value = 0;
    text.textContent = S.cost ? "" : "";
    return;
  }
  const p = run.progress;
  if (p == null) bar.removeAttribute("value");
  else bar.value = p;
  const parts = [];
  if (p != null) parts.push(`${Math.round(100 * p)}%`);
  if (LIVE.has(run.state) && run.eta != null) parts.push(`ETA ${fmtSeconds(run.eta)}`);
  if (run.step) parts.push(`step ${run.step.toLocaleString("en-US")}`);
  if (run.sps) parts.push(`${fmt(run.sps, 3)} steps/s`);
  if (run.message && !LIVE.has(run.state)) parts.push(run.message);
  text.textContent = parts.join(" · ");
}

async function start() {
  if (S.run && LIVE.has(S.run.state)) return;
  showError("");
  const body = { experiment: NAME, config: S.form.values(), seed: seedValue() };
  $("start").disabled = true;
  setStatus("starting");
  let res;
  try {
    res = await api("POST", "/api/live", body);
  } catch (err) {
    if (err.status === 422 && S.form.setError(err.field, err.message)) showError("");
    else showError(err.message);
    refreshButtons();
    return;
  }
  closeSocket();
  S.run = newRun(res.run_id, res.config, res.seed, res.theory);
  attach(S.run);
  afterRunChange();
  refreshHistory();
}

function closeSocket() {
  if (S.ws) {
    S.ws.onclose = null;
    S.ws.close();
    S.ws = null;
  }
}

function attach(run) {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/api/live/${encodeURIComponent(run.id)}/ws`);
  S.ws = ws;
  ws.onmessage = (ev) => {
    if (S.run !== run) return;
    const msg = JSON.parse(ev.data);
    if (msg.type === "hello") {
      run.cols = {};
      run.n = 0;
      run.config = msg.config;
      run.seed = msg.seed;
      run.theory = msg.theory;
      appendData(run, msg.data);
    } else if (msg.type === "chunk") {
      appendData(run, msg.data);
    } else if (msg.type === "done") {
      run.status = msg.status;
      run.summary = msg.summary || {};
      run.agreement = msg.agreement || {};
      run.metrics = msg.metrics || [];
      run.message = msg.message;
      applyProgress(run, msg);
      run.state = "done";
      renderMetrics();
      refreshHistory();
    } else if (msg.type === "error") {
      showError(msg.error);
      run.state = "done";
    }
    if (msg.type !== "done") applyProgress(run, msg);
    refreshButtons();
    renderProgress();
    if (msg.type === "done" && run.status && run.status !== "finished") setStatus(run.status);
    S.dirty = true;
  };
  ws.onclose = () => {
    if (S.run === run && LIVE.has(run.state)) {
      run.state = "done";
      refreshButtons();
    }
  };
}

async function control(action) {
  if (!S.run || !S.run.id) return;
  try {
    const res = await api("POST", `/api/live/${encodeURIComponent(S.run.id)}/${action}`);
    if (S.run && res.state) S.run.state = res.state;
  } catch (err) {
    showError(err.message);
  }
  refreshButtons();
}

function reset() {
  if (S.run && LIVE.has(S.run.state)) control("stop");
  closeSocket();
  S.run = null;
  afterRunChange();
  schedulePreview();
}

function afterRunChange() {
  const run = S.run;
  $("export").hidden = !(run && run.id);
  if (run && run.id) {
    const base = `/api/runs/${encodeURIComponent(run.id)}/export/${encodeURIComponent(NAME)}-${run.id}`;
    $("exp-csv").href = `${base}.csv`;
    $("exp-json").href = `${base}.json`;
    $("exp-svg").href = `${base}.svg`;
    $("run-label").textContent = `run ${run.id} · seed ${run.seed}`;
  } else {
    $("run-label").textContent = S.preview ? "theory of the settings (no run yet)" : "";
  }
  refreshButtons();
  renderProgress();
  renderMetrics();
  renderHistory();
  updateHash();
  updateNotice();
  S.dirty = true;
}

// -------------------------------------------------------------------------------------------
// stored runs: history, reopen, overlay
// -------------------------------------------------------------------------------------------
async function fetchRun(id) {
  const [info, series] = await Promise.all([
    api("GET", `/api/runs/${encodeURIComponent(id)}`),
    api("GET", `/api/runs/${encodeURIComponent(id)}/series`),
  ]);
  return { info, series: series.series };
}

async function openRun(id) {
  showError("");
  let got;
  try {
    got = await fetchRun(id);
  } catch (err) {
    showError(err.message);
    return;
  }
  const { info, series } = got;
  closeSocket();
  const run = newRun(info.id, info.config, info.seed, info.theory);
  run.cols = series;
  run.n = (series.step || Object.values(series)[0] || []).length;
  run.summary = info.summary || {};
  run.agreement = info.agreement || {};
  run.metrics = info.metrics || [];
  run.status = info.status;
  run.message = info.message;
  run.state = info.live ? info.live_state || "running" : "done";
  run.progress = info.status === "finished" ? 1 : null;
  S.run = run;
  S.form.set(info.config);
  $("seed").value = String(info.seed);
  if (info.live) attach(run);
  afterRunChange();
  if (!info.live) setStatus(info.status === "finished" ? "done" : info.status);
  scheduleValidate();
}

async function toggleOverlay(id, on) {
  if (!on) {
    S.overlays.delete(id);
  } else if (!S.overlays.has(id)) {
    try {
      const { info, series } = await fetchRun(id);
      S.overlays.set(id, { config: info.config, seed: info.seed, docs: { series, theory: info.theory || {}, agreement: info.agreement || {}, summary: info.summary || {}, config: info.config } });
    } catch (err) {
      showError(err.message);
      return;
    }
  }
  renderHistory();
  updateHash();
  S.dirty = true;
}

async function refreshHistory() {
  try {
    const res = await api("GET", `/api/runs?experiment=${encodeURIComponent(NAME)}&kind=run&limit=50`);
    S.history = res.runs;
  } catch (err) {
    S.history = [];
  }
  renderHistory();
}

function ago(t) {
  const s = Date.now() / 1000 - t;
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(t * 1000).toISOString().slice(0, 10);
}

function renderHistory() {
  const table = $("runs");
  if (!S.detail) return;
  if (!S.history.length) {
    table.innerHTML = `<tr><td class="empty">no stored runs of this experiment yet</td></tr>`;
    return;
  }
  const head = `<tr><th scope="col">overlay</th><th scope="col">status</th><th scope="col">differs by</th><th scope="col">when</th><th scope="col"></th></tr>`;
  const rows = S.history.map((r) => {
    const id = escapeHtml(r.id);
    const current = S.run && S.run.id === r.id;
    const base = `/api/runs/${id}/export/${escapeHtml(NAME)}-${id}`;
    return `<tr class="${current ? "current" : ""}">
      <td><input type="checkbox" class="ov" data-id="${id}" ${S.overlays.has(r.id) ? "checked" : ""} ${current ? "disabled" : ""} aria-label="overlay run ${id}" data-testid="overlay-${id}"></td>
      <td><span class="pill pill-${escapeHtml(r.status)}">${escapeHtml(r.live ? "running" : r.status)}</span></td>
      <td class="cfg" title="run ${id}">${escapeHtml(current ? "shown" : diffLabel(r.config, r.seed))}</td>
      <td class="muted">${ago(r.created_at)}</td>
      <td class="actions"><button class="btn btn-small open" data-id="${id}" data-testid="open-${id}">open</button>
        <a class="btn btn-small btn-quiet" href="${base}.csv" download>csv</a><a class="btn btn-small btn-quiet" href="${base}.json" download>json</a><a class="btn btn-small btn-quiet" href="${base}.svg" download>svg</a></td></tr>`;
  });
  table.innerHTML = head + rows.join("");
  table.querySelectorAll("button.open").forEach((b) => b.addEventListener("click", () => openRun(b.dataset.id)));
  table.querySelectorAll("input.ov").forEach((b) => b.addEventListener("change", () => toggleOverlay(b.dataset.id, b.checked)));
}

// -------------------------------------------------------------------------------------------
// metrics
// -------------------------------------------------------------------------------------------
function agreementCell(row) {
  if (row.within === true) return `<span class="ok">✓ within ±${fmt(100 * row.good, 3)}%</span>`;
  if (row.within === false) return `<span class="bad">✗ off by ${fmt(100 * Math.abs(row.ratio - 1), 3)}% (claim ±${fmt(100 * row.good, 3)}%)</span>`;
  if (row.ratio != null && row.good == null) return `<span class="muted">no stated tolerance</span>`;
  return `<span class="muted">—</span>`;
}

function metricsTable(table, allRows, empty) {
  // rows with neither a simulated nor a predicted number do not apply to this run (another mode)
  const rows = (allRows || []).filter((r) => r.simulated != null || r.predicted != null);
  const skipped = (allRows || []).length - rows.length;
  if (!rows.length) {
    table.innerHTML = `<tr><td class="empty">${escapeHtml(allRows && allRows.length ? "no metric applies to this run" : empty)}</td></tr>`;
    return;
  }
  const head = `<tr><th scope="col">quantity</th><th scope="col">symbol</th><th scope="col" class="num">simulated</th><th scope="col" class="num">predicted</th><th scope="col" class="num">ratio</th><th scope="col">agreement</th></tr>`;
  table.innerHTML = head + rows.map((r) => `<tr title="${escapeHtml(r.cite ? `source: ${r.cite}` : "")}"><td>${escapeHtml(r.label)}</td><td class="sym" data-tex="${escapeHtml(r.tex || "")}"></td><td class="num">${fmt(r.simulated)}</td><td class="num">${fmt(r.predicted)}</td><td class="num">${fmt(r.ratio)}</td><td>${agreementCell(r)}</td></tr>`).join("");
  if (skipped) table.insertAdjacentHTML("beforeend", `<tr><td colspan="6" class="muted small">${skipped} declared metric${skipped > 1 ? "s do" : " does"} not apply to this run</td></tr>`);
  table.querySelectorAll("[data-tex]").forEach((el) => el.dataset.tex && tex(el, el.dataset.tex, false));
}

function renderMetrics() {
  const run = S.run;
  const rows = run ? run.metrics : null;
  const tag = $("metrics-tag");
  if (run && rows) tag.textContent = `run ${run.id}`;
  else if (run) tag.textContent = "when the run ends";
  else tag.textContent = "";
  metricsTable($("metrics"), rows, run ? "the metrics appear when the run ends" : "start a run to compare it with the theory");
}

// -------------------------------------------------------------------------------------------
// drawing
// -------------------------------------------------------------------------------------------
function draw() {
  const now = performance.now();
  if (S.dirty && now - S.lastDraw >= FRAME_MS && S.figs) {
    S.dirty = false;
    S.lastDraw = now;
    let docs;
    if (S.run) docs = docsOf(S.run);
    else if (S.preview) docs = { series: {}, theory: S.preview.theory, agreement: {}, summary: {}, config: S.preview.config };
    else docs = { series: {}, theory: {}, agreement: {}, summary: {}, config: {} };
    const overlays = [...S.overlays.entries()]
      .filter(([id]) => !(S.run && S.run.id === id))
      .map(([, ov]) => ({ docs: ov.docs, label: diffLabel(ov.config, ov.seed) }));
    S.figs.update(docs, overlays);
    if (!S.run) $("run-label").textContent = S.preview ? "theory of the settings (no run yet)" : "";
  }
  requestAnimationFrame(draw);
}

async function exportPng() {
  S.dirty = true;
  S.lastDraw = 0;
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const canvas = S.figs.toCanvas();
  canvas.toBlob((blob) => downloadBlob(blob, `${NAME}-${S.run ? S.run.id : "theory"}.png`), "image/png");
}

// -------------------------------------------------------------------------------------------
// share link: settings and view in the URL hash
// -------------------------------------------------------------------------------------------
function updateHash() {
  if (!S.form) return;
  const p = new URLSearchParams();
  const defaults = S.form.defaultsText();
  for (const [k, v] of Object.entries(S.form.texts())) if (v !== defaults[k]) p.set(k, v);
  const seed = $("seed").value.trim();
  if (seed && seed !== "0") p.set("_seed", seed);
  const view = S.figs ? S.figs.viewText() : "";
  if (view) p.set("_log", view);
  if (S.overlays.size) p.set("_ov", [...S.overlays.keys()].join(","));
  if (S.run && S.run.id) p.set("_run", S.run.id);
  const hash = "#" + p.toString();
  if (location.hash !== hash && !(hash === "#" && !location.hash)) history.replaceState(null, "", hash);
}

async function share() {
  updateHash();
  const url = location.href;
  $("share").dataset.url = url;
  try {
    await navigator.clipboard.writeText(url);
    toast("link copied: it restores these settings and this view");
  } catch (err) {
    toast(`share this link: ${url}`);
  }
}

async function restoreFromHash() {
  const hadHash = location.hash.length > 1;
  const p = new URLSearchParams(location.hash.replace(/^#/, ""));
  const values = {};
  for (const [k, v] of p) if (!k.startsWith("_")) values[k] = v;
  const overlays = (p.get("_ov") || "").split(",").filter(Boolean);
  const runId = p.get("_run");
  if (runId) await openRun(runId); // its settings first, then the link's own
  if (hadHash) S.form.set({ ...S.form.defaultsText(), ...values });
  if (p.has("_seed")) $("seed").value = p.get("_seed");
  if (p.has("_log")) S.figs.setViewText(p.get("_log"));
  for (const id of overlays) await toggleOverlay(id, true);
}

// -------------------------------------------------------------------------------------------
// presets
// -------------------------------------------------------------------------------------------
function buildPresets() {
  const sel = $("preset");
  for (const p of S.detail.presets) {
    const o = document.createElement("option");
    o.value = p.name;
    o.textContent = `${p.name}: ${p.title}`;
    o.title = p.cite ? `source: ${p.cite}` : p.title;
    sel.appendChild(o);
  }
  sel.addEventListener("change", () => {
    S.form.reset();
    const p = S.detail.presets.find((x) => x.name === sel.value);
    if (p) {
      S.form.set(p.values);
      if (p.seed != null) $("seed").value = String(p.seed);
    }
    scheduleValidate();
  });
}

// -------------------------------------------------------------------------------------------
// studies
// -------------------------------------------------------------------------------------------
function buildStudies() {
  const studies = S.detail.studies || [];
  $("studies-card").hidden = !studies.length;
  const root = $("studies");
  root.innerHTML = "";
  for (const st of studies) {
    const box = document.createElement("div");
    box.className = "study";
    box.setAttribute("data-testid", `study-${st.name}`);
    box.innerHTML = `<div class="study-head"><h3>${escapeHtml(st.title)}</h3><p class="muted small">${escapeHtml(st.summary)}${st.cite ? ` · <span title="${escapeHtml(st.cite)}">source</span>` : ""}</p></div>
      <div class="form study-form"></div>
      <div class="row wrap"><button class="btn btn-primary run" data-testid="study-run-${escapeHtml(st.name)}">▶ ${escapeHtml(st.title)}</button>
        <button class="btn stop" disabled data-testid="study-stop-${escapeHtml(st.name)}">■ Stop</button>
        <progress max="1" value="0" aria-label="${escapeHtml(st.title)} progress"></progress>
        <span class="small line" data-testid="study-line-${escapeHtml(st.name)}"></span></div>
      <div class="ferr" role="alert" hidden></div>
      <div class="study-result" hidden><img alt="${escapeHtml(st.title)}: result figure" data-testid="study-figure-${escapeHtml(st.name)}"><div class="table-wrap"><table class="metrics"></table></div></div>`;
    root.appendChild(box);
    const form = new FieldForm(box.querySelector(".study-form"), st.fields, { idPrefix: `study-${st.name}`, testPrefix: `study-${st.name}-`, onChange: () => form.clearErrors() });
    const state = { study: st, form, box, job: null, timer: null };
    S.studies.set(st.name, state);
    box.querySelector(".run").addEventListener("click", () => runStudy(state));
    box.querySelector(".stop").addEventListener("click", () => state.job && api("POST", `/api/jobs/${state.job.job_id}/stop`).catch(() => {}));
  }
}

async function runStudy(state) {
  const { box, form, study } = state;
  const err = box.querySelector(".ferr");
  err.hidden = true;
  form.clearErrors();
  let job;
  try {
    job = await api("POST", `${BASE}/studies/${encodeURIComponent(study.name)}`, { params: form.values(), seed: seedValue() });
  } catch (e) {
    if (!(e.status === 422 && form.setError(e.field, e.message))) {
      err.textContent = e.message;
      err.hidden = false;
    }
    return;
  }
  state.job = job;
  box.querySelector(".run").disabled = true;
  box.querySelector(".stop").disabled = false;
  box.querySelector(".study-result").hidden = true;
  pollStudy(state);
}

async function pollStudy(state) {
  const { box } = state;
  let job;
  try {
    job = await api("GET", `/api/jobs/${state.job.job_id}`);
  } catch (e) {
    box.querySelector(".line").textContent = e.message;
    box.querySelector(".run").disabled = false;
    box.querySelector(".stop").disabled = true;
    return;
  }
  state.job = job;
  box.querySelector("progress").value = job.progress || 0;
  const parts = [job.state, `${Math.round(100 * (job.progress || 0))}%`];
  if (job.message) parts.push(job.message);
  if (job.eta != null && (job.state === "running" || job.state === "stopping")) parts.push(`ETA ${fmtSeconds(job.eta)}`);
  if (job.state !== "running" && job.state !== "stopping") parts.push(`${fmt(job.seconds, 3)} s`);
  box.querySelector(".line").textContent = parts.join(" · ");
  if (job.state === "running" || job.state === "stopping") {
    state.timer = setTimeout(() => pollStudy(state), 300);
    return;
  }
  box.querySelector(".run").disabled = false;
  box.querySelector(".stop").disabled = true;
  if (job.error) {
    const err = box.querySelector(".ferr");
    err.textContent = job.error;
    err.hidden = false;
  }
  if (job.run_id && job.result) {
    const result = box.querySelector(".study-result");
    result.hidden = false;
    const img = result.querySelector("img");
    if (state.study.has_figure) img.src = `${BASE}/studies/${encodeURIComponent(state.study.name)}/figure.png?run_id=${encodeURIComponent(job.run_id)}`;
    else img.hidden = true;
    metricsTable(result.querySelector("table"), job.metrics, "this study declares no metrics");
  }
}

// -------------------------------------------------------------------------------------------
// start up
// -------------------------------------------------------------------------------------------
async function main() {
  checkAssets();
  let detail;
  try {
    detail = await api("GET", BASE);
  } catch (err) {
    $("title").textContent = NAME;
    showError(err.message);
    document.body.dataset.ready = "1";
    return;
  }
  S.detail = detail;
  document.title = `${detail.title} · theoryscope`;
  $("title").textContent = detail.title;
  $("summary").textContent = detail.summary;
  $("cite").textContent = detail.cite ? `source: ${detail.cite}` : "";
  S.form = new FieldForm($("form"), detail.fields, { idPrefix: "cfg", onChange: scheduleValidate });
  S.figs = new FigureView($("figures"), detail.figures, () => {
    S.dirty = true;
    updateHash();
  });
  buildPresets();
  buildStudies();
  $("seed").addEventListener("input", scheduleValidate);
  $("start").addEventListener("click", start);
  $("pause").addEventListener("click", () => control(S.run && S.run.state === "paused" ? "resume" : "pause"));
  $("stop").addEventListener("click", () => control("stop"));
  $("reset").addEventListener("click", reset);
  $("refresh").addEventListener("click", refreshHistory);
  $("share").addEventListener("click", share);
  $("exp-png").addEventListener("click", exportPng);
  await restoreFromHash();
  await refreshHistory();
  await validate();
  afterRunChange();
  requestAnimationFrame(draw);
  document.body.dataset.ready = "1";
}

main();

// The Expander Nets lab page: controls -> config, live theory preview, runs streamed over a
// WebSocket into two charts (redrawn at most ~30 times a second), run history and overlays.
import { Chart, decimate, dropBadX, fmtValue, joinTables } from "./charts.js";
import { fmtSeconds } from "./common.js";
import {
  SIGMA,
  dynamicsTex,
  odeInitTex,
  odeTex,
  render,
  renderStatic,
  targetTex,
} from "./tex.js";

const $ = (id) => document.getElementById(id);
const STORE_KEY = "theoryscope.expander.lab.v1";
const RUN_KEY = "theoryscope.expander.run.v1";
const FRAME_MS = 33; // at most ~30 redraws per second
const MAX_DRAW_POINTS = 3000; // per table, for drawing only
// Okabe-Ito (colour-blind safe), in the order of plots/render.py: W1_ii and its theory a_i share
// a colour per i. The theory (orange, dashed), the markers and the overlays never share a hue.
const INK = getComputedStyle(document.documentElement).getPropertyValue("--ink").trim() || "#0f172a";
const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#F0E442", "#E69F00", INK];
const OVERLAY = ["#56B4E9", "#009E73", "#CC79A7", "#F0E442", "#D55E00", INK];
const THEORY = "#E69F00";
const EMA = "#0072B2";
const MARK = { rise: "#8b95a5", ode: "#CC79A7", sim: "#0072B2" };
const SEED_MAX = 2 ** 31 - 1;

const S = {
  meta: null,
  form: null, // the controls' config (a config dict as the server takes it)
  seed: 0,
  opts: { x: "step", logx: false, logy: true, theory: true, marks: true, raw: true, pop: true, ema: 100, gammaTied: true },
  run: null, // the run on screen (live or stored)
  preview: null, // {config, theory} for the controls, before a run starts
  overlays: new Map(), // id -> {run, series}
  history: [],
  fieldErrors: {}, // field -> message shown beside it at once (Start refuses while any is set)
  dirty: true,
  lastDraw: 0,
};
window.lab = S; // for the browser tests and for poking at it from the console

// -------------------------------------------------------------------------------------------
// helpers
// -------------------------------------------------------------------------------------------
function logValues(lo, hi) {
  const out = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (let m = 1; m <= 9; m++) {
      const v = +(m * 10 ** e).toPrecision(6);
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
    }
  }
  return out;
}

function nearestIndex(values, v) {
  let best = 0;
  for (let i = 1; i < values.length; i++) {
    if (Math.abs(Math.log(values[i] / v)) < Math.abs(Math.log(values[best] / v))) best = i;
  }
  return best;
}

function fmt(v, digits = 3) {
  if (v == null || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(digits - 1);
  return String(+v.toPrecision(digits));
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  let data = null;
  try {
    data = await res.json();
  } catch (err) {
    data = { error: `${res.status} ${res.statusText}` };
  }
  if (!res.ok) {
    const e = new Error(data && data.error ? data.error : `${res.status}`);
    e.field = data && data.field;
    e.status = res.status;
    throw e;
  }
  return data;
}

function showError(message, field) {
  const el = $("error");
  document.querySelectorAll(".invalid").forEach((x) => x.classList.remove("invalid"));
  // a field with its own inline error stays marked whatever the banner shows
  for (const f of Object.keys(S.fieldErrors)) document.querySelectorAll(`[data-field="${f}"]`).forEach((x) => x.classList.add("invalid"));
  S.errorField = message ? field || null : null;
  if (!message) {
    el.hidden = true;
    return;
  }
  el.textContent = message;
  el.hidden = false;
  if (field) document.querySelectorAll(`[data-field="${field}"]`).forEach((x) => x.classList.add("invalid"));
}

/** Show (or clear, with no message) the inline message beside a field, and mark the field. */
function setFieldError(field, message) {
  if (message) S.fieldErrors[field] = message;
  else delete S.fieldErrors[field];
  document.querySelectorAll(`[data-msg="${field}"]`).forEach((el) => {
    el.textContent = message || "";
    el.hidden = !message;
  });
  document.querySelectorAll(`[data-field="${field}"]`).forEach((el) => el.classList.toggle("invalid", !!message));
}

/** A seed as the server takes it: an integer from 0 to 2^31 - 1 (nothing is rounded or clipped). */
function parseSeed(text) {
  const raw = String(text ?? "").trim();
  const v = raw === "" ? NaN : Number(raw);
  if (Number.isInteger(v) && v >= 0 && v <= SEED_MAX) return { value: v, error: null };
  return { value: null, error: `seed: got ${raw === "" ? "nothing" : raw}; allowed: an integer from 0 to ${SEED_MAX}` };
}

/** flow / gd integrate the exact population loss, which exists for the default σ only (spec 4). */
function modeError(f) {
  if (!S.meta || f.mode === "sgd" || f.nonlinearity === S.meta.default_nonlinearity) return null;
  return `mode: ${f.mode} needs the exact population loss, which exists for √2 cos(z + π/4) only; allowed: sgd with ${f.nonlinearity}, or ${f.mode} with √2 cos`;
}

function checkFields() {
  setFieldError("mode", modeError(S.form));
}

function toast(message) {
  const el = $("toast");
  el.textContent = message;
  el.hidden = false;
  clearTimeout(toast.t);
  toast.t = setTimeout(() => (el.hidden = true), 2600);
}

// -------------------------------------------------------------------------------------------
// config <-> controls, storage and the shareable URL
// -------------------------------------------------------------------------------------------
const CONFIG_KEYS = ["d", "k", "gamma", "terms", "lr", "batch", "steps", "nonlinearity", "dtype", "mode", "ema_window", "records", "holdout", "b0"];
// ema_window only picks which EMA the engine records: it does not change the dynamics
const DYNAMICS_KEYS = CONFIG_KEYS.filter((k) => k !== "ema_window");

function cleanConfig(c) {
  const out = {};
  for (const key of CONFIG_KEYS) if (c[key] !== undefined) out[key] = c[key];
  out.gamma = out.gamma.slice(0, out.d).map(Number);
  out.terms = out.terms.map((t) => ({ alpha: t.alpha.slice(0, out.d).map(Number), coef: Number(t.coef) }));
  return out;
}

function canonical(c) {
  const r = (v) => (typeof v === "number" ? +v.toPrecision(10) : v);
  const x = cleanConfig(c);
  return JSON.stringify(DYNAMICS_KEYS.map((k) => {
    const v = x[k];
    if (k === "gamma") return v.map(r);
    if (k === "terms") return v.map((t) => [t.alpha, r(t.coef)]);
    return r(v);
  }));
}

function encodeHash(c, seed, runId) {
  const p = new URLSearchParams();
  p.set("k", c.k);
  p.set("d", c.d);
  p.set("gamma", c.gamma.join(","));
  p.set("terms", c.terms.map((t) => `${t.alpha.join(",")}:${t.coef}`).join(";"));
  p.set("lr", c.lr);
  p.set("batch", c.batch);
  p.set("steps", c.steps);
  p.set("nl", c.nonlinearity);
  p.set("mode", c.mode);
  p.set("ema", c.ema_window);
  p.set("records", c.records);
  p.set("dtype", c.dtype);
  p.set("holdout", c.holdout);
  p.set("b0", c.b0);
  p.set("seed", seed);
  if (runId) p.set("run", runId);
  return p.toString();
}

function decodeHash(hash, base) {
  const p = new URLSearchParams(hash.replace(/^#/, ""));
  if (![...p.keys()].length) return null;
  const c = structuredClone(base);
  const num = (key, field) => {
    if (p.has(key)) c[field] = Number(p.get(key));
  };
  num("k", "k");
  num("d", "d");
  num("lr", "lr");
  num("batch", "batch");
  num("steps", "steps");
  num("ema", "ema_window");
  num("records", "records");
  num("holdout", "holdout");
  num("b0", "b0");
  if (p.has("gamma")) c.gamma = p.get("gamma").split(",").map(Number);
  if (p.has("terms")) {
    c.terms = p.get("terms").split(";").filter(Boolean).map((s) => {
      const [a, coef] = s.split(":");
      return { alpha: a.split(",").map(Number), coef: coef === undefined ? 1 : Number(coef) };
    });
  }
  if (p.has("nl")) c.nonlinearity = p.get("nl");
  if (p.has("mode")) c.mode = p.get("mode");
  if (p.has("dtype")) c.dtype = p.get("dtype");
  return { config: c, seed: p.has("seed") ? Number(p.get("seed")) : 0, run: p.get("run") };
}

function saveState() {
  const runId = S.run ? S.run.id : null;
  localStorage.setItem(STORE_KEY, JSON.stringify({ form: S.form, seed: S.seed, opts: S.opts, overlays: [...S.overlays.keys()] }));
  if (runId) sessionStorage.setItem(RUN_KEY, runId);
  else sessionStorage.removeItem(RUN_KEY);
  const hash = "#" + encodeHash(S.form, S.seed, runId);
  if (location.hash !== hash) history.replaceState(null, "", hash);
}

function resizeForm(c) {
  c.d = Math.max(1, Math.round(c.d));
  const g0 = c.gamma[0] ?? 0.1;
  c.gamma = Array.from({ length: c.d }, (_, i) => (S.opts.gammaTied ? g0 : c.gamma[i] ?? g0));
  c.terms = c.terms.map((t) => ({ ...t, alpha: Array.from({ length: c.d }, (_, i) => t.alpha[i] ?? 0) }));
  return c;
}

/** Replace the controls' config in place: the controls' closures hold on to this one object. */
function setForm(c) {
  const copy = structuredClone(c);
  for (const key of Object.keys(S.form)) delete S.form[key];
  Object.assign(S.form, copy);
  resizeForm(S.form);
}

// -------------------------------------------------------------------------------------------
// controls
// -------------------------------------------------------------------------------------------
function sliderField(el, { label, tex, values, get, set, field, testid, format = fmt }) {
  el.innerHTML = "";
  const head = document.createElement("div");
  head.className = "slider-head";
  const name = document.createElement("span");
  name.className = "flabel";
  name.textContent = label;
  const sym = document.createElement("span");
  sym.className = "sym";
  render(sym, tex, false);
  const input = document.createElement("input");
  input.type = "number";
  input.step = "any";
  input.className = "num";
  input.dataset.field = field;
  if (testid) input.dataset.testid = testid;
  head.append(name, sym, input);
  const range = document.createElement("input");
  range.type = "range";
  range.min = 0;
  range.max = values.length - 1;
  range.step = 1;
  range.dataset.field = field;
  if (testid) range.dataset.testid = `${testid}-range`;
  const ticks = document.createElement("div");
  ticks.className = "range-ends";
  const end = (v) => (v < 1e-2 ? `1e${Math.round(Math.log10(v))}` : format(v));
  ticks.innerHTML = `<span>${end(values[0])}</span><span>${end(values[values.length - 1])}</span>`;
  el.append(head, range, ticks);
  const sync = () => {
    const v = get();
    input.value = v;
    range.value = nearestIndex(values, Math.max(v, 1e-12));
  };
  range.addEventListener("input", () => {
    set(values[Number(range.value)]);
    input.value = get();
    changed();
  });
  input.addEventListener("change", () => {
    const v = Number(input.value);
    if (!Number.isFinite(v)) return sync();
    set(v);
    range.value = nearestIndex(values, Math.max(v, 1e-12));
    changed(true);
  });
  sync();
  el._sync = sync;
}

function fieldMessage(field) {
  const el = document.createElement("div");
  el.className = "field-msg field-msg-static";
  el.dataset.msg = field;
  el.dataset.testid = `${field}-error`;
  el.hidden = !S.fieldErrors[field];
  el.textContent = S.fieldErrors[field] || "";
  return el;
}

function linValues(lo, hi) {
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

function buildControls() {
  const L = S.meta.limits;
  const f = S.form;
  sliderField($("f-k"), { label: "hidden dimension", tex: "k", values: logValues(10, L.max_k), get: () => f.k, set: (v) => (f.k = Math.round(v)), field: "k", testid: "k" });
  sliderField($("f-d"), { label: "data dimension", tex: "d", values: linValues(1, L.max_d), get: () => f.d, set: (v) => { f.d = Math.round(v); resizeForm(f); buildDynamic(); }, field: "d", testid: "d" });
  sliderField($("f-terms"), { label: "number of terms", tex: "m", values: linValues(1, L.max_terms), get: () => f.terms.length, set: (v) => setTermCount(Math.round(v)), field: "terms", testid: "nterms" });
  $("f-terms").append(fieldMessage("terms"));
  sliderField($("f-lr"), { label: "learning rate", tex: "\\eta", values: logValues(1e-4, 1), get: () => f.lr, set: (v) => (f.lr = v), field: "lr", testid: "lr" });
  sliderField($("f-batch"), { label: "batch size", tex: "|B|", values: logValues(1, L.max_batch), get: () => f.batch, set: (v) => (f.batch = Math.round(v)), field: "batch", testid: "batch" });

  const nl = $("in-nl");
  nl.innerHTML = S.meta.nonlinearities.map((n) => `<option value="${n}">${n === "sqrt2cos" ? "√2 cos(z + π/4)" : n}</option>`).join("");
  nl.onchange = () => { f.nonlinearity = nl.value; changed(); };
  const mode = $("in-mode");
  mode.innerHTML = S.meta.modes.map((m) => {
    const ok = S.meta.modes_supported.includes(m);
    return `<option value="${m}" ${ok ? "" : "disabled"} title="${ok ? "" : "not available on this server"}">${m}${ok ? "" : " (n/a)"}</option>`;
  }).join("");
  mode.dataset.field = "mode";
  mode.onchange = () => { f.mode = mode.value; changed(); };
  const dtype = $("in-dtype");
  dtype.innerHTML = S.meta.dtypes.map((d) => `<option>${d}</option>`).join("");
  dtype.onchange = () => { f.dtype = dtype.value; changed(); };
  const bindNum = (id, key, int = true) => {
    const el = $(id);
    el.dataset.field = key;
    el.onchange = () => {
      const v = Number(el.value);
      if (Number.isFinite(v)) f[key] = int ? Math.round(v) : v;
      changed(true);
    };
  };
  bindNum("in-steps", "steps");
  bindNum("in-records", "records");
  bindNum("in-holdout", "holdout");
  bindNum("in-b0", "b0", false);
  $("in-seed").dataset.field = "seed";
  $("in-seed").onchange = () => {
    const { value, error } = parseSeed($("in-seed").value);
    setFieldError("seed", error);
    if (error) return; // the box keeps what was typed; Start refuses until it is fixed
    S.seed = value;
    changed();
  };
  $("in-gamma-tied").onchange = (e) => {
    S.opts.gammaTied = e.target.checked;
    if (S.opts.gammaTied) f.gamma = f.gamma.map(() => f.gamma[0]);
    buildDynamic();
    changed();
  };
  buildDynamic();
  syncControls();
}

function setTermCount(n) {
  const f = S.form;
  const most = S.meta.limits.max_terms;
  if (!(n >= 1 && n <= most)) {
    setFieldError("terms", `number of terms: got ${Number.isFinite(n) ? n : "nothing"}; allowed: 1 to ${most} (the target needs at least one term)`);
    n = Math.min(Math.max(Number.isFinite(n) ? n : 1, 1), most);
  } else setFieldError("terms", null);
  while (f.terms.length < n) {
    // a new distinct multi-index: h_1 on the next coordinate, else a higher power of x_1
    const used = new Set(f.terms.map((t) => t.alpha.join(",")));
    let alpha = null;
    for (let i = 0; i < f.d && !alpha; i++) {
      const a = Array(f.d).fill(0);
      a[i] = 1;
      if (!used.has(a.join(","))) alpha = a;
    }
    for (let p = 2; !alpha; p++) {
      const a = Array(f.d).fill(0);
      a[0] = p;
      if (!used.has(a.join(","))) alpha = a;
    }
    f.terms.push({ alpha, coef: 1 });
  }
  f.terms.length = n;
  buildTerms();
}

function buildDynamic() {
  const f = S.form;
  const g = $("gamma-sliders");
  g.innerHTML = "";
  const count = S.opts.gammaTied ? 1 : f.d;
  for (let i = 0; i < count; i++) {
    const el = document.createElement("div");
    el.className = "slider-field";
    g.append(el);
    sliderField(el, {
      label: S.opts.gammaTied ? "variance, every i" : `variance ${i + 1}`,
      tex: S.opts.gammaTied ? "\\gamma_i" : `\\gamma_{${i + 1}}`,
      values: logValues(1e-4, 1),
      get: () => f.gamma[i],
      set: (v) => {
        if (S.opts.gammaTied) f.gamma = f.gamma.map(() => v);
        else f.gamma[i] = v;
      },
      field: "gamma",
      testid: `gamma-${i + 1}`,
    });
  }
  buildTerms();
}

function buildTerms() {
  const f = S.form;
  const box = $("terms");
  const maxA = S.meta.limits.max_alpha;
  box.innerHTML = "";
  f.terms.forEach((t, j) => {
    const row = document.createElement("div");
    row.className = "term";
    const alphas = t.alpha.map((a, i) => {
      const opts = linValues(0, maxA).map((v) => `<option ${v === a ? "selected" : ""}>${v}</option>`).join("");
      return `<label class="alpha" title="alpha_${j + 1}${i + 1}: power of h on x_${i + 1}"><span class="sub">${i + 1}</span><select data-term="${j}" data-dim="${i}" data-field="alpha" data-testid="alpha-${j + 1}-${i + 1}">${opts}</select></label>`;
    }).join("");
    row.innerHTML = `<div class="term-head"><span class="term-name">term ${j + 1}</span>
      <label class="inline-field" title="the coefficient y_j of this term">coef y<sub>${j + 1}</sub> <input type="number" step="any" value="${t.coef}" data-term="${j}" data-field="coef" data-testid="coef-${j + 1}"></label></div>
      <div class="alphas"><span class="alpha-label">α<sub>${j + 1}</sub> =</span>${alphas}</div>`;
    box.append(row);
  });
  box.querySelectorAll("select[data-term]").forEach((sel) => {
    sel.onchange = () => {
      f.terms[Number(sel.dataset.term)].alpha[Number(sel.dataset.dim)] = Number(sel.value);
      changed();
    };
  });
  box.querySelectorAll("input[data-term]").forEach((inp) => {
    inp.onchange = () => {
      const v = Number(inp.value);
      if (Number.isFinite(v)) f.terms[Number(inp.dataset.term)].coef = v;
      changed();
    };
  });
}

function syncControls() {
  const f = S.form;
  for (const id of ["f-k", "f-d", "f-terms", "f-lr", "f-batch"]) $(id)._sync && $(id)._sync();
  $("gamma-sliders").querySelectorAll(".slider-field").forEach((el) => el._sync && el._sync());
  $("in-nl").value = f.nonlinearity;
  $("in-mode").value = f.mode;
  $("in-dtype").value = f.dtype;
  $("in-steps").value = f.steps;
  $("in-records").value = f.records;
  $("in-holdout").value = f.holdout;
  $("in-b0").value = f.b0;
  if (!S.fieldErrors.seed) $("in-seed").value = S.seed; // an invalid entry stays until fixed
  $("in-gamma-tied").checked = S.opts.gammaTied;
  $("teff-of-steps").innerHTML = `t<sub>eff</sub> = η·steps = ${fmt(f.lr * f.steps, 4)}`;
  $("opt-logx").checked = S.opts.logx;
  $("opt-logy").checked = S.opts.logy;
  $("opt-theory").checked = S.opts.theory;
  $("opt-marks").checked = S.opts.marks;
  $("opt-raw").checked = S.opts.raw;
  $("opt-pop").checked = S.opts.pop;
  $("opt-ema").value = String(S.opts.ema);
  $("x-step").classList.toggle("active", S.opts.x === "step");
  $("x-teff").classList.toggle("active", S.opts.x === "teff");
  renderFormTex();
}

function renderFormTex() {
  const f = S.form;
  render($("tex-sigma"), SIGMA[f.nonlinearity] || `\\sigma = \\mathrm{${f.nonlinearity}}`);
  render($("tex-target"), targetTex(f.terms));
  render($("tex-dynamics"), dynamicsTex(f.mode));
  const note = $("nl-note");
  if (f.nonlinearity !== S.meta.default_nonlinearity) {
    note.hidden = false;
    note.textContent = "The exact population loss and the modeling ODE hold for √2 cos only: with this σ the population loss is a Monte Carlo estimate on a held-out sample and the theory curves are shown for reference.";
  } else note.hidden = true;
  const batchField = $("f-batch");
  batchField.classList.toggle("disabled", f.mode === "flow");
}

let previewTimer = null;
function changed(rebuild = false) {
  S.form = resizeForm(S.form);
  if (rebuild) buildDynamic();
  syncControls();
  checkFields();
  saveState();
  updateNotice();
  clearTimeout(previewTimer);
  previewTimer = setTimeout(refreshPreview, 200);
}

async function refreshCost(config) {
  // the declared estimate (time, memory) of what Start would run, said before it starts
  try {
    const res = await api("POST", "/api/experiments/expander/estimate", { config });
    if (canonical(res.config) !== canonical(cleanConfig(S.form))) return; // stale
    const el = $("ro-cost");
    el.textContent = res.eta ? `about ${res.eta}` : "–";
    el.classList.toggle("warn", !res.allowed);
    el.title = res.allowed ? "" : `over this server's cap of ${fmtSeconds(res.max_run_seconds)}: Start will be refused`;
  } catch (err) {
    $("ro-cost").textContent = "–";
  }
}

async function refreshPreview() {
  const config = cleanConfig(S.form);
  refreshCost(config);
  try {
    const res = await api("POST", "/api/theory", { config });
    if (canonical(res.config) !== canonical(cleanConfig(S.form))) return; // stale
    S.preview = { config: res.config, theory: res.theory };
    // a valid preview clears the banner, unless it says why Start was refused (an inline error)
    if (!(S.errorField && S.fieldErrors[S.errorField])) showError(null);
  } catch (err) {
    S.preview = null;
    showError(err.message, err.field);
  }
  if (!S.run) {
    renderTheory();
    S.dirty = true;
  }
}

// -------------------------------------------------------------------------------------------
// runs: start / pause / reset, streaming, stored runs
// -------------------------------------------------------------------------------------------
function newRun(id, config, seed, theory) {
  return {
    id, config, seed, theory,
    state: "starting", final: null, message: null,
    cols: {}, n: 0, step: 0, sps: null, seconds: 0, ws: null, live: true, retries: 0,
  };
}

function ingest(run, data) {
  const steps = data.step || [];
  const n = steps.length;
  if (!n) return;
  const c = run.cols;
  for (const [name, values] of Object.entries(data)) {
    const first = values[0];
    if (Array.isArray(first)) {
      // (n, a) or (n, a, b): one column per entry, named like the CSV export (1-based)
      const flat = (v, prefix, out) => {
        if (Array.isArray(v)) v.forEach((x, i) => flat(x, `${prefix}_${i + 1}`, out));
        else out.push([prefix, v]);
        return out;
      };
      values.forEach((v) => {
        for (const [key, x] of flat(v, name, [])) (c[key] = c[key] || []).push(x);
      });
    } else {
      const col = c[name] || (c[name] = []);
      for (const v of values) col.push(v);
    }
  }
  run.n += n;
  run.step = steps[n - 1];
  S.dirty = true;
}

function setState(state) {
  if (S.run) S.run.state = state;
  const pill = $("status-pill");
  const shown = state || "idle";
  pill.textContent = shown;
  pill.className = `pill pill-${shown}`;
  const btn = $("btn-start");
  if (!S.run || state === "done") btn.innerHTML = "▶ Start";
  else if (state === "paused") btn.innerHTML = "▶ Resume";
  else btn.innerHTML = "❚❚ Pause";
  btn.disabled = state === "starting" || state === "stopping";
  updateNotice();
  updateRunLabel();
}

function updateNotice() {
  const el = $("notice");
  if (S.run && canonical(S.run.config) !== canonical(S.form)) {
    const rc = S.run.config;
    el.innerHTML = `The controls differ from the run on screen (η = ${fmt(rc.lr)}, k = ${rc.k}, d = ${rc.d}, |B| = ${rc.batch}); the run keeps its own config and its t<sub>eff</sub> axis. <b>Changes apply after Reset.</b> <button class="btn btn-small" id="btn-apply">Reset &amp; apply</button>`;
    el.hidden = false;
    $("btn-apply").onclick = () => reset();
  } else el.hidden = true;
}

function updateRunLabel() {
  const r = S.run;
  const label = $("run-label");
  const exp = $("export");
  if (!r || !r.id) {
    label.textContent = "";
    exp.hidden = true;
    return;
  }
  label.innerHTML = `run <code>${escapeHtml(r.id)}</code>${r.final && r.final.status !== "finished" ? ` · ${escapeHtml(r.final.status)}` : ""}`;
  const base = `/api/runs/${encodeURIComponent(r.id)}/export/expander-${r.id}`;
  $("exp-csv").href = `${base}.csv`;
  $("exp-json").href = `${base}.json`;
  $("exp-png").href = `${base}.png`;
  exp.hidden = r.state !== "done";
}

async function start() {
  showError(null);
  const pending = Object.entries(S.fieldErrors);
  if (pending.length) {
    const [field, message] = pending[0];
    showError(message, field);
    return;
  }
  const config = cleanConfig(S.form);
  setBusy(true);
  try {
    const res = await api("POST", "/api/live", { config, seed: S.seed });
    closeRun();
    S.run = newRun(res.run_id, res.config, res.seed, res.theory);
    S.opts.emaRun = res.config.ema_window;
    renderTheory();
    connect(S.run);
    setState("running");
    saveState();
  } catch (err) {
    if (err.field === "mode") {
      const opt = [...$("in-mode").options].find((o) => o.value === config.mode);
      if (opt) opt.disabled = true;
      S.form.mode = "sgd";
      syncControls();
      saveState();
      showError(`${err.message} — switched back to sgd.`, "mode");
    } else showError(err.message, err.field);
  } finally {
    setBusy(false);
  }
}

function setBusy(busy) {
  $("btn-start").disabled = busy;
}

function connect(run) {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/api/live/${encodeURIComponent(run.id)}/ws`);
  run.ws = ws;
  ws.onmessage = (ev) => {
    if (S.run !== run) return;
    const msg = JSON.parse(ev.data);
    if (msg.type === "hello") {
      run.cols = {};
      run.n = 0;
      run.config = msg.config;
      run.seed = msg.seed;
      run.theory = msg.theory;
      ingest(run, msg.data || {});
      renderTheory();
    } else if (msg.type === "chunk") {
      ingest(run, msg.data);
    } else if (msg.type === "done") {
      run.final = { status: msg.status, summary: msg.summary, agreement: msg.agreement, message: msg.message };
      run.live = false;
      S.dirty = true;
      renderTheory();
      loadHistory();
      if (msg.message && msg.status !== "finished") toast(`${msg.status}: ${msg.message}`);
    } else if (msg.type === "error") {
      run.live = false;
      showError(msg.error);
    }
    if (msg.step != null) run.step = Math.max(run.step, msg.step);
    if (msg.steps_per_second != null) run.sps = msg.steps_per_second;
    const engineRate = msg.type === "done" && msg.summary && msg.summary.steps_per_second_wall;
    if (engineRate) run.sps = engineRate; // the engine's own clock, once it has finished
    if (msg.state) setState(msg.state);
    updateReadouts();
  };
  ws.onclose = () => {
    if (S.run !== run || !run.live) return;
    if (run.retries++ < 5) setTimeout(() => S.run === run && run.live && connect(run), 500 * run.retries);
  };
}

function closeRun() {
  if (S.run && S.run.ws) {
    S.run.live = false;
    S.run.ws.close();
  }
}

async function toggleStart() {
  const r = S.run;
  if (!r || r.state === "done") return start();
  const action = r.state === "paused" ? "resume" : "pause";
  try {
    const res = await api("POST", `/api/live/${encodeURIComponent(r.id)}/${action}`);
    setState(res.state);
  } catch (err) {
    showError(err.message);
  }
}

async function reset() {
  const r = S.run;
  if (r && r.live && r.state !== "done") {
    api("POST", `/api/live/${encodeURIComponent(r.id)}/stop`).catch(() => {});
  }
  closeRun();
  S.run = null;
  setState(null);
  saveState();
  renderTheory();
  updateReadouts();
  S.dirty = true;
  refreshPreview();
  setTimeout(loadHistory, 600);
}

async function openRun(id, { loadConfig = true } = {}) {
  showError(null);
  const info = await api("GET", `/api/runs/${encodeURIComponent(id)}`);
  closeRun();
  if (loadConfig) {
    setForm({ ...S.form, ...info.config });
    S.seed = info.seed;
    S.opts.gammaTied = info.config.gamma.every((g) => g === info.config.gamma[0]);
    buildDynamic();
    syncControls();
  }
  const run = newRun(info.id, info.config, info.seed, info.theory);
  S.run = run;
  if (info.live) {
    connect(run);
    setState(info.live_state || "running");
  } else {
    const { series } = await api("GET", `/api/runs/${encodeURIComponent(id)}/series`);
    ingest(run, series);
    run.live = false;
    run.final = { status: info.status, summary: info.summary, agreement: info.agreement, message: info.message };
    run.sps = info.summary && (info.summary.steps_per_second_wall || info.summary.steps_per_second);
    setState("done");
  }
  renderTheory();
  updateReadouts();
  saveState();
  S.dirty = true;
}

// -------------------------------------------------------------------------------------------
// history and overlays
// -------------------------------------------------------------------------------------------
async function loadHistory() {
  try {
    const { runs } = await api("GET", "/api/runs?limit=100");
    S.history = runs.filter((r) => r.experiment === "expander");
  } catch (err) {
    S.history = [];
  }
  renderHistory();
}

function describeConfig(c) {
  const alphas = c.terms.map((t) => (t.coef !== 1 ? `${fmt(t.coef)}·` : "") + `(${t.alpha.join(",")})`).join(" + ");
  const g = c.gamma.every((x) => x === c.gamma[0]) ? fmt(c.gamma[0]) : `(${c.gamma.map((x) => fmt(x)).join(",")})`;
  return `k ${c.k} · d ${c.d} · γ ${g} · α ${alphas} · η ${fmt(c.lr)} · |B| ${c.batch}${c.mode !== "sgd" ? ` · ${c.mode}` : ""}${c.nonlinearity !== "sqrt2cos" ? ` · ${c.nonlinearity}` : ""}`;
}

function renderHistory() {
  const table = $("runs");
  if (!S.history.length) {
    table.innerHTML = `<tr><td class="empty">No stored runs yet: press Start.</td></tr>`;
    return;
  }
  const rows = S.history.map((r) => {
    const when = new Date(r.created_at * 1000);
    const t = when.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
    const ov = S.overlays.has(r.id);
    const color = ov ? S.overlays.get(r.id).color : "transparent";
    const current = S.run && S.run.id === r.id ? "current" : "";
    const steps = r.summary && r.summary.steps != null ? r.summary.steps : "";
    const th = r.summary && r.summary.t_half_sim ? r.summary.t_half_sim.map((x) => fmt(x)).join(", ") : "";
    const base = `/api/runs/${encodeURIComponent(r.id)}/export/expander-${r.id}`;
    return `<tr class="${current}" data-id="${escapeHtml(r.id)}">
      <td><input type="checkbox" class="ov" ${ov ? "checked" : ""} title="overlay on the charts" data-testid="overlay-${escapeHtml(r.id)}"><i class="swatch" style="background:${color}"></i></td>
      <td><code>${escapeHtml(r.id)}</code></td>
      <td class="muted">${t}</td>
      <td><span class="pill pill-${escapeHtml(r.status)}">${escapeHtml(r.status)}${r.live ? " ●" : ""}</span></td>
      <td class="cfg">${escapeHtml(describeConfig(r.config))} · seed ${r.seed}</td>
      <td class="num">${steps}</td>
      <td class="num">${th}</td>
      <td class="actions"><button class="btn btn-small open" data-testid="open-${escapeHtml(r.id)}">open</button>
        <a class="btn btn-small btn-quiet" href="${base}.csv" download>csv</a><a class="btn btn-small btn-quiet" href="${base}.json" download>json</a><a class="btn btn-small btn-quiet" href="${base}.png" download>png</a>
        <button class="btn btn-small btn-quiet del" title="delete this run">✕</button></td></tr>`;
  });
  table.innerHTML = `<thead><tr><th></th><th>run</th><th>created</th><th>status</th><th>config</th><th>steps</th><th>t<sub>½</sub> sim</th><th></th></tr></thead><tbody>${rows.join("")}</tbody>`;
  table.querySelectorAll("tr[data-id]").forEach((tr) => {
    const id = tr.dataset.id;
    tr.querySelector(".open").onclick = () => openRun(id).catch((e) => showError(e.message));
    tr.querySelector(".ov").onchange = (e) => toggleOverlay(id, e.target.checked);
    tr.querySelector(".del").onclick = async () => {
      if (!confirm(`Delete run ${id} and its data?`)) return;
      try {
        await api("DELETE", `/api/runs/${encodeURIComponent(id)}`);
        S.overlays.delete(id);
        loadHistory();
      } catch (e) {
        showError(e.message);
      }
    };
  });
}

async function toggleOverlay(id, on, { quiet = false } = {}) {
  if (!on) {
    S.overlays.delete(id);
  } else {
    try {
      const [info, { series }] = await Promise.all([
        api("GET", `/api/runs/${encodeURIComponent(id)}`),
        api("GET", `/api/runs/${encodeURIComponent(id)}/series`),
      ]);
      const run = newRun(info.id, info.config, info.seed, info.theory);
      ingest(run, series);
      const used = new Set([...S.overlays.values()].map((o) => o.color));
      const color = OVERLAY.find((c) => !used.has(c)) || OVERLAY[S.overlays.size % OVERLAY.length];
      S.overlays.set(id, { run, color });
    } catch (err) {
      if (!quiet) showError(err.message); // a restored overlay whose run was deleted: drop it
    }
  }
  saveState();
  renderHistory();
  S.dirty = true;
}

// -------------------------------------------------------------------------------------------
// theory readouts
// -------------------------------------------------------------------------------------------
function currentTheory() {
  if (S.run) return { config: S.run.config, theory: S.run.theory, frozen: true };
  if (S.preview) return { config: S.preview.config, theory: S.preview.theory, frozen: false };
  return null;
}

/** t_half_sim per term: the run's summary when done, else the first record at half the start. */
function tHalfSim(run) {
  if (!run) return [];
  const fromSummary = run.final && run.final.summary && run.final.summary.t_half_sim;
  if (Array.isArray(fromSummary)) return fromSummary;
  const m = run.config.terms.length;
  const out = [];
  for (let j = 0; j < m; j++) {
    const col = run.cols[`term_loss_${j + 1}`];
    const steps = run.cols.step;
    let t = null;
    if (col && col.length && col[0] > 0) {
      const target = col[0] / 2;
      for (let i = 1; i < col.length; i++) if (col[i] != null && col[i] <= target) { t = steps[i] * run.config.lr; break; }
    }
    out.push(t);
  }
  return out;
}

function renderTheory() {
  const cur = currentTheory();
  const tag = $("theory-tag");
  const table = $("readouts");
  if (!cur || !cur.theory) {
    table.innerHTML = "";
    tag.textContent = "no theory (check the controls)";
    return;
  }
  const c = cur.config;
  tag.textContent = cur.frozen ? `frozen to run ${S.run.id}` : "preview · follows the controls";
  tag.className = `tag ${cur.frozen ? "tag-frozen" : ""}`;
  render($("tex-ode"), odeTex(c.terms));
  render($("tex-odeinit"), odeInitTex(c.b0));
  const warn = $("theory-warn");
  const notes = [];
  if (c.nonlinearity !== "sqrt2cos") notes.push("The modeling ODE is derived for σ = √2 cos(z + π/4); with " + c.nonlinearity + " it is shown for reference only.");
  if (cur.theory.ode && cur.theory.ode.capped) notes.push("The ODE horizon search hit its cap before every term converged.");
  if (c.gamma.some((g) => g > 0.05)) notes.push("The theory is a small-γ approximation: at γ ≳ 0.1 simulations are markedly slower and can plateau.");
  warn.hidden = !notes.length;
  warn.textContent = notes.join(" ");

  const ths = tHalfSim(S.run && cur.frozen ? S.run : null);
  const agreement = S.run && S.run.final && S.run.final.agreement;
  const head = ["term", "α", "coef", "d<sub>rel</sub>", "|α|", "ℓ", "c", "κ", "β", "r<sub>i</sub>", "r<sub>b</sub>", "F(r)", "t<sub>rise</sub>", "t<sub>½</sub> ODE", "t<sub>½</sub> sim", "sim / ODE", "sim / rise"];
  const rows = cur.theory.terms.map((t, j) => {
    const ag = agreement && agreement.terms && agreement.terms[j];
    const sim = ag && ag.t_half_sim != null ? ag.t_half_sim : ths[j];
    const ratio = ag && ag.ratio_sim_ode != null ? ag.ratio_sim_ode : sim != null && t.t_half_ode ? sim / t.t_half_ode : null;
    const ratioRise = ag && ag.ratio_sim_rise != null ? ag.ratio_sim_rise : sim != null && t.t_rise ? sim / t.t_rise : null;
    // t.r holds r_i for the relevant directions only (alpha_i > 0, in order): one per entry
    const rel = t.alpha.map((a, i) => (a > 0 ? i + 1 : 0)).filter((i) => i > 0);
    const r = t.r.map((x) => fmt(x)).join(", ");
    const color = PALETTE[j % PALETTE.length];
    return `<tr><td><i class="swatch" style="background:${color}"></i>${j + 1}</td><td>(${t.alpha.join(",")})</td><td>${fmt(t.coef)}</td><td>${t.d_rel}</td><td>${t.order}</td><td>${t.ell}</td>
      <td>${fmt(t.c)}</td><td>${fmt(t.kappa)}</td><td>${fmt(t.beta)}</td><td data-testid="r-${j + 1}" title="r_i for i = ${rel.join(", ")}">${r || "–"}</td><td>${fmt(t.r_b)}</td><td>${fmt(t.F)}</td>
      <td class="hl" data-testid="t-rise-${j + 1}">${fmt(t.t_rise)}</td><td class="hl">${fmt(t.t_half_ode)}</td><td class="hl sim">${fmt(sim)}</td><td class="hl">${fmt(ratio)}</td><td>${fmt(ratioRise)}</td></tr>`;
  });
  table.innerHTML = `<thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead><tbody>${rows.join("")}</tbody>`;
}

// -------------------------------------------------------------------------------------------
// drawing
// -------------------------------------------------------------------------------------------
let lossChart;
let paramChart;

/** EMA of the batch loss with window W over the recorded steps (spec 5), weighting the gaps. */
function emaOver(steps, xs, W) {
  const out = new Array(xs.length);
  const q = 1 - 1 / W;
  let s = null;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (x == null) {
      out[i] = s;
      continue;
    }
    if (s == null) s = x;
    else {
      const gap = Math.max(1, steps[i] - steps[i - 1]);
      const keep = q ** gap;
      s = keep * s + (1 - keep) * x;
    }
    out[i] = s;
  }
  return out;
}

function positiveMin(columns) {
  let lo = Infinity;
  for (const col of columns) for (const v of col) if (v != null && v > 0 && v < lo) lo = v;
  return Number.isFinite(lo) ? lo : null;
}

function xOf(run, steps) {
  return S.opts.x === "teff" ? steps.map((s) => s * run.config.lr) : steps;
}

function draw() {
  const cur = currentTheory();
  const config = cur ? cur.config : cleanConfig(S.form);
  const run = S.run;
  const lr = config.lr;
  const teff = S.opts.x === "teff";
  const xEnd = teff ? config.lr * config.steps : config.steps;
  const xLabel = teff ? "t_eff = η·step" : "step";
  const d = config.d;
  const m = config.terms.length;
  const showTheory = S.opts.theory && cur && cur.theory && cur.theory.ode;
  const ode = showTheory ? cur.theory.ode : null;
  const odeX = ode ? ode.t.map((t) => (teff ? t : t / lr)) : [];
  const W = S.opts.ema;
  const exact = config.nonlinearity === "sqrt2cos";

  // ---- loss chart
  let yMinLoss = null;
  const lSeries = [];
  const lLegend = [];
  const lTables = [];
  if (run && run.cols.step) {
    const xs = xOf(run, run.cols.step);
    const cols = [xs];
    const add = (label, stroke, ys, opts = {}) => {
      lSeries.push({ label, stroke, ...opts });
      cols.push(ys);
      lLegend.push({ label, stroke, dash: opts.dash, series: [lSeries.length - 1], title: opts.title });
    };
    if (S.opts.raw && run.cols.loss_batch) add("batch loss", "rgba(100,116,139,0.45)", run.cols.loss_batch, { width: 1 });
    if (W > 0 && run.cols.loss_batch) {
      const engine = W === run.config.ema_window && run.cols.loss_ema;
      add(`EMA ${W}`, EMA, engine ? run.cols.loss_ema : emaOver(run.cols.step, run.cols.loss_batch, W), { width: 1.75, title: engine ? "per-step EMA recorded by the engine" : "EMA over the recorded points (gaps weighted)" });
    }
    if (S.opts.pop && run.cols.loss_population) add(exact ? "population loss (exact)" : "population loss (MC)", INK, run.cols.loss_population, { width: 2 });
    if (cols.length > 1) lTables.push(decimate(dropBadX(cols, S.opts.logx, xEnd), MAX_DRAW_POINTS));
    const lo = positiveMin(cols.slice(1));
    yMinLoss = lo != null ? lo / 3 : null;
  }
  if (ode) {
    lSeries.push({ label: "theory", stroke: THEORY, dash: [7, 5], width: 2 });
    lLegend.push({ label: "ODE loss", stroke: THEORY, dash: true, series: [lSeries.length - 1] });
    lTables.push(dropBadX([odeX, ode.loss], S.opts.logx, xEnd * 1.0001));
  }
  for (const [id, ov] of S.overlays) {
    const r = ov.run;
    if (!r.cols.step) continue;
    const ys = r.cols.loss_population || r.cols.loss_ema || r.cols.loss_batch;
    lSeries.push({ label: id, stroke: ov.color, width: 1.5, dash: [2, 3] });
    lLegend.push({ label: `${id} (η ${fmt(r.config.lr)}, k ${r.config.k})`, stroke: ov.color, series: [lSeries.length - 1] });
    lTables.push(decimate(dropBadX([xOf(r, r.cols.step), ys], S.opts.logx, null), MAX_DRAW_POINTS));
  }

  // ---- parameter chart
  const pSeries = [];
  const pLegend = [];
  const pTables = [];
  if (run && run.cols.step) {
    const xs = xOf(run, run.cols.step);
    const cols = [xs];
    const diag = [];
    const off = [];
    for (let i = 1; i <= run.config.d; i++) {
      for (let j = 1; j <= run.config.d; j++) {
        const col = run.cols[`W1_${i}_${j}`];
        if (!col) continue;
        if (i === j) {
          pSeries.push({ label: `W1_${i}${i}`, stroke: PALETTE[(i - 1) % PALETTE.length], width: 1.75 });
          diag.push(pSeries.length - 1);
          pLegend.push({ label: `W1<sub>${i}${i}</sub>`, stroke: PALETTE[(i - 1) % PALETTE.length], series: [pSeries.length - 1] });
          cols.push(col);
        } else {
          // off-diagonal entries change sign: on a log axis their magnitude is drawn
          pSeries.push({ label: `W1_${i}${j}`, stroke: "rgba(100,116,139,0.55)", width: 1 });
          off.push(pSeries.length - 1);
          cols.push(S.opts.logy ? col.map((v) => (v == null || v === 0 ? null : Math.abs(v))) : col);
        }
      }
    }
    if (off.length) pLegend.push({ label: S.opts.logy ? "|W1<sub>ij</sub>|, i≠j" : "W1<sub>ij</sub>, i≠j", stroke: "rgba(100,116,139,0.7)", series: off });
    if (run.cols.w2_scaled_norm) {
      pSeries.push({ label: "sqrt(k)|W2|", stroke: INK, width: 2 });
      cols.push(run.cols.w2_scaled_norm);
      pLegend.push({ label: "√k‖W<sub>2</sub>‖", stroke: INK, series: [pSeries.length - 1] });
    }
    if (cols.length > 1) pTables.push(decimate(dropBadX(cols, S.opts.logx, xEnd), MAX_DRAW_POINTS));
  }
  if (ode) {
    const cols = [odeX];
    for (let i = 0; i < d; i++) {
      pSeries.push({ label: `a_${i + 1}`, stroke: PALETTE[i % PALETTE.length], dash: [7, 5], width: 1.5 });
      cols.push(ode.a.map((row) => row[i]));
    }
    pSeries.push({ label: "|b|", stroke: THEORY, dash: [7, 5], width: 2 });
    cols.push(ode.b_norm);
    pLegend.push({ label: "theory a<sub>i</sub>(t), ‖b(t)‖", stroke: THEORY, dash: true, series: pSeries.map((_, i) => i).slice(-d - 1) });
    pTables.push(dropBadX(cols, S.opts.logx, xEnd * 1.0001));
  }
  for (const [id, ov] of S.overlays) {
    const r = ov.run;
    if (!r.cols.step || !r.cols.w2_scaled_norm) continue;
    pSeries.push({ label: id, stroke: ov.color, width: 1.5, dash: [2, 3] });
    pLegend.push({ label: `${id} √k‖W<sub>2</sub>‖`, stroke: ov.color, series: [pSeries.length - 1] });
    pTables.push(decimate(dropBadX([xOf(r, r.cols.step), r.cols.w2_scaled_norm], S.opts.logx, null), MAX_DRAW_POINTS));
  }

  // ---- markers: t_rise and t_half (ODE) per term, and the measured t_half
  const markers = [];
  if (S.opts.marks && cur && cur.theory) {
    const ths = tHalfSim(run);
    cur.theory.terms.forEach((t, j) => {
      const sfx = m > 1 ? String.fromCharCode(0x2081 + j) : ""; // subscript term number
      const toX = (v) => (v == null ? null : teff ? v : v / lr);
      markers.push({ x: toX(t.t_rise), label: `rise${sfx}`, stroke: MARK.rise, dash: [2, 3] });
      markers.push({ x: toX(t.t_half_ode), label: `½ODE${sfx}`, stroke: MARK.ode, dash: [6, 4] });
      if (ths[j] != null) markers.push({ x: toX(ths[j]), label: `½sim${sfx}`, stroke: MARK.sim, dash: [] });
    });
    const kinds = [
      { label: "t<sub>rise</sub>", stroke: MARK.rise, dash: "dotted", title: "rise time of the modeling ODE (spec 6)" },
      { label: "t<sub>½</sub> ODE", stroke: MARK.ode, dash: true, title: "time the ODE's term loss halves" },
      { label: "t<sub>½</sub> sim", stroke: MARK.sim, title: "measured: time the run's term loss halves" },
    ];
    lLegend.push(...kinds);
  }
  const lo = S.opts.logx ? (teff ? lr : 1) : 0;
  const xRange = [lo, Math.max(xExtent(cur, run, xEnd, teff, lr), lo * 10)];
  const keyBase = `${S.opts.logx}|${S.opts.logy}|${S.opts.x}`;
  lossChart.update({
    key: `${keyBase}|${lSeries.map((s) => s.label + s.stroke).join(",")}`,
    series: lSeries, legend: lLegend, xLabel, yLabel: "loss", logx: S.opts.logx,
    ylog: S.opts.logy ? "log" : null, yZero: true, xRange, markers, yMin: yMinLoss,
  }, joinTables(lTables));
  paramChart.update({
    key: `${keyBase}|${pSeries.map((s) => s.label + s.stroke).join(",")}`,
    series: pSeries, legend: pLegend, xLabel, yLabel: "parameter size", logx: S.opts.logx,
    ylog: S.opts.logy ? "log" : null, xRange, markers, yMin: null, yFloorRatio: 1e-3,
  }, joinTables(pTables));
}

/**
 * Right end of the x axis: a finished run ends where its data ends; a live run grows with its
 * data but always shows the theory's interesting region (5x the latest t_rise / t_half marker);
 * a preview shows that region, never past the planned end; overlaid runs are shown whole.
 */
function xExtent(cur, run, xEnd, teff, lr) {
  const marks = cur && cur.theory
    ? cur.theory.terms.flatMap((t) => [t.t_rise, t.t_half_ode]).filter((v) => v != null && Number.isFinite(v) && v > 0)
    : [];
  const focus = marks.length ? 5 * Math.max(...marks) * (teff ? 1 : 1 / lr) : xEnd;
  const lastX = (r) => {
    const steps = r.cols.step;
    return steps && steps.length ? steps[steps.length - 1] * (teff ? r.config.lr : 1) : 0;
  };
  let hi = Math.min(xEnd, focus);
  if (run && run.n) hi = run.state === "done" ? lastX(run) : Math.min(xEnd, Math.max(lastX(run) * 1.25, focus));
  for (const ov of S.overlays.values()) hi = Math.max(hi, lastX(ov.run)); // overlays are shown whole
  return hi;
}

function updateReadouts() {
  const r = S.run;
  $("ro-step").textContent = r ? r.step.toLocaleString() : "–";
  $("ro-teff").textContent = r ? fmt(r.step * r.config.lr, 4) : "–";
  $("ro-sps").textContent = r && r.sps ? Math.round(r.sps).toLocaleString() : "–";
  const left = r && r.live && r.sps && r.config ? (r.config.steps - r.step) / r.sps : NaN;
  $("ro-eta").textContent = r && r.state === "done" ? fmtSeconds(0) : fmtSeconds(left);
}

function frame(now) {
  if (S.dirty && now - S.lastDraw >= FRAME_MS) {
    S.dirty = false;
    S.lastDraw = now;
    try {
      draw();
      if (S.run && S.run.live) renderTheoryLive();
    } catch (err) {
      console.error(err);
    }
  }
  requestAnimationFrame(frame);
}

let lastLiveTheory = 0;
function renderTheoryLive() {
  // the measured t_half updates while streaming; re-render the small table at most twice a second
  const now = performance.now();
  if (now - lastLiveTheory > 500) {
    lastLiveTheory = now;
    renderTheory();
  }
}

// -------------------------------------------------------------------------------------------
// start-up
// -------------------------------------------------------------------------------------------
function bindPlotControls() {
  const opt = (id, key) => {
    $(id).onchange = (e) => {
      S.opts[key] = e.target.checked;
      S.dirty = true;
      saveState();
    };
  };
  opt("opt-logx", "logx");
  opt("opt-logy", "logy");
  opt("opt-theory", "theory");
  opt("opt-marks", "marks");
  opt("opt-raw", "raw");
  opt("opt-pop", "pop");
  const ema = $("opt-ema");
  ema.innerHTML = S.meta.ema_windows.map((w) => `<option value="${w}">${w === 0 ? "off" : w}</option>`).join("");
  ema.onchange = () => {
    S.opts.ema = Number(ema.value);
    if (S.opts.ema > 0) S.form.ema_window = S.opts.ema; // new runs record the same window
    S.dirty = true;
    saveState();
  };
  $("x-step").onclick = () => { S.opts.x = "step"; syncControls(); S.dirty = true; saveState(); };
  $("x-teff").onclick = () => { S.opts.x = "teff"; syncControls(); S.dirty = true; saveState(); };
  $("btn-start").onclick = toggleStart;
  $("btn-reset").onclick = reset;
  $("btn-defaults").onclick = () => {
    setForm(S.meta.defaults);
    S.seed = 0; // the server's default seed
    setFieldError("seed", null);
    setFieldError("terms", null);
    S.opts.gammaTied = true;
    S.opts.ema = S.form.ema_window;
    buildDynamic();
    changed();
  };
  $("btn-share").onclick = async () => {
    saveState();
    const url = location.href;
    try {
      await navigator.clipboard.writeText(url);
      toast("Link copied: it encodes the whole config and seed.");
    } catch (err) {
      prompt("Copy this link:", url);
    }
  };
  $("btn-refresh").onclick = loadHistory;
  $("btn-clear-overlay").onclick = () => {
    S.overlays.clear();
    renderHistory();
    saveState();
    S.dirty = true;
  };
  document.addEventListener("keydown", (e) => {
    if (e.code === "Space" && !["INPUT", "SELECT", "TEXTAREA", "BUTTON"].includes(document.activeElement.tagName)) {
      e.preventDefault();
      toggleStart();
    }
  });
  window.addEventListener("hashchange", () => {
    const shared = decodeHash(location.hash, S.form);
    if (shared && canonical(shared.config) !== canonical(S.form)) {
      setForm(shared.config);
      S.seed = shared.seed;
      buildDynamic();
      changed();
    }
  });
}

async function main() {
  if (!window.katex || !window.uPlot) {
    const health = await fetch("/api/health").then((r) => r.json()).catch(() => ({}));
    const el = $("assets-banner");
    el.textContent = health.assets_hint || "web assets missing: run scripts/install_web_assets.sh";
    el.hidden = false;
    if (!window.uPlot) return;
  }
  renderStatic();
  S.meta = await api("GET", "/api/meta");
  lossChart = new Chart($("chart-loss"), $("legend-loss"));
  paramChart = new Chart($("chart-params"), $("legend-params"));
  S.charts = { loss: lossChart, params: paramChart };

  let saved = null;
  try {
    saved = JSON.parse(localStorage.getItem(STORE_KEY) || "null");
  } catch (err) {
    saved = null;
  }
  S.form = structuredClone(S.meta.defaults);
  if (saved && saved.form) {
    S.form = { ...S.form, ...saved.form };
    S.seed = saved.seed || 0;
    S.opts = { ...S.opts, ...(saved.opts || {}) };
  } else {
    S.opts.ema = S.form.ema_window;
  }
  const shared = decodeHash(location.hash, S.form);
  let runToOpen = sessionStorage.getItem(RUN_KEY);
  if (shared) {
    S.form = shared.config;
    S.seed = shared.seed;
    runToOpen = shared.run || null;
    S.opts.gammaTied = S.form.gamma.every((g) => g === S.form.gamma[0]);
  }
  S.form = resizeForm(S.form);
  const seed = parseSeed(S.seed);
  if (seed.error) S.seed = 0;
  buildControls();
  bindPlotControls();
  syncControls();
  setFieldError("seed", seed.error);
  checkFields();
  setState(null);
  requestAnimationFrame(frame);
  await refreshPreview();
  loadHistory();
  if (saved && saved.overlays) saved.overlays.forEach((id) => toggleOverlay(id, true, { quiet: true }));
  if (runToOpen) {
    try {
      await openRun(runToOpen, { loadConfig: false });
    } catch (err) {
      toast(`run ${runToOpen} not found; its config is loaded`);
      saveState();
    }
  }
  saveState();
  document.body.dataset.ready = "1";
}

main().catch((err) => showError(`the page failed to start: ${err.message}`));

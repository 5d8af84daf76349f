// The wide-networks page: a live lazy-training run (the protocol experiment "widenets", streamed
// over the same /api/live WebSocket as the Expander page) and the signal-propagation studies.
import { Chart, decimate, fmtValue } from "./charts.js";
import { render } from "./tex.js";

const $ = (id) => document.getElementById(id);
const C = {
  sim: "#2563eb",
  theory: "#f97316",
  h0: "#7c3aed",
  bound: "#0f766e",
  move: "#2563eb",
  drift: "#db2777",
  rho: "#2563eb",
  q: "#0f766e",
  fixed: "#94a3b8",
};

const WTEX = {
  lazyNet: String.raw`f(\mathbf{x}) = \tfrac{1}{\sqrt{m}} \textstyle\sum_{r=1}^{m} a_r\, \mathrm{relu}(\mathbf{w}_r \cdot \mathbf{x}),\ \ \mathbf{w}_r(0) \sim \mathcal{N}(0, I),\ a_r = \pm 1`,
  fspace: String.raw`u(k+1) - y \approx \big(I - \eta H(k)\big)\big(u(k) - y\big), \quad H(k)_{ij} = \frac{\mathbf{x}_i \cdot \mathbf{x}_j}{m} \textstyle\sum_r \mathbb{1}\{\mathbf{w}_r \cdot \mathbf{x}_i \ge 0,\ \mathbf{w}_r \cdot \mathbf{x}_j \ge 0\}`,
  nngp: String.raw`K^{(l+1)}(x, x') = C_b + C_w\, \mathbb{E}_{(z, z') \sim \mathcal{N}(0, K^{(l)})}\big[\sigma(z)\, \sigma(z')\big]`,
  ntk: String.raw`\Theta^{(l+1)}(x, x') = K^{(l+1)}(x, x') + C_w\, \Theta^{(l)}(x, x')\, \mathbb{E}\big[\sigma'(z)\, \sigma'(z')\big]`,
  chi: String.raw`\chi_\perp = C_w\, \mathbb{E}_{z \sim \mathcal{N}(0, K^*)}\big[\sigma'(z)^2\big], \qquad \chi_\parallel = C_w\, \mathbb{E}_{K^*}\big[\sigma'(z)^2 + \sigma(z)\sigma''(z)\big]`,
  hinf: String.raw`H^\infty_{ij} = \frac{\mathbf{x}_i \cdot \mathbf{x}_j \,\big(\pi - \arccos(\mathbf{x}_i \cdot \mathbf{x}_j)\big)}{2\pi}, \qquad \lambda_0 = \lambda_{\min}(H^\infty)`,
  resid: String.raw`\|y - u(k)\| \approx \Big(\textstyle\sum_i (1 - \eta\lambda_i)^{2k}\, \big(\mathbf{v}_i^\top (u(0) - y)\big)^2\Big)^{1/2}, \quad H = \textstyle\sum_i \lambda_i \mathbf{v}_i \mathbf{v}_i^\top`,
  bound: String.raw`\|y - u(k)\|^2 \le \Big(1 - \frac{\eta \lambda_0}{2}\Big)^{k} \|y - u(0)\|^2, \qquad \text{GD on the linearized model converges iff } \eta < \frac{2}{\lambda_{\max}}`,
};

function showError(msg) {
  const el = $("error");
  if (!msg) {
    el.hidden = true;
    el.textContent = "";
    return;
  }
  el.hidden = false;
  el.textContent = msg;
}

async function api(method, url, body) {
  const opts = { method, headers: {} };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(url, opts);
  let data = null;
  try {
    data = await res.json();
  } catch (err) {
    data = null;
  }
  if (!res.ok) {
    const e = new Error((data && data.error) || `${res.status} ${res.statusText}`);
    e.field = data && data.field;
    throw e;
  }
  return data;
}

function fmt(v, digits = 4) {
  if (v == null || (typeof v === "number" && !Number.isFinite(v))) return "–";
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v !== "number") return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(digits - 1);
  return String(+v.toPrecision(digits));
}

function rows(table, items) {
  table.innerHTML = items
    .map((it) => {
      if (it.head) return `<tr><th colspan="2">${it.head}</th></tr>`;
      const cls = it.cls ? ` class="${it.cls}"` : "";
      const tid = it.id ? ` data-testid="ro-${it.id}"` : "";
      return `<tr><td>${it.label}</td><td${cls}${tid}>${it.value}</td></tr>`;
    })
    .join("");
  table.querySelectorAll("[data-itex]").forEach((el) => render(el, el.dataset.itex, false));
}

const tx = (s) => `<span data-itex="${s.replace(/"/g, "&quot;")}"></span>`;

// ======================================================================== panel A: lazy training
const lazy = {
  run: null, // {id, config, theory}
  ws: null,
  data: { step: [], residual: [], kernel_drift: [], weight_move: [] },
  final: null,
  report: null,
  state: "idle",
  dirty: false,
};
const resChart = new Chart($("ch-res"), $("lg-res"));
const moveChart = new Chart($("ch-move"), $("lg-move"));

function lazyConfig() {
  const num = (id) => {
    const raw = $(id).value.trim();
    return raw === "" ? raw : Number(raw);
  };
  const cfg = {
    n: num("lz-n"),
    d: num("lz-d"),
    width: num("lz-width"),
    lr: num("lz-lr"),
    steps: num("lz-steps"),
    labels: $("lz-labels").value,
    data_seed: num("lz-dseed"),
  };
  // ~60 chunks a run: smooth live drawing, one compilation per run
  if (Number.isInteger(cfg.steps) && cfg.steps > 0) cfg.chunk = Math.max(1, Math.ceil((cfg.steps + 1) / 60));
  return cfg;
}

const LZ_FIELDS = { n: "lz-n", d: "lz-d", width: "lz-width", lr: "lz-lr", steps: "lz-steps", seed: "lz-seed", data_seed: "lz-dseed", labels: "lz-labels", chunk: "lz-steps" };

function markInvalid(fields, field) {
  Object.values(fields).forEach((id) => $(id).classList.remove("invalid"));
  if (field && fields[field]) $(fields[field]).classList.add("invalid");
}

function setLazyState(state) {
  lazy.state = state;
  const pill = $("lz-status");
  pill.textContent = state;
  pill.className = `pill pill-${state}`;
  const active = state === "starting" || state === "running" || state === "stopping";
  $("lz-start").disabled = active;
  $("lz-stop").disabled = !active;
}

async function startLazy() {
  showError(null);
  markInvalid(LZ_FIELDS, null);
  if (lazy.ws) lazy.ws.close();
  const seedRaw = $("lz-seed").value.trim();
  const body = { config: lazyConfig(), seed: seedRaw === "" ? 0 : Number(seedRaw) };
  setLazyState("starting");
  let started;
  try {
    started = await api("POST", "/api/widenets/lazy", body);
  } catch (err) {
    setLazyState("idle");
    markInvalid(LZ_FIELDS, err.field);
    showError(`Lazy training: ${err.message}`);
    return;
  }
  lazy.run = { id: started.run_id, config: started.config, theory: started.theory, seed: started.seed };
  lazy.data = { step: [], residual: [], kernel_drift: [], weight_move: [] };
  lazy.final = null;
  lazy.report = null;
  $("lz-runid").textContent = `run ${started.run_id} · seed ${started.seed} · stored as experiment widenets (report: GET /api/widenets/lazy/${started.run_id})`;
  renderLazyReadouts();
  scheduleLazyDraw();
  connectLazy(started.run_id);
}

function connectLazy(runId) {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/api/live/${encodeURIComponent(runId)}/ws`);
  lazy.ws = ws;
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.type === "hello" || msg.type === "chunk") {
      appendLazy(msg.data || {});
      if (msg.state) setLazyState(msg.state === "starting" ? "running" : msg.state);
      $("lz-step").textContent = msg.step ?? "–";
    } else if (msg.type === "state") {
      setLazyState(msg.state);
    } else if (msg.type === "done") {
      lazy.final = msg;
      $("lz-step").textContent = msg.step ?? "–";
      setLazyState(msg.status);
      if (msg.status === "failed") showError(`Lazy training failed: ${msg.message}`);
      else if (msg.message && msg.status !== "finished") showNote(msg.message);
      renderLazyReadouts();
      fetchReport(runId);
    } else if (msg.type === "error") {
      showError(msg.error);
      setLazyState("idle");
    }
    scheduleLazyDraw();
  };
  ws.onclose = () => {
    if (lazy.ws === ws) lazy.ws = null;
  };
}

function showNote(text) {
  const el = $("lz-note");
  el.hidden = !text;
  el.textContent = text || "";
}

async function fetchReport(runId) {
  try {
    const rep = await api("GET", `/api/widenets/lazy/${encodeURIComponent(runId)}`);
    if (lazy.run && lazy.run.id === runId) {
      lazy.report = rep;
      renderLazyReadouts();
      scheduleLazyDraw();
    }
  } catch (err) {
    // an interrupted run without a summary has no H(0) prediction: the live curves stay
  }
}

function appendLazy(chunk) {
  for (const key of Object.keys(lazy.data)) {
    if (chunk[key]) lazy.data[key].push(...chunk[key]);
  }
  renderLazyReadouts();
}

function stopLazy() {
  if (!lazy.run) return;
  if (lazy.ws && lazy.ws.readyState === WebSocket.OPEN) lazy.ws.send(JSON.stringify({ action: "stop" }));
  else api("POST", `/api/live/${encodeURIComponent(lazy.run.id)}/stop`).catch(() => {});
  setLazyState("stopping");
}

let lazyFrame = 0;
function scheduleLazyDraw() {
  if (lazyFrame) return;
  lazyFrame = requestAnimationFrame(() => {
    lazyFrame = 0;
    drawLazy();
  });
}

function drawLazy() {
  const run = lazy.run;
  const steps = run ? run.config.steps : 100;
  const d = lazy.data;
  const th = run ? run.theory : null;
  const r0 = d.residual.length ? d.residual[0] : null;
  // x: every step 0..steps (theory curves span the whole run; the simulation fills in live)
  const n = run ? steps + 1 : 0;
  const xs = new Array(n);
  const sim = new Array(n).fill(null);
  const expected = new Array(n).fill(null);
  const bound = new Array(n).fill(null);
  const h0 = new Array(n).fill(null);
  for (let k = 0; k < n; k++) {
    xs[k] = k;
    if (th) {
      expected[k] = th.expected_residual[k] ?? null;
      if (r0 != null && th.bound_ratio[k] != null) bound[k] = th.bound_ratio[k] * r0;
    }
  }
  d.step.forEach((k, i) => {
    if (k < n) sim[k] = d.residual[i];
  });
  if (lazy.report) {
    lazy.report.steps.forEach((k, i) => {
      if (k < n) h0[k] = lazy.report.predicted[i];
    });
  }
  const positive = (v) => (v != null && v > 0 ? v : null);
  const table = decimate([xs, sim.map(positive), expected.map(positive), h0.map(positive), bound.map(positive)], 2400);
  resChart.update(
    {
      key: "res",
      xLabel: "GD step k",
      yLabel: "‖y − u(k)‖",
      ylog: "log",
      yFloorRatio: 1e-7,
      xRange: run ? [0, steps] : null,
      series: [
        { label: "network", stroke: C.sim, width: 2 },
        { label: "E prediction (H∞)", stroke: C.theory, width: 1.5, dash: [7, 5] },
        { label: "prediction from H(0)", stroke: C.h0, width: 1.5, dash: [3, 3] },
        { label: "bound", stroke: C.bound, width: 1.5, dash: [1, 4] },
      ],
      legend: [
        { label: "network ‖y − u(k)‖", stroke: C.sim, series: [0] },
        { label: "eigen prediction, E over init (H∞)", stroke: C.theory, dash: true, series: [1] },
        { label: "eigen prediction, this run's H(0)", stroke: C.h0, dash: true, series: [2], title: "|(I − ηH(0))^k (u(0) − y)|, available when the run ends" },
        { label: "bound (1 − ηλ₀/2)^(k/2) ‖y − u(0)‖", stroke: C.bound, dash: "dotted", series: [3] },
      ],
    },
    run ? table : null,
  );
  const mv = [d.step.slice(), d.weight_move.slice(), d.kernel_drift.slice()];
  moveChart.update(
    {
      key: "move",
      xLabel: "GD step k",
      yLabel: "",
      ylog: null,
      yZero: true,
      xRange: run ? [0, steps] : null,
      series: [
        { label: "weight move", stroke: C.move, width: 1.75 },
        { label: "kernel drift", stroke: C.drift, width: 1.75 },
      ],
      legend: [
        { label: "max_r ‖w_r(k) − w_r(0)‖", stroke: C.move, series: [0] },
        { label: "‖H(k) − H(0)‖_F", stroke: C.drift, series: [1] },
      ],
    },
    run && mv[0].length ? decimate(mv, 1600) : null,
  );
}

function renderLazyReadouts() {
  const table = $("lz-readouts");
  const run = lazy.run;
  if (!run) {
    rows(table, [{ head: "readouts" }, { label: "start a run to see λ₀, the bound and the agreement", value: "" }]);
    return;
  }
  const th = run.theory;
  const lr = run.config.lr;
  const d = lazy.data;
  const last = (arr) => (arr.length ? arr[arr.length - 1] : null);
  const max = (arr) => (arr.length ? Math.max(...arr.filter((v) => v != null)) : null);
  const s = lazy.final ? lazy.final.summary || {} : {};
  const a = lazy.final ? lazy.final.agreement || {} : {};
  const stable = lr < th.lr_limit;
  const res0 = d.residual.length ? d.residual[0] : null;
  const items = [
    { head: "theory (from the config, H∞)" },
    { label: tx("\\lambda_0 = \\lambda_{\\min}(H^\\infty)"), value: fmt(th.lambda_0), id: "lambda0", cls: "hl" },
    { label: tx("\\lambda_{\\max}(H^\\infty)"), value: fmt(th.lambda_max), id: "lambdamax", cls: "hl" },
    {
      label: `${tx("2/\\lambda_{\\max}")} vs ${tx("\\eta")}`,
      value: `${fmt(th.lr_limit)} vs ${fmt(lr)} <span class="${stable ? "wn-ok" : "wn-bad"}">${stable ? "η below: converges" : "η above: diverges"}</span>`,
      id: "lrlimit",
      cls: "hl",
    },
    { label: tx("\\eta\\,\\lambda_{\\max} \\le 1\\ \\text{(theorem regime)}"), value: fmt(th.in_theorem_regime), cls: "hl" },
    { head: "this run" },
    { label: tx("\\|y - u(0)\\| \\to \\|y - u(k)\\|"), value: `${fmt(res0)} → ${fmt(last(d.residual))}`, id: "residual", cls: "sim" },
    { label: tx("\\max_{k,r} \\|w_r(k) - w_r(0)\\|"), value: fmt(max(d.weight_move)), id: "move", cls: "sim" },
    { label: tx("\\|W - W_0\\|_F / \\|W_0\\|_F"), value: fmt(s.rel_weight_move), cls: "sim" },
    { label: tx("\\|H(k) - H(0)\\|_F\\ \\text{(final)}"), value: fmt(last(d.kernel_drift)), id: "drift", cls: "sim" },
    { label: `${tx("\\lambda_{\\min}(H(0)),\\ \\lambda_{\\max}(H(0))")}`, value: `${fmt(s.lambda_min_h0)}, ${fmt(s.lambda_max_h0)}`, cls: "sim" },
    { head: "agreement" },
    { label: "residual vs H(0) prediction, max rel. dev. (1st decade)", value: fmt(a.max_rel_dev_residual), id: "agree" },
    { label: "… vs H∞ prediction", value: fmt(a.max_rel_dev_residual_hinf) },
    { label: "bound holds at every k", value: fmt(a.bound_holds), id: "bound" },
    { label: "max residual / bound", value: fmt(a.max_residual_over_bound) },
    { label: tx("\\max |H(0) - H^\\infty|"), value: fmt(a.h0_vs_hinf_max_abs) },
    { label: "test outputs vs linearized model, rel. dev.", value: fmt(a.test_rel_dev_linearized) },
  ];
  rows(table, items);
}

async function setEdgeLr() {
  if (!lazy.run || lazy.run.config.n !== Number($("lz-n").value) || lazy.run.config.d !== Number($("lz-d").value)) {
    showNote("start a run with this n and d first: the limit 2/λmax comes from its H∞");
    return;
  }
  $("lz-lr").value = String(+(0.9 * lazy.run.theory.lr_limit).toPrecision(4));
  showNote(null);
}

// ==================================================================== panel B: signal propagation
const rhoChart = new Chart($("ch-rho"), $("lg-rho"));
const qChart = new Chart($("ch-q"), $("lg-q"));
const PR_FIELDS = { activation: "pr-act", cw: "pr-cw", cb: "pr-cb", q0: "pr-q0", rho0: "pr-rho0", depth: "pr-depth" };
const prop = { seq: 0, result: null, critical: null };

function propBody() {
  const num = (id) => {
    const raw = $(id).value.trim();
    return raw === "" ? raw : Number(raw);
  };
  return { activation: $("pr-act").value, cw: num("pr-cw"), cb: num("pr-cb"), q0: num("pr-q0"), rho0: num("pr-rho0"), depth: num("pr-depth") };
}

async function runPropagate() {
  const seq = ++prop.seq;
  const body = propBody();
  $("pr-busy").textContent = "computing…";
  try {
    const [res, crit] = await Promise.all([
      api("POST", "/api/widenets/propagate", body),
      prop.critical && prop.critical.activation === body.activation
        ? Promise.resolve(prop.critical)
        : api("GET", `/api/widenets/critical?activation=${encodeURIComponent(body.activation)}`),
    ]);
    if (seq !== prop.seq) return;
    markInvalid(PR_FIELDS, null);
    showError(null);
    prop.result = res;
    prop.critical = crit;
    drawProp();
    renderPropReadouts();
    $("pr-busy").textContent = "";
  } catch (err) {
    if (seq !== prop.seq) return;
    markInvalid(PR_FIELDS, err.field);
    showError(`Signal propagation: ${err.message}`);
    $("pr-busy").textContent = "";
  }
}

function drawProp() {
  const r = prop.result;
  const fp = r.fixed_point.k_star;
  const depth = r.config.depth;
  rhoChart.update(
    {
      key: "rho",
      xLabel: "layer l",
      yLabel: "ρ_l",
      ylog: null,
      xRange: [1, Math.max(2, depth)],
      series: [
        { label: "ρ_l", stroke: C.rho, width: 2 },
        { label: "ρ = 1", stroke: C.fixed, width: 1, dash: [2, 4] },
      ],
      legend: [
        { label: "ρ_l = K_l(x,x') / q_l", stroke: C.rho, series: [0] },
        { label: "ρ = 1", stroke: C.fixed, dash: "dotted", series: [1] },
      ],
    },
    [r.l, r.rho, r.l.map(() => 1)],
  );
  const qs = r.q.map((v) => (v != null && v > 0 ? v : null));
  const useLog = qs.some((v) => v != null) && Math.max(...qs.filter((v) => v != null)) / Math.max(1e-300, Math.min(...qs.filter((v) => v != null))) > 20;
  qChart.update(
    {
      key: `q-${useLog}`,
      xLabel: "layer l",
      yLabel: "q_l",
      ylog: useLog ? "log" : null,
      yZero: !useLog,
      xRange: [1, Math.max(2, depth)],
      series: [
        { label: "q_l", stroke: C.q, width: 2 },
        { label: "K*", stroke: C.fixed, width: 1, dash: [2, 4] },
      ],
      legend: [
        { label: "q_l = K_l(x,x)", stroke: C.q, series: [0] },
        { label: `fixed point K* = ${fmt(fp)}`, stroke: C.fixed, dash: "dotted", series: [1] },
      ],
    },
    [r.l, useLog ? qs : r.q, r.l.map(() => (fp != null && fp > 0 ? fp : null))],
  );
}

function renderPropReadouts() {
  const r = prop.result;
  const c = prop.critical;
  const last = r.layers[r.layers.length - 1];
  const fp = r.fixed_point;
  const items = [
    { head: `critical point of ${c.activation}${c.exact ? "" : " (no exact one: closest on χ⊥ = 1)"}` },
    { label: tx("C_b"), value: fmt(c.cb, 6), id: "crit-cb", cls: "hl" },
    { label: tx("C_w"), value: fmt(c.cw, 6), id: "crit-cw", cls: "hl" },
    { label: tx("K^*"), value: c.k_star_free ? `any (${fmt(c.k_star)})` : fmt(c.k_star, 6), id: "crit-kstar", cls: "hl" },
    { label: tx("\\chi_\\parallel"), value: fmt(c.chi_par, 6), id: "crit-chipar", cls: "hl" },
    { label: tx("\\chi_\\perp"), value: fmt(c.chi_perp, 6), id: "crit-chiperp", cls: "hl" },
    { head: `at C_w = ${fmt(r.config.cw)}, C_b = ${fmt(r.config.cb)}` },
    { label: `${tx("K^*")} (from ${tx("q_1")})`, value: fmt(fp.k_star), id: "kstar", cls: "sim" },
    { label: tx("\\chi_\\parallel(K^*)"), value: fmt(fp.chi_par), cls: "sim" },
    { label: tx("\\chi_\\perp(K^*)"), value: fmt(fp.chi_perp), id: "chiperp", cls: "sim" },
    { label: `${tx("q_L,\\ \\rho_L")} at L = ${last.l}`, value: `${fmt(last.q)}, ${fmt(last.rho, 6)}`, id: "rho-last", cls: "sim" },
  ];
  rows($("pr-readouts"), items);
  const chi = fp.chi_perp;
  let phase = "";
  if (chi == null) phase = `<span class="wn-bad">q diverges: no fixed point</span>`;
  else if (Math.abs(chi - 1) < 1e-6) phase = `<span class="wn-ok">critical (χ⊥ = 1): correlations approach 1 polynomially, not exponentially</span>`;
  else if (chi < 1) phase = `<span class="wn-warnc">ordered (χ⊥ &lt; 1): inputs collapse, ρ → 1 exponentially, depth scale ${fmt(-1 / Math.log(chi), 3)}</span>`;
  else phase = `<span class="wn-warnc">chaotic (χ⊥ &gt; 1): nearby inputs decorrelate</span>`;
  $("pr-phase").innerHTML = phase;
}

let propTimer = 0;
function propChanged() {
  if (!$("pr-auto").checked) return;
  clearTimeout(propTimer);
  propTimer = setTimeout(runPropagate, 300);
}

async function useCritical() {
  const act = $("pr-act").value;
  try {
    const c = await api("GET", `/api/widenets/critical?activation=${encodeURIComponent(act)}`);
    prop.critical = c;
    $("pr-cw").value = String(c.cw);
    $("pr-cb").value = String(c.cb);
    if (c.k_star > 0 && !c.k_star_free) $("pr-q0").value = String(c.k_star);
    runPropagate();
  } catch (err) {
    showError(`critical point: ${err.message}`);
  }
}

// ================================================================================= start-up
async function init() {
  document.querySelectorAll("[data-wtex]").forEach((el) => render(el, WTEX[el.dataset.wtex], true));
  document.querySelectorAll("[data-itex]").forEach((el) => render(el, el.dataset.itex, false));
  let meta = null;
  try {
    meta = await api("GET", "/api/widenets/meta");
  } catch (err) {
    showError(`could not load /api/widenets/meta: ${err.message}`);
  }
  const acts = meta ? meta.activations : ["relu"];
  $("pr-act").innerHTML = acts.map((a) => `<option value="${a}">${a}</option>`).join("");
  if (meta) {
    const c = meta.caps;
    // every cap the server checks for a lazy run, worded as its errors word them
    const f = (v) => v.toLocaleString("en-US");
    $("lz-caps").textContent = `server caps: n ≤ ${f(c.n)}, d ≤ ${f(c.d)}, width ≤ ${f(c.width)}, n·width ≤ ${f(c.n_width)}, width·d ≤ ${f(c.width_d)}, steps ≤ ${f(c.steps)}`;
  }
  $("lz-start").addEventListener("click", startLazy);
  $("lz-stop").addEventListener("click", stopLazy);
  $("lz-edge").addEventListener("click", setEdgeLr);
  $("pr-run").addEventListener("click", runPropagate);
  $("pr-crit").addEventListener("click", useCritical);
  Object.values(PR_FIELDS).forEach((id) => $(id).addEventListener("input", propChanged));
  $("pr-act").addEventListener("change", propChanged);
  renderLazyReadouts();
  drawLazy();
  await runPropagate();
  document.body.dataset.ready = "1";
}

init();
window.__widenets = { lazy, prop };

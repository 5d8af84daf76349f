// The sweeps pages: /sweeps lists every sweep, /sweeps/{id} shows its progress (done, running,
// failed, pending) and, per declared metric, how the simulation compared with the theory.
import { $, api, color, escapeHtml, fmt } from "./common.js";

const STATES = [
  ["finished", "done", 2],
  ["diverged", "diverged", 1],
  ["running", "running", 5],
  ["failed", "failed", 3],
  ["interrupted", "interrupted", 4],
  ["pending", "pending", null],
];

function fail(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

async function showList() {
  $("list-card").hidden = false;
  const res = await api("GET", "/api/sweeps");
  const table = $("sweeps");
  if (!res.sweeps.length) {
    table.innerHTML = `<tr><td class="empty">no sweeps in this store yet</td></tr>`;
    return;
  }
  table.innerHTML = `<tr><th scope="col">sweep</th><th scope="col">experiment</th><th scope="col">grid</th><th scope="col" class="num">runs</th><th scope="col">progress</th></tr>` +
    res.sweeps.map((s) => {
      const done = (s.counts.finished || 0) + (s.counts.diverged || 0);
      const grid = Object.entries(s.grid || {}).map(([k, v]) => `${k}: ${(v || []).length}`).join(", ");
      return `<tr><td><a href="/sweeps/${encodeURIComponent(s.id)}" data-testid="sweep-${escapeHtml(s.id)}">${escapeHtml(s.id)}</a></td><td>${escapeHtml(s.experiment)}</td><td>${escapeHtml(grid)} · ${s.seeds} seeds</td><td class="num">${s.runs}</td><td>${done} / ${s.runs} done${s.counts.failed ? `, ${s.counts.failed} failed` : ""}</td></tr>`;
    }).join("");
}

function within(m) {
  if (!m.judged) return `<span class="muted">no stated tolerance</span>`;
  return `${m.within} / ${m.judged} within ±${fmt(100 * m.good, 3)}%`;
}

async function showSweep(id) {
  $("detail").hidden = false;
  const res = await api("GET", `/api/sweeps/${encodeURIComponent(id)}`);
  window.sweep = res;
  $("sweep-title").textContent = `Sweep ${res.sweep.id} · ${res.sweep.experiment}`;
  const grid = Object.entries(res.sweep.grid || {}).map(([k, v]) => `${k} = ${(v || []).map((x) => JSON.stringify(x)).join(", ")}`).join("; ");
  $("sweep-info").textContent = `${grid || "no grid"} · seeds ${res.sweep.seeds.join(", ")} · ${res.runs} planned runs`;
  $("bar").innerHTML = STATES.filter(([k]) => res.counts[k]).map(([k, , c]) => `<span style="width:${(100 * res.counts[k]) / Math.max(1, res.runs)}%;background:${c == null ? "transparent" : color(c)}" title="${k}: ${res.counts[k]}"></span>`).join("");
  $("counts").innerHTML = STATES.map(([k, label]) => `<span class="pill pill-${k}" data-testid="count-${k}">${label}: ${res.counts[k] || 0}</span>`).join("");
  const summary = $("summary");
  summary.innerHTML = res.metrics.length
    ? `<tr><th scope="col">metric</th><th scope="col" class="num">runs</th><th scope="col" class="num">simulated (mean)</th><th scope="col" class="num">predicted (mean)</th><th scope="col" class="num">ratio mean</th><th scope="col" class="num">ratio range</th><th scope="col">agreement</th></tr>` +
      res.metrics.map((m) => `<tr><td>${escapeHtml(m.label)}</td><td class="num">${m.runs}</td><td class="num">${fmt(m.simulated_mean)}</td><td class="num">${fmt(m.predicted_mean)}</td><td class="num">${fmt(m.ratio_mean)}</td><td class="num">${m.ratio_min == null ? "—" : `${fmt(m.ratio_min)} – ${fmt(m.ratio_max)}`}</td><td>${within(m)}</td></tr>`).join("")
    : `<tr><td class="empty">no finished runs with metrics yet</td></tr>`;
  const done = (res.counts.finished || 0) + (res.counts.diverged || 0);
  $("report").hidden = done === 0;
  if (done) $("report-img").src = `/api/sweeps/${encodeURIComponent(id)}/report.png?done=${done}`;
  const keys = ["status", "seed"];
  for (const r of res.rows) for (const k of Object.keys(r.config || {})) if (!keys.includes(k)) keys.push(k);
  const varying = keys.filter((k) => k === "status" || k === "seed" || new Set(res.rows.map((r) => JSON.stringify((r.config || {})[k]))).size > 1);
  $("rows").innerHTML = `<tr>${varying.map((k) => `<th scope="col">${escapeHtml(k)}</th>`).join("")}<th scope="col">run</th></tr>` +
    res.rows.map((r) => `<tr>${varying.map((k) => {
      if (k === "status") return `<td><span class="pill pill-${escapeHtml(r.status)}">${escapeHtml(r.status)}</span></td>`;
      if (k === "seed") return `<td class="num">${r.seed}</td>`;
      const v = (r.config || {})[k];
      return `<td>${escapeHtml(Array.isArray(v) ? JSON.stringify(v) : v)}</td>`;
    }).join("")}<td>${r.run_id ? `<a href="/${encodeURIComponent(res.sweep.experiment)}#_run=${encodeURIComponent(r.run_id)}">${escapeHtml(r.run_id)}</a>` : ""}${r.message ? ` <span class="small muted">${escapeHtml(r.message)}</span>` : ""}</td></tr>`).join("");
}

async function main() {
  const parts = location.pathname.split("/").filter(Boolean);
  try {
    if (parts.length > 1) {
      await showSweep(decodeURIComponent(parts[1]));
      $("refresh").addEventListener("click", () => showSweep(decodeURIComponent(parts[1])).catch((e) => fail(e.message)));
    } else await showList();
  } catch (err) {
    fail(err.message);
  }
  document.body.dataset.ready = "1";
}

main();

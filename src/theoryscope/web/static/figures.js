// Declared figures drawn with uPlot: the browser twin of plots/render.py.
//
// A Figure is panels; a Panel has curves and markers; a Curve names its data by dotted paths into
// the run's documents {series, theory, agreement, summary, config} (spec/declare.py). This module
// resolves those paths exactly as spec/paths.py does and draws each panel as one chart:
// simulation solid, theory dashed in the same Okabe-Ito colour per column, markers as dotted
// vertical (or horizontal) lines inside the drawn data, log axes per panel with a toggle.
// Overlaid runs draw their simulated curves dotted, in the column's colour, one dash per overlay.
import { decimate, fmtValue } from "./charts.js";
import { color, cssVar, escapeHtml } from "./common.js";

const MAX_POINTS = 2000; // per curve, for drawing only (the page keeps every point)
const MAX_LEGEND = 12;
const OVERLAY_DASH = [[1, 3], [6, 2, 1, 2], [3, 3], [8, 3, 1, 3, 1, 3]];
const MARKER = "#6b7280";

// ------------------------------------------------------------------------------------------
// paths (spec/paths.py)
// ------------------------------------------------------------------------------------------
const isIndex = (k) => /^-?\d+$/.test(k);

function step(node, key) {
  if (node == null) return undefined;
  if (Array.isArray(node) || ArrayBuffer.isView(node)) {
    if (!isIndex(key)) return undefined;
    const i = Number(key);
    return i >= -node.length && i < node.length ? node[i < 0 ? node.length + i : i] : undefined;
  }
  if (typeof node === "object") return Object.prototype.hasOwnProperty.call(node, key) ? node[key] : undefined;
  return undefined;
}

/** The value at a dotted path ("theory.ode.loss", "agreement.terms.0.t_rise"), or undefined. */
export function lookup(docs, path) {
  let node = docs;
  for (const key of String(path).split(".")) {
    node = step(node, key);
    if (node === undefined) return undefined;
  }
  return node;
}

/** Whether a curve's `when` condition holds for this config (plots/render.py when_holds). */
export function whenHolds(when, config) {
  if (!when) return true;
  return Object.entries(when).every(([k, vals]) => (vals || []).some((v) => v === (config || {})[k]));
}

const TRANSFORMS = {
  abs: (v) => (v == null ? null : Math.abs(v)),
  neg: (v) => (v == null ? null : -v),
  sqrt: (v) => (v == null ? null : Math.sqrt(Math.max(v, 0))),
};

/** The diagonal over the last two axes of one record (numpy.diagonal(axis1=-2, axis2=-1)). */
function diagonal(r) {
  if (!Array.isArray(r) || !Array.isArray(r[0])) return r;
  if (Array.isArray(r[0][0])) return r.map(diagonal);
  const k = Math.min(r.length, ...r.map((row) => (Array.isArray(row) ? row.length : 0)));
  return r.slice(0, k).map((row, i) => row[i] ?? null);
}

function num(v) {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function flatRow(r) {
  return Array.isArray(r) ? r.flat(Infinity).map(num) : [num(r)];
}

function formatLabel(template, fields, j) {
  let missing = false;
  const out = String(template).replace(/\{(\w+)\}/g, (m, k) => {
    if (k in fields) return String(fields[k]);
    missing = true;
    return m;
  });
  return missing ? `${template} ${j}` : out;
}

/**
 * The lines of a curve: [{label, x, y, y2, column}] (plots/render.py curve_data): none when its
 * data are absent; one per column of a 2-D (or flattened 3-D) series when `columns` is set.
 */
export function curveLines(curve, docs) {
  if (!whenHolds(curve.when, docs.config)) return [];
  const xs = lookup(docs, curve.x);
  const ys = lookup(docs, curve.y);
  const y2s = curve.y2 ? lookup(docs, curve.y2) : undefined;
  if (!Array.isArray(xs) || !Array.isArray(ys) || !xs.length || !ys.length) return [];
  const n = Math.min(xs.length, ys.length);
  const x = xs.slice(0, n).map(num);
  // "diag" reshapes each record (a square matrix -> its diagonal); the others map values
  const diag = curve.transform === "diag";
  const tf = curve.transform && !diag ? TRANSFORMS[curve.transform] : (v) => v;
  const yRows = diag ? ys.map(diagonal) : ys;
  const y2Rows = diag && Array.isArray(y2s) ? y2s.map(diagonal) : y2s;
  const twoD = yRows.some((r) => Array.isArray(r));
  const base = curve.color || 0;
  const band = (col) => (Array.isArray(y2Rows) ? y2Rows.slice(0, n).map((r) => tf(flatRow(r)[col] ?? null)) : null);
  if (!curve.columns || !twoD) {
    const y = yRows.slice(0, n).map((r) => tf(flatRow(r)[0]));
    return [{ label: curve.label, x, y, y2: band(0), column: base }];
  }
  const rows = yRows.slice(0, n).map(flatRow);
  const width = Math.max(...rows.map((r) => r.length));
  const first = yRows.find((r) => Array.isArray(r));
  const shape = Array.isArray(first) && Array.isArray(first[0]) ? [first.length, first[0].length] : null;
  const found = curve.column_labels ? lookup(docs, curve.column_labels) : undefined;
  const labels = Array.isArray(found) ? found : null;
  const out = [];
  for (let j = 0; j < width; j++) {
    const fields = { i: j };
    if (shape) {
      fields.row = Math.floor(j / shape[1]);
      fields.col = j % shape[1];
    }
    if (labels && j < labels.length) fields.value = Array.isArray(labels[j]) ? `(${labels[j].join(",")})` : labels[j];
    out.push({ label: formatLabel(curve.label, fields, j), x, y: rows.map((r) => tf(r[j] ?? null)), y2: band(j), column: base + j });
  }
  return out;
}

/** Every concrete path of a path with `*` (one per list entry), as spec/paths.py expand. */
export function expandPath(docs, path) {
  const at = String(path).indexOf(".*");
  if (!String(path).includes("*") || at < 0) return [path];
  const head = path.slice(0, at);
  const tail = path.slice(at + 2);
  const items = lookup(docs, head);
  if (!Array.isArray(items)) return [];
  return items.map((_, i) => `${head}.${i}${tail}`);
}

/** The finite values a marker points at (a list, or one per entry of a `*` path). */
export function markerValues(marker, docs) {
  const vals = [];
  for (const path of expandPath(docs, marker.at)) {
    const v = lookup(docs, path);
    if (Array.isArray(v)) vals.push(...v);
    else vals.push(v);
  }
  return vals.map(num).filter((x) => x != null);
}

// ------------------------------------------------------------------------------------------
// one panel = one uPlot chart
// ------------------------------------------------------------------------------------------
function dashOf(style) {
  if (style === "dashed") return [7, 5];
  return undefined;
}

function legendDash(dash) {
  if (!dash) return "solid";
  return dash[0] <= 2 ? "dotted" : "dashed";
}

/** A table [x, y...] keeping rows with a drawable x; y values not drawable become null. */
function drawable(x, ys, logx, logy) {
  const keep = [];
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (v == null || (logx && v <= 0)) continue;
    keep.push(i);
  }
  const order = keep.slice().sort((a, b) => x[a] - x[b]);
  const sorted = order.every((v, i) => v === keep[i]);
  const idx = sorted ? keep : order;
  const cols = [idx.map((i) => x[i])];
  for (const y of ys) cols.push(idx.map((i) => (y[i] == null || (logy && y[i] <= 0) ? null : y[i])));
  return cols;
}

function dedupeX(table) {
  // uPlot.join needs strictly increasing x in each table: keep the last point of equal x
  const xs = table[0];
  const keep = [];
  for (let i = 0; i < xs.length; i++) if (i === xs.length - 1 || xs[i + 1] !== xs[i]) keep.push(i);
  if (keep.length === xs.length) return table;
  return table.map((col) => keep.map((i) => col[i]));
}

export class PanelChart {
  constructor(card, panel, index) {
    this.card = card;
    this.panel = panel;
    this.index = index;
    this.el = card.querySelector(".fig-chart");
    this.legendEl = card.querySelector(".fig-legend");
    this.plot = null;
    this.key = null;
    this.drawn = { solid: 0, dashed: 0, markers: 0, overlays: 0 };
    this.view = { logx: !!panel.x_log, logy: !!panel.y_log };
    this.markers = [];
    new ResizeObserver(() => this.resize()).observe(this.el);
  }

  size() {
    const r = this.el.getBoundingClientRect();
    return { width: Math.max(160, Math.floor(r.width)), height: Math.max(160, Math.floor(r.height)) };
  }

  resize() {
    if (this.plot) {
      const s = this.size();
      if (s.width !== this.plot.width || s.height !== this.plot.height) this.plot.setSize(s);
    }
  }

  /** Draw the panel from the main documents and the overlays [{docs, label, index}]. */
  update(docs, overlays) {
    const { logx, logy } = this.view;
    const tables = [];
    const series = [];
    const legend = [];
    const bands = [];
    const drawn = { solid: 0, dashed: 0, markers: 0, overlays: 0 };
    let xLo = Infinity;
    let xHi = -Infinity;
    let yFloor = Infinity;
    const add = (curve, lines, style, suffix, dash, alpha) => {
      if (!lines.length) return;
      const x = lines[0].x;
      const ys = [];
      for (const line of lines) {
        ys.push(line.y);
        if (curve.style === "band" && line.y2) ys.push(line.y2);
      }
      let table = drawable(x, ys, logx, logy);
      if (!table[0].length) return;
      table = decimate(dedupeX(table), MAX_POINTS);
      let col = 1;
      for (const line of lines) {
        const stroke = color(line.column);
        const ysNow = table[col];
        const finite = ysNow.filter((v) => v != null);
        if (finite.length) {
          xLo = Math.min(xLo, table[0][0]);
          xHi = Math.max(xHi, table[0][table[0].length - 1]);
          if (style !== "dashed" && !suffix && logy) yFloor = Math.min(yFloor, ...finite.filter((v) => v > 0));
          if (suffix) drawn.overlays += 1;
          else if (style === "dashed") drawn.dashed += 1;
          else drawn.solid += 1;
        }
        const label = suffix ? `${line.label} · ${suffix}` : line.label;
        series.push({ label, stroke, width: style === "dashed" ? 1.6 : 1.3, dash, alpha, points: style === "markers" });
        legend.push({ label, stroke, dash, series: series.length - 1 });
        col += 1;
        if (curve.style === "band" && line.y2) {
          series.push({ label: `${label} (band)`, stroke, width: 0.6, alpha: 0.5 });
          bands.push([series.length - 2, series.length - 1, stroke]);
          col += 1;
        }
      }
      tables.push(table);
    };
    for (const curve of this.panel.curves) {
      const style = curve.style || "solid";
      add(curve, curveLines(curve, docs), style, null, dashOf(style), 1);
    }
    (overlays || []).forEach((ov, k) => {
      for (const curve of this.panel.curves) {
        if (curve.y.startsWith("theory.") || (curve.style || "solid") === "dashed") continue;
        add(curve, curveLines(curve, ov.docs), "overlay", ov.label, OVERLAY_DASH[k % OVERLAY_DASH.length], 0.9);
      }
    });
    // markers inside the drawn data (plots/render.py): a prediction far past the run is a metric
    const marks = [];
    for (const m of this.panel.markers || []) {
      let shown = 0;
      for (const v of markerValues(m, docs)) {
        if ((m.axis || "x") === "x") {
          if ((logx && v <= 0) || !(v >= xLo && v <= xHi)) continue;
        }
        marks.push({ value: v, axis: m.axis || "x" });
        shown += 1;
      }
      if (shown) legend.push({ label: m.label, stroke: MARKER, dash: [2, 3], marker: true });
      drawn.markers += shown;
    }
    this.markers = marks;
    this.drawn = drawn;
    this.yFloor = Number.isFinite(yFloor) ? yFloor / 10 : null;
    const data = tables.length ? (tables.length === 1 ? tables[0] : window.uPlot.join(tables)) : [[]];
    const key = [logx, logy, document.documentElement.dataset.theme || "", ...series.map((s) => `${s.label}|${s.stroke}|${s.dash}`)].join(";");
    this.legend = legend;
    if (this.plot && key === this.key) {
      this.plot.setData(data, true);
    } else {
      this.rebuild(key, series, bands, data);
    }
    this.renderLegend();
    this.card.querySelector(".fig-empty").hidden = series.length > 0;
  }

  rebuild(key, series, bands, data) {
    if (this.plot) this.plot.destroy();
    this.key = key;
    const self = this;
    const ink = cssVar("--ink2", "#334155");
    const grid = cssVar("--grid", "rgba(15,23,42,0.08)");
    const axis = {
      stroke: ink,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1, size: 4 },
      font: "11px system-ui, sans-serif",
      labelFont: "12px system-ui, sans-serif",
      values: (u, vals) => vals.map(tick),
    };
    const yDistr = this.view.logy ? 3 : this.panel.y_symlog ? 4 : 1;
    const opts = {
      ...this.size(),
      pxAlign: false,
      scales: {
        x: {
          time: false,
          distr: this.view.logx ? 3 : 1,
          range: (u, lo, hi) => {
            const log = self.view.logx;
            if (lo == null || hi == null || !Number.isFinite(lo) || !Number.isFinite(hi) || (log && !(lo > 0))) return log ? [1, 10] : [0, 1];
            if (lo === hi) return log ? [lo / 2, hi * 2] : [lo - 0.5, hi + 0.5];
            return [lo, hi];
          },
        },
        y: {
          distr: yDistr,
          asinh: 1e-3,
          range: (u, lo, hi) => {
            if (lo == null || hi == null || !Number.isFinite(lo) || !Number.isFinite(hi) || (self.view.logy && !(hi > 0))) return self.view.logy ? [1e-3, 1] : [0, 1];
            if (self.view.logy) {
              // like plots/render.py: down to a tenth of the simulated curves (theory may fall
              // to 1e-200; a run cannot), and never more than 60 decades (uPlot's log ticks)
              const floor = self.yFloor != null ? self.yFloor : hi * 1e-12;
              const a = Math.max(lo, floor, hi * 1e-60, 1e-200);
              const b = Math.max(hi, a * 10);
              return [10 ** Math.floor(Math.log10(a)), 10 ** Math.ceil(Math.log10(b))];
            }
            const pad = (hi - lo) * 0.06 || Math.abs(hi) * 0.1 || 1;
            return [lo - pad, hi + pad];
          },
        },
      },
      axes: [
        { ...axis, label: this.panel.x_label, size: 34, labelSize: 16 },
        { ...axis, label: this.panel.y_label, size: 50, labelSize: 16 },
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          width: s.width,
          dash: s.dash,
          alpha: s.alpha,
          spanGaps: true,
          points: { show: !!s.points, size: 4, fill: s.stroke },
          paths: s.points ? () => null : undefined,
        })),
      ],
      bands: bands.map(([a, b, stroke]) => ({ series: [a + 1, b + 1], fill: `${stroke}33` })),
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: true }, points: { show: false } },
      hooks: {
        draw: [(u) => self.drawMarkers(u)],
        setCursor: [(u) => self.renderLegend(u.cursor.idx)],
      },
    };
    this.plot = new window.uPlot(opts, data, this.el);
  }

  drawMarkers(u) {
    if (!this.markers.length) return;
    const ctx = u.ctx;
    const dpr = window.devicePixelRatio || 1;
    const { left, top, width, height } = u.bbox;
    ctx.save();
    ctx.strokeStyle = MARKER;
    ctx.lineWidth = 1.1 * dpr;
    ctx.setLineDash([2 * dpr, 3 * dpr]);
    for (const m of this.markers) {
      ctx.beginPath();
      if (m.axis === "x") {
        const x = u.valToPos(m.value, "x", true);
        if (x < left - 1 || x > left + width + 1) continue;
        ctx.moveTo(x, top);
        ctx.lineTo(x, top + height);
      } else {
        const y = u.valToPos(m.value, "y", true);
        if (y < top - 1 || y > top + height + 1) continue;
        ctx.moveTo(left, y);
        ctx.lineTo(left + width, y);
      }
      ctx.stroke();
    }
    ctx.restore();
  }

  renderLegend(idx) {
    if (!this.legendEl) return;
    const data = this.plot ? this.plot.data : null;
    const shown = this.legend.slice(0, MAX_LEGEND);
    const items = shown.map((item) => {
      let value = "";
      if (idx != null && data && item.series != null) value = fmtValue(data[item.series + 1]?.[idx]);
      const dash = legendDash(item.dash);
      return `<span class="lg"><i style="border-top:2px ${dash} ${item.stroke}"></i>${escapeHtml(item.label)}${value && value !== "–" ? ` <b>${value}</b>` : ""}</span>`;
    });
    if (this.legend.length > shown.length) items.push(`<span class="lg lg-more">+${this.legend.length - shown.length} more</span>`);
    if (idx != null && data && data[0][idx] != null) items.unshift(`<span class="lg lg-x">${escapeHtml(this.panel.x_label)} = <b>${fmtValue(data[0][idx])}</b></span>`);
    const html = items.join("");
    if (this.legendEl._html !== html) {
      this.legendEl.innerHTML = html;
      this.legendEl._html = html;
    }
  }
}

function tick(v) {
  if (v == null) return "";
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 1e4 || a < 1e-3) return v.toExponential(0).replace("e+", "e");
  return String(+v.toPrecision(3));
}

// ------------------------------------------------------------------------------------------
// a figure = its panels side by side (wrapping on narrow screens)
// ------------------------------------------------------------------------------------------
export class FigureView {
  /** figures: declared figures; root: the element to fill; onView(): a log toggle changed. */
  constructor(root, figures, onView) {
    this.root = root;
    this.charts = [];
    this.sections = []; // [{section, figure}]
    this.onView = onView || (() => {});
    root.innerHTML = "";
    let k = 0;
    for (const fig of figures) {
      const section = document.createElement("section");
      section.className = "figure";
      this.sections.push({ section, figure: fig });
      section.innerHTML = `<h2 class="fig-title">${escapeHtml(fig.title)}</h2><div class="fig-panels"></div>`;
      const panels = section.querySelector(".fig-panels");
      for (const panel of fig.panels) {
        const card = document.createElement("figure");
        card.className = "card fig-card";
        card.dataset.panel = String(k);
        card.setAttribute("data-testid", `panel-${k}`);
        card.innerHTML = `<figcaption><span class="fig-cap">${escapeHtml(panel.title)}</span>
          <span class="fig-axes"><label class="check" title="logarithmic x axis"><input type="checkbox" class="logx" data-testid="logx-${k}"> log x</label>
          <label class="check" title="logarithmic y axis"><input type="checkbox" class="logy" data-testid="logy-${k}"> log y</label></span></figcaption>
          <div class="fig-chart" data-testid="chart-${k}"></div><div class="fig-empty muted small" hidden>no data yet</div><div class="fig-legend legend"></div>`;
        panels.appendChild(card);
        const chart = new PanelChart(card, panel, k);
        const lx = card.querySelector(".logx");
        const ly = card.querySelector(".logy");
        lx.checked = chart.view.logx;
        ly.checked = chart.view.logy;
        lx.addEventListener("change", () => {
          chart.view.logx = lx.checked;
          this.onView();
        });
        ly.addEventListener("change", () => {
          chart.view.logy = ly.checked;
          this.onView();
        });
        this.charts.push(chart);
        k += 1;
      }
      root.appendChild(section);
    }
  }

  update(docs, overlays) {
    // a figure none of whose curves applies to this config (their `when` excludes its mode) is
    // hidden rather than shown empty
    const config = docs.config || {};
    const known = Object.keys(config).length > 0;
    for (const { section, figure } of this.sections) {
      const applies = figure.panels.some((p) => p.curves.some((c) => whenHolds(c.when, config)));
      section.hidden = known && !applies;
    }
    for (const c of this.charts) if (!c.card.closest("[hidden]")) c.update(docs, overlays);
  }

  /** Log states as "0:xy,1:y,2:-" (only panels whose state differs from the declaration). */
  viewText() {
    return this.charts
      .filter((c) => c.view.logx !== !!c.panel.x_log || c.view.logy !== !!c.panel.y_log)
      .map((c) => `${c.index}:${(c.view.logx ? "x" : "") + (c.view.logy ? "y" : "") || "-"}`)
      .join(",");
  }

  setViewText(text) {
    for (const part of String(text || "").split(",")) {
      const [i, flags] = part.split(":");
      const c = this.charts[Number(i)];
      if (!c || flags == null) continue;
      c.view.logx = flags.includes("x");
      c.view.logy = flags.includes("y");
      c.card.querySelector(".logx").checked = c.view.logx;
      c.card.querySelector(".logy").checked = c.view.logy;
    }
  }

  /** What is on screen, as one canvas: each panel's title, chart and legend where they are. */
  toCanvas() {
    const dpr = window.devicePixelRatio || 1;
    const box = this.root.getBoundingClientRect();
    const canvas = document.createElement("canvas");
    canvas.width = Math.ceil(box.width * dpr);
    canvas.height = Math.ceil(box.height * dpr);
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = cssVar("--bg", "#ffffff");
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    const at = (el) => {
      const r = el.getBoundingClientRect();
      return { x: (r.left - box.left) * dpr, y: (r.top - box.top) * dpr, w: r.width * dpr, h: r.height * dpr };
    };
    const text = (el, font, fill) => {
      const r = at(el);
      ctx.font = font.replace(/(\d+)px/, (m, n) => `${Number(n) * dpr}px`);
      ctx.fillStyle = fill;
      ctx.textBaseline = "top";
      ctx.fillText(el.textContent.trim(), r.x, r.y);
    };
    const ink = cssVar("--ink", "#0f172a");
    this.root.querySelectorAll(".fig-title").forEach((el) => text(el, "600 13px system-ui, sans-serif", ink));
    for (const c of this.charts) {
      const card = at(c.card);
      ctx.fillStyle = cssVar("--card", "#ffffff");
      ctx.fillRect(card.x, card.y, card.w, card.h);
      text(c.card.querySelector(".fig-cap"), "600 12px system-ui, sans-serif", ink);
      if (c.plot) {
        const src = c.plot.ctx.canvas;
        const r = at(src);
        ctx.drawImage(src, r.x, r.y, r.w, r.h);
      }
      c.legendEl.querySelectorAll(".lg").forEach((item) => {
        const r = at(item);
        const swatch = item.querySelector("i");
        if (swatch) {
          const s = at(swatch);
          const border = swatch.style.borderTop || "";
          ctx.strokeStyle = border.split(" ").slice(2).join(" ") || ink;
          ctx.lineWidth = 2 * dpr;
          ctx.setLineDash(border.includes("dashed") ? [5 * dpr, 3 * dpr] : border.includes("dotted") ? [2 * dpr, 2 * dpr] : []);
          ctx.beginPath();
          ctx.moveTo(s.x, s.y + s.h / 2);
          ctx.lineTo(s.x + s.w, s.y + s.h / 2);
          ctx.stroke();
          ctx.setLineDash([]);
        }
        ctx.font = `${11.5 * dpr}px system-ui, sans-serif`;
        ctx.fillStyle = ink;
        ctx.textBaseline = "middle";
        ctx.fillText(item.textContent.trim(), r.x + (swatch ? 23 * dpr : 0), r.y + r.h / 2);
      });
    }
    return canvas;
  }
}

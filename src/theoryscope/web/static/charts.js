// Charts on uPlot: tables with their own x are joined onto one x axis, decimated for drawing
// only (the page keeps every point), with vertical markers and a compact legend of our own.

/** Keep at most ~maxPts rows of a table [xs, ys0, ys1, ...]: min and max of ys0 per bucket. */
export function decimate(table, maxPts) {
  const xs = table[0];
  const n = xs.length;
  if (n <= maxPts) return table;
  const main = table[1];
  const buckets = Math.max(1, Math.floor(maxPts / 2));
  const size = n / buckets;
  const keep = [0];
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor(b * size);
    const hi = Math.min(n, Math.floor((b + 1) * size));
    let iMin = lo;
    let iMax = lo;
    for (let i = lo; i < hi; i++) {
      const v = main[i];
      if (v == null) continue;
      if (main[iMin] == null || v < main[iMin]) iMin = i;
      if (main[iMax] == null || v > main[iMax]) iMax = i;
    }
    if (iMin <= iMax) keep.push(iMin, iMax);
    else keep.push(iMax, iMin);
  }
  keep.push(n - 1);
  const idx = [...new Set(keep)].sort((a, b) => a - b);
  return table.map((col) => idx.map((i) => col[i]));
}

/** Drop rows whose x is not drawable (non-finite, or <= 0 on a log axis). */
export function dropBadX(table, logx, xmax) {
  const xs = table[0];
  const idx = [];
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (x == null || !Number.isFinite(x)) continue;
    if (logx && x <= 0) continue;
    if (xmax != null && x > xmax * (1 + 1e-9)) continue;
    idx.push(i);
  }
  if (idx.length === xs.length) return table;
  return table.map((col) => idx.map((i) => col[i]));
}

/**
 * Join tables with different x onto one sorted x (nulls where a table has no point).
 *
 * Every table keeps its columns, also one with no rows left (e.g. a live run whose only record so
 * far is step 0, dropped on a log x axis): the result has exactly 1 + the sum of the tables' y
 * columns, the series the chart was built with. Dropping such a table shifted every later column
 * onto the wrong series and left uPlot reading a missing one (a TypeError, a blank chart).
 */
export function joinTables(tables) {
  const all = tables.filter(Boolean);
  const live = all.filter((t) => t[0].length);
  if (!live.length) return null;
  const joined = live.length === 1 ? live[0] : window.uPlot.join(live);
  if (live.length === all.length) return joined;
  const n = joined[0].length;
  const out = [joined[0]];
  let next = 1;
  for (const t of all) {
    for (let c = 1; c < t.length; c++) out.push(t[0].length ? joined[next++] : new Array(n).fill(null));
  }
  return out;
}

/** Axis style from the page's CSS variables (light or dark theme). */
function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

function axisStyle() {
  const grid = cssVar("--grid", "rgba(15, 23, 42, 0.07)");
  return { stroke: cssVar("--ink2", "#475569"), grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1, size: 4 }, font: "11px system-ui, sans-serif", labelFont: "12px system-ui, sans-serif" };
}

function fmtTick(v) {
  if (v == null) return "";
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 1e5 || a < 1e-3) return v.toExponential(0).replace("e+", "e");
  return String(+v.toPrecision(3));
}

export function fmtValue(v) {
  if (v == null || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(3);
  return String(+v.toPrecision(4));
}

/**
 * A chart that rebuilds itself when its series or scales change and otherwise only swaps data.
 * spec: {key, series: [{label, stroke, width, dash}], legend: [{label, stroke, dash, series}],
 *        xLabel, yLabel, logx, ylog: 'log' | 'asinh' | null, xRange: [lo, hi] | null,
 *        markers: [{x, label, stroke, dash}]}
 */
export class Chart {
  constructor(el, legendEl) {
    this.el = el;
    this.legendEl = legendEl;
    this.plot = null;
    this.key = null;
    this.spec = null;
    new ResizeObserver(() => this.resize()).observe(el);
  }

  size() {
    const r = this.el.getBoundingClientRect();
    return { width: Math.max(200, Math.floor(r.width)), height: Math.max(180, Math.floor(r.height)) };
  }

  resize() {
    if (this.plot) this.plot.setSize(this.size());
  }

  update(spec, data) {
    this.spec = spec;
    if (!data) {
      const empty = [[], ...spec.series.map(() => [])];
      data = empty;
    }
    if (data.length !== spec.series.length + 1) {
      throw new Error(`chart data has ${data.length - 1} columns for ${spec.series.length} series`);
    }
    if (this.plot && this.key === spec.key) {
      this.plot.setData(data, true);
      this.renderLegend();
      return;
    }
    if (this.plot) this.plot.destroy();
    this.key = spec.key;
    const self = this;
    const yDistr = spec.ylog === "log" ? 3 : 1;
    const AXIS = axisStyle();
    const opts = {
      ...this.size(),
      pxAlign: false,
      scales: {
        x: {
          time: false,
          distr: spec.logx ? 3 : 1,
          range: (u, lo, hi) => {
            const r = self.spec.xRange;
            if (r && r[1] > r[0]) return [r[0], r[1]];
            if (lo == null || hi == null) return [spec.logx ? 1 : 0, spec.logx ? 10 : 1];
            return lo === hi ? [lo, lo + 1] : [lo, hi];
          },
        },
        y: {
          distr: yDistr,
          range: (u, lo, hi) => {
            if (lo == null || hi == null || !Number.isFinite(lo) || !Number.isFinite(hi)) {
              return spec.ylog === "log" ? [1e-3, 1] : [0, 1];
            }
            if (spec.ylog === "log") {
              const floor = self.spec.yMin != null ? self.spec.yMin : hi * (self.spec.yFloorRatio || 1e-6);
              const a = Math.max(lo, floor, 1e-300);
              const b = Math.max(hi, a * 10);
              return [10 ** Math.floor(Math.log10(a)), 10 ** Math.ceil(Math.log10(b))];
            }
            const pad = (hi - lo) * 0.06 || Math.abs(hi) * 0.1 || 1;
            return [Math.min(lo - pad, spec.yZero ? 0 : lo - pad), hi + pad];
          },
        },
      },
      axes: [
        { ...AXIS, label: spec.xLabel, values: (u, vals) => vals.map(fmtTick), size: 36, labelSize: 18 },
        { ...AXIS, label: spec.yLabel, values: (u, vals) => vals.map(fmtTick), size: 52, labelSize: 18 },
      ],
      series: [
        {},
        ...spec.series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          width: s.width ?? 1.5,
          dash: s.dash,
          spanGaps: true,
          points: { show: false },
          alpha: s.alpha ?? 1,
        })),
      ],
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: true }, points: { show: false } },
      hooks: {
        draw: [(u) => self.drawMarkers(u)],
        setCursor: [(u) => self.renderLegend(u.cursor.idx)],
      },
    };
    this.plot = new window.uPlot(opts, data, this.el);
    this.renderLegend();
  }

  drawMarkers(u) {
    const marks = this.spec.markers || [];
    if (!marks.length) return;
    const ctx = u.ctx;
    const dpr = window.devicePixelRatio || 1;
    const { left, top, width, height } = u.bbox;
    ctx.save();
    ctx.font = `${11 * dpr}px system-ui, sans-serif`;
    const rows = [];
    marks.forEach((m) => {
      if (m.x == null || !Number.isFinite(m.x)) return;
      if (this.spec.logx && m.x <= 0) return;
      const x = u.valToPos(m.x, "x", true);
      if (x < left - 1 || x > left + width + 1) return;
      ctx.strokeStyle = m.stroke;
      ctx.lineWidth = 1.25 * dpr;
      ctx.setLineDash((m.dash || []).map((v) => v * dpr));
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
      // a label only where it has room (two rows at most); the legend names every line kind
      const textW = ctx.measureText(m.label).width;
      const tx = x + textW + 8 * dpr > left + width ? x - textW - 4 * dpr : x + 4 * dpr;
      const span = [tx - 3 * dpr, tx + textW + 3 * dpr];
      let row = 0;
      while (row < 2 && rows[row] && rows[row].some(([a, b]) => span[0] < b && span[1] > a)) row++;
      if (row >= 2) return;
      rows[row] = rows[row] || [];
      rows[row].push(span);
      const ty = top + (14 + row * 14) * dpr;
      ctx.fillStyle = cssVar("--card", "#ffffff");
      ctx.fillRect(tx - 2 * dpr, ty - 10 * dpr, textW + 4 * dpr, 13 * dpr);
      ctx.fillStyle = m.stroke;
      ctx.fillText(m.label, tx, ty);
    });
    ctx.restore();
  }

  renderLegend(idx) {
    if (!this.legendEl || !this.spec) return;
    const spec = this.spec;
    const data = this.plot ? this.plot.data : null;
    const items = (spec.legend || []).map((item) => {
      let value = "";
      if (idx != null && data && item.series != null && item.series.length === 1) {
        value = fmtValue(data[item.series[0] + 1]?.[idx]);
      }
      const dash = item.dash === "dotted" ? "dotted" : item.dash ? "dashed" : "solid";
      return `<span class="lg" title="${item.title || item.label}"><i style="border-top:2px ${dash} ${item.stroke}"></i>${item.label}${value ? ` <b>${value}</b>` : ""}</span>`;
    });
    if (idx != null && data && data[0][idx] != null) {
      items.unshift(`<span class="lg lg-x">${spec.xLabel} = <b>${fmtValue(data[0][idx])}</b></span>`);
    }
    const html = items.join("");
    if (this.legendEl._html !== html) {
      this.legendEl.innerHTML = html;
      this.legendEl._html = html;
    }
  }
}

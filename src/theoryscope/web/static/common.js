// Helpers shared by the derived pages (landing, experiment, sweeps): the JSON API, KaTeX,
// number formatting and the Okabe-Ito palette (plots/render.py uses the same one, same order).

export const $ = (id) => document.getElementById(id);

/** Okabe & Ito (2008), "Color Universal Design": the palette of plots/render.py, same order. */
export const OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"];

export function darkMode() {
  return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
}

/** The k-th palette colour; on a dark background black becomes light grey. */
export function color(k) {
  const c = OKABE_ITO[((k % OKABE_ITO.length) + OKABE_ITO.length) % OKABE_ITO.length];
  return c === "#000000" && darkMode() ? "#d4d4d4" : c;
}

/** A CSS variable of the page (so charts follow the light or dark theme). */
export function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.field = body ? body.field : undefined;
  }
}

export async function api(method, url, body, signal) {
  const init = { method, headers: {}, signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(url, init);
  let data = null;
  try {
    data = await res.json();
  } catch (err) {
    data = null;
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export function escapeHtml(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** 4 significant digits; exponent notation for very large or small numbers; a dash for none. */
export function fmt(v, digits = 4) {
  if (v == null || (typeof v === "number" && !Number.isFinite(v))) return "—";
  if (typeof v !== "number") return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(digits - 1);
  return String(+v.toPrecision(digits));
}

/** "12s", "3m07s", "1h05m" for an ETA in seconds. */
export function fmtSeconds(s) {
  if (s == null || !Number.isFinite(s)) return "—";
  if (s < 10) return `${s.toFixed(1)}s`;
  const w = Math.round(s);
  const h = Math.floor(w / 3600);
  const m = Math.floor((w % 3600) / 60);
  const sec = w % 60;
  if (h) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m) return `${m}m${String(sec).padStart(2, "0")}s`;
  return `${sec}s`;
}

/** Typeset TeX into el (display or inline); the source text when KaTeX is missing or fails. */
export function tex(el, source, display = false) {
  if (!el) return;
  if (!window.katex) {
    el.textContent = source;
    return;
  }
  try {
    window.katex.render(source, el, { displayMode: display, throwOnError: false, strict: "ignore" });
  } catch (err) {
    el.textContent = source;
  }
}

let toastTimer = null;
export function toast(text) {
  let el = $("toast");
  if (!el) {
    el = document.createElement("div");
    el.id = "toast";
    el.className = "toast";
    el.setAttribute("role", "status");
    document.body.appendChild(el);
  }
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 2600);
}

/** The page's missing-assets banner (KaTeX and uPlot come from npm via install_web_assets.sh). */
export async function checkAssets() {
  if (window.katex && window.uPlot) return;
  try {
    const health = await api("GET", "/api/health");
    const banner = $("assets-banner");
    if (banner && health.assets_hint) {
      banner.textContent = health.assets_hint;
      banner.hidden = false;
    }
  } catch (err) {
    /* the page still works without formulas */
  }
}

/** Download a Blob under a file name (used for the on-screen PNG). */
export function downloadBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 5000);
}

// A form built from declared fields (GET /api/experiments/{name} -> fields): one control per
// field, grouped by `group`, `advanced` ones folded, `modes` hiding fields that do not apply.
// Values stay as the user typed them (text): the server validates them with the CLI's rules and
// answers {error, field}, which is shown beside that field.
import { escapeHtml, tex } from "./common.js";

const GROUP = "settings";

/** The text a value shows in a text box ("1,4,16" for a list). */
export function textOf(value) {
  if (value == null) return "";
  if (Array.isArray(value)) return value.map(textOf).join(",");
  if (typeof value === "number") return String(+value.toPrecision(12));
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function tooltip(f) {
  const parts = [f.help || f.name];
  if (f.allowed) parts.push(`allowed: ${f.allowed}`);
  if (f.web_max != null) parts.push(`this server: at most ${f.web_max}`);
  if (f.follows_seed) parts.push("empty: follows the run seed");
  if (f.cite) parts.push(`source: ${f.cite}`);
  return parts.join("\n");
}

function positive(v) {
  return v != null && Number.isFinite(v) && v > 0 ? v : null;
}

/** Slider ends for a (log-)slider: declared bounds, this server's cap, else around the default. */
function sliderRange(f, log) {
  const d = typeof f.default === "number" ? f.default : 1;
  const highs = [f.le, f.lt, f.cap, f.web_max].filter((v) => v != null && Number.isFinite(v));
  let hi = highs.length ? Math.min(...highs) : null;
  let lo = log ? positive(f.ge) ?? positive(f.gt) : f.ge ?? f.gt ?? null;
  if (log) {
    const ref = positive(d) ?? 1;
    if (lo == null) lo = ref / 1000;
    if (hi == null || hi / ref > 1e4) hi = Math.max(ref * 1000, lo * 10);
  } else {
    if (lo == null) lo = Math.min(0, d);
    if (hi == null) hi = Math.max(d * 2, lo + 1);
  }
  return [lo, hi];
}

export class FieldForm {
  /**
   * fields: declared fields; root: the element to fill; opts: {idPrefix, onChange(values)}.
   */
  constructor(root, fields, opts = {}) {
    this.root = root;
    this.fields = fields;
    this.prefix = opts.idPrefix || "f";
    this.testPrefix = opts.testPrefix || ""; // data-testid: `${testPrefix}field-${name}`
    this.onChange = opts.onChange || (() => {});
    this.controls = new Map(); // name -> {field, el, input, slider, err}
    this.build();
  }

  id(name) {
    return `${this.prefix}-${name}`;
  }

  build() {
    const groups = new Map();
    for (const f of this.fields) {
      const g = f.group || GROUP;
      if (!groups.has(g)) groups.set(g, { plain: [], advanced: [] });
      groups.get(g)[f.advanced ? "advanced" : "plain"].push(f);
    }
    this.root.innerHTML = "";
    for (const [name, g] of groups) {
      const box = document.createElement("fieldset");
      box.className = "fgroup";
      box.dataset.group = name;
      box.innerHTML = `<legend>${escapeHtml(name)}</legend>`;
      g.plain.forEach((f) => box.appendChild(this.control(f)));
      if (g.advanced.length) {
        const more = document.createElement("details");
        more.className = "fadvanced";
        more.innerHTML = `<summary>advanced (${g.advanced.length})</summary>`;
        g.advanced.forEach((f) => more.appendChild(this.control(f)));
        box.appendChild(more);
      }
      this.root.appendChild(box);
    }
    this.updateModes();
  }

  control(f) {
    const wrap = document.createElement("div");
    wrap.className = "ffield";
    wrap.dataset.field = f.name;
    const id = this.id(f.name);
    const tip = tooltip(f);
    const symbol = f.tex ? `<span class="fsym" data-tex="${escapeHtml(f.tex)}"></span>` : "";
    const unit = f.unit ? ` <span class="funit">[${escapeHtml(f.unit)}]</span>` : "";
    wrap.innerHTML = `<div class="fhead"><label for="${id}" title="${escapeHtml(tip)}">${symbol}<span class="fname">${escapeHtml(f.name)}</span>${unit}</label><span class="finfo" tabindex="0" role="img" aria-label="${escapeHtml(tip)}" title="${escapeHtml(tip)}">?</span></div>`;
    const row = document.createElement("div");
    row.className = "frow";
    let input;
    let slider = null;
    if (f.kind === "bool") {
      input = document.createElement("input");
      input.type = "checkbox";
      input.checked = !!f.default;
      wrap.classList.add("fbool");
    } else if (f.kind === "choice") {
      input = document.createElement("select");
      f.choices.forEach((c, i) => {
        const o = document.createElement("option");
        o.value = String(i);
        o.textContent = String(c);
        input.appendChild(o);
      });
      const at = f.choices.findIndex((c) => c === f.default);
      input.value = String(Math.max(0, at));
    } else {
      input = document.createElement("input");
      input.type = "text";
      input.spellcheck = false;
      input.autocomplete = "off";
      if (f.kind === "int" || f.kind === "float") input.inputMode = "decimal";
      input.value = f.follows_seed ? "" : textOf(f.default);
      if (f.follows_seed) input.placeholder = "seed";
      else if (f.default == null) input.placeholder = f.optional ? "none" : "auto";
      if (f.kind.endsWith("_list")) input.placeholder = "e.g. 1,2,3";
      if ((f.widget === "log-slider" || f.widget === "slider") && (f.kind === "int" || f.kind === "float")) {
        slider = document.createElement("input");
        slider.type = "range";
        slider.min = "0";
        slider.max = "1000";
        slider.step = "1";
        slider.className = "fslider";
        slider.setAttribute("aria-label", `${f.name} slider`);
        slider.setAttribute("data-testid", `${this.testPrefix}slider-${f.name}`);
        row.appendChild(slider);
        input.classList.add("fnum");
      }
    }
    input.id = id;
    input.name = f.name;
    input.title = tip;
    input.setAttribute("data-testid", `${this.testPrefix}field-${f.name}`);
    row.appendChild(input);
    wrap.appendChild(row);
    const err = document.createElement("div");
    err.className = "ferr";
    err.id = `${id}-error`;
    err.setAttribute("role", "alert");
    err.setAttribute("data-testid", `${this.testPrefix}error-${f.name}`);
    err.hidden = true;
    wrap.appendChild(err);
    input.setAttribute("aria-describedby", err.id);
    const c = { field: f, el: wrap, input, slider, err };
    this.controls.set(f.name, c);
    if (slider) this.syncSlider(c);
    const changed = () => {
      if (slider) this.syncSlider(c);
      if (f.name === "mode") this.updateModes();
      this.onChange(this.values());
    };
    input.addEventListener(f.kind === "bool" || f.kind === "choice" ? "change" : "input", changed);
    if (slider) {
      slider.addEventListener("input", () => {
        input.value = this.sliderValue(c);
        input.classList.remove("invalid");
        this.onChange(this.values());
      });
    }
    wrap.querySelectorAll("[data-tex]").forEach((el) => tex(el, el.dataset.tex, false));
    return wrap;
  }

  sliderValue(c) {
    const f = c.field;
    const log = f.widget === "log-slider";
    const [lo, hi] = sliderRange(f, log);
    const t = Number(c.slider.value) / 1000;
    let v = log ? Math.exp(Math.log(lo) + t * (Math.log(hi) - Math.log(lo))) : lo + t * (hi - lo);
    if (f.kind === "int") return String(Math.round(v));
    v = +v.toPrecision(3);
    return String(v);
  }

  syncSlider(c) {
    const f = c.field;
    const v = Number(c.input.value);
    if (!c.input.value.trim() || !Number.isFinite(v)) return;
    const log = f.widget === "log-slider";
    const [lo, hi] = sliderRange(f, log);
    let t;
    if (log) t = v > 0 ? (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) : 0;
    else t = (v - lo) / (hi - lo);
    c.slider.value = String(Math.round(1000 * Math.min(1, Math.max(0, t))));
  }

  /** Hide fields whose declared `modes` do not include the current mode. */
  updateModes() {
    const mode = this.controls.get("mode");
    const current = mode ? String(mode.field.choices[Number(mode.input.value)]) : null;
    for (const c of this.controls.values()) {
      const modes = c.field.modes;
      c.el.hidden = !!(modes && current != null && !modes.map(String).includes(current));
    }
  }

  /** The form as a config dict for the server (text as typed; see the module comment). */
  values() {
    const out = {};
    for (const [name, c] of this.controls) {
      const f = c.field;
      if (f.kind === "bool") out[name] = c.input.checked;
      else if (f.kind === "choice") out[name] = f.choices[Number(c.input.value)];
      else {
        const text = c.input.value.trim();
        if (text === "") {
          // empty: the seed for fields that follow it, the config's own (mode-dependent)
          // default for fields declared without one, none for optional fields
          if (f.follows_seed || f.default == null) continue;
          out[name] = f.optional ? null : "";
        } else if (f.kind === "custom") {
          try {
            out[name] = JSON.parse(text);
          } catch (err) {
            out[name] = text;
          }
        } else out[name] = text;
      }
    }
    return out;
  }

  /** The form's text per field (what a share link keeps). */
  texts() {
    const out = {};
    for (const [name, c] of this.controls) {
      const f = c.field;
      if (f.kind === "bool") out[name] = c.input.checked ? "true" : "false";
      else if (f.kind === "choice") out[name] = String(f.choices[Number(c.input.value)]);
      else out[name] = c.input.value;
    }
    return out;
  }

  /** Set fields from values (a config dict, or texts); others keep their state. */
  set(values) {
    for (const [name, v] of Object.entries(values || {})) {
      const c = this.controls.get(name);
      if (!c) continue;
      const f = c.field;
      if (f.kind === "bool") c.input.checked = v === true || v === "true" || v === "1";
      else if (f.kind === "choice") {
        const at = f.choices.findIndex((ch) => String(ch) === String(v));
        if (at >= 0) c.input.value = String(at);
      } else c.input.value = typeof v === "string" ? v : textOf(v);
      if (c.slider) this.syncSlider(c);
    }
    this.updateModes();
  }

  /** Every field back to its declared default. */
  reset() {
    const defaults = {};
    for (const f of this.fields) defaults[f.name] = f.follows_seed ? "" : f.default;
    this.set(defaults);
  }

  defaultsText() {
    const out = {};
    for (const f of this.fields) {
      if (f.kind === "bool") out[f.name] = f.default ? "true" : "false";
      else if (f.kind === "choice") out[f.name] = String(f.default);
      else out[f.name] = f.follows_seed ? "" : textOf(f.default);
    }
    return out;
  }

  setError(field, message) {
    this.clearErrors();
    const names = String(field || "").split(/,\s*/).filter((n) => this.controls.has(n));
    names.forEach((n, i) => {
      const c = this.controls.get(n);
      c.input.classList.add("invalid");
      c.input.setAttribute("aria-invalid", "true");
      if (i === 0) {
        c.err.textContent = message;
        c.err.hidden = false;
      }
      const adv = c.el.closest("details");
      if (adv) adv.open = true;
    });
    return names.length > 0;
  }

  clearErrors() {
    for (const c of this.controls.values()) {
      c.input.classList.remove("invalid");
      c.input.removeAttribute("aria-invalid");
      c.err.hidden = true;
      c.err.textContent = "";
    }
  }

  disable(on) {
    for (const c of this.controls.values()) {
      c.input.disabled = on;
      if (c.slider) c.slider.disabled = on;
    }
  }
}

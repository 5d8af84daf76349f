// The page's formulas (spec expander-nets.md sections 1-3 and 6), typeset with KaTeX.
// Static ones are looked up by data-tex; the dynamic ones are built from the config.

export const TEX = {
  net: String.raw`\hat{f}(\mathbf{x}) = \mathbf{W}_2 \, \sigma \circ \mathbf{W}_{\mathrm{froz}} \, \mathbf{W}_1 \, \mathbf{x}`,
  shapes: String.raw`\mathbf{W}_2 \in \mathbb{R}^{1 \times k},\ \mathbf{W}_{\mathrm{froz}} \in \mathbb{R}^{k \times d},\ \mathbf{W}_1 \in \mathbb{R}^{d \times d},\ \mathbf{x} \in \mathbb{R}^d`,
  data: String.raw`\mathbf{x} \sim \mathcal{N}(0, \mathbf{\Gamma})`,
  cov: String.raw`\mathbf{\Gamma} = \mathrm{diag}(\gamma_1, \dots, \gamma_d)`,
  loss: String.raw`\mathcal{L} = \frac{1}{2} \mathbb{E}_\mathbf{x}\left[(f_*(\mathbf{x}) - \hat{f}(\mathbf{x}))^2\right]`,
  init: String.raw`\begin{aligned} \mathbf{W}_1(0) &= \mathbf{I}_d \\ \mathbf{W}_{\mathrm{froz},ij} &\sim \mathcal{N}(0, 1) \\ \mathbf{W}_2(0) &= \mathbf{0} \end{aligned}`,
  odedyn: String.raw`\dot{a}_i = -\partial_{a_i} \mathcal{L}, \qquad \dot{b}_j = -\partial_{b_j} \mathcal{L}`,
  cj: String.raw`c_j = \sqrt{\textstyle\prod_i \gamma_i^{\alpha_{ji}}}`,
  drel: String.raw`d_{\mathrm{rel}} = \#\{i : \alpha_i > 0\}`,
  ell: String.raw`|\boldsymbol{\alpha}| = \textstyle\sum_i \alpha_i, \quad \ell = |\boldsymbol{\alpha}| + 1`,
  kappa: String.raw`\kappa = \textstyle\prod_{\alpha_i > 0} \alpha_i^{\alpha_i / 2}`,
  beta: String.raw`\beta = \frac{1}{d_{\mathrm{rel}} + 1}\Big(\sum_{\alpha_i > 0} \frac{|a_i(0)|}{\sqrt{\alpha_i}} + |b(0)|\Big)`,
  shape: String.raw`r_i = \frac{a_i(0)^2}{\alpha_i \beta^2}, \quad r_b = \frac{b(0)^2}{\beta^2}`,
  F: String.raw`F(\mathbf{r}) = \left(\tfrac{\ell}{2} - 1\right) \int_0^\infty (s + r_b)^{-1/2} \prod_{\alpha_i > 0} (s + r_i)^{-\alpha_i/2} \, ds`,
  trise: String.raw`t_{\mathrm{rise}} = \begin{cases} c^{-2} & \ell = 1 \\ -\dfrac{1}{\kappa c} \ln\!\big(\sqrt{\kappa c}\, \beta\big) & \ell = 2 \\ \dfrac{F(\mathbf{r})}{(\ell - 2)\, \kappa\, c\, \beta^{\ell - 2}} & \ell > 2 \end{cases}`,
};

export const SIGMA = {
  sqrt2cos: String.raw`\sigma(z) = \sqrt{2} \cos\left(z + \frac{\pi}{4}\right)`,
  relu: String.raw`\sigma(z) = \max(0, z)`,
  tanh: String.raw`\sigma(z) = \tanh z`,
  erf: String.raw`\sigma(z) = \operatorname{erf} z`,
};

export function dynamicsTex(mode) {
  if (mode === "flow") {
    return String.raw`\begin{aligned} \dot{\mathbf{W}}_1 &= -\nabla_{\mathbf{W}_1} \mathcal{L} \\ \dot{\mathbf{W}}_{\mathrm{froz}} &= \mathbf{0} \\ \dot{\mathbf{W}}_2 &= -\frac{1}{k}\nabla_{\mathbf{W}_2} \mathcal{L} \end{aligned} \quad \text{(exact population flow)}`;
  }
  const L = mode === "gd" ? String.raw`\mathcal{L}` : String.raw`\mathcal{L}_B`;
  const note = mode === "gd"
    ? String.raw`\text{full-batch GD on the exact } \mathcal{L}`
    : String.raw`\mathcal{L}_B = \tfrac{1}{2|B|}\textstyle\sum_{b \in B} (f_*(\mathbf{x}_b) - \hat{f}(\mathbf{x}_b))^2,\ \text{a fresh batch every step}`;
  return String.raw`\begin{aligned} \mathbf{W}_1 &\leftarrow \mathbf{W}_1 - \eta\, \nabla_{\mathbf{W}_1} ${L} \\ \mathbf{W}_2 &\leftarrow \mathbf{W}_2 - \frac{\eta}{k} \nabla_{\mathbf{W}_2} ${L} \\ &${note} \end{aligned}`;
}

function coefTex(coef, first) {
  const c = Number(coef);
  const sign = c < 0 ? "-" : first ? "" : "+";
  const mag = Math.abs(c);
  const num = mag === 1 ? "" : `${fmtNum(mag)}\\,`;
  return `${sign} ${num}`;
}

function fmtNum(v) {
  return String(+Number(v).toPrecision(4));
}

/** f_*(x) = sum_j coef_j prod_i h_{alpha_ji}(gamma_i^{-1/2} x_i), general and for this config. */
export function targetTex(terms) {
  const general = terms.length === 1
    ? String.raw`f_*(\mathbf{x}) &= h_{\boldsymbol{\alpha}}\left(\mathbf{\Gamma}^{-1/2} \mathbf{x}\right)`
    : String.raw`f_*(\mathbf{x}) &= \textstyle\sum_{j=1}^{${terms.length}} y_j\, h_{\boldsymbol{\alpha}_j}\left(\mathbf{\Gamma}^{-1/2} \mathbf{x}\right)`;
  const parts = terms.map((t, j) => {
    const factors = t.alpha
      .map((a, i) => (a > 0 ? String.raw`h_{${a}}(\gamma_{${i + 1}}^{-1/2} x_{${i + 1}})` : ""))
      .filter(Boolean);
    const body = factors.length ? factors.join(String.raw` \cdot `) : "1";
    const coef = terms.length === 1 && Number(t.coef) === 1 ? "" : coefTex(t.coef, j === 0);
    return coef + body;
  });
  const lines = [];
  for (let j = 0; j < parts.length; j += 2) lines.push(parts.slice(j, j + 2).join(" "));
  const instance = lines.map((l, n) => (n === 0 ? `&= ${l}` : `&\\quad ${l}`)).join(String.raw` \\ `);
  return String.raw`\begin{aligned} ${general} \\ ${instance} \end{aligned}`;
}

/** The modeling ODE's loss for these terms (spec 6). */
export function odeTex(terms) {
  const general = String.raw`\mathcal{L}(\mathbf{a}, \mathbf{b}) = \sum_j \tfrac{1}{2}\Big(y_j - c_j \prod_i a_i^{\alpha_{ji}}\, b_j\Big)^2`;
  const inst = terms.map((t, j) => {
    const factors = t.alpha.map((a, i) => (a > 0 ? (a === 1 ? `a_{${i + 1}}` : `a_{${i + 1}}^{${a}}`) : "")).filter(Boolean);
    const y = fmtNum(t.coef);
    const sub = terms.length > 1 ? `_{${j + 1}}` : "";
    return String.raw`\tfrac{1}{2}\big(${y} - c${sub}\, ${factors.join(" ")}\, b${sub}\big)^2`;
  });
  return String.raw`\begin{aligned} &${general} \\ &= ${inst.join(" + ")} \end{aligned}`;
}

export function odeInitTex(b0) {
  return String.raw`a_i(0) = 1, \qquad b_j(0) = b_0 = ${texNumber(b0)}`;
}

export function texNumber(v) {
  const x = Number(v);
  if (x === 0) return "0";
  const e = Math.floor(Math.log10(Math.abs(x)));
  const m = x / 10 ** e;
  if (Math.abs(e) < 3) return fmtNum(x);
  return Math.abs(m - 1) < 1e-9 ? `10^{${e}}` : `${fmtNum(m)} \\times 10^{${e}}`;
}

export function render(el, tex, display = true) {
  if (!el) return;
  if (!window.katex) {
    el.textContent = tex;
    return;
  }
  try {
    window.katex.render(tex, el, { displayMode: display, throwOnError: false, strict: "ignore" });
  } catch (err) {
    el.textContent = tex;
  }
}

export function renderStatic(root = document) {
  root.querySelectorAll("[data-tex]").forEach((el) => render(el, TEX[el.dataset.tex], true));
  root.querySelectorAll("[data-tex-inline]").forEach((el) => render(el, el.dataset.texInline, false));
}

// The landing page: every experiment as a card (GET /api/experiments), flagship first.
import { $, api, escapeHtml } from "./common.js";

function card(e, first) {
  const el = document.createElement("article");
  el.className = `card xcard${first ? " flagship" : ""}${e.page_url ? "" : " undeclared"}`;
  el.setAttribute("data-testid", `card-${e.name}`);
  const title = e.page_url
    ? `<a href="${escapeHtml(e.page_url)}" data-testid="link-${escapeHtml(e.name)}">${escapeHtml(e.title)}</a>`
    : escapeHtml(e.title);
  const thumb = e.thumbnail_url
    ? `<a href="${escapeHtml(e.page_url || "#")}" tabindex="-1" aria-hidden="true"><img src="${escapeHtml(e.thumbnail_url)}" alt="" loading="lazy" data-testid="thumb-${escapeHtml(e.name)}"></a>`
    : `<div class="thumb-none small">${e.declared ? "no figure declared" : "not yet declared"}</div>`;
  const studies = e.studies.length
    ? `<div class="small muted">studies</div><ul class="small">${e.studies.map((s) => `<li title="${escapeHtml(s.summary)}">${escapeHtml(s.title)}</li>`).join("")}</ul>`
    : "";
  const state = e.page_url ? "" : `<p class="small muted">not yet declared: no web page yet (the CLI has it)</p>`;
  el.innerHTML = `<h2>${title}</h2>${thumb}<p class="summary">${escapeHtml(e.summary || "")}</p>${studies}${state}${e.cite ? `<p class="small muted">source: ${escapeHtml(e.cite)}</p>` : ""}`;
  const img = el.querySelector("img");
  if (img) {
    // a theory too slow for the server's budget: a note instead of a broken image
    img.addEventListener("error", () => {
      const note = document.createElement("div");
      note.className = "thumb-none small";
      note.textContent = "no preview";
      img.closest("a").replaceWith(note);
    });
  }
  return el;
}

async function main() {
  let res;
  try {
    res = await api("GET", "/api/experiments");
  } catch (err) {
    $("error").textContent = err.message;
    $("error").hidden = false;
    document.body.dataset.ready = "1";
    return;
  }
  const root = $("cards");
  res.forEach((e, i) => root.appendChild(card(e, i === 0)));
  window.experiments = res;
  document.body.dataset.ready = "1";
}

main();

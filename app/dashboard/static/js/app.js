// The single page: a hash router that renders one view at a time into <main>.

import { renderCompare } from "./compare.js";
import { renderSearch } from "./search.js";
import { renderSearches } from "./searches.js";
import { renderTrial } from "./trial.js";
import { renderWorkers } from "./workers.js";
import { esc } from "./format.js";

const routes = [
  [/^#\/searches$/, () => renderSearches],
  [/^#\/search\/(\d+)$/, (m) => (view) => renderSearch(view, Number(m[1]))],
  [/^#\/trial\/(\d+)$/, (m) => (view) => renderTrial(view, Number(m[1]))],
  [/^#\/compare(?:\?ids=([\d,]*))?$/, (m) => (view) => renderCompare(view, (m[1] ?? "").split(",").filter(Boolean).map(Number))],
  [/^#\/workers$/, () => renderWorkers],
];

let stopCurrent = null;

async function route() {
  if (stopCurrent) stopCurrent();
  stopCurrent = null;
  const hash = location.hash || "#/searches";
  delete document.body.dataset.rendered;
  delete document.body.dataset.complete;  // set again by the view once its plots are drawn
  const view = document.getElementById("view");
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.classList.toggle("active", hash.startsWith(`#/${link.dataset.nav}`)
      || (link.dataset.nav === "searches" && /^#\/(search|trial)\//.test(hash)));
  }
  for (const [pattern, make] of routes) {
    const match = hash.match(pattern);
    if (!match) continue;
    view.innerHTML = "";
    try {
      stopCurrent = await make(match)(view);
    } catch (error) {
      view.innerHTML = `<div class="panel"><h1>Could not load this page</h1><p class="error">${esc(error.message)}</p></div>`;
    }
    return;
  }
  view.innerHTML = `<div class="panel"><h1>Not found</h1><p><a href="#/searches">All searches</a></p></div>`;
}

window.addEventListener("hashchange", route);
route();

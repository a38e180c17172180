// The single page: a hash router that renders one view at a time into <main>.

import { ApiError, apiKey, download } from "./api.js";
import { renderCompare } from "./compare.js";
import { renderKey } from "./key.js";
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
  [/^#\/key$/, () => renderKey],
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
      if (error instanceof ApiError && error.status === 401) {
        // No key, or one that was revoked: ask for one, then show the page that was asked for (reading
        // afresh: index.html's first reads went without the key).
        window.caviarPrefetched?.clear();
        renderKey(view, { reason: error.message, onSaved: route });
        return;
      }
      view.innerHTML = `<div class="panel"><h1>Could not load this page</h1><p class="error">${esc(error.message)}</p></div>`;
    }
    return;
  }
  view.innerHTML = `<div class="panel"><h1>Not found</h1><p><a href="#/searches">All searches</a></p></div>`;
}

// Download links (the trials CSV) go through fetch when a key is stored: a plain link cannot send it.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[download]");
  if (!link || !apiKey() || !link.getAttribute("href").startsWith("/")) return;
  event.preventDefault();
  download(link.getAttribute("href")).catch((error) => alert(`Download failed: ${error.message}`));
});

window.addEventListener("hashchange", route);
route();

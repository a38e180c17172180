// A search's trials as a table: sorted by the server (any column or final metric), filtered by state,
// paged with the API's cursor ("Load more").

import { getJson, query } from "./api.js";
import { duration, esc, fmt, stateBadge } from "./format.js";

const STATES = ["queued", "running", "paused", "completed", "pruned", "failed", "cancelled"];
const PAGE = 100;

export class TrialTable {
  constructor(element, search) {
    this.element = element;
    this.search = search;
    this.sort = "number";
    this.state = "";
    this.shown = PAGE;
    element.innerHTML = `
      <div class="toolbar">
        <label class="field">State <select id="trial-state"><option value="">any</option>
          ${STATES.map((s) => `<option>${s}</option>`).join("")}</select></label>
        <span class="spacer"></span><span class="muted" id="trial-count"></span>
        <a id="trial-csv" href="/searches/${search.id}/trials.csv" download>Download CSV</a>
      </div>
      <div class="table-wrap"><table id="trials"><thead></thead><tbody></tbody></table></div>
      <div class="pager"><button id="trial-more" hidden>Load more</button></div>`;
    element.querySelector("#trial-state").addEventListener("change", (event) => {
      this.state = event.target.value;
      this.shown = PAGE;
      element.querySelector("#trial-csv").href = `/searches/${search.id}/trials.csv${query({ state: this.state })}`;
      this.reload();
    });
    element.querySelector("thead").addEventListener("click", (event) => {
      const field = event.target.closest("th[data-sort]")?.dataset.sort;
      if (!field) return;
      // A metric is most often wanted best first; a second click flips it.
      this.sort = this.sort === `-${field}` ? field : `-${field}`;
      this.shown = PAGE;
      this.reload();
    });
    element.querySelector("tbody").addEventListener("click", (event) => {
      const id = event.target.closest("tr[data-id]")?.dataset.id;
      if (id) location.hash = `#/trial/${id}`;
    });
    element.querySelector("#trial-more").addEventListener("click", () => { this.shown += PAGE; this.reload(); });
  }

  // Reads as many pages as are shown, so a live refresh keeps what "Load more" opened.
  async reload() {
    const items = [];
    let cursor = null;
    do {
      const page = await getJson(`/searches/${this.search.id}/trials${query({
        sort: this.sort, state: this.state, cursor, limit: Math.min(500, this.shown - items.length),
      })}`);
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor && items.length < this.shown);
    this.render(items, Boolean(cursor));
  }

  render(items, more) {
    const metrics = [...new Set(items.flatMap((t) => Object.keys(t.metrics ?? {})))].sort();
    const primary = this.search.metric;
    const metricColumns = [primary, ...metrics.filter((m) => m !== primary)];
    const params = Object.keys(items[0]?.params ?? {}).filter(
      (name) => new Set(items.map((t) => JSON.stringify(t.params[name]))).size > 1 || items.length < 2,
    );
    const arrow = (field) => (this.sort === field ? " ▲" : this.sort === `-${field}` ? " ▼" : "");
    const th = (field, label, cls = "") =>
      `<th class="sortable ${cls}" data-sort="${esc(field)}" aria-sort="${this.sort === field ? "ascending"
        : this.sort === `-${field}` ? "descending" : "none"}">${esc(label)}${arrow(field)}</th>`;
    this.element.querySelector("thead").innerHTML = `<tr>${th("number", "#", "num")}<th>state</th>
      ${metricColumns.map((m) => th(m, m, "num")).join("")}<th class="num">round</th>
      ${params.map((p) => `<th>${esc(p)}</th>`).join("")}${th("attempt", "attempt", "num")}<th class="num">time</th></tr>`;
    this.element.querySelector("tbody").innerHTML = items.map((t) => `
      <tr class="link" data-id="${t.id}" data-state="${esc(t.state)}">
        <td class="num">${t.number}</td><td>${stateBadge(t.state)}</td>
        ${metricColumns.map((m) => `<td class="num">${fmt(m === primary ? (t.metrics?.[m] ?? t.value) : t.metrics?.[m])}</td>`).join("")}
        <td class="num">${t.round ?? "-"}</td>
        ${params.map((p) => `<td>${esc(fmt(t.params[p]))}</td>`).join("")}
        <td class="num">${t.attempt}</td><td class="num">${duration(t.started_at, t.finished_at)}</td>
      </tr>`).join("") || `<tr><td class="muted" colspan="4">No trial matches.</td></tr>`;
    this.element.querySelector("#trial-more").hidden = !more;
    this.element.querySelector("#trial-count").textContent = `${items.length}${more ? "+" : ""} shown`;
  }
}

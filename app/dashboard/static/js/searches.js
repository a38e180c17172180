// Searches: every search with state, progress, best value; filters, sorting and pages; polled live.

import { getJson, query } from "./api.js";
import { age, esc, fmt, progressBar, stateBadge } from "./format.js";
import { poll } from "./live.js";

const PAGE = 25;
const STATES = ["running", "completed", "cancelled", "failed"];
const COLUMNS = [
  ["id", "#", "id"], ["name", "Name", "name"], ["state", "State"], ["progress", "Progress"],
  ["best", "Best so far"], ["objective", "Objective"], ["dataset", "Dataset"], ["strategy", "Strategy"],
  ["age", "Created", "created_at"],
];

export async function renderSearches(view) {
  const filters = { state: "", objective: "", name: "", sort: "-id", offset: 0 };
  view.innerHTML = `
    <h1>Searches</h1>
    <div class="subtitle">Every search, newest first. Click one to see its trials and plots.</div>
    <div class="panel">
      <form class="toolbar" id="filters" role="search">
        <label class="field">State
          <select name="state" id="filter-state"><option value="">any</option>
            ${STATES.map((s) => `<option>${s}</option>`).join("")}</select></label>
        <label class="field">Objective <input name="objective" id="filter-objective" size="12"></label>
        <label class="field">Name contains <input name="name" id="filter-name" size="20"></label>
        <span class="spacer"></span>
        <span class="muted" id="total"></span>
      </form>
      <div class="table-wrap"><table id="searches-table">
        <thead><tr>${COLUMNS.map(([key, label, sort]) =>
          `<th data-key="${key}" ${sort ? `class="sortable" data-sort="${sort}"` : ""}
             ${["progress", "best"].includes(key) ? 'class="num"' : ""}>${label}</th>`).join("")}</tr></thead>
        <tbody></tbody></table></div>
      <div class="pager"><button id="prev">‹ Newer</button><button id="next">Older ›</button>
        <span class="muted" id="page-info"></span></div>
    </div>`;
  const tbody = view.querySelector("tbody");

  async function refresh() {
    const page = await getJson(`/dashboard/api/searches${query({
      state: filters.state, objective: filters.objective, name: filters.name, sort: filters.sort,
      offset: filters.offset, limit: PAGE,
    })}`);
    tbody.innerHTML = page.items.map(row).join("")
      || `<tr><td colspan="${COLUMNS.length}" class="muted">No search matches.</td></tr>`;
    view.querySelector("#total").textContent = `${page.total} search${page.total === 1 ? "" : "es"}`;
    view.querySelector("#prev").disabled = filters.offset === 0;
    view.querySelector("#next").disabled = filters.offset + PAGE >= page.total;
    const last = Math.min(page.total, filters.offset + PAGE);
    view.querySelector("#page-info").textContent = page.total ? `${filters.offset + 1}–${last}` : "";
    for (const th of view.querySelectorAll("th[data-sort]")) {
      const field = th.dataset.sort;
      const label = COLUMNS.find(([, , sort]) => sort === field)[1];
      th.textContent = label + (filters.sort === field ? " ▲" : filters.sort === `-${field}` ? " ▼" : "");
      th.setAttribute("aria-sort", filters.sort === field ? "ascending" : filters.sort === `-${field}` ? "descending" : "none");
    }
    document.body.dataset.rendered = "searches";
  }

  let typing = null;
  const onFilter = (event) => {
    if (filters[event.target.name] === event.target.value.trim()) return;
    filters[event.target.name] = event.target.value.trim();
    filters.offset = 0;
    clearTimeout(typing);
    typing = setTimeout(refresh, event.target.tagName === "SELECT" ? 0 : 250);
  };
  view.querySelector("#filters").addEventListener("input", onFilter);
  view.querySelector("#filters").addEventListener("change", onFilter);
  view.querySelector("#filters").addEventListener("submit", (event) => event.preventDefault());
  view.querySelector("thead").addEventListener("click", (event) => {
    const field = event.target.closest("th[data-sort]")?.dataset.sort;
    if (!field) return;
    filters.sort = filters.sort === `-${field}` ? field : `-${field}`;
    filters.offset = 0;
    refresh();
  });
  view.querySelector("#prev").addEventListener("click", () => { filters.offset = Math.max(0, filters.offset - PAGE); refresh(); });
  view.querySelector("#next").addEventListener("click", () => { filters.offset += PAGE; refresh(); });
  tbody.addEventListener("click", (event) => {
    const id = event.target.closest("tr[data-id]")?.dataset.id;
    if (id && !event.target.closest("a")) location.hash = `#/search/${id}`;
  });
  await refresh();
  return poll(refresh, 3000);
}

function row(search) {
  const direction = search.direction === "maximize" ? "max" : "min";
  return `<tr class="link" data-id="${search.id}">
    <td>${search.id}</td>
    <td><a href="#/search/${search.id}">${esc(search.name ?? `search ${search.id}`)}</a>
      ${search.parent_search_id ? `<span class="muted">(re-test of #${search.parent_search_id})</span>` : ""}</td>
    <td>${stateBadge(search.state)}</td>
    <td class="num">${progressBar(search.done, search.budget)}</td>
    <td class="num" title="${esc(search.metric)} (${direction})">${fmt(search.best_value)}
      <span class="muted">${esc(search.metric)}</span></td>
    <td>${esc(search.objective)}</td>
    <td>${esc(search.dataset)}</td>
    <td>${esc(search.strategy)}</td>
    <td title="${esc(search.created_at)}">${age(search.created_at)}</td>
  </tr>`;
}

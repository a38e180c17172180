// Workers: who is alive, what each runs, the objectives it advertises, its last heartbeat; polled live.

import { getJson, query } from "./api.js";
import { age, esc, localTime } from "./format.js";
import { poll } from "./live.js";

export async function renderWorkers(view) {
  view.innerHTML = `
    <h1>Workers</h1><div class="subtitle">Every worker that registered; alive ones heartbeated within the lease.</div>
    <div class="panel">
      <div class="toolbar"><label><input type="checkbox" id="alive-only" checked> alive only</label>
        <span class="spacer"></span><span class="muted" id="worker-count"></span></div>
      <div class="table-wrap"><table id="workers"><thead><tr><th>worker</th><th>host</th><th class="num">pid</th>
        <th>state</th><th>running</th><th>objectives</th><th>last heartbeat</th><th>started</th></tr></thead>
        <tbody></tbody></table></div>
    </div>`;
  const aliveOnly = view.querySelector("#alive-only");
  async function refresh() {
    const page = await getJson(`/workers${query({ limit: 500, alive: aliveOnly.checked ? "true" : "" })}`);
    view.querySelector("tbody").innerHTML = page.items.map((w) => `
      <tr><td>${esc(w.id)}</td><td>${esc(w.host)}</td><td class="num">${w.pid}</td>
        <td><span class="badge state-${w.alive ? (w.state === "busy" ? "running" : "completed") : "cancelled"}">
          ${esc(w.alive ? w.state : `${w.state}, not alive`)}</span></td>
        <td>${w.current_trial_id ? `<a href="#/trial/${w.current_trial_id}">trial ${w.current_trial_id}</a>` : "-"}</td>
        <td>${w.objectives.map(esc).join(", ")}</td>
        <td title="${esc(localTime(w.heartbeat_at))}">${age(w.heartbeat_at)}</td>
        <td title="${esc(localTime(w.started_at))}">${age(w.started_at)}</td></tr>`).join("")
      || `<tr><td colspan="8" class="muted">No worker${aliveOnly.checked ? " alive" : ""}. Start one with <code>caviar worker</code>.</td></tr>`;
    view.querySelector("#worker-count").textContent = `${page.items.length} shown`;
    document.body.dataset.rendered = "workers";
  }
  aliveOnly.addEventListener("change", refresh);
  await refresh();
  return poll(refresh, 3000);
}

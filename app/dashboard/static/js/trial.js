// One trial: params, state, attempts and error, its learning curves, the worker that ran it.

import { getJson } from "./api.js";
import { duration, esc, fmt, localTime, stateBadge } from "./format.js";
import { poll } from "./live.js";
import { colors, draw } from "./theme.js";

export async function renderTrial(view, trialId) {
  let trial = await getJson(`/trials/${trialId}`);
  const search = await getJson(`/searches/${trial.search_id}`);
  view.innerHTML = `
    <h1 id="title"></h1><div class="subtitle" id="subtitle"></div>
    <div class="grid-2">
      <div class="panel"><h2>Parameters</h2><dl class="kv" id="params"></dl></div>
      <div class="panel"><h2>Run</h2><dl class="kv" id="run"></dl><div class="error" id="trial-error"></div></div>
    </div>
    <div class="grid-2" id="curves"></div>`;
  const $ = (selector) => view.querySelector(selector);

  async function render() {
    $("#title").innerHTML = `Trial #${trial.number} <span class="muted">(id ${trial.id})</span> ${stateBadge(trial.state)}`;
    $("#subtitle").innerHTML = `of <a href="#/search/${search.id}">${esc(search.name ?? `search ${search.id}`)}</a>
      · ${esc(search.direction)} ${esc(search.metric)}`;
    $("#params").innerHTML = Object.entries(trial.params)
      .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(fmt(v))}</dd>`).join("");
    const metrics = Object.entries(trial.metrics ?? {}).filter(([k]) => k !== search.metric).map(([k, v]) => `<dt>${esc(k)}</dt><dd>${fmt(v)}</dd>`).join("");
    $("#run").innerHTML = `
      <dt>${esc(search.metric)}</dt><dd><strong>${fmt(trial.value)}</strong></dd>${metrics}
      <dt>round</dt><dd>${trial.round ?? "-"}</dd>
      <dt>attempts</dt><dd>${trial.attempt}</dd>
      ${trial.pruned_step !== null ? `<dt>pruned at</dt><dd>epoch ${trial.pruned_step}</dd>` : ""}
      <dt>worker</dt><dd>${trial.worker_id ? `<a href="#/workers">${esc(trial.worker_id)}</a>` : "-"}</dd>
      <dt>created</dt><dd>${localTime(trial.created_at)}</dd>
      <dt>started</dt><dd>${localTime(trial.started_at)}</dd>
      <dt>finished</dt><dd>${localTime(trial.finished_at)}</dd>
      <dt>ran for</dt><dd>${duration(trial.started_at, trial.finished_at)}</dd>`;
    $("#trial-error").textContent = trial.error ? `Error:\n${trial.error}` : "";
    await drawCurves($("#curves"), trial);
  }

  await render();
  document.body.dataset.rendered = `trial-${trialId}`;
  if (!["queued", "running", "paused"].includes(trial.state)) return null;
  return poll(async () => { trial = await getJson(`/trials/${trialId}`); await render(); }, 2000);
}

// Metrics grouped by what they measure (accuracies together, costs together), one chart per group.
async function drawCurves(container, trial) {
  const names = [...new Set(trial.curve.flatMap((p) => Object.keys(p.metrics)))].sort();
  const groups = new Map();
  for (const name of names) {
    const kind = name.replace(/^(train|dev|test|val|valid)_/, "");
    if (!groups.has(kind)) groups.set(kind, []);
    groups.get(kind).push(name);
  }
  if (!groups.size) {
    container.innerHTML = `<div class="panel"><h2>Learning curves</h2><p class="muted">No epoch reported yet.</p></div>`;
    return;
  }
  const kinds = [...groups.keys()];
  if (container.dataset.kinds !== kinds.join(",")) {
    container.dataset.kinds = kinds.join(",");
    container.innerHTML = kinds.map((kind, k) =>
      `<div class="panel"><h2>${esc(kind)}</h2><div class="plot" id="curve-${k}"></div></div>`).join("");
  }
  const c = colors();
  await Promise.all(kinds.map((kind, k) => draw(container.querySelector(`#curve-${k}`),
    groups.get(kind).map((name, i) => ({
      type: "scatter", mode: "lines+markers", name,
      x: trial.curve.map((p) => p.step), y: trial.curve.map((p) => p.metrics[name] ?? null),
      line: { color: c.series[i % c.series.length], width: 2 }, marker: { size: 4 },
    })),
    { xaxis: { title: { text: "epoch" } }, yaxis: { title: { text: kind } } })));
}

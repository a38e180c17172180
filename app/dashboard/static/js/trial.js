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
    <div class="grid-2" id="curves"></div>
    <div class="panel" id="marks-panel" hidden><h2>Nudges, resumes and branches</h2><ul class="marks" id="marks"></ul>
      <div class="note">Dotted lines on the curves: where each took effect.</div></div>`;
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
    const marks = curveMarks(trial);
    $("#marks-panel").hidden = !marks.length;
    $("#marks").innerHTML = marks.map((m) => `<li data-kind="${m.kind}">${m.html}</li>`).join("");
    await drawCurves($("#curves"), trial, marks);
  }

  await render();
  document.body.dataset.rendered = `trial-${trialId}`;
  if (!["queued", "running", "paused"].includes(trial.state)) return null;
  return poll(async () => { trial = await getJson(`/trials/${trialId}`); await render(); }, 2000);
}

const trialLink = (id) => `<a href="#/trial/${id}">trial ${id}</a>`;
const changeText = (changes) => Object.entries(changes)
  .map(([name, change]) => (change && typeof change === "object" && "new" in change
    ? `${esc(name)} ${fmt(change.old)} → ${fmt(change.new)}` : `${esc(name)} = ${fmt(change)}`)).join(", ");

// Where the run changed course: each mark sits between the last epoch of the old course and the first of
// the new (x = step ± 0.5), so a nudge at step 5 and a resume after step 4 share a line.
export function curveMarks(trial) {
  const marks = [];
  if (trial.parent_trial_id !== null && trial.parent_trial_id !== undefined) {
    const changes = Object.keys(trial.branch_params ?? {}).length ? `: ${changeText(trial.branch_params)}` : "";
    marks.push({ kind: "origin", x: trial.branch_step + 0.5, label: "branched",
      html: `after step ${trial.branch_step}: branched from ${trialLink(trial.parent_trial_id)}${changes}` });
  }
  for (const resume of trial.resumes ?? []) {
    if (resume.from_trial_id !== null && resume.from_trial_id !== undefined && resume.from_trial_id !== trial.id) continue;
    marks.push({ kind: "resume", x: resume.step + 0.5, label: `resumed (attempt ${resume.attempt})`,
      html: `after step ${resume.step}: attempt ${resume.attempt} resumed from attempt ${resume.from_attempt}'s checkpoint` });
  }
  for (const nudge of trial.nudges ?? []) {
    marks.push({ kind: "nudge", x: nudge.step - 0.5, label: changeText(nudge.changes),
      html: `from step ${nudge.step}: ${changeText(nudge.changes)} (by ${esc(nudge.by)})` });
  }
  for (const branch of trial.branches ?? []) {
    marks.push({ kind: "branch", x: branch.step + 0.5, label: `branch ${branch.trial_id}`,
      html: `after step ${branch.step}: ${trialLink(branch.trial_id)} branched from here` });
  }
  return marks.sort((a, b) => a.x - b.x);
}

function markShapes(marks, c) {
  const color = { origin: c.accent, resume: c.state.queued, nudge: c.state.running, branch: c.muted };
  return {
    shapes: marks.map((m) => ({ type: "line", xref: "x", yref: "paper", x0: m.x, x1: m.x, y0: 0, y1: 1,
      line: { dash: "dot", width: 1.5, color: color[m.kind] } })),
    annotations: marks.map((m) => ({ x: m.x, xref: "x", yref: "paper", y: 1, yanchor: "bottom",
      text: esc(m.label).slice(0, 40), showarrow: false, font: { size: 10, color: color[m.kind] } })),
  };
}

// Metrics grouped by what they measure (accuracies together, costs together), one chart per group.
async function drawCurves(container, trial, marks = []) {
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
    { xaxis: { title: { text: "epoch" } }, yaxis: { title: { text: kind } }, ...markShapes(marks, c) })));
}

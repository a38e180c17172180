// Compare: pick two or more searches, overlay their best-so-far histories and learning curves.

import { getJson } from "./api.js";
import { esc, stateBadge } from "./format.js";
import { bestSoFar } from "./plots.js";
import { colors, draw } from "./theme.js";

export async function renderCompare(view, requested) {
  const cards = (await getJson("/dashboard/api/searches?limit=200")).items;
  const known = new Set(cards.map((s) => s.id));
  const ids = requested.filter((id) => known.has(id));
  view.innerHTML = `
    <h1>Compare searches</h1><div class="subtitle">Pick two or more searches; their histories and curves overlay.</div>
    <div class="panel"><div class="check-list" id="pick">${cards.map((s) => `
      <label><input type="checkbox" value="${s.id}" ${ids.includes(s.id) ? "checked" : ""}>
        #${s.id} ${esc(s.name ?? "")} ${stateBadge(s.state)} <span class="muted">${esc(s.metric)}</span></label>`).join("")
      || '<span class="muted">No search yet.</span>'}</div></div>
    <div class="grid-2">
      <div class="panel"><h2>Best so far</h2><div id="plot-compare-history" class="plot tall"></div></div>
      <div class="panel"><h2>Learning curves</h2><div id="plot-compare-curves" class="plot tall"></div></div>
    </div>
    <p class="note" id="compare-note"></p>`;
  view.querySelector("#pick").addEventListener("change", () => {
    const picked = [...view.querySelectorAll("#pick input:checked")].map((input) => input.value);
    location.hash = `#/compare?ids=${picked.join(",")}`;
  });
  const note = view.querySelector("#compare-note");
  if (ids.length < 2) note.textContent = "Pick at least two searches.";
  const datasets = await Promise.all(ids.map((id) =>
    getJson(`/dashboard/api/searches/${id}/plot-data?max_curves=200&max_points_per_curve=50`)));
  const c = colors();
  const nameOf = new Map(cards.map((s) => [s.id, `#${s.id} ${s.name ?? ""}`.trim()]));
  const histories = datasets.map((data, k) => ({
    type: "scatter", mode: "lines", name: nameOf.get(data.search_id) ?? `#${data.search_id}`,
    ...bestSoFar(data.trials, data.direction),
    line: { color: c.series[k % c.series.length], width: 2.5, shape: "hv" },
  }));
  const curves = datasets.map((data, k) => {
    const x = []; const y = [];
    for (const curve of data.curves) { x.push(...curve.steps, null); y.push(...curve.values, null); }
    return { type: "scattergl", mode: "lines", name: nameOf.get(data.search_id) ?? `#${data.search_id}`, x, y,
      line: { color: c.series[k % c.series.length], width: 1 }, opacity: 0.45 };
  });
  const metrics = [...new Set(datasets.map((d) => d.metric))];
  await Promise.all([
    draw(view.querySelector("#plot-compare-history"), histories,
      { xaxis: { title: { text: "trial number" } }, yaxis: { title: { text: metrics.join(" / ") } } }),
    draw(view.querySelector("#plot-compare-curves"), curves,
      { xaxis: { title: { text: "epoch" } }, yaxis: { title: { text: metrics.join(" / ") } } }),
  ]);
  if (metrics.length > 1) note.textContent = `These searches optimize different metrics: ${metrics.join(", ")}.`;
  document.body.dataset.rendered = "compare";
  return null;
}

// One search: progress, best configuration, cancel and re-test, its plots and trial table, live from SSE.

import { ApiError, getJson, postJson } from "./api.js";
import { age, esc, fmt, progressBar, stateBadge } from "./format.js";
import { followSearch } from "./live.js";
import {
  PARALLEL_LINES, drawCurves, drawHistory, drawImportance, drawParallel, drawRetest, drawSlices, offerToDraw, openTrialOnClick,
  sliceHeight, softwareWebGL, tunableParams,
} from "./plots.js";
import { LazyDrawer } from "./lazy.js";
import { TrialTable } from "./trial_table.js";

const STATE_ORDER = ["queued", "running", "paused", "completed", "pruned", "failed", "cancelled"];
const IMPORTANCE_MIN_COMPLETED = 5; // app/domain/importance.py MIN_COMPLETED_TRIALS
const NO_TRIALS = {
  trials: { id: [], number: [], state: [], value: [], reported: [], round: [], params: {} }, curves: [],
};

export async function renderSearch(view, searchId) {
  performance.mark("caviar:start");
  // The history needs no parameters and no curves: that small read comes first, alone, and the first
  // screen needs nothing more; the full one, for the plots below, is read while the history is drawn.
  const historyRead = getJson(`/dashboard/api/searches/${searchId}/plot-data?params=false&curves=false`);
  const dataRead = historyRead.then(() => readPlotData(searchId));
  const search = await getJson(`/searches/${searchId}`);
  const params = tunableParams(search.spec.space);
  view.innerHTML = skeleton(search, params);
  const $ = (selector) => view.querySelector(selector);
  renderHeader(view, search);
  const table = new TrialTable($("#trial-table"), search);

  let current = search;
  let lastImportanceAt = 0;
  const clicksWired = new Set();
  const lazy = new LazyDrawer();
  const timed = (name, element, draw) => lazy.draw(element, async () => {
    await draw();
    element.dataset.drawn = "true";
    // For bench/dashboard.py: when each plot was drawn (performance.getEntriesByType("mark")).
    performance.mark(`caviar:${name}`);
    if (!clicksWired.has(element) && element.classList.contains("trial-click")) {
      clicksWired.add(element);
      openTrialOnClick(element);
    }
  });
  async function drawAll(searchNow, plotData, { history = true } = {}) {
    current = searchNow;
    renderHeader(view, searchNow);
    if (plotData.tooLarge) {
      for (const selector of ["#plot-curves", "#plot-parallel", "#plot-slices"]) {
        $(selector).innerHTML = `<p class="note">Not drawn: ${esc(plotData.tooLarge)}</p>`;
        $(selector).dataset.drawn = "true";
      }
      if (history) await timed("history", $("#plot-history"), () => drawHistory($("#plot-history"), plotData));
      return;
    }
    const numberOf = new Map(plotData.trials.id.map((id, i) => [id, plotData.trials.number[i]]));
    const rounds = searchNow.strategy?.rounds;
    const drawn = [
      history ? timed("history", $("#plot-history"), () => drawHistory($("#plot-history"), plotData)) : null,
      timed("curves", $("#plot-curves"), () => drawCurves($("#plot-curves"), plotData, { numberOf })),
      timed("parallel", $("#plot-parallel"), () => {
        const element = $("#plot-parallel");
        const draw = () => drawParallel(element, plotData, params);
        if (!softwareWebGL() || element.dataset.offerTaken) return draw();
        offerToDraw(element, "parallel coordinates", draw);
        return null;
      }),
      timed("slices", $("#plot-slices"), () => drawSlices($("#plot-slices"), plotData, params, rounds)),
    ];
    await Promise.all(drawn.filter(Boolean));
    $("#curves-note").textContent = plotData.curves.length < plotData.curves_total
      ? `${plotData.curves.length} of ${plotData.curves_total} curves drawn, spread over the trial numbers (the best always).`
      : "";
  }

  async function refreshImportance(force = false) {
    if (!force && Date.now() - lastImportanceAt < 10000) return;
    lastImportanceAt = Date.now();
    const completed = current.counts?.completed ?? 0;
    if (completed < IMPORTANCE_MIN_COMPLETED) {
      // The API would answer 409 (and the browser log a failed request): don't ask before it can answer.
      $("#importance-note").textContent =
        `Not available yet: needs ${IMPORTANCE_MIN_COMPLETED} completed trials, ${completed} so far.`;
      return;
    }
    try {
      const importance = await getJson(`/searches/${searchId}/importance`);
      await drawImportance($("#plot-importance"), importance);
      $("#importance-note").textContent = `${importance.method}, ${importance.n_trials} trials.`;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      $("#importance-note").textContent = `Not available yet: ${error.message}`;
    }
  }

  async function refresh() {
    const [searchNow, plotData] = await Promise.all([
      getJson(`/searches/${searchId}`), readPlotData(searchId),
    ]);
    await drawAll(searchNow, plotData);
    await Promise.all([table.reload(), refreshImportance(searchNow.state !== "running")]);
  }

  wireButtons(view, () => current, refresh);
  // The table's first page was read with the page (index.html): rendered now, it does not wait behind
  // the plots' drawing. The history's empty axes set up WebGL (half a second without a GPU) while its
  // data is still on its way.
  const tableShown = table.reload();
  const historyPrimed = drawHistory($("#plot-history"), { ...NO_TRIALS, metric: search.metric, direction: search.direction });
  const [historyData] = await Promise.all([historyRead, historyPrimed, tableShown]);
  performance.mark("caviar:data");
  await timed("history", $("#plot-history"), () => drawHistory($("#plot-history"), historyData));
  // Plotly's promise resolves before the browser paints the WebGL canvas; the first screen is there
  // once the next frame is.
  await new Promise((resolve) => { requestAnimationFrame(() => setTimeout(resolve)); });
  performance.mark("caviar:first-screen");
  const data = await dataRead;
  await drawAll(search, data, { history: false });
  document.body.dataset.rendered = `search-${searchId}`;
  // Slower reads after the first paint: a random forest over a large search takes a second.
  await Promise.all([refreshImportance(true), renderRetests(view, search)]);
  document.body.dataset.complete = `search-${searchId}`;
  const unfollow = search.state === "running" ? followSearch(searchId, data.last_event_id, refresh) : null;
  return () => { lazy.stop(); if (unfollow) unfollow(); };
}

// Past CAVIAR_MAX_RESPONSE_BYTES (parameters of huge values) the full plot data is refused: what is left
// to draw is the history, read without parameters and curves; the other plots say why they are empty.
async function readPlotData(searchId) {
  try {
    return await getJson(`/dashboard/api/searches/${searchId}/plot-data`);
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== "response_too_large") throw error;
    const history = await getJson(`/dashboard/api/searches/${searchId}/plot-data?params=false&curves=false`);
    return { ...history, tooLarge: error.message };
  }
}

function skeleton(search, params) {
  return `
    <div class="toolbar">
      <div><h1 id="title"></h1><div class="subtitle" id="subtitle"></div></div>
      <span class="spacer"></span>
      <a href="/searches/${search.id}/trials.csv" download>CSV</a>
      <button id="retest" title="Re-run the best 3 configurations 3 times each, with fresh seeds">Re-test best</button>
      <button id="cancel" class="danger">Cancel search</button>
    </div>
    <p class="error" id="action-error" role="alert"></p>
    <div class="panel"><div class="stats" id="stats"></div></div>
    <div class="panel"><h2>Optimization history</h2><div id="plot-history" class="plot trial-click"></div>
      <div class="note">Every trial's final ${esc(search.metric)} by trial number, coloured by state; the line is the best so far.
        Pruned trials at the value they last reported, failed ones at the worst value (they have none). Click a point to open its trial.</div></div>
    <div class="grid-2">
      <div class="panel"><h2>Best configuration</h2><div id="best"></div></div>
      <div class="panel"><h2>Parameter importance</h2><div id="plot-importance" class="plot small"></div>
        <div class="note" id="importance-note"></div></div>
    </div>
    <div class="grid-2">
      <div class="panel"><h2>Learning curves</h2><div id="plot-curves" class="plot trial-click"></div>
        <div class="note">Pruned trials end where they were stopped (✕). Click a curve to open its trial.
          <span id="curves-note"></span></div></div>
      <div class="panel"><h2>Parallel coordinates</h2><div id="plot-parallel" class="plot"></div>
        <div class="note">Completed trials (the best ${PARALLEL_LINES} at most); drag along an axis to filter.</div></div>
    </div>
    <div class="panel"><h2>Slices: ${esc(search.metric)} against each parameter</h2>
      <div id="plot-slices" class="plot trial-click" style="height:${sliceHeight(params)}px"></div>
      <div class="note">Log axes for log-scale parameters, 1 − x for log1m ones. Coarse to fine: each round's box
        is the shaded band of its colour.</div></div>
    <div class="panel" id="retest-panel" hidden><h2>Re-test results</h2><div id="retests"></div>
      <div id="plot-retest" class="plot small"></div></div>
    <div class="panel"><h2>Trials</h2><div id="trial-table"></div></div>`;
}

function renderHeader(view, search) {
  const $ = (selector) => view.querySelector(selector);
  $("#title").innerHTML = `${esc(search.name ?? `search ${search.id}`)} <span class="muted">#${search.id}</span> ${stateBadge(search.state)}`;
  const dataset = typeof search.spec.dataset === "string" ? search.spec.dataset : search.spec.dataset?.name;
  $("#subtitle").innerHTML = [
    `${esc(search.objective)} on ${esc(dataset ?? search.dataset)}`,
    `${search.direction} ${esc(search.metric)}`,
    `${esc(search.spec.strategy?.kind)} search`, `pruner ${esc(search.spec.pruner?.kind ?? "none")}`,
    `created ${age(search.created_at)}${search.created_by_key ? ` by key <span id="created-by">${esc(search.created_by_key)}</span>` : ""}`,
    search.parent_search_id ? `re-test of <a href="#/search/${search.parent_search_id}">#${search.parent_search_id}</a>` : "",
  ].filter(Boolean).join(" · ");
  const budget = search.spec.budget?.max_trials ?? 0;
  const done = ["completed", "pruned", "failed", "cancelled"].reduce((n, s) => n + (search.counts[s] ?? 0), 0);
  const rounds = search.strategy?.rounds;
  $("#stats").innerHTML = `
    <div class="stat"><div class="label">Progress</div><div class="value">${progressBar(done, budget)}</div></div>
    ${STATE_ORDER.map((s) => `<div class="stat"><div class="label">${s}</div>
      <div class="value state-${s}" data-count="${s}">${search.counts[s] ?? 0}</div></div>`).join("")}
    ${rounds ? `<div class="stat"><div class="label">Round</div><div class="value">${rounds.length} / ${search.strategy.rounds_planned}</div></div>` : ""}
    <div class="stat"><div class="label">Best ${esc(search.metric)}</div><div class="value" id="best-value">${fmt(search.best?.value)}</div></div>`;
  const best = search.best;
  $("#best").innerHTML = best ? `
    <dl class="kv">
      <dt>trial</dt><dd><a href="#/trial/${best.id}">#${best.number}</a>${best.round !== null ? ` (round ${best.round})` : ""}</dd>
      <dt>${esc(search.metric)}</dt><dd><strong>${fmt(best.value)}</strong></dd>
      ${Object.entries(best.params).map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(fmt(v))}</dd>`).join("")}
    </dl>` : `<p class="muted">No completed trial yet.</p>`;
  $("#cancel").disabled = search.state !== "running";
  $("#retest").disabled = !best;
}

function wireButtons(view, currentSearch, refresh) {
  const $ = (selector) => view.querySelector(selector);
  let armed = null;
  $("#cancel").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    // Two clicks, not a confirm() dialog: a dialog would block the page's live updates.
    if (!armed) {
      button.textContent = "Click again to cancel";
      armed = setTimeout(() => { armed = null; button.textContent = "Cancel search"; }, 4000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    button.textContent = "Cancel search";
    await act(view, () => postJson(`/searches/${currentSearch().id}/cancel`), refresh);
  });
  $("#retest").addEventListener("click", async () => {
    await act(view, async () => {
      const child = await postJson(`/searches/${currentSearch().id}/retest`);
      location.hash = `#/search/${child.id}`;
    });
  });
}

async function act(view, action, after) {
  const errorBox = view.querySelector("#action-error");
  errorBox.textContent = "";
  try {
    await action();
    if (after) await after();
  } catch (error) {
    errorBox.textContent = error.message;
  }
}

// A re-test shows its own configurations; a search that was re-tested shows its latest re-test's.
async function renderRetests(view, search) {
  const panel = view.querySelector("#retest-panel");
  const children = (await getJson(`/dashboard/api/searches?parent_search_id=${search.id}&limit=20`)).items;
  const source = search.parent_search_id ? search : children[0];
  if (!source) return;
  panel.hidden = false;
  view.querySelector("#retests").innerHTML = children.length
    ? `<p>Re-tests of this search: ${children.map((c) => `<a href="#/search/${c.id}">#${c.id}</a> ${stateBadge(c.state)}`).join(" ")}</p>`
    : "";
  const configurations = await getJson(`/searches/${source.id}/configurations`);
  await drawRetest(view.querySelector("#plot-retest"), configurations, search.metric);
}

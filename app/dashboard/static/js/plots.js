// Plot builders: plain data in, Plotly traces and layout out. WebGL traces (scattergl) keep 10,000-trial
// searches fast; learning curves arrive down-sampled from the server.

import { colors, draw } from "./theme.js";
import { fmt } from "./format.js";

// The tunable parameters of a stored spec's space: [{name, type, scale, low, high, choices}].
export function tunableParams(space) {
  return Object.entries(space)
    .filter(([, definition]) => definition && typeof definition === "object" && !Array.isArray(definition) && definition.type)
    .map(([name, definition]) => ({ name, ...definition }));
}

const better = (direction) => (direction === "maximize" ? (a, b) => a > b : (a, b) => a < b);

// The best value so far, as the points of a step line (shape "hv"): each trial number where the best
// improved, and the last completed trial's number so the line runs to the end. A few dozen points, not
// one per trial: drawn as SVG, without a WebGL line program to compile.
export function bestSoFar(trials, direction) {
  const isBetter = better(direction);
  const order = trials.number.map((_, i) => i).sort((a, b) => trials.number[a] - trials.number[b]);
  const xs = [];
  const ys = [];
  let best = null;
  let last = null;
  for (const i of order) {
    const value = trials.value[i];
    if (trials.state[i] !== "completed" || value === null) continue;
    last = trials.number[i];
    if (best !== null && !isBetter(value, best)) continue;
    best = value;
    xs.push(last);
    ys.push(best);
  }
  if (last !== null && xs.at(-1) !== last) { xs.push(last); ys.push(best); }
  return { x: xs, y: ys };
}

function indicesBy(trials, predicate) {
  const out = [];
  for (let i = 0; i < trials.id.length; i += 1) if (predicate(i)) out.push(i);
  return out;
}

export function drawHistory(element, data) {
  const c = colors();
  const { trials } = data;
  const finite = trials.reported.filter((v) => v !== null);
  // The worst value seen: the bottom when maximizing, the top when not.
  const worst = data.direction === "maximize" ? Math.min : Math.max;
  const floor = finite.length ? finite.reduce((a, b) => worst(a, b)) : 0;
  const traces = [];
  // Circles only, told apart by colour and size: any other symbol makes the WebGL scatter compile its
  // SDF-marker program, which on a machine without a GPU costs half a second of the page's first paint.
  const sizes = { completed: 6, pruned: 7, failed: 8 };
  for (const [state, size] of Object.entries(sizes)) {
    const picked = indicesBy(trials, (i) => trials.state[i] === state);
    // Every state's trace even when empty: the same traces each time let Plotly.react update the
    // WebGL buffers in place instead of setting the scene up again.
    traces.push({
      type: "scattergl", mode: "markers", name: state, showlegend: picked.length > 0,
      x: picked.map((i) => trials.number[i]),
      // A pruned trial is drawn at the last value it reported; a failed one at the worst value seen.
      y: picked.map((i) => trials.reported[i] ?? floor),
      customdata: picked.map((i) => trials.id[i]),
      marker: { color: c.state[state], size, opacity: state === "completed" ? 0.75 : 0.9 },
      hovertemplate: `trial #%{x}<br>${data.metric} %{y:.4g}<extra>${state}</extra>`,
    });
  }
  const best = bestSoFar(trials, data.direction);
  traces.push({
    type: "scatter", mode: "lines", name: "best so far", x: best.x, y: best.y,
    line: { color: c.accent, width: 2.5, shape: "hv" }, hoverinfo: "skip",
  });
  return draw(element, traces, {
    xaxis: { title: { text: "trial number" } }, yaxis: { title: { text: data.metric } },
  });
}

// Over two decades or more, one tick per decade: the 2-to-9 minor labels would run into each other.
function decades(low, high) {
  return Math.log10(high / low) >= 2 ? { dtick: 1, exponentformat: "power" } : {};
}

function axisFor(param) {
  if (param.type === "categorical") return { type: "category", categoryarray: param.choices.map(String) };
  if (param.scale === "log") return { type: "log", ...decades(param.low, param.high), title: { text: `${param.name} (log)` } };
  if (param.scale === "log1m") {
    // 1 - x on a log axis, reversed so x still grows to the right: 0.9, 0.99, 0.999 equally spaced.
    return { type: "log", autorange: "reversed", ...decades(1 - param.high, 1 - param.low),
      title: { text: `1 − ${param.name} (log)` } };
  }
  return { type: "linear", title: { text: param.name } };
}

function toAxis(param, value) {
  if (value === null || value === undefined) return null;
  if (param.type === "categorical") return String(value);
  return param.scale === "log1m" ? 1 - value : value;
}

// The coarse-to-fine box of each round as a band over the parameter's axis, coloured like its trials.
function boxShapes(param, rounds, palette, axis) {
  const shapes = [];
  for (const entry of rounds ?? []) {
    const range = entry.box?.values?.[param.name];
    if (!range) continue;
    const color = palette[entry.round % palette.length];
    const band = { type: "rect", xref: `x${axis}`, yref: `y${axis} domain`, y0: 0, y1: 1, layer: "below",
      fillcolor: color, opacity: 0.12, line: { color, width: 1.5 } };
    if (param.type === "categorical") {
      const choices = param.choices.map(String);
      for (const choice of range) {
        const at = choices.indexOf(String(choice));
        if (at >= 0) shapes.push({ ...band, x0: at - 0.4, x1: at + 0.4 });
      }
      continue;
    }
    const [low, high] = range.map((v) => toAxis(param, v));
    shapes.push({ ...band, x0: Math.min(low, high), x1: Math.max(low, high) });
  }
  return shapes;
}

const SLICE_COLUMNS = 3;
export const sliceHeight = (params) => Math.ceil(params.length / SLICE_COLUMNS) * 250 + 40;

// One figure, one subplot per parameter: a single WebGL context for all of them (browsers allow ~16).
export function drawSlices(element, data, params, rounds) {
  const c = colors();
  const { trials } = data;
  const roundsSeen = [...new Set(trials.round.map((r) => r ?? -1))].sort((a, b) => a - b);
  const rows = Math.ceil(params.length / SLICE_COLUMNS);
  const traces = [];
  const overrides = { showlegend: roundsSeen.length > 1, margin: { l: 52, r: 10, t: 40, b: 10 }, shapes: [],
    annotations: [] };
  params.forEach((param, k) => {
    const axis = k + 1;
    const suffix = axis === 1 ? "" : String(axis);
    const [row, column] = [Math.floor(k / SLICE_COLUMNS), k % SLICE_COLUMNS];
    const gap = 0.07;
    const width = (1 - gap * (SLICE_COLUMNS - 1)) / SLICE_COLUMNS;
    const height = (1 - 0.12 * (rows - 1)) / rows;
    const top = 1 - row * (height + 0.12);
    const values = trials.params[param.name] ?? [];
    for (const round of roundsSeen) {
      const picked = indicesBy(trials, (i) => (trials.round[i] ?? -1) === round
        && trials.value[i] !== null && values[i] !== null && values[i] !== undefined);
      traces.push({
        type: "scattergl", mode: "markers", name: round < 0 ? "trials" : `round ${round}`,
        legendgroup: String(round), showlegend: k === 0, xaxis: `x${suffix}`, yaxis: `y${suffix}`,
        x: picked.map((i) => toAxis(param, values[i])),
        y: picked.map((i) => trials.value[i]),
        customdata: picked.map((i) => trials.id[i]),
        text: picked.map((i) => `#${trials.number[i]} ${param.name}=${fmt(values[i])}`),
        marker: { color: round < 0 ? c.series[0] : c.series[round % c.series.length], size: 6, opacity: 0.8 },
        hovertemplate: `%{text}<br>${data.metric} %{y:.4g}<extra></extra>`,
      });
    }
    const grid = { gridcolor: c.grid, zerolinecolor: c.grid, linecolor: c.grid, automargin: true };
    overrides[`xaxis${suffix}`] = { ...grid, ...axisFor(param), title: undefined,
      domain: [column * (width + gap), column * (width + gap) + width], anchor: `y${suffix}` };
    overrides[`yaxis${suffix}`] = { ...grid, domain: [Math.max(0, top - height), top], anchor: `x${suffix}`,
      title: column === 0 ? { text: data.metric } : undefined };
    overrides.annotations.push({ text: `<b>${axisFor(param).title?.text ?? param.name}</b>`, showarrow: false,
      xref: `x${suffix} domain`, yref: `y${suffix} domain`, x: 0, y: 1.02, xanchor: "left", yanchor: "bottom",
      font: { size: 12 } });
    overrides.shapes.push(...boxShapes(param, rounds, c.series, suffix));
  });
  return draw(element, traces, overrides);
}

export const PARALLEL_LINES = 1000;

let software = null;

// Whether WebGL runs on the CPU (SwiftShader, llvmpipe): there parallel coordinates take 3-4 s to
// draw whatever the number of lines, with the page frozen meanwhile (measured: bench/dashboard.py).
export function softwareWebGL() {
  if (software === null) {
    const gl = document.createElement("canvas").getContext("webgl");
    const info = gl?.getExtension("WEBGL_debug_renderer_info");
    const renderer = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : "";
    software = /swiftshader|llvmpipe|softpipe|software/i.test(renderer);
    gl?.getExtension("WEBGL_lose_context")?.loseContext();
  }
  return software;
}

// A button in place of a plot that would freeze the page for seconds: drawn when asked for.
export function offerToDraw(element, what, draw) {
  element.innerHTML = `<div class="plot-offer"><p>Drawing ${what} takes a few seconds in this browser
    (WebGL without a GPU), and the page freezes meanwhile.</p><button type="button">Draw ${what}</button></div>`;
  element.querySelector("button").addEventListener("click", async () => {
    element.innerHTML = "";
    await draw();
    element.dataset.offerTaken = "true";
  });
}

// The best PARALLEL_LINES completed trials: parcoords redraws every line on each brush, and beyond a
// thousand the lines only blur into one another.
export function drawParallel(element, data, params) {
  const { trials } = data;
  const sign = data.direction === "maximize" ? -1 : 1;
  const picked = indicesBy(trials, (i) => trials.state[i] === "completed" && trials.value[i] !== null)
    .sort((a, b) => sign * (trials.value[a] - trials.value[b]))
    .slice(0, PARALLEL_LINES);
  const dimensions = params.map((param) => {
    const raw = picked.map((i) => trials.params[param.name]?.[i]);
    if (param.type === "categorical") {
      const choices = param.choices.map(String);
      return { label: param.name, values: raw.map((v) => choices.indexOf(String(v))),
        tickvals: choices.map((_, k) => k), ticktext: choices };
    }
    if (param.scale === "log") return { label: `log10 ${param.name}`, values: raw.map((v) => Math.log10(v)) };
    if (param.scale === "log1m") return { label: `log10(1−${param.name})`, values: raw.map((v) => Math.log10(1 - v)) };
    return { label: param.name, values: raw };
  });
  const values = picked.map((i) => trials.value[i]);
  dimensions.push({ label: data.metric, values });
  const c = colors();
  return draw(element, [{
    type: "parcoords", dimensions,
    line: { color: values, colorscale: "Viridis", showscale: true, reversescale: data.direction === "minimize",
      colorbar: { thickness: 10, tickfont: { color: c.text } } },
    labelangle: -20, labelside: "top",
    labelfont: { color: c.text, size: 11 }, tickfont: { color: c.text, size: 10 },
    rangefont: { color: c.muted, size: 9 },
  }], { margin: { l: 60, r: 60, t: 70, b: 24 } });
}

// The plotly.js bundle we ship (gl2d) has no bar trace: each bar is a rectangle shape, and the trace is
// an invisible marker at each bar's end that carries the hover text.
export function drawImportance(element, importance) {
  const c = colors();
  const entries = Object.entries(importance.importances).sort((a, b) => a[1] - b[1]);
  const bars = entries.map(([, share], row) => ({
    type: "rect", xref: "x", yref: "y", x0: 0, x1: share, y0: row - 0.38, y1: row + 0.38,
    fillcolor: c.series[0], line: { width: 0 }, layer: "between",
  }));
  return draw(element, [{
    type: "scatter", mode: "markers", x: entries.map(([, v]) => v), y: entries.map(([k]) => k),
    marker: { color: c.series[0], size: 14, opacity: 0 }, hovertemplate: "%{y}: %{x:.1%}<extra></extra>",
  }], { xaxis: { title: { text: "share of importance" }, tickformat: ".0%", rangemode: "tozero" },
    yaxis: { type: "category" }, shapes: bars, showlegend: false,
    margin: { l: 110, r: 16, t: 16, b: 44 } });
}

// All learning curves in two WebGL traces (null-separated lines), the best trial's drawn over them.
export function drawCurves(element, data, { numberOf }) {
  const c = colors();
  const x = []; const y = []; const ids = [];
  const endX = []; const endY = []; const endIds = [];
  const stateOf = new Map(data.trials.id.map((id, i) => [id, data.trials.state[i]]));
  let best = null;
  for (const curve of data.curves) {
    if (curve.trial_id === data.best_trial_id) { best = curve; continue; }
    for (let k = 0; k < curve.steps.length; k += 1) {
      x.push(curve.steps[k]); y.push(curve.values[k]); ids.push(curve.trial_id);
    }
    x.push(null); y.push(null); ids.push(null);
    if (stateOf.get(curve.trial_id) === "pruned" && curve.steps.length) {
      endX.push(curve.steps.at(-1)); endY.push(curve.values.at(-1)); endIds.push(curve.trial_id);
    }
  }
  const hover = (ids_) => ids_.map((id) => (id === null ? "" : `trial #${numberOf.get(id)}`));
  const traces = [
    { type: "scattergl", mode: "lines", name: "trials", x, y, customdata: ids, text: hover(ids),
      line: { color: c.faint, width: 1 }, hovertemplate: `%{text}<br>epoch %{x}: %{y:.4g}<extra></extra>` },
    { type: "scattergl", mode: "markers", name: "pruned here", x: endX, y: endY, customdata: endIds,
      text: hover(endIds), marker: { color: c.state.pruned, symbol: "x", size: 7 },
      hovertemplate: `%{text} pruned at epoch %{x}<extra></extra>` },
  ];
  if (best) {
    traces.push({ type: "scattergl", mode: "lines+markers", name: `best: trial #${numberOf.get(best.trial_id)}`,
      x: best.steps, y: best.values, customdata: best.steps.map(() => best.trial_id),
      line: { color: c.accent, width: 3 }, marker: { size: 5, color: c.accent },
      hovertemplate: `best trial<br>epoch %{x}: %{y:.4g}<extra></extra>` });
  }
  return draw(element, traces, {
    xaxis: { title: { text: "epoch" } }, yaxis: { title: { text: data.metric } },
  });
}

export function drawRetest(element, configurations, metric) {
  const c = colors();
  const shown = configurations.filter((conf) => conf.mean !== null);
  const labels = shown.map((_, i) => `config ${i + 1}`);
  return draw(element, [{
    type: "scatter", mode: "markers", x: labels, y: shown.map((conf) => conf.mean),
    error_y: { type: "data", array: shown.map((conf) => conf.std ?? 0), visible: true, color: c.series[0],
      thickness: 2, width: 8 },
    marker: { color: c.series[0], size: 10 },
    text: shown.map((conf) => Object.entries(conf.params).map(([k, v]) => `${k}=${fmt(v)}`).join("<br>")),
    customdata: shown.map((conf) => `${conf.completed}/${conf.runs} runs`),
    hovertemplate: `mean %{y:.4g} ± %{error_y.array:.3g}<br>%{customdata}<br>%{text}<extra></extra>`,
  }], { xaxis: { type: "category" }, yaxis: { title: { text: `${metric}: mean ± std` } } });
}

// Click on any point that carries a trial id: open that trial.
export function openTrialOnClick(element) {
  element.on("plotly_click", (event) => {
    const id = event.points?.[0]?.customdata;
    if (typeof id === "number") location.hash = `#/trial/${id}`;
  });
}

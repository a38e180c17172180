// Plot styling taken from the page's CSS variables, so plots follow the light or dark theme.

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

export function colors() {
  const dark = matchMedia("(prefers-color-scheme: dark)").matches;
  return {
    text: css("--text"), muted: css("--muted"), grid: css("--grid"), panel: css("--panel"),
    accent: css("--accent"),
    state: {
      completed: css("--completed"), running: css("--running"), queued: css("--queued"),
      pruned: css("--pruned"), failed: css("--failed"), cancelled: css("--cancelled"),
    },
    // Okabe-Ito: distinguishable with the common colour-vision deficiencies.
    series: dark
      ? ["#56B4E9", "#E69F00", "#009E73", "#F0E442", "#CC79A7", "#D55E00", "#0072B2", "#bbbbbb"]
      : ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#7a6a00", "#000000"],
    faint: dark ? "rgba(154,165,177,0.25)" : "rgba(87,96,106,0.22)",
  };
}

export function layout(overrides = {}) {
  const c = colors();
  const axis = { gridcolor: c.grid, zerolinecolor: c.grid, linecolor: c.grid, automargin: true };
  return {
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { color: c.text, size: 12, family: "system-ui, sans-serif" },
    margin: { l: 56, r: 16, t: 28, b: 44 },
    hovermode: "closest",
    legend: { orientation: "h", y: 1.12, x: 0, bgcolor: "rgba(0,0,0,0)" },
    ...overrides,
    xaxis: { ...axis, ...(overrides.xaxis ?? {}) },
    yaxis: { ...axis, ...(overrides.yaxis ?? {}) },
  };
}

export const CONFIG = {
  displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"],
  // WebGL at the screen's pixel ratio, not plotly's default of 2: on a display of ratio 1 the default
  // draws four times the pixels, which without a GPU (software WebGL) is a third of the first paint.
  plotGlPixelRatio: Math.min(2, Math.max(1, window.devicePixelRatio || 1)),
};

export function draw(element, traces, layoutOverrides) {
  return Plotly.react(element, traces, layout(layoutOverrides), CONFIG);
}

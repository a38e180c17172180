// Numbers and times formatted as the CLI prints them (Python's `.4g`), so both read the same.

export function fmt(value) {
  if (value === null || value === undefined) return "-";
  if (typeof value !== "number") return String(value);
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value) && Math.abs(value) < 1e4) return String(value);
  if (value === 0) return "0";
  const exponent = Math.floor(Math.log10(Math.abs(value)));
  if (exponent < -4 || exponent >= 4) {
    const [mantissa, power] = value.toExponential(3).split("e");
    const sign = power.startsWith("-") ? "-" : "+";
    const digits = power.replace(/^[+-]/, "").padStart(2, "0");
    return `${stripZeros(mantissa)}e${sign}${digits}`;
  }
  return stripZeros(value.toPrecision(4));
}

function stripZeros(text) {
  return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}

export function age(isoTime) {
  if (!isoTime) return "-";
  const seconds = Math.max(0, (Date.now() - Date.parse(isoTime)) / 1000);
  if (seconds < 60) return `${Math.round(seconds)}s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)}h ago`;
  return `${Math.round(seconds / 86400)}d ago`;
}

export function duration(startIso, endIso) {
  if (!startIso) return "-";
  const seconds = ((endIso ? Date.parse(endIso) : Date.now()) - Date.parse(startIso)) / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${Math.round(seconds % 60)}s`;
  return `${Math.floor(seconds / 3600)}h ${Math.round((seconds % 3600) / 60)}m`;
}

export function localTime(isoTime) {
  return isoTime ? new Date(isoTime).toLocaleString() : "-";
}

// Escape text for innerHTML templates: every value from the API goes through it.
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

export function stateBadge(state) {
  return `<span class="badge state-${esc(state)}">${esc(state)}</span>`;
}

export function progressBar(done, budget) {
  const share = budget > 0 ? Math.min(1, done / budget) : 0;
  return `<span class="progress"><span class="bar"><span style="width:${(share * 100).toFixed(1)}%"></span></span>`
    + `<span>${done} / ${budget}</span></span>`;
}

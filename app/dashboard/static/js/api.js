// JSON over fetch, with the API's one error shape turned into an Error that says what went wrong.

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

export async function getJson(path) {
  return readJson(await (takePrefetched(path) ?? fetch(path, { headers: { accept: "application/json" } })));
}

// A read index.html started before the scripts loaded: used once, for the page's first draw.
function takePrefetched(path) {
  const prefetched = window.caviarPrefetched?.get(path);
  if (prefetched) window.caviarPrefetched.delete(path);
  return prefetched;
}

export async function postJson(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return readJson(response);
}

async function readJson(response) {
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === "") continue;
    for (const item of Array.isArray(value) ? value : [value]) search.append(key, item);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

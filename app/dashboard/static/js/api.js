// JSON over fetch, with the API's one error shape turned into an Error that says what went wrong, and
// the API key (when this browser has one) sent with every call as `Authorization: Bearer`.

export const API_KEY_ITEM = "caviar.apiKey";  // index.html's first reads use the same localStorage item

export function apiKey() {
  try {
    return localStorage.getItem(API_KEY_ITEM) || null;
  } catch {
    return null;  // storage disabled: no key
  }
}

export function setApiKey(key) {
  if (key) localStorage.setItem(API_KEY_ITEM, key);
  else localStorage.removeItem(API_KEY_ITEM);
}

export function withKey(headers = {}) {
  const key = apiKey();
  return key ? { ...headers, authorization: `Bearer ${key}` } : headers;
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

export async function getJson(path) {
  return readJson(await (takePrefetched(path) ?? fetch(path, { headers: withKey({ accept: "application/json" }) })));
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
    headers: withKey({ "content-type": "application/json", accept: "application/json" }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return readJson(response);
}

// A file from the API (the trials CSV) saved by the browser: a plain link cannot send the key.
export async function download(path) {
  const response = await fetch(path, { headers: withKey() });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  const name = /filename="?([^";]+)"?/.exec(response.headers.get("content-disposition") ?? "")?.[1];
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = name ?? path.split("/").pop().split("?")[0];
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
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

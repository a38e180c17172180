// The API key page: enter the key this browser sends (kept in localStorage), or forget it.

import { apiKey, setApiKey } from "./api.js";
import { esc } from "./format.js";

// `reason`: why the page shows (the API's 401 message); `onSaved`: what to do once a key is entered.
export function renderKey(view, { reason = "", onSaved = () => { location.hash = "#/searches"; } } = {}) {
  const stored = apiKey();
  view.innerHTML = `
    <div class="panel key-panel">
      <h1>API key</h1>
      ${reason ? `<p class="error" id="key-reason" role="alert">${esc(reason)}</p>` : ""}
      <p class="muted">When this Caviar requires API keys, the dashboard needs one: a <code>read</code> key shows
        everything, a <code>submit</code> key can also cancel and re-test the searches it created. An administrator
        creates keys with <code>caviar keys create --name NAME --scope read</code>. The key stays in this browser
        (its local storage) and goes only to this API, as <code>Authorization: Bearer</code>.</p>
      <p class="muted" id="key-status">${stored ? `A key is stored (<code>${esc(stored.slice(0, 16))}…</code>).` : "No key is stored."}</p>
      <form class="toolbar" id="key-form">
        <label class="field">Key <input id="key-input" type="password" autocomplete="off" spellcheck="false"
          size="60" placeholder="cvr_…" required></label>
        <button type="submit" class="primary" id="key-save">Use this key</button>
        ${stored ? `<button type="button" class="danger" id="key-forget">Forget the stored key</button>` : ""}
      </form>
    </div>`;
  view.querySelector("#key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setApiKey(view.querySelector("#key-input").value.trim());
    onSaved();
  });
  view.querySelector("#key-forget")?.addEventListener("click", () => {
    setApiKey(null);
    renderKey(view, { onSaved });
  });
  document.body.dataset.rendered = "key";
}

// Follow a search's Server-Sent Events and call `refresh` at most once per `minGapMs` while they come.
// Read with fetch rather than EventSource, which cannot send the API key.

import { withKey } from "./api.js";

const CHANGES = ["trial_started", "epoch", "trial_completed", "trial_pruned", "trial_failed", "trial_requeued",
  "trial_paused", "trial_stopped", "round_advanced"];
const ENDS = ["search_completed", "search_cancelled", "search_failed"];
const RECONNECT_MS = 1000;

export function followSearch(searchId, afterEventId, refresh, { minGapMs = 1000 } = {}) {
  const stopped = new AbortController();
  let timer = null;
  let last = 0;
  let gap = minGapMs;
  let running = false;
  let missed = false;  // an event came while a refresh ran: refresh once more after it
  const schedule = () => {
    if (timer) {
      missed ||= running;
      return;
    }
    const wait = Math.max(0, last + gap - Date.now());
    timer = setTimeout(async () => {
      last = Date.now();
      running = true;
      try {
        await refresh();
      } finally {
        running = false;
        // A large search takes a while to redraw: leave the page at least twice that long idle.
        gap = Math.max(minGapMs, 2 * (Date.now() - last));
        timer = null;
        if (missed) {
          missed = false;
          schedule();
        }
      }
    }, wait);
  };
  (async () => {
    let after = afterEventId;
    while (!stopped.signal.aborted) {
      try {
        const response = await fetch(`/searches/${searchId}/events?after=${after}`,
          { headers: withKey({ accept: "text/event-stream" }), signal: stopped.signal });
        if (!response.ok) return;  // gone, or the key was revoked: the next page load says so
        for await (const message of serverSentEvents(response.body)) {
          after = message.id ?? after;
          if (CHANGES.includes(message.event)) schedule();
          if (ENDS.includes(message.event)) {
            schedule();
            return;
          }
        }
      } catch {
        if (stopped.signal.aborted) return;
      }
      // The stream broke off (a restart, a proxy's timeout): resume after the last event, as EventSource would.
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  })();
  return () => { stopped.abort(); clearTimeout(timer); };
}

// The messages of a `text/event-stream` body: {event, id, data} (the WHATWG format, as the API writes it).
async function* serverSentEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replaceAll("\r\n", "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const message = { event: "message", id: null, data: [] };
      for (const line of buffer.slice(0, end).split("\n")) {
        if (!line || line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") message.event = text;
        else if (field === "id") message.id = text;
        else if (field === "data") message.data.push(text);
      }
      buffer = buffer.slice(end + 2);
      if (message.id !== null || message.data.length) yield message;
    }
  }
}

// Poll `refresh` every `periodMs` while the page shows; returns the stopper.
export function poll(refresh, periodMs) {
  const id = setInterval(refresh, periodMs);
  return () => clearInterval(id);
}

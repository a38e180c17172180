// Follow a search's Server-Sent Events and call `refresh` at most once per `minGapMs` while they come.

export function followSearch(searchId, afterEventId, refresh, { minGapMs = 1000 } = {}) {
  const source = new EventSource(`/searches/${searchId}/events?after=${afterEventId}`);
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
  const kinds = ["trial_started", "epoch", "trial_completed", "trial_pruned", "trial_failed", "trial_requeued",
    "round_advanced"];
  for (const kind of kinds) source.addEventListener(kind, schedule);
  for (const kind of ["search_completed", "search_cancelled"]) {
    source.addEventListener(kind, () => { source.close(); schedule(); });
  }
  return () => { source.close(); clearTimeout(timer); };
}

// Poll `refresh` every `periodMs` while the page shows; returns the stopper.
export function poll(refresh, periodMs) {
  const id = setInterval(refresh, periodMs);
  return () => clearInterval(id);
}

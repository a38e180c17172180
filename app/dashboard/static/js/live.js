// Follow a search's Server-Sent Events and call `refresh` at most once per `minGapMs` while they come.

export function followSearch(searchId, afterEventId, refresh, { minGapMs = 1000 } = {}) {
  const source = new EventSource(`/searches/${searchId}/events?after=${afterEventId}`);
  let timer = null;
  let last = 0;
  const schedule = () => {
    if (timer) return;
    const wait = Math.max(0, last + minGapMs - Date.now());
    timer = setTimeout(async () => {
      timer = null;
      last = Date.now();
      await refresh();
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

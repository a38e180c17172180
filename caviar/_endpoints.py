"""Every API operation, defined once: the path, the query, the body, whether it is safe to repeat.

`CaviarClient` and `AsyncCaviarClient` inherit these methods and only say how a `Call` is sent, so a new
endpoint is one method here, and both clients have it (sync: the value; async: an awaitable of it).
"""

from __future__ import annotations

import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from caviar._calls import Call, Pager, trial_query
from caviar._transport import ETagCache, RetryPolicy

DEFAULT_API_URL = "http://127.0.0.1:8000"
API_KEY_VARIABLE = "CAVIAR_API_KEY"

Obj = TypeVar("Obj")  # a JSON object answer: dict[str, Any], or an awaitable of one
Arr = TypeVar("Arr")  # a JSON array answer: list[dict[str, Any]], or an awaitable of one
Text = TypeVar("Text")  # a text answer (CSV, Prometheus): str, or an awaitable of one
Items = TypeVar("Items")  # items read page after page: an iterator, or an async iterator


class Endpoints(ABC, Generic[Obj, Arr, Text, Items]):
    def __init__(
        self,
        base_url: str = DEFAULT_API_URL,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        **httpx_options: Any,
    ) -> None:
        """`api_key` (default: the CAVIAR_API_KEY environment variable) is sent as `Authorization: Bearer`
        with every request; `timeout` in seconds per request; `retry` as `RetryPolicy()` unless given;
        `httpx_options` go to the httpx client (headers, auth, event_hooks, transport…)."""
        self._etags = ETagCache()
        self._retry = retry or RetryPolicy()
        key = api_key if api_key is not None else os.environ.get(API_KEY_VARIABLE, "").strip()
        if key:
            headers = dict(httpx_options.get("headers") or {})
            httpx_options["headers"] = {**headers, "Authorization": f"Bearer {key}"}
        self._connect(base_url, timeout, httpx_options)

    @abstractmethod
    def _connect(self, base_url: str, timeout: float, options: dict[str, Any]) -> None: ...

    @abstractmethod
    def _object(self, call: Call) -> Obj: ...

    @abstractmethod
    def _array(self, call: Call) -> Arr: ...

    @abstractmethod
    def _text(self, call: Call) -> Text: ...

    @abstractmethod
    def _items(self, pager: Pager) -> Items: ...

    @abstractmethod
    def _all_items(self, pager: Pager) -> Arr: ...

    def health(self) -> Obj:
        """The API's health: database and queue reachable."""
        return self._object(Call("GET", "/healthz"))

    def submit(self, spec: Mapping[str, Any], *, idempotency_key: str | None = None) -> Obj:
        """Create a search; returns it as the API does (with its `id`).

        Sent with an Idempotency-Key (a fresh one unless given), so a retry never creates a second search.
        """
        key = idempotency_key or str(uuid.uuid4())
        return self._object(
            Call("POST", "/searches", json=dict(spec), headers={"Idempotency-Key": key}, retry_safe=True)
        )

    def searches(
        self,
        *,
        state: str | Sequence[str] | None = None,
        objective: str | None = None,
        dataset: str | None = None,
        sort: str | None = None,
        limit: int | None = None,
        page_size: int = 100,
    ) -> Items:
        """Searches, newest first (or by `sort`: `id`, `name`, `created_at`, …; `-` for descending)."""
        params = trial_query(state=state, sort=sort, objective=objective, dataset=dataset)
        return self._items(Pager("/searches", params, limit, page_size))

    def search(self, search_id: int) -> Obj:
        """One search: its spec with defaults, state, trials per state, best trial so far."""
        return self._object(Call("GET", f"/searches/{search_id}"))

    def cancel(self, search_id: int) -> Obj:
        """Cancel a running search: its queued, running and paused trials are cancelled. Cancelling a
        cancelled search answers the same, so a retried request is harmless."""
        return self._object(Call("POST", f"/searches/{search_id}/cancel", retry_safe=True))

    def nudge(self, trial_id: int, **controls: Any) -> Obj:
        """Change live hyperparameters of a running trial from its next epoch, e.g.
        `nudge(7, learning_rate=0.003)`; returns its pending and applied nudges."""
        return self._object(Call("PATCH", f"/trials/{trial_id}/controls", json=controls))

    def pause(self, trial_id: int) -> Obj:
        """Pause a trial: a running one checkpoints after its current epoch and frees its worker (its
        `run_request` says so until then), a queued one is paused at once; returns the trial."""
        return self._object(Call("POST", f"/trials/{trial_id}/pause", retry_safe=True))

    def resume(self, trial_id: int) -> Obj:
        """Queue a paused trial again (the next worker continues from its checkpoint); returns the trial."""
        return self._object(Call("POST", f"/trials/{trial_id}/resume", retry_safe=True))

    def stop(self, trial_id: int) -> Obj:
        """End a running or paused trial after its current epoch as completed, with its best epoch so far;
        returns the trial (`run_request` shows the stop until its worker has done it)."""
        return self._object(Call("POST", f"/trials/{trial_id}/stop", retry_safe=True))

    def best(self, search_id: int, k: int = 5) -> Arr:
        """The `k` best completed trials, best first."""
        return self._array(Call("GET", f"/searches/{search_id}/best", params={"k": k}))

    def trials(
        self,
        search_id: int,
        *,
        state: str | Sequence[str] | None = None,
        sort: str | None = None,
        updated_since: datetime | str | None = None,
        limit: int | None = None,
        page_size: int = 200,
    ) -> Items:
        """Trials of a search (all, or the first `limit`), following the cursor across pages.

        `sort` is a column or a final metric, `-` for descending: `sort="-dev_accuracy"`.
        """
        params = trial_query(state=state, sort=sort, updated_since=updated_since)
        return self._items(Pager(f"/searches/{search_id}/trials", params, limit, page_size))

    def find_trials(
        self,
        *,
        objective: str | None = None,
        dataset: str | None = None,
        state: str | Sequence[str] | None = None,
        sort: str | None = None,
        updated_since: datetime | str | None = None,
        search_id: int | None = None,
        limit: int | None = None,
        page_size: int = 200,
    ) -> Items:
        """Trials across searches: `find_trials(dataset="digits", state="completed", sort="-dev_accuracy",
        limit=10)` is "what worked best on digits, ever?"; each trial carries its `search_id`."""
        params = trial_query(
            state=state,
            sort=sort,
            updated_since=updated_since,
            objective=objective,
            dataset=dataset,
            search_id=search_id,
        )
        return self._items(Pager("/trials", params, limit, page_size))

    def trial(self, trial_id: int) -> Obj:
        """One trial with its per-epoch learning curve."""
        return self._object(Call("GET", f"/trials/{trial_id}"))

    def trials_csv(self, search_id: int, *, state: str | Sequence[str] | None = None) -> Text:
        """The search's trials as CSV text (`pandas.read_csv(io.StringIO(text))`)."""
        return self._text(Call("GET", f"/searches/{search_id}/trials.csv", params=trial_query(state=state)))

    def importance(self, search_id: int) -> Obj:
        """Which hyperparameters mattered in a search."""
        return self._object(Call("GET", f"/searches/{search_id}/importance"))

    def configurations(self, search_id: int) -> Arr:
        """Trials grouped by configuration with mean and std (for re-tests)."""
        return self._array(Call("GET", f"/searches/{search_id}/configurations"))

    def retest(
        self,
        search_id: int,
        *,
        top_k: int = 3,
        repeats: int = 3,
        dataset: str | Mapping[str, Any] | None = None,
    ) -> Obj:
        """Re-run the best configurations with fresh seeds as a new search; returns that search."""
        body: dict[str, Any] = {"top_k": top_k, "repeats": repeats}
        if dataset is not None:
            body["dataset"] = dataset
        return self._object(Call("POST", f"/searches/{search_id}/retest", json=body))

    def datasets(self) -> Obj:
        """`{"builtin": [names], "uploaded": [datasets]}`."""
        return self._object(Call("GET", "/datasets"))

    def dataset(self, id_or_name: str | int) -> Obj:
        """One uploaded dataset, by id or name."""
        return self._object(Call("GET", f"/datasets/{id_or_name}"))

    def upload_dataset(
        self,
        name: str,
        content: bytes,
        *,
        filename: str = "data.npz",
        label_column: str | None = None,
        format: str | None = None,
    ) -> Obj:
        """Upload a dataset (.npz with X and y, or CSV); specs then use it as `"dataset": name`.

        The format comes from `filename` unless `format` says it. Uploads are stored by content, so sending
        the same file again (a retry) answers with the dataset stored the first time.
        """
        form = {"name": name, "label_column": label_column, "format": format}
        data = {key: value for key, value in form.items() if value is not None}
        files = {"file": (filename, content)}
        return self._object(Call("POST", "/datasets", files=files, data=data, retry_safe=True))

    def ask(self, search_id: int, *, asker: str | None = None) -> Obj:
        """Take the next trial of an `external` search, with a lease: `{"id", "attempt", "params", "seed",
        "lease_expires_at", …}`, or `{}` when none is free right now (ask again in a second)."""
        body = {"asker": asker} if asker else None
        return self._object(Call("POST", f"/searches/{search_id}/ask", json=body))

    def report(self, trial_id: int, attempt: int, step: int, metrics: Mapping[str, float]) -> Obj:
        """One learning-curve point of a trial you hold (renews its lease): `{"should_stop": bool, …}`."""
        body = {"attempt": attempt, "step": step, "metrics": dict(metrics)}
        return self._object(Call("POST", f"/trials/{trial_id}/report", json=body, retry_safe=True))

    def tell(
        self,
        trial_id: int,
        attempt: int,
        metrics: Mapping[str, float] | None = None,
        *,
        state: str = "completed",
        error: str | None = None,
    ) -> Obj:
        """How a trial you hold ended: its `metrics`, or `state` failed (with `error`), pruned or released
        (handed back untold). Telling the same attempt the same thing again is harmless."""
        body: dict[str, Any] = {"attempt": attempt, "state": state}
        if metrics is not None:
            body["metrics"] = dict(metrics)
        if error is not None:
            body["error"] = error
        return self._object(Call("POST", f"/trials/{trial_id}/tell", json=body, retry_safe=True))

    def workers(self, *, alive: bool | None = None) -> Arr:
        """Registered workers with their objectives and a derived `alive` flag."""
        params = {} if alive is None else {"alive": alive}
        return self._all_items(Pager("/workers", params, None, 500))

    def metrics(self) -> Text:
        """The Prometheus text exposition of `/metrics`."""
        return self._text(Call("GET", "/metrics"))

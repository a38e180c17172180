"""A typed Python client for the Caviar API (what the CLI and notebooks use)."""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx

from app.sse import iter_events

DEFAULT_API_URL = "http://127.0.0.1:8000"
FINISHED_STATES = frozenset({"completed", "cancelled", "failed"})
FINAL_EVENT_KINDS = frozenset({"search_completed", "search_cancelled", "search_failed"})
ETAG_CACHE_SIZE = 64
EVENTS_READ_TIMEOUT = 60.0  # the server sends a keepalive comment every 15 s


class CaviarAPIError(Exception):
    """The API answered with an error; `code`, `message` and `field` come from its error body."""

    def __init__(self, status_code: int, code: str, message: str, field: str | None) -> None:
        where = f" (field {field})" if field else ""
        super().__init__(f"{status_code} {code}: {message}{where}")
        self.status_code = status_code
        self.code = code
        self.message = message
        self.field = field


def raise_for_error(response: httpx.Response) -> None:
    """Raise CaviarAPIError for an error response, with the code, message and field of its body."""
    if not response.is_error:
        return
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        error = {"code": "http_error", "message": response.text, "field": None}
    raise CaviarAPIError(response.status_code, error["code"], error["message"], error.get("field"))


def trial_query(
    *,
    state: str | Sequence[str] | None = None,
    sort: str | None = None,
    updated_since: datetime | str | None = None,
    **filters: Any,
) -> dict[str, Any]:
    """Query parameters of the trial list endpoints (`state` may be one state or several)."""
    params: dict[str, Any] = {name: value for name, value in filters.items() if value is not None}
    if state:
        params["state"] = [state] if isinstance(state, str) else list(state)
    if sort:
        params["sort"] = sort
    if updated_since is not None:
        params["updated_since"] = (
            updated_since.isoformat() if isinstance(updated_since, datetime) else updated_since
        )
    return params


def retest_body(top_k: int, repeats: int, dataset: str | Mapping[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"top_k": top_k, "repeats": repeats}
    if dataset is not None:
        body["dataset"] = dataset
    return body


def event_of(data: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(data)
    return event


class CaviarClient:
    """Sync client; use as a context manager so the connection pool is closed.

    GET answers are revalidated with their ETag: an unchanged poll costs the server a `304`.
    """

    def __init__(
        self, base_url: str = DEFAULT_API_URL, *, timeout: float = 30.0, **httpx_options: Any
    ) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout, **httpx_options)
        self._etags: OrderedDict[str, tuple[str, bytes]] = OrderedDict()  # url -> (ETag, body)

    def __enter__(self) -> CaviarClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        if method != "GET":
            response = self._http.request(method, path, **kwargs)
            raise_for_error(response)
            return response.json()
        request = self._http.build_request(method, path, **kwargs)
        key = str(request.url)
        cached = self._etags.get(key)
        if cached is not None:
            request.headers["If-None-Match"] = cached[0]
        response = self._http.send(request)
        if response.status_code == 304 and cached is not None:
            self._etags.move_to_end(key)
            return json.loads(cached[1])  # a fresh object: callers may change what they get
        raise_for_error(response)
        if "etag" in response.headers:
            self._etags[key] = (response.headers["etag"], response.content)
            while len(self._etags) > ETAG_CACHE_SIZE:
                self._etags.popitem(last=False)
        return response.json()

    def submit(self, spec: Mapping[str, Any], *, idempotency_key: str | None = None) -> dict[str, Any]:
        """Create a search; returns it as the API does (with its `id`)."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        result: dict[str, Any] = self._request("POST", "/searches", json=dict(spec), headers=headers)
        return result

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", "/healthz")
        return result

    def search(self, search_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"/searches/{search_id}")
        return result

    def cancel(self, search_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self._request("POST", f"/searches/{search_id}/cancel")
        return result

    def best(self, search_id: int, k: int = 5) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._request("GET", f"/searches/{search_id}/best", params={"k": k})
        return result

    def trials(
        self,
        search_id: int,
        *,
        state: str | Sequence[str] | None = None,
        sort: str | None = None,
        updated_since: datetime | str | None = None,
        limit: int | None = None,
        page_size: int = 200,
    ) -> Iterator[dict[str, Any]]:
        """Trials of a search (all, or the first `limit`), following the cursor across pages.

        `sort` is a column or a final metric, `-` for descending: `sort="-dev_accuracy"`.
        """
        params = trial_query(state=state, sort=sort, updated_since=updated_since)
        yield from self._pages(f"/searches/{search_id}/trials", params, limit, page_size)

    def find_trials(
        self,
        *,
        objective: str | None = None,
        dataset: str | None = None,
        search_id: int | None = None,
        state: str | Sequence[str] | None = None,
        sort: str | None = None,
        updated_since: datetime | str | None = None,
        limit: int | None = None,
        page_size: int = 200,
    ) -> Iterator[dict[str, Any]]:
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
        yield from self._pages("/trials", params, limit, page_size)

    def _pages(
        self, path: str, params: dict[str, Any], limit: int | None, page_size: int
    ) -> Iterator[dict[str, Any]]:
        remaining = limit
        while remaining is None or remaining > 0:
            size = page_size if remaining is None else min(page_size, remaining)
            page = self._request("GET", path, params={**params, "limit": size})
            items = page["items"] if remaining is None else page["items"][:remaining]
            yield from items
            if remaining is not None:
                remaining -= len(items)
            if not page["next_cursor"]:
                return
            params = {**params, "cursor": page["next_cursor"]}

    def trial(self, trial_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"/trials/{trial_id}")
        return result

    def trials_csv(self, search_id: int, *, state: str | Sequence[str] | None = None) -> str:
        """The search's trials as CSV text (`pandas.read_csv(io.StringIO(text))`)."""
        response = self._http.get(f"/searches/{search_id}/trials.csv", params=trial_query(state=state))
        raise_for_error(response)
        return response.text

    def events(self, search_id: int, *, after: int | None = None) -> Iterator[dict[str, Any]]:
        """The search's events as they happen, in order, until it completes, fails or is cancelled.

        Each event is `{"id", "search_id", "kind", "trial_id", "created_at", "payload"}`. A dropped
        connection is resumed after the last event received (`Last-Event-ID`), so none is missed.
        """
        last_id = after
        while True:
            headers = {"Last-Event-ID": str(last_id)} if last_id is not None else {}
            timeout = httpx.Timeout(self._http.timeout.connect, read=EVENTS_READ_TIMEOUT)
            try:
                path = f"/searches/{search_id}/events"
                with self._http.stream("GET", path, headers=headers, timeout=timeout) as response:
                    if response.is_error:
                        response.read()
                        raise_for_error(response)
                    for message in iter_events(response.iter_lines()):
                        event = event_of(message.data)
                        last_id = event["id"]
                        yield event
                        if event["kind"] in FINAL_EVENT_KINDS:
                            return
            except (httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError):
                time.sleep(1.0)  # the server restarted or a proxy cut the stream: resume
                continue
            return  # the server ended the stream: the search had already finished

    def workers(self, *, alive: bool | None = None) -> list[dict[str, Any]]:
        """Registered workers with their objectives and a derived `alive` flag."""
        params = {} if alive is None else {"alive": alive}
        return list(self._pages("/workers", params, None, 500))

    def metrics(self) -> str:
        """The Prometheus text exposition of `/metrics`."""
        response = self._http.get("/metrics")
        raise_for_error(response)
        return response.text

    def importance(self, search_id: int) -> dict[str, Any]:
        """Which hyperparameters mattered in a search."""
        result: dict[str, Any] = self._request("GET", f"/searches/{search_id}/importance")
        return result

    def retest(
        self,
        search_id: int,
        *,
        top_k: int = 3,
        repeats: int = 3,
        dataset: str | Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Re-run the best configurations with fresh seeds as a new search; returns that search."""
        body = retest_body(top_k, repeats, dataset)
        result: dict[str, Any] = self._request("POST", f"/searches/{search_id}/retest", json=body)
        return result

    def configurations(self, search_id: int) -> list[dict[str, Any]]:
        """Trials grouped by configuration with mean and std (for re-tests)."""
        result: list[dict[str, Any]] = self._request("GET", f"/searches/{search_id}/configurations")
        return result

    def wait(
        self,
        search_id: int,
        *,
        poll_seconds: float = 1.0,
        timeout: float | None = None,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Poll until the search is completed or cancelled; `on_progress` gets each polled search."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            search = self.search(search_id)
            if on_progress is not None:
                on_progress(search)
            if search["state"] in FINISHED_STATES:
                return search
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"search {search_id} still {search['state']} after {timeout} s")
            time.sleep(poll_seconds)

    def ask(self, search_id: int, *, asker: str | None = None) -> dict[str, Any] | None:
        """Take the next trial of an `external` search, with a lease; None when none is free right now."""
        response = self._http.post(f"/searches/{search_id}/ask", json={"asker": asker} if asker else None)
        raise_for_error(response)
        return None if response.status_code == 204 else dict(response.json())

    def report(self, trial_id: int, attempt: int, step: int, metrics: Mapping[str, float]) -> bool:
        """One learning-curve point of a trial you hold (renews its lease); True: the pruner says stop."""
        body = {"attempt": attempt, "step": step, "metrics": dict(metrics)}
        return bool(self._request("POST", f"/trials/{trial_id}/report", json=body)["should_stop"])

    def tell(
        self,
        trial_id: int,
        attempt: int,
        metrics: Mapping[str, float] | None = None,
        *,
        state: str = "completed",
        error: str | None = None,
    ) -> dict[str, Any]:
        """How a trial you hold ended: its metrics, or state `failed` (with `error`), `pruned`, `released`."""
        body: dict[str, Any] = {"attempt": attempt, "state": state}
        if metrics is not None:
            body["metrics"] = dict(metrics)
        if error is not None:
            body["error"] = error
        result: dict[str, Any] = self._request("POST", f"/trials/{trial_id}/tell", json=body)
        return result

    def optimize(
        self,
        search_id: int,
        objective: Any,
        *,
        n_trials: int | None = None,
        n_jobs: int = 1,
        asker: str | None = None,
    ) -> list[dict[str, Any]]:
        """Evaluate an `external` search's trials in this process: `objective(trial)` returns metrics."""
        from app.optimize import optimize

        return optimize(self, search_id, objective, n_trials=n_trials, n_jobs=n_jobs, asker=asker)

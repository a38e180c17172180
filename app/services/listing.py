"""Lists as integrators read them: filters, a sort on any column or final metric, keyset cursors, and the
fingerprints ETags are derived from.

A cursor is the JSON `{"sort": "-dev_accuracy", "after": [value, id]}`, made opaque by the API layer.
It is only valid with the sort it was made for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Generic, TypeVar

from sqlalchemy import SQLColumnExpression
from sqlalchemy.orm import Session

from app.domain.catalog import builtin_objective_info
from app.errors import InvalidRequest, InvalidSpec, NotFound
from app.settings import Settings
from app.storage.keyset import KeysetOrder, SortField, parse_value
from app.storage.models import Search, SearchStats, Trial, Worker, utcnow
from app.storage.repositories import DatasetRepository, SearchRepository, TrialRepository
from app.storage.repositories.listing import (
    METRIC_VALUE,
    SEARCH_COLUMNS,
    TRIAL_COLUMNS,
    WORKER_COLUMNS,
    Fingerprint,
    ListedTrial,
    ListingRepository,
    Position,
    SearchFilter,
    TrialFilter,
    WorkerFilter,
    trial_sort_field,
)
from app.storage.repositories.search_stats import SearchStatsRepository

T = TypeVar("T")
SORT_PATTERN = re.compile(r"^(-?)([A-Za-z0-9_.\-]{1,100})$")


@dataclass(frozen=True)
class Sort:
    name: str
    descending: bool

    def __str__(self) -> str:
        return f"-{self.name}" if self.descending else self.name


@dataclass(frozen=True)
class PageRequest:
    """`cursor` is the decoded JSON of an opaque cursor (None for the first page)."""

    sort: str | None = None
    cursor: Any = None
    limit: int = 100


def _no_cursor(index: int) -> dict[str, Any]:
    raise IndexError(f"no cursor after item {index}")


@dataclass(frozen=True)
class Listed(Generic[T]):
    """A page; `cursor_after(i)` continues after `items[i]`, for a caller that ends the page early."""

    items: list[T]
    next_cursor: dict[str, Any] | None
    cursor_after: Callable[[int], dict[str, Any]] = _no_cursor


@dataclass(frozen=True)
class WorkerView:
    worker: Worker
    alive: bool


def parse_sort(raw: str | None, default: str, columns: Mapping[str, SortField] | None = None) -> Sort:
    """`name` ascending, `-name` descending; `columns` None means any metric name is accepted too."""
    match = SORT_PATTERN.match(raw if raw is not None else default)
    if match is None:
        raise InvalidRequest("sort", "use a field name, prefixed with '-' for descending, e.g. -dev_accuracy")
    sort = Sort(match.group(2), descending=match.group(1) == "-")
    if columns is not None and sort.name not in columns:
        raise InvalidRequest("sort", f"sort by one of {', '.join(sorted(columns))}, got {sort.name!r}")
    return sort


@dataclass(frozen=True)
class CountedSearch:
    """A search and its counters row (None for a search written around the repositories), read in one
    query. A read of one search takes it once and passes it on: the session holds loaded rows weakly, so
    a second `get` of a search nothing references any more reads it again."""

    search: Search
    stats: SearchStats | None


def counted_search(session: Session, search_id: int) -> CountedSearch:
    found = SearchRepository(session).get_with_stats(search_id)
    if found is None:
        raise NotFound(f"search {search_id} does not exist")
    return CountedSearch(*found)


def search_trials(
    session: Session,
    found: CountedSearch,
    *,
    states: Sequence[str] = (),
    updated_since: datetime | None = None,
    page: PageRequest,
) -> Listed[ListedTrial]:
    """Trials of one search; by default in creation order (`number`)."""
    search = found.search
    where = TrialFilter(search_id=search.id, states=states, updated_since=_utc(updated_since))
    return _trials(
        session,
        where,
        page,
        default_sort="number",
        unique={"id", "number"},
        objective=search.objective,
        search_metric=search.metric,
    )


def all_trials(
    session: Session,
    *,
    objective: str | None = None,
    dataset: str | None = None,
    search_id: int | None = None,
    states: Sequence[str] = (),
    updated_since: datetime | None = None,
    page: PageRequest,
) -> Listed[ListedTrial]:
    """Trials across searches ("what worked best on this dataset, ever?"); newest first by default."""
    where = _cross_search_filter(session, objective, dataset, search_id, states, updated_since)
    unique = {"id", "number"} if search_id is not None else {"id"}
    return _trials(session, where, page, default_sort="-id", unique=unique, objective=objective)


def searches(
    session: Session,
    *,
    states: Sequence[str] = (),
    objective: str | None = None,
    dataset: str | None = None,
    page: PageRequest,
) -> Listed[Search]:
    """Searches, newest first by default."""
    where = SearchFilter(states=states, objective=objective, dataset=_dataset_key(session, dataset))
    sort = parse_sort(page.sort, "-id", SEARCH_COLUMNS)
    repository = ListingRepository(session)
    return _page(
        lambda order, after, limit: repository.searches(where, order, after, limit),
        SEARCH_COLUMNS[sort.name],
        sort,
        tiebreaker=None if sort.name == "id" else Search.id,
        tiebreak_kind=int,
        tiebreak_of=lambda search: search.id,
        page=page,
    )


def workers(
    session: Session,
    settings: Settings,
    *,
    states: Sequence[str] = (),
    alive: bool | None = None,
    page: PageRequest,
) -> Listed[WorkerView]:
    """Workers that ever registered, with `alive` derived from their last heartbeat and the lease."""
    cutoff = alive_cutoff(settings)
    where = WorkerFilter(states=states, alive=alive, alive_since=cutoff)
    sort = parse_sort(page.sort, "id", WORKER_COLUMNS)
    repository = ListingRepository(session)
    listed = _page(
        lambda order, after, limit: repository.workers(where, order, after, limit),
        WORKER_COLUMNS[sort.name],
        sort,
        tiebreaker=None if sort.name == "id" else Worker.id,
        tiebreak_kind=str,
        tiebreak_of=lambda worker: worker.id,
        page=page,
    )
    views = [WorkerView(w, w.state != "stopped" and w.heartbeat_at >= cutoff) for w in listed.items]
    return Listed(views, listed.next_cursor, listed.cursor_after)


def alive_cutoff(settings: Settings) -> datetime:
    """A worker that heartbeated after this instant is alive (unless it said it stopped)."""
    return utcnow() - timedelta(seconds=settings.lease_seconds)


def search_trials_fingerprint(
    session: Session,
    found: CountedSearch,
    *,
    states: Sequence[str] = (),
    updated_since: datetime | None = None,
) -> Any:
    """The search's version: changes with every trial write (also of trials the filter leaves out); what
    `_trials_version` gives for one search, without a query when its counters row was read with it."""
    if found.stats is not None:
        return ("versions", 1, found.stats.version)
    where = TrialFilter(search_id=found.search.id, states=states, updated_since=_utc(updated_since))
    return ListingRepository(session).trials_fingerprint(where)


def all_trials_fingerprint(
    session: Session,
    *,
    objective: str | None = None,
    dataset: str | None = None,
    search_id: int | None = None,
    states: Sequence[str] = (),
    updated_since: datetime | None = None,
) -> Any:
    where = _cross_search_filter(session, objective, dataset, search_id, states, updated_since)
    return _trials_version(session, where)


def _trials_version(session: Session, where: TrialFilter) -> Any:
    """What the trials `where` selects are made of, in O(searches): the versions of the searches it
    covers; counted from the trials only when one of them has no stats row."""
    versions = SearchStatsRepository(session).version_sum(where.search_conditions())
    if versions.with_stats == versions.searches:
        return ("versions", versions.searches, versions.versions)
    return ListingRepository(session).trials_fingerprint(where)


def searches_fingerprint(
    session: Session,
    *,
    states: Sequence[str] = (),
    objective: str | None = None,
    dataset: str | None = None,
) -> Fingerprint:
    where = SearchFilter(states=states, objective=objective, dataset=_dataset_key(session, dataset))
    return ListingRepository(session).searches_fingerprint(where)


def workers_fingerprint(session: Session, settings: Settings, *, states: Sequence[str] = ()) -> Fingerprint:
    # Heartbeats change `alive` and `heartbeat_at`: the newest heartbeat is part of the fingerprint.
    return ListingRepository(session).workers_fingerprint(WorkerFilter(states=states))


def search_fingerprint(session: Session, found: CountedSearch) -> tuple[Any, ...]:
    """Changes whenever the search detail (state, counts, best trial, strategy progress) may change."""
    return (found.search.state, str(found.search.updated_at), search_trials_fingerprint(session, found))


def trial_fingerprint(session: Session, trial_id: int) -> tuple[Any, ...]:
    """Changes whenever the trial, its learning curve or its branches change."""
    trials = TrialRepository(session)
    trial = trials.get(trial_id)
    if trial is None:
        raise NotFound(f"trial {trial_id} does not exist")
    points = ListingRepository(session).curve_fingerprint(trial_id)
    return (trial.state, trial.attempt, str(trial.updated_at), points, tuple(trials.branches_of(trial_id)))


def _trials(
    session: Session,
    where: TrialFilter,
    page: PageRequest,
    *,
    default_sort: str,
    unique: set[str],
    objective: str | None,
    search_metric: str | None = None,
) -> Listed[ListedTrial]:
    """`search_metric`: the metric of the one search `where` covers, if it does (no query to split)."""
    sort = parse_sort(page.sort, default_sort)
    _check_metric_sort(sort, objective)
    repository = ListingRepository(session)
    fetch: Fetch[ListedTrial] = partial(repository.trials, where)
    if sort.name not in TRIAL_COLUMNS:
        if search_metric is None:
            same, other = repository.metric_split(where, sort.name)
        else:
            same, other = search_metric == sort.name, search_metric != sort.name
        if same:
            fetch = _metric_fetch(repository, where, sort.name, json_too=other)
    return _page(
        fetch,
        trial_sort_field(sort.name),
        sort,
        tiebreaker=None if sort.name in unique else Trial.id,
        tiebreak_kind=int,
        tiebreak_of=lambda trial: trial.id,
        page=page,
    )


def _metric_fetch(
    repository: ListingRepository, where: TrialFilter, name: str, *, json_too: bool
) -> Fetch[ListedTrial]:
    """Sorting by metric `name`: trials of searches whose metric it is sort on `metric_value` (an index);
    those of other searches, if the filter covers any, on the JSON, and the two pages are merged."""
    indexed = replace(where, metric_is=name)
    in_json = replace(where, metric_is_not=name)

    def fetch(order: KeysetOrder, after: Position | None, limit: int) -> list[tuple[ListedTrial, Any]]:
        by_column = replace(order, field=METRIC_VALUE)
        rows = repository.trials(indexed, by_column, after, limit)
        if not json_too:
            return rows
        rows += repository.trials(in_json, order, after, limit)
        return sorted(rows, key=lambda row: _sort_key(row, order.descending))[:limit]

    return fetch


def _sort_key(row: tuple[ListedTrial, Any], descending: bool) -> tuple[bool, float, int]:
    """(NULL, key, id) ordering rows as KeysetOrder does: NULLs last, ties by id."""
    trial, key = row
    if key is None:
        return (True, 0.0, trial.id)
    return (False, -key if descending else key, trial.id)


def _check_metric_sort(sort: Sort, objective: str | None) -> None:
    """A built-in objective's metrics are known, so a misspelt one is an error rather than a list in which
    every trial sorts as NULL. A plugin's metrics are known only once trials report them: any name goes."""
    info = builtin_objective_info(objective) if objective is not None else None
    if info is None or sort.name in TRIAL_COLUMNS or sort.name in info.metrics:
        return
    raise InvalidRequest(
        "sort",
        f"sort by a trial column ({', '.join(TRIAL_COLUMNS)}) or a metric objective {objective!r} reports "
        f"({', '.join(sorted(info.metrics))}), got {sort.name!r}",
    )


Fetch = Callable[[KeysetOrder, Position | None, int], list[tuple[T, Any]]]


def _page(
    fetch: Fetch[T],
    field: SortField,
    sort: Sort,
    *,
    tiebreaker: SQLColumnExpression[Any] | None,
    tiebreak_kind: type,
    tiebreak_of: Callable[[T], Any],
    page: PageRequest,
) -> Listed[T]:
    order = KeysetOrder(field, sort.descending, tiebreaker)
    after = _position(page.cursor, sort, field, tiebreak_kind if tiebreaker is not None else None)
    rows = fetch(order, after, page.limit + 1)
    items = [item for item, _ in rows[: page.limit]]

    def cursor_after(index: int) -> dict[str, Any]:
        item, key = rows[index]
        tiebreak = tiebreak_of(item) if tiebreaker is not None else None
        return {"sort": str(sort), "after": [field.to_position(key), tiebreak]}

    next_cursor = cursor_after(page.limit - 1) if len(rows) > page.limit else None
    return Listed(items, next_cursor, cursor_after)


def _position(cursor: Any, sort: Sort, field: SortField, tiebreak_kind: type | None) -> Position | None:
    """The decoded cursor as a position; `tiebreak_kind` None when the sort key is unique."""
    if cursor is None:
        return None
    if not isinstance(cursor, dict) or set(cursor) != {"sort", "after"}:
        raise InvalidSpec("cursor", "not a cursor this API returned")
    if cursor["sort"] != str(sort):
        raise InvalidSpec(
            "cursor", f"this cursor continues sort={cursor['sort']!s:.100}; pass that sort or drop the cursor"
        )
    after = cursor["after"]
    if not isinstance(after, list) or len(after) != 2:
        raise InvalidSpec("cursor", "not a cursor this API returned")
    try:
        value = field.from_position(after[0])
        if tiebreak_kind is None:
            if after[1] is not None:
                raise ValueError("unexpected tiebreaker")
            return Position(value, None)
        return Position(value, parse_value(tiebreak_kind, after[1]))
    except ValueError as error:
        raise InvalidSpec("cursor", f"not a cursor this API returned ({error})") from error


def _cross_search_filter(
    session: Session,
    objective: str | None,
    dataset: str | None,
    search_id: int | None,
    states: Sequence[str],
    updated_since: datetime | None,
) -> TrialFilter:
    return TrialFilter(
        search_id=search_id,
        states=states,
        updated_since=_utc(updated_since),
        objective=objective,
        dataset=_dataset_key(session, dataset),
    )


def _dataset_key(session: Session, dataset: str | None) -> str | None:
    """Searches store an uploaded dataset by id: a name given in a filter is resolved to it."""
    if dataset is None:
        return None
    stored = DatasetRepository(session).find(dataset)
    return stored.id if stored is not None else dataset


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)

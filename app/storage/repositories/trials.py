"""Queries over trials and their learning curves, including the compare-and-set transitions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal, NamedTuple

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    Result,
    Select,
    String,
    Text,
    Update,
    and_,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from app.domain.trial_state import ACTIVE_STATES, STATE_ORDER, TrialState, sources_of
from app.storage.array_rows import array_parameters, insert_rows, unnested
from app.storage.models import IdType, Search, SearchStats, Trial, TrialMetric, UTCDateTime
from app.storage.repositories.search_stats import SearchStatsRepository, all_states
from app.storage.repositories.search_stats import reads as stats_reads
from app.storage.search_stats import pending, record_insert, record_transition

_TRIALS = Trial.metadata.tables["trials"]
_TRIAL_METRICS = Trial.metadata.tables["trial_metrics"]


class LeaseRenewal(NamedTuple):
    """What a renewed lease brings back to the run holding it."""

    controls: list[dict[str, Any]]
    """Nudge requests pending, oldest first."""
    run_request: dict[str, Any] | None
    """A pause or stop asked of the trial ({action, by, requested_at}), or None."""


FINISH_COLUMNS = (
    "id",
    "state",
    "value",
    "metrics",
    "metric_value",
    "error",
    "pruned_step",
    "started_at",
    "finished_at",
    "updated_at",
)
"""What `TrialRepository.finish_claimed` writes of a row (besides clearing `run_request`)."""


class TrialRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add_many(self, trials: Iterable[Trial]) -> list[Trial]:
        added = list(trials)
        self.session.add_all(added)
        self.session.flush()
        return added

    def add_queued(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert new queued trials (rows of `Trial` columns, `state` and `attempt` left to this method)
        in one statement, without loading them into the session; their ids, in the rows' order. Counted
        for their searches' counters, as the flush counts trials added to the session."""
        if not rows:
            return []
        queued = [{**row, "state": TrialState.QUEUED.value, "attempt": 0} for row in rows]
        if self.session.get_bind().dialect.name == "postgresql":
            parameters = array_parameters("new", _QUEUED_ARRAYS, queued, json_columns=("params",))
            inserted = {
                (search_id, number): trial_id
                for search_id, number, trial_id in self.session.execute(_add_queued_statement(), parameters)
            }
            ids = [int(inserted[row["search_id"], row["number"]]) for row in queued]
        else:
            statement = insert(_TRIALS).returning(_TRIALS.c.id, sort_by_parameter_order=True)
            ids = [int(trial_id) for trial_id in self.session.scalars(statement, queued)]
        for row in queued:
            record_insert(self.session, row["search_id"], row["state"])
        return ids

    def get(self, trial_id: int) -> Trial | None:
        return self.session.get(Trial, trial_id)

    def search_id_of(self, trial_id: int) -> int | None:
        """The trial's search, read without loading the trial into the session."""
        return self.session.scalar(select(Trial.search_id).where(Trial.id == trial_id))

    def of_search(self, search_id: int) -> Sequence[Trial]:
        return self.session.scalars(
            select(Trial).where(Trial.search_id == search_id).order_by(Trial.number)
        ).all()

    def history(self, search_id: int) -> list[tuple[int, dict[str, Any], str, float | None, int | None]]:
        """(number, params, state, value, round) of every trial but branches, by number: what strategies
        read (branches are the user's or another strategy's, not this one's proposals).

        Plain tuples, not ORM objects: no identity map or change tracking for data that is only read.
        """
        statement = (
            select(Trial.number, Trial.params, Trial.state, Trial.value, Trial.round)
            .where(Trial.search_id == search_id, Trial.parent_trial_id.is_(None))
            .order_by(Trial.number)
        )
        return [
            (row.number, row.params, row.state, row.value, row.round)
            for row in self.session.execute(statement)
        ]

    def latest_completed(
        self, search_id: int, limit: int
    ) -> list[tuple[int, dict[str, Any], str, float | None, int | None]]:
        """`history`'s tuples of the search's latest `limit` completed trials with a value (branches
        excluded), by number."""
        statement = (
            select(Trial.number, Trial.params, Trial.state, Trial.value, Trial.round)
            .where(
                Trial.search_id == search_id,
                Trial.state == "completed",
                Trial.value.is_not(None),
                Trial.parent_trial_id.is_(None),
            )
            .order_by(Trial.number.desc())
            .limit(limit)
        )
        rows = self.session.execute(statement).all()
        return [(row.number, row.params, row.state, row.value, row.round) for row in reversed(rows)]

    def completed_mark(self, search_id: int) -> tuple[int, int | None]:
        """(how many, highest number) of the search's completed trials with a value, branches excluded:
        which trials a result computed from them saw (a completed trial's value never changes)."""
        statement = select(func.count(), func.max(Trial.number)).where(
            Trial.search_id == search_id,
            Trial.state == "completed",
            Trial.value.is_not(None),
            Trial.parent_trial_id.is_(None),
        )
        count, highest = self.session.execute(statement).one()
        return int(count), highest

    def key_names(
        self, search_id: int, column: Literal["params", "metrics"], states: Sequence[str]
    ) -> list[str]:
        """The keys found in the `column` JSON objects of the search's trials (in `states`, if any), sorted;
        gathered by the database, so no row comes to Python."""
        json_column = Trial.params if column == "params" else Trial.metrics
        conditions = [Trial.search_id == search_id, *_in_states(states)]
        if self.session.get_bind().dialect.name == "sqlite":
            each = func.json_each(json_column).table_valued("key")
            statement = (
                select(each.c.key)
                .select_from(Trial)
                .join(each, true())
                .where(*conditions, func.json_type(json_column) == "object")
            )
        else:
            statement = select(func.json_object_keys(json_column)).where(
                *conditions, func.json_typeof(json_column) == "object"
            )
        return sorted(str(name) for name in self.session.scalars(statement.distinct()))

    def export_rows(
        self, search_id: int, columns: Sequence[str], states: Sequence[str], batch: int = 10_000
    ) -> Iterator[Sequence[Any]]:
        """The search's trials by number as rows of `columns`, then params and metrics, `batch` at a time
        through a server-side cursor (PostgreSQL): memory does not grow with the search.

        Written by the database, for speed: timestamps as `datetime.isoformat()` text in UTC, and JSON
        columns as their JSON text (for `app.storage.json_text.loads`); other values as stored."""
        dialect = self.session.get_bind().dialect.name
        selected = [_export_column(getattr(Trial, name), dialect) for name in (*columns, "params", "metrics")]
        statement = (
            select(*selected)
            .where(Trial.search_id == search_id, *_in_states(states))
            .order_by(Trial.number)
            .execution_options(yield_per=batch)
        )
        # Core rows through the session's connection: the ORM's per-row loading is a third of the time.
        yield from self.session.connection().execute(statement)

    def branches_of(self, trial_id: int) -> list[tuple[int, int]]:
        """(id, branch_step) of the trials branched from this one, oldest first."""
        statement = (
            select(Trial.id, Trial.branch_step).where(Trial.parent_trial_id == trial_id).order_by(Trial.id)
        )
        return [(branch_id, step) for branch_id, step in self.session.execute(statement) if step is not None]

    def branch_count(self, search_id: int) -> int:
        """How many of the search's trials are branches (an index range, however large the search)."""
        return int(self.session.scalar(_branches(search_id)) or 0)

    def max_round(self, search_id: int) -> int | None:
        """The highest coarse-to-fine round of the search's trials; None if none has a round."""
        return self.session.scalar(select(func.max(Trial.round)).where(Trial.search_id == search_id))

    def counts_by_state(self, search_id: int) -> dict[str, int]:
        """Trials per state, as this transaction sees them: the search's counters plus its own changes not
        yet written to them (O(1)); counted from the rows only if the search has no counters row.

        The counters row is read once per transaction (the first call, or `counts_and_branches`): the one
        its changes are written over at commit (app/storage/search_stats.py). A writer reads them after
        taking the search row's lock, which every transaction that adds, ends or cancels a trial takes, in
        a statement of their own: not joined to the lock's SELECT, whose snapshot predates its wait for
        the lock, so it would miss the counters of the transaction it waited for (PostgreSQL, READ
        COMMITTED; trials were numbered twice)."""
        self.session.flush()
        read = stats_reads(self.session).get(search_id)
        if read is not None:
            return self._with_pending(search_id, read.counts)
        stats = SearchStatsRepository(self.session).get(search_id)
        if stats is None:
            return self._counted(search_id)
        return self._with_pending(search_id, stats.counts)

    def counts_and_branches(self, search_id: int) -> tuple[dict[str, int], int]:
        """`counts_by_state` and `branch_count`, in one round trip when the counters row is not read yet."""
        self.session.flush()
        if search_id in stats_reads(self.session):
            return self.counts_by_state(search_id), self.branch_count(search_id)
        statement = (
            select(SearchStats, _branches(search_id).scalar_subquery())
            .where(SearchStats.search_id == search_id)
            .execution_options(populate_existing=True)
        )
        row = self.session.execute(statement).one_or_none()
        if row is None:
            return self._counted(search_id), self.branch_count(search_id)
        stats, branches = row
        SearchStatsRepository(self.session).remember(stats)
        return self._with_pending(search_id, stats.counts), int(branches)

    def _with_pending(self, search_id: int, stored: Mapping[str, int]) -> dict[str, int]:
        counts = Counter(stored)
        change = pending(self.session).get(search_id)
        if change is not None:
            counts.update(change.counts)
        return all_states(counts)

    def _counted(self, search_id: int) -> dict[str, int]:
        statement = (
            select(Trial.state, func.count()).where(Trial.search_id == search_id).group_by(Trial.state)
        )
        return all_states({state: count for state, count in self.session.execute(statement)})

    def best(self, search_id: int, *, maximize: bool, limit: int) -> Sequence[Trial]:
        order = Trial.value.desc() if maximize else Trial.value.asc()
        statement = (
            select(Trial)
            .where(
                Trial.search_id == search_id, Trial.state == TrialState.COMPLETED, Trial.value.is_not(None)
            )
            .order_by(order, Trial.number)
            .limit(limit)
        )
        return self.session.scalars(statement).all()

    def transition(
        self,
        trial_id: int,
        target: TrialState,
        *,
        attempt: int | None = None,
        sources: Iterable[TrialState] | None = None,
        **values: Any,
    ) -> bool:
        """Move a trial to `target` if it is in an allowed source state (and still at `attempt`).

        The WHERE clause is the whole guard: exactly one concurrent caller can win, and a late caller
        whose claim was superseded changes nothing. Returns whether this call won. One conditional
        UPDATE per allowed source state (in the state machine's order), so the search's counters know
        which state the trial left.
        """
        allowed = sources_of(target) if sources is None else frozenset(sources) & sources_of(target)
        guard = [] if attempt is None else [Trial.attempt == attempt]
        return any(
            self._move(trial_id, source, target, guard, values)
            for source in sorted(allowed, key=STATE_ORDER.index)
        )

    def claim(self, trial_id: int, worker_id: str, now: datetime) -> Trial | None:
        """Claim a queued trial (attempt + 1); None if another worker won or it is no longer queued."""
        values = {
            "worker_id": worker_id,
            "attempt": Trial.attempt + 1,
            "started_at": now,
            "heartbeat_at": now,
            "updated_at": now,
        }
        won = self._move(trial_id, TrialState.QUEUED, TrialState.RUNNING, [], values)
        return self.get_fresh(trial_id) if won else None

    def claim_next(self, search_id: int, limit: int, worker_id: str, now: datetime) -> list[Trial]:
        """`claim` for up to `limit` of the search's queued trials, oldest first, in one statement; those
        won, in id order. On PostgreSQL rows another transaction is claiming are passed over (SKIP
        LOCKED), not waited for; the rows taken are locked by the statement itself, so none is locked and
        left (hidden from other workers' claims until this transaction ends)."""
        if limit <= 0:
            return []
        # A materialized CTE, not `IN (subquery)`: PostgreSQL may rescan a subquery for each row it
        # updates, and a rescan skips the rows this statement already took (its own row locks) and
        # returns the next ones, so the LIMIT would not hold.
        picked = (
            select(Trial.id)
            .where(Trial.search_id == search_id, Trial.state == TrialState.QUEUED.value)
            .order_by(Trial.id)
            .limit(limit)
            .with_for_update(skip_locked=True)  # SQLite renders no locking clause: its write lock holds
            .cte("picked")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        statement = (
            update(Trial)
            .where(Trial.id.in_(select(picked.c.id)), Trial.state == TrialState.QUEUED.value)
            .values(
                state=TrialState.RUNNING.value,
                worker_id=worker_id,
                attempt=Trial.attempt + 1,
                started_at=now,
                heartbeat_at=now,
                updated_at=now,
            )
            .returning(Trial)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        won = sorted(self.session.scalars(statement).all(), key=lambda trial: trial.id)
        for trial in won:
            record_transition(
                self.session, trial.search_id, TrialState.QUEUED, TrialState.RUNNING, trial.started_at, None
            )
        return won

    def finish_claimed(self, rows: Sequence[dict[str, Any]]) -> set[int]:
        """Move each row's trial to the row's `state`, with its other columns (`FINISH_COLUMNS`), if it is
        still running the row's `attempt`; the ids of those moved. Whatever the number of rows, one
        `UPDATE ... FROM unnest(<an array per column>) ... RETURNING` on PostgreSQL (the same text for
        any number of rows: compiled once by SQLAlchemy, prepared once by psycopg); on SQLite (in
        process, its write lock held), a SELECT of the runs still holding their claim and an executemany
        UPDATE."""
        if not rows:
            return set()
        if self.session.get_bind().dialect.name == "postgresql":
            won = self._finish_from_arrays(rows)
        else:
            won = self._still_claimed([(row["id"], row["attempt"]) for row in rows])
            finished = [
                {**{name: row[name] for name in FINISH_COLUMNS}, "run_request": None}
                for row in rows
                if row["id"] in won
            ]
            if finished:
                self.session.execute(update(Trial), finished)
        for row in rows:
            if row["id"] in won:
                record_transition(
                    self.session,
                    row["search_id"],
                    TrialState.RUNNING,
                    row["state"],
                    row["started_at"],
                    row["finished_at"],
                )
        return won

    def _finish_from_arrays(self, rows: Sequence[dict[str, Any]]) -> set[int]:
        parameters = array_parameters("outcome", _FINISH_ARRAYS, rows, json_columns=("metrics",))
        return {int(trial_id) for trial_id in self.session.scalars(_finish_statement(), parameters)}

    def _still_claimed(self, runs: Sequence[tuple[int, int]]) -> set[int]:
        """Of these (trial id, attempt) runs, the trials still running that attempt."""
        statement = select(Trial.id).where(
            tuple_(Trial.id, Trial.attempt).in_(runs), Trial.state == TrialState.RUNNING.value
        )
        return set(self.session.scalars(statement))

    def _move(
        self,
        trial_id: int,
        source: TrialState,
        target: TrialState,
        guard: list[ColumnElement[bool]],
        values: dict[str, Any],
    ) -> bool:
        """One compare-and-set from `source` to `target`; a win is recorded for the search's counters."""
        statement = (
            update(Trial)
            .where(Trial.id == trial_id, Trial.state == source.value, *guard)
            .values(state=target.value, **values)
            .returning(Trial.search_id, Trial.started_at, Trial.finished_at)
            .execution_options(synchronize_session="fetch")
        )
        changed = self.session.execute(statement).one_or_none()
        if changed is None:
            return False
        record_transition(
            self.session, changed.search_id, source, target, changed.started_at, changed.finished_at
        )
        return True

    def get_fresh(self, trial_id: int) -> Trial | None:
        statement = select(Trial).where(Trial.id == trial_id).execution_options(populate_existing=True)
        return self.session.scalars(statement).one_or_none()

    def is_claimed_by(self, trial_id: int, attempt: int) -> bool:
        statement = select(func.count()).where(
            Trial.id == trial_id, Trial.attempt == attempt, Trial.state == TrialState.RUNNING.value
        )
        return bool(self.session.scalar(statement))

    def touch_lease(self, trial_id: int, attempt: int, now: datetime) -> bool:
        """Renew a running trial's lease. Not a change pollers see: `updated_at` stays as it was."""
        return self.renew_lease(trial_id, attempt, now) is not None

    def renew_lease(self, trial_id: int, attempt: int, now: datetime) -> LeaseRenewal | None:
        """`touch_lease`, returning the trial's pending controls and pause or stop request (read by the same
        statement, so an epoch report learns of them without another round trip); None if the run no longer
        holds the claim. The row stays locked to the end of the transaction: no request slips in meanwhile."""
        statement = (
            update(Trial)
            .where(Trial.id == trial_id, Trial.attempt == attempt, Trial.state == TrialState.RUNNING.value)
            .values(heartbeat_at=now, updated_at=Trial.updated_at)
            .returning(Trial.controls_pending, Trial.run_request)
            .execution_options(synchronize_session="fetch")
        )
        row = self.session.execute(statement).first()
        return None if row is None else LeaseRenewal(list(row[0] or []), row[1])

    def expired_leases(
        self,
        cutoff: datetime,
        *,
        asked_cutoff: datetime,
        asked_objective: str,
        search_id: int | None = None,
    ) -> Sequence[Trial]:
        """Running trials last heartbeated before `cutoff`, or before `asked_cutoff` for the trials of
        searches whose objective is `asked_objective` (ask/tell clients hold longer leases than workers);
        of every search, or of `search_id`."""
        asked = Search.objective == asked_objective
        statement = (
            select(Trial)
            .join(Search, Search.id == Trial.search_id)
            .where(
                Trial.state == TrialState.RUNNING.value,
                Trial.heartbeat_at < max(cutoff, asked_cutoff),  # what the (state, heartbeat_at) index reads
                or_(
                    and_(~asked, Trial.heartbeat_at < cutoff),
                    and_(asked, Trial.heartbeat_at < asked_cutoff),
                ),
            )
        )
        if search_id is not None:
            statement = statement.where(Trial.search_id == search_id)
        return self.session.scalars(statement).all()

    def queued_since_before(
        self, cutoff: datetime, *, skip_objective: str, limit: int = 1000
    ) -> list[tuple[int, int, str]]:
        """(id, attempt, objective) of trials queued since before `cutoff`, but not of `skip_objective`."""
        statement = (
            select(Trial.id, Trial.attempt, Search.objective)
            .join(Search, Search.id == Trial.search_id)
            .where(
                Trial.state == TrialState.QUEUED.value,
                Trial.updated_at < cutoff,
                Search.objective != skip_objective,
            )
            .order_by(Trial.id)
            .limit(limit)
        )
        return [(row.id, row.attempt, row.objective) for row in self.session.execute(statement)]

    def next_queued(self, search_id: int) -> int | None:
        """The id of the search's lowest-numbered queued trial."""
        statement = (
            select(Trial.id)
            .where(Trial.search_id == search_id, Trial.state == TrialState.QUEUED.value)
            .order_by(Trial.number)
            .limit(1)
        )
        return self.session.scalar(statement)

    def first_failure(self, search_id: int) -> tuple[int, str | None] | None:
        """(number, error) of the search's first trial to fail, or None."""
        statement = (
            select(Trial.number, Trial.error)
            .where(Trial.search_id == search_id, Trial.state == TrialState.FAILED.value)
            .order_by(Trial.finished_at, Trial.id)
            .limit(1)
        )
        row = self.session.execute(statement).first()
        return (row.number, row.error) if row is not None else None

    def active_ids(self, search_id: int) -> list[int]:
        """The search's queued, running and paused trials."""
        statement = select(Trial.id).where(
            Trial.search_id == search_id, Trial.state.in_(sorted(state.value for state in ACTIVE_STATES))
        )
        return list(self.session.scalars(statement))

    def clear_curve(self, trial_id: int) -> None:
        self.session.execute(delete(TrialMetric).where(TrialMetric.trial_id == trial_id))

    def clear_curve_after(self, trial_id: int, step: int) -> None:
        """Delete the trial's curve points after `step` (those of a lost attempt past its checkpoint)."""
        self.session.execute(
            delete(TrialMetric).where(TrialMetric.trial_id == trial_id, TrialMetric.step > step)
        )

    def clear_curve_step(self, trial_id: int, step: int) -> None:
        self.session.execute(
            delete(TrialMetric).where(TrialMetric.trial_id == trial_id, TrialMetric.step == step)
        )

    def add_curve_point(self, trial_id: int, step: int, metrics: dict[str, float | None]) -> None:
        self.add_curve_points(curve_rows(trial_id, step, metrics))

    def add_curve_points(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert learning-curve points ({trial_id, step, name, value}) now, in one statement, without
        loading them into the session (nothing reads their ids)."""
        if rows:
            self.session.execute(insert(_TRIAL_METRICS), rows)

    def copy_curve(self, from_trial_id: int, to_trial_id: int, *, up_to_step: int) -> None:
        """Copy a trial's curve points up to `up_to_step` to another trial, in the database."""
        points = select(
            literal(to_trial_id, IdType), TrialMetric.step, TrialMetric.name, TrialMetric.value
        ).where(TrialMetric.trial_id == from_trial_id, TrialMetric.step <= up_to_step)
        self.session.execute(insert(TrialMetric).from_select(["trial_id", "step", "name", "value"], points))

    def curve(self, trial_id: int) -> Sequence[TrialMetric]:
        statement = (
            select(TrialMetric)
            .where(TrialMetric.trial_id == trial_id)
            .order_by(TrialMetric.step, TrialMetric.name)
        )
        return self.session.scalars(statement).all()

    def metric_curve(self, trial_id: int, name: str) -> dict[int, float]:
        """step -> value of one metric of the trial's curve, its finite values only."""
        statement = (
            select(TrialMetric.step, TrialMetric.value)
            .where(TrialMetric.trial_id == trial_id, TrialMetric.name == name, TrialMetric.value.is_not(None))
            .order_by(TrialMetric.step)
        )
        return {step: value for step, value in self.session.execute(statement) if value is not None}

    def metric_at_step(
        self, search_id: int, metric: str, step: int, *, exclude_trial_id: int
    ) -> list[tuple[str, float]]:
        """(state, value) of the peers at `step` (see `peers_at_step`) whose value is finite: a pruner's."""
        return [
            (state, value)
            for _, state, value in self.peers_at_step(
                search_id, metric, step, exclude_trial_id=exclude_trial_id
            )
            if value is not None
        ]

    def own_values_at_step(
        self, search_id: int, metric: str, step: int, *, exclude_trial_id: int
    ) -> list[tuple[int, float | None]]:
        """(trial id, value) of the peers at `step` (None: not finite), by trial id: PBT's ranking."""
        peers = self.peers_at_step(search_id, metric, step, exclude_trial_id=exclude_trial_id)
        return sorted((trial_id, value) for trial_id, _, value in peers)

    def peers_at_step(
        self, search_id: int, metric: str, step: int, *, exclude_trial_id: int
    ) -> list[tuple[int, str, float | None]]:
        """(trial id, state, value) of every other trial of the search that trained `step` itself and
        reported `metric` there (a branch's copy of its parent's points up to its branch step is not its
        own, so not a second peer)."""
        statement = (
            select(Trial.id, Trial.state, TrialMetric.value)
            .join(TrialMetric, TrialMetric.trial_id == Trial.id)
            .where(
                Trial.search_id == search_id,
                Trial.id != exclude_trial_id,
                _trained_itself(step),
                TrialMetric.name == metric,
                TrialMetric.step == step,
            )
        )
        return [(int(trial_id), state, value) for trial_id, state, value in self.session.execute(statement)]


_FINISH_ARRAYS: tuple[tuple[str, Any], ...] = (
    ("id", BigInteger()),
    ("attempt", Integer()),
    ("state", String()),
    ("value", Float()),
    ("metrics", Text()),  # JSON text, cast in the statement
    ("metric_value", Float()),
    ("error", Text()),
    ("pruned_step", Integer()),
    ("started_at", UTCDateTime()),
    ("finished_at", UTCDateTime()),
    ("updated_at", UTCDateTime()),
)
"""The columns of `TrialRepository.finish_claimed`'s rows, as the typed arrays its PostgreSQL UPDATE binds."""


@lru_cache(maxsize=1)
def _finish_statement() -> Update:
    """UPDATE trials ... FROM unnest(:outcome_id, :outcome_attempt, ...) AS outcome(id, attempt, ...)
    WHERE trials.id = outcome.id AND trials.attempt = outcome.attempt AND trials.state = 'running'
    RETURNING trials.id: built once, so its text (and its compiled form) is the same for every batch."""
    outcome = unnested("outcome", _FINISH_ARRAYS)
    table = _TRIALS
    assigned: dict[str, ColumnElement[Any]] = {name: outcome.c[name] for name, _ in _FINISH_ARRAYS[2:]}
    assigned["metrics"] = cast(outcome.c.metrics, JSON)
    return (
        update(table)
        .where(
            table.c.id == outcome.c.id,
            table.c.attempt == outcome.c.attempt,
            table.c.state == TrialState.RUNNING.value,
        )
        .values(run_request=None, **assigned)  # a pause or stop asked too late: the trial ended first
        .returning(table.c.id)
    )


_QUEUED_ARRAYS: tuple[tuple[str, Any], ...] = (
    ("search_id", BigInteger()),
    ("number", Integer()),
    ("round", Integer()),
    ("params", Text()),  # JSON text, cast in the statement
    ("seed", BigInteger()),
    ("state", String()),
    ("attempt", Integer()),
    ("created_at", UTCDateTime()),
    ("updated_at", UTCDateTime()),
)
"""The columns `TrialRepository.add_queued` writes, as the typed arrays its PostgreSQL INSERT binds."""


@lru_cache(maxsize=1)
def _add_queued_statement() -> ReturningInsert[int, int, int]:
    """INSERT INTO trials (...) SELECT ... FROM unnest(:new_search_id, ...) WITH ORDINALITY ORDER BY
    ordinality RETURNING search_id, number, id: the same text for any number of trials (compiled once,
    prepared once), ids given in the rows' order."""
    inserted = insert_rows(_TRIALS, "new", _QUEUED_ARRAYS, json_columns=("params",))
    return inserted.returning(_TRIALS.c.search_id, _TRIALS.c.number, _TRIALS.c.id)


def curve_rows(trial_id: int, step: int, metrics: Mapping[str, float | None]) -> list[dict[str, Any]]:
    """The `trial_metrics` rows of one learning-curve point, for `TrialRepository.add_curve_points`."""
    return [
        {"trial_id": trial_id, "step": step, "name": name, "value": value} for name, value in metrics.items()
    ]


def _branches(search_id: int) -> Select[int]:
    """How many of the search's trials are branches (on the `(search_id, parent_trial_id)` index)."""
    return select(func.count()).where(Trial.search_id == search_id, Trial.parent_trial_id.is_not(None))


def _trained_itself(step: int) -> ColumnElement[bool]:
    """Whether the trial trained `step` itself: not a branch whose curve up to its branch step is a copy."""
    return or_(Trial.branch_step.is_(None), Trial.branch_step < step)


def _in_states(states: Sequence[str]) -> list[ColumnElement[bool]]:
    return [Trial.state.in_(list(states))] if states else []


def _changed_one_row(result: Result[Any]) -> bool:
    """Whether a conditional UPDATE matched its row: the compare-and-set was won."""
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


def _export_column(column: Any, dialect: str) -> Any:
    """`column` as `export_rows` returns it: timestamps and JSON as text, the rest unchanged."""
    if isinstance(column.type, JSON):
        return cast(column, Text).label(column.key)
    if not isinstance(column.type, UTCDateTime):
        return column
    if dialect == "sqlite":
        # SQLAlchemy stores naive UTC as 'YYYY-MM-DD HH:MM:SS.ffffff' on SQLite.
        text = func.replace(column, " ", "T", type_=String).concat("+00:00")
    else:
        text = func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"', type_=String)
    # isoformat() leaves out the fraction of a whole second.
    return func.replace(text, ".000000+", "+", type_=String).label(column.key)

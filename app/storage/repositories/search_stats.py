"""Queries over `search_stats`, the per-search counters that every trial write keeps current (see
app/storage/search_stats.py): trials per state, a version for ETags, and trial durations for /metrics.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, case, exists, func, select, update
from sqlalchemy.orm import Session, attributes

from app.domain.trial_state import TrialState
from app.storage.models import Search, SearchStats, Trial, TrialCheckpoint
from app.storage.repositories.stats import StatsRepository

DURATION_BOUNDS: tuple[float, ...] = (
    0.1,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    1800.0,
    3600.0,
)
"""Histogram bucket bounds of trial durations, in seconds. Stored buckets follow them: changing them
needs a migration that rebuilds `search_stats.durations` (0004 keeps the copy it wrote with)."""


@dataclass
class PendingStats:
    """One search's trial changes in the current transaction, not yet written to its stats row."""

    counts: Counter[str] = field(default_factory=Counter)
    durations: list[tuple[str, float]] = field(default_factory=list)
    checkpointed: bool = False
    """A trial of the search stored a checkpoint."""

    @property
    def moved_trials(self) -> bool:
        return bool(self.counts or self.durations)


@dataclass(frozen=True)
class StatsRead:
    """A search's counters row as this transaction read it: the base its changes are added to at commit."""

    version: int
    counts: dict[str, int]
    durations: dict[str, Any]
    checkpointed: bool = True
    """Whether a trial of the search had stored a checkpoint (True: it may have, when unknown)."""


_READS = "caviar_search_stats_reads"


def reads(session: Session) -> dict[int, StatsRead]:
    """The counters rows read in the session's current transaction, by search id (dropped when it ends)."""
    read: dict[int, StatsRead] = session.info.setdefault(_READS, {})
    return read


def forget_reads(session: Session) -> None:
    session.info.pop(_READS, None)


@dataclass(frozen=True)
class VersionSum:
    """Searches matching a filter, how many of them have a stats row, and the sum of their versions:
    changes whenever a trial of any of them is written (versions only grow)."""

    searches: int
    with_stats: int
    versions: int


def add_duration(durations: dict[str, Any], state: str, seconds: float) -> None:
    """Count one finished run of `seconds` in the histogram of `state` (changed in place)."""
    buckets = [1 if seconds <= bound else 0 for bound in DURATION_BOUNDS]
    add_histogram(durations, state, {"count": 1, "sum": seconds, "buckets": buckets})


def add_histogram(durations: dict[str, Any], state: str, histogram: Mapping[str, Any]) -> None:
    """Add `histogram` ({count, sum, buckets}) to the one of `state` in `durations` (changed in place)."""
    total = durations.setdefault(state, {"count": 0, "sum": 0.0, "buckets": [0] * len(DURATION_BOUNDS)})
    total["count"] += histogram["count"]
    total["sum"] += histogram["sum"]
    total["buckets"] = [a + b for a, b in zip(total["buckets"], histogram["buckets"], strict=True)]


def added(
    counts: Mapping[str, int], durations: Mapping[str, Any], change: PendingStats
) -> tuple[dict[str, int], dict[str, Any]]:
    """A row's (counts, durations) with `change` added; the arguments are left as they were."""
    new_counts = Counter(counts)
    new_counts.update(change.counts)
    new_durations = {state: dict(stats) for state, stats in durations.items()}
    for state, seconds in change.durations:
        add_duration(new_durations, state, seconds)
    return {state: count for state, count in new_counts.items() if count}, new_durations


def all_states(counts: Mapping[str, int]) -> dict[str, int]:
    """`counts` with every trial state present (0 where none)."""
    return {**{state.value: 0 for state in TrialState}, **counts}


class SearchStatsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, search_id: int) -> SearchStats | None:
        """The search's row, read again; remembered as this transaction's read of it (see `apply`)."""
        row = self.session.get(SearchStats, search_id, populate_existing=True)
        if row is not None:
            self.remember(row)
        return row

    def remember(self, row: SearchStats) -> None:
        reads(self.session)[row.search_id] = StatsRead(
            row.version, dict(row.counts), dict(row.durations), row.checkpointed
        )

    def checkpointed_as_read(self, search_id: int) -> bool:
        """Whether a trial of the search had stored a checkpoint, by the row this transaction read (no
        statement); True when it read none."""
        read = reads(self.session).get(search_id)
        return read is None or read.checkpointed

    def _mark_checkpointed(self, search_id: int) -> None:
        """Note that a trial of the search stored a checkpoint. Changes the row only the first time, so it
        then takes no lock and waits for no writer; it bumps no version (no read shows it)."""
        statement = (
            update(SearchStats)
            .where(SearchStats.search_id == search_id, SearchStats.checkpointed.is_(False))
            .values(checkpointed=True)
            .execution_options(synchronize_session=False)
        )
        self.session.execute(statement)

    def apply(self, changes: Mapping[int, PendingStats]) -> None:
        """Add a transaction's changes to their searches' rows, in search id order. A row this transaction
        read is written in one UPDATE conditional on the version it read (no other writer came between);
        otherwise, or if one did, the row is locked and read again first. A search with no row yet
        (written before the row existed, or bypassing the repositories) gets it rebuilt."""
        read = reads(self.session)
        for search_id in sorted(changes):
            if not changes[search_id].moved_trials:  # a checkpoint stored, no trial moved: no new version
                self._mark_checkpointed(search_id)
                continue
            seen = read.get(search_id)
            if seen is not None and self._write_over(search_id, seen, changes[search_id]):
                continue
            statement = (
                select(SearchStats).where(SearchStats.search_id == search_id).with_for_update(key_share=True)
            )
            row = self.session.scalars(statement.execution_options(populate_existing=True)).one_or_none()
            if row is None:
                self.rebuild(search_id)
                continue
            row.counts, row.durations = added(row.counts, row.durations, changes[search_id])
            row.checkpointed = row.checkpointed or changes[search_id].checkpointed
            row.version += 1
        self.session.flush()

    def _write_over(self, search_id: int, seen: StatsRead, change: PendingStats) -> bool:
        """Write `seen` plus `change` if the row is still at `seen`'s version; whether it was. The mark of
        a stored checkpoint is only ever set: another transaction may have set it since the read (a mark
        takes no new version), and writing the value read back would undo it."""
        counts, durations = added(seen.counts, seen.durations, change)
        written: dict[str, Any] = {"counts": counts, "durations": durations, "version": seen.version + 1}
        if change.checkpointed:
            written["checkpointed"] = True
        statement = (
            update(SearchStats)
            .where(SearchStats.search_id == search_id, SearchStats.version == seen.version)
            .values(**written)
            .execution_options(synchronize_session=False)
        )
        if int(self.session.execute(statement).rowcount) != 1:  # type: ignore[attr-defined]
            return False
        row = self.session.identity_map.get(self.session.identity_key(SearchStats, search_id))
        if isinstance(row, SearchStats):  # the loaded row, as now stored
            for name, value in written.items():
                attributes.set_committed_value(row, name, value)
        return True

    def rebuild(self, search_id: int) -> SearchStats:
        """Recount the search's row from its trials (O(trials)), and whether one holds a checkpoint: for rows
        written in bulk, around the repositories, as benchmarks and imports do."""
        stored = exists().where(TrialCheckpoint.trial_id == Trial.id)
        statement = (
            select(Trial.state, func.count(), func.max(case((stored, 1), else_=0)))
            .where(Trial.search_id == search_id)
            .group_by(Trial.state)
        )
        rows = self.session.execute(statement).all()
        counts = {str(state): int(count) for state, count, _ in rows}
        checkpointed = any(holds for _, _, holds in rows)
        durations = {
            stats.state: stats.histogram()
            for stats in StatsRepository(self.session).trial_durations(DURATION_BOUNDS, [search_id])
        }
        row = self.session.get(SearchStats, search_id)
        if row is None:
            row = SearchStats(
                search_id=search_id, version=1, counts=counts, durations=durations, checkpointed=checkpointed
            )
            self.session.add(row)
        else:
            row.counts, row.durations, row.version = counts, durations, row.version + 1
            row.checkpointed = row.checkpointed or checkpointed
        self.session.flush()
        # Counted from the rows, this transaction's own changes included: not a base to add them to.
        reads(self.session).pop(search_id, None)
        return row

    def all_rows(self) -> Iterable[tuple[dict[str, int], dict[str, Any]]]:
        """(counts, durations) of every search that has a row: /metrics adds them up."""
        statement = select(SearchStats.counts, SearchStats.durations)
        return ((row.counts, row.durations) for row in self.session.execute(statement))

    def searches_without_stats(self) -> list[int]:
        """Ids of searches that have no stats row (none should, after migration 0004)."""
        statement = select(Search.id).where(~_has_stats())
        return list(self.session.scalars(statement))

    def version_sum(self, conditions: Iterable[ColumnElement[bool]]) -> VersionSum:
        """Over the searches matching `conditions` (on `Search` columns)."""
        statement = (
            select(func.count(Search.id), func.count(SearchStats.search_id), func.sum(SearchStats.version))
            .select_from(Search)
            .outerjoin(SearchStats, SearchStats.search_id == Search.id)
            .where(*conditions)
        )
        searches, with_stats, versions = self.session.execute(statement).one()
        return VersionSum(int(searches), int(with_stats), int(versions or 0))


def _has_stats() -> ColumnElement[bool]:
    return select(SearchStats.search_id).where(SearchStats.search_id == Search.id).exists()

"""SQLAlchemy models: searches, trials, per-epoch trial metrics, trial checkpoints, workers, events, datasets
and API keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# One integer type for primary keys: BIGINT on PostgreSQL, INTEGER on SQLite (where only INTEGER
# PRIMARY KEY autoincrements).
IdType = BigInteger().with_variant(Integer(), "sqlite")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite keeps no offset: store naive UTC there)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: use timezone-aware UTC timestamps")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime()}


class Search(Base):
    __tablename__ = "searches"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    name: Mapped[str | None] = mapped_column(String(200))
    objective: Mapped[str] = mapped_column(String(100))
    dataset: Mapped[str | None] = mapped_column(
        String(200), doc="Dataset name or uploaded dataset id; NULL when the objective uses none."
    )
    metric: Mapped[str] = mapped_column(String(100))
    direction: Mapped[str] = mapped_column(String(8))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, doc="The spec as stored: defaults filled in.")
    state: Mapped[str] = mapped_column(String(16), index=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    strategy_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_fingerprint: Mapped[str | None] = mapped_column(
        String(64), doc="sha256 of the creating request's spec: a key reused with another body is refused."
    )
    parent_search_id: Mapped[int | None] = mapped_column(ForeignKey("searches.id", ondelete="SET NULL"))
    error: Mapped[str | None] = mapped_column(Text, doc="Why a failed search failed: its first trial error.")
    created_by_key: Mapped[str | None] = mapped_column(
        String(100), doc="Name of the API key that created it; NULL when keys were not required."
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_searches_objective_dataset", "objective", "dataset"),)


class Trial(Base):
    __tablename__ = "trials"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    search_id: Mapped[int] = mapped_column(ForeignKey("searches.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer, doc="0-based, consecutive within the search.")
    round: Mapped[int | None] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer, default=0, doc="Claims so far; completion must match it.")
    worker_id: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None] = mapped_column(
        doc="Lease: the claiming worker's last sign of life."
    )
    value: Mapped[float | None] = mapped_column(Float, doc="Final value of the search metric.")
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON, doc="All final metrics.")
    metric_value: Mapped[float | None] = mapped_column(
        Float,
        doc="`metrics[<the search's metric>]` in a column of its own, whatever the state (a pruned trial's "
        "last report, where `value` is NULL): sorting by the search's metric reads an index, not the JSON.",
    )
    error: Mapped[str | None] = mapped_column(Text)
    pruned_step: Mapped[int | None] = mapped_column(Integer)
    controls_pending: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSON,
        doc="Nudges asked and not yet applied, oldest first: {changes: {name: value}, by, requested_at}.",
    )
    nudges: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSON, doc="Nudges applied: {step, changes: {name: {old, new}}, by, requested_at, at}; NULL: none."
    )
    run_request: Mapped[dict[str, Any] | None] = mapped_column(
        JSON,
        doc="A pause or stop asked of the trial and not yet done by its worker: {action: pause | stop, by, "
        "requested_at}; NULL: none.",
    )
    parent_trial_id: Mapped[int | None] = mapped_column(
        IdType,
        ForeignKey("trials.id", ondelete="SET NULL"),
        doc="A branch's parent: the trial whose checkpoint it started from; NULL for the strategy's trials.",
    )
    branch_step: Mapped[int | None] = mapped_column(
        Integer, doc="The parent's step (epoch) whose checkpoint the branch started from."
    )
    branch_params: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, doc="The hyperparameters the branch changed at `branch_step`: {name: new value}."
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("search_id", "number", name="uq_trials_search_id_number"),
        # A search's branches, counted by `advance_search`; the checkpoints branches were taken from.
        Index("ix_trials_search_id_parent_trial_id", "search_id", "parent_trial_id"),
        Index("ix_trials_parent_trial_id_branch_step", "parent_trial_id", "branch_step"),
        Index("ix_trials_search_id_state", "search_id", "state"),
        Index("ix_trials_search_id_value", "search_id", "value"),
        Index("ix_trials_search_id_updated_at", "search_id", "updated_at"),
        Index("ix_trials_state_heartbeat_at", "state", "heartbeat_at"),
        Index("ix_trials_search_id_metric_value_id", "search_id", "metric_value", "id"),
        Index("ix_trials_metric_value_id", "metric_value", "id"),
    )


class SearchStats(Base):
    """What reads of a search need without counting its trials, kept current by every trial write in the
    same transaction (app/storage/search_stats.py)."""

    __tablename__ = "search_stats"

    search_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("searches.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(BigInteger, doc="Bumped by every transaction that writes a trial.")
    counts: Mapped[dict[str, int]] = mapped_column(JSON, doc="Trials per state.")
    durations: Mapped[dict[str, Any]] = mapped_column(
        JSON,
        doc="Per final state: {count, sum (seconds), buckets (cumulative counts at DURATION_BOUNDS)} of "
        "finished_at - started_at.",
    )
    checkpointed: Mapped[bool] = mapped_column(
        Boolean,
        default=False,
        server_default=false(),
        doc="Whether a trial of the search has stored a checkpoint (never unset): until one has, a finished "
        "trial leaves no checkpoint to prune.",
    )


class TrialMetric(Base):
    """One learning-curve point of the current attempt of a trial."""

    __tablename__ = "trial_metrics"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"))
    step: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    value: Mapped[float | None] = mapped_column(Float, doc="NULL stands for a non-finite value.")

    __table_args__ = (
        UniqueConstraint("trial_id", "name", "step", name="uq_trial_metrics_trial_id_name_step"),
    )


class TrialCheckpoint(Base):
    """A checkpoint of a trial after one step: the latest is what its next attempt resumes from, on any
    machine, and any kept one can start a branch. Written only by the attempt holding the trial's claim, in
    the transaction of the epoch it follows; thinned and pruned by app/services/checkpoints.py."""

    __tablename__ = "trial_checkpoints"

    trial_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("trials.id", ondelete="CASCADE"), primary_key=True
    )
    step: Mapped[int] = mapped_column(
        Integer, primary_key=True, doc="The epoch (learning-curve step) it was taken after."
    )
    attempt: Mapped[int] = mapped_column(Integer, doc="The attempt of the trial that wrote it.")
    size: Mapped[int] = mapped_column(Integer, doc="len(content), readable without reading the content.")
    content: Mapped[bytes] = mapped_column(LargeBinary, doc="The objective's state (the MLP's: .npz bytes).")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Worker(Base):
    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), doc="idle | busy | stopped")
    current_trial_id: Mapped[int | None] = mapped_column(IdType)
    objectives: Mapped[list[str]] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)


class Event(Base):
    """Append-only log of what happened in a search; feeds Server-Sent Events across machines."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    search_id: Mapped[int] = mapped_column(ForeignKey("searches.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    trial_id: Mapped[int | None] = mapped_column(IdType)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_events_search_id_id", "search_id", "id"),
        # A trial's resumes, for its detail (the resume marks on its curve); the other kinds go unindexed.
        Index(
            "ix_events_trial_resumed",
            "trial_id",
            "id",
            postgresql_where=text("kind = 'trial_resumed'"),
            sqlite_where=text("kind = 'trial_resumed'"),
        ),
    )


class StoredDataset(Base):
    """An uploaded dataset, stored by content hash so workers on any machine can fetch and cache it."""

    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, doc="sha256 of `content`.")
    name: Mapped[str] = mapped_column(String(200), unique=True)
    n_rows: Mapped[int] = mapped_column(Integer)
    n_features: Mapped[int] = mapped_column(Integer)
    n_classes: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary, doc="The dataset as .npz bytes (X, y).")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """An API key: its secret is stored only as a scrypt hash (see app/domain/api_keys.py)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True, doc="Shown on the searches it creates.")
    prefix: Mapped[str] = mapped_column(String(16), unique=True, doc="The key's public part, to find it.")
    secret_hash: Mapped[str] = mapped_column(String(200), doc="`scrypt$<salt>$<hash>` of the secret.")
    scope: Mapped[str] = mapped_column(String(16), doc="read | submit | admin")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None] = mapped_column(doc="Updated at most once a minute.")

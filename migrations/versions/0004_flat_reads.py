"""flat reads: trials.metric_value with its indexes; search_stats (counts, version, durations per search)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:00:00.000000

"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of app.storage.search_stats.DURATION_BOUNDS at this revision: stored buckets follow it.
DURATION_BOUNDS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
ID_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("trials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("metric_value", sa.Float(), nullable=True))
    _backfill_metric_value()
    with op.batch_alter_table("trials", schema=None) as batch_op:
        batch_op.create_index(
            "ix_trials_search_id_metric_value_id", ["search_id", "metric_value", "id"], unique=False
        )
        batch_op.create_index("ix_trials_metric_value_id", ["metric_value", "id"], unique=False)
    op.create_table(
        "search_stats",
        sa.Column("search_id", ID_TYPE, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("durations", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["search_id"],
            ["searches.id"],
            name=op.f("fk_search_stats_search_id_searches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("search_id", name=op.f("pk_search_stats")),
    )
    _backfill_search_stats()


def downgrade() -> None:
    op.drop_table("search_stats")
    with op.batch_alter_table("trials", schema=None) as batch_op:
        batch_op.drop_index("ix_trials_metric_value_id")
        batch_op.drop_index("ix_trials_search_id_metric_value_id")
        batch_op.drop_column("metric_value")


def _backfill_metric_value() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            """
            UPDATE trials SET metric_value = (
                SELECT CASE WHEN json_type(trials.metrics, '$."' || searches.metric || '"')
                                 IN ('real', 'integer')
                            THEN json_extract(trials.metrics, '$."' || searches.metric || '"') END
                FROM searches WHERE searches.id = trials.search_id)
            WHERE json_type(trials.metrics) = 'object'
            """
        )
        return
    op.execute(
        """
        UPDATE trials SET metric_value = CAST(trials.metrics ->> searches.metric AS DOUBLE PRECISION)
        FROM searches
        WHERE searches.id = trials.search_id AND json_typeof(trials.metrics) = 'object'
          AND json_typeof(trials.metrics -> searches.metric) = 'number'
        """
    )


def _backfill_search_stats() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        seconds = "(julianday(finished_at) - julianday(started_at)) * 86400.0"
    else:
        seconds = "EXTRACT(EPOCH FROM finished_at - started_at)"
    buckets = ", ".join(f"SUM(CASE WHEN {seconds} <= {bound} THEN 1 ELSE 0 END)" for bound in DURATION_BOUNDS)
    stats: dict[int, dict[str, Any]] = {}
    for search_id, state, count in bind.execute(
        sa.text("SELECT search_id, state, COUNT(*) FROM trials GROUP BY search_id, state")
    ):
        stats.setdefault(search_id, {"counts": {}, "durations": {}})["counts"][state] = int(count)
    durations = sa.text(
        f"SELECT search_id, state, COUNT(*), SUM({seconds}), {buckets} FROM trials "
        "WHERE started_at IS NOT NULL AND finished_at IS NOT NULL GROUP BY search_id, state"
    )
    for row in bind.execute(durations):
        search_id, state, count, total = row[0], row[1], int(row[2]), float(row[3] or 0.0)
        stats[search_id]["durations"][state] = {
            "count": count,
            "sum": total,
            "buckets": [int(n or 0) for n in row[4:]],
        }
    for (search_id,) in bind.execute(sa.text("SELECT id FROM searches")):
        stats.setdefault(search_id, {"counts": {}, "durations": {}})
    table = sa.table(
        "search_stats",
        sa.column("search_id", ID_TYPE),
        sa.column("version", sa.BigInteger()),
        sa.column("counts", sa.JSON()),
        sa.column("durations", sa.JSON()),
    )
    rows = [{"search_id": key, "version": 1, **value} for key, value in stats.items()]
    if rows:
        op.bulk_insert(table, rows)

"""events: a partial index on the `trial_resumed` events by trial, so GET /trials/{id} lists a trial's
resumes (its curve's marks) without reading its search's whole event log

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 11:45:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RESUMES = sa.text("kind = 'trial_resumed'")


def upgrade() -> None:
    op.create_index(
        "ix_events_trial_resumed",
        "events",
        ["trial_id", "id"],
        postgresql_where=RESUMES,
        sqlite_where=RESUMES,
    )


def downgrade() -> None:
    op.drop_index("ix_events_trial_resumed", table_name="events")

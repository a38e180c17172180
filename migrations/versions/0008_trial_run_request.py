"""trials.run_request: a pause or stop asked of a trial, kept until its worker does it

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 10:40:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("trials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("run_request", sa.JSON(), nullable=True))


def downgrade() -> None:
    # Paused trials have no state to go back to before this revision: they are queued again.
    op.execute("UPDATE trials SET state = 'queued' WHERE state = 'paused'")
    with op.batch_alter_table("trials", schema=None) as batch_op:
        batch_op.drop_column("run_request")

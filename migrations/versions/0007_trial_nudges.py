"""trials.controls_pending and trials.nudges: live hyperparameter changes asked of a running trial, and
those it applied (step, old -> new, by, at)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-12 10:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("trials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("controls_pending", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("nudges", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trials", schema=None) as batch_op:
        batch_op.drop_column("nudges")
        batch_op.drop_column("controls_pending")

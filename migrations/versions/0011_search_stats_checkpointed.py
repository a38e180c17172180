"""search_stats.checkpointed: whether a trial of the search has stored a checkpoint, so that finishing a
trial of a search that never stored one sends no checkpoint-pruning DELETE

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 16:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("search_stats", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("checkpointed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    # Existing searches are taken to have checkpoints: pruning goes on for them as before.
    op.execute("UPDATE search_stats SET checkpointed = true")


def downgrade() -> None:
    with op.batch_alter_table("search_stats", schema=None) as batch_op:
        batch_op.drop_column("checkpointed")

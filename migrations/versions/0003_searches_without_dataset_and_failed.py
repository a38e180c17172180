"""searches.dataset optional (external and dataset-less objectives); searches.error for failed searches

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 16:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("searches", schema=None) as batch_op:
        batch_op.alter_column("dataset", existing_type=sa.String(length=200), nullable=True)
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))


def downgrade() -> None:
    op.execute("UPDATE searches SET dataset = '' WHERE dataset IS NULL")
    with op.batch_alter_table("searches", schema=None) as batch_op:
        batch_op.drop_column("error")
        batch_op.alter_column("dataset", existing_type=sa.String(length=200), nullable=False)

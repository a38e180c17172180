"""trial branches and per-step checkpoints: trials.parent_trial_id, branch_step, branch_params (a trial
started from another trial's checkpoint with changed hyperparameters); trial_checkpoints keyed by
(trial_id, step), so a trial keeps checkpoints at several steps

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-14 10:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("trials", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("parent_trial_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.add_column(sa.Column("branch_step", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("branch_params", sa.JSON(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_trials_parent_trial_id_trials"),
            "trials",
            ["parent_trial_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_trials_search_id_parent_trial_id", ["search_id", "parent_trial_id"])
        batch_op.create_index("ix_trials_parent_trial_id_branch_step", ["parent_trial_id", "branch_step"])
    with op.batch_alter_table("trial_checkpoints", schema=None) as batch_op:
        batch_op.drop_constraint("pk_trial_checkpoints", type_="primary")
        batch_op.create_primary_key("pk_trial_checkpoints", ["trial_id", "step"])


def downgrade() -> None:
    # Back to one checkpoint per trial: its latest.
    op.execute(
        "DELETE FROM trial_checkpoints WHERE step < "
        "(SELECT MAX(latest.step) FROM trial_checkpoints AS latest "
        "WHERE latest.trial_id = trial_checkpoints.trial_id)"
    )
    with op.batch_alter_table("trial_checkpoints", schema=None) as batch_op:
        batch_op.drop_constraint("pk_trial_checkpoints", type_="primary")
        batch_op.create_primary_key("pk_trial_checkpoints", ["trial_id"])
    with op.batch_alter_table("trials", schema=None) as batch_op:
        batch_op.drop_index("ix_trials_parent_trial_id_branch_step")
        batch_op.drop_index("ix_trials_search_id_parent_trial_id")
        batch_op.drop_constraint(batch_op.f("fk_trials_parent_trial_id_trials"), type_="foreignkey")
        batch_op.drop_column("branch_params")
        batch_op.drop_column("branch_step")
        batch_op.drop_column("parent_trial_id")

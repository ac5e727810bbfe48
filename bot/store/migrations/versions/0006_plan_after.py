"""When each physician next needs planning, so a scheduler tick reads only those due.

``plan_after`` is set by the scheduler to the next instant the reminder policy could give that
physician something new; NULL means "plan at the next tick". Every change to what the policy
reads bumps ``state_version`` and clears ``plan_after``; the scheduler writes ``plan_after``
only if the version it planned from is still current, so a change made mid-tick is not lost.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("plan_after", UTCDateTime))
        batch.add_column(sa.Column("state_version", sa.Integer, nullable=False, server_default="0"))
        batch.create_index("ix_people_plan_after", ["plan_after"])


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.drop_index("ix_people_plan_after")
        batch.drop_column("state_version")
        batch.drop_column("plan_after")

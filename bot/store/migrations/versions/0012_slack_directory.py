"""The Slack directory (users.list kept in the store), roster emails with no Slack account, and
outbox messages whose delivery is in doubt.

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_users",
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("email", sa.String(320)),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_slack_users_email", "slack_users", ["email"])
    op.create_table(
        "slack_missing",
        sa.Column("email", sa.String(320), primary_key=True),
        sa.Column("checked_at", UTCDateTime, nullable=False),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("in_doubt", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("in_doubt")
    op.drop_table("slack_missing")
    op.drop_index("ix_slack_users_email", "slack_users")
    op.drop_table("slack_users")

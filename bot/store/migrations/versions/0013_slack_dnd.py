"""Slack users' Do Not Disturb windows, so reminders wait until DND ends.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_dnd",
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("dnd_start", UTCDateTime),
        sa.Column("dnd_end", UTCDateTime),
        sa.Column("snooze_end", UTCDateTime),
        sa.Column("checked_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("slack_dnd")

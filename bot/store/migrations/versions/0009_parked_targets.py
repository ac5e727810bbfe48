"""Where the app was uninstalled: outbox messages to those places are parked, not sent or failed.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parked_targets",
        sa.Column("platform", sa.String(16), primary_key=True),
        sa.Column("address", sa.String(300), primary_key=True),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("since", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("parked_targets")

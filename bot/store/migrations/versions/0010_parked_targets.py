"""Where the app was uninstalled: outbox messages to those places are parked, not sent or failed.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision = "0010"
down_revision = "0009"
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

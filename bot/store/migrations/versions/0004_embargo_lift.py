"""When a meeting's embargo on late-breaking results lifts (for the draft checker).

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        batch.add_column(sa.Column("embargo_lifts_at", UTCDateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        batch.drop_column("embargo_lifts_at")

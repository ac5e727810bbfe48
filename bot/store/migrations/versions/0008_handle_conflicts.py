"""X handles asked for while another physician holds them (refused; marketing sees them).

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handle_conflicts",
        sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("handle", sa.String(15), primary_key=True),
        sa.Column("holder_id", sa.Integer, sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
        sa.Column("asked_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("handle_conflicts")

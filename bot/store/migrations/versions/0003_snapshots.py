"""Weekly readiness snapshots, so digest trends are stored facts, not recomputed guesses.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COUNTS = ("physicians", "with_profile", "profile_complete", "following", "followed_back", "core_lessons_done",
          "camp_registered", "camp_done", "score_total")


def upgrade() -> None:
    op.create_table(
        "readiness_snapshots",
        sa.Column("week", sa.String(10), primary_key=True),
        sa.Column("department", sa.String(120), primary_key=True),
        *(sa.Column(name, sa.Integer, nullable=False) for name in COUNTS),
        sa.Column("taken_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("readiness_snapshots")

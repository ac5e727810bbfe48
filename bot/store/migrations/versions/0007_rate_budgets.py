"""Rate budgets shared by every instance (token buckets and Retry-After pauses per platform limit).

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_budgets",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("per_second", sa.Float, nullable=False),
        sa.Column("burst", sa.Float, nullable=False),
        sa.Column("tat", sa.Float, nullable=False),
        sa.Column("paused_until", sa.Float),
    )


def downgrade() -> None:
    op.drop_table("rate_budgets")

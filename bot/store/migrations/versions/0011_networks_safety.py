"""A physician's chosen networks, and private harassment reports (safety cases).

A safety case keeps the link to the incident, its kind and urgency, and who handled it: never the
text of the posts involved.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("networks", sa.String(100)))
    op.create_table(
        "safety_cases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("reference", sa.String(16), nullable=False, unique=True),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
        sa.Column("link", sa.String(500), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("urgency", sa.String(10), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("handled_at", UTCDateTime),
        sa.Column("handled_by", sa.Integer, sa.ForeignKey("people.id", ondelete="SET NULL")),
    )
    op.create_index("ix_safety_cases_person_id", "safety_cases", ["person_id"])
    op.create_index("ix_safety_cases_status", "safety_cases", ["status"])


def downgrade() -> None:
    op.drop_index("ix_safety_cases_status", "safety_cases")
    op.drop_index("ix_safety_cases_person_id", "safety_cases")
    op.drop_table("safety_cases")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("networks")

"""The content library: stories with an embargo lift, their audience, and what each physician did with them.

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("link", sa.String(500), nullable=False),
        sa.Column("post_x", sa.Text, nullable=False, server_default=""),
        sa.Column("post_bluesky", sa.Text, nullable=False, server_default=""),
        sa.Column("post_linkedin", sa.Text, nullable=False, server_default=""),
        sa.Column("alt_text", sa.Text, nullable=False, server_default=""),
        sa.Column("lifts_at", UTCDateTime, nullable=False),
        sa.Column("lift_zone", sa.String(64), nullable=False),
        sa.Column("expires_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_stories_lifts_at", "stories", ["lifts_at"])
    op.create_table(
        "story_audience",
        sa.Column("story_id", sa.Integer, sa.ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("kind", sa.String(12), primary_key=True),
        sa.Column("value", sa.String(120), primary_key=True),
    )
    op.create_table(
        "story_people",
        sa.Column("story_id", sa.Integer, sa.ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("offered_at", UTCDateTime),
        sa.Column("tapped_at", UTCDateTime),
        sa.Column("shared_at", UTCDateTime),
        sa.Column("declined_at", UTCDateTime),
    )
    op.create_index("ix_story_people_person_id", "story_people", ["person_id"])


def downgrade() -> None:
    op.drop_table("story_people")
    op.drop_table("story_audience")
    op.drop_table("stories")

"""People, identities, progress, meetings and Tweet Camp, event deduplication, settings.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _person_fk() -> sa.Column:
    return sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("department", sa.String(120), nullable=False, server_default=""),
        sa.Column("specialty", sa.String(120), nullable=False, server_default=""),
        sa.Column("role", sa.String(20), nullable=False, server_default="physician"),
        sa.Column("x_handle", sa.String(15)),
        sa.Column("timezone", sa.String(64)),
        sa.Column("active", sa.Boolean, nullable=False, server_default="1"),
        sa.Column("follows_hospital_at", UTCDateTime),
        sa.Column("followed_back_at", UTCDateTime),
        sa.Column("video_posted_at", UTCDateTime),
        sa.Column("snoozed_until", UTCDateTime),
        sa.Column("stopped_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "identities",
        sa.Column("platform", sa.String(16), primary_key=True),
        sa.Column("platform_user_id", sa.String(128), primary_key=True),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("linked_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "profile_items", _person_fk(),
        sa.Column("item_id", sa.String(64), primary_key=True),
        sa.Column("done_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "lessons_done", _person_fk(),
        sa.Column("lesson_id", sa.String(64), primary_key=True),
        sa.Column("completed_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "quiz_reviews", _person_fk(),
        sa.Column("lesson_id", sa.String(64), primary_key=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("streak", sa.Integer, nullable=False),
        sa.Column("due_at", UTCDateTime),
        sa.Column("retired", sa.Boolean, nullable=False),
        sa.Column("last_correct", sa.Boolean),
        sa.Column("answered_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("specialty", sa.String(120), nullable=False, server_default=""),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("city", sa.String(120), nullable=False, server_default=""),
        sa.Column("hashtag", sa.String(64), nullable=False, server_default=""),
        sa.Column("embargo", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "meeting_attendees",
        sa.Column("meeting_id", sa.Integer, sa.ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id", ondelete="CASCADE"), primary_key=True, index=True),
        sa.Column("joined_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "camp_items", _person_fk(),
        sa.Column("meeting_id", sa.Integer, sa.ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("item_id", sa.String(64), primary_key=True),
        sa.Column("done_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "processed_events",
        sa.Column("event_key", sa.String(200), primary_key=True),
        sa.Column("seen_at", UTCDateTime, nullable=False, index=True),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("settings", "processed_events", "camp_items", "meeting_attendees", "meetings",
                  "quiz_reviews", "lessons_done", "profile_items", "identities", "people"):
        op.drop_table(table)

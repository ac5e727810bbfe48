"""Tables, as SQLAlchemy Core metadata. Alembic migrations in ``migrations/`` create them."""
from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
)


class UTCDateTime(TypeDecorator):
    """Aware UTC instants in, aware UTC instants out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; instants must be timezone-aware")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def bind_processor(self, dialect):
        """The processed value of each instant, remembered: bulk writes repeat a few instants many
        times (a tick's due times and next checks), and processing one costs more than the lookup."""
        process = super().bind_processor(dialect)
        return lru_cache(maxsize=1024)(process) if process is not None else None

    def result_processor(self, dialect, coltype):
        """On SQLite, an instant as SQLAlchemy writes it (``YYYY-MM-DD HH:MM:SS.ffffff``) is parsed in
        one step (planning reads tens of thousands); anything else as SQLAlchemy reads it."""
        process = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or process is None:
            return process
        parse = datetime.fromisoformat

        def read(value):
            if value.__class__ is str and len(value) == 26:
                return parse(value).replace(tzinfo=UTC)
            return process(value)
        return read

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

people = Table(
    "people", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("department", String(120), nullable=False, server_default=""),
    Column("specialty", String(120), nullable=False, server_default=""),
    Column("role", String(20), nullable=False, server_default="physician"),
    Column("x_handle", String(15)),
    Column("timezone", String(64)),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("follows_hospital_at", UTCDateTime),
    Column("followed_back_at", UTCDateTime),
    Column("video_posted_at", UTCDateTime),
    Column("snoozed_until", UTCDateTime),
    Column("stopped_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # A physician's own reminder preferences ("HH:MM"); NULL means the hospital's setting
    Column("quiet_start", String(5)),
    Column("quiet_end", String(5)),
    Column("weekends_off", Boolean),
    Column("lesson_time", String(5)),
    # When the scheduler next needs to plan this physician (NULL: at the next tick), and a counter
    # bumped by every change the reminder policy reads (see migration 0006)
    Column("plan_after", UTCDateTime, index=True),
    Column("state_version", Integer, nullable=False, server_default="0"),
    # The networks the physician posts on, comma-separated ids ("x,bluesky"); NULL: the default (X)
    Column("networks", String(100)),
    # The physician's Bluesky handle (lower case) or DID, and LinkedIn profile URL (self-reported)
    Column("bluesky_handle", String(253)),
    Column("linkedin_url", String(500)),
)

PLAN_AGAIN = dict(plan_after=None, state_version=people.c.state_version + 1)
"""Values for an UPDATE of ``people`` that changes what the reminder policy reads: plan them again."""

identities = Table(
    "identities", metadata,
    Column("platform", String(16), primary_key=True),
    Column("platform_user_id", String(128), primary_key=True),
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("linked_at", UTCDateTime, nullable=False),
)

profile_items = Table(
    "profile_items", metadata,
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", String(64), primary_key=True),
    Column("done_at", UTCDateTime, nullable=False),
)

lessons_done = Table(
    "lessons_done", metadata,
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    Column("lesson_id", String(64), primary_key=True),
    Column("completed_at", UTCDateTime, nullable=False),
)

quiz_reviews = Table(
    "quiz_reviews", metadata,
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    Column("lesson_id", String(64), primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("streak", Integer, nullable=False),
    Column("due_at", UTCDateTime),
    Column("retired", Boolean, nullable=False),
    Column("last_correct", Boolean),
    Column("answered_at", UTCDateTime, nullable=False),
)

meetings = Table(
    "meetings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("specialty", String(120), nullable=False, server_default=""),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("city", String(120), nullable=False, server_default=""),
    Column("hashtag", String(64), nullable=False, server_default=""),
    Column("embargo", Text, nullable=False, server_default=""),
    Column("embargo_lifts_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
)

meeting_attendees = Table(
    "meeting_attendees", metadata,
    Column("meeting_id", Integer, ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True),
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column("joined_at", UTCDateTime, nullable=False),
)

camp_items = Table(
    "camp_items", metadata,
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    Column("meeting_id", Integer, ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", String(64), primary_key=True),
    Column("done_at", UTCDateTime, nullable=False),
)

processed_events = Table(
    "processed_events", metadata,
    Column("event_key", String(200), primary_key=True),
    Column("seen_at", UTCDateTime, nullable=False, index=True),
)

settings = Table(
    "settings", metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

conversation_refs = Table(
    "conversation_refs", metadata,
    Column("platform", String(16), primary_key=True),
    Column("address", String(300), primary_key=True),
    # A platform user id (personal chat) or channel id; the key proactive sends use.
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"), index=True),
    Column("reference", Text, nullable=False),
    # The platform's conversation reference as JSON (Teams: serviceUrl, conversation, bot, user).
    Column("updated_at", UTCDateTime, nullable=False),
)

outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedup_key", String(200), nullable=False, unique=True),
    # (person, kind, period): planning the same message twice hits this unique key.
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"), index=True),
    Column("platform", String(16), nullable=False),
    Column("address", String(300), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("spec", Text, nullable=False),
    # What to say as JSON ids and parameters (rendered at send time); never free text from users.
    Column("status", String(12), nullable=False, index=True),
    # pending → sending → sent; or dead after too many failures; or cancelled; or parked while the
    # app is uninstalled where it goes (see parked_targets).
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("due_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False, index=True),
    Column("lease_until", UTCDateTime),
    Column("lease_owner", String(64)),
    Column("last_error", String(300)),
    Column("message_id", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("in_doubt", Boolean, nullable=False, server_default=false()),
    # it may have arrived (a sender died mid-send, or the send timed out after the request was
    # written): it is sent again only after the platform says it is not there
)

slack_users = Table(
    "slack_users", metadata,
    Column("user_id", String(32), primary_key=True),
    Column("email", String(320), index=True),
    # lowercase; from users.list (daily), team_join/user_change events, or users.lookupByEmail
    Column("deleted", Boolean, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

slack_missing = Table(
    "slack_missing", metadata,
    Column("email", String(320), primary_key=True),
    # a roster email with no Slack account in the workspace (users.lookupByEmail said so)
    Column("checked_at", UTCDateTime, nullable=False),
)

slack_dnd = Table(
    "slack_dnd", metadata,
    Column("user_id", String(32), primary_key=True),
    # a Slack user's Do Not Disturb as dnd.teamInfo or a dnd_updated_user event last told it
    Column("dnd_start", UTCDateTime),
    Column("dnd_end", UTCDateTime),
    Column("snooze_end", UTCDateTime),
    Column("checked_at", UTCDateTime, nullable=False),
)

handle_conflicts = Table(
    "handle_conflicts", metadata,
    # A physician asked for an X handle another physician holds: refused, and shown to marketing.
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    Column("handle", String(15), primary_key=True),
    Column("holder_id", Integer, ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    Column("asked_at", UTCDateTime, nullable=False),
)

rate_budgets = Table(
    "rate_budgets", metadata,
    Column("key", String(300), primary_key=True),
    # slack:chat.postMessage, slack:chat.postMessage:<channel>, slack:users.lookupByEmail, teams:app …
    Column("per_second", Float, nullable=False),
    Column("burst", Float, nullable=False),
    Column("tat", Float, nullable=False),
    # GCRA "theoretical arrival time", seconds since the epoch on the database's clock
    Column("paused_until", Float),
    # the end of the platform's latest Retry-After pause (same clock)
)

parked_targets = Table(
    "parked_targets", metadata,
    Column("platform", String(16), primary_key=True),
    Column("address", String(300), primary_key=True),
    # An outbox address, or "*": everything on that platform (a Slack workspace uninstall).
    Column("reason", String(300), nullable=False),
    Column("since", UTCDateTime, nullable=False),
)

safety_cases = Table(
    "safety_cases", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reference", String(16), nullable=False, unique=True),
    # What the physician and the safety contact quote, e.g. SR-7K3QX
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("link", String(500), nullable=False),
    # The only trace of the incident itself: a link, never the post's text
    Column("kind", String(20), nullable=False),
    Column("urgency", String(10), nullable=False),
    Column("status", String(10), nullable=False, index=True),
    # open → handled
    Column("created_at", UTCDateTime, nullable=False),
    Column("handled_at", UTCDateTime),
    Column("handled_by", Integer, ForeignKey("people.id", ondelete="SET NULL")),
)

readiness_snapshots = Table(
    "readiness_snapshots", metadata,
    Column("week", String(10), primary_key=True),
    # ISO week of the hospital's calendar, e.g. 2026-W48
    Column("department", String(120), primary_key=True),
    # "" holds the whole hospital
    Column("physicians", Integer, nullable=False),
    Column("with_profile", Integer, nullable=False),
    Column("profile_complete", Integer, nullable=False),
    Column("following", Integer, nullable=False),
    Column("followed_back", Integer, nullable=False),
    Column("core_lessons_done", Integer, nullable=False),
    Column("camp_registered", Integer, nullable=False),
    Column("camp_done", Integer, nullable=False),
    Column("score_total", Integer, nullable=False),
    Column("taken_at", UTCDateTime, nullable=False),
)

weekly_marks = Table(
    "weekly_marks", metadata,
    Column("week", String(10), primary_key=True),
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    # The keys of bot.core.numbers that held for this physician that week, comma-separated
    Column("flags", String(500), nullable=False),
    Column("score", Integer, nullable=False),
)

teams_installs = Table(
    "teams_installs", metadata,
    # Installing the Teams app for a roster physician through Microsoft Graph: the latest outcome.
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    Column("state", String(12), nullable=False),
    # installed (reference stored) or failed (reason says why; tried again after retry_at)
    Column("reason", String(200), nullable=False, server_default=""),
    Column("user_id", String(64)),
    # The physician's Microsoft Entra object id, once Graph found them
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("retry_at", UTCDateTime, index=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

network_presence = Table(
    "network_presence", metadata,
    # What X or Bluesky last said about a physician's account (see bot/core/presence.py). Facts are
    # for ``handle``: a changed handle deletes the row. A failed sync sets failed_at and keeps the rest.
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    Column("network", String(16), primary_key=True),
    Column("handle", String(253), nullable=False),
    Column("account_id", String(128), index=True),
    Column("profile", String(12)),
    Column("photo", Boolean),
    Column("bio_names", Boolean),
    Column("link", Boolean),
    Column("pinned", Boolean),
    Column("profile_verified_at", UTCDateTime),
    Column("follows_hospital", Boolean),
    Column("follows_verified_at", UTCDateTime),
    Column("follows_seen_at", UTCDateTime),
    # the sync run (its start) whose walk of the hospital's followers last saw this account
    Column("followed_back", Boolean),
    Column("followed_back_verified_at", UTCDateTime),
    Column("followed_back_seen_at", UTCDateTime),
    Column("failed_at", UTCDateTime),
    Column("failure", String(200), nullable=False, server_default=""),
)

stories = Table(
    "stories", metadata,
    # The content library: what the hospital publishes for physicians to share (see bot/core/library.py)
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("title", String(200), nullable=False),
    Column("link", String(500), nullable=False),
    Column("post_x", Text, nullable=False, server_default=""),
    Column("post_bluesky", Text, nullable=False, server_default=""),
    Column("post_linkedin", Text, nullable=False, server_default=""),
    # the suggested posts, as marketing wrote them ("" where a network is not suggested)
    Column("alt_text", Text, nullable=False, server_default=""),
    Column("lifts_at", UTCDateTime, nullable=False, index=True),
    # the embargo lift: before it nobody but admins sees the story, nothing is planned for it
    Column("lift_zone", String(64), nullable=False),
    Column("expires_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

story_audience = Table(
    "story_audience", metadata,
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(12), primary_key=True),
    # everyone (value ""), department, specialty or meeting (a meeting's key: its attendees)
    Column("value", String(120), primary_key=True),
)

story_people = Table(
    "story_people", metadata,
    # What each physician did with a story: the first instant of each, NULL when not (yet)
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column("offered_at", UTCDateTime),
    Column("tapped_at", UTCDateTime),
    Column("shared_at", UTCDateTime),
    Column("declined_at", UTCDateTime),
)

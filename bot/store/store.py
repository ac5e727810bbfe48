"""The store: everything the bot knows, on SQLite (default) or PostgreSQL, via SQLAlchemy Core.

:class:`Store` opens the database and checks its schema; each aggregate has its own store on it
(``store.people``, ``store.profile``, ``store.progress``, ``store.meetings`` …).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import event, func, inspect, make_url, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.store import migrate
from bot.store.conversations import ConversationStore
from bot.store.directory import SlackDirectoryStore
from bot.store.dnd import SlackDndStore
from bot.store.library import LibraryStore
from bot.store.meetings import MeetingStore
from bot.store.outbox import OutboxStore
from bot.store.people import PeopleStore
from bot.store.planning import PlanningStore
from bot.store.pool import ping_when_idle
from bot.store.preferences import PreferenceStore
from bot.store.presence import PresenceStore
from bot.store.profile import ProfileStore
from bot.store.progress import ProgressStore
from bot.store.readiness import ReadinessStore
from bot.store.reminder_facts import ReminderFactsStore
from bot.store.roster import RosterStore
from bot.store.safety import SafetyStore
from bot.store.schema import identities, lessons_done, meetings, people
from bot.store.settings import EventStore, SettingStore
from bot.store.snapshots import SnapshotStore
from bot.store.sqlite_driver import one_trip_connector
from bot.store.teams_installs import TeamsInstallStore


class NotMigrated(RuntimeError):
    """The database schema is missing or older than this version of the bot."""


def database_url(url: str) -> str:
    """Accept plain ``sqlite:///`` and ``postgresql://`` URLs and pick the async drivers."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///"):]
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url


class Store:
    """Async access to the database. One instance per process; safe for concurrent tasks."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.people = PeopleStore(engine)
        self.roster = RosterStore(engine)
        self.profile = ProfileStore(engine)
        self.preferences = PreferenceStore(engine)
        self.progress = ProgressStore(engine)
        self.meetings = MeetingStore(engine)
        self.conversations = ConversationStore(engine)
        self.readiness = ReadinessStore(engine)
        self.planning = PlanningStore(engine)
        self.events = EventStore(engine)
        self.settings = SettingStore(engine)
        self.outbox = OutboxStore(engine)
        self.slack_directory = SlackDirectoryStore(engine)
        self.slack_dnd = SlackDndStore(engine)
        self.weekly = SnapshotStore(engine)
        self.teams_installs = TeamsInstallStore(engine)
        self.safety = SafetyStore(engine)
        self.presence = PresenceStore(engine)
        self.library = LibraryStore(engine)
        self.reminder_facts = ReminderFactsStore(engine)

    @classmethod
    def open(cls, url: str) -> Store:
        url = database_url(url)
        if url.startswith("sqlite"):
            database = make_url(url).database or ":memory:"
            engine = create_async_engine(url, async_creator=one_trip_connector(database, timeout=30))
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            engine = create_async_engine(url, pool_size=10, max_overflow=10)
            ping_when_idle(engine)
        return cls(engine)

    async def close(self) -> None:
        await self.engine.dispose()

    # -- schema ---------------------------------------------------------------------------
    async def upgrade(self) -> tuple[str | None, str]:
        return await migrate.upgrade(self.engine)

    async def create_if_new(self) -> bool:
        """The embedded default: a brand-new (empty) SQLite database gets the current schema; True when
        it did. A database with tables at an older schema, and PostgreSQL always, still need
        ``rounds db upgrade`` (run once per release by whoever deploys)."""
        if self.engine.dialect.name != "sqlite":
            return False
        async with self.engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        if tables:
            return False
        await self.upgrade()
        return True

    async def check_migrated(self) -> None:
        current = await migrate.current_revision(self.engine)
        head = migrate.SCHEMA
        if current != head:
            state = "has no Social Rounds schema" if current is None else f"is at schema {current}, not {head}"
            raise NotMigrated(f"the database {state}; run `rounds db upgrade` first")

    async def ping(self) -> bool:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))
        return True

    async def count(self, table_name: str) -> int:
        table = {t.name: t for t in (people, meetings, identities, lessons_done)}[table_name]
        async with self.engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()

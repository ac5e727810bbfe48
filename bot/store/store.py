"""The store: everything the bot knows, on SQLite (default) or PostgreSQL, via SQLAlchemy Core."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Callable, Iterable, NamedTuple, Sequence

from sqlalchemy import and_, bindparam, case, delete, event, func, insert, inspect, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.core.curriculum import ReviewState
from bot.core.models import Meeting
from bot.core.snapshot import CampCount, Enrollment, PersonSnapshot, RosterCounts
from bot.store import migrate
from bot.store.directory import SlackDirectoryStore
from bot.store.outbox import OutboxStore
from bot.store.safety import SafetyStore
from bot.store.snapshots import SnapshotStore
from bot.store.teams_installs import TeamsInstallStore
from bot.store.schema import (
    PLAN_AGAIN, camp_items, conversation_refs, handle_conflicts, identities, lessons_done, meeting_attendees, meetings, people,
    processed_events, profile_items, quiz_reviews, settings,
)


class NotMigrated(RuntimeError):
    """The database schema is missing or older than this version of the bot."""


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    name: str
    department: str
    specialty: str
    role: str
    x_handle: str | None
    timezone: str | None
    active: bool
    follows_hospital_at: datetime | None
    followed_back_at: datetime | None
    video_posted_at: datetime | None
    snoozed_until: datetime | None
    stopped_at: datetime | None
    created_at: datetime
    quiet_start: str | None = None
    quiet_end: str | None = None
    weekends_off: bool | None = None
    lesson_time: str | None = None
    """The physician's own preferences ("HH:MM"); None: the hospital's setting."""
    networks: str | None = None
    """Chosen networks, comma-separated ids; None: the default (see ``bot.core.models.networks_of``)."""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def first_name(self) -> str:
        parts = self.name.replace("Dr. ", "").split()
        return parts[0] if parts else self.name


@dataclass(frozen=True)
class RosterEntry:
    """One person as a roster import or the demo seed gives them."""

    email: str
    name: str
    department: str = ""
    specialty: str = ""
    role: str | None = None
    """``None``: keep the stored role (a new person is a physician)."""
    x_handle: str | None = None


def database_url(url: str) -> str:
    """Accept plain ``sqlite:///`` and ``postgresql://`` URLs and pick the async drivers."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///"):]
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url


PERSON_COLUMNS = tuple(people.c[name] for name in Person.__dataclass_fields__)
"""The ``people`` columns a :class:`Person` holds, in its field order: rows of ``select(*PERSON_COLUMNS)``
become people positionally (a roster of 50,000 loads in a fraction of the time by name)."""


async def _changed(conn: AsyncConnection, *person_ids: int | None) -> None:
    """Mark physicians for planning at the next tick, inside the transaction that changed them."""
    ids = sorted({pid for pid in person_ids if pid is not None})
    for start in range(0, len(ids), 500):
        await conn.execute(update(people).where(people.c.id.in_(ids[start:start + 500])).values(**PLAN_AGAIN))


PAGE = bindparam("page", expanding=True)
"""A batch of person ids, bound at execution (``{"page": ids}``) so the statement is compiled once."""


def _in_page(column: Any, ids: Sequence[int]) -> Any:
    """``column`` is one of the sorted ``ids``: as a range when they are dense (as on a tick that
    plans everyone; rows of the few others in it are simply not looked up), else one ``PAGE``."""
    dense = bool(ids) and ids[-1] - ids[0] < 2 * len(ids)
    return column.between(ids[0], ids[-1]) if dense else column.in_(PAGE)


def _row_person(row: Any) -> Person:
    return Person(*row)


def _row_meeting(row: Any) -> Meeting:
    return Meeting(**{name: row._mapping[name] for name in Meeting.__dataclass_fields__})


class Store:
    """Async access to the database. One instance per process; safe for concurrent tasks."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.outbox = OutboxStore(engine)
        self.slack_directory = SlackDirectoryStore(engine)
        self.weekly = SnapshotStore(engine)
        self.teams_installs = TeamsInstallStore(engine)
        self.safety = SafetyStore(engine)

    @classmethod
    def open(cls, url: str) -> "Store":
        url = database_url(url)
        if url.startswith("sqlite"):
            engine = create_async_engine(url, connect_args={"timeout": 30})
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            engine = create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
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
        head = migrate.head_revision()
        if current != head:
            state = "has no Social Rounds schema" if current is None else f"is at schema {current}, not {head}"
            raise NotMigrated(f"the database {state}; run `rounds db upgrade` first")

    async def ping(self) -> bool:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))
        return True

    # -- people -----------------------------------------------------------------------------
    async def upsert_people(self, entries: Iterable[RosterEntry], now: datetime) -> tuple[int, int]:
        """Insert new people and update known ones by email, in one transaction: (added, updated)."""
        entries = list(entries)
        added = updated = 0
        async with self.engine.begin() as conn:
            existing = {row.email: row.id for row in await conn.execute(select(people.c.email, people.c.id))}
            new_rows = []
            for entry in entries:
                values = dict(name=entry.name, department=entry.department, specialty=entry.specialty,
                              role=entry.role or "physician", updated_at=now, active=True)
                changed = dict(values, **PLAN_AGAIN)
                if entry.role is None:
                    del changed["role"]  # a known person keeps their role
                if entry.x_handle:
                    values["x_handle"] = entry.x_handle
                email = entry.email.lower()
                if email in existing:
                    await conn.execute(update(people).where(people.c.id == existing[email]).values(**changed))
                    updated += 1
                else:
                    new_rows.append(dict(values, email=email, created_at=now,
                                         x_handle=entry.x_handle or None))
                    existing[email] = -1
            for start in range(0, len(new_rows), 500):
                await conn.execute(insert(people), new_rows[start:start + 500])
            added = len(new_rows)
        return added, updated

    async def person(self, person_id: int) -> Person | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(*PERSON_COLUMNS).where(people.c.id == person_id))).first()
        return _row_person(row) if row else None

    async def person_by_email(self, email: str) -> Person | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(*PERSON_COLUMNS).where(people.c.email == email.lower()))).first()
        return _row_person(row) if row else None

    async def person_by_identity(self, platform: str, user_id: str) -> Person | None:
        query = (select(*PERSON_COLUMNS).join(identities, identities.c.person_id == people.c.id)
                 .where(identities.c.platform == platform, identities.c.platform_user_id == user_id))
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _row_person(row) if row else None

    async def link_identity(self, platform: str, user_id: str, person_id: int, now: datetime) -> None:
        async with self.engine.begin() as conn:
            previous = (await conn.execute(delete(identities).where(
                identities.c.platform == platform, identities.c.platform_user_id == user_id)
                .returning(identities.c.person_id))).scalar()
            await conn.execute(insert(identities).values(platform=platform, platform_user_id=user_id,
                                                         person_id=person_id, linked_at=now))
            await _changed(conn, person_id, previous)

    async def people(self, *, role: str | None = None, active_only: bool = True) -> list[Person]:
        query = select(*PERSON_COLUMNS).order_by(people.c.department, people.c.name)
        if role:
            query = query.where(people.c.role == role)
        if active_only:
            query = query.where(people.c.active.is_(True))
        async with self.engine.connect() as conn:
            return [_row_person(row) for row in await conn.execute(query)]

    async def claim_x_handle(self, person_id: int, handle: str, now: datetime) -> Person | None:
        """Give ``handle`` to the physician unless another active physician holds it (in any case). Then
        nothing changes, the refused claim is kept for marketing (:meth:`handle_conflicts`) and the holder
        is returned. On PostgreSQL two claims of one handle are serialised by an advisory lock."""
        key = handle.lower()
        async with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(select(func.pg_advisory_xact_lock(func.hashtext("x_handle:" + key))))
            holder = (await conn.execute(select(*PERSON_COLUMNS).where(
                func.lower(people.c.x_handle) == key, people.c.id != person_id,
                people.c.active.is_(True)).limit(1))).first()
            mine = handle_conflicts.c.person_id == person_id
            if holder is not None:
                await conn.execute(delete(handle_conflicts).where(mine, handle_conflicts.c.handle == handle))
                await conn.execute(insert(handle_conflicts).values(person_id=person_id, handle=handle,
                                                                   holder_id=holder.id, asked_at=now))
                return _row_person(holder)
            await conn.execute(update(people).where(people.c.id == person_id)
                               .values(updated_at=now, x_handle=handle, **PLAN_AGAIN))
            await conn.execute(delete(handle_conflicts).where(mine))
        return None

    async def handle_conflicts(self) -> list[HandleConflict]:
        """Refused handle claims still standing: the holder has the handle, the one who asked does not."""
        asker, holder = people.alias("asker"), people.alias("holder")
        query = (select(asker.c.name, handle_conflicts.c.handle, holder.c.name, handle_conflicts.c.asked_at)
                 .join(asker, asker.c.id == handle_conflicts.c.person_id)
                 .join(holder, holder.c.id == handle_conflicts.c.holder_id)
                 .where(func.lower(holder.c.x_handle) == func.lower(handle_conflicts.c.handle),
                        or_(asker.c.x_handle.is_(None),
                            func.lower(asker.c.x_handle) != func.lower(handle_conflicts.c.handle)))
                 .order_by(handle_conflicts.c.asked_at))
        async with self.engine.connect() as conn:
            return [HandleConflict(*row) for row in await conn.execute(query)]

    async def update_person(self, person_id: int, now: datetime, **values: Any) -> None:
        allowed = {"x_handle", "timezone", "follows_hospital_at", "followed_back_at", "video_posted_at",
                   "snoozed_until", "stopped_at", "active", "department", "specialty", "name",
                   "quiet_start", "quiet_end", "weekends_off", "lesson_time", "networks"}
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        async with self.engine.begin() as conn:
            await conn.execute(update(people).where(people.c.id == person_id)
                               .values(updated_at=now, **values, **PLAN_AGAIN))

    # -- progress -----------------------------------------------------------------------------
    async def set_profile_item(self, person_id: int, item_id: str, done: bool, now: datetime) -> None:
        await self._set_mark(profile_items, dict(person_id=person_id, item_id=item_id), done, now)

    async def profile_done(self, person_id: int) -> frozenset[str]:
        return await self._ids(select(profile_items.c.item_id).where(profile_items.c.person_id == person_id))

    async def mark_lesson_done(self, person_id: int, lesson_id: str, now: datetime) -> bool:
        """True when this completes the lesson for the first time."""
        return await self._set_mark(lessons_done, dict(person_id=person_id, lesson_id=lesson_id), True, now,
                                    column="completed_at")

    async def lessons_done(self, person_id: int) -> frozenset[str]:
        return await self._ids(select(lessons_done.c.lesson_id).where(lessons_done.c.person_id == person_id))

    async def lessons_completed(self, person_id: int) -> list[tuple[str, datetime]]:
        """(lesson id, when first completed) of one physician, oldest first."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(lessons_done.c.lesson_id, lessons_done.c.completed_at)
                                      .where(lessons_done.c.person_id == person_id)
                                      .order_by(lessons_done.c.completed_at, lessons_done.c.lesson_id))
            return [(row.lesson_id, row.completed_at) for row in rows]

    async def transcripts(self, since: datetime | None = None) -> list[tuple[str, str, str, str, datetime]]:
        """Every completed lesson of every physician (email, name, department, lesson id, completed at),
        by email then date; only completions at or after ``since`` when given."""
        query = (select(people.c.email, people.c.name, people.c.department, lessons_done.c.lesson_id,
                        lessons_done.c.completed_at)
                 .join(people, people.c.id == lessons_done.c.person_id)
                 .order_by(people.c.email, lessons_done.c.completed_at, lessons_done.c.lesson_id))
        if since is not None:
            query = query.where(lessons_done.c.completed_at >= since)
        async with self.engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(query)]  # type: ignore[misc]

    async def reviews(self, person_id: int) -> dict[str, ReviewState]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(quiz_reviews).where(quiz_reviews.c.person_id == person_id))
            return {row.lesson_id: ReviewState(lesson_id=row.lesson_id, attempts=row.attempts, streak=row.streak,
                                               due_at=row.due_at, retired=row.retired, last_correct=row.last_correct)
                    for row in rows}

    async def save_review(self, person_id: int, state: ReviewState, now: datetime) -> None:
        values = dict(attempts=state.attempts, streak=state.streak, due_at=state.due_at, retired=state.retired,
                      last_correct=state.last_correct, answered_at=now)
        key = and_(quiz_reviews.c.person_id == person_id, quiz_reviews.c.lesson_id == state.lesson_id)
        async with self.engine.begin() as conn:
            result = await conn.execute(update(quiz_reviews).where(key).values(**values))
            if result.rowcount == 0:
                await conn.execute(insert(quiz_reviews).values(person_id=person_id, lesson_id=state.lesson_id,
                                                               **values))
            await _changed(conn, person_id)

    # -- meetings ------------------------------------------------------------------------------
    async def add_meeting(self, meeting: Meeting, now: datetime) -> Meeting:
        values = {k: getattr(meeting, k) for k in Meeting.__dataclass_fields__ if k != "id"}
        async with self.engine.begin() as conn:
            result = await conn.execute(insert(meetings).values(created_at=now, **values).returning(meetings.c.id))
            new_id = result.scalar_one()
        return Meeting(id=new_id, **values)

    async def meeting_by_key(self, key: str) -> Meeting | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(meetings).where(meetings.c.key == key))).first()
        return _row_meeting(row) if row else None

    async def meetings(self, *, ending_on_or_after: date | None = None) -> list[Meeting]:
        query = select(meetings).order_by(meetings.c.starts_on, meetings.c.id)
        if ending_on_or_after is not None:
            query = query.where(meetings.c.ends_on >= ending_on_or_after)
        async with self.engine.connect() as conn:
            return [_row_meeting(row) for row in await conn.execute(query)]

    async def set_attending(self, person_id: int, meeting_id: int, attending: bool, now: datetime) -> bool:
        """True when this changed anything."""
        return await self._set_mark(meeting_attendees, dict(person_id=person_id, meeting_id=meeting_id),
                                    attending, now, column="joined_at")

    async def attending(self, person_id: int) -> frozenset[int]:
        return await self._ids(select(meeting_attendees.c.meeting_id)
                               .where(meeting_attendees.c.person_id == person_id))

    async def set_camp_item(self, person_id: int, meeting_id: int, item_id: str, done: bool, now: datetime) -> None:
        await self._set_mark(camp_items, dict(person_id=person_id, meeting_id=meeting_id, item_id=item_id), done, now)

    async def camp_done(self, person_id: int, meeting_id: int) -> frozenset[str]:
        return await self._ids(select(camp_items.c.item_id).where(camp_items.c.person_id == person_id,
                                                                  camp_items.c.meeting_id == meeting_id))

    # -- snapshots for readiness ------------------------------------------------------------------
    async def snapshot(self, person_id: int) -> PersonSnapshot | None:
        snapshots = await self._snapshots(people.c.id == person_id)
        return snapshots[0] if snapshots else None

    async def attendee_snapshots(self, meeting_id: int) -> list[PersonSnapshot]:
        """The active physicians registered for a meeting, in a handful of queries."""
        return await self._snapshots(and_(
            people.c.role == "physician", people.c.active.is_(True),
            people.c.id.in_(select(meeting_attendees.c.person_id).where(meeting_attendees.c.meeting_id == meeting_id))))

    async def _snapshots(self, where: Any) -> list[PersonSnapshot]:
        async with self.engine.connect() as conn:
            persons = [_row_person(row) for row in await conn.execute(
                select(*PERSON_COLUMNS).where(where).order_by(people.c.department, people.c.name))]
            if not persons:
                return []
            ids = [p.id for p in persons]
            single = len(ids) == 1

            def scoped(table: Any) -> Any:
                return table.c.person_id == ids[0] if single else table.c.person_id.in_(
                    select(people.c.id).where(where))

            profile = await self._grouped(conn, select(profile_items.c.person_id, profile_items.c.item_id)
                                          .where(scoped(profile_items)))
            lessons = await self._grouped(conn, select(lessons_done.c.person_id, lessons_done.c.lesson_id)
                                          .where(scoped(lessons_done)))
            enrollments = await self._enrollments(conn, scoped)
        empty: frozenset[str] = frozenset()
        return [PersonSnapshot(
            person_id=p.id, name=p.name, email=p.email, department=p.department, x_handle=p.x_handle,
            follows_hospital=p.follows_hospital_at is not None, followed_back=p.followed_back_at is not None,
            video_posted=p.video_posted_at is not None, profile_done=profile.get(p.id, empty),
            lessons_done=lessons.get(p.id, empty), enrollments=enrollments.get(p.id, ()),
        ) for p in persons]

    async def roster_counts(self, today: date, core_lessons: Iterable[str], profile_known: Iterable[str],
                            camp_known: Iterable[str]) -> list[RosterCounts]:
        """Every active physician with the counts readiness needs, by department and name.

        One row per physician, and one per registration for a meeting that has not ended. The
        items done are counted in correlated subqueries, each a walk of one primary-key range
        (a join of grouped counts is several times slower on SQLite); counting with CASE keeps
        that walk instead of one index probe per known id.
        """
        def done(table: Any, column: str, known: Iterable[str], *keys: Any) -> Any:
            hit = case((table.c[column].in_(sorted(set(known))), 1), else_=0)
            return select(func.coalesce(func.sum(hit), 0)).where(*keys).scalar_subquery()

        physicians = and_(people.c.role == "physician", people.c.active.is_(True))
        query = (select(people.c.id, people.c.name, people.c.email, people.c.department, people.c.x_handle,
                        people.c.follows_hospital_at.is_not(None), people.c.followed_back_at.is_not(None),
                        people.c.video_posted_at.is_not(None),
                        done(profile_items, "item_id", profile_known, profile_items.c.person_id == people.c.id),
                        done(lessons_done, "lesson_id", core_lessons, lessons_done.c.person_id == people.c.id))
                 .where(physicians).order_by(people.c.department, people.c.name))
        registrations = (select(meeting_attendees.c.person_id, meeting_attendees.c.meeting_id,
                                done(camp_items, "item_id", camp_known,
                                     camp_items.c.person_id == meeting_attendees.c.person_id,
                                     camp_items.c.meeting_id == meeting_attendees.c.meeting_id))
                         .join(meetings, meetings.c.id == meeting_attendees.c.meeting_id)
                         .where(meetings.c.ends_on >= today,
                                meeting_attendees.c.person_id.in_(select(people.c.id).where(physicians))))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            current = {m.id: m for m in [_row_meeting(r) for r in await conn.execute(
                select(meetings).where(meetings.c.ends_on >= today))]}
            enrollments: dict[int, list[CampCount]] = defaultdict(list)
            for person_id, meeting_id, count in await conn.execute(registrations):
                enrollments[person_id].append(CampCount(current[meeting_id], int(count)))
        return [RosterCounts(*row, tuple(enrollments.get(row[0], ()))) for row in rows]

    @staticmethod
    async def _enrollments(conn: AsyncConnection, scoped: Callable[[Any], Any]) -> dict[int, tuple[Enrollment, ...]]:
        """Registered meetings with their Tweet Camp items done, per person in scope."""
        camp: dict[tuple[int, int], set[str]] = defaultdict(set)
        for person_id, meeting_id, item_id in await conn.execute(
                select(camp_items.c.person_id, camp_items.c.meeting_id, camp_items.c.item_id).where(scoped(camp_items))):
            camp[(person_id, meeting_id)].add(item_id)
        all_meetings = {m.id: m for m in [_row_meeting(r) for r in await conn.execute(select(meetings))]}
        enrollments: dict[int, list[Enrollment]] = defaultdict(list)
        for person_id, meeting_id in await conn.execute(
                select(meeting_attendees.c.person_id, meeting_attendees.c.meeting_id).where(scoped(meeting_attendees))):
            enrollments[person_id].append(Enrollment(all_meetings[meeting_id], frozenset(camp[(person_id, meeting_id)])))
        return {person_id: tuple(found) for person_id, found in enrollments.items()}

    @staticmethod
    async def _grouped(conn: AsyncConnection, query: Any) -> dict[int, frozenset[str]]:
        """Values per person as frozensets; equal sets are shared (most people have the same few)."""
        grouped: dict[int, list[str]] = defaultdict(list)
        for person_id, value in await conn.execute(query):
            grouped[person_id].append(value)
        shared: dict[frozenset[str], frozenset[str]] = {}
        return {person_id: shared.setdefault(values := frozenset(found), values)
                for person_id, found in grouped.items()}

    # -- what the scheduler needs ---------------------------------------------------------------
    async def due_for_planning(self, now: datetime, after_id: int, limit: int) -> list[PlanningPerson]:
        """Up to ``limit`` active physicians, not stopped, with ids above ``after_id``, whose
        ``plan_after`` has come or is unset, by id."""
        query = (select(*(people.c[name] if name != "follows_hospital" else people.c.follows_hospital_at.is_not(None)
                          for name in PlanningPerson._fields))
                 .where(people.c.role == "physician", people.c.active.is_(True), people.c.stopped_at.is_(None),
                        or_(people.c.plan_after.is_(None), people.c.plan_after <= now), people.c.id > after_id)
                 .order_by(people.c.id).limit(limit))
        async with self.engine.connect() as conn:
            return [PlanningPerson(*row) for row in (await conn.execute(query)).all()]

    async def planning_inputs(self, person_ids: Sequence[int], now: datetime,
                              profile_known: Iterable[str]) -> PlanningInputs:
        """Progress, reviews, meetings and addresses of these physicians, in a few queries.

        The results may hold others too (see ``_in_page``); look up only the ids asked for.
        """
        ids = sorted(person_ids)
        page = {"page": ids}
        reviews = and_(_in_page(quiz_reviews.c.person_id, ids), quiz_reviews.c.retired.is_(False))
        due: dict[int, list[tuple[str, int]]] = defaultdict(list)
        registered: dict[int, list[Meeting]] = defaultdict(list)
        known = sorted(set(profile_known))
        async with self.engine.connect() as conn:
            async def rows(query: Any) -> Sequence[Any]:
                return (await conn.execute(query, page)).all()

            profile = {person_id: int(count) for person_id, count in await rows(
                select(profile_items.c.person_id, func.count())
                .where(_in_page(profile_items.c.person_id, ids), profile_items.c.item_id.in_(known))
                .group_by(profile_items.c.person_id))}
            # One comma-joined row per physician (lesson ids are slugs); equal sets are shared.
            shared: dict[str, frozenset[str]] = {}
            lessons = {person_id: shared.get(joined) or shared.setdefault(joined, frozenset(joined.split(",")))
                       for person_id, joined in await rows(
                           select(lessons_done.c.person_id, func.aggregate_strings(lessons_done.c.lesson_id, ","))
                           .where(_in_page(lessons_done.c.person_id, ids)).group_by(lessons_done.c.person_id))}
            for person_id, lesson_id, attempts in await rows(
                    select(quiz_reviews.c.person_id, quiz_reviews.c.lesson_id, quiz_reviews.c.attempts)
                    .where(reviews, quiz_reviews.c.due_at <= now)
                    .order_by(quiz_reviews.c.due_at, quiz_reviews.c.lesson_id)):
                due[person_id].append((lesson_id, attempts))
            next_review = dict((await conn.execute(
                select(quiz_reviews.c.person_id, func.min(quiz_reviews.c.due_at))
                .where(reviews, quiz_reviews.c.due_at > now).group_by(quiz_reviews.c.person_id), page)).all())
            current = {m.id: m for m in [_row_meeting(row) for row in await conn.execute(
                select(meetings).where(meetings.c.ends_on >= (now - timedelta(days=1)).date()))]}  # zones: a day
            for person_id, meeting_id in await rows(
                    select(meeting_attendees.c.person_id, meeting_attendees.c.meeting_id)
                    .where(_in_page(meeting_attendees.c.person_id, ids),
                           meeting_attendees.c.meeting_id.in_(list(current)))):
                registered[person_id].append(current[meeting_id])
            addresses = await self._addresses(conn, ids)
        return PlanningInputs(profile, lessons, due, next_review, registered, addresses)

    async def set_plan_after(self, wakes: Sequence[tuple[int, int, datetime]]) -> int:
        """Record (person id, state version planned from, next check) for each physician, except
        those whose state changed since it was read: they stay due. Returns how many were set."""
        if not wakes:
            return 0
        statement = (update(people).where(people.c.id == bindparam("b_id"),
                                          people.c.state_version == bindparam("b_version"))
                     .values(plan_after=bindparam("b_plan_after")))
        async with self.engine.begin() as conn:
            result = await conn.execute(statement, [dict(b_id=pid, b_version=version, b_plan_after=at)
                                                    for pid, version, at in wakes])
            return result.rowcount

    async def replan_everyone(self) -> int:
        """Plan every physician at the next tick (what planning reads beyond them has changed)."""
        async with self.engine.begin() as conn:
            return (await conn.execute(update(people).where(people.c.plan_after.is_not(None))
                                       .values(**PLAN_AGAIN))).rowcount

    async def managers(self, emails: Iterable[str]) -> list[Person]:
        """Active marketing managers: people with the admin role, and those whose email is given."""
        query = select(*PERSON_COLUMNS).where(people.c.active.is_(True), or_(
            people.c.role == "admin", people.c.email.in_(sorted({e.lower() for e in emails})))).order_by(people.c.id)
        async with self.engine.connect() as conn:
            return [_row_person(row) for row in await conn.execute(query)]

    async def addresses(self, person_ids: Sequence[int]) -> dict[int, dict[str, str]]:
        """Per person, platform → address for proactive messages (Slack user id, Teams reference key)."""
        async with self.engine.connect() as conn:
            return await self._addresses(conn, list(person_ids))

    @staticmethod
    async def _addresses(conn: AsyncConnection, ids: list[int]) -> dict[int, dict[str, str]]:
        result: dict[int, dict[str, str]] = defaultdict(dict)
        ids = sorted(ids)
        page = {"page": ids}
        for person_id, platform, user_id in (await conn.execute(
                select(identities.c.person_id, identities.c.platform, identities.c.platform_user_id)
                .where(_in_page(identities.c.person_id, ids)).order_by(identities.c.linked_at), page)).all():
            if platform == "slack":
                result[person_id]["slack"] = user_id
        for person_id, platform, address in (await conn.execute(
                select(conversation_refs.c.person_id, conversation_refs.c.platform, conversation_refs.c.address)
                .where(_in_page(conversation_refs.c.person_id, ids)).order_by(conversation_refs.c.updated_at),
                page)).all():
            result[person_id][platform] = address
        return result

    # -- conversation references (proactive messages) ----------------------------------------------
    async def save_conversation_ref(self, platform: str, address: str, reference: str,
                                    person_id: int | None, now: datetime) -> None:
        key = and_(conversation_refs.c.platform == platform, conversation_refs.c.address == address)
        values = dict(reference=reference, person_id=person_id, updated_at=now)
        async with self.engine.begin() as conn:
            if (await conn.execute(update(conversation_refs).where(key).values(**values))).rowcount == 0:
                await conn.execute(insert(conversation_refs).values(platform=platform, address=address, **values))
            await _changed(conn, person_id)

    async def conversation_ref(self, platform: str, address: str) -> str | None:
        async with self.engine.connect() as conn:
            return (await conn.execute(select(conversation_refs.c.reference).where(
                conversation_refs.c.platform == platform, conversation_refs.c.address == address))).scalar()

    async def delete_conversation_ref(self, platform: str, address: str) -> bool:
        async with self.engine.begin() as conn:
            deleted = (await conn.execute(delete(conversation_refs).where(
                conversation_refs.c.platform == platform, conversation_refs.c.address == address)
                .returning(conversation_refs.c.person_id))).all()
            await _changed(conn, *(person_id for (person_id,) in deleted))
            return bool(deleted)

    # -- deduplication and settings ---------------------------------------------------------------
    async def claim_event(self, event_key: str, now: datetime) -> bool:
        """Record an inbound event id; False when it was seen before (a platform retry)."""
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(processed_events).values(event_key=event_key, seen_at=now))
            return True
        except IntegrityError:
            return False

    async def forget_events_before(self, cutoff: datetime) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(processed_events).where(processed_events.c.seen_at < cutoff))
            return result.rowcount

    async def get_setting(self, key: str) -> str | None:
        async with self.engine.connect() as conn:
            return (await conn.execute(select(settings.c.value).where(settings.c.key == key))).scalar()

    async def set_setting(self, key: str, value: str) -> None:
        async with self.engine.begin() as conn:
            result = await conn.execute(update(settings).where(settings.c.key == key).values(value=value))
            if result.rowcount == 0:
                await conn.execute(insert(settings).values(key=key, value=value))

    async def count(self, table_name: str) -> int:
        table = {t.name: t for t in (people, meetings, identities, lessons_done)}[table_name]
        async with self.engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(table))).scalar_one()

    # -- helpers -------------------------------------------------------------------------------------
    async def _ids(self, query: Any) -> frozenset:
        async with self.engine.connect() as conn:
            return frozenset(value for (value,) in await conn.execute(query))

    async def _set_mark(self, table: Any, key: dict[str, Any], done: bool, now: datetime,
                        column: str = "done_at") -> bool:
        """Insert (done) or delete (not done) a marker row; True when the row changed."""
        condition = and_(*(table.c[name] == value for name, value in key.items()))
        try:
            async with self.engine.begin() as conn:
                if not done:
                    if (await conn.execute(delete(table).where(condition))).rowcount == 0:
                        return False
                elif (await conn.execute(select(func.count()).select_from(table).where(condition))).scalar_one():
                    return False
                else:
                    await conn.execute(insert(table).values(**key, **{column: now}))
                await _changed(conn, key["person_id"])
                return True
        except IntegrityError:
            return False  # another instance marked it at the same moment

    # -- roster import -------------------------------------------------------------------------------
    async def apply_roster(self, entries: Sequence[RosterEntry], links: Sequence[IdentityLink], now: datetime,
                           *, deactivate_missing: bool = False, dry_run: bool = False,
                           progress: Callable[[int], None] | None = None) -> RosterChanges:
        """Bring people (by email) and their platform ids in line with a roster, in one transaction.

        New emails are added as physicians; known people get the roster's name and department and
        are reactivated; a blank specialty, X handle or role keeps the stored one.
        ``deactivate_missing`` deactivates active physicians absent from the roster. ``dry_run``
        counts the same changes and writes nothing. ``progress`` receives the rows processed so far.
        """
        async with self.engine.begin() as conn:
            plan = await self._roster_plan(conn, entries, links, now, deactivate_missing)
            if not dry_run:
                await self._write_roster(conn, plan, now, progress or (lambda _done: None))
        return plan.changes

    @staticmethod
    async def _roster_plan(conn: AsyncConnection, entries: Sequence[RosterEntry], links: Sequence[IdentityLink],
                           now: datetime, deactivate_missing: bool) -> _RosterPlan:
        columns = (people.c.id, people.c.email, people.c.name, people.c.department, people.c.specialty,
                   people.c.x_handle, people.c.active, people.c.role)
        existing = {row.email: row for row in await conn.execute(select(*columns))}
        plan = _RosterPlan()
        seen: set[str] = set()
        for entry in entries:
            email = entry.email.lower()
            if email in seen:
                raise ValueError(f"{email} is twice in the roster")
            seen.add(email)
            row = existing.get(email)
            if row is None:
                plan.inserts.append(dict(email=email, name=entry.name, department=entry.department,
                                         specialty=entry.specialty, role=entry.role or "physician",
                                         x_handle=entry.x_handle or None,
                                         active=True, created_at=now, updated_at=now))
                continue
            wanted = dict(name=entry.name, department=entry.department, specialty=entry.specialty or row.specialty,
                          x_handle=entry.x_handle or row.x_handle, role=entry.role or row.role, active=True)
            if any(getattr(row, key) != value for key, value in wanted.items()):
                plan.updates.append({f"b_{key}": value for key, value in wanted.items()} | {"b_id": row.id})
            else:
                plan.unchanged += 1
        if deactivate_missing:
            plan.deactivate = [row.id for email, row in existing.items()
                               if row.active and row.role == "physician" and email not in seen]
        linked = {(row.platform, row.platform_user_id): row.person_id
                  for row in await conn.execute(select(identities))} if links else {}
        for link in links:
            if link.email.lower() not in seen:
                raise ValueError(f"identity link for {link.email}, who is not in the roster")
            known = existing.get(link.email.lower())
            if known is None or linked.get((link.platform, link.user_id)) != known.id:
                plan.links.append(link)
        return plan

    @staticmethod
    async def _write_roster(conn: AsyncConnection, plan: _RosterPlan, now: datetime,
                            progress: Callable[[int], None]) -> None:
        batch = 500
        done = plan.unchanged
        progress(done)
        for start in range(0, len(plan.inserts), batch):
            await conn.execute(insert(people), plan.inserts[start:start + batch])
            done += len(plan.inserts[start:start + batch])
            progress(done)
        set_values = {key: bindparam(f"b_{key}") for key in ("name", "department", "specialty", "x_handle", "role", "active")}
        statement = update(people).where(people.c.id == bindparam("b_id")).values(updated_at=now, **set_values,
                                                                                   **PLAN_AGAIN)
        for start in range(0, len(plan.updates), batch):
            await conn.execute(statement, plan.updates[start:start + batch])
            done += len(plan.updates[start:start + batch])
            progress(done)
        for start in range(0, len(plan.deactivate), batch):
            await conn.execute(update(people).where(people.c.id.in_(plan.deactivate[start:start + batch]))
                               .values(active=False, updated_at=now, **PLAN_AGAIN))
        if plan.links:
            emails = {link.email.lower() for link in plan.links}
            ids = {row.email: row.id for row in await conn.execute(select(people.c.email, people.c.id))
                   if row.email in emails}
            keys = [dict(b_platform=link.platform, b_user_id=link.user_id) for link in plan.links]
            await conn.execute(delete(identities).where(identities.c.platform == bindparam("b_platform"),
                                                        identities.c.platform_user_id == bindparam("b_user_id")), keys)
            await conn.execute(insert(identities), [dict(platform=link.platform, platform_user_id=link.user_id,
                                                         person_id=ids[link.email.lower()], linked_at=now)
                                                    for link in plan.links])
            await _changed(conn, *(ids[link.email.lower()] for link in plan.links))
        progress(done)


class PlanningPerson(NamedTuple):
    """The ``people`` columns planning reads (a slice of :class:`Person`), and the state version."""

    id: int
    email: str
    timezone: str | None
    x_handle: str | None
    follows_hospital: bool
    snoozed_until: datetime | None
    created_at: datetime
    quiet_start: str | None
    quiet_end: str | None
    weekends_off: bool | None
    lesson_time: str | None
    state_version: int
    networks: str | None


@dataclass(frozen=True)
class PlanningInputs:
    """What the scheduler reads about a batch of physicians besides their ``people`` rows."""

    profile_done: dict[int, int]
    """Profile checklist items done, of those given."""
    lessons_done: dict[int, frozenset[str]]
    reviews_due: dict[int, list[tuple[str, int]]]
    """(lesson id, attempts) of quiz questions due, longest overdue first."""
    next_review_at: dict[int, datetime]
    """When the next question not yet due comes due."""
    meetings: dict[int, list[Meeting]]
    """Registered meetings that have not ended (give or take a day for time zones)."""
    addresses: dict[int, dict[str, str]]


@dataclass(frozen=True)
class HandleConflict:
    """Someone asked for an X handle that another physician holds."""

    asked_by: str
    handle: str
    held_by: str
    asked_at: datetime


@dataclass(frozen=True)
class IdentityLink:
    """A platform user id that a roster assigns to the person with this email."""

    email: str
    platform: str
    user_id: str


@dataclass(frozen=True)
class RosterChanges:
    """What a roster import did (or, in a dry run, would do)."""

    added: int
    updated: int
    unchanged: int
    deactivated: int
    linked: int


@dataclass
class _RosterPlan:
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    deactivate: list[int] = field(default_factory=list)
    links: list[IdentityLink] = field(default_factory=list)

    @property
    def changes(self) -> RosterChanges:
        return RosterChanges(added=len(self.inserts), updated=len(self.updates), unchanged=self.unchanged,
                             deactivated=len(self.deactivate), linked=len(self.links))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


"""What readiness reports read: one physician's snapshot, a meeting's attendees, the roster's counts."""
from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from sqlalchemy import Integer, String, and_, bindparam, case, cast, func, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.core.snapshot import CampCount, Enrollment, PersonSnapshot, RosterCounts
from bot.store.common import autocommit, row_meeting
from bot.store.people import PERSON_COLUMNS, Person, row_person
from bot.store.schema import camp_items, lessons_done, meeting_attendees, meetings, people, profile_items


def _facts_query() -> Any:
    """(kind, item or lesson id, meeting id) of the physician ``:person_id``: ``p`` profile item,
    ``l`` lesson, ``c`` Tweet Camp item of a meeting, ``a`` a meeting they registered for."""
    person_id = bindparam("person_id", type_=Integer)
    no_text, no_meeting = cast(null(), String), cast(null(), Integer)
    return union_all(
        select(literal("p").label("kind"), profile_items.c.item_id.label("value"), no_meeting.label("meeting_id"))
        .where(profile_items.c.person_id == person_id),
        select(literal("l"), lessons_done.c.lesson_id, no_meeting).where(lessons_done.c.person_id == person_id),
        select(literal("c"), camp_items.c.item_id, camp_items.c.meeting_id).where(camp_items.c.person_id == person_id),
        select(literal("a"), no_text, meeting_attendees.c.meeting_id).where(meeting_attendees.c.person_id == person_id),
    )


_FACTS = _facts_query()
"""Built once: a statement built per call costs more CPU than SQLite takes to answer it."""


class ReadinessStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.reads = autocommit(engine)

    async def snapshot(self, person_id: int, person: Person | None = None) -> PersonSnapshot | None:
        """One physician's snapshot; ``person``: their row, when the caller read it already (not read again).

        Their profile items, lessons, Tweet Camp items and registrations come in one ``UNION ALL``
        query, then the meetings they registered for (if any): two round trips at most instead of
        one per table and every meeting."""
        async with self.reads.connect() as conn:
            if person is None or person.id != person_id:
                row = (await conn.execute(select(*PERSON_COLUMNS).where(people.c.id == person_id))).first()
                if row is None:
                    return None
                person = row_person(row)
            profile: set[str] = set()
            lessons: set[str] = set()
            camp: dict[int, set[str]] = defaultdict(set)
            registered: list[int] = []
            for kind, value, meeting_id in await conn.execute(_FACTS, {"person_id": person_id}):
                if kind == "p":
                    profile.add(value)
                elif kind == "l":
                    lessons.add(value)
                elif kind == "c":
                    camp[meeting_id].add(value)
                else:
                    registered.append(meeting_id)
            found = {m.id: m for m in [row_meeting(r) for r in await conn.execute(
                select(meetings).where(meetings.c.id.in_(registered)))]} if registered else {}
        return PersonSnapshot(
            person_id=person.id, name=person.name, email=person.email, department=person.department,
            x_handle=person.x_handle, follows_hospital=person.follows_hospital_at is not None,
            followed_back=person.followed_back_at is not None, video_posted=person.video_posted_at is not None,
            profile_done=frozenset(profile), lessons_done=frozenset(lessons),
            enrollments=tuple(Enrollment(found[m], frozenset(camp[m])) for m in registered if m in found))

    async def attendee_snapshots(self, meeting_id: int) -> list[PersonSnapshot]:
        """The active physicians registered for a meeting, in a handful of queries."""
        return await self._snapshots(and_(
            people.c.role == "physician", people.c.active.is_(True),
            people.c.id.in_(select(meeting_attendees.c.person_id).where(meeting_attendees.c.meeting_id == meeting_id))))

    async def _snapshots(self, where: Any) -> list[PersonSnapshot]:
        async with self.reads.connect() as conn:
            persons = [row_person(row) for row in await conn.execute(
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
        async with self.engine.begin() as conn:  # a server-side cursor needs a transaction
            rows: list[Any] = []
            async for part in (await conn.stream(query)).partitions(2000):
                rows += part  # in parts: the event loop runs between them on a large roster
            current = {m.id: m for m in [row_meeting(r) for r in await conn.execute(
                select(meetings).where(meetings.c.ends_on >= today))]}
            enrollments: dict[int, list[CampCount]] = defaultdict(list)
            for person_id, meeting_id, count in await conn.execute(registrations):
                enrollments[person_id].append(CampCount(current[meeting_id], int(count)))
        # One object per physician (tens of thousands): off the event loop.
        return await asyncio.to_thread(lambda: [
            RosterCounts(*row, tuple(enrollments.get(row[0], ())))  # type: ignore[call-arg]
            for row in rows])  # (the row's columns are the fields before enrollments)

    async def handles(self) -> list[tuple[int, str, str, str, str | None, str | None]]:
        """Every active physician's (id, name, department, specialty, X handle, Bluesky handle), for the
        verified numbers (only the columns they read: the whole ``people`` row costs several times more)."""
        query = (select(people.c.id, people.c.name, people.c.department, people.c.specialty, people.c.x_handle,
                        people.c.bluesky_handle)
                 .where(people.c.role == "physician", people.c.active.is_(True)).order_by(people.c.id))
        async with self.reads.connect() as conn:
            return [tuple(row) for row in await conn.execute(query)]

    @staticmethod
    async def _enrollments(conn: AsyncConnection, scoped: Callable[[Any], Any]) -> dict[int, tuple[Enrollment, ...]]:
        """Registered meetings with their Tweet Camp items done, per person in scope."""
        camp: dict[tuple[int, int], set[str]] = defaultdict(set)
        for person_id, meeting_id, item_id in await conn.execute(
                select(camp_items.c.person_id, camp_items.c.meeting_id, camp_items.c.item_id).where(scoped(camp_items))):
            camp[(person_id, meeting_id)].add(item_id)
        all_meetings = {m.id: m for m in [row_meeting(r) for r in await conn.execute(select(meetings))]}
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

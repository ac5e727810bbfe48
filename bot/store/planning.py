"""What the scheduler reads and writes: physicians due for planning, their inputs, and when to look again."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.models import Meeting, PlanningInputs, PlanningPerson
from bot.store.common import autocommit, bound_instant, in_page, row_meeting
from bot.store.conversations import addresses as read_addresses
from bot.store.library import offers as story_offers
from bot.store.schema import PLAN_AGAIN, lessons_done, meeting_attendees, meetings, people, profile_items, quiz_reviews

_SET_PLAN_AFTER = text("""
UPDATE people AS p SET plan_after = w.at
  FROM unnest(CAST(:ids AS integer[]), CAST(:versions AS integer[]), CAST(:ats AS timestamptz[])) AS w(id, version, at)
 WHERE p.id = w.id AND p.state_version = w.version
""")


class PlanningStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.reads = autocommit(engine)

    async def due(self, now: datetime, after_id: int, limit: int) -> list[PlanningPerson]:
        """Up to ``limit`` active physicians, not stopped, with ids above ``after_id``, whose
        ``plan_after`` has come or is unset, by id."""
        query = (select(*(people.c[name] if name != "follows_hospital" else people.c.follows_hospital_at.is_not(None)
                          for name in PlanningPerson._fields))
                 .where(people.c.role == "physician", people.c.active.is_(True), people.c.stopped_at.is_(None),
                        or_(people.c.plan_after.is_(None), people.c.plan_after <= now), people.c.id > after_id)
                 .order_by(people.c.id).limit(limit))
        async with self.reads.connect() as conn:
            return [PlanningPerson(*row) for row in (await conn.execute(query)).all()]

    async def inputs(self, person_ids: Sequence[int], now: datetime,
                     profile_known: Iterable[str]) -> PlanningInputs:
        """Progress, reviews, meetings and addresses of these physicians, in a few queries.

        The results may hold others too (see ``bot.store.common.in_page``); look up only the ids asked for.
        """
        ids = sorted(person_ids)
        page = {"page": ids}
        reviews = and_(in_page(quiz_reviews.c.person_id, ids), quiz_reviews.c.retired.is_(False))
        due: dict[int, list[tuple[str, int]]] = defaultdict(list)
        registered: dict[int, list[Meeting]] = defaultdict(list)
        known = sorted(set(profile_known))
        async with self.reads.connect() as conn:
            async def rows(query: Any) -> Sequence[Any]:
                return (await conn.execute(query, page)).all()

            profile = {person_id: int(count) for person_id, count in await rows(
                select(profile_items.c.person_id, func.count())
                .where(in_page(profile_items.c.person_id, ids), profile_items.c.item_id.in_(known))
                .group_by(profile_items.c.person_id))}
            # One comma-joined row per physician (lesson ids are slugs); equal sets are shared.
            shared: dict[str, frozenset[str]] = {}
            lessons = {person_id: shared.get(joined) or shared.setdefault(joined, frozenset(joined.split(",")))
                       for person_id, joined in await rows(
                           select(lessons_done.c.person_id, func.aggregate_strings(lessons_done.c.lesson_id, ","))
                           .where(in_page(lessons_done.c.person_id, ids)).group_by(lessons_done.c.person_id))}
            for person_id, lesson_id, attempts in await rows(
                    select(quiz_reviews.c.person_id, quiz_reviews.c.lesson_id, quiz_reviews.c.attempts)
                    .where(reviews, quiz_reviews.c.due_at <= now)
                    .order_by(quiz_reviews.c.due_at, quiz_reviews.c.lesson_id)):
                due[person_id].append((lesson_id, attempts))
            next_review = dict((await conn.execute(
                select(quiz_reviews.c.person_id, func.min(quiz_reviews.c.due_at))
                .where(reviews, quiz_reviews.c.due_at > now).group_by(quiz_reviews.c.person_id), page)).all())
            current = {m.id: m for m in [row_meeting(row) for row in await conn.execute(
                select(meetings).where(meetings.c.ends_on >= (now - timedelta(days=1)).date()))]}  # zones: a day
            for person_id, meeting_id in await rows(
                    select(meeting_attendees.c.person_id, meeting_attendees.c.meeting_id)
                    .where(in_page(meeting_attendees.c.person_id, ids),
                           meeting_attendees.c.meeting_id.in_(list(current)))):
                registered[person_id].append(current[meeting_id])
            addresses = await read_addresses(conn, ids)
            library = await story_offers(conn, ids, now)
        return PlanningInputs(profile, lessons, due, next_review, registered, addresses, library.stories,
                              library.next_lift)

    async def set_plan_after(self, wakes: Sequence[tuple[int, int, datetime]]) -> int:
        """Record (person id, state version planned from, next check) for each physician, except
        those whose state changed since it was read: they stay due. Returns how many were set.

        One statement for the whole batch on PostgreSQL (the rows as arrays); on SQLite one prepared
        statement run for each row by the driver, each distinct instant converted once."""
        if not wakes:
            return 0
        async with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                ids, versions, ats = (list(column) for column in zip(*wakes, strict=True))
                result = await conn.execute(_SET_PLAN_AFTER, dict(ids=ids, versions=versions, ats=ats))
            else:
                stored = bound_instant(people.c.plan_after, conn.dialect)
                result = await conn.exec_driver_sql(
                    "UPDATE people SET plan_after = ? WHERE id = ? AND state_version = ?",
                    [(stored(at), pid, version) for pid, version, at in wakes])
            return int(result.rowcount)

    async def replan_everyone(self) -> int:
        """Plan every physician at the next tick (what planning reads beyond them has changed)."""
        async with self.engine.begin() as conn:
            return (await conn.execute(update(people).where(people.c.plan_after.is_not(None))
                                       .values(**PLAN_AGAIN))).rowcount

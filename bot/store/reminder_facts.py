"""What rendering reminders at send time reads, for many physicians at once.

The sender renders the messages it claimed together; reading each physician's row, lessons,
reviews, profile checklist and meetings one query at a time cost a dozen database round trips per
message. :meth:`ReminderFactsStore.read` reads them for the whole batch in a few queries on one
connection, and only the tables the batch's kinds need.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.curriculum import ReviewState
from bot.core.models import Meeting
from bot.store.common import PAGE, autocommit, row_meeting
from bot.store.people import PERSON_COLUMNS, Person, row_person
from bot.store.schema import camp_items, lessons_done, meeting_attendees, meetings, people, profile_items, quiz_reviews

NEEDS: dict[str, frozenset[str]] = {
    "profile": frozenset({"profile"}),
    "lesson": frozenset({"lessons", "reviews"}),
    "review": frozenset({"reviews"}),
    "camp": frozenset({"meetings"}),
}
"""Reminder kind → what its rendering reads besides the physician's row."""


@dataclass(frozen=True)
class ReminderFacts:
    """Per physician, what reminders read; a physician missing from a mapping has none of it."""

    people: dict[int, Person] = field(default_factory=dict)
    profile_done: dict[int, frozenset[str]] = field(default_factory=dict)
    lessons_done: dict[int, frozenset[str]] = field(default_factory=dict)
    reviews: dict[int, dict[str, ReviewState]] = field(default_factory=dict)
    meetings: dict[int, Meeting] = field(default_factory=dict)
    attending: dict[int, frozenset[int]] = field(default_factory=dict)
    camp_done: dict[tuple[int, int], frozenset[str]] = field(default_factory=dict)
    """(person id, meeting id) → camp checklist items done."""


class ReminderFactsStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.reads = autocommit(engine)

    async def read(self, person_ids: Iterable[int], kinds: Iterable[str]) -> ReminderFacts:
        """The facts of ``person_ids`` that reminders of ``kinds`` need, on one connection."""
        ids = sorted(set(person_ids))
        if not ids:
            return ReminderFacts()
        needs = frozenset().union(*(NEEDS.get(kind, frozenset()) for kind in set(kinds)))
        page = {"page": ids}
        facts = ReminderFacts()
        async with self.reads.connect() as conn:
            async def rows(query: Any) -> Sequence[Any]:
                return (await conn.execute(query, page)).all()

            facts.people.update((row.id, row_person(row)) for row in await rows(
                select(*PERSON_COLUMNS).where(people.c.id.in_(PAGE))))
            if "profile" in needs:
                facts.profile_done.update(_sets(await rows(
                    select(profile_items.c.person_id, profile_items.c.item_id).where(profile_items.c.person_id.in_(PAGE)))))
            if "lessons" in needs:
                facts.lessons_done.update(_sets(await rows(
                    select(lessons_done.c.person_id, lessons_done.c.lesson_id).where(lessons_done.c.person_id.in_(PAGE)))))
            if "reviews" in needs:
                reviews: dict[int, dict[str, ReviewState]] = defaultdict(dict)
                for row in await rows(select(quiz_reviews).where(quiz_reviews.c.person_id.in_(PAGE))):
                    reviews[row.person_id][row.lesson_id] = ReviewState(
                        lesson_id=row.lesson_id, attempts=row.attempts, streak=row.streak, due_at=row.due_at,
                        retired=row.retired, last_correct=row.last_correct)
                facts.reviews.update(reviews)
            if "meetings" in needs:
                facts.meetings.update((m.id, m) for m in (row_meeting(row) for row in await conn.execute(select(meetings))))
                facts.attending.update(_sets(await rows(
                    select(meeting_attendees.c.person_id, meeting_attendees.c.meeting_id)
                    .where(meeting_attendees.c.person_id.in_(PAGE)))))
                done: dict[tuple[int, int], set[str]] = defaultdict(set)
                for person_id, meeting_id, item_id in await rows(
                        select(camp_items.c.person_id, camp_items.c.meeting_id, camp_items.c.item_id)
                        .where(camp_items.c.person_id.in_(PAGE))):
                    done[(person_id, meeting_id)].add(item_id)
                facts.camp_done.update((key, frozenset(items)) for key, items in done.items())
        return facts


def _sets(rows: Iterable[Any]) -> dict[Any, frozenset[Any]]:
    grouped: dict[Any, set[Any]] = defaultdict(set)
    for key, value in rows:
        grouped[key].add(value)
    return {key: frozenset(values) for key, values in grouped.items()}

"""Learning progress: lessons completed (and the transcript of them) and spaced quiz reviews."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.curriculum import ReviewState
from bot.store.common import autocommit, ids, mark_changed, set_mark
from bot.store.schema import lessons_done, people, quiz_reviews

TranscriptRow = tuple[str, str, str, str, datetime]
"""(email, name, department, lesson id, completed at)."""


class ProgressStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.reads = autocommit(engine)

    async def mark_lesson_done(self, person_id: int, lesson_id: str, now: datetime) -> bool:
        """True when this completes the lesson for the first time."""
        return await set_mark(self.engine, lessons_done, dict(person_id=person_id, lesson_id=lesson_id), True, now,
                              column="completed_at")

    async def lessons_done(self, person_id: int) -> frozenset[str]:
        return await ids(self.engine, select(lessons_done.c.lesson_id).where(lessons_done.c.person_id == person_id))

    async def lessons_completed(self, person_id: int) -> list[tuple[str, datetime]]:
        """(lesson id, when first completed) of one physician, oldest first."""
        async with self.reads.connect() as conn:
            rows = await conn.execute(select(lessons_done.c.lesson_id, lessons_done.c.completed_at)
                                      .where(lessons_done.c.person_id == person_id)
                                      .order_by(lessons_done.c.completed_at, lessons_done.c.lesson_id))
            return [(row.lesson_id, row.completed_at) for row in rows]

    async def transcripts(self, since: datetime | None = None) -> list[TranscriptRow]:
        """Every completed lesson of every physician, by email then date; only completions at or after
        ``since`` when given."""
        query = (select(people.c.email, people.c.name, people.c.department, lessons_done.c.lesson_id,
                        lessons_done.c.completed_at)
                 .join(people, people.c.id == lessons_done.c.person_id)
                 .order_by(people.c.email, lessons_done.c.completed_at, lessons_done.c.lesson_id))
        if since is not None:
            query = query.where(lessons_done.c.completed_at >= since)
        async with self.reads.connect() as conn:
            return [tuple(row) for row in await conn.execute(query)]

    async def reviews(self, person_id: int) -> dict[str, ReviewState]:
        async with self.reads.connect() as conn:
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
            await mark_changed(conn, person_id)

"""Medical meetings, who attends them, and each attendee's Tweet Camp items."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.models import Meeting
from bot.store.common import autocommit, ids, row_meeting, set_mark
from bot.store.schema import camp_items, meeting_attendees, meetings


class MeetingStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.reads = autocommit(engine)

    async def add(self, meeting: Meeting, now: datetime) -> Meeting:
        """Store a meeting (its ``id`` is ignored); returns it with the id it got."""
        values = {k: getattr(meeting, k) for k in Meeting.__dataclass_fields__ if k != "id"}
        async with self.engine.begin() as conn:
            result = await conn.execute(insert(meetings).values(created_at=now, **values).returning(meetings.c.id))
            new_id = result.scalar_one()
        return Meeting(id=new_id, **values)

    async def by_key(self, key: str) -> Meeting | None:
        async with self.reads.connect() as conn:
            row = (await conn.execute(select(meetings).where(meetings.c.key == key))).first()
        return row_meeting(row) if row else None

    async def all(self, *, ending_on_or_after: date | None = None) -> list[Meeting]:
        """Meetings by start date; only those not ended before ``ending_on_or_after`` when given."""
        query = select(meetings).order_by(meetings.c.starts_on, meetings.c.id)
        if ending_on_or_after is not None:
            query = query.where(meetings.c.ends_on >= ending_on_or_after)
        async with self.reads.connect() as conn:
            return [row_meeting(row) for row in await conn.execute(query)]

    async def set_attending(self, person_id: int, meeting_id: int, attending: bool, now: datetime) -> bool:
        """True when this changed anything."""
        return await set_mark(self.engine, meeting_attendees, dict(person_id=person_id, meeting_id=meeting_id),
                              attending, now, column="joined_at")

    async def attending(self, person_id: int) -> frozenset[int]:
        return await ids(self.engine, select(meeting_attendees.c.meeting_id)
                         .where(meeting_attendees.c.person_id == person_id))

    async def set_camp_item(self, person_id: int, meeting_id: int, item_id: str, done: bool, now: datetime) -> None:
        await set_mark(self.engine, camp_items, dict(person_id=person_id, meeting_id=meeting_id, item_id=item_id),
                       done, now)

    async def camp_done(self, person_id: int, meeting_id: int) -> frozenset[str]:
        return await ids(self.engine, select(camp_items.c.item_id).where(camp_items.c.person_id == person_id,
                                                                         camp_items.c.meeting_id == meeting_id))

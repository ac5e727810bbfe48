"""A physician's profile: checklist items, their X handle (claims and conflicts), and the
milestones marketing watches (following the hospital, followed back, intro video posted)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.common import autocommit, ids, set_mark, set_person_columns
from bot.store.people import PERSON_COLUMNS, Person, row_person
from bot.store.schema import PLAN_AGAIN, handle_conflicts, network_presence, people, profile_items


@dataclass(frozen=True)
class HandleConflict:
    """Someone asked for an X handle that another physician holds."""

    asked_by: str
    handle: str
    held_by: str
    asked_at: datetime


class ProfileStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.reads = autocommit(engine)

    # -- checklist ----------------------------------------------------------------------------------
    async def set_item(self, person_id: int, item_id: str, done: bool, now: datetime) -> None:
        await set_mark(self.engine, profile_items, dict(person_id=person_id, item_id=item_id), done, now)

    async def items_done(self, person_id: int) -> frozenset[str]:
        return await ids(self.engine, select(profile_items.c.item_id).where(profile_items.c.person_id == person_id))

    # -- X handle -----------------------------------------------------------------------------------
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
                return row_person(holder)
            previous = (await conn.execute(select(people.c.x_handle).where(people.c.id == person_id))).scalar()
            await conn.execute(update(people).where(people.c.id == person_id)
                               .values(updated_at=now, x_handle=handle, **PLAN_AGAIN))
            await conn.execute(delete(handle_conflicts).where(mine))
            if (previous or "").lower() != key:  # facts verified for the old handle are not about this one
                await conn.execute(delete(network_presence).where(network_presence.c.person_id == person_id,
                                                                  network_presence.c.network == "x"))
        return None

    async def set_x_handle(self, person_id: int, handle: str | None, now: datetime) -> None:
        """Record (or, with None, forget) the handle as given, without the claim's check for a holder."""
        await set_person_columns(self.engine, person_id, now, x_handle=handle)
        async with self.engine.begin() as conn:
            await conn.execute(delete(network_presence).where(
                network_presence.c.person_id == person_id, network_presence.c.network == "x",
                func.lower(network_presence.c.handle) != (handle or "").lower()))

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
        async with self.reads.connect() as conn:
            return [HandleConflict(*row) for row in await conn.execute(query)]

    # -- milestones ---------------------------------------------------------------------------------
    async def set_follows_hospital(self, person_id: int, follows: bool, now: datetime) -> None:
        await set_person_columns(self.engine, person_id, now, follows_hospital_at=now if follows else None)

    async def set_followed_back(self, person_id: int, now: datetime) -> None:
        """The hospital's account follows the physician back (from now)."""
        await set_person_columns(self.engine, person_id, now, followed_back_at=now)

    async def set_video_posted(self, person_id: int, posted: bool, now: datetime) -> None:
        await set_person_columns(self.engine, person_id, now, video_posted_at=now if posted else None)

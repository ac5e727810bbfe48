"""Where proactive messages go: Teams conversation references, and each person's address per platform."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.common import autocommit, in_page, mark_changed
from bot.store.schema import PLAN_AGAIN, conversation_refs, identities, people


def _save(dialect: Any) -> Any:
    """Insert a reference, or update it when it differs (bound at execution: built and compiled once)."""
    c = conversation_refs.c
    upsert = dialect.insert(conversation_refs).values(
        platform=bindparam("ref_platform"), address=bindparam("ref_address"), reference=bindparam("ref_reference"),
        person_id=bindparam("ref_person_id"), updated_at=bindparam("ref_updated_at"))
    return upsert.on_conflict_do_update(
        index_elements=["platform", "address"],
        set_=dict(reference=upsert.excluded.reference, person_id=upsert.excluded.person_id,
                  updated_at=upsert.excluded.updated_at),
        where=or_(c.reference != upsert.excluded.reference, c.person_id.is_distinct_from(upsert.excluded.person_id)))


_SAVE_SQLITE = _save(sqlite).returning(conversation_refs.c.address)


def _save_and_plan_postgres() -> Any:
    """One statement: the upsert, and the physician planned again when it wrote; how many it wrote."""
    saved = _save(postgresql).returning(conversation_refs.c.person_id).cte("saved")
    planned = (update(people).where(people.c.id.in_(select(saved.c.person_id))).values(**PLAN_AGAIN)
               .returning(people.c.id).cte("planned"))
    return select(func.count()).select_from(saved).add_cte(planned)


_SAVE_AND_PLAN_POSTGRES = _save_and_plan_postgres()


class ConversationStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.reads = autocommit(engine)

    async def save_ref(self, platform: str, address: str, reference: str, person_id: int | None,
                       now: datetime) -> bool:
        """Store a conversation reference; True when it was new or different, and only then is the row
        written and the physician planned again (a restarted process sees every reference again)."""
        values = dict(ref_platform=platform, ref_address=address, ref_reference=reference, ref_person_id=person_id,
                      ref_updated_at=now)  # (named apart from the columns: a DML statement's keys would name them)
        if self.engine.dialect.name == "postgresql":  # one statement is atomic: no transaction around it
            async with self.reads.connect() as conn:
                return bool((await conn.execute(_SAVE_AND_PLAN_POSTGRES, values)).scalar())
        async with self.engine.begin() as conn:
            changed = (await conn.execute(_SAVE_SQLITE, values)).first() is not None
            if changed:
                await mark_changed(conn, person_id)
        return changed

    async def ref(self, platform: str, address: str) -> str | None:
        async with self.reads.connect() as conn:
            return (await conn.execute(select(conversation_refs.c.reference).where(
                conversation_refs.c.platform == platform, conversation_refs.c.address == address))).scalar()

    async def delete_ref(self, platform: str, address: str) -> bool:
        async with self.engine.begin() as conn:
            deleted = (await conn.execute(delete(conversation_refs).where(
                conversation_refs.c.platform == platform, conversation_refs.c.address == address)
                .returning(conversation_refs.c.person_id))).all()
            await mark_changed(conn, *(person_id for (person_id,) in deleted))
            return bool(deleted)

    async def addresses(self, person_ids: Sequence[int]) -> dict[int, dict[str, str]]:
        """Per person, platform → address for proactive messages (Slack user id, Teams reference key)."""
        async with self.reads.connect() as conn:
            return await addresses(conn, list(person_ids))


async def addresses(conn: AsyncConnection, ids: list[int]) -> dict[int, dict[str, str]]:
    """:meth:`ConversationStore.addresses` inside an open connection (planning reads them with the rest)."""
    result: dict[int, dict[str, str]] = defaultdict(dict)
    ids = sorted(ids)
    page = {"page": ids}
    for person_id, platform, user_id in (await conn.execute(
            select(identities.c.person_id, identities.c.platform, identities.c.platform_user_id)
            .where(in_page(identities.c.person_id, ids)).order_by(identities.c.linked_at), page)).all():
        if platform == "slack":
            result[person_id]["slack"] = user_id
    for person_id, platform, address in (await conn.execute(
            select(conversation_refs.c.person_id, conversation_refs.c.platform, conversation_refs.c.address)
            .where(in_page(conversation_refs.c.person_id, ids)).order_by(conversation_refs.c.updated_at),
            page)).all():
        result[person_id][platform] = address
    return result

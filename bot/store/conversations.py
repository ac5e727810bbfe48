"""Where proactive messages go: Teams conversation references, and each person's address per platform."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.common import in_page, mark_changed
from bot.store.schema import conversation_refs, identities


class ConversationStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def save_ref(self, platform: str, address: str, reference: str, person_id: int | None,
                       now: datetime) -> None:
        key = and_(conversation_refs.c.platform == platform, conversation_refs.c.address == address)
        values = dict(reference=reference, person_id=person_id, updated_at=now)
        async with self.engine.begin() as conn:
            if (await conn.execute(update(conversation_refs).where(key).values(**values))).rowcount == 0:
                await conn.execute(insert(conversation_refs).values(platform=platform, address=address, **values))
            await mark_changed(conn, person_id)

    async def ref(self, platform: str, address: str) -> str | None:
        async with self.engine.connect() as conn:
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
        async with self.engine.connect() as conn:
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

"""Slack users' Do Not Disturb in the store, shared by every instance (see :mod:`bot.core.dnd`)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.dnd import DndStatus
from bot.store.common import autocommit
from bot.store.schema import slack_dnd


class SlackDndStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.reads = autocommit(engine)
        self._dialect = postgresql if engine.dialect.name == "postgresql" else sqlite

    async def save(self, statuses: Sequence[DndStatus]) -> None:
        rows = [dict(user_id=s.user_id, dnd_start=s.dnd_start, dnd_end=s.dnd_end, snooze_end=s.snooze_end,
                     checked_at=s.checked_at) for s in statuses]
        if not rows:
            return
        statement = self._dialect.insert(slack_dnd)
        statement = statement.on_conflict_do_update(index_elements=["user_id"], set_={
            name: statement.excluded[name] for name in ("dnd_start", "dnd_end", "snooze_end", "checked_at")})
        async with self.engine.begin() as conn:
            await conn.execute(statement, rows)

    async def statuses(self, user_ids: Iterable[str]) -> dict[str, DndStatus]:
        """The stored status of each of ``user_ids`` that has one."""
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        async with self.reads.connect() as conn:
            rows = await conn.execute(select(slack_dnd).where(slack_dnd.c.user_id.in_(ids)))
            return {r.user_id: DndStatus(r.user_id, r.dnd_start, r.dnd_end, r.snooze_end, r.checked_at)
                    for r in rows}

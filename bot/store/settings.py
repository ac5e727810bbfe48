"""Key-value settings, and the inbound event ids already handled (platform retries are dropped)."""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.common import autocommit
from bot.store.schema import processed_events, settings


class SettingStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.reads = autocommit(engine)

    async def get(self, key: str) -> str | None:
        async with self.reads.connect() as conn:
            return (await conn.execute(select(settings.c.value).where(settings.c.key == key))).scalar()

    async def set(self, key: str, value: str) -> None:
        """Store ``value`` under ``key`` (one upsert: two instances setting a new key at once both succeed)."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        async with self.engine.begin() as conn:
            await conn.execute(dialect.insert(settings).values(key=key, value=value)
                               .on_conflict_do_update(index_elements=["key"], set_=dict(value=value)))

    async def secret(self, key: str) -> str:
        """A random secret kept under ``key``, made on first use; every instance reads the same one."""
        value = await self.get(key)
        if value:
            return value
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(settings).values(key=key, value=secrets.token_urlsafe(32)))
        except IntegrityError:  # another instance made it first: theirs is the one
            pass
        value = await self.get(key)
        assert value
        return value


class EventStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def claim(self, event_key: str, now: datetime) -> bool:
        """Record an inbound event id; False when it was seen before (a platform retry)."""
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(processed_events).values(event_key=event_key, seen_at=now))
            return True
        except IntegrityError:
            return False

    async def forget_before(self, cutoff: datetime) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(processed_events).where(processed_events.c.seen_at < cutoff))
            return result.rowcount

"""A physician's own reminder preferences: snooze, stop and start, quiet hours, lesson time, time zone, networks."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.models import PreferenceChange
from bot.store.common import set_person_columns


class PreferenceStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def snooze(self, person_id: int, until: datetime, now: datetime) -> None:
        await set_person_columns(self.engine, person_id, now, snoozed_until=until)

    async def stop(self, person_id: int, now: datetime) -> None:
        """No more reminders until the physician starts them again."""
        await set_person_columns(self.engine, person_id, now, stopped_at=now)

    async def start(self, person_id: int, now: datetime) -> None:
        """Reminders again: neither stopped nor snoozed."""
        await set_person_columns(self.engine, person_id, now, stopped_at=None, snoozed_until=None)

    async def set_timezone(self, person_id: int, zone: str, now: datetime) -> None:
        await set_person_columns(self.engine, person_id, now, timezone=zone)

    async def set_networks(self, person_id: int, networks: Sequence[str], now: datetime) -> None:
        """The networks the physician posts on; none chosen: the default."""
        await set_person_columns(self.engine, person_id, now, networks=",".join(networks) or None)

    async def change(self, person_id: int, change: PreferenceChange, now: datetime) -> None:
        """Apply what the ``settings`` command parsed."""
        unknown = set(change) - PreferenceChange.__optional_keys__
        if unknown:
            raise ValueError(f"cannot change {sorted(unknown)}")
        await set_person_columns(self.engine, person_id, now, **change)

"""The Slack directory in the store: who in the workspace has which email.

Filled in bulk from ``users.list`` (daily) and kept current by ``team_join``/``user_change``
events, so a roster imported by email resolves to Slack users without one ``users.lookupByEmail``
per physician. Emails Slack says have no account are remembered, so the roster can say so.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.common import autocommit
from bot.store.schema import PLAN_AGAIN, identities, people, settings, slack_missing, slack_users

SYNCED_AT = "slack.directory.synced_at"


@dataclass(frozen=True)
class DirectoryUser:
    user_id: str
    email: str | None
    deleted: bool = False


class SlackDirectoryStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.reads = autocommit(engine)
        self._dialect = postgresql if engine.dialect.name == "postgresql" else sqlite

    async def save(self, users: Sequence[DirectoryUser], now: datetime) -> int:
        """Add or update users; their emails are no longer "missing". Returns how many."""
        rows = [dict(user_id=u.user_id, email=(u.email or "").strip().lower() or None, deleted=u.deleted,
                     updated_at=now) for u in users]
        if not rows:
            return 0
        statement = self._dialect.insert(slack_users)
        statement = statement.on_conflict_do_update(index_elements=["user_id"], set_=dict(
            email=statement.excluded.email, deleted=statement.excluded.deleted, updated_at=statement.excluded.updated_at))
        found = [r["email"] for r in rows if r["email"] and not r["deleted"]]
        async with self.engine.begin() as conn:
            for start in range(0, len(rows), 500):
                await conn.execute(statement, rows[start:start + 500])
            for start in range(0, len(found), 500):
                cleared = (await conn.execute(delete(slack_missing).where(
                    slack_missing.c.email.in_(found[start:start + 500])).returning(slack_missing.c.email))).scalars().all()
                if cleared:  # a physician who joined the workspace: plan their reminders again
                    await conn.execute(update(people).where(people.c.email.in_(cleared)).values(**PLAN_AGAIN))
        return len(rows)

    async def user_for_email(self, email: str) -> str | None:
        query = (select(slack_users.c.user_id).where(slack_users.c.email == email.strip().lower(),
                                                     slack_users.c.deleted.is_(False))
                 .order_by(slack_users.c.updated_at.desc()).limit(1))
        async with self.reads.connect() as conn:
            return (await conn.execute(query)).scalar()

    async def link_roster(self, now: datetime) -> int:
        """Link every roster physician without a Slack identity to the active user with their email."""
        linked = identities.alias("linked")
        query = (select(people.c.id, func.min(slack_users.c.user_id))
                 .join(slack_users, and_(slack_users.c.email == people.c.email, slack_users.c.deleted.is_(False)))
                 .where(~exists().where(linked.c.person_id == people.c.id, linked.c.platform == "slack"),
                        ~exists().where(linked.c.platform == "slack",
                                        linked.c.platform_user_id == slack_users.c.user_id))
                 .group_by(people.c.id))
        async with self.engine.begin() as conn:
            pairs = (await conn.execute(query)).all()
            rows = [dict(platform="slack", platform_user_id=user_id, person_id=person_id, linked_at=now)
                    for person_id, user_id in pairs]
            for start in range(0, len(rows), 500):
                await conn.execute(insert(identities), rows[start:start + 500])
                ids = [r["person_id"] for r in rows[start:start + 500]]
                await conn.execute(update(people).where(people.c.id.in_(ids)).values(**PLAN_AGAIN))
        return len(rows)

    async def mark_missing(self, email: str, now: datetime) -> None:
        statement = self._dialect.insert(slack_missing).values(email=email.strip().lower(), checked_at=now)
        async with self.engine.begin() as conn:
            await conn.execute(statement.on_conflict_do_update(index_elements=["email"],
                                                               set_=dict(checked_at=now)))

    async def missing_since(self, email: str) -> datetime | None:
        async with self.reads.connect() as conn:
            return (await conn.execute(select(slack_missing.c.checked_at)
                                       .where(slack_missing.c.email == email.strip().lower()))).scalar()

    async def missing_people(self) -> list[tuple[int, str, datetime]]:
        """(person id, name, since) of active physicians whose email has no Slack account."""
        query = (select(people.c.id, people.c.name, slack_missing.c.checked_at)
                 .join(slack_missing, slack_missing.c.email == people.c.email)
                 .where(people.c.active.is_(True),
                        ~exists().where(identities.c.person_id == people.c.id, identities.c.platform == "slack"))
                 .order_by(people.c.name))
        async with self.reads.connect() as conn:
            return [(r[0], r[1], r[2]) for r in await conn.execute(query)]

    async def synced_at(self) -> datetime | None:
        async with self.reads.connect() as conn:
            value = (await conn.execute(select(settings.c.value).where(settings.c.key == SYNCED_AT))).scalar()
        return datetime.fromisoformat(value) if value else None

    async def set_synced(self, now: datetime) -> None:
        await self._put(SYNCED_AT, now.isoformat())

    async def try_lease(self, name: str, owner: str, now: datetime, seconds: float) -> bool:
        """Hold the lease ``name`` for ``seconds`` unless another owner holds it (one statement decides)."""
        key = f"lease.{name}"
        value = f"{(now + timedelta(seconds=seconds)).isoformat()}|{owner}"
        async with self.engine.begin() as conn:
            current = (await conn.execute(select(settings.c.value).where(settings.c.key == key))).scalar()
            if current is None:
                inserted = await conn.execute(self._dialect.insert(settings).values(key=key, value=value)
                                              .on_conflict_do_nothing(index_elements=["key"]))
                return inserted.rowcount == 1
            until, _, holder = current.partition("|")
            if holder != owner and datetime.fromisoformat(until) > now:
                return False
            result = await conn.execute(update(settings).where(settings.c.key == key, settings.c.value == current)
                                        .values(value=value))
            return result.rowcount == 1

    async def _put(self, key: str, value: str) -> None:
        statement = self._dialect.insert(settings).values(key=key, value=value)
        async with self.engine.begin() as conn:
            await conn.execute(statement.on_conflict_do_update(index_elements=["key"], set_=dict(value=value)))



"""People and their platform identities: who is on the roster, and how each platform knows them."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.models import RosterEntry
from bot.store.common import autocommit, mark_changed, set_person_columns
from bot.store.schema import PLAN_AGAIN, identities, people


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    name: str
    department: str
    specialty: str
    role: str
    x_handle: str | None
    timezone: str | None
    active: bool
    follows_hospital_at: datetime | None
    followed_back_at: datetime | None
    video_posted_at: datetime | None
    snoozed_until: datetime | None
    stopped_at: datetime | None
    created_at: datetime
    quiet_start: str | None = None
    quiet_end: str | None = None
    weekends_off: bool | None = None
    lesson_time: str | None = None
    """The physician's own preferences ("HH:MM"); None: the hospital's setting."""
    networks: str | None = None
    """Chosen networks, comma-separated ids; None: the default (see ``bot.core.models.networks_of``)."""
    bluesky_handle: str | None = None
    """A Bluesky domain handle (lower case) or DID."""
    linkedin_url: str | None = None
    """Self-reported: LinkedIn has no public API to check it."""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def first_name(self) -> str:
        parts = self.name.replace("Dr. ", "").split()
        return parts[0] if parts else self.name


PERSON_COLUMNS = tuple(people.c[name] for name in Person.__dataclass_fields__)
"""The ``people`` columns a :class:`Person` holds, in its field order: rows of ``select(*PERSON_COLUMNS)``
become people positionally (a roster of 50,000 loads in a fraction of the time by name)."""


def row_person(row: Any) -> Person:
    return Person(*row)


_BY_IDENTITY = (select(*PERSON_COLUMNS).join(identities, identities.c.person_id == people.c.id)
                .where(identities.c.platform == bindparam("platform"),
                       identities.c.platform_user_id == bindparam("user_id")))
"""Built once: every turn of every platform runs it, and building it costs more CPU than SQLite's answer."""


class PeopleStore:
    """The ``people`` and ``identities`` tables."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.reads = autocommit(engine)

    async def upsert(self, entries: Iterable[RosterEntry], now: datetime) -> tuple[int, int]:
        """Insert new people and update known ones by email, in one transaction: (added, updated)."""
        entries = list(entries)
        updated = 0
        async with self.engine.begin() as conn:
            existing = {row.email: row.id for row in await conn.execute(select(people.c.email, people.c.id))}
            new_rows = []
            for entry in entries:
                values = dict(name=entry.name, department=entry.department, specialty=entry.specialty,
                              role=entry.role or "physician", updated_at=now, active=True)
                changed = dict(values, **PLAN_AGAIN)
                if entry.role is None:
                    del changed["role"]  # a known person keeps their role
                for column in ("x_handle", "bluesky_handle", "linkedin_url"):
                    if getattr(entry, column):
                        values[column] = getattr(entry, column)
                email = entry.email.lower()
                if email in existing:
                    await conn.execute(update(people).where(people.c.id == existing[email]).values(**changed))
                    updated += 1
                else:
                    new_rows.append(dict(values, email=email, created_at=now,
                                         x_handle=entry.x_handle or None,
                                         bluesky_handle=entry.bluesky_handle or None,
                                         linkedin_url=entry.linkedin_url or None))
                    existing[email] = -1
            for start in range(0, len(new_rows), 500):
                await conn.execute(insert(people), new_rows[start:start + 500])
        return len(new_rows), updated

    async def get(self, person_id: int) -> Person | None:
        async with self.reads.connect() as conn:
            row = (await conn.execute(select(*PERSON_COLUMNS).where(people.c.id == person_id))).first()
        return row_person(row) if row else None

    async def by_email(self, email: str) -> Person | None:
        async with self.reads.connect() as conn:
            row = (await conn.execute(select(*PERSON_COLUMNS).where(people.c.email == email.lower()))).first()
        return row_person(row) if row else None

    async def by_identity(self, platform: str, user_id: str) -> Person | None:
        async with self.reads.connect() as conn:
            row = (await conn.execute(_BY_IDENTITY, {"platform": platform, "user_id": user_id})).first()
        return row_person(row) if row else None

    async def link_identity(self, platform: str, user_id: str, person_id: int, now: datetime) -> None:
        """Make ``user_id`` on ``platform`` this person's (taking it from whoever had it)."""
        async with self.engine.begin() as conn:
            previous = (await conn.execute(delete(identities).where(
                identities.c.platform == platform, identities.c.platform_user_id == user_id)
                .returning(identities.c.person_id))).scalar()
            await conn.execute(insert(identities).values(platform=platform, platform_user_id=user_id,
                                                         person_id=person_id, linked_at=now))
            await mark_changed(conn, person_id, previous)

    async def all(self, *, role: str | None = None, active_only: bool = True) -> list[Person]:
        """People by department then name; only those with ``role`` when given."""
        query = select(*PERSON_COLUMNS).order_by(people.c.department, people.c.name)
        if role:
            query = query.where(people.c.role == role)
        if active_only:
            query = query.where(people.c.active.is_(True))
        async with self.reads.connect() as conn:
            return [row_person(row) for row in await conn.execute(query)]

    async def managers(self, emails: Iterable[str]) -> list[Person]:
        """Active marketing managers: people with the admin role, and those whose email is given."""
        query = select(*PERSON_COLUMNS).where(people.c.active.is_(True), or_(
            people.c.role == "admin", people.c.email.in_(sorted({e.lower() for e in emails})))).order_by(people.c.id)
        async with self.reads.connect() as conn:
            return [row_person(row) for row in await conn.execute(query)]

    async def deactivate(self, person_id: int, now: datetime) -> None:
        """The person left: no coaching, no reminders, out of the reports (a roster import brings them back)."""
        await set_person_columns(self.engine, person_id, now, active=False)

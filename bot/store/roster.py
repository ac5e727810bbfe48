"""A roster import: people (by email) and their platform ids brought in line with a roster, all or nothing."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.core.models import RosterEntry
from bot.store.common import mark_changed
from bot.store.schema import PLAN_AGAIN, identities, people


@dataclass(frozen=True)
class IdentityLink:
    """A platform user id that a roster assigns to the person with this email."""

    email: str
    platform: str
    user_id: str


@dataclass(frozen=True)
class RosterChanges:
    """What a roster import did (or, in a dry run, would do)."""

    added: int
    updated: int
    unchanged: int
    deactivated: int
    linked: int


@dataclass
class _RosterPlan:
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    deactivate: list[int] = field(default_factory=list)
    links: list[IdentityLink] = field(default_factory=list)

    @property
    def changes(self) -> RosterChanges:
        return RosterChanges(added=len(self.inserts), updated=len(self.updates), unchanged=self.unchanged,
                             deactivated=len(self.deactivate), linked=len(self.links))


class RosterStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def apply(self, entries: Sequence[RosterEntry], links: Sequence[IdentityLink], now: datetime,
                    *, deactivate_missing: bool = False, dry_run: bool = False,
                    progress: Callable[[int], None] | None = None) -> RosterChanges:
        """Bring people (by email) and their platform ids in line with a roster, in one transaction.

        New emails are added as physicians; known people get the roster's name and department and
        are reactivated; a blank specialty, X handle or role keeps the stored one.
        ``deactivate_missing`` deactivates active physicians absent from the roster. ``dry_run``
        counts the same changes and writes nothing. ``progress`` receives the rows processed so far.
        """
        async with self.engine.begin() as conn:
            plan = await self._roster_plan(conn, entries, links, now, deactivate_missing)
            if not dry_run:
                await self._write_roster(conn, plan, now, progress or (lambda _done: None))
        return plan.changes

    @staticmethod
    async def _roster_plan(conn: AsyncConnection, entries: Sequence[RosterEntry], links: Sequence[IdentityLink],
                           now: datetime, deactivate_missing: bool) -> _RosterPlan:
        columns = (people.c.id, people.c.email, people.c.name, people.c.department, people.c.specialty,
                   people.c.x_handle, people.c.bluesky_handle, people.c.linkedin_url, people.c.active, people.c.role)
        existing = {row.email: row for row in await conn.execute(select(*columns))}
        plan = _RosterPlan()
        seen: set[str] = set()
        for entry in entries:
            email = entry.email.lower()
            if email in seen:
                raise ValueError(f"{email} is twice in the roster")
            seen.add(email)
            row = existing.get(email)
            if row is None:
                plan.inserts.append(dict(email=email, name=entry.name, department=entry.department,
                                         specialty=entry.specialty, role=entry.role or "physician",
                                         x_handle=entry.x_handle or None,
                                         bluesky_handle=entry.bluesky_handle or None,
                                         linkedin_url=entry.linkedin_url or None,
                                         active=True, created_at=now, updated_at=now))
                continue
            wanted = dict(name=entry.name, department=entry.department, specialty=entry.specialty or row.specialty,
                          x_handle=entry.x_handle or row.x_handle,
                          bluesky_handle=entry.bluesky_handle or row.bluesky_handle,
                          linkedin_url=entry.linkedin_url or row.linkedin_url, role=entry.role or row.role, active=True)
            if any(getattr(row, key) != value for key, value in wanted.items()):
                plan.updates.append({f"b_{key}": value for key, value in wanted.items()} | {"b_id": row.id})
            else:
                plan.unchanged += 1
        if deactivate_missing:
            plan.deactivate = [row.id for email, row in existing.items()
                               if row.active and row.role == "physician" and email not in seen]
        linked = {(row.platform, row.platform_user_id): row.person_id
                  for row in await conn.execute(select(identities))} if links else {}
        for link in links:
            if link.email.lower() not in seen:
                raise ValueError(f"identity link for {link.email}, who is not in the roster")
            known = existing.get(link.email.lower())
            if known is None or linked.get((link.platform, link.user_id)) != known.id:
                plan.links.append(link)
        return plan

    @staticmethod
    async def _write_roster(conn: AsyncConnection, plan: _RosterPlan, now: datetime,
                            progress: Callable[[int], None]) -> None:
        batch = 500
        done = plan.unchanged
        progress(done)
        for start in range(0, len(plan.inserts), batch):
            await conn.execute(insert(people), plan.inserts[start:start + batch])
            done += len(plan.inserts[start:start + batch])
            progress(done)
        set_values: dict[str, Any] = {key: bindparam(f"b_{key}") for key in ("name", "department", "specialty", "x_handle", "bluesky_handle",
                                                                      "linkedin_url", "role", "active")}
        statement = update(people).where(people.c.id == bindparam("b_id")).values(updated_at=now, **set_values,
                                                                                   **PLAN_AGAIN)
        for start in range(0, len(plan.updates), batch):
            await conn.execute(statement, plan.updates[start:start + batch])
            done += len(plan.updates[start:start + batch])
            progress(done)
        for start in range(0, len(plan.deactivate), batch):
            await conn.execute(update(people).where(people.c.id.in_(plan.deactivate[start:start + batch]))
                               .values(active=False, updated_at=now, **PLAN_AGAIN))
        if plan.links:
            emails = {link.email.lower() for link in plan.links}
            ids = {row.email: row.id for row in await conn.execute(select(people.c.email, people.c.id))
                   if row.email in emails}
            keys = [dict(b_platform=link.platform, b_user_id=link.user_id) for link in plan.links]
            await conn.execute(delete(identities).where(identities.c.platform == bindparam("b_platform"),
                                                        identities.c.platform_user_id == bindparam("b_user_id")), keys)
            await conn.execute(insert(identities), [dict(platform=link.platform, platform_user_id=link.user_id,
                                                         person_id=ids[link.email.lower()], linked_at=now)
                                                    for link in plan.links])
            await mark_changed(conn, *(ids[link.email.lower()] for link in plan.links))
        progress(done)

"""Reaching every Teams user: who still needs the app installed through Microsoft Graph, what
happened when it was tried, and the lease that lets one instance at a time do it.

A physician needs an installation when they are active, not stopped, have no stored Teams
conversation reference, and either were never tried or their last failure's ``retry_at`` has
passed. A physician the bot installed the app for whose reference is gone later removed the app
themselves: the bot does not force it on them again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import and_, exists, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core import reasons
from bot.store.common import autocommit, release_lease, take_lease
from bot.store.schema import conversation_refs, people, teams_installs

INSTALLED, FAILED = "installed", "failed"
NOT_INSTALLED = reasons.TEAMS_NOT_INSTALLED
REMOVED = reasons.TEAMS_APP_REMOVED
PLATFORM = "teams"


class InstallCandidate(NamedTuple):
    person_id: int
    email: str
    user_id: str | None
    """The Entra object id Graph gave on an earlier try, if any."""


@dataclass(frozen=True)
class TeamsReach:
    """Who has no Teams chat with the bot, and why: (person id, name, reason, since); the reason as
    stored (a code of :mod:`bot.core.reasons`, or text stored by an earlier version)."""

    reached: int
    unreached: list[tuple[int, str, str, datetime | None]]


def _has_reference():
    return exists().where(conversation_refs.c.platform == PLATFORM, conversation_refs.c.person_id == people.c.id)


class TeamsInstallStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.reads = autocommit(engine)

    async def candidates(self, now: datetime, after_id: int, limit: int) -> list[InstallCandidate]:
        """Active, not stopped physicians without a Teams reference who are due for an attempt (by id)."""
        query = (select(people.c.id, people.c.email, teams_installs.c.user_id)
                 .select_from(people.outerjoin(teams_installs, teams_installs.c.person_id == people.c.id))
                 .where(people.c.active.is_(True), people.c.stopped_at.is_(None), people.c.id > after_id,
                        ~_has_reference(),
                        or_(teams_installs.c.person_id.is_(None),
                            and_(teams_installs.c.state == FAILED, teams_installs.c.retry_at <= now)))
                 .order_by(people.c.id).limit(limit))
        async with self.reads.connect() as conn:
            return [InstallCandidate(*row) for row in await conn.execute(query)]

    async def record(self, person_id: int, state: str, reason: str, user_id: str | None, now: datetime,
                     retry_at: datetime | None = None) -> None:
        values = dict(state=state, reason=reason[:200], retry_at=retry_at, updated_at=now)
        if user_id:
            values["user_id"] = user_id
        async with self.engine.begin() as conn:
            changed = await conn.execute(update(teams_installs).where(teams_installs.c.person_id == person_id)
                                         .values(attempts=teams_installs.c.attempts + 1, **values))
            if changed.rowcount == 0:
                await conn.execute(insert(teams_installs).values(person_id=person_id, attempts=1, user_id=user_id,
                                                                 **{k: v for k, v in values.items() if k != "user_id"}))

    async def reach(self) -> TeamsReach:
        """Active physicians with and without a Teams chat with the bot; why not, from the last attempt."""
        reference = _has_reference()
        async with self.reads.connect() as conn:
            reached = (await conn.execute(select(people.c.id).where(people.c.active.is_(True), reference))).all()
            rows = (await conn.execute(
                select(people.c.id, people.c.name, teams_installs.c.state, teams_installs.c.reason,
                       teams_installs.c.updated_at)
                .select_from(people.outerjoin(teams_installs, teams_installs.c.person_id == people.c.id))
                .where(people.c.active.is_(True), ~reference).order_by(people.c.name, people.c.id))).all()
        unreached: list[tuple[int, str, str, datetime | None]] = []
        for person_id, name, state, reason, when in rows:
            if state is None:
                unreached.append((person_id, name, NOT_INSTALLED, None))
            else:
                unreached.append((person_id, name, REMOVED if state == INSTALLED else (reason or NOT_INSTALLED), when))
        return TeamsReach(len(reached), unreached)

    async def latest_reference(self) -> str | None:
        """The newest personal-chat Teams reference (JSON), to learn the tenant's Bot Connector address."""
        query = (select(conversation_refs.c.reference)
                 .where(conversation_refs.c.platform == PLATFORM, conversation_refs.c.person_id.is_not(None))
                 .order_by(conversation_refs.c.updated_at.desc()).limit(1))
        async with self.reads.connect() as conn:
            return (await conn.execute(query)).scalar()

    # -- one installer at a time ----------------------------------------------------------------
    async def take_lease(self, name: str, owner: str, now: datetime, seconds: float) -> bool:
        """Hold ``name`` until ``now + seconds`` unless another owner holds it and it has not run out
        (see :func:`bot.store.common.take_lease`)."""
        return await take_lease(self.engine, name, owner, now, seconds)

    async def release_lease(self, name: str, owner: str) -> None:
        await release_lease(self.engine, name, owner)

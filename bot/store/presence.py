"""Verified presence on X and Bluesky: handles, what each network last said about them, the sync's cursor.

One row of ``network_presence`` per physician and network holds the facts for one handle, each
fact with when it was last verified. The rules that keep them honest:

- a failed or rate-limited sync never erases a fact: :meth:`PresenceStore.record_failure` sets
  ``failed_at`` and nothing else;
- a changed handle invalidates its facts: claiming another handle deletes the row, and reads only
  return rows whose handle is the physician's handle now (whatever changed it, a roster import too);
- follows found by walking the hospital's follower and following lists are *seen* page by page
  (:meth:`PresenceStore.mark_seen`) and decided once the walk is complete (:meth:`PresenceStore.settle`):
  a walk cut short decides nothing.
"""
from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.presence import VERIFIED_NETWORKS, Presence, Profile, ProfileFacts
from bot.store.common import autocommit, release_lease, set_person_columns, take_lease
from bot.store.people import PERSON_COLUMNS, Person, row_person
from bot.store.schema import PLAN_AGAIN, handle_conflicts, network_presence, people, settings

Follow = Literal["follows_hospital", "followed_back"]
"""``follows_hospital``: the physician follows the hospital's account; ``followed_back``: it follows them."""

HANDLE_COLUMN = {"x": people.c.x_handle, "bluesky": people.c.bluesky_handle}
_P = network_presence.c
_FACT_COLUMNS = (_P.person_id, _P.network, _P.handle, _P.account_id, _P.profile, _P.photo, _P.bio_names, _P.link,
                 _P.pinned, _P.profile_verified_at, _P.follows_hospital, _P.follows_verified_at, _P.followed_back,
                 _P.followed_back_verified_at, _P.failed_at, _P.failure)
_BATCH = 500


@dataclass(frozen=True)
class Candidate:
    """A physician the sync asks a network about."""

    person_id: int
    handle: str
    specialty: str
    account_id: str | None
    """The network's id for the account, once a sync found it (follows are matched by it)."""


def _current(network: str) -> Any:
    """The row is for the physician's handle now (handles compare case-insensitively; DIDs are lower case)."""
    return and_(_P.network == network, func.lower(_P.handle) == func.lower(HANDLE_COLUMN[network]))


def _row(row: Any) -> Presence:
    values = list(row)
    values[4] = Profile(values[4]) if values[4] is not None else None
    values[15] = values[15] or ""
    return Presence(*values)


class PresenceStore:
    """``store.presence``: the ``network_presence`` table and the handles it is about."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.reads = autocommit(engine)
        self._dialect: Any = postgresql if engine.dialect.name == "postgresql" else sqlite

    # -- reading ---------------------------------------------------------------------------------------
    async def get(self, person_id: int) -> dict[str, Presence]:
        """The physician's facts by network (a network never verified for the current handle is absent)."""
        return (await self.of([person_id])).get(person_id, {})

    async def of(self, person_ids: Sequence[int] | None = None, network: str | None = None
                 ) -> dict[int, dict[str, Presence]]:
        """Facts of the given physicians (None: every physician), person id → network → :class:`Presence`."""
        networks = [network] if network else list(VERIFIED_NETWORKS)
        found: dict[int, dict[str, Presence]] = {}
        for net in networks:
            query = select(*_FACT_COLUMNS).join(people, people.c.id == _P.person_id).where(_current(net))
            pages: list[Sequence[int] | None] = [None] if person_ids is None else \
                [person_ids[i:i + _BATCH] for i in range(0, len(person_ids), _BATCH)]
            async with self.reads.connect() as conn:
                for page in pages:
                    paged = query if page is None else query.where(_P.person_id.in_(list(page)))
                    for row in await conn.execute(paged):
                        presence = _row(row)
                        found.setdefault(presence.person_id, {})[net] = presence
        return found

    async def candidates(self, network: str, after_id: int, limit: int) -> list[Candidate]:
        """Active physicians with a handle on ``network``, by id after ``after_id`` (the sync's cursor)."""
        handle = HANDLE_COLUMN[network]
        query = (select(people.c.id, handle, people.c.specialty, _P.account_id)
                 .select_from(people.outerjoin(network_presence, and_(_P.person_id == people.c.id, _current(network))))
                 .where(people.c.id > after_id, people.c.active.is_(True), handle.is_not(None), handle != "")
                 .order_by(people.c.id).limit(limit))
        async with self.reads.connect() as conn:
            return [Candidate(*row) for row in await conn.execute(query)]

    async def count_candidates(self, network: str) -> int:
        """How many active physicians have a handle on ``network`` (the sync's progress total)."""
        handle = HANDLE_COLUMN[network]
        query = select(func.count()).select_from(people).where(people.c.active.is_(True), handle.is_not(None),
                                                               handle != "")
        async with self.reads.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    # -- what a sync learned -----------------------------------------------------------------------------
    async def record_profiles(self, network: str, facts: Sequence[tuple[int, ProfileFacts]], now: datetime) -> int:
        """Keep what the network said about these accounts (verified ``now``); an answer about a handle the
        physician no longer has is dropped. Follow facts stay as they were. Returns how many were kept."""
        if not facts:
            return 0
        kept = 0
        async with self.engine.begin() as conn:
            ids = sorted({pid for pid, _ in facts})
            current = {pid: (handle or "").lower() for pid, handle in await conn.execute(
                select(people.c.id, HANDLE_COLUMN[network]).where(people.c.id.in_(ids)))}
            rows = []
            for pid, fact in facts:
                if current.get(pid) != fact.handle.lower():
                    continue
                rows.append(dict(person_id=pid, network=network, handle=fact.handle, account_id=fact.account_id,
                                 profile=fact.profile.value, photo=fact.photo, bio_names=fact.bio_names,
                                 link=fact.link, pinned=fact.pinned, profile_verified_at=now, failed_at=None,
                                 failure=""))
            if rows:
                await self._upsert(conn, rows, ("handle", "account_id", "profile", "photo", "bio_names", "link",
                                                "pinned", "profile_verified_at", "failed_at", "failure"))
                kept = len(rows)
                # An account that is gone follows nobody: say so, verified now.
                gone = [r["person_id"] for r in rows if r["profile"] in (Profile.NOT_FOUND, Profile.SUSPENDED)]
                for start in range(0, len(gone), _BATCH):
                    await conn.execute(update(network_presence).where(
                        _P.network == network, _P.person_id.in_(gone[start:start + _BATCH]))
                        .values(follows_hospital=False, follows_verified_at=now,
                                followed_back=False, followed_back_verified_at=now))
        return kept

    async def record_failure(self, network: str, who: Sequence[tuple[int, str]], reason: str, now: datetime) -> None:
        """The sync could not ask about these (person id, handle): note it, keep every fact as it was."""
        if not who:
            return
        reason = reason[:200]
        async with self.engine.begin() as conn:
            rows = [dict(person_id=pid, network=network, handle=handle, failed_at=now, failure=reason)
                    for pid, handle in who]
            await self._upsert(conn, rows, ("failed_at", "failure"))

    async def record_follows(self, network: str, rows: Sequence[tuple[int, bool, bool]], now: datetime) -> None:
        """(person id, follows the hospital, followed back) as the network told them for each physician, now
        (Bluesky's relationships answer both at once). Physicians without a profile row are skipped."""
        async with self.engine.begin() as conn:
            for follows, back in ((True, True), (True, False), (False, True), (False, False)):
                ids = [pid for pid, f, b in rows if f is follows and b is back]
                for start in range(0, len(ids), _BATCH):
                    await conn.execute(update(network_presence).where(
                        _P.network == network, _P.person_id.in_(ids[start:start + _BATCH]))
                        .values(follows_hospital=follows, follows_verified_at=now, followed_back=back,
                                followed_back_verified_at=now))

    async def mark_seen(self, network: str, which: Follow, account_ids: Collection[str], run: datetime) -> int:
        """One page of the hospital's followers (``follows_hospital``) or following (``followed_back``) list:
        the physicians with these account ids were seen by the walk that started at ``run``."""
        seen = _P.follows_seen_at if which == "follows_hospital" else _P.followed_back_seen_at
        ids = sorted(set(account_ids))
        marked = 0
        async with self.engine.begin() as conn:
            for start in range(0, len(ids), _BATCH):
                result = await conn.execute(update(network_presence).where(
                    _P.network == network, _P.account_id.in_(ids[start:start + _BATCH])).values({seen: run}))
                marked += result.rowcount
        return marked

    async def settle(self, network: str, which: Follow, run: datetime, now: datetime) -> int:
        """The walk that started at ``run`` is complete: accounts it saw follow (or are followed), the other
        existing accounts do not; verified ``now``. Returns how many follow."""
        seen = _P.follows_seen_at if which == "follows_hospital" else _P.followed_back_seen_at
        value = _P.follows_hospital if which == "follows_hospital" else _P.followed_back
        at = _P.follows_verified_at if which == "follows_hospital" else _P.followed_back_verified_at
        exists = and_(_P.network == network, _P.profile.in_([Profile.FOUND.value, Profile.PROTECTED.value]))
        async with self.engine.begin() as conn:
            yes = await conn.execute(update(network_presence).where(exists, seen == run)
                                     .values({value: True, at: now}))
            await conn.execute(update(network_presence).where(exists, or_(seen.is_(None), seen != run))
                               .values({value: False, at: now}))
        return yes.rowcount

    async def _upsert(self, conn: Any, rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
        """Insert or update rows, as one statement compiled once and executed for many rows."""
        statement = self._dialect.insert(network_presence)
        statement = statement.on_conflict_do_update(index_elements=["person_id", "network"],
                                                    set_={name: statement.excluded[name] for name in columns})
        for start in range(0, len(rows), _BATCH):
            await conn.execute(statement, rows[start:start + _BATCH])

    # -- handles -----------------------------------------------------------------------------------------
    async def claim(self, person_id: int, network: str, handle: str | None, now: datetime) -> Person | None:
        """Give ``handle`` (already normalized, see ``bot.core.handles.normalize_for``) to the physician, or
        forget theirs with None. Refused when another active physician holds it: nothing changes and the
        holder is returned (an X claim is kept for marketing, as ``store.profile.claim_x_handle`` does).
        A different handle than before drops the facts verified for the old one."""
        column = HANDLE_COLUMN[network]
        async with self.engine.begin() as conn:
            if handle is not None:
                key = handle.lower()
                if conn.dialect.name == "postgresql":
                    await conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"{network}_handle:{key}"))))
                holder = (await conn.execute(select(*PERSON_COLUMNS).where(
                    func.lower(column) == key, people.c.id != person_id, people.c.active.is_(True)).limit(1))).first()
                if holder is not None:
                    if network == "x":
                        await conn.execute(delete(handle_conflicts).where(
                            handle_conflicts.c.person_id == person_id, handle_conflicts.c.handle == handle))
                        await conn.execute(insert(handle_conflicts).values(
                            person_id=person_id, handle=handle, holder_id=holder.id, asked_at=now))
                    return row_person(holder)
            previous = (await conn.execute(select(column).where(people.c.id == person_id))).scalar()
            await conn.execute(update(people).where(people.c.id == person_id)
                               .values({column.name: handle, "updated_at": now, **PLAN_AGAIN}))
            if network == "x":
                await conn.execute(delete(handle_conflicts).where(handle_conflicts.c.person_id == person_id))
            if (previous or "").lower() != (handle or "").lower():
                await conn.execute(delete(network_presence).where(_P.person_id == person_id, _P.network == network))
        return None

    async def set_linkedin(self, person_id: int, url: str | None, now: datetime) -> None:
        """The physician's LinkedIn profile URL (self-reported), or None to forget it."""
        await set_person_columns(self.engine, person_id, now, linkedin_url=url)

    # -- the sync's cursor and lease -----------------------------------------------------------------------
    async def cursor(self, network: str) -> dict[str, Any] | None:
        """Where an unfinished sync of ``network`` stopped (None: no sync under way)."""
        async with self.reads.connect() as conn:
            value = (await conn.execute(select(settings.c.value).where(settings.c.key == _cursor_key(network)))).scalar()
        return json.loads(value) if value else None

    async def save_cursor(self, network: str, cursor: dict[str, Any] | None) -> None:
        """Persist the sync's progress (None: the sync finished)."""
        key = _cursor_key(network)
        async with self.engine.begin() as conn:
            if cursor is None:
                await conn.execute(delete(settings).where(settings.c.key == key))
                return
            value = json.dumps(cursor, sort_keys=True)
            statement = self._dialect.insert(settings).values(key=key, value=value)
            await conn.execute(statement.on_conflict_do_update(index_elements=["key"], set_=dict(value=value)))

    async def finished_at(self, network: str) -> datetime | None:
        """When the latest complete sync of ``network`` finished."""
        async with self.reads.connect() as conn:
            value = (await conn.execute(select(settings.c.value).where(settings.c.key == f"verify.finished.{network}"))
                     ).scalar()
        return datetime.fromisoformat(value) if value else None

    async def set_finished(self, network: str, now: datetime) -> None:
        key, value = f"verify.finished.{network}", now.isoformat()
        async with self.engine.begin() as conn:
            statement = self._dialect.insert(settings).values(key=key, value=value)
            await conn.execute(statement.on_conflict_do_update(index_elements=["key"], set_=dict(value=value)))

    async def lease_holder(self, name: str) -> str | None:
        """Who holds (or last held) the lease ``name``."""
        async with self.reads.connect() as conn:
            value = (await conn.execute(select(settings.c.value).where(settings.c.key == f"lease.{name}"))).scalar()
        return value.partition(" ")[0] if value else None

    async def take_lease(self, name: str, owner: str, now: datetime, seconds: float) -> bool:
        """One sync at a time across instances (the installer's lease, in the settings table)."""
        return await take_lease(self.engine, name, owner, now, seconds)

    async def release_lease(self, name: str, owner: str) -> None:
        await release_lease(self.engine, name, owner)


def _cursor_key(network: str) -> str:
    return f"verify.cursor.{network}"

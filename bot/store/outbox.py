"""The outbox: planned messages with a unique deduplication key, claimed under a lease.

A message is ``pending`` until a sender claims it (``sending`` with a lease), then ``sent``,
``pending`` again for a retry, or ``dead`` after too many failures. A claim whose lease ran
out (its instance died mid-send) is *in doubt*: the sender asks the platform whether it
arrived before sending it again.

Where the app was uninstalled (a Slack workspace, a Teams chat or team) the messages are
``parked`` with the reason (:meth:`OutboxStore.park`), not sent and not failed: the sender checks
each message just before sending it (:meth:`OutboxStore.hold_if_parked`), and a reinstall puts
them back in line (:meth:`OutboxStore.resume`).
"""
from __future__ import annotations

import builtins
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core import reasons
from bot.core.models import EVERYWHERE, NewMessage, OutboxMessage
from bot.store.common import autocommit, bound_instant, in_page
from bot.store.schema import PLAN_AGAIN, outbox, parked_targets, people

STATUSES = ("pending", "sending", "sent", "dead", "cancelled", "parked")


@dataclass(frozen=True)
class ParkedTarget:
    platform: str
    address: str
    """An outbox address, or :data:`EVERYWHERE`."""
    reason: str
    since: datetime
    messages: int
    """Messages parked there now."""


def _message(row: Any, in_doubt: bool = False) -> OutboxMessage:
    m = row._mapping
    return OutboxMessage(id=m["id"], dedup_key=m["dedup_key"], person_id=m["person_id"], platform=m["platform"],
                         address=m["address"], kind=m["kind"], spec=json.loads(m["spec"]), status=m["status"],
                         attempts=m["attempts"], due_at=m["due_at"], next_attempt_at=m["next_attempt_at"],
                         last_error=m["last_error"], message_id=m["message_id"], sent_at=m["sent_at"],
                         in_doubt=in_doubt or bool(m["in_doubt"]))


@lru_cache(maxsize=4096)
def _spec_json(items: tuple[tuple[str, Any], ...]) -> str:
    """A spec as stored; planning repeats a few specs thousands of times (``{"step": 0}``)."""
    return json.dumps(dict(items), sort_keys=True)


ADD_CHUNK = 5000
"""Messages per insert statement on PostgreSQL."""
_ADD_MANY = text("""
INSERT INTO outbox (dedup_key, person_id, platform, address, kind, spec, status, attempts, due_at, next_attempt_at,
                    created_at)
SELECT m.key, m.person, m.platform, m.address, m.kind, m.spec, 'pending', 0, m.due, m.attempt, CAST(:now AS timestamptz)
  FROM unnest(CAST(:keys AS text[]), CAST(:people AS integer[]), CAST(:platforms AS text[]),
              CAST(:addresses AS text[]), CAST(:kinds AS text[]), CAST(:specs AS text[]),
              CAST(:due AS timestamptz[]), CAST(:attempt AS timestamptz[]))
       WITH ORDINALITY AS m(key, person, platform, address, kind, spec, due, attempt, n)
 ORDER BY m.n
    ON CONFLICT (dedup_key) DO NOTHING
""")
_ADD_ONE = ("INSERT INTO outbox (dedup_key, person_id, platform, address, kind, spec, status, attempts, due_at, "
            "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?) "
            "ON CONFLICT (dedup_key) DO NOTHING")


class OutboxStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.reads = autocommit(engine)

    async def add(self, messages: Iterable[NewMessage], now: datetime) -> int:
        """Insert messages whose key is new; already-planned keys are left alone. Returns inserted.

        A tick adds thousands at once: on PostgreSQL each chunk is one statement over arrays, on
        SQLite one prepared statement the driver runs for each row (each distinct instant converted
        once); rows go in the order given."""
        rows = [(m.dedup_key, m.person_id, m.platform, m.address, m.kind, _spec_json(tuple(sorted(m.spec.items()))),
                 m.due_at, max(m.due_at, now)) for m in messages]
        if not rows:
            return 0
        inserted = 0
        async with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                for start in range(0, len(rows), ADD_CHUNK):
                    keys, people_, platforms, addresses, kinds, specs, due, attempt = (
                        list(column) for column in zip(*rows[start:start + ADD_CHUNK], strict=True))
                    inserted += (await conn.execute(_ADD_MANY, dict(
                        keys=keys, people=people_, platforms=platforms, addresses=addresses, kinds=kinds, specs=specs,
                        due=due, attempt=attempt, now=now))).rowcount
            else:
                stored = bound_instant(outbox.c.due_at, conn.dialect)
                created = stored(now)
                inserted = (await conn.exec_driver_sql(_ADD_ONE, [
                    (key, person, platform, address, kind, spec, stored(due), stored(attempt), created)
                    for key, person, platform, address, kind, spec, due, attempt in rows])).rowcount
        return int(inserted)

    async def claim(self, now: datetime, owner: str, limit: int, lease: timedelta) -> list[OutboxMessage]:
        """Take up to ``limit`` due messages for ``owner`` until ``now + lease``.

        The claim is one conditional UPDATE: a row another instance claimed first no longer
        matches, so no message is handed to two senders.
        """
        due = and_(outbox.c.next_attempt_at <= now, or_(
            outbox.c.status == "pending",
            and_(outbox.c.status == "sending", outbox.c.lease_until < now)))
        async with self.engine.begin() as conn:
            candidates = (await conn.execute(
                select(outbox.c.id, outbox.c.status).where(due).order_by(outbox.c.next_attempt_at, outbox.c.id)
                .limit(limit))).all()
            if not candidates:
                return []
            doubtful = {row.id for row in candidates if row.status == "sending"}
            claimed = (await conn.execute(
                update(outbox).where(outbox.c.id.in_([row.id for row in candidates]), due)
                .values(status="sending", lease_owner=owner, lease_until=now + lease,
                        in_doubt=or_(outbox.c.in_doubt, outbox.c.status == "sending"))
                .returning(*outbox.c))).all()
        return sorted((_message(row, row.id in doubtful) for row in claimed), key=lambda m: (m.next_attempt_at, m.id))

    async def mark_sent(self, message_id: int, platform_message_id: str | None, now: datetime) -> None:
        await self._set(message_id, status="sent", sent_at=now, message_id=platform_message_id,
                        lease_until=None, lease_owner=None, last_error=None, in_doubt=False)

    async def mark_sent_many(self, sent: Iterable[tuple[int, str | None, datetime]]) -> None:
        """:meth:`mark_sent` for many messages at once: (outbox id, platform message id, when)."""
        rows = [dict(b_id=row_id, b_message_id=message_id, b_sent_at=at) for row_id, message_id, at in sent]
        if not rows:
            return
        statement = update(outbox).where(outbox.c.id == bindparam("b_id")).values(
            status="sent", sent_at=bindparam("b_sent_at"), message_id=bindparam("b_message_id"),
            lease_until=None, lease_owner=None, last_error=None, in_doubt=False)
        async with self.engine.begin() as conn:
            await conn.execute(statement, rows)

    async def mark_retry(self, message_id: int, attempts: int, next_attempt_at: datetime, error: str,
                         *, in_doubt: bool | None = None) -> None:
        """Back to pending until ``next_attempt_at``; ``in_doubt``: whether it may have arrived (None: unchanged)."""
        values: dict[str, Any] = dict(status="pending", attempts=attempts, next_attempt_at=next_attempt_at,
                                      last_error=error[:300], lease_until=None, lease_owner=None)
        if in_doubt is not None:
            values["in_doubt"] = in_doubt
        await self._set(message_id, **values)

    async def due_now(self, platform: str, address: str, reason: str, now: datetime) -> int:
        """Pending messages to ``address`` that wait later for ``reason`` (a Do Not Disturb that ended
        early) are due at ``now``; returns how many."""
        async with self.engine.begin() as conn:
            result = await conn.execute(update(outbox).where(
                _at(platform, address), outbox.c.status == "pending", outbox.c.last_error == reason,
                outbox.c.next_attempt_at > now).values(next_attempt_at=now))
            return result.rowcount

    async def mark_dead(self, message_id: int, attempts: int, error: str) -> None:
        await self._set(message_id, status="dead", attempts=attempts, last_error=error[:300],
                        lease_until=None, lease_owner=None, in_doubt=False)

    async def extend_lease(self, message_id: int, owner: str, until: datetime) -> bool:
        """Keep a claim while its sender waits for a budget; False when it is no longer ``owner``'s."""
        async with self.engine.begin() as conn:
            result = await conn.execute(update(outbox).where(outbox.c.id == message_id, outbox.c.lease_owner == owner,
                                                             outbox.c.status == "sending")
                                        .values(lease_until=until))
            return result.rowcount == 1

    async def cancel(self, message_id: int, reason: str) -> None:
        """Cancel a message; its physician is planned again (a cancelled nudge frees the day's cap)."""
        async with self.engine.begin() as conn:
            person_id = (await conn.execute(
                update(outbox).where(outbox.c.id == message_id)
                .values(status="cancelled", last_error=reason[:300], lease_until=None, lease_owner=None,
                        in_doubt=False)
                .returning(outbox.c.person_id))).scalar()
            if person_id is not None:
                await conn.execute(update(people).where(people.c.id == person_id)
                                   .values(**PLAN_AGAIN))

    async def release(self, owner: str) -> int:
        """Hand back every claim of ``owner`` that was never attempted (graceful shutdown)."""
        async with self.engine.begin() as conn:
            result = await conn.execute(update(outbox).where(outbox.c.lease_owner == owner,
                                                             outbox.c.status == "sending")
                                        .values(status="pending", lease_owner=None, lease_until=None))
            return result.rowcount

    async def requeue_dead(self, now: datetime, ids: Iterable[int] | None = None) -> int:
        condition = outbox.c.status == "dead"
        if ids is not None:
            condition = and_(condition, outbox.c.id.in_(list(ids)))
        async with self.engine.begin() as conn:
            result = await conn.execute(update(outbox).where(condition).values(
                status="pending", attempts=0, next_attempt_at=now, last_error=None))
            return result.rowcount

    async def get(self, message_id: int) -> OutboxMessage | None:
        """One message by its id, whatever its status (None when there is none)."""
        async with self.reads.connect() as conn:
            row = (await conn.execute(select(outbox).where(outbox.c.id == message_id))).first()
        return _message(row) if row is not None else None

    async def by_key(self, dedup_key: str) -> OutboxMessage | None:
        """The message planned under ``dedup_key`` (None when there is none)."""
        async with self.reads.connect() as conn:
            row = (await conn.execute(select(outbox).where(outbox.c.dedup_key == dedup_key))).first()
        return _message(row) if row is not None else None

    async def statuses_of(self, ids: Iterable[int]) -> dict[int, str]:
        """The status of each of ``ids`` that exists (an id missing from the answer is unknown)."""
        async with self.reads.connect() as conn:
            rows = await conn.execute(select(outbox.c.id, outbox.c.status).where(outbox.c.id.in_(list(ids))))
            return {row_id: status for row_id, status in rows}

    async def list(self, statuses: Iterable[str], limit: int = 200) -> list[OutboxMessage]:
        query = (select(outbox).where(outbox.c.status.in_(list(statuses)))
                 .order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit))
        async with self.reads.connect() as conn:
            return [_message(row) for row in await conn.execute(query)]

    async def sent_for(self, platform: str, address: str, after_id: int, limit: int = 100) -> builtins.list[OutboxMessage]:
        query = (select(outbox).where(outbox.c.platform == platform, outbox.c.address == address,
                                      outbox.c.status == "sent", outbox.c.id > after_id)
                 .order_by(outbox.c.id).limit(limit))
        async with self.reads.connect() as conn:
            return [_message(row) for row in await conn.execute(query)]

    async def counts(self) -> dict[str, int]:
        async with self.reads.connect() as conn:
            rows = await conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))
            return {status: count for status, count in rows}

    async def waiting(self) -> builtins.list[tuple[str, str, int, datetime]]:
        """Pending messages by platform and what they wait for: (platform, reason, count, soonest)."""
        reason = func.coalesce(outbox.c.last_error, "due")
        query = (select(outbox.c.platform, reason, func.count(), func.min(outbox.c.next_attempt_at))
                 .where(outbox.c.status == "pending").group_by(outbox.c.platform, reason)
                 .order_by(outbox.c.platform, func.count().desc()))
        async with self.reads.connect() as conn:
            return [(r[0], r[1], r[2], r[3]) for r in await conn.execute(query)]

    async def capped_since(self, since: datetime, kinds: Iterable[str],
                           person_ids: Iterable[int]) -> dict[int, builtins.list[datetime]]:
        """Due instants of capped messages per person since ``since`` (for the daily nudge cap)."""
        ids = sorted(person_ids)
        query = select(outbox.c.person_id, outbox.c.due_at).where(
            in_page(outbox.c.person_id, ids), outbox.c.due_at >= since,
            outbox.c.kind.in_(list(kinds)), outbox.c.status != "cancelled")
        result: dict[int, list[datetime]] = {}
        async with self.reads.connect() as conn:
            for person_id, due_at in (await conn.execute(query, {"page": ids})).all():
                result.setdefault(person_id, []).append(due_at)
        return result

    async def unreachable(self) -> builtins.list[tuple[int, str, str, datetime]]:
        """(person id, name, last error, when) for physicians whose latest message is dead; the error as
        stored (mostly a code of :mod:`bot.core.reasons`)."""
        latest = (select(outbox.c.person_id, func.max(outbox.c.id).label("last_id"))
                  .where(outbox.c.person_id.is_not(None), outbox.c.status.in_(("sent", "dead")))
                  .group_by(outbox.c.person_id).subquery())
        query = (select(outbox.c.person_id, people.c.name, outbox.c.last_error, outbox.c.next_attempt_at)
                 .join(latest, outbox.c.id == latest.c.last_id).join(people, people.c.id == outbox.c.person_id)
                 .where(outbox.c.status == "dead").order_by(people.c.name))
        async with self.reads.connect() as conn:
            return [(r[0], r[1], r[2] or reasons.UNKNOWN, r[3]) for r in await conn.execute(query)]

    # -- uninstalls ------------------------------------------------------------------------------
    async def park(self, platform: str, address: str | None, reason: str, now: datetime) -> int:
        """The app was removed from ``address`` (None: from the whole platform install): park its
        unsent messages with ``reason``, and every later one until :meth:`resume`. Returns how many."""
        target = address or EVERYWHERE
        values = dict(platform=platform, address=target, reason=reason[:300], since=now)
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(parked_targets).values(**values).on_conflict_do_update(
            index_elements=["platform", "address"], set_=dict(reason=values["reason"]))
        async with self.engine.begin() as conn:
            await conn.execute(statement)
            result = await conn.execute(update(outbox).where(
                _at(platform, address), outbox.c.status.in_(("pending", "sending")))
                .values(status="parked", last_error=reason[:300], lease_until=None, lease_owner=None))
            return result.rowcount

    async def resume(self, platform: str, address: str | None, now: datetime) -> int:
        """The app is installed again at ``address`` (None: the whole platform): its parked messages
        go back in line, due now. Returns how many."""
        async with self.engine.begin() as conn:
            await conn.execute(delete(parked_targets).where(
                parked_targets.c.platform == platform, parked_targets.c.address == (address or EVERYWHERE)))
            if address is not None and (await conn.execute(select(parked_targets.c.reason).where(
                    parked_targets.c.platform == platform, parked_targets.c.address == EVERYWHERE))).first():
                return 0  # still uninstalled from the whole platform
            result = await conn.execute(update(outbox).where(_at(platform, address), outbox.c.status == "parked")
                                        .values(status="pending", next_attempt_at=now, last_error=None))
            return result.rowcount

    async def parked_places(self) -> set[tuple[str, str]]:
        """(platform, address) of every parked target (address :data:`EVERYWHERE` for a whole platform)."""
        async with self.reads.connect() as conn:
            return {(p, a) for p, a in await conn.execute(select(parked_targets.c.platform, parked_targets.c.address))}

    async def hold_if_parked(self, message: OutboxMessage) -> bool:
        """Just before a send: park the message instead if its place was uninstalled meanwhile."""
        query = select(parked_targets.c.reason).where(
            parked_targets.c.platform == message.platform,
            parked_targets.c.address.in_((message.address, EVERYWHERE))).limit(1)
        async with self.engine.begin() as conn:
            reason = (await conn.execute(query)).scalar()
            if reason is None:
                return False
            await conn.execute(update(outbox).where(outbox.c.id == message.id).values(
                status="parked", last_error=reason, lease_until=None, lease_owner=None))
            return True

    async def parked(self, platform: str | None = None) -> builtins.list[ParkedTarget]:
        """Where the app is uninstalled, why, since when, and how many messages wait there."""
        query = select(parked_targets).order_by(parked_targets.c.since)
        if platform is not None:
            query = query.where(parked_targets.c.platform == platform)
        async with self.reads.connect() as conn:
            targets = (await conn.execute(query)).all()
            found = []
            for t in targets:
                count = (await conn.execute(select(func.count()).select_from(outbox).where(
                    _at(t.platform, None if t.address == EVERYWHERE else t.address),
                    outbox.c.status == "parked"))).scalar() or 0
                found.append(ParkedTarget(t.platform, t.address, t.reason, t.since, count))
            return found

    async def _set(self, row_id: int, **values: Any) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(outbox).where(outbox.c.id == row_id).values(**values))


def _at(platform: str, address: str | None) -> Any:
    """Outbox rows of a platform, or of one address on it."""
    if address is None:
        return outbox.c.platform == platform
    return and_(outbox.c.platform == platform, outbox.c.address == address)

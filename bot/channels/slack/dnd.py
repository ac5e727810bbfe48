"""Slack Do Not Disturb for the sender: the stored status first, then ``dnd.teamInfo`` in batches.

A reminder to a Slack user asks :meth:`DndLookups.decide` first (:func:`bot.core.dnd.decide` makes
the call). Statuses come from the store (shared by every instance, kept current by
``dnd_updated_user`` events); the users asked about within :data:`GATHER_SECONDS` are read in one
query, and those whose status is missing or old are looked up with ``dnd.teamInfo``, up to
:data:`BATCH` users a call, under the method's shared budget (Tier 2).

Tier 2 answers for about 1,000 users a minute, far fewer than a fan-out sends to. At most
:data:`MAX_QUEUED` users wait for a call (about one Tier 2 interval); a reminder to anyone beyond
them is sent without waiting (Slack itself mutes notifications during DND), and the user's status
is learned for a later reminder.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.channels.ports import SlackDndRecords
from bot.channels.slack.client import error_code
from bot.core import reasons
from bot.core.dnd import Decision, DndStatus, decide, from_slack, quiet_until
from bot.delivery.transport import Hold

if TYPE_CHECKING:
    from bot.channels.slack.transport import SlackTransport
    from bot.clock import Clock

log = logging.getLogger(__name__)
METHOD = "dnd.teamInfo"
DND_WAITING = reasons.SLACK_DND_WAITING
"""Why a reminder held for a user's Do Not Disturb waits (the outbox row's reason)."""
BATCH = 50
"""Users per ``dnd.teamInfo`` call: Slack's maximum."""
GATHER_SECONDS = 0.02
MAX_QUEUED = 2 * BATCH
"""Users waiting for a ``dnd.teamInfo`` call at most (two Tier 2 intervals); more are sent to without waiting."""
CALL_GRACE = 3.0
"""Seconds a reminder waits for its user's call beyond the expected time before it is sent anyway."""
FIRST_CALL_GATHER = 0.2
"""Seconds the first call of a burst waits for more users to ask (later calls wait for their token anyway)."""


class DndLookups:
    def __init__(self, transport: SlackTransport) -> None:
        self.transport = transport
        self._asked: dict[str, asyncio.Future[DndStatus | None]] = {}
        """Users waiting for the next store read."""
        self._queued: dict[str, asyncio.Future[DndStatus | None]] = {}
        """Users waiting for the next ``dnd.teamInfo`` call."""
        self._next_call_at = 0.0
        """When the next ``dnd.teamInfo`` call may be made (the loop's clock), as far as this instance knows."""
        self._gathering: asyncio.Task[None] | None = None
        self._calling: asyncio.Task[None] | None = None
        self._refused = ""
        """The error code of a refused call (a missing ``dnd:read`` scope), logged once."""

    async def decide(self, user_id: str, due_at: datetime, hold: Hold = asyncio.sleep) -> Decision:
        """Send, hold until DND ends, or drop; a status that cannot be learned soon means send.
        ``hold``: waits for the user's turn in the queue (the sender keeps the message's claim meanwhile)."""
        future = self._asked.get(user_id) or self._queued.get(user_id)
        if future is None:
            future = self._asked[user_id] = asyncio.get_running_loop().create_future()
            if self._gathering is None or self._gathering.done():
                self._gathering = asyncio.create_task(self._gather())
        try:
            status = await asyncio.wait_for(asyncio.shield(future), GATHER_SECONDS + 0.5)
        except TimeoutError:  # queued for dnd.teamInfo: wait for its call, then a little more
            await hold(self._eta(user_id))
            try:
                status = await asyncio.wait_for(asyncio.shield(future), CALL_GRACE)
            except TimeoutError:
                status = None
        decision = decide(status, self.transport.clock.now(), due_at)
        return Decision("send") if decision.action == "lookup" else decision

    def _eta(self, user_id: str) -> float:
        """Seconds until the call that will carry ``user_id`` is made (one Tier 2 interval per batch ahead)."""
        interval = 1.0 / self.transport.rate(METHOD).per_second
        ahead = next((i for i, queued in enumerate(self._queued) if queued == user_id), 0) // BATCH
        loop_time = asyncio.get_running_loop().time()
        return max(0.0, self._next_call_at - loop_time) + ahead * interval

    async def _gather(self) -> None:
        """One store read for the users asked about in the last moment; the unknown ones queue for a call."""
        await asyncio.sleep(GATHER_SECONDS)
        asked, self._asked = self._asked, {}
        try:
            stored = await self.transport.people.dnd_statuses(asked)
        except Exception as exc:
            for future in asked.values():
                future.set_exception(exc)
            return
        now = self.transport.clock.now()
        for user_id, future in asked.items():
            status = stored.get(user_id)
            if decide(status, now, now).action != "lookup":
                future.set_result(status)
            elif len(self._queued) < MAX_QUEUED:
                self._queued[user_id] = future
            else:  # Tier 2 is booked ahead: sent without waiting, learned another time
                future.set_result(None)
        if self._queued and (self._calling is None or self._calling.done()):
            self._calling = asyncio.create_task(self._call())

    async def _call(self) -> None:
        """``dnd.teamInfo`` for the queued users, :data:`BATCH` a call, each call under the shared budget:
        users queued while a call waits for its token go with it."""
        client = self.transport.client
        self._next_call_at = max(self._next_call_at, asyncio.get_running_loop().time() + FIRST_CALL_GATHER)
        await asyncio.sleep(FIRST_CALL_GATHER)
        while self._queued:
            batch: dict[str, asyncio.Future[DndStatus | None]] = {}

            async def request(batch: dict[str, asyncio.Future[DndStatus | None]] = batch) -> Any:
                for user_id in list(self._queued)[:BATCH]:  # chosen when the token is there
                    batch[user_id] = self._queued.pop(user_id)
                interval = 1.0 / self.transport.rate(METHOD).per_second
                self._next_call_at = asyncio.get_running_loop().time() + interval
                return await client.api_call(METHOD, params={"users": ",".join(batch)})

            learned: dict[str, DndStatus] = {}
            try:
                response = await self.transport.call(METHOD, request)
                now = self.transport.clock.now()
                answers: dict[str, Any] = response.get("users") or {}
                learned = {u: from_slack(u, answers[u], now) for u in batch if isinstance(answers.get(u), dict)}
                for user_id, future in batch.items():  # the waiting reminders go on; then kept for everyone
                    if not future.done():
                        future.set_result(learned.get(user_id))
                await self.transport.people.save_dnd(list(learned.values()))
            except SlackApiError as exc:
                code = error_code(exc)
                if code != self._refused and code not in ("ratelimited", "rate_limited"):
                    self._refused = code
                    log.warning("slack %s failed: %s; reminders go out without waiting for Do Not Disturb",
                                METHOD, code)
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("slack %s failed: %s", METHOD, type(exc).__name__)
            except Exception:
                log.exception("slack %s failed", METHOD)
            for user_id, future in batch.items():
                if not future.done():
                    future.set_result(learned.get(user_id))


async def remember_dnd(people: SlackDndRecords, clock: Clock, user_id: str, dnd_status: dict[str, Any]) -> None:
    """A ``dnd_updated_user`` event: store the user's new Do Not Disturb at once; when neither DND nor a
    snooze is on any more, the reminders held for it are due now rather than when it was to end."""
    if not user_id or not isinstance(dnd_status, dict):
        return
    now = clock.now()
    status = from_slack(user_id, dnd_status, now)
    await people.save_dnd([status])
    if quiet_until(status, now) is None:
        released = await people.due_now("slack", user_id, DND_WAITING, now)
        if released:
            log.info("slack dnd ended user=%s: %d held reminders due now", user_id, released)

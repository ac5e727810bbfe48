"""Drains the outbox: claim, render, prepare, pace, send, record; retry with backoff; park the hopeless.

Exactly once where the platform can say what arrived: a message is claimed under a lease before
its one send attempt and marked sent right after. If the process dies in between, the lease runs
out; if the send timed out or the connection dropped after the request was written, the message is
marked so. Either way it is *in doubt*: it is sent again only after the platform says it is not
there (Slack keeps the deduplication key in the message metadata). A check that fails is asked
again later, under its own budget, and is not a delivery attempt. Where a platform cannot be asked
(Teams), a message in doubt is sent again: at least once.

Every send takes a token of the platform's shared budgets first (see :mod:`bot.delivery.budget`): the
platform-wide one through this instance's :class:`~bot.delivery.pacer.Pacer` (a few tokens per round
trip, spent evenly), then its conversation's, right before the send. A 429 pauses both for every
instance until its Retry-After passes.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.config import DeliverySettings, RateLimit
from bot.core import reasons
from bot.delivery.budget import Coalescer
from bot.delivery.pacer import Pacer
from bot.delivery.ports import EVERYWHERE, Budget, OutboxMessage, Rate, Renderer, SenderStore
from bot.delivery.transport import CheckFailed, Envelope, Hold, SendResult, Transport
from bot.messages import Reply

log = logging.getLogger(__name__)
MAX_BACKOFF = 3600.0
SENT_FLUSH_SECONDS = 0.05
"""Sends are recorded together, this long after the first of them."""
PARKED_FRESH_SECONDS = 0.05
"""How old the list of uninstalled places may be when a message is checked against it."""
MAX_STALE = 3
"""Times a message gives up a token that went stale waiting for the gate before it is sent anyway."""
CONVERSATION_SPACING = 1.1
"""A conversation's sends are spaced this much wider than its published limit: the platform counts
arrivals, and a send can leave a little after its token (a busy event loop)."""
MAX_WINDOW = 4
"""Batches a sender holds claimed at most (messages waiting for a conversation's turn or Do Not Disturb)."""
CONVERSATION_LATE = 0.05
"""Seconds a send may follow its conversation's token (more: a new token), so that two messages in one
conversation are never closer than the conversation's interval less this."""


def backoff_seconds(attempts: int, retry_after: float | None) -> float:
    """Exponential backoff with jitter (2, 4, 8 … s, capped), never sooner than Retry-After."""
    base = min(MAX_BACKOFF, 2.0 ** attempts) * random.uniform(0.8, 1.2)
    return max(base, retry_after or 0.0)


class LeaseLost(Exception):
    """Another sender took the message over while this one waited: this one must not send it."""


class Sender:
    def __init__(self, store: SenderStore, coach: Renderer, clock: Clock, transports: dict[str, Transport],
                 settings: DeliverySettings, *, budget: Budget, concurrency: int = 16, batch: int = 200) -> None:
        self.store = store
        self.coach = coach
        self.clock = clock
        self.transports = transports
        self.settings = settings
        self.owner = f"sender-{uuid.uuid4().hex[:12]}"
        self.budget = budget
        self.limits: dict[str, RateLimit] = {platform: getattr(settings, platform) for platform in transports
                                             if hasattr(settings, platform)}
        self.concurrency = concurrency
        self._gate = asyncio.Semaphore(concurrency)
        """At most this many sends in flight; pacing waits happen outside it."""
        self.lease = timedelta(seconds=settings.lease_seconds)
        self.max_wait = settings.lease_seconds / 4
        """Longer pacing waits hand the message back instead of holding its lease."""
        slowest = min((limit.per_second for limit in self.limits.values()), default=float(batch))
        self.batch = max(1, min(batch, int(slowest * self.max_wait)))
        """A batch is claimed at once, so it must go out well within its lease."""
        self.pacers: dict[str, Pacer] = {}
        self._conversations = Coalescer(budget)
        """Conversation tokens of sends made at the same moment are taken in one round trip."""
        self._active: set[int] = set()
        """Outbox ids this sender is delivering now."""
        self._parked_places: tuple[float, set[tuple[str, str]]] = (float("-inf"), set())
        self._parked_read: asyncio.Future[set[tuple[str, str]]] | None = None
        self._sent: list[tuple[int, str | None, datetime]] = []
        self._flushing: asyncio.Task[None] | None = None
        self.wake = asyncio.Event()
        self._stopping = False
        self.sent = 0

    async def drain_once(self) -> int:
        """Send everything due now; returns how many messages were handled.

        A sliding window: more messages are claimed as soon as half the window has gone out, or when too
        few wait for the platform's tokens (see :meth:`_room`), so messages waiting for their conversation's
        next slot or for Do Not Disturb never leave the platform's slots idle.
        """
        handled = 0
        inflight: set[asyncio.Task[None]] = set()
        finished: list[asyncio.Task[None]] = []
        one_finished = asyncio.Event()

        def done(task: asyncio.Task[None]) -> None:  # not asyncio.wait: it walks every task on every call
            finished.append(task)
            one_finished.set()

        exhausted = False
        while not self._stopping:
            room = 0 if exhausted else self._room(len(inflight))
            if room:
                claimed_at = asyncio.get_running_loop().time()
                claimed = await self.store.outbox.claim(self.clock.now(), self.owner, room, self.lease)
                exhausted = not claimed
                handled += len(claimed)
                # A message of ours whose claim ran out while it waited is still ours to finish: not twice.
                fresh = [m for m in claimed if m.id not in self._active]
                replies = await self._render_all(fresh)
                for m in fresh:
                    if m.id in replies:
                        task = asyncio.create_task(self._deliver(m, claimed_at, replies[m.id]))
                        task.add_done_callback(done)
                        inflight.add(task)
            if not inflight:
                break
            while not finished:
                one_finished.clear()
                await one_finished.wait()
            for task in finished:
                inflight.discard(task)
                if not task.cancelled() and task.exception() is not None:  # the lease runs out: retried
                    log.error("delivery failed", exc_info=task.exception())
            finished.clear()
            exhausted = False  # something finished: look again for due messages
        if inflight:
            await asyncio.gather(*inflight, return_exceptions=True)
        await self.flush()
        if self._stopping:
            await self.store.outbox.release(self.owner)
        return handled

    def _room(self, inflight: int) -> int:
        """How many messages to claim now. The window is refilled when half of it has gone out, or sooner
        when the platform's tokens have less than a chunk of sends waiting for them: the rest of the window
        waits on something else (a conversation's turn, Do Not Disturb), and the platform's slots must not
        go idle meanwhile. It never holds more than :data:`MAX_WINDOW` batches."""
        if inflight <= self.batch // 2:
            return self.batch - inflight
        if inflight + self.batch // 2 <= MAX_WINDOW * self.batch and self.pacers and all(
                pacer.starved() for pacer in self.pacers.values()):
            return self.batch // 2
        return 0

    async def run(self, idle_seconds: float = 1.0) -> None:
        """Drain until stopped; sleeps while the outbox has nothing due."""
        while not self._stopping:
            try:
                await self.drain_once()
            except Exception:
                log.exception("sender loop failed; retrying shortly")
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=idle_seconds)

    def stop(self) -> None:
        """Finish in-flight sends, claim nothing new."""
        self._stopping = True
        self.wake.set()

    async def _deliver(self, message: OutboxMessage, claimed_at: float, reply: Reply | None) -> None:
        """Deliver one claimed message rendered as ``reply``; ``claimed_at``: the loop's time when its claim
        was made."""
        self._active.add(message.id)
        try:
            await self._deliver_claimed(message, claimed_at, reply)
        finally:
            self._active.discard(message.id)

    async def _deliver_claimed(self, message: OutboxMessage, claimed_at: float, reply: Reply | None) -> None:
        outbox = self.store.outbox
        transport = self.transports.get(message.platform)
        if transport is None:
            await outbox.mark_dead(message.id, message.attempts, reasons.coded(reasons.NOT_CONFIGURED, message.platform))
            return
        if reply is None:
            await outbox.cancel(message.id, reasons.NO_LONGER_RELEVANT)
            return

        async def hold(seconds: float) -> None:
            nonlocal claimed_at
            if await self._hold(message, seconds):
                claimed_at = asyncio.get_running_loop().time()

        async def renew() -> None:
            nonlocal claimed_at
            await self._hold(message, 0.0, renew=True)
            claimed_at = asyncio.get_running_loop().time()

        try:
            await self._attempt(message, transport, reply, hold, renew, lambda: claimed_at)
        except LeaseLost:
            log.warning("outbox %s was taken over by another sender while waiting; not sending it", message.id)

    async def _attempt(self, message: OutboxMessage, transport: Transport, reply: Reply, hold: Hold,
                       renew: Callable[[], Awaitable[None]], claimed_at: Callable[[], float]) -> None:
        outbox = self.store.outbox
        envelope = Envelope(message.id, message.platform, message.address, reply, message.dedup_key,
                            message.due_at if message.person_id is not None else None)
        prepare = getattr(transport, "prepare", None)
        if prepare is not None:
            prepared = await prepare(envelope, hold)
            if isinstance(prepared, SendResult):
                await self._record(message, prepared, [])
                return
            envelope = prepared
        if message.in_doubt:
            finder = getattr(transport, "find_delivered", None)
            if finder is not None:
                try:
                    delivered = await finder(envelope, hold)
                except CheckFailed as exc:  # not an attempt: ask again later, still in doubt
                    delay = max(exc.retry_after or 0.0, random.uniform(5.0, 15.0))
                    await outbox.mark_retry(message.id, message.attempts, self.clock.now() + timedelta(seconds=delay),
                                            reasons.coded(reasons.IN_DOUBT, exc.reason), in_doubt=True)
                    return
                if delivered is not None:
                    await outbox.mark_sent(message.id, delivered, self.clock.now())
                    log.info("outbox %s was delivered before; not resending", message.id)
                    return
            else:
                log.info("outbox %s may have arrived; %s cannot tell, sending again (at least once)",
                         message.id, message.platform)
        keys = self._budget_keys(transport, envelope)
        conversation, pacer = keys[:-1], (self._pacer(*keys[-1]) if keys else None)
        loop = asyncio.get_running_loop()
        turn: float | None = None
        """When this message's conversation tokens are good (the loop's clock): taken right before the send,
        so that a message sent late does not crowd the next one in its conversation."""
        first, stale = False, 0
        while True:
            if self._stopping:
                return  # never attempted: handed back to the outbox by drain_once
            if loop.time() - claimed_at() > self.lease.total_seconds() / 2:
                await renew()  # an old claim is renewed, or given up
            slot = await pacer.take(first=first) if pacer is not None else loop.time()
            async with self._gate:
                if pacer is not None and pacer.is_stale(slot) and stale < MAX_STALE:
                    # The token went stale waiting for the gate: sent now, this message would crowd the
                    # next ones. It is first in line for a fresh token.
                    first, stale = True, stale + 1
                    continue
                if loop.time() - claimed_at() > self.lease.total_seconds() / 2:
                    await renew()  # the claim must outlast the send: renewed, or given up
                if await self._parked(message):  # uninstalled there since it was claimed: send nothing
                    log.info("outbox %s parked: the app was uninstalled at %s", message.id, message.platform)
                    return
                if conversation and (turn is None or loop.time() > turn + CONVERSATION_LATE):
                    waits = await self._conversations.acquire(conversation)
                    turn = loop.time() + max(waits)
                    if pacer is not None and pacer.is_stale(slot) and stale < MAX_STALE:
                        # The database was slow to answer: every send that waited for it would go out at
                        # once, a burst over the platform's limit. A fresh platform token first.
                        first, stale = True, stale + 1
                        continue
                if turn is None or turn <= loop.time() + CONVERSATION_LATE:
                    try:
                        result = await transport.send(envelope)
                    except Exception as exc:  # a transport bug must not kill the loop; retry like a 5xx
                        log.exception("transport %s raised for outbox %s", message.platform, message.id)
                        result = SendResult("retry", error=reasons.coded(reasons.BOT_ERROR, type(exc).__name__),
                                            in_doubt=True)
                    break
            # Not this conversation's turn yet: the platform's token goes to the next message, and this
            # one is first in line for a token when its turn comes.
            if pacer is not None:
                pacer.give_back(slot)
            await hold(turn - loop.time())
            first = True
        await self._record(message, result, keys)

    def _budget_keys(self, transport: Transport, envelope: Envelope) -> list[tuple[str, Rate]]:
        """The budgets one send takes a token of: its conversation's (and hourly), then the platform's."""
        limit = self.limits.get(envelope.platform)
        if limit is None:
            return []
        method = f"{envelope.platform}:{getattr(transport, 'send_method', 'send')}"
        conversation = f"{method}:{transport.pace_key(envelope)}"
        keys = [(conversation, Rate(limit.per_conversation_per_second / CONVERSATION_SPACING))]
        if limit.per_conversation_per_hour:
            keys.append((conversation + ":hour", Rate(limit.per_conversation_per_hour / 3600.0,
                                                        burst=limit.per_conversation_per_hour)))
        keys.append((method, Rate(limit.per_second)))
        return keys

    async def _parked(self, message: OutboxMessage) -> bool:
        """Park the message instead of sending it if its place was uninstalled (the parked places are
        read at most every :data:`PARKED_FRESH_SECONDS`, by one query for every message of the sender)."""
        loop_time = asyncio.get_running_loop().time()
        read_at, places = self._parked_places
        if loop_time - read_at > PARKED_FRESH_SECONDS:
            if self._parked_read is None or self._parked_read.done():  # one read for everyone asking now
                self._parked_read = asyncio.ensure_future(self.store.outbox.parked_places())
            read = self._parked_read
            places = await asyncio.shield(read)
            self._parked_places = (max(read_at, loop_time), places)
        if (message.platform, message.address) not in places and (message.platform, EVERYWHERE) not in places:
            return False
        return await self.store.outbox.hold_if_parked(message)

    async def flush(self) -> None:
        """Record every send made so far (before claims are handed back: a send not recorded then
        would be sent again)."""
        if self._flushing is not None:
            await asyncio.gather(self._flushing, return_exceptions=True)
        await self._flush_sent()

    async def _flush_sent(self, after: float = 0.0) -> None:
        """Record the sends of the last moments as one statement (a send not yet recorded when the
        process dies is in doubt: checked before it is sent again, never sent twice)."""
        if after:
            await asyncio.sleep(after)
        sent, self._sent = self._sent, []
        try:
            await self.store.outbox.mark_sent_many(sent)
        except Exception:
            log.exception("recording %d sends failed; their leases run out and they are checked", len(sent))

    def _pacer(self, key: str, rate: Rate) -> Pacer:
        """This instance's share of a platform-wide budget (see :mod:`bot.delivery.pacer`)."""
        pacer = self.pacers.get(key)
        if pacer is None or pacer.rate != rate:
            pacer = self.pacers[key] = Pacer(self.budget, key, rate)
        return pacer

    async def _hold(self, message: OutboxMessage, seconds: float, *, renew: bool = False) -> bool:
        """Wait for a budget's token; a long wait keeps the message's lease alive meanwhile (True when
        it was renewed). Raises :class:`LeaseLost` when the claim is no longer this sender's."""
        renewed = False
        if renew or seconds > self.max_wait:
            if not await self.store.outbox.extend_lease(message.id, self.owner,
                                                        self.clock.now() + timedelta(seconds=seconds) + self.lease):
                raise LeaseLost(message.id)
            renewed = True
        if seconds > 0:
            await asyncio.sleep(seconds)
        return renewed

    async def _render_all(self, messages: list[OutboxMessage]) -> dict[int, Reply | None]:
        """Render claimed messages at once (reminders read what they need together); a message missing
        from the answer could not be rendered now: its lease runs out and it is taken up again."""
        replies: dict[int, Reply | None] = {}
        reminders = [m for m in messages if m.person_id is not None and m.platform in self.transports]
        try:
            rendered = await self.coach.reminders([(m.person_id, m.kind, m.spec) for m in reminders
                                                   if m.person_id is not None])
            replies.update(zip((m.id for m in reminders), rendered, strict=True))
        except Exception:
            log.exception("rendering %d reminders failed; they are taken up again when their claims run out",
                          len(reminders))
        for message in messages:
            if message.id in replies:
                continue
            if message.platform not in self.transports:
                replies[message.id] = None  # marked dead as not configured
            elif message.person_id is None:
                try:
                    replies[message.id] = await self.coach.broadcast(message.kind, message.spec)
                except Exception:
                    log.exception("rendering outbox %s failed; taken up again when its claim runs out", message.id)
        return replies

    async def _record(self, message: OutboxMessage, result: SendResult, keys: list[tuple[str, Rate]]) -> None:
        outbox = self.store.outbox
        if result.status == "sent":
            self._sent.append((message.id, result.message_id, self.clock.now()))
            if self._flushing is None or self._flushing.done():
                self._flushing = asyncio.create_task(self._flush_sent(SENT_FLUSH_SECONDS))
            self.sent += 1
            return
        if result.status == "later":  # nothing was sent: not an attempt
            delay = result.retry_after or 30.0
            await outbox.mark_retry(message.id, message.attempts, self.clock.now() + timedelta(seconds=delay),
                                    result.error or "waiting")
            return
        if result.status == "skipped":
            await outbox.cancel(message.id, result.error or "skipped")
            log.info("outbox %s cancelled: %s", message.id, result.error)
            return
        attempts = message.attempts + 1
        if result.retry_after is not None or result.error == reasons.TOO_MANY_REQUESTS:
            for key, _ in keys:  # Slack does not say which limit it was: hold them all
                if not key.endswith(":hour"):
                    await self.budget.pause(key, result.retry_after or 30.0)
                    if key in self.pacers:
                        self.pacers[key].pause(result.retry_after or 30.0)
        if result.status == "failed" or attempts >= self.settings.max_attempts:
            await outbox.mark_dead(message.id, attempts, result.error or "failed")
            log.warning("outbox %s dead after %d attempts: %s", message.id, attempts, result.error)
            return
        delay = backoff_seconds(attempts, result.retry_after)
        await outbox.mark_retry(message.id, attempts, self.clock.now() + timedelta(seconds=delay), result.error,
                                in_doubt=True if result.in_doubt else None)

"""Drains the outbox: claim, render, pace, send, record; retry with backoff; park the hopeless.

Exactly once: a message is claimed under a lease before its one send attempt and marked sent
right after. If the process dies in between, the lease runs out and the message is *in doubt*;
the next sender asks the platform whether it arrived (Slack keeps the deduplication key in the
message metadata) and sends it only if it did not.
"""
from __future__ import annotations

import asyncio
import logging
import random
import uuid
from datetime import timedelta

from bot.clock import Clock
from bot.coach import Coach
from bot.config import DeliverySettings
from bot.delivery.pacing import Pacer
from bot.delivery.transport import Envelope, SendResult, Transport
from bot.store import Store
from bot.store.outbox import OutboxMessage

log = logging.getLogger(__name__)
MAX_BACKOFF = 3600.0


def backoff_seconds(attempts: int, retry_after: float | None) -> float:
    """Exponential backoff with jitter (2, 4, 8 … s, capped), never sooner than Retry-After."""
    base = min(MAX_BACKOFF, 2.0 ** attempts) * random.uniform(0.8, 1.2)
    return max(base, retry_after or 0.0)


class Sender:
    def __init__(self, store: Store, coach: Coach, clock: Clock, transports: dict[str, Transport],
                 settings: DeliverySettings, *, concurrency: int = 16, batch: int = 200) -> None:
        self.store = store
        self.coach = coach
        self.clock = clock
        self.transports = transports
        self.settings = settings
        self.owner = f"sender-{uuid.uuid4().hex[:12]}"
        self.pacers = {platform: Pacer(getattr(settings, platform)) for platform in transports
                       if hasattr(settings, platform)}
        self.concurrency = concurrency
        self._gate = asyncio.Semaphore(concurrency)
        """At most this many sends in flight; pacing waits happen outside it."""
        self.lease = timedelta(seconds=settings.lease_seconds)
        self.max_wait = settings.lease_seconds / 4
        """Longer pacing waits hand the message back instead of holding its lease."""
        slowest = min((p.limit.per_second for p in self.pacers.values()), default=float(batch))
        self.batch = max(1, min(batch, int(slowest * self.max_wait)))
        """A batch is claimed at once, so it must go out well within its lease."""
        self.wake = asyncio.Event()
        self._stopping = False
        self.sent = 0

    async def drain_once(self) -> int:
        """Send everything due now; returns how many messages were handled.

        A sliding window: more messages are claimed as soon as half the window has gone out, so a
        message waiting for its conversation's next slot never leaves the platform's slots idle.
        """
        handled = 0
        inflight: set[asyncio.Task[None]] = set()
        exhausted = False
        while not self._stopping:
            if not exhausted and len(inflight) <= self.batch // 2:
                claimed = await self.store.outbox.claim(self.clock.now(), self.owner,
                                                        self.batch - len(inflight), self.lease)
                exhausted = not claimed
                handled += len(claimed)
                inflight |= {asyncio.create_task(self._deliver(m)) for m in claimed}
            if not inflight:
                break
            done, inflight = await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task.exception() is not None:  # the lease runs out and the message is retried
                    log.error("delivery failed", exc_info=task.exception())
            exhausted = False  # something finished: look again for due messages
        if inflight:
            await asyncio.gather(*inflight, return_exceptions=True)
        if self._stopping:
            await self.store.outbox.release(self.owner)
        return handled

    async def run(self, idle_seconds: float = 1.0) -> None:
        """Drain until stopped; sleeps while the outbox has nothing due."""
        while not self._stopping:
            try:
                await self.drain_once()
            except Exception:
                log.exception("sender loop failed; retrying shortly")
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=idle_seconds)
            except asyncio.TimeoutError:
                pass

    def stop(self) -> None:
        """Finish in-flight sends, claim nothing new."""
        self._stopping = True
        self.wake.set()

    async def _deliver(self, message: OutboxMessage) -> None:
        outbox = self.store.outbox
        transport = self.transports.get(message.platform)
        if transport is None:
            await outbox.mark_dead(message.id, message.attempts, f"{message.platform} is not configured")
            return
        reply = await self._render(message)
        if reply is None:
            await outbox.cancel(message.id, "no longer relevant")
            return
        envelope = Envelope(message.id, message.platform, message.address, reply, message.dedup_key)
        if message.in_doubt:
            delivered = await self._already_delivered(transport, envelope)
            if delivered is not None:
                await outbox.mark_sent(message.id, delivered, self.clock.now())
                log.info("outbox %s was delivered before a restart; not resending", message.id)
                return
        pacer = self.pacers.get(message.platform)
        key = transport.pace_key(envelope)
        if pacer is not None:
            delay = pacer.reserve(key)
            if delay > self.max_wait:  # an hourly cap or a 429 pause: come back later, unclaimed
                later = self.clock.now() + timedelta(seconds=delay)
                await outbox.mark_retry(message.id, message.attempts, later, "waiting for the rate limit")
                return
            await asyncio.sleep(delay)
        if self._stopping:
            return  # never attempted: handed back to the outbox by drain_once
        if await outbox.hold_if_parked(message):  # uninstalled there since it was claimed: send nothing
            log.info("outbox %s parked: the app was uninstalled at %s", message.id, message.platform)
            return
        try:
            async with self._gate:
                result = await transport.send(envelope)
        except Exception as exc:  # a transport bug must not kill the loop; retry like a 5xx
            log.exception("transport %s raised for outbox %s", message.platform, message.id)
            result = SendResult("retry", error=f"internal error: {type(exc).__name__}")
        await self._record(message, result, pacer, key)

    async def _render(self, message: OutboxMessage):  # -> Reply | None
        if message.person_id is None:
            return await self.coach.broadcast(message.kind, message.spec)
        return await self.coach.reminder(message.person_id, message.kind, message.spec)

    async def _already_delivered(self, transport: Transport, envelope: Envelope) -> str | None:
        finder = getattr(transport, "find_delivered", None)
        if finder is None:
            return None
        try:
            return await finder(envelope)
        except Exception:
            log.exception("could not check whether outbox %s was delivered", envelope.outbox_id)
            return None

    async def _record(self, message: OutboxMessage, result: SendResult, pacer: Pacer | None, key: str) -> None:
        outbox = self.store.outbox
        attempts = message.attempts + 1
        if result.status == "sent":
            await outbox.mark_sent(message.id, result.message_id, self.clock.now())
            self.sent += 1
            return
        if result.retry_after and pacer is not None:
            pacer.back_off(key, result.retry_after)
        if result.status == "failed" or attempts >= self.settings.max_attempts:
            await outbox.mark_dead(message.id, attempts, result.error or "failed")
            log.warning("outbox %s dead after %d attempts: %s", message.id, attempts, result.error)
            return
        delay = backoff_seconds(attempts, result.retry_after)
        await outbox.mark_retry(message.id, attempts, self.clock.now() + timedelta(seconds=delay), result.error)

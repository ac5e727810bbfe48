"""Proactive Slack messages for the outbox sender: one ``chat.postMessage`` attempt per call.

Addresses: a user id (``U…``, posts to the app's Messages tab with that person), a channel id
(``C…``/``D…``/``G…``), or ``email:<address>``. A reminder to a user waits while their Slack Do Not
Disturb or snooze is on (:mod:`bot.channels.slack.dnd`). Emails resolve through the Slack directory kept in
the store (``users.list`` in bulk, daily, and ``team_join``/``user_change`` events); only an email
the directory lacks costs one ``users.lookupByEmail``. Every Web API call the sender makes takes a
token of its method's shared budget first, and a 429 pauses that method for every instance.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.ports import DirectoryEntry, SlackPeople
from bot.channels.slack.client import error_code, status_of
from bot.channels.slack.dnd import DND_WAITING, DndLookups
from bot.channels.slack.render import render_message
from bot.clock import Clock
from bot.config import DeliverySettings, RateLimit
from bot.core import reasons
from bot.delivery.budget import Budget, LocalBudget, Rate
from bot.delivery.transport import CheckFailed, Envelope, Hold, SendResult
from bot.messages import Image
from bot.words import Words

log = logging.getLogger(__package__)
T = TypeVar("T")
EMAIL_PREFIX = "email:"
RETRYABLE_ERRORS = frozenset({
    "ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout",
})
"""``ok: false`` codes that a later attempt may get past; every other code is final."""
METADATA_EVENT = "social_rounds_message"
"""Every proactive message carries its outbox deduplication key in Slack message metadata."""
HISTORY_LOOKBACK = 100
NO_ACCOUNT = reasons.NO_SLACK_ACCOUNT
DIRECTORY_MAX_AGE = timedelta(days=1)
"""users.list again after this long (events keep it current in between)."""
DIRECTORY_PAGE = 200
DND_STALE = reasons.SLACK_DND_STALE
DEFAULT_PAUSE = 30.0
"""Seconds a 429 without Retry-After pauses its method."""


class SlackTransport:
    platform = "slack"
    send_method = "chat.postMessage"

    def __init__(self, client: AsyncWebClient, people: SlackPeople, clock: Clock, words: Words,
                 image_url: Callable[[Image], str | None] = lambda image: None, *,
                 budget: Budget | None = None, limits: RateLimit = DeliverySettings.slack, owner: str = "") -> None:
        if client.retry_handlers:
            raise ValueError("the transport's client must not retry by itself: the sender owns retries")
        self.client = client
        self.people = people
        self.clock = clock
        self.words = words
        self.image_url = image_url
        self.budget: Budget = budget or LocalBudget()
        self.limits = limits
        self.owner = owner or f"slack-{id(self):x}"
        self.dnd = DndLookups(self)
        self._dms: dict[str, str] = {}
        """User id → the bot's DM channel with them (from ``conversations.open``)."""

    def pace_key(self, envelope: Envelope) -> str:
        """Slack paces chat.postMessage per channel: the user or channel id (or the email address)."""
        return envelope.address

    # -- budgets -------------------------------------------------------------------------------------
    def rate(self, method: str) -> Rate:
        return Rate.per_minute(self.limits.method_per_minute(method, 20.0))

    async def call(self, method: str, request: Callable[[], Awaitable[T]], hold: Hold = asyncio.sleep) -> T:
        """One Web API call under its method's shared budget; a 429 pauses the method for everyone."""
        key = f"slack:{method}"
        await hold(await self.budget.acquire(key, self.rate(method)))
        while await self.budget.paused_for(key) > 0:  # paused while waiting: a new token, after the pause
            await hold(await self.budget.acquire(key, self.rate(method)))
        try:
            return await request()
        except SlackApiError as exc:
            if status_of(exc) == 429 or error_code(exc) in ("ratelimited", "rate_limited"):
                pause = _retry_after(exc.response) or DEFAULT_PAUSE
                await self.budget.pause(key, pause)
                log.warning("slack %s rate limited: every instance waits %.0f s", method, pause)
            raise

    # -- sending --------------------------------------------------------------------------------------
    async def prepare(self, envelope: Envelope, hold: Hold = asyncio.sleep) -> Envelope | SendResult:
        """Resolve an ``email:`` address to a Slack user, then wait while the user's Do Not Disturb is on
        (a reminder that would be stale when it ends is dropped). Neither is a delivery attempt."""
        resolved = await self._resolve(envelope, hold)
        if isinstance(resolved, SendResult) or resolved.due_at is None or not resolved.address.startswith(("U", "W")):
            return resolved
        decision = await self.dnd.decide(resolved.address, resolved.due_at, hold)
        if decision.action == "hold" and decision.until is not None:
            wait = max(1.0, (decision.until - self.clock.now()).total_seconds())
            return SendResult("later", retry_after=wait, error=DND_WAITING)
        if decision.action == "drop":
            return SendResult("skipped", error=DND_STALE)
        return resolved

    async def _resolve(self, envelope: Envelope, hold: Hold = asyncio.sleep) -> Envelope | SendResult:
        """Resolve an ``email:`` address to a Slack user; lookups that fail are not delivery attempts."""
        if not envelope.address.startswith(EMAIL_PREFIX):
            return envelope
        email = envelope.address[len(EMAIL_PREFIX):].strip().lower()
        directory = self.people
        user_id = await directory.user_for_email(email)
        if user_id is None:
            synced = await directory.synced_at()
            if synced is None:
                return SendResult("later", retry_after=10.0, error=reasons.SLACK_DIRECTORY_WAITING)
            missing = await directory.missing_since(email)
            if missing is not None and missing >= synced:
                return SendResult("skipped", error=NO_ACCOUNT)
            try:
                response = await self.call("users.lookupByEmail", lambda: self.client.users_lookupByEmail(email=email),
                                           hold)
            except SlackApiError as exc:
                code = error_code(exc)
                if code == "users_not_found":
                    await directory.mark_missing(email, self.clock.now())
                    return SendResult("skipped", error=NO_ACCOUNT)
                return SendResult("later", retry_after=_retry_after(exc.response) or DEFAULT_PAUSE,
                                  error=reasons.coded(reasons.SLACK_LOOKUP_WAITING, code))
            except (aiohttp.ClientError, TimeoutError) as exc:
                return SendResult("later", retry_after=DEFAULT_PAUSE,
                                  error=reasons.coded(reasons.SLACK_LOOKUP_WAITING, type(exc).__name__))
            user_id = str((response.get("user") or {}).get("id") or "")
            if not user_id:
                await directory.mark_missing(email, self.clock.now())
                return SendResult("skipped", error=NO_ACCOUNT)
            await directory.save_members([DirectoryEntry(user_id, email)], self.clock.now())
        person = await self.people.person_by_email(email)
        if person is not None and await self.people.person_by_identity("slack", user_id) is None:
            await self.people.link_identity("slack", user_id, person.id, self.clock.now())
        return replace(envelope, address=user_id)

    async def send(self, envelope: Envelope) -> SendResult:
        if envelope.address.startswith(EMAIL_PREFIX):
            prepared = await self._resolve(envelope)
            if isinstance(prepared, SendResult):
                return prepared
            envelope = prepared
        try:
            image = envelope.reply.image
            message = render_message(envelope.reply, self.words, self.image_url(image) if image else None)
            response = await self.client.chat_postMessage(
                channel=envelope.address, text=message.text, blocks=message.blocks, unfurl_links=False,
                metadata={"event_type": METADATA_EVENT, "event_payload": {"dedup_key": envelope.dedup_key}})
        except SlackApiError as exc:
            result = _from_api_error(exc)
        except aiohttp.ClientConnectorError as exc:  # never reached Slack: plainly retried
            result = SendResult("retry", error=reasons.coded(reasons.CONNECTION_ERROR, type(exc).__name__))
        except (aiohttp.ClientError, TimeoutError) as exc:  # written, no answer
            result = SendResult("retry", error=reasons.coded(reasons.NO_ANSWER, type(exc).__name__), in_doubt=True)
        else:
            result = SendResult("sent", message_id=f"{response.get('channel') or envelope.address}:{response.get('ts')}")
        if result.status != "sent":  # a line per message sent would cost more than the send at fan-out rates
            log.info("slack send outbox=%s status=%s error=%s", envelope.outbox_id, result.status, result.error)
        return result

    async def find_delivered(self, envelope: Envelope, hold: Hold = asyncio.sleep) -> str | None:
        """Whether a message with this deduplication key is already in the conversation; raises
        :class:`CheckFailed` when Slack could not say (the check is retried, the message not sent)."""
        channel = self._dms.get(envelope.address, envelope.address)
        try:
            if channel.startswith(("U", "W")):
                opened = await self.call("conversations.open",
                                         lambda: self.client.conversations_open(users=envelope.address), hold)
                channel = str((opened.get("channel") or {}).get("id") or channel)
                if len(self._dms) > 10_000:
                    self._dms.clear()
                self._dms[envelope.address] = channel  # a check asked again need not open it again
            history = await self.call("conversations.history", lambda: self.client.conversations_history(
                channel=channel, limit=HISTORY_LOOKBACK, include_all_metadata=True), hold)
        except SlackApiError as exc:
            raise CheckFailed(error_code(exc), _retry_after(exc.response)) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise CheckFailed(type(exc).__name__) from exc
        for message in history.get("messages") or []:
            metadata = message.get("metadata") or {}
            if (metadata.get("event_type") == METADATA_EVENT
                    and (metadata.get("event_payload") or {}).get("dedup_key") == envelope.dedup_key):
                return f"{channel}:{message.get('ts')}"
        return None

    # -- the directory ----------------------------------------------------------------------------------
    async def maintain(self, stopping: asyncio.Event, interval: float = 60.0) -> None:
        """Keep the Slack directory fresh: ``users.list`` when it is older than a day (one instance at a time)."""
        while not stopping.is_set():
            try:
                await self.sync_directory()
            except SlackApiError as exc:  # Slack said no (a scope, a revoked token): one line, no traceback
                log.warning("slack directory sync failed: %s; trying again in %.0f s", error_code(exc), interval)
            except (aiohttp.ClientError, TimeoutError) as exc:  # Slack not reachable
                log.warning("slack directory sync failed: %s; trying again in %.0f s", type(exc).__name__, interval)
            except Exception:
                log.exception("slack directory sync failed; trying again in %.0f s", interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=interval)

    async def sync_directory(self, *, force: bool = False) -> int | None:
        """Read every workspace member with ``users.list`` and store them; None when not due or another
        instance is at it. Returns how many users were stored."""
        directory = self.people
        synced = await directory.synced_at()
        now = self.clock.now()
        if not force and synced is not None and now - synced < DIRECTORY_MAX_AGE:
            return None
        if not await directory.try_lease("slack.directory", self.owner, now, 900):
            return None
        cursor, stored = "", 0
        while True:
            try:
                response = await self.call("users.list", partial(self.client.users_list, limit=DIRECTORY_PAGE,
                                                                 cursor=cursor or None))
            except SlackApiError as exc:
                if status_of(exc) == 429:
                    continue  # the budget is paused for the Retry-After; the same page again
                raise
            members = response.get("members") or []
            stored += await directory.save_members([_directory_user(m) for m in members if not m.get("is_bot")
                                            and m.get("id") != "USLACKBOT"], self.clock.now())
            await directory.try_lease("slack.directory", self.owner, self.clock.now(), 900)
            cursor = str((response.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
        linked = await directory.link_roster(self.clock.now())
        await directory.set_synced(self.clock.now())
        log.info("slack directory: %d users stored, %d roster physicians linked", stored, linked)
        return stored


async def remember_user(people: SlackPeople, clock: Clock, user: dict[str, Any]) -> None:
    """A ``team_join`` or ``user_change`` event: store the user, link them if they are on the roster."""
    if not user.get("id") or user.get("is_bot"):
        return
    await people.save_members([_directory_user(user)], clock.now())
    await people.link_roster(clock.now())


def _directory_user(member: dict[str, Any]) -> DirectoryEntry:
    profile = member.get("profile") or {}
    return DirectoryEntry(str(member["id"]), (profile.get("email") or "").strip().lower() or None,
                         bool(member.get("deleted")))


def _from_api_error(exc: SlackApiError) -> SendResult:
    response: Any = exc.response
    status = status_of(exc)
    if status == 429:
        return SendResult("retry", retry_after=_retry_after(response), error=reasons.TOO_MANY_REQUESTS)
    if status >= 500:
        return SendResult("retry", error=reasons.coded(reasons.SLACK_SERVER_ERROR, status))
    code = error_code(exc)
    if code in RETRYABLE_ERRORS:
        return SendResult("retry", retry_after=_retry_after(response), error=code)
    return SendResult("failed", error=code)


def _retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None) or {}
    for key, value in headers.items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, (list, tuple)) else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                return None
    return None


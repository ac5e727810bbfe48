"""Proactive Slack messages for the outbox sender: one ``chat.postMessage`` attempt per call.

Addresses: a user id (``U…``, posts to the app's Messages tab with that person), a channel id
(``C…``/``D…``/``G…``), or ``email:<address>``, resolved with ``users.lookupByEmail`` first and
then remembered as the person's Slack identity.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.charts import chart_url
from bot.channels.slack_client import SlackHttp, SlackSettings, error_code, status_of, transport_client
from bot.channels.slack_render import render_message
from bot.clock import Clock
from bot.delivery.transport import Envelope, SendResult
from bot.messages import Image
from bot.runtime import Runtime
from bot.store import Store

log = logging.getLogger(__name__)
EMAIL_PREFIX = "email:"
RETRYABLE_ERRORS = frozenset({
    "ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout",
})
"""``ok: false`` codes that a later attempt may get past; every other code is final."""
METADATA_EVENT = "social_rounds_message"
"""Every proactive message carries its outbox deduplication key in Slack message metadata."""
HISTORY_LOOKBACK = 100


class SlackTransport:
    platform = "slack"

    def __init__(self, client: AsyncWebClient, store: Store, clock: Clock,
                 image_url: Callable[[Image], str | None] = lambda image: None) -> None:
        if client.retry_handlers:
            raise ValueError("the transport's client must not retry by itself: the sender owns retries")
        self.client = client
        self.store = store
        self.clock = clock
        self.image_url = image_url

    def pace_key(self, envelope: Envelope) -> str:
        """Slack paces chat.postMessage per channel: the user or channel id (or the email address)."""
        return envelope.address

    async def send(self, envelope: Envelope) -> SendResult:
        try:
            channel = await self._channel(envelope.address)
            if isinstance(channel, SendResult):
                return channel
            image = envelope.reply.image
            message = render_message(envelope.reply, self.image_url(image) if image else None)
            response = await self.client.chat_postMessage(
                channel=channel, text=message.text, blocks=message.blocks, unfurl_links=False,
                metadata={"event_type": METADATA_EVENT, "event_payload": {"dedup_key": envelope.dedup_key}})
        except SlackApiError as exc:
            result = _from_api_error(exc)
        except (aiohttp.ClientError, asyncio.TimeoutError, TimeoutError) as exc:
            result = SendResult("retry", error=f"connection error: {type(exc).__name__}")
        else:
            result = SendResult("sent", message_id=f"{response.get('channel') or channel}:{response.get('ts')}")
        log.info("slack send outbox=%s status=%s error=%s", envelope.outbox_id, result.status, result.error)
        return result

    async def find_delivered(self, envelope: Envelope) -> str | None:
        """Whether a message with this deduplication key is already in the conversation (after a crash)."""
        channel = await self._channel(envelope.address)
        if isinstance(channel, SendResult):
            return None
        if channel.startswith(("U", "W")):
            opened = await self.client.conversations_open(users=channel)
            channel = str((opened.get("channel") or {}).get("id") or channel)
        history = await self.client.conversations_history(channel=channel, limit=HISTORY_LOOKBACK,
                                                          include_all_metadata=True)
        for message in history.get("messages") or []:
            metadata = message.get("metadata") or {}
            if (metadata.get("event_type") == METADATA_EVENT
                    and (metadata.get("event_payload") or {}).get("dedup_key") == envelope.dedup_key):
                return f"{channel}:{message.get('ts')}"
        return None

    async def _channel(self, address: str) -> str | SendResult:
        if not address.startswith(EMAIL_PREFIX):
            return address
        email = address[len(EMAIL_PREFIX):].strip().lower()
        response = await self.client.users_lookupByEmail(email=email)
        user_id = str((response.get("user") or {}).get("id") or "")
        if not user_id:
            return SendResult("failed", error="users_not_found")
        person = await self.store.person_by_email(email)
        if person is not None:
            await self.store.link_identity("slack", user_id, person.id, self.clock.now())
        return user_id


def _from_api_error(exc: SlackApiError) -> SendResult:
    response: Any = exc.response
    status = status_of(exc)
    if status == 429:
        return SendResult("retry", retry_after=_retry_after(response), error="429 rate limited")
    if status >= 500:
        return SendResult("retry", error=f"{status} server error")
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


def slack_transport(runtime: Runtime, http: SlackHttp | None = None) -> SlackTransport | None:
    """The sender's Slack transport, or None when no bot token is configured; ``http``: the shared session."""
    settings = SlackSettings.from_env()
    if not settings.bot_token:
        return None
    public_url, secret = runtime.config.public_url, settings.signing_secret
    return SlackTransport(transport_client(settings, http), runtime.store, runtime.clock,
                          lambda image: chart_url(public_url, secret, image))

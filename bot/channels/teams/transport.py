"""Proactive Teams sends for the outbox sender: one attempt through a stored conversation reference."""
from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

import aiohttp
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import ConversationReference
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot.channels.ports import References
from bot.channels.teams.activities import PLATFORM, card_activity
from bot.channels.teams.adapter import close_adapter
from bot.core import reasons
from bot.delivery.transport import Envelope, SendResult, retry_after_seconds
from bot.messages import Reply
from bot.words import Words

log = logging.getLogger(__package__)
"""Every module of the Teams channel logs under ``bot.channels.teams``."""


class TeamsTransport:
    """One delivery attempt through a stored conversation reference (the sender retries and paces)."""

    platform = PLATFORM

    def __init__(self, adapter: CloudAdapter, references: References, app_id: str, words: Words) -> None:
        self.adapter = adapter
        self.words = words
        self.references = references
        self.app_id = app_id

    def pace_key(self, envelope: Envelope) -> str:
        return f"{PLATFORM}:{envelope.address}"

    async def close(self) -> None:
        await close_adapter(self.adapter)

    async def send(self, envelope: Envelope) -> SendResult:
        stored = await self.references.reference(PLATFORM, envelope.address)
        if stored is None:
            return SendResult("failed", error=reasons.NO_CONVERSATION)
        try:
            reference = ConversationReference().deserialize(json.loads(stored))
        except (ValueError, TypeError, AttributeError):
            return SendResult("failed", error=reasons.CONVERSATION_UNREADABLE)
        if reference.conversation is None or not reference.conversation.id or not reference.service_url:
            return SendResult("failed", error=reasons.CONVERSATION_INCOMPLETE)
        sent: list[str | None] = []
        try:
            await self.adapter.continue_conversation(reference, _deliver(reference, envelope.reply, self.words, sent),
                                                     bot_app_id=self.app_id or None)
        except HttpOperationError as exc:
            result = _http_failure(exc)
        except (TimeoutError, ClientRequestError, aiohttp.ClientError, OSError) as exc:
            result = SendResult("retry", error=reasons.coded(reasons.NETWORK_ERROR, type(exc).__name__))
        except Exception as exc:  # credentials or SDK faults: worth another attempt later, never a crash
            result = SendResult("retry", error=reasons.coded(reasons.SEND_FAILED, type(exc).__name__))
        else:
            result = SendResult("sent", message_id=sent[0] if sent else None)
        log.info("teams send outbox=%s address=%s status=%s %s", envelope.outbox_id, envelope.address,
                 result.status, result.error)
        return result


def _deliver(reference: ConversationReference, reply: Reply, words: Words,
             sent: list[str | None]) -> Callable[[TurnContext], Awaitable[None]]:
    async def callback(turn_context: TurnContext) -> None:
        connector = turn_context.turn_state[turn_context.adapter.BOT_CONNECTOR_CLIENT_KEY]
        connector.config.retry_policy.retries = 0  # exactly one attempt; the sender owns retries
        activity = card_activity(reply, words)
        activity.conversation, activity.from_property = reference.conversation, reference.bot
        activity.recipient, activity.channel_id = reference.user, reference.channel_id
        activity.service_url = reference.service_url
        response = await connector.conversations.send_to_conversation(reference.conversation.id, activity)
        sent.append(response.id if response is not None else None)
    return callback


def _http_failure(exc: HttpOperationError) -> SendResult:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", 0) or 0
    headers = getattr(response, "headers", None) or {}
    if status == 429:
        return SendResult("retry", retry_after=retry_after_seconds(headers.get("Retry-After")),
                          error=reasons.TOO_MANY_REQUESTS)
    if status in (408, 412) or status >= 500:
        return SendResult("retry", retry_after=retry_after_seconds(headers.get("Retry-After")),
                          error=reasons.coded(reasons.CONNECTOR_ERROR, status))
    final = {401: reasons.CONNECTOR_CREDENTIALS, 403: reasons.CONNECTOR_BLOCKED, 404: reasons.CONNECTOR_NOT_FOUND,
             413: reasons.CONNECTOR_TOO_LARGE}
    return SendResult("failed", error=final.get(status, reasons.coded(reasons.CONNECTOR_REJECTED, status)))


"""Delivery to the local web chat: a sent message waits in the outbox for the page to fetch."""
from __future__ import annotations

from bot.delivery.transport import Envelope, SendResult


class WebTransport:
    """The page polls its inbox; sending only marks the message as deliverable."""

    platform = "web"

    def pace_key(self, envelope: Envelope) -> str:
        return envelope.address

    async def send(self, envelope: Envelope) -> SendResult:
        return SendResult("sent", message_id=f"inbox-{envelope.outbox_id}")

    async def find_delivered(self, envelope: Envelope, hold: object = None) -> str | None:
        return f"inbox-{envelope.outbox_id}"

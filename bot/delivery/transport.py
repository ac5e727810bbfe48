"""What the sender needs from each platform: one attempt to deliver one message."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from bot.messages import Reply


@dataclass(frozen=True)
class Envelope:
    """One outbox message, rendered, on its way to one address."""

    outbox_id: int
    platform: str
    address: str
    """Slack: a user id (DM) or channel id. Teams: the address a conversation reference is stored under."""
    reply: Reply
    dedup_key: str


@dataclass(frozen=True)
class SendResult:
    status: Literal["sent", "retry", "failed"]
    """``retry``: throttled or a passing fault (429, 5xx, network). ``failed``: will not work by retrying
    (app not installed, user gone, no conversation reference)."""
    message_id: str | None = None
    retry_after: float | None = None
    """Seconds the platform asked us to wait (``Retry-After``)."""
    error: str = ""
    """Short reason for people: "429 rate limited", "user_not_found", "403 bot not installed"."""


class Transport(Protocol):
    platform: str

    def pace_key(self, envelope: Envelope) -> str:
        """The unit the platform rate-limits per conversation (Slack channel, Teams conversation)."""
        ...

    async def send(self, envelope: Envelope) -> SendResult:
        """Exactly one delivery attempt; never retries by itself, never raises for HTTP errors."""
        ...

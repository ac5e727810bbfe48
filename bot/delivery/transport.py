"""What the sender needs from each platform: one attempt to deliver one message."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
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
    due_at: datetime | None = None
    """When the message was due (a reminder held for Do Not Disturb goes stale some hours later)."""


@dataclass(frozen=True)
class SendResult:
    status: Literal["sent", "retry", "failed", "later", "skipped"]
    """``retry``: throttled or a passing fault (429, 5xx, network). ``failed``: will not work by retrying
    (app not installed, user gone, no conversation reference). ``later``: nothing was sent (waiting for
    a lookup, a budget, Do Not Disturb): try again after ``retry_after``, not a delivery attempt.
    ``skipped``: nothing was sent and nothing will be (no account on the platform): cancelled."""
    message_id: str | None = None
    retry_after: float | None = None
    """Seconds the platform asked us to wait (``Retry-After``)."""
    error: str = ""
    """Why, stored for the admins' `roster`: a code of :mod:`bot.core.reasons` ("too_many_requests",
    "connector_blocked"), or a platform's own error code ("user_not_found")."""
    in_doubt: bool = False
    """The request was written but no answer came (timeout, connection reset): it may have arrived."""


Hold = Callable[[float], Awaitable[None]]
"""Wait this many seconds for a budget's token (the sender keeps the message's lease meanwhile)."""


class CheckFailed(Exception):
    """Whether a message in doubt arrived could not be learned now (429, network): ask again later.
    ``reason``: what the check ran into, short (the platform's error code, or the exception's class
    name); stored as the detail of :data:`bot.core.reasons.IN_DOUBT`."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class Transport(Protocol):
    platform: str

    def pace_key(self, envelope: Envelope) -> str:
        """The unit the platform rate-limits per conversation (Slack channel, Teams conversation)."""
        ...

    async def send(self, envelope: Envelope) -> SendResult:
        """Exactly one delivery attempt; never retries by itself, never raises for HTTP errors."""
        ...


class Preparing(Protocol):
    """Optional: a transport that must resolve an address (or ask about the recipient) before sending."""

    async def prepare(self, envelope: Envelope, hold: Hold) -> Envelope | SendResult:
        """The envelope to send (address resolved), or why not now (``later``/``skipped``/``failed``)."""
        ...


class Checking(Protocol):
    """Optional: a transport that can tell whether a message in doubt already arrived."""

    async def find_delivered(self, envelope: Envelope, hold: Hold) -> str | None:
        """The platform's message id if it is there, None if it is not; raises :class:`CheckFailed`."""
        ...


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())

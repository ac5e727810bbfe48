"""What the channels need from the rest of the product, as narrow Protocols.

A channel translates; it keeps nothing itself. The composition root (:mod:`bot.app`) hands each
channel the few capabilities below (the coach's answers, who a platform user is, parking the
outbox, conversation references …), implemented outside the channels
(:mod:`bot.channel_services`). Channels never import the store and never see the whole runtime.
Instants are parameters: the channel's clock says when something happened.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.core.dnd import DndStatus
from bot.messages import Incoming, Reply


class Answering(Protocol):
    """The coach, as every channel calls it."""

    async def handle(self, incoming: Incoming, known: Linked | None = None) -> list[Reply]:
        """Answer one message, command or button press; ``known``: the physician the channel read for
        ``incoming``'s identity during this turn, if it did (the coach does not read them again)."""
        ...

    async def home(self, incoming: Incoming) -> list[Reply]:
        """What a person's home view (Slack's App Home) shows."""
        ...


class Linked(Protocol):
    """The physician a platform identity (or an email) belongs to, as far as a channel reads them."""

    @property
    def id(self) -> int: ...

    @property
    def active(self) -> bool: ...

    @property
    def timezone(self) -> str | None: ...

    @property
    def x_handle(self) -> str | None: ...


class Identities(Protocol):
    """Who a platform user is in the roster."""

    async def person_by_identity(self, platform: str, user_id: str) -> Linked | None: ...

    async def person_by_email(self, email: str) -> Linked | None: ...

    async def link_identity(self, platform: str, user_id: str, person_id: int, now: datetime) -> None: ...


class Parking(Protocol):
    """A platform's outbox (or one conversation's) waits while the app is uninstalled there."""

    async def park(self, platform: str, address: str | None, reason: str, now: datetime) -> int:
        """Park what is unsent for ``address`` (None: the whole install); how many were parked."""
        ...

    async def resume(self, platform: str, address: str | None, now: datetime) -> int:
        """Installed again: what was parked goes back in line; how many."""
        ...

    async def parked_everywhere(self, platform: str) -> bool:
        """Whether the whole install is parked (Slack: the app was uninstalled from the workspace)."""
        ...


class Events(Protocol):
    """Platform events handled once, ever (Slack re-sends what it thinks was lost)."""

    async def claim_event(self, key: str, now: datetime) -> bool:
        """True for the first claim of ``key``, False for every later one."""
        ...

    async def forget_events_before(self, cutoff: datetime) -> int: ...


@dataclass(frozen=True)
class DirectoryEntry:
    """One Slack workspace member as the directory keeps them."""

    user_id: str
    email: str | None
    deleted: bool = False


class SlackDirectoryRecords(Protocol):
    """The Slack workspace's members by email, kept so that proactive messages need no lookups."""

    async def save_members(self, members: Sequence[DirectoryEntry], now: datetime) -> int: ...

    async def link_roster(self, now: datetime) -> int:
        """Link roster physicians to the members with their email; how many were linked."""
        ...

    async def user_for_email(self, email: str) -> str | None: ...

    async def mark_missing(self, email: str, now: datetime) -> None: ...

    async def missing_since(self, email: str) -> datetime | None: ...

    async def synced_at(self) -> datetime | None: ...

    async def set_synced(self, now: datetime) -> None: ...

    async def try_lease(self, name: str, owner: str, now: datetime, seconds: float) -> bool: ...


class SlackDndRecords(Protocol):
    """Slack Do Not Disturb statuses as last learned, shared by every instance."""

    async def dnd_statuses(self, user_ids: Iterable[str]) -> dict[str, DndStatus]: ...

    async def save_dnd(self, statuses: Sequence[DndStatus]) -> None: ...

    async def due_now(self, platform: str, address: str, reason: str, now: datetime) -> int:
        """Messages to ``address`` waiting for ``reason`` are due at ``now``; returns how many."""
        ...


class SlackPeople(Identities, SlackDirectoryRecords, SlackDndRecords, Protocol):
    """What the Slack sender reads and records about people: the directory and linked identities."""


class SlackRecords(Events, Parking, SlackPeople, Protocol):
    """Everything Slack keeps through the rest of the product."""


class References(Protocol):
    """Conversation references (Teams): where proactive messages go."""

    async def save_reference(self, platform: str, address: str, reference: str, person_id: int | None,
                             now: datetime) -> None: ...

    async def reference(self, platform: str, address: str) -> str | None: ...

    async def delete_reference(self, platform: str, address: str) -> bool: ...


class TeamsRecords(Identities, Parking, References, Protocol):
    """Everything Teams keeps through the rest of the product."""


class InstallCandidate(Protocol):
    """A physician the Teams app may be installed for through Graph."""

    @property
    def person_id(self) -> int: ...

    @property
    def email(self) -> str: ...

    @property
    def user_id(self) -> str | None: ...


class InstallRecords(Identities, References, Protocol):
    """What installing the Teams app through Graph reads and records, per physician."""

    async def install_candidates(self, now: datetime, after_id: int, limit: int) -> Sequence[InstallCandidate]: ...

    async def record_install(self, person_id: int, state: str, reason: str, user_id: str | None, now: datetime,
                             retry_at: datetime | None = None) -> None: ...

    async def latest_reference(self) -> str | None: ...

    async def take_install_lease(self, name: str, owner: str, now: datetime, seconds: float) -> bool: ...

    async def release_install_lease(self, name: str, owner: str) -> None: ...


class DigestCharts(Protocol):
    """The digest's trend chart of an ISO week (``2026-W05``), drawn again from stored numbers."""

    async def digest_chart(self, week: str) -> bytes: ...

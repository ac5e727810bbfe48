"""What delivery needs of the rest of the bot, as Protocols, and the data it passes through them.

Delivery plans and sends; it does not know the database or the coach. The store and the coach
satisfy these Protocols structurally, and the composition root (:mod:`bot.app`) hands them in. The
records they pass (outbox messages, planning rows, rates) are plain data in :mod:`bot.core.models`,
which both the store and delivery import.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.core.models import (
    EVERYWHERE,
    BudgetState,
    NewMessage,
    OutboxMessage,
    PlanningInputs,
    PlanningPerson,
    Rate,
)
from bot.messages import Reply

__all__ = ["EVERYWHERE", "Addresses", "Budget", "BudgetState", "DeliveryCoach", "DeliveryStore", "Managers",
           "NewMessage", "Outbox", "OutboxMessage", "Planning", "PlanningInputs", "PlanningPerson", "Rate",
           "Recipient", "Renderer", "SenderStore", "Settings"]

# -- ports -----------------------------------------------------------------------------------------------------

class Budget(Protocol):
    """Rate budgets shared by whoever sends (see :mod:`bot.delivery.budget`)."""

    async def acquire(self, key: str, rate: Rate, cost: float = 1.0) -> float:
        """Take ``cost`` tokens of ``key`` (limited to ``rate``); returns the seconds to wait before using them."""
        ...

    async def acquire_many(self, requests: Sequence[tuple[str, Rate, float]]) -> list[float]:
        """:meth:`acquire` for several (key, rate, cost) at once (one round trip); the waits in the same order."""
        ...

    async def pause(self, key: str, seconds: float) -> None:
        """The platform said wait (429, Retry-After): no token of ``key`` for anyone before ``seconds`` from now."""
        ...

    async def state(self, prefix: str = "") -> list[BudgetState]:
        """The budgets whose key starts with ``prefix``: rate, how far ahead they are booked, any pause."""
        ...

    async def paused_for(self, key: str) -> float:
        """Seconds left of ``key``'s Retry-After pause (0 when none): asked again right before a call,
        because a token booked before the pause began is no licence to call during it."""
        ...

    async def forget_idle(self, idle_seconds: float = 3600.0) -> int:
        """Drop budgets unused for ``idle_seconds`` (and not paused); returns how many."""
        ...


class Outbox(Protocol):
    """The outbox table: the scheduler adds to it, the sender claims, sends and records."""

    async def add(self, messages: Iterable[NewMessage], now: datetime) -> int: ...

    async def capped_since(self, since: datetime, kinds: Iterable[str],
                           person_ids: Iterable[int]) -> dict[int, list[datetime]]: ...

    async def claim(self, now: datetime, owner: str, limit: int, lease: timedelta) -> list[OutboxMessage]: ...

    async def extend_lease(self, message_id: int, owner: str, until: datetime) -> bool: ...

    async def release(self, owner: str) -> int: ...

    async def mark_sent(self, message_id: int, platform_message_id: str | None, now: datetime) -> None: ...

    async def mark_sent_many(self, sent: Iterable[tuple[int, str | None, datetime]]) -> None: ...

    async def mark_retry(self, message_id: int, attempts: int, next_attempt_at: datetime, error: str,
                         *, in_doubt: bool | None = None) -> None: ...

    async def mark_dead(self, message_id: int, attempts: int, error: str) -> None: ...

    async def cancel(self, message_id: int, reason: str) -> None: ...

    async def parked_places(self) -> set[tuple[str, str]]: ...

    async def hold_if_parked(self, message: OutboxMessage) -> bool: ...


class Planning(Protocol):
    """Physicians due for planning, what planning reads about them, and when to look again."""

    async def due(self, now: datetime, after_id: int, limit: int) -> list[PlanningPerson]: ...

    async def inputs(self, person_ids: Sequence[int], now: datetime,
                     profile_known: Iterable[str]) -> PlanningInputs: ...

    async def set_plan_after(self, wakes: Sequence[tuple[int, int, datetime]]) -> int: ...

    async def replan_everyone(self) -> int: ...


class Settings(Protocol):
    """Stored settings (the scheduler keeps its policy fingerprint there)."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str) -> None: ...


class Recipient(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def email(self) -> str: ...


class Managers(Protocol):
    async def managers(self, emails: Iterable[str]) -> Sequence[Recipient]:
        """Active marketing managers: people with the admin role, and those whose email is given."""
        ...


class Addresses(Protocol):
    async def addresses(self, person_ids: Sequence[int]) -> dict[int, dict[str, str]]:
        """Per person, platform → address for proactive messages."""
        ...


class SenderStore(Protocol):
    """What the sender reads and writes."""

    @property
    def outbox(self) -> Outbox: ...


class DeliveryStore(SenderStore, Protocol):
    """What the scheduler (and the delivery service around it) reads and writes."""

    @property
    def planning(self) -> Planning: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def people(self) -> Managers: ...

    @property
    def conversations(self) -> Addresses: ...


class Renderer(Protocol):
    """Renders a planned message at send time (the coach); None when it is no longer relevant."""

    async def reminder(self, person_id: int, kind: str, spec: dict[str, Any]) -> Reply | None: ...

    async def reminders(self, planned: Sequence[tuple[int, str, dict[str, Any]]]) -> list[Reply | None]:
        """Many reminders (person id, kind, spec) at once, in order; what they read is read together."""
        ...

    async def broadcast(self, kind: str, spec: dict[str, Any]) -> Reply | None: ...


class DeliveryCoach(Renderer, Protocol):
    """The coach as delivery sees it: it renders messages and keeps the weekly readiness snapshot."""

    async def save_weekly_snapshot(self, now: datetime) -> bool:
        """Store this week's readiness once (first writer wins); True when this call stored it."""
        ...

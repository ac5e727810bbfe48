"""The single source of "now" for everything outside the pure core.

The core takes time as a parameter; the coach, scheduler and channels ask a ``Clock``.
``rounds demo`` uses a :class:`SimulatedClock` that a person can move forward.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """Real time shifted by an offset that only ever grows (``advance``)."""

    def __init__(self, offset: timedelta = timedelta(0), base: Clock | None = None) -> None:
        self._base = base or SystemClock()
        self.offset = offset

    def now(self) -> datetime:
        return self._base.now() + self.offset

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        self.offset += delta
        return self.now()


class FixedClock:
    """A clock standing still at one instant until moved; for tests and benchmarks."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware instant")
        self.at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> datetime:
        self.at += delta
        return self.at

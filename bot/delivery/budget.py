"""Rate budgets: every platform limit the bot stays under, shared by whoever sends.

A budget key names one limit: ``slack:chat.postMessage`` (the workspace),
``slack:chat.postMessage:D123`` (one channel), ``slack:users.lookupByEmail``, ``teams:app``,
``teams:conversation:<id>``, ``graph:…``. Before a call, take a token with :meth:`Budget.acquire`
and sleep the seconds it answers (the token is yours: do not ask again). When the platform answers
429 with Retry-After, :meth:`Budget.pause` the key: every caller of that key, on every instance,
waits until the pause has passed.

On PostgreSQL the budgets live in the database (``SqlBudget`` in the store) and all instances share
them; on SQLite (one instance) they are kept in the process (:class:`LocalBudget`). The composition
root (:func:`bot.app.budget_for`) picks one.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from bot.delivery.ports import Budget, BudgetState, Rate

__all__ = ["Budget", "BudgetState", "Coalescer", "LocalBudget", "Rate"]


class LocalBudget:
    """The same budgets in this process only (SQLite: one instance sends)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._now = monotonic
        self._buckets: dict[str, list[float]] = {}
        """key → [per_second, burst, tat, paused_until]"""

    async def acquire(self, key: str, rate: Rate, cost: float = 1.0) -> float:
        return self.take(key, rate, cost)

    def take(self, key: str, rate: Rate, cost: float = 1.0) -> float:
        """:meth:`acquire` without the coroutine (the state changes before anything else runs)."""
        now = self._now()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = [rate.per_second, rate.burst, now, 0.0]
        bucket[0], bucket[1] = rate.per_second, rate.burst
        start = max(bucket[2], now)
        bucket[2] = start + cost / rate.per_second
        if len(self._buckets) > 50_000:
            self._forget(3600.0)
        return max(0.0, start - rate.tolerance - now)

    async def acquire_many(self, requests: Sequence[tuple[str, Rate, float]]) -> list[float]:
        return [self.take(key, rate, cost) for key, rate, cost in requests]

    async def pause(self, key: str, seconds: float) -> None:
        now = self._now()
        until = now + max(0.0, seconds)
        bucket = self._buckets.setdefault(key, [1.0, 1.0, now, 0.0])
        bucket[2] = max(bucket[2], until + (bucket[1] - 1.0) / bucket[0])
        bucket[3] = max(bucket[3], until)

    async def paused_for(self, key: str) -> float:
        bucket = self._buckets.get(key)
        return max(0.0, bucket[3] - self._now()) if bucket else 0.0

    async def state(self, prefix: str = "") -> list[BudgetState]:
        now = self._now()
        return [BudgetState(key, Rate(b[0], b[1]), max(0.0, b[2] - (b[1] - 1.0) / b[0] - now), max(0.0, b[3] - now))
                for key, b in sorted(self._buckets.items()) if key.startswith(prefix)]

    async def forget_idle(self, idle_seconds: float = 3600.0) -> int:
        """Drop budgets nobody used for a while."""
        return self._forget(idle_seconds)

    def _forget(self, idle_seconds: float) -> int:
        now = self._now()
        idle = [k for k, b in self._buckets.items() if b[2] < now - idle_seconds and b[3] < now]
        for key in idle:
            del self._buckets[key]
        return len(idle)



class Coalescer:
    """Budget requests made while one is on its way to the shared budget go together in the next one:
    at fan-out rates, one database round trip for the conversation tokens of many sends."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self._pending: list[tuple[list[tuple[str, Rate]], asyncio.Future[list[float]]]] = []
        self._task: asyncio.Task[None] | None = None
        self.round_trips = 0

    async def acquire(self, requests: Sequence[tuple[str, Rate]]) -> list[float]:
        """A token of each (key, rate); the seconds to wait before using each, in the same order."""
        future: asyncio.Future[list[float]] = asyncio.get_running_loop().create_future()
        self._pending.append((list(requests), future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="budget requests")
        return await future

    async def _run(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            flat = [(key, rate, 1.0) for requests, _ in batch for key, rate in requests]
            try:
                waits = await self.budget.acquire_many(flat)
                self.round_trips += 1
            except Exception as exc:  # the database is away: every asker fails (its message is retried)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            at = 0
            for requests, future in batch:
                if not future.done():  # the asker is gone (stopping): its tokens go unused
                    future.set_result(waits[at:at + len(requests)])
                at += len(requests)

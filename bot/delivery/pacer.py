"""This instance's share of one platform-wide budget, spent evenly.

Taking every token of a busy budget (``slack:chat.postMessage`` at 100/s) from the database is a
round trip per send, and a send that is late for its token (the machine was busy) would go out
together with the next ones: a burst the platform answers with 429. A :class:`Pacer` takes tokens
from the shared budget a few at a time (as many as are waiting, at most ``chunk_seconds`` worth, so
another instance is not starved) and hands them out here at their own instants. A token more than
``stale_seconds`` old is dropped rather than spent late, so the sends of every instance together
never run ahead of the budget by more than ``rate × stale_seconds`` + 1.

A platform's Retry-After pause reaches the pacer two ways: :meth:`pause` when this instance got the
429, and a look at the shared budget every ``check_seconds`` while it hands out tokens (another
instance's 429). Either way its unspent tokens are dropped and nothing is handed out before the
pause ends.
"""
from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import deque

from bot.delivery.budget import Budget, Rate

CHUNK_SECONDS = 0.25
STALE_SECONDS = 0.1
CHECK_SECONDS = 0.25


class Pacer:
    def __init__(self, budget: Budget, key: str, rate: Rate, *, chunk_seconds: float = CHUNK_SECONDS,
                 stale_seconds: float = STALE_SECONDS, check_seconds: float = CHECK_SECONDS) -> None:
        self.budget = budget
        self.key = key
        self.rate = rate
        self.chunk = max(1, int(rate.per_second * chunk_seconds))
        self.stale = stale_seconds
        self.check = check_seconds
        self._slots: deque[float] = deque()
        """Instants (the event loop's clock) of the tokens this instance holds, soonest first."""
        self._queue: list[tuple[int, int, asyncio.Future[float]]] = []
        self._order = itertools.count()
        self._paused_until = 0.0
        self._checked_at = float("-inf")
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0
        """Tokens that went stale before anyone could use them (the machine was busy)."""
        self.acquired = 0
        """Round trips to the shared budget."""
        self.taken = 0
        """Tokens taken from the shared budget."""

    async def take(self, *, first: bool = False) -> float:
        """Wait for the next token; returns its instant. ``first``: ahead of the others waiting (a
        message that already waited for its conversation's turn)."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._queue, (0 if first else 1, next(self._order), future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._hand_out(), name=f"pacer {self.key}")
        return await future

    def starved(self) -> bool:
        """Fewer sends wait for this budget's tokens than one chunk spends: more should be made ready."""
        return self._waiting(self.chunk) < self.chunk

    def is_stale(self, slot: float) -> bool:
        """The token of instant ``slot`` is too old to spend now: a send made with it would go out
        together with the next ones."""
        return self._loop_time() > slot + self.stale

    def give_back(self, slot: float) -> None:
        """A token taken but not used (the conversation was not ready): the next taker may have it."""
        if not self.is_stale(slot):
            self._slots.appendleft(slot)

    def pause(self, seconds: float) -> None:
        """This instance got a 429: hand out nothing for ``seconds``."""
        self._slots.clear()
        self._paused_until = max(self._paused_until, self._loop_time() + seconds)

    def _loop_time(self) -> float:
        return asyncio.get_running_loop().time()

    def _waiting(self, at_most: int = 1) -> int:
        """How many takers wait, counted up to ``at_most`` (the queue can be long: not all of it each time)."""
        while self._queue and self._queue[0][2].done():  # taker gone (stopped)
            heapq.heappop(self._queue)
        return sum(1 for _ in itertools.islice((f for _, _, f in self._queue if not f.done()), at_most))

    async def _hand_out(self) -> None:
        try:
            await self._hand_out_tokens()
        except Exception as exc:  # the database is away: every taker fails (its message is retried)
            for _, _, future in self._queue:
                if not future.done():
                    future.set_exception(exc)
            self._queue.clear()

    async def _hand_out_tokens(self) -> None:
        while self._waiting():
            now = self._loop_time()
            if now - self._checked_at >= self.check:
                self._checked_at = now
                left = await self.budget.paused_for(self.key)
                if left > 0:
                    self.pause(left)
            now = self._loop_time()
            if self._paused_until > now:
                await asyncio.sleep(self._paused_until - now)
                continue
            while self._slots and self._slots[0] < now - self.stale:
                self._slots.popleft()
                self.dropped += 1
            if not self._slots:
                count = max(1, self._waiting(self.chunk))
                wait = await self.budget.acquire(self.key, self.rate, count)
                self.acquired += 1
                self.taken += count
                start = self._loop_time() + wait  # the answer's instant is at most this late: the safe side
                self._slots.extend(start + i / self.rate.per_second for i in range(count))
                continue
            slot = self._slots[0]
            if slot > now:
                await asyncio.sleep(min(slot - now, self.check))
                continue  # a pause may have begun, or a first taker arrived meanwhile
            self._slots.popleft()
            while self._queue:
                _, _, future = heapq.heappop(self._queue)
                if not future.done():
                    future.set_result(slot)
                    break
            else:
                self.give_back(slot)
